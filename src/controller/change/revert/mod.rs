//! Controller layer: reverting an apply (DESIGN I9) from its manifest ConfigMap. The revert is
//! recorded as started (conditional on the version read) before its first AWS call. Per group:
//! missing pre-apply rules are authorised (original descriptions) and the apply's additions
//! revoked — additions first for a group marked `interruption`, which has no room for both. A
//! group deleted in AWS is reported and skipped; a transient error is retried; a permanent one
//! fails the revert without `revertedAt`. Verification covers only what the manifest covers:
//! pre-apply rules present, authorised rules absent; rules others added since (a break-glass
//! extension) are left alone. A verified revert marks the manifest, then status, and releases
//! the group claims.

mod restore;

use super::apply::set_state;
use super::store::EventKind;
use super::{claim, ChangeStatus, Changing, Deps, Report, Scope};
use crate::controller::Error;
use crate::crd::{short_hash, GroupApplyState, PlanPhase};
use crate::domain::conditions::{format_time, reasons, types, Status};
use crate::domain::tightening::Manifest;
use kube::runtime::controller::Action;
use kube::ResourceExt;
use restore::{restore, verify, Restored, Verified};
use std::time::Duration;

/// How soon a revert that did not verify is tried again.
const RETRY_FAILED: Duration = Duration::from_secs(60);

/// Restores and verifies the rules recorded at the last apply.
pub async fn run<K: Changing>(
    report: &mut Report<'_, K>,
    deps: &Deps<'_, K>,
    scope: &Scope,
) -> Result<Action, Error> {
    let (applied, manifest) = super::apply::recorded(report, deps, "revert").await?;
    let Some(manifest) = manifest else {
        let message = format!(
            "the manifest ConfigMap {} is missing, so the pre-apply rules are unknown; nothing was changed in AWS",
            applied.manifest_config_map
        );
        return Ok(failed(report, message));
    };
    deps.fence.check()?;
    report.phase(PlanPhase::Reverting);
    if let Some(applied) = report.status.applied_mut().as_mut() {
        applied
            .revert_started_at
            .get_or_insert_with(|| format_time(deps.now));
    }
    let message = format!("reverting plan {}", short_hash(&applied.plan_hash));
    report.reconciling(reasons::PROGRESSING, &message);
    // Conditional on the version read: a stale cached object reverts nothing.
    report.checkpoint().await?;
    let sg = scope.sg.as_ref();
    let mut deleted = Vec::new();
    for entry in &manifest.groups {
        match restore(deps.fence, sg, entry).await? {
            Restored::Done => {}
            Restored::Deleted => {
                let why = "the group no longer exists in AWS; nothing to restore".to_owned();
                set_state(report, &entry.group_id, GroupApplyState::Deleted, Some(why));
                deleted.push(entry.group_id.clone());
            }
            Restored::Retry(error) => return Err(Error::Aws(error)),
            Restored::Failed(why) => {
                let message = format!("failed to restore {}: {why}", entry.group_id);
                return Ok(failed(report, message));
            }
        }
    }
    match verify(sg, &manifest, &deleted).await {
        Verified::Exact { foreign } => reverted(report, deps, &manifest, &deleted, &foreign).await,
        Verified::Differs(differences) => {
            let message = format!(
                "after the revert the live rules still differ from the pre-apply rules: {}",
                differences.join("; ")
            );
            report
                .event(EventKind::Warning, reasons::REVERT_FAILED, message.clone())
                .await;
            Ok(failed(report, message))
        }
        Verified::Retry(error) => Err(Error::Aws(error)),
    }
}

async fn reverted<K: Changing>(
    report: &mut Report<'_, K>,
    deps: &Deps<'_, K>,
    manifest: &Manifest,
    deleted: &[String],
    foreign: &[String],
) -> Result<Action, Error> {
    let now = format_time(deps.now);
    // The manifest first: it is the source of truth if the status write below is lost.
    let namespace = report.object.namespace().unwrap_or_default();
    let mut marked = manifest.clone();
    marked.reverted_at = Some(now.clone());
    if let Some(applied) = report.status.applied() {
        let name = applied.manifest_config_map.clone();
        deps.store.put_manifest(&namespace, &name, &marked).await?;
    }
    mark_chain(deps, &namespace, manifest.previous.clone(), &now).await?;
    if let Some(applied) = report.status.applied_mut().as_mut() {
        applied.reverted_at = Some(now);
        for g in applied.groups.iter_mut() {
            if g.status != GroupApplyState::Deleted {
                g.status = GroupApplyState::Reverted;
                g.message = None;
            }
        }
    }
    claim::release(report, deps).await?;
    let mut message = format!(
        "the pre-apply rules of {} groups are restored and verified (plan {})",
        manifest.groups.len() - deleted.len(),
        short_hash(&manifest.plan_hash)
    );
    if !deleted.is_empty() {
        message.push_str(&format!(
            "; deleted in AWS, nothing to restore: {}",
            deleted.join(", ")
        ));
    }
    if !foreign.is_empty() {
        message.push_str(&format!(
            "; rules added by others after the apply were left alone: {}",
            foreign.join(", ")
        ));
    }
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
    Ok(Action::await_change())
}

/// The earlier applies of a chain are undone by the same revert (it restored the rules before
/// the first one): their manifests say so too. A manifest already collected ends the walk.
async fn mark_chain<K: Changing>(
    deps: &Deps<'_, K>,
    namespace: &str,
    mut next: Option<String>,
    now: &str,
) -> Result<(), Error> {
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = next.take() {
        if !seen.insert(name.clone()) {
            break;
        }
        let Some(mut older) = deps.store.get_manifest(namespace, &name).await? else {
            break;
        };
        next = older.previous.clone();
        if older.reverted_at.is_none() {
            older.reverted_at = Some(now.to_owned());
            deps.store.put_manifest(namespace, &name, &older).await?;
        }
    }
    Ok(())
}

/// A revert that did not reach the pre-apply rules: no `revertedAt`; tried again in a minute.
fn failed<K: Changing>(report: &mut Report<'_, K>, message: String) -> Action {
    report.condition(
        types::REVERTED,
        Status::False,
        reasons::REVERT_FAILED,
        message.clone(),
    );
    report.stalled(reasons::REVERT_FAILED, &message);
    Action::requeue(RETRY_FAILED)
}
