//! Domain layer (pure): the projected columns of one Parquet row group, decoded a batch at a
//! time in lockstep, and one row of them read back as a flow-log [`Line`].

use super::super::format::{Role, ROLES};
use super::super::record::{address, interface, optional_number, Action, Address};
use super::super::{FlowLogError, Line, Record};
use super::Projection;
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::reader::RowGroupReader;

/// Slot of a null row in [`Lane::slots`].
const NULL: u32 = u32::MAX;

/// One column's reader and its decoded batch.
enum Values {
    Int32(ColumnReaderImpl<Int32Type>, Vec<i32>),
    Int64(ColumnReaderImpl<Int64Type>, Vec<i64>),
    Bytes(ColumnReaderImpl<ByteArrayType>, Vec<ByteArray>),
}

/// One value of a row.
#[derive(Clone, Copy)]
enum Field<'a> {
    Null,
    Int(i64),
    Bytes(&'a [u8]),
}

struct Lane {
    values: Values,
    /// Definition level of a present value (0: the column is required, never null).
    max_def: i16,
    levels: Vec<i16>,
    /// For a nullable column, each row's index into the values (or [`NULL`]).
    slots: Vec<u32>,
}

impl Lane {
    fn open(reader: ColumnReader, max_def: i16, name: &str) -> Result<Lane, FlowLogError> {
        let values = match reader {
            ColumnReader::Int32ColumnReader(reader) => Values::Int32(reader, Vec::new()),
            ColumnReader::Int64ColumnReader(reader) => Values::Int64(reader, Vec::new()),
            ColumnReader::ByteArrayColumnReader(reader) => Values::Bytes(reader, Vec::new()),
            _ => {
                return Err(FlowLogError::Parquet(format!(
                    "column `{name}` has a type flow logs never use (expected INT32, INT64 or \
                     BYTE_ARRAY)"
                )))
            }
        };
        Ok(Lane {
            values,
            max_def,
            levels: Vec::new(),
            slots: Vec::new(),
        })
    }

    /// Decodes up to `batch` rows; returns how many.
    fn read(&mut self, batch: usize) -> Result<usize, FlowLogError> {
        self.levels.clear();
        let levels = Some(&mut self.levels);
        let (rows, _, _) = match &mut self.values {
            Values::Int32(reader, values) => {
                values.clear();
                reader.read_records(batch, levels, None, values)?
            }
            Values::Int64(reader, values) => {
                values.clear();
                reader.read_records(batch, levels, None, values)?
            }
            Values::Bytes(reader, values) => {
                values.clear();
                reader.read_records(batch, levels, None, values)?
            }
        };
        if self.max_def > 0 {
            self.slots.clear();
            let mut next = 0;
            for level in &self.levels[..rows] {
                if *level == self.max_def {
                    self.slots.push(next);
                    next += 1;
                } else {
                    self.slots.push(NULL);
                }
            }
        }
        Ok(rows)
    }

    fn field(&self, row: usize) -> Field<'_> {
        let index = if self.max_def == 0 {
            row
        } else {
            match self.slots[row] {
                NULL => return Field::Null,
                slot => slot as usize,
            }
        };
        match &self.values {
            Values::Int32(_, values) => Field::Int(i64::from(values[index])),
            Values::Int64(_, values) => Field::Int(values[index]),
            Values::Bytes(_, values) => Field::Bytes(values[index].data()),
        }
    }
}

/// The projected columns of one row group, indexed by role.
pub(super) struct Lanes {
    lanes: [Option<Lane>; ROLES],
}

impl Lanes {
    pub(super) fn open(
        group: &dyn RowGroupReader,
        projection: &Projection,
    ) -> Result<Lanes, FlowLogError> {
        let mut lanes: [Option<Lane>; ROLES] = std::array::from_fn(|_| None);
        for (index, role) in projection {
            let column = group.metadata().column(*index).column_descr();
            let lane = Lane::open(
                group.get_column_reader(*index)?,
                column.max_def_level(),
                column.name(),
            )?;
            lanes[*role as usize] = Some(lane);
        }
        Ok(Lanes { lanes })
    }

    /// Decodes the next batch of every lane; returns the number of rows, the same in all.
    pub(super) fn read(&mut self, batch: usize) -> Result<usize, FlowLogError> {
        let mut rows = None;
        for lane in self.lanes.iter_mut().flatten() {
            let read = lane.read(batch)?;
            if rows.is_some_and(|rows| rows != read) {
                return Err(FlowLogError::Parquet(
                    "the columns of a row group hold different numbers of rows".to_owned(),
                ));
            }
            rows = Some(read);
        }
        Ok(rows.unwrap_or(0))
    }

    fn field(&self, role: Role, row: usize) -> Field<'_> {
        self.lanes[role as usize]
            .as_ref()
            .map_or(Field::Null, |lane| lane.field(row))
    }

    /// The role's text: empty when null or absent, `None` when the column holds numbers.
    fn text(&self, role: Role, row: usize) -> Option<&[u8]> {
        match self.field(role, row) {
            Field::Null => Some(b""),
            Field::Bytes(bytes) => Some(bytes),
            Field::Int(_) => None,
        }
    }

    /// The role's number: `Some(None)` when missing (null or `-`), `None` when not a number.
    fn number(&self, role: Role, row: usize) -> Option<Option<i64>> {
        match self.field(role, row) {
            Field::Null => Some(None),
            Field::Int(value) => Some(Some(value)),
            Field::Bytes(bytes) => optional_number(bytes),
        }
    }

    /// Row `row` of the current batch, read like a text line in the same format.
    pub(super) fn line(&self, row: usize) -> Line<'_> {
        self.interpret(row).unwrap_or(Line::Malformed)
    }

    fn interpret(&self, row: usize) -> Option<Line<'_>> {
        let start = self.number(Role::Start, row)?;
        let end = self.number(Role::End, row)?;
        match self.text(Role::Status, row)? {
            b"" | b"-" | b"OK" => {}
            b"NODATA" => {
                let interface_id = interface(self.text(Role::Interface, row)?).flatten();
                return Some(Line::NoData {
                    start,
                    end,
                    interface_id,
                });
            }
            b"SKIPDATA" => return Some(Line::SkipData { start, end }),
            _ => return None,
        }
        let source = address(self.text(Role::PktSrc, row)?, self.text(Role::Src, row)?)?;
        let destination = address(self.text(Role::PktDst, row)?, self.text(Role::Dst, row)?)?;
        let (source, destination) = match (source, destination) {
            (Address::V4(s), Address::V4(d)) => (s, d),
            _ => return Some(Line::Ipv6),
        };
        let action = match self.text(Role::Action, row)? {
            b"" | b"-" => None,
            b"ACCEPT" => Some(Action::Accept),
            b"REJECT" => Some(Action::Reject),
            _ => return None,
        };
        let protocol = self.number(Role::Protocol, row)??;
        Some(Line::Record(Record {
            source,
            destination,
            interface_id: interface(self.text(Role::Interface, row)?)?,
            protocol: u8::try_from(protocol).ok()?,
            port: match self.number(Role::DstPort, row)? {
                None => 0,
                Some(port) => u16::try_from(port).ok()?,
            },
            start,
            end,
            action,
        }))
    }
}
