//! AWS layer: the shared evidence store's kept answers — whole-window answers of a reader that
//! aggregates on the server (Athena), kept under the store's byte budget and served to a later
//! request for the same owner, source, window and action when they were collected at or after
//! its `fresh_since`. Identical concurrent requests wait on one read either way.

use super::memory::{Budgeted, Flights};
use super::{Direct, Key, Stored};
use crate::aws::flowlogs::{EvidenceDocument, EvidenceObserver, EvidenceSource, StoreEvent};
use crate::aws::AwsError;
use jiff::Timestamp;
use std::future::Future;
use std::sync::Arc;

/// An answer and when the read that produced it started.
pub(super) type Answer = (Timestamp, Arc<EvidenceDocument>);

/// True for the sources whose whole-window answers are kept across time: Athena (one query
/// scans the window for every resource; its answer does not depend on who asks).
pub(super) fn kept_across_time(source: &EvidenceSource) -> bool {
    matches!(source, EvidenceSource::Athena { .. })
}

/// What answering a request needs from the store.
pub(super) struct Answers<'a> {
    pub memory: &'a Budgeted<Key, Stored>,
    pub flights: &'a Flights<Direct, Result<Answer, AwsError>>,
    pub observer: Option<&'a Arc<dyn EvidenceObserver>>,
}

impl Answers<'_> {
    fn event(&self, source: &EvidenceSource, event: StoreEvent) {
        if let Some(observer) = self.observer {
            observer.answer_event(&source.describe(), event);
        }
    }

    /// The answer to `key`: kept and collected at or after `fresh_since` (never when it is
    /// `None`), else `read`, once for every concurrent asker — and kept when it succeeded and
    /// `fresh_since` says the asker accepts a kept answer (so reads that can never be served
    /// again — diagnose, break-glass — do not push days out of memory).
    pub(super) async fn answer<F>(
        &self,
        key: Direct,
        fresh_since: Option<Timestamp>,
        read: F,
    ) -> Result<Answer, AwsError>
    where
        F: Future<Output = Result<EvidenceDocument, AwsError>>,
    {
        let keep = fresh_since.is_some() && kept_across_time(&key.1);
        if let (Some(since), true) = (fresh_since, keep) {
            if let Some(Stored::Answer(at, document)) =
                self.memory.get(&Key::Answer(key.clone())).as_deref()
            {
                if *at >= since {
                    self.event(&key.1, StoreEvent::Hit);
                    return Ok((*at, document.clone()));
                }
            }
        }
        let source = key.1.clone();
        let flight_key = key.clone();
        let read = async move {
            let at = Timestamp::now();
            if keep {
                self.event(&source, StoreEvent::Miss);
            }
            let document = Arc::new(read.await?);
            if keep {
                let (bytes, value) = (document.heap_bytes(), Stored::Answer(at, document.clone()));
                for _ in 0..self.memory.put(Key::Answer(key), Arc::new(value), bytes) {
                    self.event(&source, StoreEvent::Evicted);
                }
                if let Some(observer) = self.observer {
                    observer.store_bytes(self.memory.bytes() as u64);
                }
            }
            Ok((at, document))
        };
        self.flights.run(flight_key, read).await
    }
}
