//! e2e: the data set of `athena.rs` — Parquet flow logs in AWS's Hive-compatible hourly layout
//! around a three-day window (gaps, SKIPDATA, late deliveries, records outside the window, a
//! stray partition), uploaded to a bucket of the test's own, and the table shapes AWS documents.

use crate::support::env::env;
use crate::support::flowlogs::parquet_fixture;
use crate::support::names::unique_name;
use crate::support::TestAccount;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use sg_tightener::aws::flowlogs::athena_sql::{Table, TableShape};
use sg_tightener::aws::{EvidenceRequest, EvidenceSource};
use sg_tightener::domain::evidence::Window;
use sg_tightener::domain::flowlog::{ActionFilter, DEFAULT_V2_FIELDS};

/// The data set in moto: the objects (key, Parquet body) and the bucket holding them.
pub struct DataSet {
    pub account: TestAccount,
    pub today: Date,
    pub objects: Vec<(String, Vec<u8>)>,
    pub bucket: String,
}

impl DataSet {
    /// The objects of a fresh account, uploaded to a bucket of its own.
    pub async fn upload() -> DataSet {
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
        DataSet {
            account,
            today,
            objects,
            bucket,
        }
    }

    /// Midnight of `back` days before today, in Unix seconds.
    pub fn day(&self, back: i64) -> i64 {
        midnight(self.today - back.days())
    }

    /// An ACCEPT request for `[start, end)` (Unix seconds) of the bucket's flow logs.
    pub fn request(&self, start: i64, end: i64) -> EvidenceRequest {
        EvidenceRequest {
            source: EvidenceSource::S3 {
                bucket: self.bucket.clone(),
                prefix: "AWSLogs/".into(),
            },
            window: Window {
                start: Timestamp::from_second(start).unwrap(),
                end: Timestamp::from_second(end).unwrap(),
            },
            action: ActionFilter::Accept,
            coverage_interfaces: Vec::new(),
            fresh_since: None,
        }
    }
}

pub fn fields() -> Vec<&'static str> {
    let mut fields = DEFAULT_V2_FIELDS.to_vec();
    fields.extend(["pkt-srcaddr", "pkt-dstaddr"]);
    fields
}

pub fn midnight(day: Date) -> i64 {
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
            // early on the window's first day, and in the afternoon
            key(account, day(3) + 3 * 3600 + 300, "early"),
            vec![a("10.3.3.3", "-", 443, day(3) + 3 * 3600, "ACCEPT")],
        ),
        (
            key(account, day(3) + 15 * 3600 + 300, "c"),
            vec![a("10.5.5.5", "-", 443, day(3) + 15 * 3600, "ACCEPT")],
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
pub fn shapes() -> Vec<TableShape> {
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
    let projected = pairs(&[("dt", "string"), ("hour", "string")]);
    let projection = pairs(&[("projection.dt.format", "yyyy/MM/dd")]);
    [
        (hive, Vec::new()),
        (pairs(&[("date", "date"), ("hour", "string")]), Vec::new()),
        (projected, projection),
        (Vec::new(), Vec::new()),
    ]
    .into_iter()
    .map(|(keys, parameters)| {
        TableShape::from_metadata(&columns, &keys, &parameters.into_iter().collect())
    })
    .collect()
}

pub fn table(shape: TableShape) -> Table {
    Table {
        database: "flow_logs".into(),
        table: "vpc_flow_logs".into(),
        shape,
    }
}
