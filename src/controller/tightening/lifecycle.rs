//! Controller layer: the tightening's own facts for `decide` (evidence, diagnosis) on top of the
//! change engine's, and the report of its own refusal — incomplete evidence.

use super::report::Report;
use super::spec;
use crate::controller::change::lifecycle::{self as engine, approve, plan_hash, APPROVAL_RECHECK};
use crate::controller::report::EventKind;
use crate::crd::{short_hash, PlanPhase};
use crate::domain::conditions::{is_true, reasons, types};
use crate::domain::tightening::{Facts, Refusal, Step};
use kube::runtime::controller::Action;

/// The facts `decide` needs, from the status being built.
pub fn facts<'r>(report: &'r Report<'_>, inputs: &'r str, live: &'r str) -> Facts<'r> {
    let mut facts = engine::facts(report, inputs, live);
    facts.require_full_window = report.object.spec.evidence.require_full_window;
    facts.evidence_complete = is_true(&report.status.conditions, types::EVIDENCE_COMPLETE);
    facts.evidence_stale = evidence_is_stale(report);
    facts.diagnose_due = diagnose_due(report);
    facts
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

/// Reports a step that changes nothing in AWS: the tightening's refusals here, the rest by the
/// change engine.
pub async fn report_step(report: &mut Report<'_>, step: Step) -> Action {
    match step {
        Step::Refuse(Refusal::EvidenceIncomplete) => evidence_incomplete(report),
        Step::AwaitApproval { mismatch: true } => match stale_since_this_generation(report) {
            // the approval went stale with its evidence and the spec has not changed since:
            // keep saying why (EvidenceStale names the new plan to approve)
            Some(stale) => {
                report.phase(PlanPhase::AwaitingApproval);
                report.stalled(reasons::EVIDENCE_STALE, &stale);
                Action::requeue(APPROVAL_RECHECK)
            }
            None => engine::report_step(report, step).await,
        },
        other => engine::report_step(report, other).await,
    }
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
