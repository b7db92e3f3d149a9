//! AWS layer: flow-log evidence from CloudWatch Logs Insights, aggregated on the server. A query
//! that returns as many rows as its limit may have dropped some, so its time window is split in
//! two and each half queried again, down to a minimum window (then an error — never a silently
//! truncated answer). A second, cheap query counts records per day for coverage. The v2 default
//! format uses the fields Insights discovers; a custom format (the flow log's `LogFormat`) is
//! parsed from `@message` by field name, and `pkt-srcaddr`/`pkt-dstaddr` are preferred when it
//! has them.

use super::rows::{
    actions, add_row, coverage_chunks, day_of, poll, refuse, timestamp_of, FlowRow, Poll,
};
use super::{EvidenceRequest, ReaderSettings};
use crate::aws::{AwsError, Failure};
use crate::domain::evidence::coverage::coverage_from_days;
use crate::domain::evidence::{Coverage, EvidenceDocument};
use crate::domain::flowlog::format::Role;
use crate::domain::flowlog::{log_format_fields, Aggregator, Format, Selection};
use aws_sdk_cloudwatchlogs::types::{QueryStatus, ResultField};
use aws_sdk_cloudwatchlogs::Client;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use std::collections::HashSet;
use std::sync::Mutex;

/// A log group and the flow log's custom `LogFormat` (`None`: the v2 default).
#[derive(Debug, Clone, Copy)]
pub(super) struct Group<'a> {
    pub name: &'a str,
    pub format: Option<&'a str>,
}

/// The field names the queries use: Insights' discovered names for the v2 default format, names
/// given by a `parse` of `@message` for a custom format (absent fields are `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    /// The `parse @message /…/` stage of a custom format.
    parse: Option<String>,
    source: Option<&'static str>,
    destination: Option<&'static str>,
    packet_source: Option<&'static str>,
    packet_destination: Option<&'static str>,
    interface: Option<&'static str>,
    protocol: &'static str,
    port: &'static str,
    action: Option<&'static str>,
    status: Option<&'static str>,
    start: Option<&'static str>,
}

impl Fields {
    fn default_v2() -> Fields {
        Fields {
            parse: None,
            source: Some("srcAddr"),
            destination: Some("dstAddr"),
            packet_source: None,
            packet_destination: None,
            interface: Some("interfaceId"),
            protocol: "protocol",
            port: "dstPort",
            action: Some("action"),
            status: Some("logStatus"),
            start: Some("start"),
        }
    }

    /// The fields of a custom `LogFormat`, captured by a regular expression: one `\S+` per field
    /// in order, named when the evidence needs it.
    fn custom(text: &str) -> Fields {
        let mut fields = Fields {
            parse: None,
            source: None,
            destination: None,
            packet_source: None,
            packet_destination: None,
            interface: None,
            protocol: "flProtocol",
            port: "flDstPort",
            action: None,
            status: None,
            start: None,
        };
        let mut parts = Vec::new();
        let mut seen = Vec::new();
        for name in log_format_fields(text) {
            let role = Role::of(name);
            let field = match role {
                Role::Src => Some("flSrcAddr"),
                Role::Dst => Some("flDstAddr"),
                Role::PktSrc => Some("flPktSrcAddr"),
                Role::PktDst => Some("flPktDstAddr"),
                Role::Interface => Some("flInterfaceId"),
                Role::Protocol => Some(fields.protocol),
                Role::DstPort => Some(fields.port),
                Role::Action => Some("flAction"),
                Role::Status => Some("flLogStatus"),
                Role::Start => Some("flStart"),
                Role::End | Role::Other => None,
            };
            // a field named twice is captured once
            let field = field.filter(|_| !seen.contains(&role));
            seen.push(role);
            let slot = match role {
                Role::Src => Some(&mut fields.source),
                Role::Dst => Some(&mut fields.destination),
                Role::PktSrc => Some(&mut fields.packet_source),
                Role::PktDst => Some(&mut fields.packet_destination),
                Role::Interface => Some(&mut fields.interface),
                Role::Action => Some(&mut fields.action),
                Role::Status => Some(&mut fields.status),
                Role::Start => Some(&mut fields.start),
                _ => None,
            };
            if let (Some(slot), Some(field)) = (slot, field) {
                *slot = Some(field);
            }
            parts.push(field.map_or_else(|| "\\S+".to_owned(), |f| format!("(?<{f}>\\S+)")));
        }
        fields.parse = Some(format!("parse @message /^{}$/", parts.join(" ")));
        fields
    }

    /// The fields of `group`'s format, or why its format cannot serve `request`.
    fn of(group: &Group<'_>, request: &EvidenceRequest) -> Result<Fields, String> {
        let Some(text) = group.format else {
            return Ok(Fields::default_v2());
        };
        let format =
            Format::from_log_format(text).map_err(|e| format!("logFormat {text:?}: {e}"))?;
        let selection = Selection {
            action: request.action,
            window: None,
        };
        selection
            .check(&format)
            .map_err(|e| format!("logFormat {text:?}: {e}"))?;
        Ok(if format.is_default_v2() {
            Fields::default_v2()
        } else {
            Fields::custom(text)
        })
    }

    /// The stages before the query's own: the `parse` of a custom format.
    fn stages(&self) -> Vec<String> {
        self.parse.iter().cloned().collect()
    }

    /// The aggregation: one row per distinct tuple, with its record count.
    fn flows_stats(&self) -> String {
        let by: Vec<&str> = [
            self.source,
            self.destination,
            self.packet_source,
            self.packet_destination,
            self.interface,
            Some(self.protocol),
            Some(self.port),
        ]
        .into_iter()
        .flatten()
        .collect();
        format!("stats count(*) as records by {}", by.join(", "))
    }

    /// Records per day and log status: days with data (SKIPDATA-only days are gaps), SKIPDATA
    /// records (lost evidence) and the earliest record start.
    fn coverage_query(&self) -> String {
        let mut parts = self.stages();
        let earliest = self
            .start
            .map(|start| format!(", min({start}) as earliest"))
            .unwrap_or_default();
        let status = self
            .status
            .map(|status| format!(", {status}"))
            .unwrap_or_default();
        parts.push(format!(
            "stats count(*) as records{earliest} by bin(1d){status}"
        ));
        parts.join(" | ")
    }

    /// The query asking which of `ids` had a record that is not SKIPDATA (`None` when the
    /// format has no interface id: then no interface is known to have records).
    fn logged_query(&self, ids: &[&str]) -> Option<String> {
        let interface = self.interface?;
        let quoted: Vec<String> = ids.iter().map(|v| format!("\"{v}\"")).collect();
        let mut parts = self.stages();
        let mut filter = format!("filter {interface} in [{}]", quoted.join(", "));
        if let Some(status) = self.status {
            filter = format!(
                "filter {status} != \"SKIPDATA\" and {interface} in [{}]",
                quoted.join(", ")
            );
        }
        parts.push(filter);
        parts.push(format!("stats count(*) as records by {interface}"));
        Some(parts.join(" | "))
    }
}

/// A half-open span of Unix seconds `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: i64,
    end: i64,
}

impl Span {
    /// The two halves, or `None` when the span is no longer than `minimum` seconds.
    fn halves(self, minimum: i64) -> Option<(Span, Span)> {
        if self.end - self.start <= minimum.max(1) {
            return None;
        }
        let middle = self.start + (self.end - self.start) / 2;
        Some((
            Span {
                start: self.start,
                end: middle,
            },
            Span {
                start: middle,
                end: self.end,
            },
        ))
    }
}

type Row = Vec<ResultField>;

/// One log group's queries for one request.
struct Queries<'a> {
    client: &'a Client,
    settings: &'a ReaderSettings,
    log_group: &'a str,
    fields: Fields,
    request: &'a EvidenceRequest,
    /// Ids of queries started and not yet finished: stopped when the request fails early.
    running: Mutex<HashSet<String>>,
}

/// Reads the flows of `request.window` from `group` with Logs Insights.
pub(super) async fn collect(
    client: &Client,
    settings: &ReaderSettings,
    group: &Group<'_>,
    request: &EvidenceRequest,
) -> Result<EvidenceDocument, AwsError> {
    let fields = Fields::of(group, request).map_err(|e| refuse(request, "UnusableFlowLogs", &e))?;
    let queries = Queries {
        client,
        settings,
        log_group: group.name,
        fields,
        request,
        running: Mutex::default(),
    };
    let whole = Span {
        start: request.window.start.as_second(),
        end: request.window.end.as_second(),
    };
    let answers = futures::try_join!(
        queries.flows(whole),
        queries.coverage(whole),
        queries.logged(whole)
    );
    let (aggregator, mut coverage, logged) = match answers {
        Ok(answers) => answers,
        Err(error) => {
            queries.stop_unfinished().await;
            return Err(error);
        }
    };
    let mut document = aggregator.into_evidence(request.window);
    coverage.interfaces_with_records = Some(logged);
    document.stats.skipdata = coverage.skipped_records;
    document.coverage = coverage;
    Ok(document)
}

/// The flows query for a request: the format's parse, action filter and aggregation, never
/// narrowed to today's interfaces.
fn flows_query(fields: &Fields, request: &EvidenceRequest) -> String {
    let quoted = |values: &[&str]| {
        let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
        quoted.join(", ")
    };
    let mut parts = fields.stages();
    if let Some(action) = fields.action {
        parts.push(format!(
            "filter {action} in [{}]",
            quoted(actions(request.action))
        ));
    }
    parts.push(fields.flows_stats());
    parts.join(" | ")
}

fn field<'r>(row: &'r Row, name: &str) -> &'r str {
    row.iter()
        .find(|f| f.field() == Some(name))
        .and_then(ResultField::value)
        .unwrap_or_default()
}

impl Queries<'_> {
    /// Runs the flows query over `whole`, splitting every window whose answer fills the limit;
    /// at most `concurrency` queries run at once.
    async fn flows(&self, whole: Span) -> Result<Aggregator, AwsError> {
        let query = flows_query(&self.fields, self.request);
        let limit = self.settings.insights_row_limit;
        let minimum = self.settings.insights_min_window.as_secs() as i64;
        let mut aggregator = Aggregator::new();
        let mut pending = vec![whole];
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < self.settings.concurrency.max(1) {
                let Some(span) = pending.pop() else { break };
                running.push(self.run(span, &query));
            }
            let Some(answer) = running.next().await else {
                break;
            };
            let (span, rows) = answer?;
            if rows.len() < limit as usize {
                rows.iter()
                    .for_each(|row| add_row(&mut aggregator, &flow_row(&self.fields, row)));
                continue;
            }
            let Some((first, second)) = span.halves(minimum) else {
                return Err(self.too_many_rows(span));
            };
            pending.extend([second, first]);
        }
        Ok(aggregator)
    }

    fn too_many_rows(&self, span: Span) -> AwsError {
        let at = |second: i64| {
            jiff::Timestamp::from_second(second)
                .map_or_else(|_| second.to_string(), |t| t.to_string())
        };
        let message = format!(
            "a Logs Insights query over [{}, {}) ({} s) returned {} rows, its limit, and the \
             window cannot be split below {} s: the answer would be truncated; narrow the \
             request to fewer interfaces or read the logs with Athena",
            at(span.start),
            at(span.end),
            span.end - span.start,
            self.settings.insights_row_limit,
            self.settings.insights_min_window.as_secs()
        );
        refuse(self.request, "InsightsRowLimit", &message)
    }

    /// Days with data in `whole` and the earliest record start.
    async fn coverage(&self, whole: Span) -> Result<Coverage, AwsError> {
        let (_, rows) = self.run(whole, &self.fields.coverage_query()).await?;
        if rows.len() >= self.settings.insights_row_limit as usize {
            return Err(self.too_many_rows(whole));
        }
        let day = |row: &Row| {
            row.iter()
                .find(|f| f.field().is_some_and(|n| n.starts_with("bin(")))
                .and_then(ResultField::value)
                .and_then(day_of)
        };
        let status = self.fields.status.unwrap_or("logStatus");
        let skipped = |row: &&Row| field(row, status) == "SKIPDATA";
        let data: Vec<&Row> = rows.iter().filter(|r| !skipped(r)).collect();
        let days: Vec<_> = data.iter().copied().filter_map(day).collect();
        let earliest = data
            .iter()
            .filter_map(|row| timestamp_of(field(row, "earliest")))
            .min();
        let mut coverage = coverage_from_days(&self.request.window, days, earliest);
        coverage.skipped_records = rows
            .iter()
            .filter(skipped)
            .filter_map(|row| field(row, "records").parse::<u64>().ok())
            .sum();
        let lost: Vec<_> = rows.iter().filter(skipped).filter_map(day).collect();
        coverage.days_with_skipped_records = lost;
        Ok(coverage)
    }

    /// The coverage interfaces that had a record in `whole`, sorted; one query per chunk.
    async fn logged(&self, whole: Span) -> Result<Vec<String>, AwsError> {
        let mut logged = Vec::new();
        let Some(interface) = self.fields.interface else {
            return Ok(logged);
        };
        for chunk in coverage_chunks(self.request) {
            let Some(query) = self.fields.logged_query(&chunk) else {
                break;
            };
            let (_, rows) = self.run(whole, &query).await?;
            logged.extend(
                rows.iter()
                    .map(|row| field(row, interface))
                    .filter(|id| !id.is_empty())
                    .map(String::from),
            );
        }
        logged.sort();
        logged.dedup();
        Ok(logged)
    }

    /// Starts one query over `span` and waits for its rows.
    async fn run(&self, span: Span, query: &str) -> Result<(Span, Vec<Row>), AwsError> {
        let started = self
            .client
            .start_query()
            .log_group_name(self.log_group)
            .start_time(span.start)
            // StartQuery's range is inclusive at both ends
            .end_time((span.end - 1).max(span.start))
            .query_string(query)
            .limit(self.settings.insights_row_limit)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    format!("start a Logs Insights query on {}", self.log_group),
                    &e,
                )
            })?;
        let id = started.query_id().unwrap_or_default().to_owned();
        self.unfinished().insert(id.clone());
        let answer = poll(self.settings, || self.look(&id)).await;
        if !matches!(answer, Ok(None)) {
            self.unfinished().remove(&id);
        }
        match answer? {
            Some(rows) => Ok((span, rows)),
            None => Err(self.failed(&id, "QueryTimeout", "still running after the polling bound")),
        }
    }

    fn unfinished(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Best effort: stops the queries a failed request leaves behind, which would otherwise run
    /// on (and count against the account's concurrent-query quota) until AWS times them out.
    async fn stop_unfinished(&self) {
        let ids: Vec<String> = self.unfinished().drain().collect();
        for id in ids {
            let _ = self.client.stop_query().query_id(id).send().await;
        }
    }

    /// One GetQueryResults call: the rows when complete, an error when the query ended badly.
    async fn look(&self, id: &str) -> Result<Poll<Vec<Row>>, AwsError> {
        let output = self
            .client
            .get_query_results()
            .query_id(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(format!("get Logs Insights results of {id}"), &e))?;
        match output.status() {
            Some(QueryStatus::Complete) => Ok(Poll::Done(output.results().to_vec())),
            Some(QueryStatus::Failed) => Err(self.failed(id, "QueryFailed", "failed")),
            Some(QueryStatus::Cancelled) => Err(self.failed(id, "QueryCancelled", "was cancelled")),
            Some(QueryStatus::Timeout) => Err(self.failed(id, "QueryTimeout", "timed out")),
            _ => Ok(Poll::Running),
        }
    }

    /// A query that ended without results; timeouts may succeed later (retryable).
    fn failed(&self, id: &str, code: &str, what: &str) -> AwsError {
        let failure = Failure::new(
            format!("query {} with Logs Insights", self.log_group),
            code,
            &format!("query {id} {what}"),
        );
        if code == "QueryTimeout" {
            AwsError::Transient(failure)
        } else {
            AwsError::Other(failure)
        }
    }
}

fn flow_row<'r>(fields: &Fields, row: &'r Row) -> FlowRow<'r> {
    let named = |name: Option<&str>| name.map_or("", |n| field(row, n));
    FlowRow {
        source: named(fields.source),
        destination: named(fields.destination),
        packet_source: named(fields.packet_source),
        packet_destination: named(fields.packet_destination),
        interface_id: named(fields.interface),
        protocol: field(row, fields.protocol),
        port: field(row, fields.port),
        records: field(row, "records"),
    }
}

#[cfg(test)]
mod query_tests;
