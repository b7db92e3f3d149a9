//! Domain layer (pure): tests that evidence assembled from day-span parts equals a direct read.

use super::*;
use crate::domain::flowlog::parse_into;
use proptest::prelude::*;
use std::io::Cursor;

const DAY: i64 = 86_400;
/// 2024-03-01T00:00:00Z
const T: i64 = 1_709_251_200;

fn window(first_day: i64, days: i64) -> Window {
    let at = |d: i64| jiff::Timestamp::from_second(T + d * DAY).unwrap();
    Window {
        start: at(first_day),
        end: at(first_day + days),
    }
}

/// One line of a flow-log object: records of every kind, some spanning midnight, some
/// without a start, junk, and now and then a header that stops the stream (a partial object).
fn line() -> impl Strategy<Value = String> {
    let record = (
        0u32..6,
        0u16..3,
        prop::sample::select(vec!["ACCEPT", "REJECT"]),
        -2 * DAY..7 * DAY,
        prop::sample::select(vec![0i64, 60, 600, DAY, 2 * DAY]),
        prop::sample::select(vec!["OK", "NODATA", "SKIPDATA"]),
    )
        .prop_map(|(source, eni, action, start, length, status)| {
            let start = T + start;
            format!(
                "2 1 eni-{eni} 10.0.0.{source} 10.1.0.9 40000 443 6 1 84 {start} {} {action} {status}",
                start + length
            )
        });
    prop_oneof![
        20 => record,
        1 => Just("2 1 eni-9 10.0.0.1 10.1.0.9 40000 443 6 1 84 - - ACCEPT OK".to_owned()),
        1 => Just("junk".to_owned()),
        1 => Just("2 1 eni-1 ::1 ::2 1 443 6 1 84 1709251200 1709251260 ACCEPT OK".to_owned()),
        1 => Just("version srcaddr".to_owned()),
    ]
}

fn direct(objects: &[String], action: ActionFilter, window: Window) -> EvidenceDocument {
    let selection = Selection {
        action,
        window: Some(window),
    };
    let mut all = Aggregator::new();
    for object in objects {
        let mut one = Aggregator::new();
        let _ = parse_into(&mut Cursor::new(object.as_bytes()), &selection, &mut one);
        all.merge(one);
    }
    all.stats.objects += objects.len() as u64;
    all.into_evidence(window)
}

fn spans(objects: &[String], action: ActionFilter) -> SpanAggregate {
    let mut all = SpanAggregate::new();
    for object in objects {
        let mut one = SpanAggregate::new();
        let _ = parse_spans(&mut Cursor::new(object.as_bytes()), action, &mut one);
        all.merge(one);
    }
    all.count_objects(objects.len() as u64, 0);
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn evidence_from_day_parts_equals_a_direct_read_of_the_window(
        objects in prop::collection::vec(
            prop::collection::vec(line(), 0..30).prop_map(|lines| lines.join("\n")),
            0..8,
        ),
        groups in 1usize..4,
        action in prop::sample::select(vec![ActionFilter::Accept, ActionFilter::Reject, ActionFilter::Any]),
        first_day in -1i64..4,
        days in 1i64..4,
    ) {
        let window = window(first_day, days);
        // the objects, split into groups (the store keeps one part per key date)
        let chunk = objects.len().div_ceil(groups).max(1);
        let parts: Vec<SpanAggregate> = objects.chunks(chunk).map(|c| spans(c, action)).collect();
        let shared = evidence_of_days(&parts, window);
        prop_assert_eq!(shared, direct(&objects, action, window));
    }
}

#[test]
fn a_record_across_midnight_is_evidence_for_both_days_and_counted_once() {
    let object = format!(
        "2 1 eni-1 10.0.0.1 10.1.0.9 40000 443 6 1 84 {} {} ACCEPT OK",
        T + DAY - 30,
        T + DAY + 30
    );
    let part = spans(&[object], ActionFilter::Accept);
    for first in [0, 1] {
        let document = evidence_of_days([&part], window(first, 1));
        assert_eq!(document.flows.len(), 1, "day {first}");
        assert_eq!(document.flows[0].records, 1);
        assert_eq!(
            document.coverage.interfaces_with_records,
            Some(vec!["eni-1".to_owned()])
        );
    }
    let both = evidence_of_days([&part], window(0, 2));
    assert_eq!((both.flows[0].records, both.stats.filtered), (1, 0));
    let neither = evidence_of_days([&part], window(2, 1));
    assert_eq!((neither.flows.len(), neither.stats.filtered), (0, 1));
}

#[test]
fn only_windows_of_whole_utc_days_have_day_ranges() {
    assert_eq!(
        DayRange::of_window(&window(0, 2)),
        Some(DayRange {
            first: T / DAY,
            last: T / DAY + 1
        })
    );
    let mut hours = window(0, 1);
    hours.end -= jiff::SignedDuration::from_hours(1);
    assert_eq!(DayRange::of_window(&hours), None);
    assert_eq!(DayRange::of_window(&window(1, 0)), None);
}

#[test]
fn skipdata_and_earlier_records_of_a_neighbouring_day_in_an_edge_object_do_not_count() {
    let line = |start: i64, status: &str| {
        format!(
            "2 1 eni-1 10.0.0.1 10.1.0.9 40000 443 6 1 84 {start} {} ACCEPT {status}",
            start + 60
        )
    };
    // an object delivered on day 1 holding the end of day 0 and the start of day 2
    let object = [
        line(T - 3600, "OK"),
        line(T + 3600, "OK"),
        line(T + 2 * DAY + 60, "SKIPDATA"),
    ]
    .join("\n");
    let window = window(0, 2);
    let document = direct(std::slice::from_ref(&object), ActionFilter::Accept, window);
    assert_eq!(
        document.coverage.skipped_records, 0,
        "the SKIPDATA is after the window"
    );
    assert_eq!(document.stats.skipdata, 1, "still a parsed record");
    assert_eq!(
        document.coverage.earliest_record,
        Some(jiff::Timestamp::from_second(T + 3600).unwrap()),
        "the window's first record, not the day before's"
    );
    let part = spans(&[object], ActionFilter::Accept);
    assert_eq!(evidence_of_days([&part], window), document);
    let later = evidence_of_days([&part], self::window(1, 2));
    assert_eq!(
        later.coverage.skipped_records, 1,
        "inside this window it is lost evidence"
    );
}
