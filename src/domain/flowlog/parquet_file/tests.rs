//! Domain layer (pure): tests for the Parquet reader — files written by the parquet crate's
//! writer in AWS's schema read exactly like the same records as text.

use super::fixture::parquet_from_records;
use super::*;
use crate::domain::evidence::{Flow, Window};
use crate::domain::flowlog::{parse_into, ActionFilter, DEFAULT_V2_FIELDS};
use bytes::Bytes;
use proptest::prelude::*;
use std::io::Cursor;

const T: i64 = 1_709_251_200; // 2024-03-01T00:00:00Z

fn v2(src: &str, dst: &str, port: u16, action: &str, start: i64) -> String {
    format!(
        "2 123456789012 eni-1 {src} {dst} 40000 {port} 6 10 840 {start} {} {action} OK",
        start + 60
    )
}

fn everything() -> Selection {
    Selection {
        action: ActionFilter::Any,
        window: None,
    }
}

fn from_parquet(
    file: Vec<u8>,
    selection: Selection,
) -> Result<(Vec<Flow>, ParseStats), FlowLogError> {
    let mut aggregator = Aggregator::new();
    let stats = parse_parquet(Bytes::from(file), &selection, &mut aggregator)?;
    assert_eq!(
        &stats,
        aggregator.stats(),
        "the file's counters reach the aggregator"
    );
    Ok((aggregator.into_flows(), stats))
}

fn from_text(fields: &[&str], records: &[String], selection: Selection) -> (Vec<Flow>, ParseStats) {
    let text = format!("{}\n{}\n", fields.join(" "), records.join("\n"));
    let mut aggregator = Aggregator::new();
    let stats = parse_into(
        &mut Cursor::new(text.into_bytes()),
        &selection,
        &mut aggregator,
    )
    .expect("text parses");
    (aggregator.into_flows(), stats)
}

#[test]
fn a_parquet_file_in_awss_schema_gives_the_flows_and_counters_of_the_same_text() {
    let records = vec![
        v2("10.0.1.5", "10.1.0.9", 443, "ACCEPT", T),
        v2("10.0.1.5", "10.1.0.9", 443, "ACCEPT", T + 60),
        v2("10.0.1.6", "10.1.0.9", 5432, "REJECT", T),
        "2 123456789012 eni-1 - - - - - - - 1709251200 1709251260 - NODATA".to_owned(),
        "2 123456789012 eni-1 - - - - - - - 1709251200 1709251260 - SKIPDATA".to_owned(),
        "2 123456789012 eni-1 fd00::1 fd00::2 1 443 6 1 1 1709251200 1709251260 ACCEPT OK"
            .to_owned(),
        "2 123456789012 eni-1 10.0.1.7 10.1.0.9 - - 1 1 84 1709251200 1709251260 ACCEPT OK"
            .to_owned(),
    ];
    let file = parquet_from_records(DEFAULT_V2_FIELDS, &records, 3);
    let (flows, stats) = from_parquet(file, everything()).unwrap();
    let (text_flows, text_stats) = from_text(DEFAULT_V2_FIELDS, &records, everything());
    assert_eq!(flows, text_flows);
    assert_eq!(stats, text_stats);
    assert_eq!(
        (stats.records, stats.nodata, stats.skipdata, stats.ipv6),
        (4, 1, 1, 1)
    );
    assert_eq!(stats.malformed, 0);
    let icmp = flows
        .iter()
        .find(|f| f.protocol == 1)
        .expect("the ICMP flow");
    assert_eq!(icmp.port, 0, "a null dstport is port 0, like `-` in text");
}

#[test]
fn the_packet_source_behind_a_nat_or_transit_gateway_is_the_evidence_when_present() {
    let fields = [
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
    let records = vec![
        // through a NAT gateway's ENI: the packet source is the real client
        format!(
            "eni-1 10.0.0.50 10.1.0.9 10.7.3.4 10.1.0.9 443 6 {T} {} ACCEPT OK",
            T + 60
        ),
        // no packet-level address: the interface-level one
        format!("eni-1 10.0.1.5 10.1.0.9 - - 443 6 {T} {} ACCEPT OK", T + 60),
    ];
    let file = parquet_from_records(&fields, &records, 100);
    let (flows, _) = from_parquet(file, everything()).unwrap();
    let sources: Vec<String> = flows.iter().map(|f| f.source.to_string()).collect();
    assert_eq!(sources, ["10.0.1.5", "10.7.3.4"]);
    assert!(flows
        .iter()
        .all(|f| f.destination.to_string() == "10.1.0.9"));
}

#[test]
fn the_selection_keeps_accepts_in_the_window_and_counts_the_rest_as_filtered() {
    let records = vec![
        v2("10.0.1.5", "10.1.0.9", 443, "ACCEPT", T),
        v2("10.0.1.6", "10.1.0.9", 443, "REJECT", T),
        v2("10.0.1.7", "10.1.0.9", 443, "ACCEPT", T + 7200),
    ];
    let selection = Selection {
        action: ActionFilter::Accept,
        window: Some(Window {
            start: jiff::Timestamp::from_second(T).unwrap(),
            end: jiff::Timestamp::from_second(T + 3600).unwrap(),
        }),
    };
    let file = parquet_from_records(DEFAULT_V2_FIELDS, &records, 10);
    let (flows, stats) = from_parquet(file, selection).unwrap();
    assert_eq!(flows.len(), 1);
    assert_eq!(flows[0].source.to_string(), "10.0.1.5");
    assert_eq!((stats.records, stats.filtered), (3, 2));
}

#[test]
fn row_groups_and_batches_of_any_size_are_read_whole() {
    let records: Vec<String> = (0..10_000)
        .map(|n| {
            v2(
                &format!("10.0.{}.{}", n / 250, n % 250),
                "10.1.0.9",
                443,
                "ACCEPT",
                T + n,
            )
        })
        .collect();
    for rows_per_group in [1_000, 4_096, 10_000] {
        let file = parquet_from_records(DEFAULT_V2_FIELDS, &records, rows_per_group);
        let (flows, stats) = from_parquet(file, everything()).unwrap();
        assert_eq!(stats.records, 10_000, "{rows_per_group} rows a group");
        assert_eq!(flows.len(), 10_000);
    }
}

#[test]
fn columns_evidence_does_not_need_are_never_decoded() {
    // `vpc-id` as a column of a type no flow-log column has: reading it would fail
    let schema = "message flow_logs { optional boolean vpc_id; optional binary srcaddr (STRING); \
                  optional binary dstaddr (STRING); optional int32 dstport; optional int32 protocol; }";
    let file = with_schema(schema);
    let (flows, stats) = from_parquet(file, everything()).unwrap();
    assert_eq!((flows.len(), stats.records), (1, 1));
}

#[test]
fn a_file_without_the_fields_evidence_needs_is_refused_by_name() {
    let file = parquet_from_records(
        &["srcaddr", "dstaddr", "protocol"],
        &["10.0.0.1 10.0.0.2 6".into()],
        10,
    );
    let error = from_parquet(file, everything()).unwrap_err();
    assert!(error.to_string().contains("dstport"), "{error}");
    let file = parquet_from_records(
        &["srcaddr", "dstaddr", "dstport", "protocol"],
        &["10.0.0.1 10.0.0.2 443 6".into()],
        10,
    );
    let accept = Selection {
        action: ActionFilter::Accept,
        window: None,
    };
    let error = from_parquet(file, accept).unwrap_err();
    assert!(error.to_string().contains("`action`"), "{error}");
}

#[test]
fn bytes_that_are_not_parquet_are_an_error_not_an_empty_file() {
    let error = from_parquet(b"2 123 eni-1 10.0.0.1 10.0.0.2".to_vec(), everything()).unwrap_err();
    assert!(matches!(error, FlowLogError::Parquet(_)), "{error}");
}

#[test]
fn numbers_written_as_strings_and_dashes_for_missing_values_are_read() {
    let schema = "message flow_logs { required binary srcaddr (STRING); required binary dstaddr \
                  (STRING); required binary pkt_srcaddr (STRING); required binary dstport (STRING); \
                  required binary protocol (STRING); }";
    let file = with_schema(schema);
    let (flows, _) = from_parquet(file, everything()).unwrap();
    assert_eq!(flows.len(), 1);
    assert_eq!(
        (flows[0].source.to_string().as_str(), flows[0].port),
        ("10.0.0.1", 443)
    );
}

/// One row in `schema`: booleans true, numbers 443 (`dstport`) or 6, strings by column name.
fn with_schema(schema: &str) -> Vec<u8> {
    use parquet::column::writer::ColumnWriter;
    use parquet::data_type::ByteArray;
    use parquet::file::writer::SerializedFileWriter;
    use std::sync::Arc;
    let schema = Arc::new(parquet::schema::parser::parse_message_type(schema).unwrap());
    let mut writer = SerializedFileWriter::new(Vec::new(), schema, Arc::default()).unwrap();
    let mut group = writer.next_row_group().unwrap();
    while let Some(mut column) = group.next_column().unwrap() {
        let written = match column.untyped() {
            ColumnWriter::BoolColumnWriter(w) => {
                let levels = optional(w.get_descriptor());
                w.write_batch(&[true], levels, None)
            }
            ColumnWriter::Int32ColumnWriter(w) => {
                let value = if w.get_descriptor().name() == "dstport" {
                    443
                } else {
                    6
                };
                let levels = optional(w.get_descriptor());
                w.write_batch(&[value], levels, None)
            }
            ColumnWriter::ByteArrayColumnWriter(w) => {
                let value = match w.get_descriptor().name() {
                    "srcaddr" => "10.0.0.1",
                    "dstaddr" => "10.0.0.2",
                    "dstport" => "443",
                    "protocol" => "6",
                    _ => "-",
                };
                let levels = optional(w.get_descriptor());
                w.write_batch(&[ByteArray::from(value)], levels, None)
            }
            _ => unreachable!("the test schemas use booleans, int32 and strings"),
        };
        written.unwrap();
        column.close().unwrap();
    }
    group.close().unwrap();
    writer.into_inner().unwrap()
}

/// Definition levels for one present value: needed only by optional columns.
fn optional(column: &parquet::schema::types::ColumnDescriptor) -> Option<&'static [i16]> {
    (column.max_def_level() > 0).then_some(&[1][..])
}

fn record() -> impl Strategy<Value = String> {
    let address = (0u8..4, 0u8..4).prop_map(|(a, b)| format!("10.0.{a}.{b}"));
    let maybe = |s: BoxedStrategy<String>| prop_oneof![3 => s, 1 => Just("-".to_owned())];
    (
        address.clone(),
        maybe(address.clone().boxed()),
        prop::sample::select(vec![22u16, 443, 5432]),
        prop::sample::select(vec!["ACCEPT", "REJECT"]),
        0i64..7200,
        prop::sample::select(vec!["OK", "OK", "OK", "NODATA", "SKIPDATA"]),
    )
        .prop_map(|(src, pkt, port, action, offset, status)| {
            let start = T + offset;
            format!(
                "eni-1 {src} 10.1.0.9 {pkt} {port} 6 {start} {} {action} {status}",
                start + 60
            )
        })
}

proptest! {
    #[test]
    fn parquet_and_text_of_the_same_records_are_the_same_evidence(
        records in prop::collection::vec(record(), 0..200),
        rows_per_group in 1usize..64,
        accept_only in any::<bool>(),
    ) {
        let fields = ["interface-id", "srcaddr", "dstaddr", "pkt-srcaddr", "dstport", "protocol",
                      "start", "end", "action", "log-status"];
        let selection = Selection {
            action: if accept_only { ActionFilter::Accept } else { ActionFilter::Any },
            window: Some(Window {
                start: jiff::Timestamp::from_second(T + 600).unwrap(),
                end: jiff::Timestamp::from_second(T + 3600).unwrap(),
            }),
        };
        let file = parquet_from_records(&fields, &records, rows_per_group);
        let (flows, stats) = from_parquet(file, selection).unwrap();
        let (text_flows, text_stats) = from_text(&fields, &records, selection);
        prop_assert_eq!(flows, text_flows);
        prop_assert_eq!(stats, text_stats);
    }
}
