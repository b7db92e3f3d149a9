//! Controller layer: the scan's report — the working status of one reconcile, conditions in
//! kstatus style, events on transitions, and the final status write that is skipped when only
//! timestamps would change.

use super::store::Store;
use crate::controller::tightening::store::EventKind;
use crate::controller::{Error, Retry};
use crate::crd::{OrgRiskScan, OrgRiskScanStatus};
use crate::domain::conditions::{
    find, mark_ready, mark_reconciling, mark_stalled, only_timestamps_differ, set_condition,
    Desired, Status, TIMESTAMP_KEYS,
};
use kube::ResourceExt;

/// One reconcile's view of the status: what it was, what it is becoming.
pub struct Report<'a> {
    /// The scan.
    pub object: &'a OrgRiskScan,
    /// The status as it was read.
    pub previous: OrgRiskScanStatus,
    /// The status being built.
    pub status: OrgRiskScanStatus,
    /// When the reconcile started.
    pub now: jiff::Timestamp,
    store: &'a dyn Store,
}

impl<'a> Report<'a> {
    /// Starts from the object's current status.
    pub fn new(object: &'a OrgRiskScan, store: &'a dyn Store, now: jiff::Timestamp) -> Self {
        let previous = object.status.clone().unwrap_or_default();
        let mut status = previous.clone();
        status.observed_generation = object.metadata.generation;
        Report {
            object,
            previous,
            status,
            now,
            store,
        }
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!(
            "{}/{}",
            self.object.namespace().unwrap_or_default(),
            self.object.name_any()
        )
    }

    fn generation(&self) -> Option<i64> {
        self.object.metadata.generation
    }

    /// Sets a condition other than the kstatus ones.
    pub fn condition(&mut self, type_: &str, status: Status, reason: &str, message: &str) {
        let desired = Desired::new(type_, status, reason, message).generation(self.generation());
        set_condition(&mut self.status.conditions, desired, self.now);
    }

    /// `Ready=True`.
    pub fn ready(&mut self, reason: &str, message: &str) {
        let (g, now) = (self.generation(), self.now);
        mark_ready(&mut self.status.conditions, reason, message, g, now);
    }

    /// `Reconciling=True`, `Ready=False`: work in progress.
    pub fn reconciling(&mut self, reason: &str, message: &str) {
        let (g, now) = (self.generation(), self.now);
        mark_reconciling(&mut self.status.conditions, reason, message, g, now);
    }

    /// `Stalled=True`, `Ready=False`: a person must act.
    pub fn stalled(&mut self, reason: &str, message: &str) {
        let (g, now) = (self.generation(), self.now);
        mark_stalled(&mut self.status.conditions, reason, message, g, now);
    }

    /// True when `type_` did not say `status` when this reconcile started.
    pub fn flipped(&self, type_: &str, status: Status) -> bool {
        find(&self.previous.conditions, type_).is_none_or(|c| c.status != status.as_str())
    }

    /// Publishes an event now.
    pub async fn event(&self, kind: EventKind, reason: &str, note: String) {
        self.store.event(self.object, kind, reason, note).await;
    }

    /// Writes the status now (the `Scanning` phase before a long scan).
    pub async fn checkpoint(&mut self) -> Result<(), Error> {
        self.store.write_status(self.object, &self.status).await
    }

    /// Writes the status unless it differs from what was read only in timestamps.
    pub async fn finish(&mut self) -> Result<(), Error> {
        let old = serde_json::to_value(&self.previous).unwrap_or_default();
        let new = serde_json::to_value(&self.status).unwrap_or_default();
        if self.object.status.is_some() && only_timestamps_differ(&old, &new, TIMESTAMP_KEYS) {
            return Ok(());
        }
        self.store.write_status(self.object, &self.status).await
    }

    /// Reports a failed reconcile: `Ready` is never True after a failure.
    pub async fn failed(&mut self, error: &Error) {
        let message = crate::error::chain(error);
        match error.retry() {
            Retry::AwaitChange | Retry::Slowly => self.stalled(error.reason(), &message),
            Retry::Backoff => self.reconciling(error.reason(), &message),
        }
        // The last scan's results stay in status; the phase says this attempt failed.
        let scanning = self.status.phase == crate::crd::orgscan::ScanPhase::Scanning;
        if scanning || self.status.last_scan.is_none() {
            self.status.phase = crate::crd::orgscan::ScanPhase::Failed;
        }
        if let Err(write) = self.finish().await {
            tracing::warn!(error = %write, "failed to report the failed reconcile in status");
        }
    }
}
