//! Controller layer: (re)computing the compaction plan from the live groups — the pure planner
//! (`domain::plan::compact`) — and reporting it: `status.plan` with its approve command,
//! `Planned`, and `PlanReady` when the plan changed.

use super::report::Report;
use super::{spec, Deps};
use crate::controller::change::names::approve_command;
use crate::controller::change::Changing;
use crate::controller::report::EventKind;
use crate::controller::Error;
use crate::crd::{short_hash, PlanPhase, SecurityGroupCompaction};
use crate::domain::conditions::{format_time, reasons, types, Status};
use crate::domain::plan::{build_compact_plan, Plan};
use crate::domain::snapshot::SecurityGroup;
use crate::domain::tightening::PlanReason;
use kube::ResourceExt;

/// Computes the plan for the live `groups` and records it in `report`.
pub async fn run(
    report: &mut Report<'_>,
    deps: &Deps<'_>,
    groups: &[SecurityGroup],
    inputs: &str,
    reason: PlanReason,
) -> Result<(), Error> {
    let object = report.object;
    let options = spec::options(&object.spec);
    let mut plan = build_compact_plan(groups, &options).map_err(|e| Error::Plan(e.to_string()))?;
    plan.inputs_hash = inputs.to_owned();
    plan.generated_at = Some(format_time(deps.now));
    plan.approve_command = Some(approve_command(
        SecurityGroupCompaction::SHORT_NAME,
        &object.namespace().unwrap_or_default(),
        &object.name_any(),
        &plan.hash,
    ));
    record(report, plan, reason).await;
    Ok(())
}

async fn record(report: &mut Report<'_>, plan: Plan, reason: PlanReason) {
    let changed = report
        .previous
        .plan
        .as_ref()
        .is_none_or(|p| p.hash != plan.hash);
    let message = message(&plan, reason);
    report.status.plan_short_hash = Some(short_hash(&plan.hash));
    report.status.plan = Some(plan);
    report.phase(PlanPhase::AwaitingApproval);
    report.condition(
        types::PLANNED,
        Status::True,
        reasons::PLAN_READY,
        message.clone(),
    );
    if changed {
        report
            .event(EventKind::Normal, reasons::PLAN_READY, message)
            .await;
    }
}

fn message(plan: &Plan, reason: PlanReason) -> String {
    let why = match reason {
        PlanReason::Created => "new resource",
        PlanReason::InputsChanged => "inputs changed",
        PlanReason::SnapshotDrift { .. } => "live rules changed",
        // a compaction reads no flow logs, so its facts never say its evidence is stale
        PlanReason::EvidenceStale => "re-planned",
    };
    let s = &plan.summary;
    let added: u64 = plan.groups.iter().filter_map(|g| g.addresses_added).sum();
    format!(
        "plan {} ({why}): {} groups, revoke {} rules, authorise {} rules, {} rules saved, {added} never-granted addresses added",
        short_hash(&plan.hash),
        s.groups,
        s.rules_revoked,
        s.rules_authorised,
        s.rules_saved.unwrap_or_default(),
    )
}
