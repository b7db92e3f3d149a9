//! AWS layer: one Parquet flow-log object from S3 made readable by the domain's Parquet reader.
//! A Parquet file is read from its footer, so the streamed body is first held — in memory up to
//! a bound, beyond it in an unnamed temporary file — and then read row group by row group, only
//! the columns evidence needs: memory stays bounded whatever the object's size.

use crate::domain::evidence::ParseStats;
use crate::domain::flowlog::{
    decode, parse_parquet, parse_parquet_spans, ActionFilter, Aggregator, FlowLogError, Selection,
    SpanAggregate,
};
use std::io::Read;

/// Objects up to this size are held in memory; larger ones are spooled to a temporary file.
const IN_MEMORY: u64 = 8 << 20;

/// Spools and parses one object (`length` from GetObject, when known); the failure, if any, in
/// words. A gzip-wrapped file (`.parquet.gz`) is unwrapped first.
pub(super) fn parse_object(
    body: impl Read,
    length: Option<u64>,
    selection: &Selection,
) -> (Aggregator, Option<String>) {
    let mut aggregator = Aggregator::new();
    let parsed = read(body, length, |file| match file {
        Spooled::Memory(bytes) => parse_parquet(bytes, selection, &mut aggregator),
        Spooled::File(file) => parse_parquet(file, selection, &mut aggregator),
    });
    (aggregator, failure(parsed))
}

/// [`parse_object`] into a day-span aggregate (the shared evidence store).
pub(super) fn parse_object_spans(
    body: impl Read,
    length: Option<u64>,
    action: ActionFilter,
) -> (SpanAggregate, Option<String>) {
    let mut spans = SpanAggregate::new();
    let parsed = read(body, length, |file| match file {
        Spooled::Memory(bytes) => parse_parquet_spans(bytes, action, &mut spans),
        Spooled::File(file) => parse_parquet_spans(file, action, &mut spans),
    });
    (spans, failure(parsed))
}

fn failure(parsed: Result<ParseStats, FlowLogError>) -> Option<String> {
    match parsed {
        Ok(stats) if stats.has_no_records() => {
            Some("not flow logs: no row of the Parquet file is a flow-log record".to_owned())
        }
        Ok(_) => None,
        Err(error) => Some(error.to_string()),
    }
}

/// A whole object, held in memory or in a temporary file.
enum Spooled {
    Memory(bytes::Bytes),
    File(std::fs::File),
}

fn read(
    body: impl Read,
    length: Option<u64>,
    parse: impl FnOnce(Spooled) -> Result<ParseStats, FlowLogError>,
) -> Result<ParseStats, FlowLogError> {
    let mut body = decode(body)?;
    match length.filter(|length| *length <= IN_MEMORY) {
        Some(length) => {
            let mut bytes = Vec::with_capacity(length as usize);
            body.read_to_end(&mut bytes)?;
            parse(Spooled::Memory(bytes::Bytes::from(bytes)))
        }
        None => {
            let mut file = tempfile::tempfile()?;
            std::io::copy(&mut body, &mut file)?;
            parse(Spooled::File(file))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::flowlog::DEFAULT_V2_FIELDS;
    use crate::domain::flowlog::{parquet_fixture::parquet_from_records, ActionFilter};

    fn records(count: usize) -> Vec<String> {
        (0..count)
            .map(|n| {
                format!(
                    "2 1 eni-1 10.0.{}.{} 10.1.0.9 40000 443 6 1 84 1709251200 1709251260 ACCEPT OK",
                    n / 200,
                    n % 200
                )
            })
            .collect()
    }

    #[test]
    fn small_objects_in_memory_and_large_ones_spooled_read_the_same() {
        let file = parquet_from_records(DEFAULT_V2_FIELDS, &records(500), 100);
        let selection = Selection {
            action: ActionFilter::Accept,
            window: None,
        };
        let length = file.len() as u64;
        for told in [Some(length), None, Some(IN_MEMORY + 1)] {
            let (aggregator, failure) = parse_object(file.as_slice(), told, &selection);
            assert_eq!(failure, None, "length {told:?}");
            assert_eq!(aggregator.distinct(), 500, "length {told:?}");
        }
    }

    #[test]
    fn a_gzip_wrapped_parquet_file_is_unwrapped() {
        use std::io::Write;
        let file = parquet_from_records(DEFAULT_V2_FIELDS, &records(3), 100);
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(&file).unwrap();
        let gzip = gzip.finish().unwrap();
        let (aggregator, failure) = parse_object(gzip.as_slice(), None, &Selection::default());
        assert_eq!((aggregator.distinct(), failure), (3, None));
    }

    #[test]
    fn an_object_that_is_not_parquet_is_unreadable_with_a_reason() {
        let (_, failure) =
            parse_object(&b"not parquet at all"[..], Some(18), &Selection::default());
        assert!(failure.is_some_and(|f| f.contains("Parquet")));
        let nonsense =
            ["2 1 eni-1 nowhere nothing 1 443 6 1 84 1709251200 1709251260 ACCEPT OK".into()];
        let file = parquet_from_records(DEFAULT_V2_FIELDS, &nonsense, 100);
        let (_, failure) = parse_object(file.as_slice(), None, &Selection::default());
        assert!(failure.is_some_and(|f| f.contains("no row")));
        let empty = parquet_from_records(DEFAULT_V2_FIELDS, &[], 100);
        let (_, failure) = parse_object(empty.as_slice(), None, &Selection::default());
        assert_eq!(
            failure, None,
            "an empty file is read (nothing in it), like an empty text object"
        );
    }
}
