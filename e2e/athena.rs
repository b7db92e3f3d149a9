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
use crate::support::duckdb::{duckdb_evidence, tree, Query};
use crate::support::env::env;
use crate::support::flowlogs::parquet_fixture;
use crate::support::names::unique_name;
use crate::support::TestAccount;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use sg_tightener::aws::flowlogs::athena_sql::{delivery_days, Partitions, Table, TableShape};
use sg_tightener::aws::{AwsPorts, EvidenceRequest, EvidenceSource};
use sg_tightener::domain::evidence::{EvidenceDocument, Window};
use sg_tightener::domain::flowlog::{ActionFilter, DEFAULT_V2_FIELDS};
use std::collections::{BTreeMap, BTreeSet};

fn fields() -> Vec<&'static str> {
    let mut fields = DEFAULT_V2_FIELDS.to_vec();
    fields.extend(["pkt-srcaddr", "pkt-dstaddr"]);
    fields
}

fn midnight(day: Date) -> i64 {
    day.to_zoned(jiff::tz::TimeZone::UTC)
        .expect("midnight")
        .timestamp()
        .as_second()
}

/// One record in [`fields`] order.
fn record(account: &str, src: &str, pkt: &str, port: u16, start: i64, action: &str) -> String {
    format!(
        "2 {account} eni-0a1b2c3d4e5f60718 {src} 10.1.0.9 40000 {port} 6 10 840 {start} {} {action} OK {pkt} -",
        start + 60
    )
}

fn status(account: &str, start: i64, status: &str) -> String {
    format!(
        "2 {account} eni-0a1b2c3d4e5f60718 - - - - - - - {start} {} - {status} - -",
        start + 60
    )
}

/// Delivery key in AWS's Hive-compatible hourly layout.
fn key(account: &str, delivered: i64, name: &str) -> String {
    let at = Timestamp::from_second(delivered)
        .expect("time")
        .to_zoned(jiff::tz::TimeZone::UTC);
    format!(
        "AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={}/{}/{account}_vpcflowlogs_{}_fl-e2e_{}_{name}.log.parquet",
        env().region,
        at.strftime("year=%Y/month=%m/day=%d/hour=%H"),
        env().region,
        at.strftime("%Y%m%dT%H%MZ"),
    )
}

/// The data set: the window is the last three whole UTC days; the middle one has no data; the
/// last has a SKIPDATA record; a record of the window's last day is delivered after midnight; a
/// day before the window and records outside it are never evidence. Sources behind a NAT carry
/// the client in `pkt-srcaddr`.
fn objects(account: &str, today: Date) -> Vec<(String, Vec<String>)> {
    let day = |back: i64| midnight(today - back.days());
    let a = |src: &str, pkt: &str, port: u16, at: i64, action: &str| {
        record(account, src, pkt, port, at, action)
    };
    vec![
        (
            key(account, day(3) + 9 * 3600 + 300, "a"),
            vec![
                a("10.0.10.1", "-", 443, day(3) + 9 * 3600, "ACCEPT"),
                a("10.0.10.1", "-", 443, day(3) + 9 * 3600 + 60, "ACCEPT"),
                a("10.0.0.50", "10.7.3.4", 443, day(3) + 9 * 3600, "ACCEPT"),
                a("10.0.10.2", "-", 22, day(3) + 9 * 3600, "REJECT"),
                status(account, day(3) + 9 * 3600, "NODATA"),
            ],
        ),
        (
            key(account, day(1) + 12 * 3600 + 300, "b"),
            vec![
                a("10.4.8.1", "-", 5432, day(1) + 12 * 3600, "ACCEPT"),
                a("10.0.0.50", "10.7.3.5", 443, day(1) + 12 * 3600, "ACCEPT"),
                status(account, day(1) + 12 * 3600, "SKIPDATA"),
            ],
        ),
        (
            // the window's last record, delivered after it ends
            key(account, day(0) + 300, "late"),
            vec![a(
                "10.8.2.1",
                "-",
                8443,
                day(1) + 23 * 3600 + 3500,
                "ACCEPT",
            )],
        ),
        (
            // before the window: neither reader may count it
            key(account, day(4) + 9 * 3600, "old"),
            vec![a("10.9.9.9", "-", 443, day(4) + 9 * 3600, "ACCEPT")],
        ),
        (
            // a partition outside the window's delivery days holding a window-time record: only
            // a query that reads the whole table sees it (the S3 reader selects by key date)
            key(account, day(5) + 9 * 3600, "stray"),
            vec![a("10.6.6.6", "-", 443, day(3) + 10 * 3600, "ACCEPT")],
        ),
    ]
}

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

async fn bucket_of(account: &TestAccount, objects: &[(String, Vec<u8>)]) -> String {
    let bucket = unique_name("sgt-athena");
    let s3 = aws_sdk_s3::Client::new(account.sdk_config());
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
            env().region.as_str(),
        ))
        .build();
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(location)
        .send()
        .await
        .expect("create bucket");
    for (key, body) in objects {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.clone().into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
    }
    bucket
}

/// The partitionings AWS documents for flow-log tables, and an unpartitioned table.
fn shapes() -> Vec<TableShape> {
    let columns: Vec<(String, String)> = fields()
        .iter()
        .map(|f| (f.replace('-', "_"), "string".to_owned()))
        .collect();
    let pairs = |names: &[(&str, &str)]| -> Vec<(String, String)> {
        names
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    };
    let hive = pairs(&[
        ("year", "string"),
        ("month", "string"),
        ("day", "string"),
        ("hour", "string"),
    ]);
    let projected = pairs(&[("dt", "string")]);
    let projection = pairs(&[("projection.dt.format", "yyyy/MM/dd")]);
    [
        (hive, Vec::new()),
        (pairs(&[("date", "date")]), Vec::new()),
        (projected, projection),
        (Vec::new(), Vec::new()),
    ]
    .into_iter()
    .map(|(keys, parameters)| {
        TableShape::from_metadata(&columns, &keys, &parameters.into_iter().collect())
    })
    .collect()
}

fn table(shape: TableShape) -> Table {
    Table {
        database: "flow_logs".into(),
        table: "vpc_flow_logs".into(),
        shape,
    }
}

#[tokio::test]
async fn athena_sql_run_by_duckdb_gives_the_evidence_the_s3_reader_reads_whole_and_by_day() {
    let account = TestAccount::new().await;
    let today = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let fields = fields();
    let objects: Vec<(String, Vec<u8>)> = objects(&account.id, today)
        .into_iter()
        .map(|(key, records)| {
            let body = parquet_fixture::parquet_from_records(&fields, &records, 2);
            (key, body)
        })
        .collect();
    let bucket = bucket_of(&account, &objects).await;
    let window = Window {
        start: Timestamp::from_second(midnight(today - 3.days())).unwrap(),
        end: Timestamp::from_second(midnight(today)).unwrap(),
    };
    let request = |window: Window| EvidenceRequest {
        source: EvidenceSource::S3 {
            bucket: bucket.clone(),
            prefix: "AWSLogs/".into(),
        },
        window,
        action: ActionFilter::Accept,
        coverage_interfaces: Vec::new(),
    };
    let whole = request(window);
    let days: Vec<EvidenceRequest> = (1..=3)
        .rev()
        .map(|back| {
            let start = midnight(today - back.days());
            request(Window {
                start: Timestamp::from_second(start).unwrap(),
                end: Timestamp::from_second(start + 86_400).unwrap(),
            })
        })
        .collect();
    let s3_whole = s3_reader_evidence(&account, &whole).await;
    let sources: Vec<String> = s3_whole
        .flows
        .iter()
        .map(|f| f.source.to_string())
        .collect();
    assert_eq!(
        sources,
        ["10.0.10.1", "10.4.8.1", "10.7.3.4", "10.7.3.5", "10.8.2.1"],
        "the data set is what this test thinks it is"
    );
    assert_eq!(s3_whole.coverage.days_without_data, [today - 2.days()]);
    let mut s3_days = Vec::new();
    for day in &days {
        s3_days.push(s3_reader_evidence(&account, day).await);
    }

    // every query reads a tree where the partitions it must not read hold garbage
    // (a window of whole days, its first day to the day after its last: the day its end is in)
    let readable = |request: &EvidenceRequest| {
        let utc = |at: Timestamp| at.to_zoned(jiff::tz::TimeZone::UTC).date();
        let (first, after) = (utc(request.window.start), utc(request.window.end));
        assert_eq!(
            delivery_days(request).len() as i32,
            (after - first).get_days() + 1,
            "the reader's delivery days are these"
        );
        tree(&objects, &fields, move |day| first <= day && day <= after)
    };
    let whole_tree = readable(&whole);
    let day_trees: Vec<_> = days.iter().map(readable).collect();
    let full_tree = tree(&objects, &fields, |_| true);
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
        assert_same(&athena, &s3_whole, &format!("{partitions:?}, whole window"));
        let by_day: Vec<EvidenceDocument> =
            answers.by_ref().take(days.len()).map(|a| a.1).collect();
        for ((athena, s3), day) in by_day.iter().zip(&s3_days).zip(&days) {
            let what = format!("{partitions:?}, {:?}", day.window);
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
            // (the S3 reader counts SKIPDATA records and the earliest record of every object
            // it reads, including the records of the day before or after a window that the
            // objects on its edges hold; the query counts the window's own)
            assert!(athena.coverage.skipped_records <= s3.coverage.skipped_records);
        }
        let (flows, gaps, interfaces, skipped) = merged(&by_day);
        assert_eq!(
            flows,
            flow_counts(&athena),
            "{partitions:?}: the days merged"
        );
        let whole_gaps: BTreeSet<Date> =
            athena.coverage.days_without_data.iter().copied().collect();
        assert_eq!(gaps, whole_gaps, "{partitions:?}");
        let whole_interfaces: BTreeSet<String> = athena
            .coverage
            .interfaces_with_records
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        assert_eq!(interfaces, whole_interfaces, "{partitions:?}");
        assert_eq!(skipped, athena.coverage.skipped_records, "{partitions:?}");
        let earliest = by_day
            .iter()
            .filter_map(|d| d.coverage.earliest_record)
            .min();
        assert_eq!(earliest, athena.coverage.earliest_record, "{partitions:?}");
    }
}

/// The Athena answer is the S3 reader's evidence: flows, coverage and lost records.
fn assert_same(athena: &EvidenceDocument, s3: &EvidenceDocument, what: &str) {
    assert_eq!(athena.flows, s3.flows, "{what}");
    assert_eq!(athena.coverage, s3.coverage, "{what}");
    assert_eq!(athena.stats.skipdata, s3.stats.skipdata, "{what}");
}
