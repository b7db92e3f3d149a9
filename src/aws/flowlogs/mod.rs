//! AWS layer: the flow-log evidence port. A reconciler asks for the flows of a window from one
//! source (S3, CloudWatch Logs, Athena) and gets back the domain's [`EvidenceDocument`]: distinct
//! flow tuples with record counts, coverage and parse counters. Adapters live beside this file;
//! [`fake::FakeFlowLogs`] serves reconciler unit tests.

use super::AwsError;
use crate::domain::evidence::{EvidenceDocument, Window};
use crate::domain::flowlog::ActionFilter;

pub mod fake;

/// Where the flow logs are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EvidenceSource {
    /// Plain or gzip text objects under `s3://bucket/prefix`.
    S3 { bucket: String, prefix: String },
    /// A CloudWatch Logs group, aggregated by Logs Insights on the server.
    CloudWatchInsights { log_group: String },
    /// A CloudWatch Logs group, streamed with FilterLogEvents and parsed locally.
    CloudWatchFilter { log_group: String },
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
            EvidenceSource::CloudWatchInsights { log_group } => {
                format!("cloudwatch:{log_group} (Insights)")
            }
            EvidenceSource::CloudWatchFilter { log_group } => {
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
    /// When non-empty, only records captured on these ENIs are needed (a hint adapters may use
    /// to narrow server-side queries; the domain still attributes every returned flow).
    pub interface_ids: Vec<String>,
}

/// Reads flow-log evidence. Errors are classified [`AwsError`]s; a source that is too
/// incomplete to trust (more than 10% unreadable objects, an unsupported format only) is an
/// error, never a silently thinner document.
#[async_trait::async_trait]
pub trait FlowLogs: Send + Sync {
    /// Collects the flows of `request.window` from `request.source`.
    async fn collect(&self, request: &EvidenceRequest) -> Result<EvidenceDocument, AwsError>;
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
}

#[async_trait::async_trait]
impl FlowLogs for SdkFlowLogs {
    async fn collect(&self, request: &EvidenceRequest) -> Result<EvidenceDocument, AwsError> {
        Err(AwsError::Other(super::Failure::new(
            format!("read flow logs from {}", request.source.describe()),
            "Unsupported",
            "this evidence source has no reader yet",
        )))
    }
}
