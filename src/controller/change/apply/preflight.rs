//! Controller layer: what an apply re-checks immediately before its write-ahead, because the
//! decision to apply may rest on old or edited data — the plan in status must still hash to its
//! `hash` (anyone with status RBAC can patch it), and the live rules must still hash to the plan's
//! `snapshotHash` (an evidence read can last an hour). The per-group never-widen check runs on
//! the manifest (the kind's [`Changing::check_group`]), and the kind's own hold.

use super::super::store::EventKind;
use super::super::{ChangeStatus, Changing, Hold, Report};
use crate::crd::{short_hash, PlanPhase};
use crate::domain::conditions::reasons;
use crate::domain::plan::{plan_hash, Plan};
use kube::runtime::controller::Action;
use std::time::Duration;

/// How soon a refused apply is decided again.
const AGAIN: Duration = Duration::from_secs(1);

/// `Ok` when `plan` is the plan `approved` names, unedited.
pub fn intact(plan: &Plan, approved: &str) -> Result<(), String> {
    let content = plan_hash(plan);
    if content != plan.hash {
        return Err(format!(
            "status.plan was edited: its content hashes to {}, not to its recorded hash {}",
            short_hash(&content),
            short_hash(&plan.hash)
        ));
    }
    if approved != plan.hash {
        return Err(format!(
            "spec.approved ({}) does not name the plan in status ({})",
            short_hash(approved),
            short_hash(&plan.hash)
        ));
    }
    Ok(())
}

/// The plan in status cannot be trusted: nothing is applied, the plan is dropped and computed
/// again from the spec and the live rules (same inputs give the same hash, so a genuine approval
/// stays valid).
pub async fn invalid<K: Changing>(report: &mut Report<'_, K>, why: String) -> Action {
    let message = format!(
        "{why}; nothing was applied. The plan is computed again from the spec and the live rules"
    );
    *report.status.plan_mut() = None;
    report.status.set_plan_short_hash(None);
    report.phase(PlanPhase::AwaitingApproval);
    report.stalled(reasons::PLAN_INVALID, &message);
    report
        .event(EventKind::Warning, reasons::PLAN_INVALID, message)
        .await;
    Action::requeue(AGAIN)
}

/// The live rules changed since the plan was computed: nothing is applied; the next reconcile
/// re-plans and reports the stale approval.
pub fn drifted<K: Changing>(report: &mut Report<'_, K>) -> Action {
    report.reconciling(
        reasons::PLAN_STALE,
        "the live rules changed while the apply was being prepared; nothing was applied; re-planning",
    );
    Action::requeue(AGAIN)
}

/// The kind holds the approved plan (e.g. its evidence is too old): nothing is applied; the
/// kind's message says what happens next.
pub fn held<K: Changing>(report: &mut Report<'_, K>, hold: Hold) -> Action {
    report.phase(PlanPhase::AwaitingApproval);
    report.stalled(hold.reason, &hold.message);
    Action::requeue(hold.requeue)
}
