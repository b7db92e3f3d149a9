//! AWS layer tests: the flow-log readers against canned SDK responses (aws-smithy-mocks). This
//! file: shared helpers (a three-day window, requests, a reader with mocked clients and small
//! limits); one file per reader.

use super::*;
use crate::aws::clients::retry_config;
use aws_smithy_mocks::{mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use std::net::Ipv4Addr;

mod athena;
mod cloudwatch_filter;
mod insights;
mod s3;

/// 2026-11-01T00:00:00Z.
const DAY1: i64 = 1_793_491_200;
const DAY: i64 = 86_400;

/// `[2026-11-01, 2026-11-04)`: three UTC days.
fn window() -> Window {
    Window {
        start: jiff::Timestamp::from_second(DAY1).unwrap(),
        end: jiff::Timestamp::from_second(DAY1 + 3 * DAY).unwrap(),
    }
}

fn date(text: &str) -> jiff::civil::Date {
    text.parse().unwrap()
}

fn request(source: EvidenceSource) -> EvidenceRequest {
    EvidenceRequest {
        source,
        window: window(),
        action: ActionFilter::Accept,
        coverage_interfaces: Vec::new(),
        fresh_since: None,
    }
}

/// One v2 default-format line: `source → destination:port` over tcp on `eni`, at `start`.
fn line(source: &str, destination: &str, port: u16, start: i64, action: &str) -> String {
    format!(
        "2 123456789012 eni-1 {source} {destination} 40000 {port} 6 10 840 {start} {} {action} OK",
        start + 60
    )
}

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

/// The (source, destination, port, records) of every flow.
fn flows(document: &EvidenceDocument) -> Vec<(Ipv4Addr, Ipv4Addr, u16, u64)> {
    document
        .flows
        .iter()
        .map(|f| (f.source, f.destination, f.port, f.records))
        .collect()
}

/// Small limits: 3 rows per Insights query, 1-hour minimum window, 1 ms polls, 5 polls.
fn settings() -> ReaderSettings {
    ReaderSettings {
        concurrency: 2,
        insights_row_limit: 3,
        insights_min_window: Duration::from_secs(3600),
        poll_interval: Duration::from_millis(1),
        max_polls: 5,
    }
}

/// A reader whose clients answer from `rules` (in any order), retrying 3 times quickly.
fn reader(s3_rules: &[&Rule], logs_rules: &[&Rule], athena_rules: &[&Rule]) -> SdkFlowLogs {
    let retry = || retry_config(3).with_initial_backoff(Duration::from_millis(1));
    SdkFlowLogs {
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, s3_rules, |b| b
            .retry_config(retry())),
        logs: mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::MatchAny,
            logs_rules,
            |b| b.retry_config(retry())
        ),
        athena: mock_client!(aws_sdk_athena, RuleMode::MatchAny, athena_rules, |b| b
            .retry_config(retry())),
        settings: settings(),
        observer: None,
    }
}

/// An awsJson 1.1 error response (CloudWatch Logs, Athena).
fn json_error(status: u16, code: &str) -> HttpResponse {
    let body = format!("{{\"__type\":\"{code}\",\"message\":\"{code} happened\"}}");
    let mut response =
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
    response
        .headers_mut()
        .insert("content-type", "application/x-amz-json-1.1");
    response
}

#[tokio::test]
async fn the_default_limits_are_the_insights_default_and_outlast_its_query_timeout() {
    let settings = ReaderSettings::default();
    assert_eq!(settings.insights_row_limit, 10_000);
    assert_eq!(settings.insights_min_window, Duration::from_secs(60));
    assert!(settings.poll_interval * settings.max_polls > Duration::from_secs(3600));
}
