//! Controller layer: applying an approved plan (DESIGN I6–I8). Write-ahead first — the manifest
//! ConfigMap with every group's exact pre-change rules, then `status.applied` — and only then
//! AWS: per group authorise the new rules, then revoke the old (revoke first only for a group
//! marked `interruption`), recording each group's progress. The first failed call halts with a
//! message that says what was done and how to revert. A restart mid-apply resumes from the live
//! rules, so finishing is idempotent.

use super::report::Report;
use super::store::EventKind;
use super::{spec, Deps};
use crate::aws::{AuthoriseOutcome, GroupSelector, RevokeOutcome, SecurityGroups};
use crate::controller::Error;
use crate::crd::{short_hash, AppliedRecord, GroupApplyState, GroupApplyStatus, PlanPhase};
use crate::domain::conditions::{format_time, reasons, types, Status};
use crate::domain::plan::Plan;
use crate::domain::snapshot::{IpPermission, SecurityGroup};
use crate::domain::tightening::manifest::GroupCalls;
use crate::domain::tightening::{GroupManifest, Manifest, MANIFEST_SCHEMA};
use kube::runtime::controller::Action;
use kube::ResourceExt;

/// Starts applying the approved plan in status: write-ahead, then every group.
pub async fn start(
    report: &mut Report<'_>,
    deps: &Deps<'_>,
    sg: &dyn SecurityGroups,
    groups: &[SecurityGroup],
) -> Result<Action, Error> {
    let plan = report
        .status
        .plan
        .clone()
        .ok_or_else(|| Error::Plan("no plan to apply".into()))?;
    let manifest = manifest(report, &plan, groups, deps.now)?;
    let namespace = report.object.namespace().unwrap_or_default();
    let config_map = spec::manifest_name(&report.object.name_any(), &plan.hash);
    deps.store
        .put_manifest(&namespace, &config_map, &manifest)
        .await?;
    report.status.applied = Some(AppliedRecord {
        plan_hash: plan.hash.clone(),
        started_at: format_time(deps.now),
        finished_at: None,
        manifest_config_map: config_map.clone(),
        groups: manifest
            .groups
            .iter()
            .map(|g| state(&g.group_id, GroupApplyState::Pending, None))
            .collect(),
        reverted_at: None,
    });
    let message = format!(
        "applying plan {} to {} groups; pre-change rules saved in ConfigMap {config_map}",
        short_hash(&plan.hash),
        manifest.groups.len()
    );
    report.phase(PlanPhase::Applying);
    report.condition(
        types::APPLIED,
        Status::False,
        reasons::APPLY_STARTED,
        message.clone(),
    );
    report.reconciling(reasons::APPLY_STARTED, &message);
    report.checkpoint().await?;
    report
        .event(EventKind::Normal, reasons::APPLY_STARTED, message)
        .await;
    finish(report, deps, sg, &manifest, groups).await
}

/// Finishes an apply that status shows started and not finished (a restart mid-apply).
pub async fn resume(
    report: &mut Report<'_>,
    deps: &Deps<'_>,
    sg: &dyn SecurityGroups,
) -> Result<Action, Error> {
    let (applied, manifest) = recorded(report, deps, "resume").await?;
    let Some(manifest) = manifest else {
        let why = format!(
            "the manifest ConfigMap {} is missing, so the apply cannot be finished safely",
            applied.manifest_config_map
        );
        return Ok(halt(report, None, why).await);
    };
    let ids: Vec<String> = manifest.groups.iter().map(|g| g.group_id.clone()).collect();
    let live = sg.describe_groups(&GroupSelector::ids(ids)).await?;
    finish(report, deps, sg, &manifest, &live).await
}

/// The apply recorded in status and its write-ahead manifest (`None` when the ConfigMap is gone).
pub(super) async fn recorded(
    report: &Report<'_>,
    deps: &Deps<'_>,
    doing: &str,
) -> Result<(AppliedRecord, Option<Manifest>), Error> {
    let applied = report
        .status
        .applied
        .clone()
        .ok_or_else(|| Error::Plan(format!("no apply to {doing}")))?;
    let namespace = report.object.namespace().unwrap_or_default();
    let manifest = deps
        .store
        .get_manifest(&namespace, &applied.manifest_config_map)
        .await?;
    Ok((applied, manifest))
}

fn manifest(
    report: &Report<'_>,
    plan: &Plan,
    groups: &[SecurityGroup],
    now: jiff::Timestamp,
) -> Result<Manifest, Error> {
    let description = spec::rule_description(&plan.hash);
    let changing = plan
        .groups
        .iter()
        .filter(|g| !g.revoke.is_empty() || !g.authorise.is_empty());
    let entries = changing
        .map(|g| {
            let live = groups.iter().find(|l| l.group_id == g.group_id);
            live.map(|l| GroupManifest::new(g, l, &description))
                .ok_or_else(|| {
                    Error::Plan(format!(
                        "group {} of the plan is not among the live groups",
                        g.group_id
                    ))
                })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Manifest {
        schema: MANIFEST_SCHEMA.into(),
        resource: report.key(),
        plan_hash: plan.hash.clone(),
        snapshot_hash: plan.snapshot_hash.clone(),
        created_at: format_time(now),
        groups: entries,
    })
}

async fn finish(
    report: &mut Report<'_>,
    deps: &Deps<'_>,
    sg: &dyn SecurityGroups,
    manifest: &Manifest,
    live: &[SecurityGroup],
) -> Result<Action, Error> {
    for entry in &manifest.groups {
        if group_state(report, &entry.group_id) == Some(GroupApplyState::Applied) {
            continue;
        }
        let Some(group) = live.iter().find(|g| g.group_id == entry.group_id) else {
            return Ok(halt(
                report,
                Some(&entry.group_id),
                "the group no longer exists".into(),
            )
            .await);
        };
        if let Err(why) = apply_group(report, sg, entry, group).await? {
            return Ok(halt(report, Some(&entry.group_id), why).await);
        }
    }
    Ok(done(report, deps).await)
}

/// One group: outer error = Kubernetes (retry), inner error = the AWS failure that halts.
async fn apply_group(
    report: &mut Report<'_>,
    sg: &dyn SecurityGroups,
    entry: &GroupManifest,
    group: &SecurityGroup,
) -> Result<Result<(), String>, Error> {
    let calls = match entry.apply_calls(group) {
        Ok(calls) => calls,
        Err(e) => return Ok(Err(format!("failed to read the group's rules: {e}"))),
    };
    if entry.interruption {
        if let Err(why) = revoke(sg, entry, &calls).await {
            return Ok(Err(why));
        }
        if let Err(why) = authorise(sg, entry, &calls).await {
            return Ok(Err(why));
        }
    } else {
        if let Err(why) = authorise(sg, entry, &calls).await {
            return Ok(Err(why));
        }
        set_state(report, &entry.group_id, GroupApplyState::Authorised, None);
        report.checkpoint().await?;
        if let Err(why) = revoke(sg, entry, &calls).await {
            return Ok(Err(why));
        }
    }
    set_state(report, &entry.group_id, GroupApplyState::Applied, None);
    report.checkpoint().await?;
    Ok(Ok(()))
}

async fn authorise(
    sg: &dyn SecurityGroups,
    entry: &GroupManifest,
    calls: &GroupCalls,
) -> Result<(), String> {
    let first = call_authorise(sg, &entry.group_id, &calls.authorise).await?;
    if first == AuthoriseOutcome::Authorised {
        return Ok(());
    }
    // A duplicate means nothing was added (AWS is atomic here): re-read, add what is missing.
    let rest = fresh_calls(sg, entry).await?.authorise;
    match call_authorise(sg, &entry.group_id, &rest).await? {
        AuthoriseOutcome::Authorised => Ok(()),
        AuthoriseOutcome::AlreadyPresent => {
            Err("failed to authorise ingress: AWS keeps reporting duplicates".into())
        }
    }
}

async fn call_authorise(
    sg: &dyn SecurityGroups,
    group_id: &str,
    perms: &[IpPermission],
) -> Result<AuthoriseOutcome, String> {
    if perms.is_empty() {
        return Ok(AuthoriseOutcome::Authorised);
    }
    sg.authorise_ingress(group_id, perms)
        .await
        .map_err(|e| e.to_string())
}

async fn revoke(
    sg: &dyn SecurityGroups,
    entry: &GroupManifest,
    calls: &GroupCalls,
) -> Result<(), String> {
    if calls.revoke.is_empty() {
        return Ok(());
    }
    let first = sg
        .revoke_ingress(&entry.group_id, &calls.revoke)
        .await
        .map_err(|e| e.to_string())?;
    if matches!(first, RevokeOutcome::Revoked { .. }) {
        return Ok(());
    }
    let rest = fresh_calls(sg, entry).await?.revoke;
    if rest.is_empty() {
        return Ok(());
    }
    match sg
        .revoke_ingress(&entry.group_id, &rest)
        .await
        .map_err(|e| e.to_string())?
    {
        RevokeOutcome::Revoked { .. } => Ok(()),
        RevokeOutcome::AlreadyAbsent => {
            Err("failed to revoke ingress: AWS keeps reporting missing rules".into())
        }
    }
}

async fn fresh_calls(sg: &dyn SecurityGroups, entry: &GroupManifest) -> Result<GroupCalls, String> {
    let groups = sg
        .describe_groups(&GroupSelector::ids([entry.group_id.clone()]))
        .await
        .map_err(|e| e.to_string())?;
    let group = groups
        .into_iter()
        .next()
        .ok_or("the group no longer exists")?;
    entry
        .apply_calls(&group)
        .map_err(|e| format!("failed to read the group's rules: {e}"))
}

fn state(group_id: &str, status: GroupApplyState, message: Option<String>) -> GroupApplyStatus {
    GroupApplyStatus {
        group_id: group_id.to_owned(),
        status,
        message,
    }
}

fn group_state(report: &Report<'_>, group_id: &str) -> Option<GroupApplyState> {
    let applied = report.status.applied.as_ref()?;
    applied
        .groups
        .iter()
        .find(|g| g.group_id == group_id)
        .map(|g| g.status)
}

fn set_state(
    report: &mut Report<'_>,
    group_id: &str,
    status: GroupApplyState,
    message: Option<String>,
) {
    if let Some(applied) = report.status.applied.as_mut() {
        match applied.groups.iter_mut().find(|g| g.group_id == group_id) {
            Some(entry) => *entry = state(group_id, status, message),
            None => applied.groups.push(state(group_id, status, message)),
        }
    }
}

/// The `kubectl patch` that requests a revert.
pub fn revert_command(report: &Report<'_>) -> String {
    format!(
        "kubectl -n {} patch sgt {} --type merge -p '{{\"spec\":{{\"revert\":true}}}}'",
        report.object.namespace().unwrap_or_default(),
        report.object.name_any()
    )
}

async fn halt(report: &mut Report<'_>, group_id: Option<&str>, why: String) -> Action {
    if let Some(id) = group_id {
        set_state(report, id, GroupApplyState::Failed, Some(why.clone()));
    }
    let applied = report.status.applied.clone().unwrap_or_default();
    let progress: Vec<String> = applied
        .groups
        .iter()
        .map(|g| format!("{} {:?}", g.group_id, g.status))
        .collect();
    let message = format!(
        "apply of plan {} halted{}: {why}. Progress: {}. Groups still Pending or Authorised keep their original rules (Authorised: new rules added beside them), except a group marked interruption, which revokes first. To restore the pre-apply rules run: {}",
        short_hash(&applied.plan_hash),
        group_id.map(|g| format!(" at {g}")).unwrap_or_default(),
        progress.join(", "),
        revert_command(report)
    );
    report.phase(PlanPhase::Halted);
    report.condition(
        types::APPLIED,
        Status::False,
        reasons::APPLY_HALTED,
        message.clone(),
    );
    report.stalled(reasons::APPLY_HALTED, &message);
    report
        .event_on_transition(
            types::APPLIED,
            EventKind::Warning,
            reasons::APPLY_HALTED,
            message,
        )
        .await;
    Action::await_change()
}

async fn done(report: &mut Report<'_>, deps: &Deps<'_>) -> Action {
    let now = format_time(deps.now);
    let plan = report.status.plan.clone().unwrap_or_default();
    if let Some(applied) = report.status.applied.as_mut() {
        applied.finished_at = Some(now);
    }
    let s = &plan.summary;
    let message = format!(
        "plan {} applied: revoked {} rules, authorised {} rules; trusted addresses {} → {}",
        short_hash(&plan.hash),
        s.rules_revoked,
        s.rules_authorised,
        s.addresses_before,
        s.addresses_after
    );
    report.phase(PlanPhase::Applied);
    report.condition(
        types::APPLIED,
        Status::True,
        reasons::APPLIED,
        message.clone(),
    );
    report.ready(reasons::APPLIED, &message);
    report
        .event(EventKind::Normal, reasons::APPLIED, message)
        .await;
    match spec::diagnose_interval(&report.object.spec) {
        Ok(interval) if report.object.spec.diagnose.enabled => Action::requeue(interval),
        _ => Action::await_change(),
    }
}
