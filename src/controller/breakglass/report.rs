//! Controller layer: the break-glass report — the status one reconcile builds (conditions in
//! kstatus style, the per-group record), events on transitions, and the final write, skipped
//! when only timestamps would change.

use super::store::{EventKind, Store};
use crate::controller::{Error, Retry};
use crate::crd::{
    BreakGlassExtension, BreakGlassExtensionStatus, BreakGlassGroupStatus, BreakGlassPhase,
};
use crate::domain::breakglass::Holding;
use crate::domain::conditions::{
    find, mark_ready, mark_reconciling, mark_stalled, only_timestamps_differ, set_condition,
    Desired, Status, TIMESTAMP_KEYS,
};
use std::collections::BTreeSet;

/// One reconcile's view of the status.
pub struct Report<'a> {
    /// The extension.
    pub object: &'a BreakGlassExtension,
    /// The status as it was read.
    pub previous: BreakGlassExtensionStatus,
    /// The status being built.
    pub status: BreakGlassExtensionStatus,
    /// Now.
    pub now: jiff::Timestamp,
    store: &'a dyn Store,
}

impl<'a> Report<'a> {
    /// Starts from the object's current status.
    pub fn new(
        object: &'a BreakGlassExtension,
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

    /// `Ready=True`, neither reconciling nor stalled.
    pub fn ready(&mut self, reason: &str, message: &str) {
        let (g, now) = (self.generation(), self.now);
        mark_ready(&mut self.status.conditions, reason, message, g, now);
    }

    /// `Stalled=True`, `Ready=False`: a person must act.
    pub fn stalled(&mut self, reason: &str, message: &str) {
        let (g, now) = (self.generation(), self.now);
        mark_stalled(&mut self.status.conditions, reason, message, g, now);
    }

    /// True when condition `type_` did not already say `reason` when this reconcile started.
    pub fn is_transition(&self, type_: &str, reason: &str) -> bool {
        find(&self.previous.conditions, type_).is_none_or(|c| c.reason != reason)
    }

    /// Publishes an event now.
    pub async fn event(&self, kind: EventKind, reason: &str, note: String) {
        self.store.event(self.object, kind, reason, note).await;
    }

    /// The record of one group (empty when it has none).
    pub fn holding(&self, group_id: &str) -> Holding {
        let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<String>>();
        self.group(group_id)
            .map(|g| Holding {
                added: set(&g.added),
                shared: set(&g.shared),
                pending: set(&g.pending),
            })
            .unwrap_or_default()
    }

    /// The status entry of one group.
    pub fn group(&self, group_id: &str) -> Option<&BreakGlassGroupStatus> {
        self.status.groups.iter().find(|g| g.group_id == group_id)
    }

    /// The groups the record has an entry for.
    pub fn group_ids(&self) -> Vec<String> {
        self.status
            .groups
            .iter()
            .map(|g| g.group_id.clone())
            .collect()
    }

    /// Replaces (or adds) the status entry of one group, keeping the list sorted by group id.
    pub fn put_group(&mut self, entry: BreakGlassGroupStatus) {
        self.status.groups.retain(|g| g.group_id != entry.group_id);
        self.status.groups.push(entry);
        self.status
            .groups
            .sort_by(|a, b| a.group_id.cmp(&b.group_id));
        self.count_rules();
    }

    /// Drops the status entry of one group.
    pub fn remove_group(&mut self, group_id: &str) {
        self.status.groups.retain(|g| g.group_id != group_id);
        self.count_rules();
    }

    fn count_rules(&mut self) {
        let added = self.status.groups.iter().map(|g| g.added.len() as u32);
        self.status.rules_added = added.sum();
    }

    /// Writes the status now (write-ahead, and before the reference-count lock is released).
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
        let (g, now) = (self.generation(), self.now);
        match error.retry() {
            Retry::AwaitChange | Retry::Slowly => {
                if self.status.applied_at.is_none() {
                    self.status.phase = BreakGlassPhase::Failed;
                }
                self.stalled(error.reason(), &message)
            }
            Retry::Backoff => {
                mark_reconciling(
                    &mut self.status.conditions,
                    error.reason(),
                    &message,
                    g,
                    now,
                );
            }
        }
        if let Err(write) = self.finish().await {
            tracing::warn!(error = %write, "failed to report the failed reconcile in status");
        }
    }
}
