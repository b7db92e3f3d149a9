//! Domain layer (pure): tests for window coverage and S3 key dates.

use super::*;
use jiff::civil::date;

fn ts(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

fn window(start: &str, end: &str) -> Window {
    Window {
        start: ts(start),
        end: ts(end),
    }
}

fn secs(text: &str) -> i64 {
    ts(text).as_second()
}

#[test]
fn window_days_lists_every_utc_day_the_window_touches() {
    let w = window("2024-03-01T12:00:00Z", "2024-03-04T00:00:00Z");
    assert_eq!(
        window_days(&w),
        vec![date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)]
    );
    let partial = window("2024-03-01T12:00:00Z", "2024-03-04T00:00:01Z");
    assert_eq!(window_days(&partial).len(), 4);
    assert!(window_days(&window("2024-03-02T00:00:00Z", "2024-03-01T00:00:00Z")).is_empty());
}

#[test]
fn days_without_records_are_gaps() {
    let w = window("2024-03-01T00:00:00Z", "2024-03-04T00:00:00Z");
    let mut tracker = CoverageTracker::default();
    tracker.observe(
        secs("2024-03-01T10:00:00Z"),
        Some(secs("2024-03-01T10:01:00Z")),
        RecordKind::Data,
    );
    tracker.observe(secs("2024-03-03T10:00:00Z"), None, RecordKind::Data);
    let coverage = tracker.coverage(&w);
    assert_eq!(coverage.days_without_data, vec![date(2024, 3, 2)]);
    assert_eq!(coverage.earliest_record, Some(ts("2024-03-01T10:00:00Z")));
    assert!(!is_complete(&coverage, &w));
}

#[test]
fn a_day_with_only_skipdata_is_a_gap() {
    let w = window("2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z");
    let mut tracker = CoverageTracker::default();
    tracker.observe(secs("2024-03-01T05:00:00Z"), None, RecordKind::Skipped);
    let coverage = tracker.coverage(&w);
    assert_eq!(coverage.days_without_data, vec![date(2024, 3, 1)]);
    assert!(coverage.days_with_skipped_records.is_empty());
}

#[test]
fn skipdata_on_a_day_with_data_is_reported_but_not_a_gap() {
    let w = window("2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z");
    let mut tracker = CoverageTracker::default();
    tracker.observe(secs("2024-03-01T05:00:00Z"), None, RecordKind::Skipped);
    tracker.observe(secs("2024-03-01T06:00:00Z"), None, RecordKind::Data);
    let coverage = tracker.coverage(&w);
    assert!(coverage.days_without_data.is_empty());
    assert_eq!(coverage.days_with_skipped_records, vec![date(2024, 3, 1)]);
    assert!(is_complete(&coverage, &w));
}

#[test]
fn a_record_crossing_midnight_covers_both_days() {
    let w = window("2024-03-01T00:00:00Z", "2024-03-03T00:00:00Z");
    let mut tracker = CoverageTracker::default();
    tracker.observe(
        secs("2024-03-01T23:58:00Z"),
        Some(secs("2024-03-02T00:08:00Z")),
        RecordKind::Data,
    );
    assert!(tracker.coverage(&w).days_without_data.is_empty());
}

#[test]
fn flow_logs_that_start_after_the_window_are_younger_than_it() {
    let w = window("2024-03-01T00:00:00Z", "2024-03-03T00:00:00Z");
    let mut tracker = CoverageTracker::default();
    tracker.observe(secs("2024-03-02T01:00:00Z"), None, RecordKind::Data);
    let coverage = tracker.coverage(&w);
    assert!(younger_than_window(&coverage, &w));
    tracker.observe(secs("2024-03-01T23:00:00Z"), None, RecordKind::Data);
    assert!(!younger_than_window(&tracker.coverage(&w), &w));
}

#[test]
fn no_record_at_all_is_younger_than_any_window_and_every_day_is_a_gap() {
    let w = window("2024-03-01T00:00:00Z", "2024-03-03T00:00:00Z");
    let coverage = CoverageTracker::default().coverage(&w);
    assert!(younger_than_window(&coverage, &w));
    assert_eq!(coverage.days_without_data.len(), 2);
}

#[test]
fn merged_trackers_see_the_union_of_days_and_the_earliest_record() {
    let w = window("2024-03-01T00:00:00Z", "2024-03-03T00:00:00Z");
    let (mut a, mut b) = (CoverageTracker::default(), CoverageTracker::default());
    a.observe(secs("2024-03-02T01:00:00Z"), None, RecordKind::Data);
    b.observe(secs("2024-03-01T01:00:00Z"), None, RecordKind::Data);
    a.merge(&b);
    let coverage = a.coverage(&w);
    assert!(coverage.days_without_data.is_empty());
    assert_eq!(coverage.earliest_record, Some(ts("2024-03-01T01:00:00Z")));
}

#[test]
fn coverage_from_days_serves_server_side_aggregating_sources() {
    let w = window("2024-03-01T00:00:00Z", "2024-03-04T00:00:00Z");
    let coverage = coverage_from_days(&w, [date(2024, 3, 1), date(2024, 3, 3)], None);
    assert_eq!(coverage.days_without_data, vec![date(2024, 3, 2)]);
    assert_eq!(coverage.earliest_record, Some(ts("2024-03-01T00:00:00Z")));
}

#[test]
fn s3_key_date_reads_the_aws_path_layout_and_hive_layout() {
    let cases = [
        ("AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/03/05/123456789012_vpcflowlogs_eu-west-1_fl-1_20240305T0000Z_ab.log.gz", Some(date(2024, 3, 5))),
        ("prefix/AWSLogs/123456789012/vpcflowlogs/us-east-1/2023/12/31/07/x.log.gz", Some(date(2023, 12, 31))),
        ("AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=02/day=29/x.log.gz", Some(date(2024, 2, 29))),
        ("AWSLogs/aws-account-id=1/aws-service=vpcflowlogs/aws-region=us-east-1/year=2023/month=02/day=29/x.log.gz", None),
        ("AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/13/05/x.log.gz", None),
        ("AWSLogs/123456789012/vpcflowlogs/eu-west-1/x.log.gz", None),
        ("", None),
        ("2024/03", None),
    ];
    for (key, expected) in cases {
        assert_eq!(s3_key_date(key), expected, "{key}");
    }
}

#[test]
fn parquet_keys_are_recognised_whatever_their_case() {
    assert!(is_parquet_key("a/b/x.log.parquet"));
    assert!(is_parquet_key("a/b/X.PARQUET"));
    assert!(!is_parquet_key("a/b/x.log.gz"));
    assert!(!is_parquet_key("a/parquet/x.log"));
}

#[test]
fn select_s3_key_reads_keys_dated_in_the_window_plus_one_day_of_delivery_lag() {
    let w = window("2024-03-02T00:00:00Z", "2024-03-04T00:00:00Z");
    let key = |d: &str| format!("AWSLogs/1/vpcflowlogs/r/{d}/x.log.gz");
    assert_eq!(
        select_s3_key(&key("2024/03/01"), &w),
        KeySelection::OutsideWindow
    );
    assert_eq!(select_s3_key(&key("2024/03/02"), &w), KeySelection::Read);
    assert_eq!(select_s3_key(&key("2024/03/03"), &w), KeySelection::Read);
    assert_eq!(select_s3_key(&key("2024/03/04"), &w), KeySelection::Read);
    assert_eq!(
        select_s3_key(&key("2024/03/05"), &w),
        KeySelection::OutsideWindow
    );
}

#[test]
fn select_s3_key_reads_parquet_like_text_and_undated_keys() {
    let w = window("2024-03-02T00:00:00Z", "2024-03-04T00:00:00Z");
    assert_eq!(
        select_s3_key("AWSLogs/1/vpcflowlogs/r/2024/03/02/x.log.parquet", &w),
        KeySelection::Read
    );
    assert_eq!(select_s3_key("flowlogs/export.log", &w), KeySelection::Read);
    assert_eq!(
        select_s3_key("exports/undated.parquet", &w),
        KeySelection::Read
    );
    assert_eq!(
        select_s3_key("AWSLogs/1/vpcflowlogs/", &w),
        KeySelection::Folder
    );
    assert_eq!(
        select_s3_key("AWSLogs/1/vpcflowlogs/r/2024/02/20/x.log.parquet", &w),
        KeySelection::OutsideWindow
    );
}

#[test]
fn hive_compatible_hourly_parquet_keys_are_selected_by_day_and_hour() {
    let key = |day: &str, hour: &str| {
        format!(
            "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/\
             year=2024/month=03/day={day}/hour={hour}/123456789012_vpcflowlogs_eu-west-1_fl-1_\
             202403{day}T{hour}05Z_ab.log.parquet"
        )
    };
    let hours = window("2024-03-02T10:00:00Z", "2024-03-02T12:00:00Z");
    assert_eq!(s3_key_date(&key("02", "09")), Some(date(2024, 3, 2)));
    assert_eq!(
        s3_key_delivered_by(&key("02", "09")),
        Some(ts("2024-03-02T10:00:00Z"))
    );
    assert_eq!(
        select_s3_key(&key("02", "07"), &hours),
        KeySelection::OutsideWindow
    );
    assert_eq!(select_s3_key(&key("02", "09"), &hours), KeySelection::Read);
    assert_eq!(select_s3_key(&key("02", "11"), &hours), KeySelection::Read);
    assert_eq!(
        select_s3_key(&key("04", "00"), &hours),
        KeySelection::OutsideWindow
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_day_with_data_is_never_a_gap_and_gaps_lie_in_the_window(
            start in 1_600_000_000i64..1_700_000_000,
            hours in 1i64..24 * 20,
            records in prop::collection::vec((0i64..24 * 25 * 3600, any::<bool>()), 0..50),
        ) {
            let w = Window {
                start: jiff::Timestamp::from_second(start).unwrap(),
                end: jiff::Timestamp::from_second(start + hours * 3600).unwrap(),
            };
            let mut tracker = CoverageTracker::default();
            for (offset, skipped) in &records {
                let kind = if *skipped { RecordKind::Skipped } else { RecordKind::Data };
                tracker.observe(start - 86_400 + offset, None, kind);
            }
            let coverage = tracker.coverage(&w);
            let days = window_days(&w);
            prop_assert!(coverage.days_without_data.iter().all(|d| days.contains(d)));
            for (offset, skipped) in &records {
                let day = utc_date(jiff::Timestamp::from_second(start - 86_400 + offset).unwrap());
                if !*skipped {
                    prop_assert!(!coverage.days_without_data.contains(&day));
                }
            }
        }
    }
}

fn document(coverage: Coverage) -> EvidenceDocument {
    EvidenceDocument {
        schema: crate::domain::evidence::EVIDENCE_SCHEMA.into(),
        window: window("2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"),
        coverage,
        stats: Default::default(),
        flows: Vec::new(),
    }
}

fn full_coverage() -> Coverage {
    Coverage {
        earliest_record: Some(ts("2026-01-01T00:05:00Z")),
        ..Default::default()
    }
}

#[test]
fn evidence_covering_every_day_with_every_object_read_has_no_gaps() {
    assert!(evidence_gaps(&document(full_coverage())).is_empty());
}

#[test]
fn missing_days_and_late_logs_are_each_named() {
    let coverage = Coverage {
        days_without_data: vec![date(2026, 1, 1)],
        earliest_record: Some(ts("2026-01-02T10:00:00Z")),
        ..Default::default()
    };
    let gaps = evidence_gaps(&document(coverage));
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    assert!(gaps[0].contains("2026-01-01"));
    assert!(gaps[1].contains("2026-01-02T10:00:00Z"));
}

#[test]
fn keys_with_an_hour_are_selected_to_the_hour_with_an_hour_of_slack() {
    let w = window("2024-03-02T10:00:00Z", "2024-03-02T12:00:00Z");
    let base = "AWSLogs/1/vpcflowlogs/r/2024/03/02";
    let stamped = |hhmm: &str| format!("{base}/1_vpcflowlogs_r_fl-1_20240302T{hhmm}Z_ab.log.gz");
    assert_eq!(
        s3_key_delivered_by(&stamped("0905")),
        Some(ts("2024-03-02T09:05:00Z"))
    );
    assert_eq!(select_s3_key(&stamped("0905"), &w), KeySelection::Read);
    assert_eq!(
        select_s3_key(&stamped("0855"), &w),
        KeySelection::OutsideWindow,
        "delivered more than an hour before the window starts"
    );
    let hourly = |hh: &str| format!("{base}/{hh}/x.log.gz");
    assert_eq!(
        s3_key_delivered_by(&hourly("07")),
        Some(ts("2024-03-02T08:00:00Z"))
    );
    assert_eq!(
        select_s3_key(&hourly("07"), &w),
        KeySelection::OutsideWindow
    );
    assert_eq!(select_s3_key(&hourly("08"), &w), KeySelection::Read);
    let hive = "x/year=2024/month=03/day=02/hour=07/f.log.gz";
    assert_eq!(s3_key_delivered_by(hive), Some(ts("2024-03-02T08:00:00Z")));
    assert_eq!(s3_key_delivered_by(&format!("{base}/x.log.gz")), None);
    let days = window("2024-03-02T00:00:00Z", "2024-03-04T00:00:00Z");
    assert_eq!(
        select_s3_key(&stamped("0005"), &days),
        KeySelection::Read,
        "whole-day windows select as before"
    );
}
