//! Domain layer (pure): VPC flow logs delivered as Parquet (S3 `FileFormat=parquet`, GZIP pages),
//! read row group by row group — only the columns evidence needs (projection), a few thousand
//! rows at a time — into the same sink as text records. Memory is the batch buffers, one column
//! chunk's pages and the aggregator's distinct tuples, whatever the file's size.
//!
//! Two readings, one meaning: a row group whose columns are PLAIN or dictionary encoded (common
//! writers' defaults, parquet-mr's and arrow-rs's among them) is read by cells (`batches.rs`: each dictionary value parsed or interned once per
//! column chunk, rows assembled from small copies); any other is read row by row with the
//! parquet crate's column readers (`lanes.rs`). Property tests hold the two to the same evidence.
//!
//! Columns are found by name: AWS writes the log format's field names with underscores
//! (`interface_id`, `pkt_srcaddr`, `log_status`); hyphens are accepted too. Strings and numbers
//! may be of either physical type (AWS: INT32/INT64 numbers, BYTE_ARRAY strings); a missing
//! value is a null or `-`, as in text.

use super::format::{Format, Role, ROLES};
use super::{Aggregator, FlowLogError, Selection, Sink, SpanAggregate};
use crate::domain::evidence::ParseStats;
use parquet::file::reader::{ChunkReader, FileReader, RowGroupReader, SerializedFileReader};
use parquet::schema::types::SchemaDescriptor;

mod batches;
mod cells;
mod column;
#[cfg(test)]
mod equivalence;
#[cfg(test)]
pub(crate) mod fixture;
mod hybrid;
mod lanes;
#[cfg(test)]
mod tests;

use lanes::Lanes;

/// Rows decoded per column per step: large enough to amortise the per-call work, small enough
/// that the batch buffers stay in cache.
const BATCH: usize = 4096;

/// The columns to read: (leaf column index, role), each role once.
type Projection = Vec<(usize, Role)>;

/// Parses one Parquet flow-log file into `aggregator` and returns its counters. Like
/// [`super::parse_into`], what was read before an error stays in the aggregator.
pub fn parse_parquet<R: ChunkReader + 'static>(
    reader: R,
    selection: &Selection,
    aggregator: &mut Aggregator,
) -> Result<ParseStats, FlowLogError> {
    parse_with(
        reader,
        Sink::new(selection, aggregator),
        Reading::Cells(BATCH),
    )
}

/// [`parse_parquet`] into a [`SpanAggregate`] (see [`super::parse_spans`]).
pub fn parse_parquet_spans<R: ChunkReader + 'static>(
    reader: R,
    action: super::ActionFilter,
    spans: &mut SpanAggregate,
) -> Result<ParseStats, FlowLogError> {
    let selection = super::spans::selection(action);
    parse_with(
        reader,
        Sink::spanning(&selection, spans),
        Reading::Cells(BATCH),
    )
}

/// How row groups are read: by cells, `n` rows a batch (where the encodings allow), or always
/// row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    Cells(usize),
    #[cfg_attr(not(test), allow(dead_code))]
    RowByRow,
}

fn parse_with<R: ChunkReader + 'static>(
    reader: R,
    mut sink: Sink<'_>,
    reading: Reading,
) -> Result<ParseStats, FlowLogError> {
    let file = SerializedFileReader::new(reader)?;
    let schema = file.metadata().file_metadata().schema_descr();
    let projection = projection(schema, sink.selection)?;
    let read = (0..file.num_row_groups()).try_for_each(|index| {
        let group = file.get_row_group(index)?;
        match reading {
            Reading::Cells(batch) if batches::readable(group.as_ref(), &projection) => {
                batches::read_group(group.as_ref(), &projection, batch, &mut sink)
            }
            _ => read_group(group.as_ref(), &projection, &mut sink),
        }
    });
    let stats = sink.finish();
    read.map(|()| stats)
}

/// The columns evidence needs, checked like a text header: addresses, `dstport` and `protocol`
/// must be there, and whatever the selection filters on.
fn projection(
    schema: &SchemaDescriptor,
    selection: &Selection,
) -> Result<Projection, FlowLogError> {
    let names: Vec<&str> = schema.columns().iter().map(|c| c.name()).collect();
    let format = Format::from_fields(names.iter().copied())?;
    selection.check(&format)?;
    let mut seen = [false; ROLES];
    let mut projection = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let role = Role::of(name);
        if role != Role::Other && !std::mem::replace(&mut seen[role as usize], true) {
            projection.push((index, role));
        }
    }
    Ok(projection)
}

/// Reads a row group row by row (any encoding the parquet crate decodes).
fn read_group(
    group: &dyn RowGroupReader,
    projection: &Projection,
    sink: &mut Sink<'_>,
) -> Result<(), FlowLogError> {
    let mut lanes = Lanes::open(group, projection)?;
    loop {
        let rows = lanes.read(BATCH)?;
        if rows == 0 {
            return Ok(());
        }
        for row in 0..rows {
            sink.line(lanes.line(row));
        }
    }
}
