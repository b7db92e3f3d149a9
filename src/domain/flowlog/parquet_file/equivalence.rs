//! Domain layer (pure): tests that reading by cells (dictionary values parsed once, hand-decoded
//! pages) gives exactly the evidence of the row-by-row reading and of the same records as text,
//! whatever the writer did: dictionary or PLAIN pages (and a dictionary given up mid-chunk),
//! data pages v1 or v2, any page and batch size, nulls, odd values, `pkt-srcaddr` or not.

use super::fixture::write_parquet_with;
use super::*;
use crate::domain::evidence::{EvidenceDocument, Window};
use crate::domain::flowlog::{parse_into, ActionFilter};
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, GzipLevel};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use proptest::prelude::*;
use std::io::Cursor;

const T: i64 = 1_709_251_200; // 2024-03-01T00:00:00Z

fn window() -> Window {
    Window {
        start: jiff::Timestamp::from_second(T + 600).unwrap(),
        end: jiff::Timestamp::from_second(T + 3600).unwrap(),
    }
}

fn evidence(aggregator: Aggregator) -> EvidenceDocument {
    aggregator.into_evidence(window())
}

fn from_parquet(file: &Bytes, selection: &Selection, reading: Reading) -> EvidenceDocument {
    let mut aggregator = Aggregator::new();
    let sink = super::Sink::new(selection, &mut aggregator);
    let stats = parse_with(file.clone(), sink, reading).unwrap();
    assert_eq!(&stats, aggregator.stats());
    evidence(aggregator)
}

fn from_text(fields: &[&str], records: &[Vec<String>], selection: &Selection) -> EvidenceDocument {
    let lines: Vec<String> = records.iter().map(|r| r.join(" ")).collect();
    let text = format!("{}\n{}\n", fields.join(" "), lines.join("\n"));
    let mut aggregator = Aggregator::new();
    parse_into(&mut Cursor::new(text), selection, &mut aggregator).unwrap();
    evidence(aggregator)
}

/// A value of `field`: mostly plausible, sometimes missing (`-`, a null) or odd.
fn value(field: &'static str) -> BoxedStrategy<String> {
    let pick = |values: &[&str]| {
        prop::sample::select(values.iter().map(|v| v.to_string()).collect::<Vec<_>>()).boxed()
    };
    match field {
        "interface-id" => pick(&["eni-1", "eni-2", "eni-3", "-"]),
        "srcaddr" | "dstaddr" => prop_oneof![
            8 => (0u8..3, 0u8..6).prop_map(|(a, b)| format!("10.0.{a}.{b}")),
            1 => pick(&["-", "fd00::1", "10.0.0.300", "nowhere"]),
        ]
        .boxed(),
        "pkt-srcaddr" | "pkt-dstaddr" => prop_oneof![
            3 => Just("-".to_owned()),
            2 => (0u8..3).prop_map(|a| format!("10.7.0.{a}")),
            1 => pick(&["fd00::9", "bad"]),
        ]
        .boxed(),
        "dstport" => pick(&["22", "443", "5432", "-", "70000"]),
        "protocol" => pick(&["6", "6", "17", "-", "300"]),
        "start" => {
            prop_oneof![8 => (0i64..7200).prop_map(|o| (T + o).to_string()), 1 => Just("-".into())]
                .boxed()
        }
        "action" => pick(&["ACCEPT", "ACCEPT", "REJECT", "-"]),
        "log-status" => pick(&["OK", "OK", "OK", "NODATA", "SKIPDATA", "-"]),
        _ => unreachable!("{field}"),
    }
}

/// Records of `fields` (`end` follows `start`).
fn records(fields: &'static [&'static str]) -> impl Strategy<Value = Vec<Vec<String>>> {
    let row: Vec<BoxedStrategy<String>> = fields
        .iter()
        .map(|f| {
            if *f == "end" {
                value("start")
            } else {
                value(f)
            }
        })
        .collect();
    prop::collection::vec(row, 0..300)
}

const WITH_PACKET: &[&str] = &[
    "interface-id",
    "srcaddr",
    "dstaddr",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "dstport",
    "protocol",
    "start",
    "end",
    "action",
    "log-status",
];
const WITHOUT_PACKET: &[&str] = &[
    "interface-id",
    "srcaddr",
    "dstaddr",
    "dstport",
    "protocol",
    "start",
    "end",
    "action",
    "log-status",
];

/// Writer settings: encodings, page sizes and versions, codecs.
fn properties() -> impl Strategy<Value = WriterProperties> {
    (
        any::<bool>(),
        prop::option::of(16usize..512),
        any::<bool>(),
        prop::option::of(1usize..40),
        0u8..3,
        any::<bool>(),
    )
        .prop_map(
            |(dictionary, dictionary_limit, v2, page_rows, codec, delta)| {
                let mut builder = WriterProperties::builder()
                    .set_dictionary_enabled(dictionary)
                    .set_writer_version(if v2 {
                        WriterVersion::PARQUET_2_0
                    } else {
                        WriterVersion::PARQUET_1_0
                    })
                    .set_compression(match codec {
                        0 => Compression::UNCOMPRESSED,
                        1 => Compression::SNAPPY,
                        _ => Compression::GZIP(GzipLevel::default()),
                    });
                if let Some(limit) = dictionary_limit {
                    builder = builder.set_dictionary_page_size_limit(limit);
                }
                if let Some(rows) = page_rows {
                    builder = builder
                        .set_data_page_row_count_limit(rows)
                        .set_write_batch_size(rows);
                }
                if delta {
                    // an encoding only the row-by-row reader decodes: those row groups are read so
                    builder = builder
                        .set_column_dictionary_enabled(ColumnPath::from("start"), false)
                        .set_column_encoding(
                            ColumnPath::from("start"),
                            Encoding::DELTA_BINARY_PACKED,
                        );
                }
                builder.build()
            },
        )
}

fn check(
    fields: &[&str],
    records: &[Vec<String>],
    rows_per_group: usize,
    properties: WriterProperties,
    batch: usize,
    action: ActionFilter,
) -> Result<(), TestCaseError> {
    let groups = records
        .chunks(rows_per_group)
        .map(|group| group.iter().map(|r| r.join(" ")).collect::<Vec<String>>());
    let file = Bytes::from(write_parquet_with(fields, groups, Vec::new(), properties));
    for window in [None, Some(window())] {
        let selection = Selection { action, window };
        let cells = from_parquet(&file, &selection, Reading::Cells(batch));
        let rows = from_parquet(&file, &selection, Reading::RowByRow);
        prop_assert_eq!(&cells, &rows);
        // a null action or status is a missing one in Parquet; `-` is neither in text (a
        // malformed line)
        let null_in_text = |r: &Vec<String>| {
            fields
                .iter()
                .zip(r)
                .any(|(f, v)| matches!(*f, "action" | "log-status") && v == "-")
        };
        if !records.iter().any(null_in_text) {
            prop_assert_eq!(&cells, &from_text(fields, records, &selection));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn cells_rows_and_text_are_the_same_evidence_with_packet_addresses(
        records in records(WITH_PACKET),
        rows_per_group in 1usize..200,
        properties in properties(),
        batch in 1usize..100,
        action in prop::sample::select(vec![ActionFilter::Any, ActionFilter::Accept, ActionFilter::Reject]),
    ) {
        check(WITH_PACKET, &records, rows_per_group, properties, batch, action)?;
    }

    #[test]
    fn cells_rows_and_text_are_the_same_evidence_without_packet_addresses(
        records in records(WITHOUT_PACKET),
        rows_per_group in 1usize..200,
        properties in properties(),
        batch in 1usize..100,
    ) {
        check(WITHOUT_PACKET, &records, rows_per_group, properties, batch, ActionFilter::Accept)?;
    }
}

#[test]
fn aws_files_are_read_by_cells_and_other_encodings_row_by_row() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let records: Vec<String> = (0..100)
        .map(|n| format!("eni-1 10.0.0.{n} 10.1.0.9 443 6 {T} {} ACCEPT OK", T + 60))
        .collect();
    let readable = |properties: WriterProperties| {
        let file = write_parquet_with(
            WITHOUT_PACKET,
            [records.clone()].into_iter(),
            Vec::new(),
            properties,
        );
        let file = SerializedFileReader::new(Bytes::from(file)).unwrap();
        let schema = file.metadata().file_metadata().schema_descr();
        let projection = projection(schema, &Selection::default()).unwrap();
        let group = file.get_row_group(0).unwrap();
        batches::readable(group.as_ref(), &projection)
    };
    assert!(readable(super::fixture::aws_properties()));
    assert!(readable(
        WriterProperties::builder()
            .set_dictionary_enabled(false)
            .build()
    ));
    let delta = WriterProperties::builder()
        .set_column_dictionary_enabled(ColumnPath::from("end"), false)
        .set_column_encoding(ColumnPath::from("end"), Encoding::DELTA_BINARY_PACKED)
        .build();
    assert!(!readable(delta));
}
