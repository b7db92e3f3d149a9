//! AWS layer: flow-log evidence from CloudWatch Logs Insights, aggregated on the server. A query
//! that returns as many rows as its limit may have dropped some, so its time window is split in
//! two and each half queried again, down to a minimum window (then an error — never a silently
//! truncated answer). A second, cheap query counts records per day for coverage.

use super::rows::{
    actions, add_row, coverage_chunks, day_of, poll, refuse, timestamp_of, FlowRow, Poll,
};
use super::{EvidenceRequest, ReaderSettings};
use crate::aws::{AwsError, Failure};
use crate::domain::evidence::coverage::coverage_from_days;
use crate::domain::evidence::{Coverage, EvidenceDocument};
use crate::domain::flowlog::Aggregator;
use aws_sdk_cloudwatchlogs::types::{QueryStatus, ResultField};
use aws_sdk_cloudwatchlogs::Client;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use std::collections::HashSet;
use std::sync::Mutex;

/// The aggregation: one row per distinct tuple, with its record count.
const FLOWS_STATS: &str =
    "stats count(*) as records by srcAddr, dstAddr, interfaceId, protocol, dstPort";
/// Records per day and log status: days with data (SKIPDATA-only days are gaps), SKIPDATA
/// records (lost evidence) and the earliest record start.
const COVERAGE_QUERY: &str =
    "stats count(*) as records, min(start) as earliest by bin(1d), logStatus";
/// Which of some interfaces had a record (OK of any action, or NODATA) in the window.
const LOGGED_STATS: &str = "stats count(*) as records by interfaceId";

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
    request: &'a EvidenceRequest,
    /// Ids of queries started and not yet finished: stopped when the request fails early.
    running: Mutex<HashSet<String>>,
}

/// Reads the flows of `request.window` from `log_group` with Logs Insights.
pub(super) async fn collect(
    client: &Client,
    settings: &ReaderSettings,
    log_group: &str,
    request: &EvidenceRequest,
) -> Result<EvidenceDocument, AwsError> {
    let queries = Queries {
        client,
        settings,
        log_group,
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

/// The flows query for a request: action filter and aggregation, never narrowed to today's
/// interfaces.
fn flows_query(request: &EvidenceRequest) -> String {
    let quoted = |values: &[&str]| {
        let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
        quoted.join(", ")
    };
    format!(
        "filter action in [{}] | {FLOWS_STATS}",
        quoted(actions(request.action))
    )
}

/// The query asking which of `ids` had a record that is not SKIPDATA.
fn logged_query(ids: &[&str]) -> String {
    let quoted: Vec<String> = ids.iter().map(|v| format!("\"{v}\"")).collect();
    format!(
        "filter logStatus != \"SKIPDATA\" and interfaceId in [{}] | {LOGGED_STATS}",
        quoted.join(", ")
    )
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
        let query = flows_query(self.request);
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
                    .for_each(|row| add_row(&mut aggregator, &flow_row(row)));
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
        let (_, rows) = self.run(whole, COVERAGE_QUERY).await?;
        if rows.len() >= self.settings.insights_row_limit as usize {
            return Err(self.too_many_rows(whole));
        }
        let day = |row: &Row| {
            row.iter()
                .find(|f| f.field().is_some_and(|n| n.starts_with("bin(")))
                .and_then(ResultField::value)
                .and_then(day_of)
        };
        let skipped = |row: &&Row| field(row, "logStatus") == "SKIPDATA";
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
        for chunk in coverage_chunks(self.request) {
            let (_, rows) = self.run(whole, &logged_query(&chunk)).await?;
            logged.extend(
                rows.iter()
                    .map(|row| field(row, "interfaceId"))
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

fn flow_row(row: &Row) -> FlowRow<'_> {
    FlowRow {
        source: field(row, "srcAddr"),
        destination: field(row, "dstAddr"),
        interface_id: field(row, "interfaceId"),
        protocol: field(row, "protocol"),
        port: field(row, "dstPort"),
        records: field(row, "records"),
    }
}
