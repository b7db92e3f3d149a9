//! AWS layer tests: the S3 reader — listing pages, selection by the date in the key, gzip and
//! plain objects, the 10% unreadable rule, Parquet objects (Hive-compatible hourly prefixes).

use super::*;
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::Object;
use aws_sdk_s3::Client;
use aws_smithy_mocks::{mock, MockResponse};
use flate2::write::GzEncoder;
use std::collections::HashMap;
use std::io::Write;

const PREFIX: &str = "AWSLogs/123456789012/vpcflowlogs/eu-west-1/";

fn key(day: &str, name: &str) -> String {
    format!("{PREFIX}2026/11/{day}/{name}")
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

fn source() -> EvidenceSource {
    EvidenceSource::S3 {
        bucket: "flow-logs".into(),
        prefix: PREFIX.into(),
    }
}

/// A listing of `keys` in pages of `per_page` (continuation tokens `1`, `2`, …).
fn listing(keys: Vec<String>, per_page: usize) -> Rule {
    let pages: Vec<Vec<String>> = keys.chunks(per_page).map(<[String]>::to_vec).collect();
    mock!(Client::list_objects_v2).then_compute_output(move |req| {
        assert_eq!(req.bucket(), Some("flow-logs"));
        assert_eq!(req.prefix(), Some(PREFIX));
        let page: usize = req.continuation_token().map_or(0, |t| t.parse().unwrap());
        let mut output = ListObjectsV2Output::builder();
        for key in pages.get(page).into_iter().flatten() {
            output = output.contents(Object::builder().key(key).build());
        }
        if page + 1 < pages.len() {
            output = output
                .is_truncated(true)
                .next_continuation_token((page + 1).to_string());
        }
        output.build()
    })
}

/// Objects by key; a missing key answers NoSuchKey.
fn objects(bodies: HashMap<String, Vec<u8>>) -> Rule {
    mock!(Client::get_object).then_compute_response(move |req| {
        match bodies.get(req.key().unwrap_or_default()) {
            Some(body) => MockResponse::Output(
                GetObjectOutput::builder()
                    .body(ByteStream::from(body.clone()))
                    .build(),
            ),
            None => MockResponse::Error(GetObjectError::NoSuchKey(
                aws_sdk_s3::types::error::NoSuchKey::builder().build(),
            )),
        }
    })
}

async fn collect(list: &Rule, get: &Rule) -> Result<EvidenceDocument, AwsError> {
    reader(&[list, get], &[], &[])
        .collect(&request(source()))
        .await
}

fn good_object(start: i64) -> Vec<u8> {
    gzip(&format!(
        "{}\n",
        line("10.0.1.5", "10.0.2.9", 443, start, "ACCEPT")
    ))
}

#[tokio::test]
async fn every_listing_page_is_read_and_objects_are_selected_by_the_date_in_their_key() {
    let keys = vec![
        key("01", "a.log.gz"),
        format!("{PREFIX}2026/10/02/old.log.gz"),
        format!("{PREFIX}2026/11/"),
        key("02", "b.log"),
        format!("{PREFIX}2026/12/20/late.log.gz"),
    ];
    let bodies = HashMap::from([
        (
            key("01", "a.log.gz"),
            gzip(
                &[
                    line("10.0.1.5", "10.0.2.9", 443, DAY1 + 100, "ACCEPT"),
                    line("10.0.1.5", "10.0.2.9", 443, DAY1 + 200, "ACCEPT"),
                    line("10.0.1.6", "10.0.2.9", 22, DAY1 + 300, "REJECT"),
                ]
                .join("\n"),
            ),
        ),
        (
            key("02", "b.log"),
            format!(
                "{}\n",
                line("10.0.1.7", "10.0.2.9", 5432, DAY1 + DAY, "ACCEPT")
            )
            .into_bytes(),
        ),
    ]);
    let (list, get) = (listing(keys, 2), objects(bodies));
    let document = collect(&list, &get).await.unwrap();
    assert_eq!(list.num_calls(), 3, "three listing pages");
    assert_eq!(
        get.num_calls(),
        2,
        "only the two objects dated inside the window"
    );
    assert_eq!(
        flows(&document),
        [
            (ip("10.0.1.5"), ip("10.0.2.9"), 443, 2),
            (ip("10.0.1.7"), ip("10.0.2.9"), 5432, 1),
        ]
    );
    assert_eq!(document.stats.records, 4);
    assert_eq!(document.stats.filtered, 1, "the REJECT record");
    assert_eq!(document.stats.objects, 2);
    assert_eq!(document.coverage.days_without_data, [date("2026-11-03")]);
}

#[tokio::test]
async fn more_than_ten_percent_unreadable_objects_is_refused_naming_the_count_and_a_key() {
    let mut keys: Vec<String> = (1..=4).map(|i| key("01", &format!("{i}.log.gz"))).collect();
    let mut bodies: HashMap<String, Vec<u8>> = keys
        .iter()
        .map(|k| (k.clone(), good_object(DAY1)))
        .collect();
    let broken = key("02", "broken.log.gz");
    bodies.insert(broken.clone(), vec![0x1f, 0x8b, 0x08, 0, 1, 2, 3]);
    keys.push(broken.clone());
    let (list, get) = (listing(keys, 1000), objects(bodies));
    let error = collect(&list, &get).await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("1 of 5 objects unreadable"), "{message}");
    assert!(message.contains(&broken), "{message}");
    assert_eq!(error.code(), "UnreadableFlowLogs");
}

#[tokio::test]
async fn up_to_ten_percent_unreadable_objects_are_tolerated_and_counted() {
    let mut keys: Vec<String> = (1..=9).map(|i| key("01", &format!("{i}.log.gz"))).collect();
    let bodies: HashMap<String, Vec<u8>> = keys
        .iter()
        .map(|k| (k.clone(), good_object(DAY1)))
        .collect();
    keys.push(key("01", "vanished.log.gz"));
    let (list, get) = (listing(keys, 1000), objects(bodies));
    let document = collect(&list, &get).await.unwrap();
    assert_eq!(document.stats.objects, 10);
    assert_eq!(document.stats.unreadable_objects, 1);
    assert_eq!(flows(&document), [(ip("10.0.1.5"), ip("10.0.2.9"), 443, 9)]);
}

#[tokio::test]
async fn objects_that_are_not_flow_log_text_count_as_unreadable() {
    let keys = vec![key("01", "a.log.gz"), key("01", "notes.txt")];
    let bodies = HashMap::from([
        (key("01", "a.log.gz"), good_object(DAY1)),
        (
            key("01", "notes.txt"),
            b"hello world\nnot a record\n".to_vec(),
        ),
    ]);
    let (list, get) = (listing(keys, 1000), objects(bodies));
    let error = collect(&list, &get).await.unwrap_err();
    assert!(
        error.to_string().contains("1 of 2 objects unreadable"),
        "{error}"
    );
    assert!(error.to_string().contains("notes.txt"), "{error}");
}

#[tokio::test]
async fn get_failures_keep_their_kind_when_they_make_the_source_unreadable() {
    let keys = vec![key("01", "a.log.gz"), key("02", "b.log.gz")];
    let get = mock!(Client::get_object).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(403).unwrap(),
            SdkBody::from("<Error><Code>AccessDenied</Code><Message>denied</Message></Error>"),
        )
    });
    let list = listing(keys, 1000);
    let error = collect(&list, &get).await.unwrap_err();
    assert!(matches!(error, AwsError::AccessDenied(_)), "{error:?}");
    assert!(
        error.to_string().contains("2 of 2 objects unreadable"),
        "{error}"
    );
}

fn parquet(records: &[String]) -> Vec<u8> {
    use crate::domain::flowlog::{parquet_fixture::parquet_from_records, DEFAULT_V2_FIELDS};
    parquet_from_records(DEFAULT_V2_FIELDS, records, 2)
}

#[tokio::test]
async fn a_parquet_only_bucket_is_read_like_text_hive_prefixes_and_hours_included() {
    let hive = |day: &str, hour: &str, name: &str| {
        format!("{PREFIX}year=2026/month=11/day={day}/hour={hour}/{name}")
    };
    let records = |start: i64| {
        vec![
            line("10.0.1.5", "10.0.2.9", 443, start, "ACCEPT"),
            line("10.0.1.5", "10.0.2.9", 443, start + 60, "ACCEPT"),
            line("10.0.1.6", "10.0.2.9", 22, start, "REJECT"),
        ]
    };
    let keys = vec![
        hive("01", "09", "a.log.parquet"),
        hive("02", "23", "b.log.parquet"),
        format!("{PREFIX}year=2026/month=10/day=01/hour=00/old.log.parquet"),
    ];
    let bodies = HashMap::from([
        (keys[0].clone(), parquet(&records(DAY1 + 9 * 3600))),
        (keys[1].clone(), parquet(&records(DAY1 + DAY + 23 * 3600))),
    ]);
    let (list, get) = (listing(keys, 1000), objects(bodies));
    let document = collect(&list, &get).await.unwrap();
    assert_eq!(
        get.num_calls(),
        2,
        "the October object is outside the window"
    );
    assert_eq!(document.stats.objects, 2);
    assert_eq!((document.stats.records, document.stats.filtered), (6, 2));
    assert_eq!(
        flows(&document),
        vec![(ip("10.0.1.5"), ip("10.0.2.9"), 443, 4)]
    );
    assert_eq!(
        document.coverage.days_without_data,
        vec![date("2026-11-03")]
    );
}

#[tokio::test]
async fn parquet_and_text_objects_of_one_prefix_add_up() {
    let keys = vec![key("01", "a.log.gz"), key("02", "b.log.parquet")];
    let bodies = HashMap::from([
        (key("01", "a.log.gz"), good_object(DAY1)),
        (
            key("02", "b.log.parquet"),
            parquet(&[line("10.0.1.5", "10.0.2.9", 443, DAY1 + DAY, "ACCEPT")]),
        ),
    ]);
    let (list, get) = (listing(keys, 1000), objects(bodies));
    let document = collect(&list, &get).await.unwrap();
    assert_eq!(document.stats.objects, 2);
    assert_eq!(document.stats.unreadable_objects, 0);
    assert_eq!(
        flows(&document),
        vec![(ip("10.0.1.5"), ip("10.0.2.9"), 443, 2)]
    );
}

#[tokio::test]
async fn a_corrupt_parquet_object_counts_as_unreadable() {
    let mut keys: Vec<String> = (0..10).map(|n| key("01", &format!("{n}.log.gz"))).collect();
    keys.push(key("01", "broken.log.parquet"));
    let mut bodies: HashMap<String, Vec<u8>> = keys[..10]
        .iter()
        .map(|k| (k.clone(), good_object(DAY1)))
        .collect();
    let mut broken = parquet(&[line("10.0.1.5", "10.0.2.9", 443, DAY1, "ACCEPT")]);
    broken.truncate(broken.len() / 2);
    bodies.insert(key("01", "broken.log.parquet"), broken);
    let (list, get) = (listing(keys, 1000), objects(bodies));
    let document = collect(&list, &get).await.unwrap();
    assert_eq!(
        (document.stats.objects, document.stats.unreadable_objects),
        (11, 1)
    );
}

#[tokio::test]
async fn a_large_gzip_object_is_streamed_whole() {
    let lines: Vec<String> = (0..20_000)
        .map(|i| {
            line(
                &format!("10.0.{}.{}", i / 250, i % 250),
                "10.0.2.9",
                443,
                DAY1 + i,
                "ACCEPT",
            )
        })
        .collect();
    let keys = vec![key("01", "big.log.gz")];
    let bodies = HashMap::from([(key("01", "big.log.gz"), gzip(&lines.join("\n")))]);
    let (list, get) = (listing(keys, 1000), objects(bodies));
    let document = collect(&list, &get).await.unwrap();
    assert_eq!(document.stats.records, 20_000);
    assert_eq!(document.flows.len(), 20_000);
}
