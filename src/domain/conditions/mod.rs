//! Domain layer (pure): metav1-style conditions and their merge rules (transition-time semantics).
//!
//! Conditions are a list keyed by `type`. [`set_condition`] upserts one entry: `lastTransitionTime`
//! moves only when `status` flips, while reason, message and observedGeneration always follow the
//! latest call. `Ready`, `Reconciling` and `Stalled` follow kstatus (see [`mark_ready`],
//! [`mark_reconciling`], [`mark_stalled`]) so Flux and Argo CD compute health. The current time is
//! always passed in; this module never reads the clock.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Condition types, CamelCase, in one place (DESIGN §6, §8).
pub mod types {
    /// kstatus: the resource reached its desired state.
    pub const READY: &str = "Ready";
    /// kstatus: work is in progress (present only while True).
    pub const RECONCILING: &str = "Reconciling";
    /// kstatus: progress is blocked until something changes (present only while True).
    pub const STALLED: &str = "Stalled";
    /// A plan is computed and shown in status.
    pub const PLANNED: &str = "Planned";
    /// The evidence covers the whole window without gaps.
    pub const EVIDENCE_COMPLETE: &str = "EvidenceComplete";
    /// The approved plan (or the break-glass rules) is in AWS.
    pub const APPLIED: &str = "Applied";
    /// The last apply was reverted and verified.
    pub const REVERTED: &str = "Reverted";
    /// Diagnose found rejected private traffic that no rule covers.
    pub const REJECTED_TRAFFIC: &str = "RejectedTraffic";
    /// A break-glass extension passed its expiry.
    pub const EXPIRED: &str = "Expired";
    /// A tightening plan now covers a break-glass extension's traffic.
    pub const SUPERSEDED: &str = "Superseded";
    /// An org scan reached every account and region.
    pub const COMPLETE: &str = "Complete";
    /// An org scan found no CRITICAL finding.
    pub const COMPLIANT: &str = "Compliant";
}

/// Condition reasons, CamelCase, in one place. Event reasons and metric labels reuse them.
pub mod reasons {
    /// A code path that does not exist yet.
    pub const NOT_IMPLEMENTED: &str = "NotImplemented";
    /// The spec failed a check only the controller can make; no AWS call was made.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// The tenancy rules do not allow this namespace to act on the account.
    pub const FORBIDDEN: &str = "Forbidden";
    /// Work started or continues.
    pub const PROGRESSING: &str = "Progressing";
    /// Flow logs are being read and the plan computed.
    pub const ANALYSING: &str = "Analysing";
    /// A plan is ready for review.
    pub const PLAN_READY: &str = "PlanReady";
    /// A plan waits for `spec.approved` to equal its hash.
    pub const AWAITING_APPROVAL: &str = "AwaitingApproval";
    /// `spec.approved` is set but does not equal `status.plan.hash`.
    pub const APPROVAL_MISMATCH: &str = "ApprovalMismatch";
    /// The live rules no longer hash to the plan's `snapshotHash`.
    pub const PLAN_STALE: &str = "PlanStale";
    /// The evidence has gaps or is younger than its window.
    pub const EVIDENCE_INCOMPLETE: &str = "EvidenceIncomplete";
    /// The approved plan's evidence was older than `evidence.maxAge`: it was read again and the
    /// plan recomputed; the new plan awaits approval.
    pub const EVIDENCE_STALE: &str = "EvidenceStale";
    /// The evidence covers its whole window.
    pub const EVIDENCE_COMPLETE: &str = "EvidenceComplete";
    /// An apply began.
    pub const APPLY_STARTED: &str = "ApplyStarted";
    /// An AWS call failed during apply; what was done is recorded.
    pub const APPLY_HALTED: &str = "ApplyHalted";
    /// The change is in AWS.
    pub const APPLIED: &str = "Applied";
    /// Some groups were changed, others skipped (break-glass).
    pub const PARTIALLY_APPLIED: &str = "PartiallyApplied";
    /// The pre-apply rules were restored and verified.
    pub const REVERTED: &str = "Reverted";
    /// Restoring the pre-apply rules failed.
    pub const REVERT_FAILED: &str = "RevertFailed";
    /// Rejected private traffic that no current rule covers was found.
    pub const REJECTED_TRAFFIC: &str = "RejectedTraffic";
    /// Diagnose found nothing new.
    pub const NO_REJECTED_TRAFFIC: &str = "NoRejectedTraffic";
    /// Break-glass rules were added.
    pub const BREAK_GLASS_APPLIED: &str = "BreakGlassApplied";
    /// A break-glass extension expired.
    pub const BREAK_GLASS_EXPIRED: &str = "BreakGlassExpired";
    /// A tightening plan covers the extension's traffic.
    pub const SUPERSEDED: &str = "Superseded";
    /// No applied tightening revoked a rule the extension added.
    pub const NOT_SUPERSEDED: &str = "NotSuperseded";
    /// A break-glass extension has not reached its expiry.
    pub const NOT_EXPIRED: &str = "NotExpired";
    /// Auto-discovery found more groups than allowed; nothing was changed in AWS.
    pub const TOO_MANY_GROUPS: &str = "TooManyGroups";
    /// An org scan finished.
    pub const SCAN_COMPLETE: &str = "ScanComplete";
    /// An org scan could not reach some accounts or regions.
    pub const SCAN_INCOMPLETE: &str = "ScanIncomplete";
    /// An org scan found CRITICAL findings.
    pub const CRITICAL_FINDINGS: &str = "CriticalFindings";
    /// An org scan found no CRITICAL finding.
    pub const NO_CRITICAL_FINDINGS: &str = "NoCriticalFindings";
    /// AWS throttled the controller; it backs off and retries.
    pub const THROTTLED: &str = "Throttled";
    /// AWS denied access (credentials, role or policy).
    pub const ACCESS_DENIED: &str = "AccessDenied";
    /// A transient AWS or Kubernetes error; retried with backoff.
    pub const TRANSIENT_ERROR: &str = "TransientError";
    /// Requested security groups do not exist.
    pub const GROUPS_NOT_FOUND: &str = "GroupsNotFound";
    /// `spec.revert` is true but no apply is recorded.
    pub const NOTHING_TO_REVERT: &str = "NothingToRevert";
    /// A plan could not be computed from the live rules.
    pub const PLAN_FAILED: &str = "PlanFailed";
    /// Another resource holds the claim on a group this one would change (one actor per group).
    pub const GROUP_CLAIMED: &str = "GroupClaimed";
    /// `status.plan` no longer hashes to its `hash`, or would widen access: it was edited.
    pub const PLAN_INVALID: &str = "PlanInvalid";
    /// A transient AWS error paused an apply; it resumes from the manifest after a backoff.
    pub const APPLY_RETRYING: &str = "ApplyRetrying";
    /// `status.applied` was restored from the manifest ConfigMaps (the source of truth).
    pub const APPLY_RECOVERED: &str = "ApplyRecovered";
    /// A revert began and was not verified, and `spec.revert` is false again.
    pub const REVERT_INCOMPLETE: &str = "RevertIncomplete";
}

/// A `metav1.Condition`: the same JSON shape, so status readers (kstatus, Flux, Argo CD) understand it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, CamelCase (`Ready`, `Planned`, …). Unique within a list.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// CamelCase reason for the last transition.
    pub reason: String,
    /// Human-readable detail.
    #[serde(default)]
    pub message: String,
    /// The `.metadata.generation` the condition was set from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When `status` last changed (RFC 3339). Unchanged when only reason or message change.
    pub last_transition_time: String,
}

/// The three values of a condition's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `True`.
    True,
    /// `False`.
    False,
    /// `Unknown`.
    Unknown,
}

impl Status {
    /// The wire form: `True`, `False` or `Unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::True => "True",
            Status::False => "False",
            Status::Unknown => "Unknown",
        }
    }

    /// `True` when `value` is true, else `False`.
    pub fn from_bool(value: bool) -> Status {
        if value {
            Status::True
        } else {
            Status::False
        }
    }
}

/// What a reconciler wants a condition to say; [`set_condition`] turns it into a [`Condition`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired<'a> {
    /// Condition type (a constant from [`types`]).
    pub type_: &'a str,
    /// The new status.
    pub status: Status,
    /// CamelCase reason (a constant from [`reasons`]).
    pub reason: &'a str,
    /// Human-readable detail.
    pub message: String,
    /// The generation the reconciler observed.
    pub observed_generation: Option<i64>,
}

impl<'a> Desired<'a> {
    /// A desired condition with the given type, status, reason and message.
    pub fn new(
        type_: &'a str,
        status: Status,
        reason: &'a str,
        message: impl Into<String>,
    ) -> Self {
        Desired {
            type_,
            status,
            reason,
            message: message.into(),
            observed_generation: None,
        }
    }

    /// The same condition, stamped with the observed generation.
    pub fn generation(mut self, generation: Option<i64>) -> Self {
        self.observed_generation = generation;
        self
    }
}

/// Formats `now` the way metav1.Time does: RFC 3339 in UTC, whole seconds.
pub fn format_time(now: jiff::Timestamp) -> String {
    jiff::Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

/// The condition of `type_`, if present.
pub fn find<'c>(conditions: &'c [Condition], type_: &str) -> Option<&'c Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// True when the condition of `type_` is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == Status::True.as_str())
}

/// Upserts one condition. `lastTransitionTime` becomes `now` only when the condition is new or its
/// status flips; reason, message and observedGeneration always take the desired values. Returns
/// true when anything other than nothing changed.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    desired: Desired<'_>,
    now: jiff::Timestamp,
) -> bool {
    let status = desired.status.as_str();
    match conditions.iter_mut().find(|c| c.type_ == desired.type_) {
        Some(existing) => {
            let before = existing.clone();
            if existing.status != status {
                existing.status = status.to_string();
                existing.last_transition_time = format_time(now);
            }
            existing.reason = desired.reason.to_string();
            existing.message = desired.message;
            existing.observed_generation = desired.observed_generation;
            *existing != before
        }
        None => {
            conditions.push(Condition {
                type_: desired.type_.to_string(),
                status: status.to_string(),
                reason: desired.reason.to_string(),
                message: desired.message,
                observed_generation: desired.observed_generation,
                last_transition_time: format_time(now),
            });
            true
        }
    }
}

/// Applies several desired conditions in order (see [`set_condition`]). Returns true if any changed.
pub fn merge_conditions<'a>(
    conditions: &mut Vec<Condition>,
    desired: impl IntoIterator<Item = Desired<'a>>,
    now: jiff::Timestamp,
) -> bool {
    desired.into_iter().fold(false, |changed, d| {
        set_condition(conditions, d, now) | changed
    })
}

/// Removes the condition of `type_`. Returns true if it was present.
pub fn remove_condition(conditions: &mut Vec<Condition>, type_: &str) -> bool {
    let before = conditions.len();
    conditions.retain(|c| c.type_ != type_);
    conditions.len() != before
}

/// kstatus "done": `Ready=True`; `Reconciling` and `Stalled` removed.
pub fn mark_ready(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> bool {
    let ready = Desired::new(types::READY, Status::True, reason, message).generation(generation);
    let changed = set_condition(conditions, ready, now);
    remove_condition(conditions, types::RECONCILING)
        | remove_condition(conditions, types::STALLED)
        | changed
}

/// kstatus "in progress": `Reconciling=True`, `Ready=False` with the same reason; `Stalled` removed.
pub fn mark_reconciling(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> bool {
    let state = (types::RECONCILING, types::STALLED);
    mark_not_ready(conditions, state, reason, message, generation, now)
}

/// kstatus "blocked": `Stalled=True`, `Ready=False` with the same reason; `Reconciling` removed.
pub fn mark_stalled(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> bool {
    let state = (types::STALLED, types::RECONCILING);
    mark_not_ready(conditions, state, reason, message, generation, now)
}

/// `(set, cleared)`: sets `set=True` and `Ready=False` with one reason, removes `cleared`.
fn mark_not_ready(
    conditions: &mut Vec<Condition>,
    (set, cleared): (&str, &str),
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> bool {
    let changed = merge_conditions(
        conditions,
        [
            Desired::new(set, Status::True, reason, message).generation(generation),
            Desired::new(types::READY, Status::False, reason, message).generation(generation),
        ],
        now,
    );
    remove_condition(conditions, cleared) | changed
}

/// JSON keys that only carry timestamps; a status that differs only in these is not worth a patch.
pub const TIMESTAMP_KEYS: &[&str] = &[
    "lastTransitionTime",
    "collectedAt",
    "generatedAt",
    "checkedAt",
    "lastSeen",
];

/// True when `old` and `new` differ only in the values of `timestamp_keys` (at any depth) — or not
/// at all. Reconcilers use it to skip no-op status patches.
pub fn only_timestamps_differ(
    old: &serde_json::Value,
    new: &serde_json::Value,
    timestamp_keys: &[&str],
) -> bool {
    use serde_json::Value;
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let relevant = |m: &serde_json::Map<String, Value>| {
                m.keys()
                    .filter(|k| !timestamp_keys.contains(&k.as_str()))
                    .count()
            };
            relevant(a) == relevant(b)
                && a.iter()
                    .filter(|(k, _)| !timestamp_keys.contains(&k.as_str()))
                    .all(|(k, v)| {
                        b.get(k)
                            .is_some_and(|w| only_timestamps_differ(v, w, timestamp_keys))
                    })
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(v, w)| only_timestamps_differ(v, w, timestamp_keys))
        }
        _ => old == new,
    }
}

#[cfg(test)]
mod tests;
