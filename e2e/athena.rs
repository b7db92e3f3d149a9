//! e2e: the Athena reader's SQL checked by a real SQL engine. The one query per window the
//! reader sends to Athena (athena_sql.rs: window, partition pruning, packet addresses, flows,
//! coverage and interfaces in one scan) is run by DuckDB (the test venv's `duckdb` wheel) over
//! Parquet flow logs in AWS's Hive-compatible hourly layout, and its answer, read the way the
//! Athena reader reads Athena's, must be the evidence the S3 reader reads from the same objects
//! in moto — for the whole window and for each of its days (the way a per-day evidence cache
//! asks: the same flows and days), the days merged giving the whole window's answer. Every
//! object outside the partitions a query may read is replaced by garbage that DuckDB cannot
//! open, so a query that reads one more partition fails (`support/duckdb.rs`). Nothing leaves
//! 127.0.0.1.

use crate::support::aws::operator_aws_layer;
use crate::support::duckdb::{delivered, duckdb_evidence, tree, Query};
use crate::support::TestAccount;
use data::{fields, shapes, table, DataSet};
use jiff::civil::Date;
use jiff::Timestamp;
use sg_tightener::aws::flowlogs::athena_sql::{delivery_days, Partitions};
use sg_tightener::aws::{AwsPorts, EvidenceRequest};
use sg_tightener::domain::evidence::EvidenceDocument;
use std::collections::{BTreeMap, BTreeSet};

mod data;

async fn s3_reader_evidence(account: &TestAccount, request: &EvidenceRequest) -> EvidenceDocument {
    operator_aws_layer()
        .await
        .flow_logs(&account.target())
        .await
        .collect(request)
        .await
        .unwrap_or_else(|e| panic!("the S3 reader: {e}"))
}

/// The flows as (source, destination, interface, protocol, port) → records.
type FlowCounts = BTreeMap<(String, String, Option<String>, u8, u16), u64>;

/// Per-day documents merged the way a per-day evidence cache would: flows summed by tuple,
/// days without data and with SKIPDATA unioned, interfaces unioned, the earliest record and
/// the counts summed.
fn merged(days: &[EvidenceDocument]) -> (FlowCounts, BTreeSet<Date>, BTreeSet<String>, u64) {
    let mut flows = FlowCounts::new();
    let mut gaps = BTreeSet::new();
    let mut interfaces = BTreeSet::new();
    let mut skipped = 0;
    for day in days {
        for (tuple, records) in flow_counts(day) {
            *flows.entry(tuple).or_default() += records;
        }
        gaps.extend(day.coverage.days_without_data.iter().copied());
        interfaces.extend(
            day.coverage
                .interfaces_with_records
                .clone()
                .unwrap_or_default(),
        );
        skipped += day.coverage.skipped_records;
    }
    (flows, gaps, interfaces, skipped)
}

fn flow_counts(document: &EvidenceDocument) -> FlowCounts {
    document
        .flows
        .iter()
        .map(|f| {
            let tuple = (
                f.source.to_string(),
                f.destination.to_string(),
                f.interface_id.clone(),
                f.protocol,
                f.port,
            );
            (tuple, f.records)
        })
        .collect()
}

/// A tree for `request` where every object outside the partitions it may read is garbage: the
/// delivery days of a window (its first day to the day after its last), and on the first day
/// the hourly partitions from two hours before its start (the S3 reader's delivery slack).
fn readable_tree(set: &DataSet, request: &EvidenceRequest) -> tempfile::TempDir {
    let utc = |at: Timestamp| at.to_zoned(jiff::tz::TimeZone::UTC);
    let last = utc(request.window.end - jiff::SignedDuration::from_nanos(1)).date();
    let (first, after) = (utc(request.window.start).date(), last.tomorrow().unwrap());
    assert_eq!(
        delivery_days(request).len() as i32,
        (after - first).get_days() + 1,
        "the reader's delivery days are these"
    );
    let earliest = utc(request.window.start - jiff::SignedDuration::from_hours(2));
    let from_hour = if earliest.date() == first {
        earliest.hour()
    } else {
        0
    };
    tree(&set.objects, &fields(), move |key| {
        let (day, hour) = delivered(key);
        first <= day && day <= after && (day != first || hour >= from_hour)
    })
}

/// Per-day documents compared with the S3 reader's: the same flows, days without data or with
/// SKIPDATA, interfaces with records, SKIPDATA records and earliest record (both count only the
/// window's own records, not those of the edge days in the objects the S3 reader reads).
fn assert_same_flows_and_days(athena: &EvidenceDocument, s3: &EvidenceDocument, what: &str) {
    assert_eq!(athena.flows, s3.flows, "{what}");
    let coverage = |d: &EvidenceDocument| {
        let c = &d.coverage;
        let days = (
            c.days_without_data.clone(),
            c.days_with_skipped_records.clone(),
        );
        (days, c.interfaces_with_records.clone())
    };
    assert_eq!(coverage(athena), coverage(s3), "{what}");
    let lost = |d: &EvidenceDocument| (d.coverage.skipped_records, d.coverage.earliest_record);
    assert_eq!(
        lost(athena),
        lost(s3),
        "{what}: SKIPDATA and earliest record"
    );
}

#[tokio::test]
async fn athena_sql_run_by_duckdb_gives_the_evidence_the_s3_reader_reads_whole_and_by_day() {
    let set = DataSet::upload().await;
    let whole = set.request(set.day(3), set.day(0));
    let days: Vec<EvidenceRequest> = (1..=3)
        .rev()
        .map(|back| set.request(set.day(back), set.day(back - 1)))
        .collect();
    let s3_whole = s3_reader_evidence(&set.account, &whole).await;
    let sources: Vec<String> = s3_whole
        .flows
        .iter()
        .map(|f| f.source.to_string())
        .collect();
    assert_eq!(
        sources,
        [
            "10.0.10.1",
            "10.3.3.3",
            "10.4.8.1",
            "10.5.5.5",
            "10.7.3.4",
            "10.7.3.5",
            "10.8.2.1"
        ],
        "the data set is what this test thinks it is"
    );
    assert_eq!(s3_whole.coverage.days_without_data.len(), 1);
    let mut s3_days = Vec::new();
    for day in &days {
        s3_days.push(s3_reader_evidence(&set.account, day).await);
    }

    let whole_tree = readable_tree(&set, &whole);
    let day_trees: Vec<_> = days.iter().map(|d| readable_tree(&set, d)).collect();
    let full_tree = tree(&set.objects, &fields(), |_| true);
    let mut queries = Vec::new();
    for shape in shapes() {
        if shape.partitions == Partitions::None {
            queries.push(Query {
                root: full_tree.path().to_owned(),
                table: table(shape),
                request: whole.clone(),
            });
            continue;
        }
        assert!(shape.packet_source && shape.packet_destination);
        queries.push(Query {
            root: whole_tree.path().to_owned(),
            table: table(shape.clone()),
            request: whole.clone(),
        });
        for (day, root) in days.iter().zip(&day_trees) {
            queries.push(Query {
                root: root.path().to_owned(),
                table: table(shape.clone()),
                request: day.clone(),
            });
        }
    }
    let answers = duckdb_evidence(&queries);
    let mut answers = queries.iter().zip(answers);
    while let Some((query, athena)) = answers.next() {
        let partitions = &query.table.shape.partitions;
        if *partitions == Partitions::None {
            let stray: Vec<String> = athena.flows.iter().map(|f| f.source.to_string()).collect();
            assert!(
                stray.contains(&"10.6.6.6".to_owned()),
                "reading the whole table sees the stray partition, so the pruned queries \
                 really pruned: {stray:?}"
            );
            continue;
        }
        assert_eq!(athena.flows, s3_whole.flows, "{partitions:?}, whole window");
        assert_eq!(athena.coverage, s3_whole.coverage, "{partitions:?}");
        assert_eq!(athena.stats.skipdata, s3_whole.stats.skipdata);
        let by_day: Vec<EvidenceDocument> =
            answers.by_ref().take(days.len()).map(|a| a.1).collect();
        for ((athena, s3), day) in by_day.iter().zip(&s3_days).zip(&days) {
            let what = format!("{partitions:?}, {:?}", day.window);
            assert_same_flows_and_days(athena, s3, &what);
        }
        assert_merged_days_are_the_whole(&by_day, &athena, &format!("{partitions:?}"));
    }
}

/// The per-day answers merged the way a per-day evidence cache would are the whole window's.
fn assert_merged_days_are_the_whole(
    days: &[EvidenceDocument],
    whole: &EvidenceDocument,
    what: &str,
) {
    let (flows, gaps, interfaces, skipped) = merged(days);
    assert_eq!(flows, flow_counts(whole), "{what}: the days merged");
    let whole_gaps: BTreeSet<Date> = whole.coverage.days_without_data.iter().copied().collect();
    assert_eq!(gaps, whole_gaps, "{what}");
    let whole_interfaces: BTreeSet<String> = whole
        .coverage
        .interfaces_with_records
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    assert_eq!(interfaces, whole_interfaces, "{what}");
    assert_eq!(skipped, whole.coverage.skipped_records, "{what}");
    let earliest = days.iter().filter_map(|d| d.coverage.earliest_record).min();
    assert_eq!(earliest, whole.coverage.earliest_record, "{what}");
}

#[tokio::test]
async fn a_window_of_hours_reads_the_hourly_partitions_that_can_hold_it() {
    let set = DataSet::upload().await;
    // diagnose's window: 24 hours from 10:00, three days ago; the first day's objects delivered
    // before 08:00 cannot hold its records and are garbage in the tree
    let hours = set.request(set.day(3) + 10 * 3600, set.day(2) + 10 * 3600);
    let s3 = s3_reader_evidence(&set.account, &hours).await;
    let sources: Vec<String> = s3.flows.iter().map(|f| f.source.to_string()).collect();
    assert_eq!(
        sources,
        ["10.5.5.5"],
        "the data set is what this test thinks it is"
    );
    let root = readable_tree(&set, &hours);
    let queries: Vec<Query> = shapes()
        .into_iter()
        .filter(|shape| shape.partitions != Partitions::None)
        .map(|shape| {
            assert!(shape.hour.is_some(), "{shape:?}");
            Query {
                root: root.path().to_owned(),
                table: table(shape),
                request: hours.clone(),
            }
        })
        .collect();
    for (query, athena) in queries.iter().zip(duckdb_evidence(&queries)) {
        let what = format!("{:?}", query.table.shape.partitions);
        assert_same_flows_and_days(&athena, &s3, &what);
    }
}
