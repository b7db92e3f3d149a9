//! AWS layer: flow-log evidence from CloudWatch Logs with FilterLogEvents — every event of the
//! window, page by page, parsed locally: in the flow log's custom format when one is configured
//! (fields by name, the `pkt-srcaddr` packet source preferred), else the v2 default. A simple-term
//! pattern (`ACCEPT`/`REJECT`) narrows the events on the server; the action is still checked on
//! each record.

use super::rows::{actions, refuse};
use super::EvidenceRequest;
use crate::aws::AwsError;
use crate::domain::evidence::EvidenceDocument;
use crate::domain::flowlog::{
    log_format_fields, parse_into, ActionFilter, Aggregator, Format, Selection,
};
use aws_sdk_cloudwatchlogs::Client;

/// The server-side pattern for an action filter: a single term, which every Logs back end (moto
/// included) understands. `Any` reads everything.
fn pattern(action: ActionFilter) -> Option<String> {
    match actions(action) {
        [only] => Some((*only).to_owned()),
        _ => None,
    }
}

/// The header line that makes the parser read events in `log_format` (its field names, as in a
/// file's first line; empty for the v2 default, which the parser assumes without one), and
/// whether the format has `start`.
fn header(log_format: Option<&str>) -> Result<(String, bool), String> {
    let Some(text) = log_format else {
        return Ok((String::new(), true));
    };
    let format = Format::from_log_format(text).map_err(|e| format!("logFormat {text:?}: {e}"))?;
    let fields: Vec<&str> = log_format_fields(text).collect();
    Ok((format!("{}\n", fields.join(" ")), format.has_start()))
}

/// Reads the flows of `request.window` from `log_group` with FilterLogEvents.
pub(super) async fn collect(
    client: &Client,
    log_group: &str,
    log_format: Option<&str>,
    request: &EvidenceRequest,
) -> Result<EvidenceDocument, AwsError> {
    let window = request.window;
    let (header, has_start) =
        header(log_format).map_err(|e| refuse(request, "UnusableFlowLogs", &e))?;
    // FilterLogEvents already selects events by time; records are also checked by their own
    // `start`/`end` when the format has them
    let selection = Selection {
        action: request.action,
        window: has_start.then_some(window),
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
        text.extend_from_slice(header.as_bytes());
        for message in page.events().iter().filter_map(|e| e.message()) {
            text.extend_from_slice(message.trim_end_matches('\n').as_bytes());
            text.push(b'\n');
        }
        parse_into(&mut text.as_slice(), &selection, &mut aggregator)
            .map_err(|e| refuse(request, "UnusableFlowLogs", &e.to_string()))?;
    }
    Ok(aggregator.into_evidence(window))
}
