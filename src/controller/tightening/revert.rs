//! Controller layer: reverting an apply (DESIGN I9) from its manifest ConfigMap — per group,
//! authorise the pre-apply rules that are missing (original descriptions), then revoke what the
//! apply added; re-read the groups and verify exact equality, descriptions included.

use super::report::Report;
use super::store::EventKind;
use super::Deps;
use crate::aws::{AuthoriseOutcome, GroupSelector, SecurityGroups};
use crate::controller::Error;
use crate::crd::{short_hash, GroupApplyState, PlanPhase};
use crate::domain::conditions::{format_time, reasons, types, Status};
use crate::domain::snapshot::SecurityGroup;
use crate::domain::tightening::{GroupManifest, Manifest};
use kube::runtime::controller::Action;

/// Restores and verifies the rules recorded at the last apply.
pub async fn run(
    report: &mut Report<'_>,
    deps: &Deps<'_>,
    sg: &dyn SecurityGroups,
) -> Result<Action, Error> {
    let (applied, manifest) = super::apply::recorded(report, deps, "revert").await?;
    let Some(manifest) = manifest else {
        let message = format!(
            "the manifest ConfigMap {} is missing, so the pre-apply rules are unknown; nothing was changed in AWS",
            applied.manifest_config_map
        );
        return Ok(failed(report, message));
    };
    report.phase(PlanPhase::Reverting);
    let message = format!("reverting plan {}", short_hash(&applied.plan_hash));
    report.reconciling(reasons::PROGRESSING, &message);
    for entry in &manifest.groups {
        restore(sg, entry).await?;
    }
    let differences = verify(sg, &manifest).await?;
    if differences.is_empty() {
        Ok(reverted(report, deps, &manifest).await)
    } else {
        let message = format!(
            "after the revert the live rules still differ from the pre-apply rules: {}",
            differences.join("; ")
        );
        report
            .event(EventKind::Warning, reasons::REVERT_FAILED, message.clone())
            .await;
        Ok(failed(report, message))
    }
}

async fn live_group(
    sg: &dyn SecurityGroups,
    group_id: &str,
) -> Result<Option<SecurityGroup>, Error> {
    let groups = sg
        .describe_groups(&GroupSelector::ids([group_id.to_owned()]))
        .await?;
    Ok(groups.into_iter().next())
}

fn plan_error(entry: &GroupManifest, e: impl std::fmt::Display) -> Error {
    Error::Plan(format!(
        "failed to read the rules of {}: {e}",
        entry.group_id
    ))
}

/// One group: missing pre-apply rules first, then the apply's additions. Idempotent.
async fn restore(sg: &dyn SecurityGroups, entry: &GroupManifest) -> Result<(), Error> {
    let Some(group) = live_group(sg, &entry.group_id).await? else {
        return Ok(());
    };
    let calls = entry
        .revert_calls(&group)
        .map_err(|e| plan_error(entry, e))?;
    if !calls.authorise.is_empty()
        && sg
            .authorise_ingress(&entry.group_id, &calls.authorise)
            .await?
            == AuthoriseOutcome::AlreadyPresent
    {
        // Nothing was added (AWS is atomic): re-read and add only what is still missing.
        if let Some(group) = live_group(sg, &entry.group_id).await? {
            let rest = entry
                .revert_calls(&group)
                .map_err(|e| plan_error(entry, e))?
                .authorise;
            if !rest.is_empty() {
                sg.authorise_ingress(&entry.group_id, &rest).await?;
            }
        }
    }
    if !calls.revoke.is_empty() {
        sg.revoke_ingress(&entry.group_id, &calls.revoke).await?;
    }
    Ok(())
}

/// Every difference between the live groups and the manifest, prefixed by group id.
async fn verify(sg: &dyn SecurityGroups, manifest: &Manifest) -> Result<Vec<String>, Error> {
    let ids: Vec<String> = manifest.groups.iter().map(|g| g.group_id.clone()).collect();
    let live = sg.describe_groups(&GroupSelector::ids(ids)).await?;
    let mut out = Vec::new();
    for entry in &manifest.groups {
        match live.iter().find(|g| g.group_id == entry.group_id) {
            None => out.push(format!("{}: the group no longer exists", entry.group_id)),
            Some(group) => {
                let diffs = entry.differences(group).map_err(|e| plan_error(entry, e))?;
                out.extend(
                    diffs
                        .into_iter()
                        .map(|d| format!("{}: {d}", entry.group_id)),
                );
            }
        }
    }
    Ok(out)
}

async fn reverted(report: &mut Report<'_>, deps: &Deps<'_>, manifest: &Manifest) -> Action {
    if let Some(applied) = report.status.applied.as_mut() {
        applied.reverted_at = Some(format_time(deps.now));
        applied
            .groups
            .iter_mut()
            .for_each(|g| g.status = GroupApplyState::Reverted);
    }
    let message = format!(
        "the pre-apply rules of {} groups are restored and verified (plan {})",
        manifest.groups.len(),
        short_hash(&manifest.plan_hash)
    );
    report.phase(PlanPhase::Reverted);
    report.condition(
        types::REVERTED,
        Status::True,
        reasons::REVERTED,
        message.clone(),
    );
    report.condition(
        types::APPLIED,
        Status::False,
        reasons::REVERTED,
        message.clone(),
    );
    report.ready(reasons::REVERTED, &message);
    report
        .event(EventKind::Normal, reasons::REVERTED, message)
        .await;
    Action::await_change()
}

fn failed(report: &mut Report<'_>, message: String) -> Action {
    report.condition(
        types::REVERTED,
        Status::False,
        reasons::REVERT_FAILED,
        message.clone(),
    );
    report.stalled(reasons::REVERT_FAILED, &message);
    Action::await_change()
}
