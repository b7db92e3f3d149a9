//! Controller layer: the tightening's facts for `decide`, and the report of the steps that change
//! nothing in AWS — awaiting approval, approval mismatch, stale plan, incomplete evidence,
//! halted, applied, reverted — with the requeue each one needs.

use super::report::Report;
use super::spec;
use super::store::EventKind;
use crate::crd::{short_hash, PlanPhase};
use crate::domain::conditions::{is_true, reasons, types};
use crate::domain::tightening::{AppliedFacts, Facts, PlanFacts, Refusal, Step};
use kube::runtime::controller::Action;
use kube::ResourceExt;
use std::time::Duration;

/// How often a plan awaiting approval is re-checked for staleness.
pub const APPROVAL_RECHECK: Duration = Duration::from_secs(300);
/// How often missing groups are looked for again.
const MISSING_RECHECK: Duration = Duration::from_secs(600);

/// The facts `decide` needs, from the status being built.
pub fn facts<'r>(report: &'r Report<'_>, inputs: &'r str, live: &'r str) -> Facts<'r> {
    let status = &report.status;
    let spec = &report.object.spec;
    Facts {
        approved: &spec.approved,
        revert: spec.revert,
        require_full_window: spec.evidence.require_full_window,
        inputs_hash: inputs,
        live_snapshot_hash: live,
        plan: status.plan.as_ref().map(|p| PlanFacts {
            hash: &p.hash,
            snapshot_hash: &p.snapshot_hash,
            inputs_hash: &p.inputs_hash,
            empty: p
                .groups
                .iter()
                .all(|g| g.revoke.is_empty() && g.authorise.is_empty()),
        }),
        applied: status.applied.as_ref().map(|a| AppliedFacts {
            plan_hash: &a.plan_hash,
            finished: a.finished_at.is_some(),
            halted: status.phase == PlanPhase::Halted,
            reverted: a.reverted_at.is_some(),
            revert_started: a.revert_started_at.is_some(),
        }),
        evidence_complete: is_true(&status.conditions, types::EVIDENCE_COMPLETE),
        evidence_stale: evidence_is_stale(report),
        diagnose_due: diagnose_due(report),
    }
}

/// The evidence behind the plan in status was collected longer than `evidence.maxAge` ago.
fn evidence_is_stale(report: &Report<'_>) -> bool {
    let Ok(max_age) = spec::evidence_max_age(&report.object.spec) else {
        return false;
    };
    let collected = report
        .status
        .evidence
        .as_ref()
        .and_then(|e| e.collected_at.parse::<jiff::Timestamp>().ok());
    collected.is_some_and(|at| {
        let max_age = jiff::SignedDuration::from_secs(max_age.as_secs() as i64);
        at + max_age <= report.now
    })
}

/// Diagnosis is enabled and its interval has passed since the last check.
fn diagnose_due(report: &Report<'_>) -> bool {
    let spec = &report.object.spec;
    let Ok(interval) = spec::diagnose_interval(spec) else {
        return false;
    };
    if !spec.diagnose.enabled {
        return false;
    }
    let last = report
        .status
        .diagnosis
        .as_ref()
        .and_then(|d| d.checked_at.parse::<jiff::Timestamp>().ok());
    last.is_none_or(|at| {
        let next = at + jiff::SignedDuration::from_secs(interval.as_secs() as i64);
        next <= report.now
    })
}

fn approve(report: &Report<'_>) -> String {
    report
        .status
        .plan
        .as_ref()
        .and_then(|p| p.approve_command.clone())
        .unwrap_or_default()
}

fn plan_hash(report: &Report<'_>) -> String {
    report
        .status
        .plan
        .as_ref()
        .map(|p| p.hash.clone())
        .unwrap_or_default()
}

/// Requested ids that do not exist, or no group matches: nothing can be planned until the spec
/// or AWS changes.
pub fn groups_not_found(report: &mut Report<'_>, missing: &[String]) -> Action {
    let region = &report.object.spec.target.region;
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
pub async fn plan_stale(report: &mut Report<'_>) -> Action {
    let message = format!(
        "the live rules changed after plan {} was approved, so nothing was applied; a new plan {} awaits approval: {}",
        short_hash(&report.object.spec.approved),
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

/// The approved plan's evidence was older than `evidence.maxAge`; it was read again and the
/// new plan differs from the approved one.
pub async fn evidence_stale(report: &mut Report<'_>) -> Action {
    let collected = report
        .previous
        .evidence
        .as_ref()
        .map_or("?".to_owned(), |e| e.collected_at.clone());
    let message = format!(
        "plan {} was approved but its evidence (collected at {collected}) was older than spec.evidence.maxAge {}, so nothing was applied; the flow logs were read again and a new plan {} awaits approval: {}",
        short_hash(&report.object.spec.approved),
        report.object.spec.evidence.max_age,
        short_hash(&plan_hash(report)),
        approve(report)
    );
    report.phase(PlanPhase::AwaitingApproval);
    report.stalled(reasons::EVIDENCE_STALE, &message);
    report
        .event_on_transition(
            types::READY,
            EventKind::Warning,
            reasons::EVIDENCE_STALE,
            message,
        )
        .await;
    Action::requeue(APPROVAL_RECHECK)
}

/// Reports a step that changes nothing in AWS.
pub async fn report_step(report: &mut Report<'_>, step: Step) -> Action {
    match step {
        Step::AwaitApproval { mismatch: false } => awaiting(report),
        Step::AwaitApproval { mismatch: true } => mismatch(report).await,
        Step::Refuse(Refusal::EvidenceIncomplete) => evidence_incomplete(report),
        Step::Halted => halted(report),
        Step::RevertUnfinished => revert_unfinished(report),
        Step::Nothing => steady(report),
        _ => Action::requeue(Duration::from_secs(1)),
    }
}

fn awaiting(report: &mut Report<'_>) -> Action {
    report.phase(PlanPhase::AwaitingApproval);
    if plan_is_empty(report) {
        report.ready(
            reasons::PLAN_READY,
            "no rule can be tightened from the evidence; nothing to approve",
        );
        return Action::requeue(APPROVAL_RECHECK);
    }
    let name = report.object.name_any();
    let message = format!(
        "plan {} awaits approval: review it with `kubectl get sgt {name} -o jsonpath='{{.status.plan}}'`, then approve with: {}",
        short_hash(&plan_hash(report)),
        approve(report)
    );
    // Ready: the controller has done all the spec asks; the phase, Argo CD's Suspended health and
    // the gauge sgtightener_plans_awaiting_approval show that a person's approval is next.
    report.ready(reasons::AWAITING_APPROVAL, &message);
    Action::requeue(APPROVAL_RECHECK)
}

async fn mismatch(report: &mut Report<'_>) -> Action {
    if let Some(stale) = stale_since_this_generation(report) {
        // the approval went stale with its evidence and the spec has not changed since: keep
        // saying why (EvidenceStale names the new plan to approve)
        report.phase(PlanPhase::AwaitingApproval);
        report.stalled(reasons::EVIDENCE_STALE, &stale);
        return Action::requeue(APPROVAL_RECHECK);
    }
    let message = format!(
        "spec.approved is {:?} but the current plan is {}; nothing was applied. Approve the current plan with: {}",
        report.object.spec.approved,
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

/// The `EvidenceStale` message, when `Ready` says so for the current generation.
fn stale_since_this_generation(report: &Report<'_>) -> Option<String> {
    let ready = crate::domain::conditions::find(&report.status.conditions, types::READY)?;
    (ready.reason == reasons::EVIDENCE_STALE
        && ready.observed_generation == report.object.metadata.generation)
        .then(|| ready.message.clone())
}

fn evidence_incomplete(report: &mut Report<'_>) -> Action {
    // The EvidenceComplete condition, set when the plan was made, names every gap.
    let why = crate::domain::conditions::find(&report.status.conditions, types::EVIDENCE_COMPLETE)
        .map(|c| c.message.clone())
        .unwrap_or_else(|| "the evidence does not cover the whole window".into());
    let message = format!(
        "plan {} is approved but {why}; nothing was applied. The flow logs are read again every spec.evidence.maxAge ({}) until the evidence is complete; or fix the gaps, lower spec.evidence.days, or set spec.evidence.requireFullWindow: false",
        short_hash(&plan_hash(report)),
        report.object.spec.evidence.max_age
    );
    report.phase(PlanPhase::AwaitingApproval);
    report.stalled(reasons::EVIDENCE_INCOMPLETE, &message);
    Action::requeue(APPROVAL_RECHECK)
}

fn halted(report: &mut Report<'_>) -> Action {
    let message = crate::domain::conditions::find(&report.status.conditions, types::APPLIED)
        .map(|c| c.message.clone())
        .unwrap_or_else(|| {
            "the apply halted; set spec.revert: true to restore the pre-apply rules".into()
        });
    report.phase(PlanPhase::Halted);
    report.stalled(reasons::APPLY_HALTED, &message);
    Action::await_change()
}

/// The message of the `Reverted` condition (why the last revert is not verified).
pub fn revert_message(report: &Report<'_>) -> String {
    crate::domain::conditions::find(&report.status.conditions, types::REVERTED)
        .map(|c| c.message.clone())
        .unwrap_or_else(|| "the revert is not verified yet".into())
}

/// A revert began and was not verified, and `spec.revert` is false again: AWS may hold the
/// pre-apply rules (or a mix), so the plan is not reported as applied.
fn revert_unfinished(report: &mut Report<'_>) -> Action {
    let applied = report.status.applied.clone().unwrap_or_default();
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

fn steady(report: &mut Report<'_>) -> Action {
    let applied = report.status.applied.clone();
    let spec = &report.object.spec;
    if spec.revert {
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
        return match spec::diagnose_interval(spec) {
            Ok(interval) if spec.diagnose.enabled => Action::requeue(interval),
            _ => Action::await_change(),
        };
    }
    report.phase(PlanPhase::AwaitingApproval);
    report.ready(
        reasons::PLAN_READY,
        "the approved plan changes nothing; no rule can be tightened",
    );
    Action::requeue(APPROVAL_RECHECK)
}

fn plan_is_empty(report: &Report<'_>) -> bool {
    report.status.plan.as_ref().is_none_or(|p| {
        p.groups
            .iter()
            .all(|g| g.revoke.is_empty() && g.authorise.is_empty())
    })
}
