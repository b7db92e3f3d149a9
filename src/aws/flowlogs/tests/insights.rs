//! AWS layer tests: the Logs Insights reader — window splitting when a query fills its limit,
//! coverage from the per-day query, polling, failed and timed-out queries, throttling.

use super::*;
use aws_sdk_cloudwatchlogs::operation::get_query_results::GetQueryResultsOutput;
use aws_sdk_cloudwatchlogs::operation::start_query::StartQueryOutput;
use aws_sdk_cloudwatchlogs::operation::stop_query::StopQueryOutput;
use aws_sdk_cloudwatchlogs::types::{QueryStatus, ResultField};
use aws_sdk_cloudwatchlogs::Client;
use aws_smithy_mocks::mock;
use std::sync::{Arc, Mutex};

fn source() -> EvidenceSource {
    EvidenceSource::CloudWatchInsights {
        log_group: "/vpc/flow-logs".into(),
        log_format: None,
    }
}

fn cell(name: &str, value: &str) -> ResultField {
    ResultField::builder().field(name).value(value).build()
}

fn flow(source: &str, port: &str, records: &str) -> Vec<ResultField> {
    vec![
        cell("srcAddr", source),
        cell("dstAddr", "10.0.2.9"),
        cell("interfaceId", "eni-1"),
        cell("protocol", "6"),
        cell("dstPort", port),
        cell("records", records),
    ]
}

fn day(text: &str, earliest: i64) -> Vec<ResultField> {
    vec![
        cell("bin(1d)", text),
        cell("records", "12"),
        cell("earliest", &earliest.to_string()),
    ]
}

fn complete(rows: Vec<Vec<ResultField>>) -> GetQueryResultsOutput {
    let mut output = GetQueryResultsOutput::builder().status(QueryStatus::Complete);
    for row in rows {
        output = output.results(row);
    }
    output.build()
}

/// StartQuery answers with an id naming the query's kind and range: `flows:<start>:<end>` or
/// `coverage:<start>:<end>`; every query string is recorded.
fn start_rule(queries: Arc<Mutex<Vec<String>>>) -> Rule {
    mock!(Client::start_query).then_compute_output(move |req| {
        assert_eq!(req.log_group_name(), Some("/vpc/flow-logs"));
        let query = req.query_string().unwrap_or_default().to_owned();
        queries.lock().unwrap().push(query.clone());
        let kind = if query.contains("bin(1d)") {
            "coverage"
        } else {
            "flows"
        };
        let id = format!(
            "{kind}:{}:{}",
            req.start_time().unwrap(),
            req.end_time().unwrap()
        );
        StartQueryOutput::builder().query_id(id).build()
    })
}

/// The coverage query's answer: data on the first two days only.
fn coverage_rows() -> Vec<Vec<ResultField>> {
    vec![
        day("2026-11-01 00:00:00.000", DAY1 + 120),
        day("2026-11-02 00:00:00.000", DAY1 + DAY),
    ]
}

#[tokio::test]
async fn a_query_that_fills_the_limit_is_split_in_two_and_the_halves_are_merged() {
    let (start, end) = (DAY1, DAY1 + 3 * DAY);
    let middle = start + (end - start) / 2;
    let queries = Arc::new(Mutex::new(Vec::new()));
    let start_query = start_rule(queries.clone());
    let whole = format!("flows:{start}:{}", end - 1);
    let first = format!("flows:{start}:{}", middle - 1);
    let second = format!("flows:{middle}:{}", end - 1);
    let results = mock!(Client::get_query_results).then_compute_output(move |req| {
        let id = req.query_id().unwrap();
        if id == whole {
            // as many rows as the limit (3): possibly truncated, must not be used
            complete(vec![
                flow("10.9.9.1", "443", "1"),
                flow("10.9.9.2", "443", "1"),
                flow("10.9.9.3", "443", "1"),
            ])
        } else if id == first {
            complete(vec![
                flow("10.0.1.5", "443", "4"),
                flow("10.0.1.6", "22", "1"),
            ])
        } else if id == second {
            complete(vec![
                flow("10.0.1.5", "443", "6"),
                flow("10.0.1.7", "-", "2"),
            ])
        } else if id.starts_with("coverage:") {
            complete(coverage_rows())
        } else {
            panic!("unexpected query {id}")
        }
    });
    let document = reader(&[], &[&start_query, &results], &[])
        .collect(&request(source()))
        .await
        .unwrap();
    assert_eq!(start_query.num_calls(), 4, "whole, two halves, coverage");
    assert_eq!(
        flows(&document),
        [
            (ip("10.0.1.5"), ip("10.0.2.9"), 443, 10),
            (ip("10.0.1.6"), ip("10.0.2.9"), 22, 1),
            (ip("10.0.1.7"), ip("10.0.2.9"), 0, 2),
        ]
    );
    assert_eq!(document.stats.records, 13);
    assert_eq!(document.coverage.days_without_data, [date("2026-11-03")]);
    assert_eq!(
        document.coverage.earliest_record,
        Some(jiff::Timestamp::from_second(DAY1 + 120).unwrap())
    );
    let queries = queries.lock().unwrap();
    assert!(queries.iter().any(|q| q.starts_with("filter action in [\"ACCEPT\"] | stats count(*) as records by srcAddr, dstAddr, interfaceId, protocol, dstPort")), "{queries:?}");
}

#[tokio::test]
async fn a_window_that_still_fills_the_limit_at_the_minimum_is_an_error_not_a_truncation() {
    let start_query = start_rule(Arc::default());
    let results = mock!(Client::get_query_results).then_compute_output(|req| {
        if req.query_id().unwrap().starts_with("coverage:") {
            return complete(coverage_rows());
        }
        complete(vec![
            flow("10.0.1.1", "443", "1"),
            flow("10.0.1.2", "443", "1"),
            flow("10.0.1.3", "443", "1"),
        ])
    });
    let mut flow_logs = reader(&[], &[&start_query, &results], &[]);
    flow_logs.settings.insights_min_window = Duration::from_secs(DAY as u64);
    let error = flow_logs.collect(&request(source())).await.unwrap_err();
    assert_eq!(error.code(), "InsightsRowLimit");
    let message = error.to_string();
    assert!(message.contains("returned 3 rows, its limit"), "{message}");
    // 3 days → 1.5 days → 18 hours, shorter than the one-day minimum: no further split
    assert!(message.contains(":00:00Z) (64800 s)"), "{message}");
    assert!(start_query.num_calls() >= 4, "{}", start_query.num_calls());
}

#[tokio::test]
async fn flows_are_never_narrowed_to_interfaces_and_coverage_asks_which_ones_were_logged() {
    let queries = Arc::new(Mutex::new(Vec::new()));
    let start_query = start_rule(queries.clone());
    let results = mock!(Client::get_query_results).then_output(|| {
        complete(vec![
            vec![cell("interfaceId", "eni-0abc"), cell("records", "3")],
            vec![
                cell("bin(1d)", "2026-11-01 00:00:00.000"),
                cell("logStatus", "SKIPDATA"),
                cell("records", "4"),
            ],
        ])
    });
    let mut request = request(source());
    request.coverage_interfaces = vec!["eni-0abc".into(), "eni-0def".into()];
    request.action = ActionFilter::Any;
    let document = reader(&[], &[&start_query, &results], &[])
        .collect(&request)
        .await
        .unwrap();
    assert!(document.flows.is_empty());
    assert_eq!(
        document.coverage.days_without_data.len(),
        3,
        "a SKIPDATA-only day has no data"
    );
    assert_eq!(document.coverage.skipped_records, 4);
    assert_eq!(
        document.coverage.interfaces_with_records,
        Some(vec!["eni-0abc".to_string()])
    );
    let queries = queries.lock().unwrap();
    let flows_query = queries
        .iter()
        .find(|q| q.starts_with("filter action"))
        .unwrap();
    assert!(
        flows_query.contains("filter action in [\"ACCEPT\", \"REJECT\"]"),
        "{flows_query}"
    );
    assert!(!flows_query.contains("interfaceId in"), "{flows_query}");
    assert!(
        queries.iter().any(|q| q.contains(
            "filter logStatus != \"SKIPDATA\" and interfaceId in [\"eni-0abc\", \"eni-0def\"]"
        )),
        "{queries:?}"
    );
}

/// GetQueryResults of the coverage query: complete at once.
fn coverage_results() -> Rule {
    mock!(Client::get_query_results)
        .match_requests(|req| req.query_id().is_some_and(|id| id.starts_with("coverage:")))
        .then_output(|| complete(coverage_rows()))
}

#[tokio::test]
async fn a_running_query_is_polled_until_it_completes() {
    let start_query = start_rule(Arc::default());
    let flows_results = mock!(Client::get_query_results)
        .match_requests(|req| req.query_id().is_some_and(|id| id.starts_with("flows:")))
        .sequence()
        .output(|| {
            GetQueryResultsOutput::builder()
                .status(QueryStatus::Scheduled)
                .build()
        })
        .output(|| {
            GetQueryResultsOutput::builder()
                .status(QueryStatus::Running)
                .build()
        })
        .output(|| complete(vec![flow("10.0.1.5", "443", "3")]))
        .build();
    let coverage = coverage_results();
    let document = reader(&[], &[&start_query, &flows_results, &coverage], &[])
        .collect(&request(source()))
        .await
        .unwrap();
    assert_eq!(flows_results.num_calls(), 3);
    assert_eq!(document.stats.records, 3);
}

#[tokio::test]
async fn a_failed_query_is_an_error_naming_its_status() {
    let start_query = start_rule(Arc::default());
    let results = mock!(Client::get_query_results).then_output(|| {
        GetQueryResultsOutput::builder()
            .status(QueryStatus::Failed)
            .build()
    });
    let error = reader(&[], &[&start_query, &results], &[])
        .collect(&request(source()))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "QueryFailed");
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("failed"), "{error}");
}

#[tokio::test]
async fn queries_left_running_by_a_failure_are_stopped() {
    let start_query = start_rule(Arc::default());
    let flows_failed = mock!(Client::get_query_results)
        .match_requests(|req| req.query_id().is_some_and(|id| id.starts_with("flows:")))
        .sequence()
        .output(|| {
            GetQueryResultsOutput::builder()
                .status(QueryStatus::Running)
                .build()
        })
        .times(2)
        .output(|| {
            GetQueryResultsOutput::builder()
                .status(QueryStatus::Failed)
                .build()
        })
        .build();
    let coverage_running = mock!(Client::get_query_results)
        .match_requests(|req| req.query_id().is_some_and(|id| id.starts_with("coverage:")))
        .then_output(|| {
            GetQueryResultsOutput::builder()
                .status(QueryStatus::Running)
                .build()
        });
    let stopped = Arc::new(Mutex::new(Vec::new()));
    let seen = stopped.clone();
    let stop = mock!(Client::stop_query).then_compute_output(move |req| {
        seen.lock()
            .unwrap()
            .push(req.query_id().unwrap_or_default().to_owned());
        StopQueryOutput::builder().success(true).build()
    });
    let rules = [&start_query, &flows_failed, &coverage_running, &stop];
    let mut flow_logs = reader(&[], &rules, &[]);
    flow_logs.settings.poll_interval = Duration::from_millis(50);
    let error = flow_logs.collect(&request(source())).await.unwrap_err();
    assert_eq!(error.code(), "QueryFailed");
    let stopped = stopped.lock().unwrap();
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert!(stopped[0].starts_with("coverage:"), "{stopped:?}");
}

#[tokio::test]
async fn a_cancelled_query_is_an_error_not_an_empty_answer() {
    let start_query = start_rule(Arc::default());
    let results = mock!(Client::get_query_results).then_output(|| {
        GetQueryResultsOutput::builder()
            .status(QueryStatus::Cancelled)
            .build()
    });
    let error = reader(&[], &[&start_query, &results], &[])
        .collect(&request(source()))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "QueryCancelled");
}

#[tokio::test]
async fn a_query_still_running_after_the_polling_bound_is_stopped_and_retryable() {
    let start_query = start_rule(Arc::default());
    let results = mock!(Client::get_query_results).then_output(|| {
        GetQueryResultsOutput::builder()
            .status(QueryStatus::Running)
            .build()
    });
    let stop =
        mock!(Client::stop_query).then_output(|| StopQueryOutput::builder().success(true).build());
    let error = reader(&[], &[&start_query, &results, &stop], &[])
        .collect(&request(source()))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "QueryTimeout");
    assert!(error.is_retryable());
    assert!(stop.num_calls() >= 1);
}

#[tokio::test]
async fn throttled_start_query_calls_are_retried_by_the_sdk() {
    let flows_start = mock!(Client::start_query)
        .match_requests(|req| !req.query_string().unwrap_or_default().contains("bin(1d)"))
        .sequence()
        .http_response(|| json_error(400, "ThrottlingException"))
        .times(2)
        .output(|| StartQueryOutput::builder().query_id("flows:q").build())
        .build();
    let coverage_start = mock!(Client::start_query)
        .match_requests(|req| req.query_string().unwrap_or_default().contains("bin(1d)"))
        .then_output(|| StartQueryOutput::builder().query_id("coverage:q").build());
    let flows_results = mock!(Client::get_query_results)
        .match_requests(|req| req.query_id() == Some("flows:q"))
        .then_output(|| complete(vec![flow("10.0.1.5", "443", "1")]));
    let coverage = coverage_results();
    let rules = [&flows_start, &coverage_start, &flows_results, &coverage];
    let document = reader(&[], &rules, &[])
        .collect(&request(source()))
        .await
        .unwrap();
    assert_eq!(
        flows_start.num_calls(),
        3,
        "two throttled attempts, then the query"
    );
    assert_eq!(document.stats.records, 1);
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_is_a_retryable_throttled_error() {
    let start_query = mock!(Client::start_query)
        .sequence()
        .http_response(|| json_error(400, "ThrottlingException"))
        .repeatedly()
        .build();
    let error = reader(&[], &[&start_query], &[])
        .collect(&request(source()))
        .await
        .unwrap_err();
    assert!(matches!(error, AwsError::Throttled(_)), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(error.code(), "ThrottlingException");
}
