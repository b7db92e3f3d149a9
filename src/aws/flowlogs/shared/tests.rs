//! AWS layer tests: the shared evidence store against a mocked S3 whose objects change between
//! requests — one read for many resources, equal documents, a new day or a late object read
//! again and nothing else, no sharing across roles, the memory budget.

use super::*;
use crate::aws::flowlogs::ReaderSettings;
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::error::NoSuchKey;
use aws_sdk_s3::types::Object;
use aws_sdk_s3::Client;
use aws_smithy_mocks::{mock, mock_client, MockResponse, Rule, RuleMode};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

const PREFIX: &str = "AWSLogs/1/vpcflowlogs/eu-west-1/";
/// 2026-11-01T00:00:00Z.
const DAY1: i64 = 1_793_491_200;
const DAY: i64 = 86_400;

type Bucket = Arc<Mutex<BTreeMap<String, String>>>;

fn key(day: i64, name: &str) -> String {
    let date = jiff::Timestamp::from_second(DAY1 + day * DAY)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    format!("{PREFIX}{}/{name}", date.strftime("%Y/%m/%d"))
}

/// Records of `day` (from 23:50 the day before, some across midnight), ACCEPT and REJECT.
fn object(day: i64, sources: u8) -> String {
    (0..sources)
        .map(|n| {
            let start = DAY1 + day * DAY - 600 + i64::from(n) * 300;
            let action = if n % 3 == 0 { "REJECT" } else { "ACCEPT" };
            format!(
                "2 1 eni-{} 10.0.{day}.{n} 10.1.0.9 40000 443 6 1 84 {start} {} {action} OK\n",
                n % 2,
                start + 700
            )
        })
        .collect()
}

fn bucket(days: i64) -> Bucket {
    let objects = (0..days).flat_map(|d| {
        [
            (key(d, "a.log"), object(d, 7)),
            (key(d, "b.log"), object(d, 3)),
        ]
    });
    Arc::new(Mutex::new(objects.collect()))
}

fn listing(bucket: &Bucket) -> Rule {
    let bucket = bucket.clone();
    mock!(Client::list_objects_v2).then_compute_output(move |_| {
        let objects = bucket.lock().unwrap();
        let mut output = ListObjectsV2Output::builder();
        for (key, body) in objects.iter() {
            let etag = format!("\"{:x}\"", md5ish(body));
            output = output.contents(
                Object::builder()
                    .key(key)
                    .e_tag(etag)
                    .size(body.len() as i64)
                    .build(),
            );
        }
        output.build()
    })
}

fn md5ish(body: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    body.hash(&mut hasher);
    hasher.finish()
}

/// Objects by key; the key in `failing`, if any, answers NoSuchKey (a failed GetObject).
fn gets(bucket: &Bucket, failing: &Failing) -> Rule {
    let (bucket, failing) = (bucket.clone(), failing.clone());
    mock!(Client::get_object).then_compute_response(move |req| {
        let key = req.key().unwrap();
        if failing.lock().unwrap().as_deref() == Some(key) {
            return MockResponse::Error(GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
        }
        let body = bucket.lock().unwrap()[key].clone();
        MockResponse::Output(
            GetObjectOutput::builder()
                .content_length(body.len() as i64)
                .body(ByteStream::from(body.into_bytes()))
                .build(),
        )
    })
}

type Failing = Arc<Mutex<Option<String>>>;

fn reader(rules: &[&Rule]) -> SdkFlowLogs {
    SdkFlowLogs {
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules),
        logs: mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, &[]),
        athena: mock_client!(aws_sdk_athena, RuleMode::MatchAny, &[]),
        settings: ReaderSettings {
            concurrency: 3,
            poll_interval: Duration::from_millis(1),
            ..ReaderSettings::default()
        },
        observer: None,
    }
}

fn request(first_day: i64, days: i64) -> EvidenceRequest {
    let at = |d: i64| jiff::Timestamp::from_second(DAY1 + d * DAY).unwrap();
    EvidenceRequest {
        source: EvidenceSource::S3 {
            bucket: "flow-logs".into(),
            prefix: PREFIX.into(),
        },
        window: Window {
            start: at(first_day),
            end: at(first_day + days),
        },
        action: ActionFilter::Accept,
        coverage_interfaces: vec!["eni-0".into()],
        fresh_since: None,
    }
}

fn target(role: &str) -> Target {
    Target::role("eu-west-1", format!("arn:aws:iam::1:role/{role}"))
}

struct World {
    bucket: Bucket,
    failing: Failing,
    list: Rule,
    get: Rule,
    store: Arc<EvidenceStore>,
}

impl World {
    fn new(days: i64, budget: usize) -> World {
        let bucket = bucket(days);
        let failing = Failing::default();
        World {
            list: listing(&bucket),
            get: gets(&bucket, &failing),
            bucket,
            failing,
            store: Arc::new(EvidenceStore::new(budget, None)),
        }
    }

    fn shared(&self, role: &str) -> SharedFlowLogs {
        let reader = reader(&[&self.list, &self.get]);
        SharedFlowLogs::new(reader, self.store.clone(), &target(role))
    }

    /// What the SDK reader alone returns, and how many objects it read.
    async fn direct(&self, request: &EvidenceRequest) -> (EvidenceDocument, usize) {
        let (list, get) = (listing(&self.bucket), gets(&self.bucket, &self.failing));
        let document = reader(&[&list, &get]).collect(request).await.unwrap();
        (document, get.num_calls())
    }
}

#[tokio::test]
async fn many_resources_on_one_bucket_read_each_object_once_and_get_the_direct_document() {
    let w = World::new(6, 64 << 20);
    let request = request(1, 3);
    let readers: Vec<SharedFlowLogs> = (0..8).map(|_| w.shared("reader")).collect();
    let documents =
        futures::future::join_all(readers.iter().map(|r| r.collect_shared(&request))).await;
    let (direct, direct_gets) = w.direct(&request).await;
    assert_eq!(
        direct_gets, 8,
        "the window's days and the day after, two objects each"
    );
    assert_eq!(w.get.num_calls(), direct_gets, "one read for all eight");
    for document in documents {
        let document = document.unwrap().document;
        assert_eq!(*document, direct);
        assert!(Arc::ptr_eq(
            &document,
            &readers[0].collect_shared(&request).await.unwrap().document
        ));
    }
    assert!(!direct.flows.is_empty() && direct.stats.filtered > 0);
}

#[tokio::test]
async fn the_next_day_reads_only_the_new_day_a_late_object_only_itself_a_rewritten_one_its_day() {
    let w = World::new(7, 64 << 20);
    let reader = w.shared("reader");
    reader.collect_shared(&request(1, 3)).await.unwrap();
    assert_eq!(w.get.num_calls(), 8);
    let next = request(2, 3);
    let document = reader.collect_shared(&next).await.unwrap().document;
    assert_eq!(w.get.num_calls(), 10, "only the two objects of the new day");
    assert_eq!(*document, w.direct(&next).await.0);

    // a late delivery to a day already read: that object alone
    w.bucket.lock().unwrap().insert(
        key(3, "late.log"),
        object(3, 5).replace("10.0.3.", "10.9.3."),
    );
    let document = reader.collect_shared(&next).await.unwrap().document;
    assert_eq!(w.get.num_calls(), 11, "the late object, nothing else");
    let direct = w.direct(&next).await.0;
    assert_eq!(*document, direct);
    assert!(direct.flows.iter().any(|f| f.source.octets()[1] == 9));

    // an object rewritten (another ETag and size): its whole day again
    w.bucket
        .lock()
        .unwrap()
        .insert(key(3, "a.log"), object(3, 2));
    let document = reader.collect_shared(&next).await.unwrap().document;
    assert_eq!(w.get.num_calls(), 14, "the day's three objects");
    assert_eq!(*document, w.direct(&next).await.0);
}

#[tokio::test]
async fn a_day_with_an_object_that_could_not_be_read_is_never_kept_and_counts_as_a_gap() {
    let w = World::new(7, 64 << 20);
    let reader = w.shared("reader");
    let request = request(0, 5);
    *w.failing.lock().unwrap() = Some(key(2, "a.log"));
    let document = reader.collect_shared(&request).await.unwrap().document;
    assert_eq!(
        document.coverage.unreadable_objects, 1,
        "1 of 12: a gap, tolerated"
    );
    let (direct, _) = w.direct(&request).await;
    assert_eq!(*document, direct);
    let before = w.get.num_calls();
    *w.failing.lock().unwrap() = None;
    let document = reader.collect_shared(&request).await.unwrap().document;
    assert_eq!(
        w.get.num_calls(),
        before + 2,
        "that day again, its listing unchanged"
    );
    assert_eq!(document.coverage.unreadable_objects, 0);
    assert_eq!(*document, w.direct(&request).await.0);

    // more than 10% unreadable: refused, as the direct reader refuses
    let w = World::new(3, 64 << 20);
    *w.failing.lock().unwrap() = Some(key(1, "a.log"));
    let refused = w
        .shared("reader")
        .collect_shared(&request)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("1 of 6 objects unreadable"),
        "{refused}"
    );
}

#[tokio::test]
async fn readers_with_other_credentials_never_share() {
    let w = World::new(4, 64 << 20);
    w.shared("a").collect_shared(&request(0, 2)).await.unwrap();
    w.shared("b").collect_shared(&request(0, 2)).await.unwrap();
    assert_eq!(w.get.num_calls(), 12, "each role reads its own");
}

#[tokio::test]
async fn over_its_budget_the_store_drops_parts_and_still_answers_exactly() {
    let w = World::new(6, 4 << 10);
    let reader = w.shared("reader");
    for first in [0, 1, 0] {
        let request = request(first, 3);
        let document = reader.collect_shared(&request).await.unwrap().document;
        assert_eq!(*document, w.direct(&request).await.0);
        assert!(w.store.bytes() <= 4 << 10);
    }
    assert!(w.get.num_calls() > 10, "dropped parts were read again");
}

#[tokio::test]
async fn windows_of_hours_are_read_directly_and_equal_the_direct_read() {
    let w = World::new(3, 64 << 20);
    let mut request = request(1, 1);
    request.window.end -= jiff::SignedDuration::from_hours(2);
    let document = w
        .shared("reader")
        .collect_shared(&request)
        .await
        .unwrap()
        .document;
    assert_eq!(*document, w.direct(&request).await.0);
}

#[test]
fn only_logs_insights_answers_depend_on_the_interfaces_asked_about() {
    let insights = EvidenceSource::CloudWatchInsights {
        log_group: "g".into(),
        log_format: None,
    };
    let athena = EvidenceSource::Athena {
        database: "d".into(),
        table: "t".into(),
        workgroup: "primary".into(),
        output_location: None,
    };
    assert!(answer_names_interfaces(&insights));
    assert!(!answer_names_interfaces(&athena));
    assert!(!answer_names_interfaces(&request(0, 1).source));
}
