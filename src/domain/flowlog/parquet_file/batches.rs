//! Domain layer (pure): the fast reading of one row group — each projected column decoded into
//! typed cells a batch at a time ([`Column`]), work per dictionary value instead of per row, then
//! the rows of the batch assembled from the cells and given to the sink.
//!
//! It reads flat columns of INT32, INT64 or BYTE_ARRAY encoded PLAIN or with a dictionary (the
//! default of common writers); [`readable`] says whether a row group is such, and the
//! row-by-row reader (`lanes.rs`) reads any other.

use super::super::format::Role;
use super::super::{FlowLogError, Sink};
use super::cells::{Act, Addr, Cell, Iface, Num, Row, Status};
use super::column::{Column, ENCODINGS};
use super::Projection;
use parquet::basic::Type as PhysicalType;
use parquet::file::reader::RowGroupReader;

/// Whether every projected column of `group` is one the fast reader decodes.
pub(super) fn readable(group: &dyn RowGroupReader, projection: &Projection) -> bool {
    projection.iter().all(|(index, _)| {
        let chunk = group.metadata().column(*index);
        let column = chunk.column_descr();
        column.max_rep_level() == 0
            && column.max_def_level() <= 1
            && matches!(
                column.physical_type(),
                PhysicalType::INT32 | PhysicalType::INT64 | PhysicalType::BYTE_ARRAY
            )
            && chunk
                .encodings()
                .all(|encoding| ENCODINGS.contains(&encoding))
    })
}

/// A column of the projection, or cells that are always null when the file lacks it.
struct Lane<C: Cell> {
    column: Option<Column<C>>,
    nulls: Vec<C>,
}

impl<C: Cell> Lane<C> {
    fn open(
        group: &dyn RowGroupReader,
        projection: &Projection,
        role: Role,
    ) -> Result<Self, FlowLogError> {
        let column = projection
            .iter()
            .find(|(_, r)| *r == role)
            .map(|(index, _)| -> Result<Column<C>, FlowLogError> {
                let descriptor = group.metadata().column(*index).column_descr();
                Ok(Column::new(
                    group.get_column_page_reader(*index)?,
                    descriptor.physical_type(),
                    descriptor.max_def_level() == 1,
                ))
            })
            .transpose()?;
        Ok(Lane {
            column,
            nulls: Vec::new(),
        })
    }

    /// Reads up to `rows` rows; `None` when the file has no such column.
    fn read(&mut self, rows: usize, sink: &mut Sink<'_>) -> Result<Option<usize>, FlowLogError> {
        match &mut self.column {
            Some(column) => column.read(rows, sink.aggregator).map(Some),
            None => {
                self.nulls.resize(rows, C::NULL);
                Ok(None)
            }
        }
    }

    fn cells(&self) -> &[C] {
        self.column.as_ref().map_or(&self.nulls, |c| &c.cells)
    }
}

/// The lanes of a row group, one per role.
struct Lanes {
    src: Lane<Addr>,
    dst: Lane<Addr>,
    pkt_src: Lane<Addr>,
    pkt_dst: Lane<Addr>,
    interface: Lane<Iface>,
    port: Lane<Num>,
    protocol: Lane<Num>,
    start: Lane<Num>,
    end: Lane<Num>,
    action: Lane<Act>,
    status: Lane<Status>,
}

/// Reads row group `group` into `sink`, a batch of `batch` rows at a time.
pub(super) fn read_group(
    group: &dyn RowGroupReader,
    projection: &Projection,
    batch: usize,
    sink: &mut Sink<'_>,
) -> Result<(), FlowLogError> {
    let mut lanes = Lanes {
        src: Lane::open(group, projection, Role::Src)?,
        dst: Lane::open(group, projection, Role::Dst)?,
        pkt_src: Lane::open(group, projection, Role::PktSrc)?,
        pkt_dst: Lane::open(group, projection, Role::PktDst)?,
        interface: Lane::open(group, projection, Role::Interface)?,
        port: Lane::open(group, projection, Role::DstPort)?,
        protocol: Lane::open(group, projection, Role::Protocol)?,
        start: Lane::open(group, projection, Role::Start)?,
        end: Lane::open(group, projection, Role::End)?,
        action: Lane::open(group, projection, Role::Action)?,
        status: Lane::open(group, projection, Role::Status)?,
    };
    loop {
        let rows = lanes.read(batch, sink)?;
        if rows == 0 {
            return Ok(());
        }
        lanes.give(rows, sink);
    }
}

impl Lanes {
    /// Decodes the next batch of every column; returns the number of rows, the same in all.
    fn read(&mut self, batch: usize, sink: &mut Sink<'_>) -> Result<usize, FlowLogError> {
        let read = [
            self.src.read(batch, sink)?,
            self.dst.read(batch, sink)?,
            self.pkt_src.read(batch, sink)?,
            self.pkt_dst.read(batch, sink)?,
            self.interface.read(batch, sink)?,
            self.port.read(batch, sink)?,
            self.protocol.read(batch, sink)?,
            self.start.read(batch, sink)?,
            self.end.read(batch, sink)?,
            self.action.read(batch, sink)?,
            self.status.read(batch, sink)?,
        ];
        let mut counts = read.iter().flatten();
        let rows = counts.next().copied().unwrap_or(0);
        if counts.any(|count| *count != rows) {
            return Err(FlowLogError::Parquet(
                "the columns of a row group hold different numbers of rows".to_owned(),
            ));
        }
        Ok(rows)
    }

    /// Gives the batch's `rows` rows to the sink.
    fn give(&self, rows: usize, sink: &mut Sink<'_>) {
        let (src, dst) = (&self.src.cells()[..rows], &self.dst.cells()[..rows]);
        let (pkt_src, pkt_dst) = (&self.pkt_src.cells()[..rows], &self.pkt_dst.cells()[..rows]);
        let interface = &self.interface.cells()[..rows];
        let (port, protocol) = (&self.port.cells()[..rows], &self.protocol.cells()[..rows]);
        let (start, end) = (&self.start.cells()[..rows], &self.end.cells()[..rows]);
        let (action, status) = (&self.action.cells()[..rows], &self.status.cells()[..rows]);
        for row in 0..rows {
            let row = Row {
                src: src[row],
                dst: dst[row],
                pkt_src: pkt_src[row],
                pkt_dst: pkt_dst[row],
                interface: interface[row],
                port: port[row],
                protocol: protocol[row],
                start: start[row],
                end: end[row],
                action: action[row],
                status: status[row],
            };
            sink.entry(row.entry());
        }
    }
}
