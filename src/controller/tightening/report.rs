//! Controller layer: the tightening's report — the working status of one reconcile, condition
//! updates in kstatus style, events on transitions only, and the final status write that is
//! skipped when only timestamps would change.

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

    /// Writes the status now (write-ahead and per-group checkpoints).
    pub async fn checkpoint(&mut self) -> Result<(), Error> {
        self.store.write_status(self.object, &self.status).await?;
        Ok(())
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
