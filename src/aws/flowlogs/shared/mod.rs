//! AWS layer: one read for all — the shared evidence store. Every resource that reads the same
//! flow-log source with the same credentials shares its reads: S3 objects are read once, kept
//! parsed per UTC day under a memory budget (least recently used dropped first) and re-read only
//! when their listing changes (`days.rs`); concurrent requests for the same part, window or
//! query wait on one read (single flight). [`SharedFlowLogs`] wraps the SDK reader for one
//! target; what it returns equals what the SDK reader returns for the same request (a kept Athena
//! answer: what it returned for the same request since the request's `fresh_since`).
//!
//! Served from parts: S3 sources and windows of whole UTC days (the tightening's evidence).
//! Other requests (windows of hours: diagnose, break-glass; CloudWatch Logs and Athena, whose
//! engines aggregate on the server) go to the SDK reader, identical concurrent requests once;
//! Athena's whole-window answers are also kept and served to later requests that accept an answer
//! that old (`EvidenceRequest::fresh_since`, `answers.rs`).

use super::SdkFlowLogs;
use super::{
    EvidenceDocument, EvidenceObserver, EvidenceRequest, EvidenceSource, FlowLogs, SharedEvidence,
};
use crate::aws::{AwsError, Target};
use crate::domain::evidence::Window;
use crate::domain::flowlog::{ActionFilter, DayRange};
use memory::{Budgeted, Flights};
use std::sync::Arc;

#[cfg(test)]
mod answer_tests;
mod answers;
mod days;
mod memory;
#[cfg(test)]
mod tests;

/// What the store keeps: a day part of a source, or a window's assembled document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct StoreKey {
    owner: String,
    source: String,
    action: ActionFilter,
    group: Option<days::Group>,
    window: Option<(i64, i64)>,
}

/// A key of the store's memory: S3 day parts and windows, or a kept whole-window answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Day(StoreKey),
    Answer(Direct),
}

#[derive(Debug)]
enum Stored {
    Part(Arc<days::Part>),
    /// The signature of the parts it was assembled from, and the document.
    Document(u64, Arc<EvidenceDocument>),
    /// When the read that produced it started, and the answer.
    Answer(jiff::Timestamp, Arc<EvidenceDocument>),
}

/// A request the SDK reader answers directly: who asks, and everything the answer depends on.
type Direct = (String, EvidenceSource, Window, ActionFilter, Vec<String>);

/// True when the reader's answer depends on `coverage_interfaces` (its coverage query names
/// them), so requests for other interfaces cannot share it: Logs Insights asks about the given
/// interfaces only. The S3, FilterLogEvents and Athena readers answer the same whatever
/// resource asks (Athena's interfaces query lists every interface with records in the window).
fn answer_names_interfaces(source: &EvidenceSource) -> bool {
    matches!(source, EvidenceSource::CloudWatchInsights { .. })
}

/// The process-wide store: parsed parts under a byte budget, and the reads in flight.
#[derive(Debug)]
pub struct EvidenceStore {
    memory: Budgeted<Key, Stored>,
    s3: days::S3Flights,
    direct: Flights<Direct, Result<answers::Answer, AwsError>>,
    observer: Option<Arc<dyn EvidenceObserver>>,
}

impl EvidenceStore {
    /// A store holding at most `budget_bytes` of parsed evidence; `observer` counts reads,
    /// hits and evictions per source.
    pub fn new(budget_bytes: usize, observer: Option<Arc<dyn EvidenceObserver>>) -> Self {
        EvidenceStore {
            memory: Budgeted::new(budget_bytes),
            s3: days::S3Flights::default(),
            direct: Flights::default(),
            observer,
        }
    }

    /// The bytes of parsed evidence held now.
    pub fn bytes(&self) -> usize {
        self.memory.bytes()
    }

    /// The reader counts what it reads through this store's observer.
    pub fn observer(&self) -> Option<Arc<dyn EvidenceObserver>> {
        self.observer.clone()
    }
}

/// The SDK reader of one target, sharing its reads through an [`EvidenceStore`].
#[derive(Debug, Clone)]
pub struct SharedFlowLogs {
    reader: SdkFlowLogs,
    store: Arc<EvidenceStore>,
    owner: String,
}

impl SharedFlowLogs {
    /// `reader` (built for `target`) sharing through `store`.
    pub fn new(reader: SdkFlowLogs, store: Arc<EvidenceStore>, target: &Target) -> Self {
        let owner = format!(
            "{}|{}|{}",
            target.region,
            target.role_arn.as_deref().unwrap_or_default(),
            target.external_id.as_deref().unwrap_or_default()
        );
        SharedFlowLogs {
            reader,
            store,
            owner,
        }
    }
}

#[async_trait::async_trait]
impl FlowLogs for SharedFlowLogs {
    async fn collect(&self, request: &EvidenceRequest) -> Result<EvidenceDocument, AwsError> {
        self.collect_shared(request)
            .await
            .map(|d| (*d.document).clone())
    }

    async fn collect_shared(&self, request: &EvidenceRequest) -> Result<SharedEvidence, AwsError> {
        let whole_days = DayRange::of_window(&request.window).is_some();
        if let (EvidenceSource::S3 { bucket, prefix }, true) = (&request.source, whole_days) {
            let days = days::Days {
                memory: &self.store.memory,
                flights: &self.store.s3,
                observer: self.store.observer.as_ref(),
                owner: &self.owner,
                at: self.reader.bucket(bucket, prefix),
            };
            let document = days.collect(request).await?;
            return Ok(SharedEvidence {
                document,
                collected_at: None,
            });
        }
        let mut interfaces = match answer_names_interfaces(&request.source) {
            true => request.coverage_interfaces.clone(),
            false => Vec::new(),
        };
        interfaces.sort();
        interfaces.dedup();
        let key = (
            self.owner.clone(),
            request.source.clone(),
            request.window,
            request.action,
            interfaces,
        );
        let answers = answers::Answers {
            memory: &self.store.memory,
            flights: &self.store.direct,
            observer: self.store.observer.as_ref(),
        };
        let read = self.reader.collect(request);
        let (at, document) = answers.answer(key, request.fresh_since, read).await?;
        Ok(SharedEvidence {
            document,
            collected_at: Some(at),
        })
    }
}
