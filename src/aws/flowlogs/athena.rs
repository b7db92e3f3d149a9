//! AWS layer: flow-log evidence from an Athena table over S3 flow logs. The table's metadata
//! (GetTableMetadata) says how it is partitioned and whether it has the packet-level addresses;
//! then one query per window (`athena_sql.rs`: flows, records per UTC day and the interfaces with
//! records, in one scan of the window's partitions) is polled until it ends (bounded) and read
//! page by page, the header row skipped, each row straight into the evidence. Never narrowed to
//! the interfaces that exist today, nor to the resource asking: flows to interfaces deleted
//! inside the window are evidence too, and one answer serves every resource on the table.

use super::athena_sql::{evidence_sql, EvidenceRows, Table, TableShape};
use super::rows::{poll, Poll};
use super::{EvidenceRequest, ReaderSettings};
use crate::aws::{AwsError, Failure};
use crate::domain::evidence::EvidenceDocument;
use aws_sdk_athena::types::{
    Column, QueryExecutionContext, QueryExecutionState, ResultConfiguration,
};
use aws_sdk_athena::Client;

/// The Glue catalog AWS's flow-log tables live in.
const CATALOG: &str = "AwsDataCatalog";

/// The table to query and where Athena runs and writes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Target<'a> {
    pub database: &'a str,
    pub table: &'a str,
    pub workgroup: &'a str,
    pub output_location: Option<&'a str>,
}

/// Reads the flows of `request.window` from an Athena table.
pub(super) async fn collect(
    client: &Client,
    settings: &ReaderSettings,
    target: &Target<'_>,
    request: &EvidenceRequest,
) -> Result<EvidenceDocument, AwsError> {
    let run = Run {
        client,
        settings,
        target,
    };
    let table = Table {
        database: target.database.to_owned(),
        table: target.table.to_owned(),
        shape: run.shape().await?,
    };
    // rows go straight into the evidence, page by page: memory stays bounded by distinct tuples
    let mut rows = EvidenceRows::default();
    run.rows(&evidence_sql(&table, request), |row| rows.add(row))
        .await?;
    Ok(rows.evidence(request.window))
}

fn columns(columns: &[Column]) -> Vec<(String, String)> {
    columns
        .iter()
        .map(|c| {
            (
                c.name().to_owned(),
                c.r#type().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Runs statements in one workgroup.
struct Run<'a> {
    client: &'a Client,
    settings: &'a ReaderSettings,
    target: &'a Target<'a>,
}

impl Run<'_> {
    /// The table's partitioning and packet-address columns, from GetTableMetadata.
    async fn shape(&self) -> Result<TableShape, AwsError> {
        let output = self
            .client
            .get_table_metadata()
            .catalog_name(CATALOG)
            .database_name(self.target.database)
            .table_name(self.target.table)
            .send()
            .await
            .map_err(|e| {
                let action = format!(
                    "read the metadata of athena:{}.{}",
                    self.target.database, self.target.table
                );
                AwsError::from_sdk(action, &e)
            })?;
        let Some(metadata) = output.table_metadata() else {
            return Ok(TableShape::default());
        };
        Ok(TableShape::from_metadata(
            &columns(metadata.columns()),
            &columns(metadata.partition_keys()),
            metadata.parameters().unwrap_or(&Default::default()),
        ))
    }

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
            self.target.database, self.target.table, self.target.workgroup
        )
    }

    async fn start(&self, sql: &str) -> Result<String, AwsError> {
        let context = QueryExecutionContext::builder()
            .database(self.target.database)
            .build();
        let output = self.target.output_location.map(|location| {
            ResultConfiguration::builder()
                .output_location(location)
                .build()
        });
        let started = self
            .client
            .start_query_execution()
            .query_string(sql)
            .work_group(self.target.workgroup)
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
