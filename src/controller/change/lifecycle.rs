//! Controller layer: the facts every changing kind gives `decide`, and the report of the steps
//! that change nothing in AWS — awaiting approval, approval mismatch, stale plan, halted,
//! applied, reverted — with the requeue each one needs. A kind adds its own facts and reports
//! its own refusals.

use super::store::EventKind;
use super::{ChangeStatus, Changing, Report};
use crate::controller::report::KindStatus;
use crate::crd::{short_hash, PlanPhase};
use crate::domain::conditions::{reasons, types};
use crate::domain::tightening::{AppliedFacts, Facts, PlanFacts, Step};
use kube::runtime::controller::Action;
use kube::ResourceExt;
use std::time::Duration;

/// How often a plan awaiting approval is re-checked for staleness.
pub const APPROVAL_RECHECK: Duration = Duration::from_secs(300);
/// How often missing groups are looked for again.
const MISSING_RECHECK: Duration = Duration::from_secs(600);

/// The facts `decide` needs from the status being built: approval, revert, plan and apply.
/// Kind-specific facts (evidence, diagnosis) are left false for the kind to fill in.
pub fn facts<'r, K: Changing>(
    report: &'r Report<'_, K>,
    inputs: &'r str,
    live: &'r str,
) -> Facts<'r> {
    let status = &report.status;
    let object = report.object;
    Facts {
        approved: object.approved(),
        revert: object.revert_requested(),
        require_full_window: false,
        inputs_hash: inputs,
        live_snapshot_hash: live,
        plan: status.plan().map(|p| PlanFacts {
            hash: &p.hash,
            snapshot_hash: &p.snapshot_hash,
            inputs_hash: &p.inputs_hash,
            empty: p
                .groups
                .iter()
                .all(|g| g.revoke.is_empty() && g.authorise.is_empty()),
        }),
        applied: status.applied().map(|a| AppliedFacts {
            plan_hash: &a.plan_hash,
            finished: a.finished_at.is_some(),
            halted: status.phase() == PlanPhase::Halted,
            reverted: a.reverted_at.is_some(),
            revert_started: a.revert_started_at.is_some(),
        }),
        evidence_complete: false,
        evidence_stale: false,
        diagnose_due: false,
    }
}

/// The approve command of the plan in status (empty without one).
pub fn approve<K: Changing>(report: &Report<'_, K>) -> String {
    report
        .status
        .plan()
        .and_then(|p| p.approve_command.clone())
        .unwrap_or_default()
}

/// The hash of the plan in status (empty without one).
pub fn plan_hash<K: Changing>(report: &Report<'_, K>) -> String {
    report
        .status
        .plan()
        .map(|p| p.hash.clone())
        .unwrap_or_default()
}

/// Requested ids that do not exist, or no group matches: nothing can be planned until the spec
/// or AWS changes.
pub fn groups_not_found<K: Changing>(report: &mut Report<'_, K>, missing: &[String]) -> Action {
    let region = &report.object.target().region;
    let message = if missing.is_empty() {
        format!("no security group in {region} matches spec.groups; nothing was changed in AWS")
    } else {
        format!(
            "security groups {} do not exist in {region}: fix spec.groups.ids; nothing was changed in AWS",
            missing.join(", ")
        )
    };
    report.phase(PlanPhase::Failed);
    report.stalled(reasons::GROUPS_NOT_FOUND, &message);
    Action::requeue(MISSING_RECHECK)
}

/// The approved plan went stale (live rules drifted) and was replaced by a new plan.
pub async fn plan_stale<K: Changing>(report: &mut Report<'_, K>) -> Action {
    let message = format!(
        "the live rules changed after plan {} was approved, so nothing was applied; a new plan {} awaits approval: {}",
        short_hash(report.object.approved()),
        short_hash(&plan_hash(report)),
        approve(report)
    );
    report.phase(PlanPhase::AwaitingApproval);
    report.stalled(reasons::PLAN_STALE, &message);
    report
        .event_on_transition(
            types::READY,
            EventKind::Warning,
            reasons::PLAN_STALE,
            message,
        )
        .await;
    Action::requeue(APPROVAL_RECHECK)
}

/// Reports a step that changes nothing in AWS (a kind reports its own refusals first).
pub async fn report_step<K: Changing>(report: &mut Report<'_, K>, step: Step) -> Action {
    match step {
        Step::AwaitApproval { mismatch: false } => awaiting(report),
        Step::AwaitApproval { mismatch: true } => mismatch(report).await,
        Step::Halted => halted(report),
        Step::RevertUnfinished => revert_unfinished(report),
        Step::Nothing => steady(report),
        _ => Action::requeue(Duration::from_secs(1)),
    }
}

fn awaiting<K: Changing>(report: &mut Report<'_, K>) -> Action {
    report.phase(PlanPhase::AwaitingApproval);
    if plan_is_empty(report) {
        let message = format!("{}; nothing to approve", K::NOTHING_TO_CHANGE);
        report.ready(reasons::PLAN_READY, &message);
        return Action::requeue(APPROVAL_RECHECK);
    }
    let (name, short) = (report.object.name_any(), K::SHORT_NAME);
    let message = format!(
        "plan {} awaits approval: review it with `kubectl get {short} {name} -o jsonpath='{{.status.plan}}'`, then approve with: {}",
        short_hash(&plan_hash(report)),
        approve(report)
    );
    // Ready: the controller has done all the spec asks; the phase, Argo CD's Suspended health and
    // the gauge sgtightener_plans_awaiting_approval show that a person's approval is next.
    report.ready(reasons::AWAITING_APPROVAL, &message);
    Action::requeue(APPROVAL_RECHECK)
}

async fn mismatch<K: Changing>(report: &mut Report<'_, K>) -> Action {
    let message = format!(
        "spec.approved is {:?} but the current plan is {}; nothing was applied. Approve the current plan with: {}",
        report.object.approved(),
        plan_hash(report),
        approve(report)
    );
    report.phase(PlanPhase::AwaitingApproval);
    report.stalled(reasons::APPROVAL_MISMATCH, &message);
    report
        .event_on_transition(
            types::READY,
            EventKind::Warning,
            reasons::APPROVAL_MISMATCH,
            message,
        )
        .await;
    Action::requeue(APPROVAL_RECHECK)
}

fn halted<K: Changing>(report: &mut Report<'_, K>) -> Action {
    let message = crate::domain::conditions::find(report.status.conditions(), types::APPLIED)
        .map(|c| c.message.clone())
        .unwrap_or_else(|| {
            "the apply halted; set spec.revert: true to restore the pre-apply rules".into()
        });
    report.phase(PlanPhase::Halted);
    report.stalled(reasons::APPLY_HALTED, &message);
    Action::await_change()
}

/// The message of the `Reverted` condition (why the last revert is not verified).
pub fn revert_message<K: Changing>(report: &Report<'_, K>) -> String {
    crate::domain::conditions::find(report.status.conditions(), types::REVERTED)
        .map(|c| c.message.clone())
        .unwrap_or_else(|| "the revert is not verified yet".into())
}

/// A revert began and was not verified, and `spec.revert` is false again: AWS may hold the
/// pre-apply rules (or a mix), so the plan is not reported as applied.
fn revert_unfinished<K: Changing>(report: &mut Report<'_, K>) -> Action {
    let applied = report.status.applied().cloned().unwrap_or_default();
    let message = format!(
        "a revert of plan {} began at {} and was not verified ({}); AWS may hold the pre-apply rules, so the plan is not applied. Set spec.revert: true to finish the revert; once it is verified, spec.revert: false applies the approved plan again",
        short_hash(&applied.plan_hash),
        applied.revert_started_at.as_deref().unwrap_or("?"),
        revert_message(report)
    );
    report.phase(PlanPhase::Failed);
    report.stalled(reasons::REVERT_INCOMPLETE, &message);
    Action::await_change()
}

fn steady<K: Changing>(report: &mut Report<'_, K>) -> Action {
    let applied = report.status.applied().cloned();
    if report.object.revert_requested() {
        match applied.as_ref().and_then(|a| a.reverted_at.as_ref()) {
            Some(_) => {
                report.phase(PlanPhase::Reverted);
                report.ready(
                    reasons::REVERTED,
                    "the pre-apply rules are restored and verified",
                );
            }
            None => report.ready(
                reasons::NOTHING_TO_REVERT,
                "spec.revert is true but no apply is recorded; nothing was changed in AWS",
            ),
        }
        return Action::await_change();
    }
    let in_effect = applied.as_ref().is_some_and(|a| {
        a.reverted_at.is_none() && a.revert_started_at.is_none() && a.plan_hash == plan_hash(report)
    });
    if in_effect {
        report.phase(PlanPhase::Applied);
        let message = format!("plan {} is applied", short_hash(&plan_hash(report)));
        report.ready(reasons::APPLIED, &message);
        return report.object.applied_requeue();
    }
    report.phase(PlanPhase::AwaitingApproval);
    let message = format!(
        "the approved plan changes nothing: {}",
        K::NOTHING_TO_CHANGE
    );
    report.ready(reasons::PLAN_READY, &message);
    Action::requeue(APPROVAL_RECHECK)
}

fn plan_is_empty<K: Changing>(report: &Report<'_, K>) -> bool {
    report.status.plan().is_none_or(|p| {
        p.groups
            .iter()
            .all(|g| g.revoke.is_empty() && g.authorise.is_empty())
    })
}
