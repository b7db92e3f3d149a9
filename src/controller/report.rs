//! Controller layer: one reconcile's status report, for any kind — the status as it was read and
//! as it is becoming, conditions in kstatus style, events, the final write skipped when only
//! timestamps would change, and the report of a failed reconcile (`Ready` is never True after
//! one). Every write is conditional on the resourceVersion the reconcile read (or last wrote)
//! when the kind's store honours it, so a reconcile on a stale cached object can never
//! overwrite newer status. A kind plugs in with [`Reported`] (its status type) and a
//! [`StatusStore`]; the OrgRiskScan, SecurityGroupTightening and SecurityGroupCompaction
//! reconcilers use it.

use super::{Error, Retry};
use crate::domain::conditions::{
    find, mark_ready, mark_reconciling, mark_stalled, only_timestamps_differ, remove_condition,
    set_condition, Condition, Desired, Status, TIMESTAMP_KEYS,
};
use kube::{Resource, ResourceExt};
use serde::Serialize;

/// Whether an event is routine or needs attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `Normal`.
    Normal,
    /// `Warning`.
    Warning,
}

/// A kind's status as the report needs it.
/// Implements [`KindStatus`] and [`Reported`] for a kind whose status has the usual
/// `conditions` and `observedGeneration` fields: `reported_kind!(Kind, KindStatus)`.
#[macro_export]
macro_rules! reported_kind {
    ($kind:ty, $status:ty) => {
        impl $crate::controller::report::KindStatus for $status {
            fn conditions(&self) -> &[$crate::domain::conditions::Condition] {
                &self.conditions
            }

            fn conditions_mut(&mut self) -> &mut Vec<$crate::domain::conditions::Condition> {
                &mut self.conditions
            }

            fn observed_generation(&self) -> Option<i64> {
                self.observed_generation
            }

            fn set_observed_generation(&mut self, generation: Option<i64>) {
                self.observed_generation = generation;
            }
        }

        impl $crate::controller::report::Reported for $kind {
            type Status = $status;

            fn current_status(&self) -> Option<&$status> {
                self.status.as_ref()
            }
        }
    };
}

pub trait KindStatus: Clone + Default + Serialize + Send + Sync {
    /// `status.conditions`.
    fn conditions(&self) -> &[Condition];
    /// `status.conditions`, to change.
    fn conditions_mut(&mut self) -> &mut Vec<Condition>;
    /// `status.observedGeneration`.
    fn observed_generation(&self) -> Option<i64>;
    /// Sets `status.observedGeneration`.
    fn set_observed_generation(&mut self, generation: Option<i64>);
}

/// A kind whose reconcile reports through [`Report`].
pub trait Reported: Resource<DynamicType = ()> + Send + Sync {
    /// Its status type.
    type Status: KindStatus;
    /// Its current status, if any.
    fn current_status(&self) -> Option<&Self::Status>;
}

/// Where a report goes: the status subresource and events.
#[async_trait::async_trait]
pub trait StatusStore<K: Reported>: Send + Sync {
    /// Replaces the status this controller owns. With `resource_version`, a store that honours
    /// it fails the write with a conflict ([`Error::is_conflict`]) when the object changed since
    /// that version was read. Returns the object's new resourceVersion when it knows it.
    async fn write_status(
        &self,
        object: &K,
        status: &K::Status,
        resource_version: Option<&str>,
    ) -> Result<Option<String>, Error>;
    /// Publishes an event about the object (best effort).
    async fn event(&self, object: &K, kind: EventKind, reason: &str, note: String);
}

/// One reconcile's view of the status: what it was, what it is becoming.
pub struct Report<'a, K: Reported, S: ?Sized + StatusStore<K>> {
    /// The object.
    pub object: &'a K,
    /// The status as it was read.
    pub previous: K::Status,
    /// The status being built.
    pub status: K::Status,
    /// When the reconcile started.
    pub now: jiff::Timestamp,
    store: &'a S,
    /// The object's resourceVersion as read, then as last written.
    resource_version: Option<String>,
    /// Whether this reconcile wrote the status already (then `previous` is out of date).
    written: bool,
}

impl<'a, K: Reported, S: ?Sized + StatusStore<K>> Report<'a, K, S> {
    /// Starts from the object's current status, observing its generation.
    pub fn new(object: &'a K, store: &'a S, now: jiff::Timestamp) -> Self {
        let previous = object.current_status().cloned().unwrap_or_default();
        let mut status = previous.clone();
        status.set_observed_generation(object.meta().generation);
        Report {
            object,
            previous,
            status,
            now,
            store,
            resource_version: object.meta().resource_version.clone(),
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
        self.object.meta().generation
    }

    /// Sets a condition other than the kstatus ones.
    pub fn condition(
        &mut self,
        type_: &str,
        status: Status,
        reason: &str,
        message: impl Into<String>,
    ) {
        let desired = Desired::new(type_, status, reason, message).generation(self.generation());
        set_condition(self.status.conditions_mut(), desired, self.now);
    }

    /// Drops a condition.
    pub fn remove(&mut self, type_: &str) {
        remove_condition(self.status.conditions_mut(), type_);
    }

    /// `Ready=True`; `Reconciling` and `Stalled` removed.
    pub fn ready(&mut self, reason: &str, message: &str) {
        let (g, now) = (self.generation(), self.now);
        mark_ready(self.status.conditions_mut(), reason, message, g, now);
    }

    /// `Reconciling=True`, `Ready=False`: work in progress.
    pub fn reconciling(&mut self, reason: &str, message: &str) {
        let (g, now) = (self.generation(), self.now);
        mark_reconciling(self.status.conditions_mut(), reason, message, g, now);
    }

    /// `Stalled=True`, `Ready=False`: a person must act.
    pub fn stalled(&mut self, reason: &str, message: &str) {
        let (g, now) = (self.generation(), self.now);
        mark_stalled(self.status.conditions_mut(), reason, message, g, now);
    }

    /// True when `type_` did not say `status` when this reconcile started.
    pub fn flipped(&self, type_: &str, status: Status) -> bool {
        find(self.previous.conditions(), type_).is_none_or(|c| c.status != status.as_str())
    }

    /// True when `type_` did not already say `reason` when this reconcile started.
    pub fn is_transition(&self, type_: &str, reason: &str) -> bool {
        find(self.previous.conditions(), type_).is_none_or(|c| c.reason != reason)
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

    /// Writes the status now, conditional on the version read (a checkpoint before long work,
    /// a write-ahead record): a decision made on a stale object fails here, before AWS.
    pub async fn checkpoint(&mut self) -> Result<(), Error> {
        let written = self
            .store
            .write_status(self.object, &self.status, self.resource_version.as_deref())
            .await?;
        self.resource_version = written.or(self.resource_version.take());
        self.written = true;
        Ok(())
    }

    /// Writes the status unless it differs from what was read only in timestamps (and nothing
    /// was written since it was read).
    pub async fn finish(&mut self) -> Result<(), Error> {
        let old = serde_json::to_value(&self.previous).unwrap_or_default();
        let new = serde_json::to_value(&self.status).unwrap_or_default();
        let unchanged = self.object.current_status().is_some() && !self.written;
        if unchanged && only_timestamps_differ(&old, &new, TIMESTAMP_KEYS) {
            return Ok(());
        }
        self.checkpoint().await
    }

    /// Marks a failed reconcile: `Stalled` when only a change (or a person) can help, else
    /// `Reconciling`; `Ready=False` either way, with the error's reason and chain.
    pub fn failed_conditions(&mut self, error: &Error) {
        let message = crate::error::chain(error);
        match error.retry() {
            Retry::AwaitChange | Retry::Slowly => self.stalled(error.reason(), &message),
            Retry::Backoff => self.reconciling(error.reason(), &message),
        }
    }

    /// Writes the failed reconcile's status (a failed write is logged: the error itself goes
    /// to the runner's backoff).
    pub async fn write_failed(&mut self) {
        if let Err(write) = self.finish().await {
            tracing::warn!(error = %write, "failed to report the failed reconcile in status");
        }
    }

    /// Reports a failed reconcile: `Ready` is never True after a failure. Nothing is written
    /// when the failure is a stale read (the next reconcile starts fresh) or lost leadership.
    pub async fn failed(&mut self, error: &Error) {
        if error.is_conflict() || matches!(error, Error::NotLeader(_)) {
            return;
        }
        self.failed_conditions(error);
        self.write_failed().await;
    }

    /// Ends a reconcile with its outcome: a success writes the status (unless only timestamps
    /// changed), a failure is reported in status and passed on to the runner's backoff.
    pub async fn settle<T>(&mut self, outcome: Result<T, Error>) -> Result<T, Error> {
        match outcome {
            Ok(value) => {
                self.finish().await?;
                Ok(value)
            }
            Err(error) => {
                self.failed(&error).await;
                Err(error)
            }
        }
    }
}

/// Statuses written and events published, in memory: the [`StatusStore`] half of a kind's
/// test store.
#[derive(Debug)]
pub struct MemoryStatus<S> {
    /// Every status written, in order.
    pub statuses: std::sync::Mutex<Vec<S>>,
    /// Events as `(kind, reason, note)`.
    pub events: std::sync::Mutex<Vec<(EventKind, String, String)>>,
}

impl<S> Default for MemoryStatus<S> {
    fn default() -> Self {
        MemoryStatus {
            statuses: std::sync::Mutex::new(Vec::new()),
            events: std::sync::Mutex::new(Vec::new()),
        }
    }
}

impl<S: Clone> MemoryStatus<S> {
    /// Records a status write.
    pub fn write(&self, status: &S) {
        let mut statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        statuses.push(status.clone());
    }

    /// Records an event.
    pub fn event(&self, kind: EventKind, reason: &str, note: String) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events.push((kind, reason.to_owned(), note));
    }

    /// The last status written.
    pub fn last_status(&self) -> Option<S> {
        let statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        statuses.last().cloned()
    }

    /// Reasons of the events published so far.
    pub fn event_reasons(&self) -> Vec<String> {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events.iter().map(|(_, reason, _)| reason.clone()).collect()
    }
}
