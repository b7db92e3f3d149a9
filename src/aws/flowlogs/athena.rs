//! AWS layer: flow-log evidence from an Athena table over S3 flow logs. Two queries run side by
//! side — the flows aggregated by (srcaddr, dstaddr, interface_id, protocol, dstport) and the
//! records per UTC day for coverage — each polled until it ends (bounded) and then read page by
//! page, the header row skipped.

use super::rows::{actions, add_row, day_from_number, poll, timestamp_of, FlowRow, Poll};
use super::{EvidenceRequest, ReaderSettings};
use crate::aws::{AwsError, Failure};
use crate::domain::evidence::coverage::coverage_from_days;
use crate::domain::evidence::EvidenceDocument;
use crate::domain::flowlog::Aggregator;
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};
use aws_sdk_athena::Client;

/// The table to query and where Athena runs and writes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Table<'a> {
    pub database: &'a str,
    pub table: &'a str,
    pub workgroup: &'a str,
    pub output_location: Option<&'a str>,
}

/// A double-quoted SQL identifier (embedded quotes doubled).
fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A single-quoted SQL string literal (embedded quotes doubled).
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn list(values: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let quoted: Vec<String> = values.into_iter().map(|v| literal(v.as_ref())).collect();
    quoted.join(", ")
}

/// `FROM … WHERE` records overlapping the window (`start`/`end` in Unix seconds).
fn source_and_window(table: &Table<'_>, request: &EvidenceRequest) -> String {
    format!(
        "FROM {}.{} WHERE \"start\" < {} AND \"end\" >= {}",
        identifier(table.database),
        identifier(table.table),
        request.window.end.as_second(),
        request.window.start.as_second()
    )
}

/// The aggregation over the window and the action filter (never narrowed to today's ENIs).
pub(super) fn flows_sql(table: &Table<'_>, request: &EvidenceRequest) -> String {
    let mut sql = format!(
        "SELECT \"srcaddr\", \"dstaddr\", \"interface_id\", \"protocol\", \"dstport\", \
         count(*) AS \"records\" {} AND \"action\" IN ({})",
        source_and_window(table, request),
        list(actions(request.action))
    );
    sql.push_str(" GROUP BY \"srcaddr\", \"dstaddr\", \"interface_id\", \"protocol\", \"dstport\"");
    sql
}

/// Records per UTC day (as a Unix day number) and the earliest start; SKIPDATA days are gaps.
pub(super) fn coverage_sql(table: &Table<'_>, request: &EvidenceRequest) -> String {
    format!(
        "SELECT \"start\" / 86400 AS \"day\", count(*) AS \"records\", min(\"start\") AS \
         \"earliest\" {} AND \"log_status\" <> 'SKIPDATA' GROUP BY 1",
        source_and_window(table, request)
    )
}

/// Reads the flows of `request.window` from an Athena table.
pub(super) async fn collect(
    client: &Client,
    settings: &ReaderSettings,
    table: &Table<'_>,
    request: &EvidenceRequest,
) -> Result<EvidenceDocument, AwsError> {
    let run = Run {
        client,
        settings,
        table,
    };
    let (flows_sql, coverage_sql) = (flows_sql(table, request), coverage_sql(table, request));
    let mut aggregator = Aggregator::new();
    let (mut days, mut earliest) = (Vec::new(), None::<jiff::Timestamp>);
    // rows go straight into the aggregator, page by page: memory stays bounded by distinct tuples
    let flows = run.rows(&flows_sql, |row| add_row(&mut aggregator, &flow_row(row)));
    let coverage = run.rows(&coverage_sql, |row| {
        days.extend(day_from_number(cell(row, 0)));
        let first = timestamp_of(cell(row, 2));
        earliest = earliest.into_iter().chain(first).min();
    });
    futures::try_join!(flows, coverage)?;
    let mut document = aggregator.into_evidence(request.window);
    document.coverage = coverage_from_days(&request.window, days, earliest);
    Ok(document)
}

fn cell<'r>(row: &[&'r str], index: usize) -> &'r str {
    row.get(index).copied().unwrap_or_default()
}

/// A flows row in the SELECT's column order.
fn flow_row<'r>(row: &[&'r str]) -> FlowRow<'r> {
    FlowRow {
        source: cell(row, 0),
        destination: cell(row, 1),
        interface_id: cell(row, 2),
        protocol: cell(row, 3),
        port: cell(row, 4),
        records: cell(row, 5),
    }
}

/// Runs statements in one workgroup.
struct Run<'a> {
    client: &'a Client,
    settings: &'a ReaderSettings,
    table: &'a Table<'a>,
}

impl Run<'_> {
    /// Starts `sql`, waits for it and passes each data row to `each` as text (NULL → empty).
    async fn rows(&self, sql: &str, each: impl FnMut(&[&str])) -> Result<(), AwsError> {
        let id = self.start(sql).await?;
        match poll(self.settings, || self.look(&id)).await? {
            Some(()) => self.results(&id, each).await,
            None => {
                // best effort: do not leave the query running (and billing) after giving up
                let _ = self
                    .client
                    .stop_query_execution()
                    .query_execution_id(&id)
                    .send()
                    .await;
                Err(AwsError::Transient(Failure::new(
                    self.action(),
                    "QueryTimeout",
                    &format!("query {id} still running after the polling bound"),
                )))
            }
        }
    }

    fn action(&self) -> String {
        format!(
            "query athena:{}.{} in workgroup {}",
            self.table.database, self.table.table, self.table.workgroup
        )
    }

    async fn start(&self, sql: &str) -> Result<String, AwsError> {
        let context = QueryExecutionContext::builder()
            .database(self.table.database)
            .build();
        let output = self.table.output_location.map(|location| {
            ResultConfiguration::builder()
                .output_location(location)
                .build()
        });
        let started = self
            .client
            .start_query_execution()
            .query_string(sql)
            .work_group(self.table.workgroup)
            .query_execution_context(context)
            .set_result_configuration(output)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(self.action(), &e))?;
        Ok(started.query_execution_id().unwrap_or_default().to_owned())
    }

    /// One GetQueryExecution call.
    async fn look(&self, id: &str) -> Result<Poll<()>, AwsError> {
        let output = self
            .client
            .get_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(self.action(), &e))?;
        let status = output.query_execution().and_then(|q| q.status());
        let reason = status
            .and_then(|s| s.state_change_reason())
            .unwrap_or("no reason given");
        let ended = |code: &str, what: &str| {
            Err(AwsError::Other(Failure::new(
                self.action(),
                code,
                &format!("query {id} {what}: {reason}"),
            )))
        };
        match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Succeeded) => Ok(Poll::Done(())),
            Some(QueryExecutionState::Failed) => ended("QueryFailed", "failed"),
            Some(QueryExecutionState::Cancelled) => ended("QueryCancelled", "was cancelled"),
            _ => Ok(Poll::Running),
        }
    }

    /// Every page of results, without the header row (the first row of the first page).
    async fn results(&self, id: &str, mut each: impl FnMut(&[&str])) -> Result<(), AwsError> {
        let mut pages = self
            .client
            .get_query_results()
            .query_execution_id(id)
            .into_paginator()
            .send();
        let mut header = true;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk(self.action(), &e))?;
            let mut cells: Vec<&str> = Vec::new();
            let data = page.result_set().map(|r| r.rows()).unwrap_or_default();
            for row in data {
                if std::mem::take(&mut header) {
                    continue;
                }
                cells.clear();
                cells.extend(
                    row.data()
                        .iter()
                        .map(|d| d.var_char_value().unwrap_or_default()),
                );
                each(&cells);
            }
        }
        Ok(())
    }
}
