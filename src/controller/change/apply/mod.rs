//! Controller layer: applying an approved plan (DESIGN I6–I8), for any changing kind.
//! Immediately before the write-ahead the plan is re-checked (its hash, the live snapshot, the
//! kind's own guard per group and its own hold) and its groups are claimed; then the apply record goes into status — conditional on the resourceVersion the
//! decision was made from — and the manifest ConfigMap with every group's exact pre-change rules,
//! and only then AWS: per group authorise the new rules, then revoke the old (revoke first only
//! for a group marked `interruption`), recording each group's progress. A transient AWS error
//! pauses the apply and it resumes from the manifest after a backoff; a permanent one halts with
//! a message that says what was done and how to revert; a group deleted in AWS is skipped.

pub(super) mod calls;
mod outcome;
mod preflight;

pub(super) use calls::Failure;
pub(super) use outcome::set_state;

use outcome::{done, group_state, halt, retrying, state};

use super::store::EventKind;
use super::{claim, history, names, observe, ChangeStatus, Changing, Deps, Report, Scope};
use crate::aws::{GroupSelector, SecurityGroups};
use crate::controller::Error;
use crate::crd::{short_hash, AppliedRecord, GroupApplyState, PlanPhase};
use crate::domain::conditions::{format_time, reasons, types, Status};
use crate::domain::plan::{snapshot_hash, Plan};
use crate::domain::snapshot::SecurityGroup;
use crate::domain::tightening::{GroupManifest, Manifest, MANIFEST_SCHEMA};
use kube::runtime::controller::Action;
use kube::ResourceExt;
use std::time::Duration;

/// Starts applying the approved plan in status: checks, claims, write-ahead, then every group.
pub async fn start<K: Changing>(
    report: &mut Report<'_, K>,
    deps: &Deps<'_, K>,
    scope: &Scope,
) -> Result<Action, Error> {
    let plan = report
        .status
        .plan()
        .cloned()
        .ok_or_else(|| Error::Plan("no plan to apply".into()))?;
    if let Err(why) = preflight::intact(&plan, report.object.approved()) {
        return Ok(preflight::invalid(report, why).await);
    }
    if let Some(hold) = K::hold_apply(report) {
        return Ok(preflight::held(report, hold));
    }
    // Re-read just before the write-ahead: the decision may rest on an hour-old describe.
    let (groups, _) = observe::groups(scope.sg.as_ref(), report.object).await?;
    if snapshot_hash(&groups) != plan.snapshot_hash {
        return Ok(preflight::drifted(report));
    }
    let previous = previous(report, deps).await?;
    let manifest = manifest(report, &plan, &groups, deps.now, previous.as_ref())?;
    if let Some(why) = manifest
        .groups
        .iter()
        .find_map(|g| report.object.check_group(g).err())
    {
        return Ok(preflight::invalid(report, why).await);
    }
    let ids: Vec<String> = manifest.groups.iter().map(|g| g.group_id.clone()).collect();
    if let Some(refused) = claim::take(report, deps, scope, &ids).await? {
        return Ok(refused);
    }
    write_ahead(report, deps, &plan, &manifest).await?;
    finish(report, deps, scope.sg.as_ref(), &manifest, &groups).await
}

/// The apply record in status (conditional on the version decided from), then the manifest.
async fn write_ahead<K: Changing>(
    report: &mut Report<'_, K>,
    deps: &Deps<'_, K>,
    plan: &Plan,
    manifest: &Manifest,
) -> Result<(), Error> {
    let had_apply = report
        .status
        .applied()
        .is_some_and(|a| a.reverted_at.is_none());
    let namespace = report.object.namespace().unwrap_or_default();
    let config_map = names::manifest_name(K::SHORT_NAME, &report.object.name_any(), &plan.hash);
    *report.status.applied_mut() = Some(AppliedRecord {
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
        revert_started_at: None,
    });
    let message = format!(
        "applying plan {} to {} groups; pre-change rules saved in ConfigMap {config_map}",
        short_hash(&plan.hash),
        manifest.groups.len()
    );
    report.status.set_phase(PlanPhase::Applying);
    report.condition(
        types::APPLIED,
        Status::False,
        reasons::APPLY_STARTED,
        message.clone(),
    );
    report.reconciling(reasons::APPLY_STARTED, &message);
    if let Err(error) = report.checkpoint().await {
        if !had_apply {
            // Decided on a stale object: give back the claims this attempt took.
            let _ = claim::release(report, deps).await;
        }
        return Err(error);
    }
    deps.store
        .put_manifest(&namespace, &config_map, manifest)
        .await?;
    history::collect_garbage(report, deps).await;
    report
        .event(EventKind::Normal, reasons::APPLY_STARTED, message)
        .await;
    Ok(())
}

/// Finishes an apply that status shows started and not finished (a restart, a transient error,
/// or a record recovered from its manifest).
pub async fn resume<K: Changing>(
    report: &mut Report<'_, K>,
    deps: &Deps<'_, K>,
    scope: &Scope,
) -> Result<Action, Error> {
    let (applied, manifest) = recorded(report, deps, "resume").await?;
    let Some(manifest) = manifest else {
        return Ok(without_manifest(report, &applied).await);
    };
    let ids: Vec<String> = manifest.groups.iter().map(|g| g.group_id.clone()).collect();
    if let Some(refused) = claim::take(report, deps, scope, &ids).await? {
        return Ok(refused);
    }
    report.status.set_phase(PlanPhase::Applying);
    // Conditional on the version read: a stale cached object resumes nothing.
    report.checkpoint().await?;
    let live = scope.sg.describe_groups(&GroupSelector::ids(ids)).await?;
    finish(report, deps, scope.sg.as_ref(), &manifest, &live).await
}

/// The manifest is gone. With every group still `Pending` the write-ahead never completed and
/// AWS was not touched: start over. Otherwise halt: the pre-change rules are unknown.
async fn without_manifest<K: Changing>(
    report: &mut Report<'_, K>,
    applied: &AppliedRecord,
) -> Action {
    let untouched = applied
        .groups
        .iter()
        .all(|g| g.status == GroupApplyState::Pending);
    if untouched {
        let message = format!(
            "the write-ahead of plan {} did not complete (ConfigMap {} is missing) and nothing was changed in AWS; deciding again",
            short_hash(&applied.plan_hash),
            applied.manifest_config_map
        );
        *report.status.applied_mut() = None;
        report.status.set_phase(PlanPhase::AwaitingApproval);
        report.reconciling(reasons::PROGRESSING, &message);
        return Action::requeue(Duration::from_secs(1));
    }
    let why = format!(
        "the manifest ConfigMap {} is missing, so the apply cannot be finished safely",
        applied.manifest_config_map
    );
    halt(report, None, why).await
}

/// The apply recorded in status and its write-ahead manifest (`None` when the ConfigMap is gone).
pub(super) async fn recorded<K: Changing>(
    report: &Report<'_, K>,
    deps: &Deps<'_, K>,
    doing: &str,
) -> Result<(AppliedRecord, Option<Manifest>), Error> {
    let applied = report
        .status
        .applied()
        .cloned()
        .ok_or_else(|| Error::Plan(format!("no apply to {doing}")))?;
    let namespace = report.object.namespace().unwrap_or_default();
    let manifest = deps
        .store
        .get_manifest(&namespace, &applied.manifest_config_map)
        .await?;
    Ok((applied, manifest))
}

/// The manifest of the apply whose rules are live (finished, no revert begun), with its
/// ConfigMap name: a new apply chains onto it.
async fn previous<K: Changing>(
    report: &Report<'_, K>,
    deps: &Deps<'_, K>,
) -> Result<Option<(String, Manifest)>, Error> {
    let Some(applied) = report.status.applied() else {
        return Ok(None);
    };
    let live = applied.finished_at.is_some()
        && applied.reverted_at.is_none()
        && applied.revert_started_at.is_none();
    if !live {
        return Ok(None);
    }
    let namespace = report.object.namespace().unwrap_or_default();
    let name = applied.manifest_config_map.clone();
    let found = deps.store.get_manifest(&namespace, &name).await?;
    if found.is_none() {
        tracing::warn!(object = %report.key(), manifest = %name, "the manifest of the apply in effect is gone: the new apply's revert restores only the rules before it");
    }
    Ok(found.map(|m| (name, m)))
}

fn manifest<K: Changing>(
    report: &Report<'_, K>,
    plan: &Plan,
    groups: &[SecurityGroup],
    now: jiff::Timestamp,
    previous: Option<&(String, Manifest)>,
) -> Result<Manifest, Error> {
    let description = names::rule_description(&plan.hash);
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
    let entries = match previous {
        Some((_, before)) => chain(entries, before, groups),
        None => entries,
    };
    Ok(Manifest {
        schema: MANIFEST_SCHEMA.into(),
        resource: report.key(),
        plan_hash: plan.hash.clone(),
        snapshot_hash: plan.snapshot_hash.clone(),
        created_at: format_time(now),
        groups: entries,
        reverted_at: None,
        previous: previous.map(|(name, _)| name.clone()),
    })
}

/// Chains the new entries onto the previous apply's: each carries the original rules and what
/// the chain authorised; groups only the previous apply changed are carried over (no calls) so
/// that a revert of the new apply restores them too. A group gone from AWS is not carried.
fn chain(
    entries: Vec<GroupManifest>,
    previous: &Manifest,
    groups: &[SecurityGroup],
) -> Vec<GroupManifest> {
    let find = |id: &str| previous.groups.iter().find(|p| p.group_id == id);
    let mut out: Vec<GroupManifest> = entries
        .into_iter()
        .map(|e| match find(&e.group_id) {
            Some(p) => e.chain_onto(p),
            None => e,
        })
        .collect();
    for p in &previous.groups {
        if out.iter().any(|e| e.group_id == p.group_id) {
            continue;
        }
        if let Some(live) = groups.iter().find(|g| g.group_id == p.group_id) {
            out.push(GroupManifest::carried(p, live));
        }
    }
    out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    out
}

async fn finish<K: Changing>(
    report: &mut Report<'_, K>,
    deps: &Deps<'_, K>,
    sg: &dyn SecurityGroups,
    manifest: &Manifest,
    live: &[SecurityGroup],
) -> Result<Action, Error> {
    for entry in &manifest.groups {
        let id = &entry.group_id;
        if matches!(
            group_state(report, id),
            Some(GroupApplyState::Applied | GroupApplyState::Deleted)
        ) {
            continue;
        }
        let outcome = match live.iter().find(|g| &g.group_id == id) {
            Some(group) => apply_group(report, deps, sg, entry, group).await?,
            None => Err(Failure::Gone),
        };
        match outcome {
            Ok(()) => {}
            Err(Failure::Gone) => {
                let gone = "the group no longer exists in AWS; nothing applied there".to_owned();
                set_state(report, id, GroupApplyState::Deleted, Some(gone));
                report.checkpoint().await?;
            }
            Err(Failure::Retry(error)) => return Err(retrying(report, id, error)),
            Err(Failure::Halt(why)) => return Ok(halt(report, Some(id), why).await),
        }
    }
    Ok(done(report, deps).await)
}

/// One group: outer error = stop (Kubernetes, leadership), inner = the group's AWS failure.
async fn apply_group<K: Changing>(
    report: &mut Report<'_, K>,
    deps: &Deps<'_, K>,
    sg: &dyn SecurityGroups,
    entry: &GroupManifest,
    group: &SecurityGroup,
) -> calls::Outcome {
    let todo = match entry.apply_calls(group) {
        Ok(todo) => todo,
        Err(e) => {
            let why = format!("failed to read the group's rules: {e}");
            return Ok(Err(Failure::Halt(why)));
        }
    };
    use calls::Op::{Authorise, Revoke};
    if entry.interruption {
        if let Err(f) = calls::call(deps.fence, sg, entry, Revoke, &todo.revoke, false).await? {
            return Ok(Err(f));
        }
        if let Err(f) =
            calls::call(deps.fence, sg, entry, Authorise, &todo.authorise, false).await?
        {
            return Ok(Err(f));
        }
    } else {
        if let Err(f) =
            calls::call(deps.fence, sg, entry, Authorise, &todo.authorise, false).await?
        {
            return Ok(Err(f));
        }
        set_state(report, &entry.group_id, GroupApplyState::Authorised, None);
        report.checkpoint().await?;
        if let Err(f) = calls::call(deps.fence, sg, entry, Revoke, &todo.revoke, false).await? {
            return Ok(Err(f));
        }
    }
    set_state(report, &entry.group_id, GroupApplyState::Applied, None);
    report.checkpoint().await?;
    Ok(Ok(()))
}
