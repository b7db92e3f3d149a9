//! AWS layer: flow-log evidence from CloudWatch Logs with FilterLogEvents — every event of the
//! window, page by page, parsed locally in the v2 default format (a header-shaped event switches
//! format as in files). A simple-term pattern (`ACCEPT`/`REJECT`) narrows the events on the
//! server; the action is still checked on each record.

use super::rows::{actions, refuse};
use super::EvidenceRequest;
use crate::aws::AwsError;
use crate::domain::evidence::EvidenceDocument;
use crate::domain::flowlog::{parse_into, ActionFilter, Aggregator, Selection};
use aws_sdk_cloudwatchlogs::Client;

/// The server-side pattern for an action filter: a single term, which every Logs back end (moto
/// included) understands. `Any` reads everything.
fn pattern(action: ActionFilter) -> Option<String> {
    match actions(action) {
        [only] => Some((*only).to_owned()),
        _ => None,
    }
}

/// Reads the flows of `request.window` from `log_group` with FilterLogEvents.
pub(super) async fn collect(
    client: &Client,
    log_group: &str,
    request: &EvidenceRequest,
) -> Result<EvidenceDocument, AwsError> {
    let window = request.window;
    let selection = Selection {
        action: request.action,
        window: Some(window),
    };
    let start = window.start.as_millisecond();
    let end = window.end.as_millisecond();
    let mut pages = client
        .filter_log_events()
        .log_group_name(log_group)
        .start_time(start)
        // the range is inclusive at both ends
        .end_time((end - 1).max(start))
        .set_filter_pattern(pattern(request.action))
        .into_paginator()
        .send();
    let mut aggregator = Aggregator::new();
    let mut text: Vec<u8> = Vec::new();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::from_sdk(format!("filter log events of {log_group}"), &e))?;
        text.clear();
        for message in page.events().iter().filter_map(|e| e.message()) {
            text.extend_from_slice(message.trim_end_matches('\n').as_bytes());
            text.push(b'\n');
        }
        parse_into(&mut text.as_slice(), &selection, &mut aggregator)
            .map_err(|e| refuse(request, "UnusableFlowLogs", &e.to_string()))?;
    }
    Ok(aggregator.into_evidence(window))
}
