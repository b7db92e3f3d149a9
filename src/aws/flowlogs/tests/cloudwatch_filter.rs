//! AWS layer tests: the FilterLogEvents reader — pagination by nextToken, the simple-term action
//! pattern, the action still checked locally, malformed events counted.

use super::*;
use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsOutput;
use aws_sdk_cloudwatchlogs::types::FilteredLogEvent;
use aws_sdk_cloudwatchlogs::Client;
use aws_smithy_mocks::mock;

fn source() -> EvidenceSource {
    EvidenceSource::CloudWatchFilter {
        log_group: "/vpc/flow-logs".into(),
        log_format: None,
    }
}

fn page(messages: &[String], next: Option<&str>) -> FilterLogEventsOutput {
    let mut output = FilterLogEventsOutput::builder().set_next_token(next.map(str::to_owned));
    for message in messages {
        output = output.events(
            FilteredLogEvent::builder()
                .message(message)
                .timestamp(DAY1 * 1000)
                .build(),
        );
    }
    output.build()
}

#[tokio::test]
async fn every_page_is_read_and_the_action_is_checked_on_each_record() {
    let first = mock!(Client::filter_log_events)
        .match_requests(|req| {
            req.next_token().is_none()
                && req.log_group_name() == Some("/vpc/flow-logs")
                && req.filter_pattern() == Some("ACCEPT")
                && req.start_time() == Some(DAY1 * 1000)
                && req.end_time() == Some((DAY1 + 3 * DAY) * 1000 - 1)
        })
        .then_output(|| {
            page(
                &[
                    line("10.0.1.5", "10.0.2.9", 443, DAY1 + 10, "ACCEPT"),
                    // a back end that ignores the pattern returns everything
                    line("10.0.1.6", "10.0.2.9", 22, DAY1 + 20, "REJECT"),
                ],
                Some("page-2"),
            )
        });
    let second = mock!(Client::filter_log_events)
        .match_requests(|req| req.next_token() == Some("page-2"))
        .then_output(|| {
            page(
                &[
                    line("10.0.1.5", "10.0.2.9", 443, DAY1 + DAY, "ACCEPT"),
                    "not a flow-log record".to_owned(),
                ],
                None,
            )
        });
    let document = reader(&[], &[&first, &second], &[])
        .collect(&request(source()))
        .await
        .unwrap();
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    assert_eq!(flows(&document), [(ip("10.0.1.5"), ip("10.0.2.9"), 443, 2)]);
    assert_eq!(document.stats.filtered, 1);
    assert_eq!(document.stats.malformed, 1);
    assert_eq!(document.coverage.days_without_data, [date("2026-11-03")]);
}

#[tokio::test]
async fn any_action_reads_every_event_without_a_pattern() {
    let rule = mock!(Client::filter_log_events)
        .match_requests(|req| req.filter_pattern().is_none())
        .then_output(|| {
            page(
                &[
                    line("10.0.1.5", "10.0.2.9", 443, DAY1 + 10, "ACCEPT"),
                    line("10.0.1.6", "10.0.2.9", 22, DAY1 + 20, "REJECT"),
                ],
                None,
            )
        });
    let mut request = request(source());
    request.action = ActionFilter::Any;
    let document = reader(&[], &[&rule], &[]).collect(&request).await.unwrap();
    assert_eq!(document.flows.len(), 2);
}

#[tokio::test]
async fn a_missing_log_group_is_a_not_found_error() {
    let rule = mock!(Client::filter_log_events)
        .then_http_response(|| json_error(400, "ResourceNotFoundException"));
    let error = reader(&[], &[&rule], &[])
        .collect(&request(source()))
        .await
        .unwrap_err();
    assert!(matches!(error, AwsError::NotFound(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("filter log events of /vpc/flow-logs"),
        "{error}"
    );
}
