//! Domain layer (pure): tests for flow-log parsing, selection and aggregation.

use super::*;
use crate::domain::evidence::Flow;
use std::io::{Cursor, Read, Write};
use std::net::Ipv4Addr;

mod properties;
mod streams;

pub(super) const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
pub(super) const T: i64 = 1_709_251_200; // 2024-03-01T00:00:00Z

pub(super) fn v2(src: &str, dst: &str, port: u16, action: &str, start: i64) -> String {
    format!(
        "2 123456789012 eni-1 {src} {dst} 40000 {port} 6 10 840 {start} {} {action} OK",
        start + 60
    )
}

pub(super) fn parse(text: &str, selection: Selection) -> (Aggregator, ParseStats) {
    let mut aggregator = Aggregator::new();
    let stats = parse_into(
        &mut Cursor::new(text.as_bytes()),
        &selection,
        &mut aggregator,
    )
    .unwrap();
    (aggregator, stats)
}

pub(super) fn everything() -> Selection {
    Selection {
        action: ActionFilter::Any,
        window: None,
    }
}

pub(super) fn window(start: i64, end: i64) -> Window {
    Window {
        start: jiff::Timestamp::from_second(start).unwrap(),
        end: jiff::Timestamp::from_second(end).unwrap(),
    }
}

pub(super) fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

#[test]
fn parses_the_v2_default_format_with_and_without_a_header() {
    let body = [
        v2("10.0.1.5", "10.1.0.9", 443, "ACCEPT", T),
        v2("10.0.1.5", "10.1.0.9", 443, "ACCEPT", T + 60),
    ]
    .join("\n");
    for text in [body.clone(), format!("{HEADER}\n{body}\n")] {
        let (aggregator, stats) = parse(&text, everything());
        assert_eq!(stats.records, 2);
        assert_eq!(stats.malformed, 0);
        let flows = aggregator.into_flows();
        assert_eq!(flows.len(), 1, "identical tuples aggregate");
        assert_eq!(
            flows[0],
            Flow {
                source: ip("10.0.1.5"),
                destination: ip("10.1.0.9"),
                interface_id: Some("eni-1".into()),
                protocol: 6,
                port: 443,
                records: 2
            }
        );
    }
}

#[test]
fn a_custom_header_with_pkt_addresses_prefers_the_original_addresses() {
    let text =
        "interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr dstport protocol action start end\n\
                eni-9 10.0.0.7 10.1.0.9 10.20.0.4 10.1.0.99 5432 6 ACCEPT 1709251200 1709251260\n\
                eni-9 10.0.0.7 10.1.0.9 - - 5432 6 ACCEPT 1709251200 1709251260\n";
    let flows = parse(text, Selection::default()).0.into_flows();
    let pairs: Vec<_> = flows.iter().map(|f| (f.source, f.destination)).collect();
    assert_eq!(
        pairs,
        vec![
            (ip("10.0.0.7"), ip("10.1.0.9")),
            (ip("10.20.0.4"), ip("10.1.0.99"))
        ]
    );
}

#[test]
fn nodata_and_skipdata_are_counted_not_aggregated() {
    let text = format!(
        "{HEADER}\n2 1 eni-1 - - - - - - - {T} {} - NODATA\n2 1 eni-1 - - - - - - - {T} {} - SKIPDATA\n{}\n",
        T + 60,
        T + 60,
        v2("10.0.0.1", "10.0.0.2", 22, "ACCEPT", T)
    );
    let (aggregator, stats) = parse(&text, everything());
    assert_eq!(
        (stats.records, stats.nodata, stats.skipdata, stats.malformed),
        (1, 1, 1, 0)
    );
    assert_eq!(aggregator.distinct(), 1);
}

#[test]
fn unparseable_lines_are_counted_and_parsing_goes_on() {
    let bad = [
        "garbage",
        "2 1 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 1 2 ACCEPT",
        "2 1 eni-1 10.0.0.999 10.0.0.2 1 443 6 1 1 1 2 ACCEPT OK",
        "2 1 eni-1 10.0.0.1 10.0.0.2 1 70000 6 1 1 1 2 ACCEPT OK",
        "2 1 eni-1 10.0.0.1 10.0.0.2 1 443 300 1 1 1 2 ACCEPT OK",
        "2 1 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 1 2 MAYBE OK",
        "2 1 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 1 2 ACCEPT WEIRD",
        "2 1 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 x 2 ACCEPT OK",
        "2 1 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 1 2 ACCEPT OK extra",
    ];
    let text = format!(
        "{}\n{}\n\n",
        bad.join("\n"),
        v2("10.0.0.1", "10.0.0.2", 443, "ACCEPT", T)
    );
    let (_, stats) = parse(&text, everything());
    assert_eq!(stats.malformed, bad.len() as u64);
    assert_eq!(stats.records, 1);
}

#[test]
fn ipv6_records_are_counted_separately() {
    let text = "2 1 eni-1 2001:db8::1 2001:db8::2 1 443 6 1 1 1 2 ACCEPT OK\n";
    let (aggregator, stats) = parse(text, everything());
    assert_eq!(
        (stats.ipv6, stats.malformed, aggregator.distinct()),
        (1, 0, 0)
    );
}

#[test]
fn selection_by_action_keeps_only_the_chosen_action() {
    let text = [
        v2("10.0.0.1", "10.0.0.9", 443, "ACCEPT", T),
        v2("10.0.0.2", "10.0.0.9", 443, "REJECT", T),
    ]
    .join("\n");
    let cases = [
        (ActionFilter::Accept, "10.0.0.1"),
        (ActionFilter::Reject, "10.0.0.2"),
    ];
    for (action, expected) in cases {
        let (aggregator, stats) = parse(
            &text,
            Selection {
                action,
                window: None,
            },
        );
        assert_eq!((stats.records, stats.filtered), (2, 1));
        assert_eq!(aggregator.into_flows()[0].source, ip(expected));
    }
}

#[test]
fn selection_by_window_keeps_records_that_overlap_it() {
    let text = [
        v2("10.0.0.1", "10.0.0.9", 443, "ACCEPT", T - 120), // ends before the window
        v2("10.0.0.2", "10.0.0.9", 443, "ACCEPT", T - 30),  // overlaps the start
        v2("10.0.0.3", "10.0.0.9", 443, "ACCEPT", T + 500), // inside
        v2("10.0.0.4", "10.0.0.9", 443, "ACCEPT", T + 1000), // starts at the (exclusive) end
    ]
    .join("\n");
    let selection = Selection {
        action: ActionFilter::Any,
        window: Some(window(T, T + 1000)),
    };
    let (aggregator, stats) = parse(&text, selection);
    let sources: Vec<_> = aggregator.into_flows().iter().map(|f| f.source).collect();
    assert_eq!(sources, vec![ip("10.0.0.2"), ip("10.0.0.3")]);
    assert_eq!(stats.filtered, 2);
}

#[test]
fn a_selection_the_format_cannot_answer_is_an_error_naming_the_field() {
    let text = "srcaddr dstaddr dstport protocol\n10.0.0.1 10.0.0.2 443 6\n";
    let mut aggregator = Aggregator::new();
    let error = parse_into(
        &mut Cursor::new(text),
        &Selection::default(),
        &mut aggregator,
    )
    .unwrap_err();
    assert!(error.to_string().contains("`action`"), "{error}");
    let windowed = Selection {
        action: ActionFilter::Any,
        window: Some(window(T, T + 1)),
    };
    let error = parse_into(&mut Cursor::new(text), &windowed, &mut aggregator).unwrap_err();
    assert!(error.to_string().contains("`start`"), "{error}");
    assert!(parse_into(&mut Cursor::new(text), &everything(), &mut aggregator).is_ok());
}

#[test]
fn a_header_without_addresses_is_an_error_naming_what_is_missing() {
    let error = Format::from_header("version srcaddr dstaddr action").unwrap_err();
    assert_eq!(
        error.to_string(),
        "flow-log format lacks required field(s): dstport, protocol"
    );
}

#[test]
fn a_second_header_mid_stream_switches_the_format() {
    let text = format!(
        "{HEADER}\n{}\nsrcaddr dstaddr dstport protocol action\n10.0.0.5 10.0.0.9 53 17 ACCEPT\n",
        v2("10.0.0.1", "10.0.0.9", 443, "ACCEPT", T)
    );
    let (aggregator, stats) = parse(&text, Selection::default());
    assert_eq!((stats.records, stats.malformed), (2, 0));
    assert_eq!(aggregator.into_flows()[1].protocol, 17);
}

#[test]
fn parsing_feeds_coverage_with_data_days_and_the_earliest_record() {
    let text = [
        v2("10.0.0.1", "10.0.0.9", 443, "REJECT", T + 86_400),
        v2("10.0.0.1", "10.0.0.9", 443, "ACCEPT", T),
    ]
    .join("\n");
    let (aggregator, _) = parse(&text, Selection::default());
    let document = aggregator.into_evidence(window(T, T + 3 * 86_400));
    assert_eq!(
        document.coverage.earliest_record,
        Some(jiff::Timestamp::from_second(T).unwrap())
    );
    assert_eq!(
        document.coverage.days_without_data,
        vec![jiff::civil::date(2024, 3, 3)],
        "a REJECT-only day still has logs"
    );
    assert_eq!(document.flows.len(), 1);
}

#[test]
fn merging_aggregators_adds_counts_and_keeps_interface_names() {
    let (mut a, _) = parse(&v2("10.0.0.1", "10.0.0.9", 443, "ACCEPT", T), everything());
    let (b, _) = parse(
        &[
            v2("10.0.0.1", "10.0.0.9", 443, "ACCEPT", T),
            v2("10.0.0.1", "10.0.0.9", 80, "ACCEPT", T),
        ]
        .join("\n"),
        everything(),
    );
    a.merge(b);
    assert_eq!(a.stats().records, 3);
    let flows = a.into_flows();
    assert_eq!(
        flows
            .iter()
            .map(|f| (f.port, f.records))
            .collect::<Vec<_>>(),
        vec![(80, 1), (443, 2)]
    );
    assert!(flows
        .iter()
        .all(|f| f.interface_id.as_deref() == Some("eni-1")));
}

#[test]
fn a_missing_interface_and_port_become_none_and_zero() {
    let text = "2 1 - 10.0.0.1 10.0.0.2 - - 1 1 84 1 2 ACCEPT OK\n";
    let flows = parse(text, everything()).0.into_flows();
    assert_eq!(
        (
            flows[0].interface_id.clone(),
            flows[0].protocol,
            flows[0].port
        ),
        (None, 1, 0)
    );
}
