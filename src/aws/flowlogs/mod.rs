//! AWS layer: the flow-log evidence port. A reconciler asks for the flows of a window from one
//! source (S3, CloudWatch Logs, Athena) and gets back the domain's [`EvidenceDocument`]: distinct
//! flow tuples with record counts, coverage and parse counters. Adapters live beside this file;
//! [`fake::FakeFlowLogs`] serves reconciler unit tests.

use super::AwsError;
use crate::domain::evidence::{EvidenceDocument, Window};
use crate::domain::flowlog::ActionFilter;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

mod athena;
pub mod athena_sql;
pub mod fake;
mod filter;
mod insights;
mod rows;
mod s3;
mod s3_parquet;
pub mod shared;

pub use shared::{EvidenceStore, SharedFlowLogs};

/// Where the flow logs are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EvidenceSource {
    /// Plain or gzip text objects, or Parquet objects, under `s3://bucket/prefix`.
    S3 { bucket: String, prefix: String },
    /// A CloudWatch Logs group, aggregated by Logs Insights on the server. `log_format` is the
    /// flow log's custom `LogFormat` (`${srcaddr} ${dstaddr} …`), `None` for the v2 default.
    CloudWatchInsights {
        log_group: String,
        log_format: Option<String>,
    },
    /// A CloudWatch Logs group, streamed with FilterLogEvents and parsed locally; `log_format`
    /// as for Insights.
    CloudWatchFilter {
        log_group: String,
        log_format: Option<String>,
    },
    /// An Athena table over S3 flow logs.
    Athena {
        database: String,
        table: String,
        workgroup: String,
        output_location: Option<String>,
    },
}

impl EvidenceSource {
    /// A short human name for status and messages, e.g. `s3://flow-logs/AWSLogs/`.
    pub fn describe(&self) -> String {
        match self {
            EvidenceSource::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
            EvidenceSource::CloudWatchInsights { log_group, .. } => {
                format!("cloudwatch:{log_group} (Insights)")
            }
            EvidenceSource::CloudWatchFilter { log_group, .. } => {
                format!("cloudwatch:{log_group} (Filter)")
            }
            EvidenceSource::Athena {
                database, table, ..
            } => format!("athena:{database}.{table}"),
        }
    }
}

/// One question to a flow-log source.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceRequest {
    /// Where to read.
    pub source: EvidenceSource,
    /// Records whose `start`/`end` overlap this window.
    pub window: Window,
    /// ACCEPT (tightening evidence), REJECT (diagnose, break-glass) or both.
    pub action: ActionFilter,
    /// The interfaces whose records the coverage must find (readers that aggregate on the
    /// server ask about these only). Never used to narrow the flows: a flow to an interface
    /// that no longer exists is evidence too (DESIGN §5).
    pub coverage_interfaces: Vec<String>,
    /// An answer collected at or after this instant is fresh enough: a reader that keeps whole
    /// answers across time (the shared store's Athena answers) may serve it instead of reading
    /// again. `None`: read now (diagnose, break-glass, the CLI).
    pub fresh_since: Option<jiff::Timestamp>,
}

/// A document shared between the resources that asked for it, and when it was collected.
#[derive(Debug, Clone)]
pub struct SharedEvidence {
    /// The evidence, one allocation for every resource it serves.
    pub document: Arc<EvidenceDocument>,
    /// When the read that produced `document` started, when the reader knows it (a kept or
    /// shared answer); `None`: read for this request just now.
    pub collected_at: Option<jiff::Timestamp>,
}

/// Reads flow-log evidence. Errors are classified [`AwsError`]s; a source that is too
/// incomplete to trust (more than 10% unreadable objects, an unsupported format only) is an
/// error, never a silently thinner document.
#[async_trait::async_trait]
pub trait FlowLogs: Send + Sync {
    /// Collects the flows of `request.window` from `request.source`.
    async fn collect(&self, request: &EvidenceRequest) -> Result<EvidenceDocument, AwsError>;

    /// [`FlowLogs::collect`], the document shared: readers that serve many resources from one
    /// read ([`SharedFlowLogs`]) hand every resource the same document instead of a copy.
    async fn collect_shared(&self, request: &EvidenceRequest) -> Result<SharedEvidence, AwsError> {
        let document = Arc::new(self.collect(request).await?);
        Ok(SharedEvidence {
            document,
            collected_at: None,
        })
    }
}

/// What the shared evidence store did with one part (a day of a source) or a kept answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreEvent {
    /// Served from memory, its objects unchanged.
    Hit,
    /// Read (not in memory, or its objects changed).
    Miss,
    /// Dropped to stay within the memory budget.
    Evicted,
}

impl StoreEvent {
    /// Metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreEvent::Hit => "hit",
            StoreEvent::Miss => "miss",
            StoreEvent::Evicted => "evicted",
        }
    }
}

/// Receives what the evidence readers read, per source (`EvidenceSource::describe`).
/// Implemented by the metrics registry.
pub trait EvidenceObserver: Send + Sync + Debug {
    /// One S3 object was fetched (`bytes` as GetObject reported them).
    fn object_read(&self, source: &str, bytes: u64);
    /// The shared store served, read or evicted a part of `source`.
    fn store_event(&self, source: &str, event: StoreEvent);
    /// The shared store served a kept whole-window answer of `source` (an Athena query's),
    /// read it, or dropped values to stay within its budget when keeping it.
    fn answer_event(&self, source: &str, event: StoreEvent);
    /// The shared store now holds about `bytes`.
    fn store_bytes(&self, bytes: u64);
}

/// Limits the SDK readers work within. The defaults suit AWS; tests shrink them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderSettings {
    /// Objects (S3) or queries (Insights) in flight at once.
    pub concurrency: usize,
    /// Rows one Logs Insights query may return (its `limit`, 10,000 by default). A query that
    /// returns this many rows may have dropped some, so its window is split and queried again.
    pub insights_row_limit: i32,
    /// The shortest window the Insights reader splits down to; a window this short that still
    /// fills `insights_row_limit` is an error, never a truncated answer.
    pub insights_min_window: Duration,
    /// Pause between two polls of a running Insights or Athena query.
    pub poll_interval: Duration,
    /// Polls before a still-running query is stopped and reported as timed out.
    pub max_polls: u32,
}

impl Default for ReaderSettings {
    fn default() -> Self {
        ReaderSettings {
            concurrency: 4,
            insights_row_limit: 10_000,
            insights_min_window: Duration::from_secs(60),
            poll_interval: Duration::from_secs(2),
            // 65 minutes: past Logs Insights' 60-minute query timeout and Athena's 30-minute
            // default DML timeout, so AWS reports the timeout before we give up
            max_polls: 1_950,
        }
    }
}

/// The SDK-backed reader: S3 objects, CloudWatch Logs (Insights or FilterLogEvents) and Athena,
/// all in one target.
#[derive(Debug, Clone)]
pub struct SdkFlowLogs {
    /// S3 client (path-style when an endpoint is configured).
    pub s3: aws_sdk_s3::Client,
    /// CloudWatch Logs client.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// Athena client.
    pub athena: aws_sdk_athena::Client,
    /// Concurrency, Insights row limit and polling bounds.
    pub settings: ReaderSettings,
    /// Counts objects and bytes read, when set.
    pub observer: Option<Arc<dyn EvidenceObserver>>,
}

impl SdkFlowLogs {
    /// A reader with the default [`ReaderSettings`].
    pub fn new(
        s3: aws_sdk_s3::Client,
        logs: aws_sdk_cloudwatchlogs::Client,
        athena: aws_sdk_athena::Client,
    ) -> Self {
        SdkFlowLogs {
            s3,
            logs,
            athena,
            settings: ReaderSettings::default(),
            observer: None,
        }
    }

    /// Where `s3://bucket/prefix` is read from, and how.
    fn bucket<'a>(&'a self, bucket: &'a str, prefix: &'a str) -> s3::Bucket<'a> {
        s3::Bucket {
            client: &self.s3,
            settings: &self.settings,
            bucket,
            prefix,
            observer: self.observer.as_ref(),
        }
    }
}

#[async_trait::async_trait]
impl FlowLogs for SdkFlowLogs {
    async fn collect(&self, request: &EvidenceRequest) -> Result<EvidenceDocument, AwsError> {
        match &request.source {
            EvidenceSource::S3 { bucket, prefix } => {
                s3::collect(&self.bucket(bucket, prefix), request).await
            }
            EvidenceSource::CloudWatchInsights {
                log_group,
                log_format,
            } => {
                let group = insights::Group {
                    name: log_group,
                    format: log_format.as_deref(),
                };
                insights::collect(&self.logs, &self.settings, &group, request).await
            }
            EvidenceSource::CloudWatchFilter {
                log_group,
                log_format,
            } => filter::collect(&self.logs, log_group, log_format.as_deref(), request).await,
            EvidenceSource::Athena {
                database,
                table,
                workgroup,
                output_location,
            } => {
                let target = athena::Target {
                    database,
                    table,
                    workgroup,
                    output_location: output_location.as_deref(),
                };
                athena::collect(&self.athena, &self.settings, &target, request).await
            }
        }
    }
}

#[cfg(test)]
mod tests;
