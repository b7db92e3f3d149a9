//! e2e: synthetic VPC flow logs in S3 (port of `scripts/demo/flowlogs.py`): gzip v2 text objects,
//! one per UTC day under `AWSLogs/{account}/vpcflowlogs/{region}/yyyy/mm/dd/` (or Parquet objects
//! under Hive-compatible hourly prefixes), for the last whole days (the reconciler's window is `[midnight − days, midnight)` of today UTC). The addresses are
//! only data: nothing sends traffic anywhere.

use super::estate::{Estate, ENI_IP};
use super::{env, TestAccount};
use flate2::write::GzEncoder;
use flate2::Compression;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use std::io::Write;

/// Parquet flow logs in AWS's schema, written by the parquet crate (shared with unit tests).
#[path = "../../src/domain/flowlog/parquet_file/fixture.rs"]
pub mod parquet_fixture;

/// The observed sources: `(cidr base, addresses, port)`. 10.0.10.0/27 and 10.0.20.10-11 on 443,
/// 10.4.8.0/29 on 5432, 10.8.2.0/28 and 10.8.16.0/28 on 8443.
pub const SOURCES: [([u8; 4], u32, u16); 5] = [
    ([10, 0, 10, 0], 32, 443),
    ([10, 0, 20, 10], 2, 443),
    ([10, 4, 8, 0], 8, 5432),
    ([10, 8, 2, 0], 16, 8443),
    ([10, 8, 16, 0], 16, 8443),
];

const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol \
                      packets bytes start end action log-status";

fn address(base: [u8; 4], n: u32) -> String {
    std::net::Ipv4Addr::from(u32::from_be_bytes(base) + n).to_string()
}

fn gzip(lines: &[String]) -> Vec<u8> {
    let mut out = GzEncoder::new(Vec::new(), Compression::fast());
    writeln!(out, "{HEADER}").expect("gzip");
    for line in lines {
        writeln!(out, "{line}").expect("gzip");
    }
    out.finish().expect("gzip")
}

fn record(
    account: &TestAccount,
    estate: &Estate,
    src: &str,
    port: u16,
    t: i64,
    action: &str,
) -> String {
    let to = Interface {
        id: &estate.eni,
        address: ENI_IP,
    };
    record_to(account, to, src, port, t, action)
}

/// An interface flows are logged on: its id and private address.
#[derive(Debug, Clone, Copy)]
pub struct Interface<'a> {
    pub id: &'a str,
    pub address: &'a str,
}

fn record_to(
    account: &TestAccount,
    to: Interface<'_>,
    src: &str,
    port: u16,
    t: i64,
    action: &str,
) -> String {
    let (eni, dst, id) = (to.id, to.address, &account.id);
    format!(
        "2 {id} {eni} {src} {dst} 40000 {port} 6 10 840 {t} {} {action} OK",
        t + 60
    )
}

/// Puts one object under `day`'s folder; `stamp` is AWS's delivery stamp in the file name
/// (`20240301T1005Z`), which readers use to select objects to the hour.
async fn put(
    account: &TestAccount,
    estate: &Estate,
    (day, stamp): (Date, &str),
    suffix: &str,
    body: Vec<u8>,
) {
    let (id, region) = (&account.id, &env().region);
    let key = format!(
        "AWSLogs/{id}/vpcflowlogs/{region}/{}/{id}_vpcflowlogs_{region}_fl-e2e_{stamp}_{suffix}.log.gz",
        day.strftime("%Y/%m/%d"),
    );
    aws_sdk_s3::Client::new(account.sdk_config())
        .put_object()
        .bucket(&estate.bucket)
        .key(&key)
        .body(body.into())
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
}

fn today() -> Date {
    Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date()
}

/// The ACCEPT records of every source in [`SOURCES`] to the estate's ENI on `day` (from 09:00).
fn day_records(account: &TestAccount, estate: &Estate, day: Date) -> Vec<String> {
    let start = day
        .to_zoned(jiff::tz::TimeZone::UTC)
        .expect("midnight")
        .timestamp()
        .as_second()
        + 9 * 3600;
    let mut lines = Vec::new();
    for (base, count, port) in SOURCES {
        for n in 0..count {
            let t = start + i64::from(n) * 60;
            lines.push(record(
                account,
                estate,
                &address(base, n),
                port,
                t,
                "ACCEPT",
            ));
        }
    }
    lines
}

/// The last `days` whole UTC days, except the days `skip` says (counted back: 0 = yesterday).
fn days_back(days: u32, skip: impl Fn(u32) -> bool) -> Vec<Date> {
    (0..days)
        .filter(|b| !skip(*b))
        .map(|back| today() - (i64::from(back) + 1).days())
        .collect()
}

/// Uploads ACCEPT records of every source in [`SOURCES`] to the estate's ENI for each of the last
/// `days` whole UTC days, except the days `skip` says (counted back: 0 = yesterday).
pub async fn upload_days(
    account: &TestAccount,
    estate: &Estate,
    days: u32,
    skip: impl Fn(u32) -> bool,
) {
    let mut puts = Vec::new();
    for day in days_back(days, skip) {
        let lines = day_records(account, estate, day);
        let stamp = day.strftime("%Y%m%dT0000Z").to_string();
        puts.push(async move { put(account, estate, (day, &stamp), "accept", gzip(&lines)).await });
    }
    futures::future::join_all(puts).await;
}

/// Uploads ACCEPT records of `sources` (`(cidr base, addresses, port)`) to interface `to` for
/// each of the `days` whole UTC days before today, one object per day named with `suffix`.
pub async fn upload_days_to(
    account: &TestAccount,
    estate: &Estate,
    to: Interface<'_>,
    sources: &[([u8; 4], u32, u16)],
    days: u32,
    suffix: &str,
) {
    let mut puts = Vec::new();
    for back in 0..days {
        let day = today() - (i64::from(back) + 1).days();
        let start = day
            .to_zoned(jiff::tz::TimeZone::UTC)
            .expect("midnight")
            .timestamp()
            .as_second()
            + 10 * 3600;
        let lines: Vec<String> = sources
            .iter()
            .flat_map(|(base, count, port)| {
                (0..*count).map(move |n| (address(*base, n), *port, i64::from(n)))
            })
            .map(|(src, port, n)| record_to(account, to, &src, port, start + n * 60, "ACCEPT"))
            .collect();
        let stamp = day.strftime("%Y%m%dT1000Z").to_string();
        puts.push(async move { put(account, estate, (day, &stamp), suffix, gzip(&lines)).await });
    }
    futures::future::join_all(puts).await;
}

/// Puts `count` objects that are not flow-log text (a gzip header, then garbage) into the
/// folders of the last `count` days: unreadable objects, as a corrupted delivery would leave.
pub async fn upload_unreadable(account: &TestAccount, estate: &Estate, count: u32) {
    let mut puts = Vec::new();
    for back in 0..count {
        let day = today() - (i64::from(back) + 1).days();
        let stamp = day.strftime("%Y%m%dT2300Z").to_string();
        let body = vec![0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01];
        puts.push(async move { put(account, estate, (day, &stamp), "broken", body).await });
    }
    futures::future::join_all(puts).await;
}

/// The same records as [`upload_days`], delivered as S3 delivery does with `FileFormat=parquet`,
/// Hive-compatible prefixes and hourly partitions: one Parquet object per day under
/// `AWSLogs/aws-account-id=…/aws-service=vpcflowlogs/aws-region=…/year=…/month=…/day=…/hour=10/`.
pub async fn upload_days_parquet(
    account: &TestAccount,
    estate: &Estate,
    days: u32,
    skip: impl Fn(u32) -> bool,
) {
    let fields: Vec<&str> = HEADER.split_ascii_whitespace().collect();
    let (id, region) = (&account.id, &env().region);
    let s3 = aws_sdk_s3::Client::new(account.sdk_config());
    let mut puts = Vec::new();
    for day in days_back(days, skip) {
        let body =
            parquet_fixture::parquet_from_records(&fields, &day_records(account, estate, day), 40);
        let key = format!(
            "AWSLogs/aws-account-id={id}/aws-service=vpcflowlogs/aws-region={region}/{}/hour=10/\
             {id}_vpcflowlogs_{region}_fl-e2e_{}_accept.log.parquet",
            day.strftime("year=%Y/month=%m/day=%d"),
            day.strftime("%Y%m%dT1005Z"),
        );
        let s3 = &s3;
        let bucket = &estate.bucket;
        puts.push(async move {
            s3.put_object()
                .bucket(bucket)
                .key(&key)
                .body(body.into())
                .send()
                .await
                .unwrap_or_else(|e| panic!("put {key}: {e:?}"))
        });
    }
    futures::future::join_all(puts).await;
}

/// Uploads REJECT records from `source` to the ENI on `port`, a minute ago (today's folder,
/// stamped with the delivery time, as AWS names its objects).
pub async fn upload_rejects(account: &TestAccount, estate: &Estate, source: &str, port: u16) {
    let now = Timestamp::now();
    let t = now.as_second() - 120;
    let lines: Vec<String> = (0..3)
        .map(|n| record(account, estate, source, port, t + n, "REJECT"))
        .collect();
    let stamp = now.strftime("%Y%m%dT%H%MZ").to_string();
    put(account, estate, (today(), &stamp), "reject", gzip(&lines)).await;
}
