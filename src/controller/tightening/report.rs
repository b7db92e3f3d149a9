//! Controller layer: the tightening's report — the working status of one reconcile, condition
//! updates in kstatus style, events on transitions only, and the status writes: each one
//! conditional on the resourceVersion this reconcile read (or last wrote), so a reconcile on a
//! stale cached object can never overwrite newer status (e.g. drop `status.applied`); the final
//! write is skipped when only timestamps would change.

use super::store::{EventKind, Store};
use crate::controller::Error;
use crate::crd::{PlanPhase, SecurityGroupTightening, SecurityGroupTighteningStatus};
use crate::domain::conditions::{
    find, mark_ready, mark_reconciling, mark_stalled, only_timestamps_differ, remove_condition,
    set_condition, Desired, Status, TIMESTAMP_KEYS,
};
use kube::ResourceExt;

/// One reconcile's view of the status: what it was, what it is becoming.
pub struct Report<'a> {
    /// The resource.
    pub object: &'a SecurityGroupTightening,
    /// The status as it was read.
    pub previous: SecurityGroupTighteningStatus,
    /// The status being built.
    pub status: SecurityGroupTighteningStatus,
    /// Now.
    pub now: jiff::Timestamp,
    store: &'a dyn Store,
    /// The object's resourceVersion as read, then as last written.
    resource_version: Option<String>,
    /// Whether this reconcile wrote the status already (then `previous` is out of date).
    written: bool,
}

impl<'a> Report<'a> {
    /// Starts from the object's current status.
    pub fn new(
        object: &'a SecurityGroupTightening,
        store: &'a dyn Store,
        now: jiff::Timestamp,
    ) -> Self {
        let previous = object.status.clone().unwrap_or_default();
        let mut status = previous.clone();
        status.observed_generation = object.metadata.generation;
        Report {
            object,
            previous,
            status,
            now,
            store,
            resource_version: object.metadata.resource_version.clone(),
            written: false,
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

    /// Sets a non-kstatus condition.
    pub fn condition(
        &mut self,
        type_: &str,
        status: Status,
        reason: &str,
        message: impl Into<String>,
    ) {
        let desired = Desired::new(type_, status, reason, message).generation(self.generation());
        set_condition(&mut self.status.conditions, desired, self.now);
    }

    /// Drops a condition.
    pub fn remove(&mut self, type_: &str) {
        remove_condition(&mut self.status.conditions, type_);
    }

    /// `Ready=True`.
    pub fn ready(&mut self, reason: &str, message: &str) {
        let (g, now) = (self.generation(), self.now);
        mark_ready(&mut self.status.conditions, reason, message, g, now);
    }

    /// `Reconciling=True`, `Ready=False`.
    pub fn reconciling(&mut self, reason: &str, message: &str) {
        let (g, now) = (self.generation(), self.now);
        mark_reconciling(&mut self.status.conditions, reason, message, g, now);
    }

    /// `Stalled=True`, `Ready=False`: a person must act.
    pub fn stalled(&mut self, reason: &str, message: &str) {
        let (g, now) = (self.generation(), self.now);
        mark_stalled(&mut self.status.conditions, reason, message, g, now);
    }

    /// Sets the phase.
    pub fn phase(&mut self, phase: PlanPhase) {
        self.status.phase = phase;
    }

    /// True when `type_` did not already say `reason` when this reconcile started.
    pub fn is_transition(&self, type_: &str, reason: &str) -> bool {
        find(&self.previous.conditions, type_).is_none_or(|c| c.reason != reason)
    }

    /// Publishes an event when `type_`'s reason is new (transitions only).
    pub async fn event_on_transition(
        &self,
        type_: &str,
        kind: EventKind,
        reason: &str,
        note: String,
    ) {
        if self.is_transition(type_, reason) {
            self.event(kind, reason, note).await;
        }
    }

    /// Publishes an event now.
    pub async fn event(&self, kind: EventKind, reason: &str, note: String) {
        self.store.event(self.object, kind, reason, note).await;
    }

    /// Writes the status now, conditional on the version read: the write-ahead record and the
    /// per-group checkpoints. A decision made on a stale object fails here, before AWS.
    pub async fn checkpoint(&mut self) -> Result<(), Error> {
        let written = self
            .store
            .write_status(self.object, &self.status, self.resource_version.as_deref())
            .await?;
        self.resource_version = written.or(self.resource_version.take());
        self.written = true;
        Ok(())
    }

    /// Writes the status unless it differs from what was read only in timestamps.
    pub async fn finish(&mut self) -> Result<(), Error> {
        let old = serde_json::to_value(&self.previous).unwrap_or_default();
        let new = serde_json::to_value(&self.status).unwrap_or_default();
        let unchanged = self.object.status.is_some() && !self.written;
        if unchanged && only_timestamps_differ(&old, &new, TIMESTAMP_KEYS) {
            return Ok(());
        }
        self.checkpoint().await
    }

    /// Reports a failed reconcile: `Ready` is never True after a failure. Nothing is written
    /// when the failure is a stale read (the next reconcile starts fresh) or lost leadership.
    pub async fn failed(&mut self, error: &Error) {
        if error.is_conflict() || matches!(error, Error::NotLeader(_)) {
            return;
        }
        let message = crate::error::chain(error);
        match error.retry() {
            crate::controller::Retry::AwaitChange | crate::controller::Retry::Slowly => {
                self.stalled(error.reason(), &message)
            }
            crate::controller::Retry::Backoff => self.reconciling(error.reason(), &message),
        }
        if let Err(write) = self.finish().await {
            tracing::warn!(error = %write, "failed to report the failed reconcile in status");
        }
    }
}
