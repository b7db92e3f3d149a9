//! AWS layer tests: the shared store's kept answers against a counting fake read — one read
//! serves later requests that accept its age, reports when it was really collected, and is read
//! again when too old, not accepted (`fresh_since` None), for another window, failed, or evicted.

use super::answers::{Answer, Answers};
use super::memory::{Budgeted, Flights};
use super::{Direct, Key, Stored};
use crate::aws::flowlogs::{EvidenceDocument, EvidenceSource};
use crate::aws::{AwsError, Failure};
use crate::domain::evidence::{Flow, Window, EVIDENCE_SCHEMA};
use crate::domain::flowlog::ActionFilter;
use jiff::{SignedDuration, Timestamp};
use std::sync::atomic::{AtomicU32, Ordering};

/// 2026-11-01T00:00:00Z.
const DAY1: i64 = 1_793_491_200;

fn athena() -> EvidenceSource {
    EvidenceSource::Athena {
        database: "flow_logs".into(),
        table: "vpc_flow_logs".into(),
        workgroup: "primary".into(),
        output_location: None,
    }
}

fn window(first_day: i64, days: i64) -> Window {
    let at = |d: i64| Timestamp::from_second(DAY1 + d * 86_400).unwrap();
    Window {
        start: at(first_day),
        end: at(first_day + days),
    }
}

fn key(source: EvidenceSource, window: Window) -> Direct {
    let owner = "eu-west-1|arn:aws:iam::1:role/reader|".to_owned();
    (owner, source, window, ActionFilter::Accept, Vec::new())
}

fn document(window: Window, flows: u32) -> EvidenceDocument {
    let flow = |n: u32| Flow {
        source: std::net::Ipv4Addr::from(0x0a00_0000 + n),
        destination: "10.1.0.9".parse().unwrap(),
        interface_id: Some("eni-0123456789abcdef0".into()),
        protocol: 6,
        port: 443,
        records: 1,
    };
    EvidenceDocument {
        schema: EVIDENCE_SCHEMA.into(),
        window,
        coverage: Default::default(),
        stats: Default::default(),
        flows: (0..flows).map(flow).collect(),
    }
}

/// A store's memory and flights, and how many reads reached the source.
struct Store {
    memory: Budgeted<Key, Stored>,
    flights: Flights<Direct, Result<Answer, AwsError>>,
    reads: AtomicU32,
}

impl Store {
    fn new(budget: usize) -> Store {
        Store {
            memory: Budgeted::new(budget),
            flights: Flights::default(),
            reads: AtomicU32::new(0),
        }
    }

    /// Asks for `key`; a read answers `answer`.
    async fn ask(
        &self,
        key: &Direct,
        fresh_since: Option<Timestamp>,
        answer: Result<EvidenceDocument, AwsError>,
    ) -> Result<Answer, AwsError> {
        let answers = Answers {
            memory: &self.memory,
            flights: &self.flights,
            observer: None,
        };
        let read = async {
            self.reads.fetch_add(1, Ordering::SeqCst);
            answer
        };
        answers.answer(key.clone(), fresh_since, read).await
    }

    fn reads(&self) -> u32 {
        self.reads.load(Ordering::SeqCst)
    }
}

fn an_hour_ago() -> Timestamp {
    Timestamp::now() - SignedDuration::from_hours(1)
}

#[tokio::test]
async fn a_kept_answer_serves_a_later_request_that_accepts_its_age_with_its_real_time() {
    let store = Store::new(1 << 20);
    let key = key(athena(), window(0, 30));
    let before = Timestamp::now();
    let (at, first) = store
        .ask(&key, Some(an_hour_ago()), Ok(document(key.2, 5)))
        .await
        .unwrap();
    assert!(at >= before && at <= Timestamp::now());
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (again, second) = store
        .ask(&key, Some(an_hour_ago()), Ok(document(key.2, 1)))
        .await
        .unwrap();
    assert_eq!(store.reads(), 1, "served from memory");
    assert!(std::sync::Arc::ptr_eq(&first, &second));
    assert_eq!(again, at, "the time it was collected, not now");
    assert!(again < Timestamp::now() - SignedDuration::from_millis(10));
}

#[tokio::test]
async fn an_answer_older_than_fresh_since_or_not_accepted_is_read_again() {
    let store = Store::new(1 << 20);
    let key = key(athena(), window(0, 30));
    let (at, _) = store
        .ask(&key, Some(an_hour_ago()), Ok(document(key.2, 5)))
        .await
        .unwrap();
    let after = at + SignedDuration::from_millis(1);
    let (newer, document_read) = store
        .ask(&key, Some(after), Ok(document(key.2, 2)))
        .await
        .unwrap();
    assert_eq!(store.reads(), 2, "collected before fresh_since: read again");
    assert!(newer > at && document_read.flows.len() == 2);
    store.ask(&key, None, Ok(document(key.2, 3))).await.unwrap();
    assert_eq!(store.reads(), 3, "no freshness bound: read again");
    let (_, kept) = store
        .ask(&key, Some(an_hour_ago()), Ok(document(key.2, 4)))
        .await
        .unwrap();
    assert_eq!(store.reads(), 3, "the newer kept answer serves");
    assert_eq!(kept.flows.len(), 2, "a read without a bound is not kept");
}

#[tokio::test]
async fn another_window_source_kind_or_owner_is_another_answer() {
    let store = Store::new(1 << 20);
    let first = key(athena(), window(0, 30));
    store
        .ask(&first, Some(an_hour_ago()), Ok(document(first.2, 5)))
        .await
        .unwrap();
    let next_day = key(athena(), window(1, 30));
    let mut other_owner = first.clone();
    other_owner.0 = "eu-west-1|arn:aws:iam::1:role/other|".into();
    for (n, other) in [next_day, other_owner].iter().enumerate() {
        store
            .ask(other, Some(an_hour_ago()), Ok(document(other.2, 5)))
            .await
            .unwrap();
        assert_eq!(store.reads(), n as u32 + 2);
    }
    let insights = EvidenceSource::CloudWatchInsights {
        log_group: "g".into(),
        log_format: None,
    };
    let insights = key(insights, window(0, 30));
    for _ in 0..2 {
        store
            .ask(&insights, Some(an_hour_ago()), Ok(document(insights.2, 5)))
            .await
            .unwrap();
    }
    assert_eq!(store.reads(), 5, "only Athena answers are kept");
}

#[tokio::test]
async fn a_failed_read_is_never_kept() {
    let store = Store::new(1 << 20);
    let key = key(athena(), window(0, 30));
    let failure = Failure::new(
        "athena:StartQueryExecution",
        "TooManyRequestsException",
        "slow",
    );
    let failed = store
        .ask(&key, Some(an_hour_ago()), Err(AwsError::Throttled(failure)))
        .await;
    assert!(failed.is_err());
    let (_, document) = store
        .ask(&key, Some(an_hour_ago()), Ok(document(key.2, 5)))
        .await
        .unwrap();
    assert_eq!(store.reads(), 2, "read again after the failure");
    assert_eq!(document.flows.len(), 5);
    assert_eq!(store.memory.bytes(), document.heap_bytes());
}

#[tokio::test]
async fn over_the_budget_the_least_recently_used_answer_goes_and_is_read_again() {
    let one = document(window(0, 30), 200).heap_bytes();
    let store = Store::new(one * 3 / 2);
    let (a, b) = (key(athena(), window(0, 30)), key(athena(), window(1, 30)));
    for key in [&a, &b, &a] {
        store
            .ask(key, Some(an_hour_ago()), Ok(document(key.2, 200)))
            .await
            .unwrap();
        assert!(store.memory.bytes() <= one * 3 / 2);
    }
    assert_eq!(store.reads(), 3, "b pushed a out: a read again");
    store
        .ask(&a, Some(an_hour_ago()), Ok(document(a.2, 200)))
        .await
        .unwrap();
    assert_eq!(store.reads(), 3, "a is kept now");
}
