//! Controller layer: a changing kind's side of one actor per group (a tightening and a
//! compaction never change the same group at once). Before an approved plan is
//! applied (or re-planned because another apply moved its groups) the groups it changes must not
//! be claimed by another resource; the apply claims them all, atomically, before its write-ahead.
//! A refused resource shows `Ready=False, reason=GroupClaimed` naming the holder, and checks
//! again every few minutes. Claims are released on a verified revert and on deletion.

use super::lifecycle::APPROVAL_RECHECK;
use super::store::EventKind;
use super::{ChangeStatus, Changing, Deps, Report, Scope, FORCE_DELETE_ANNOTATION};
use crate::controller::claims::{GroupKey, HeldBy, Holder};
use crate::controller::Error;
use crate::crd::{short_hash, PlanPhase};
use crate::domain::conditions::{reasons, types};
use crate::domain::tightening::{PlanReason, Step};
use kube::runtime::controller::Action;

/// Steps that would act on an approval: an apply, or a re-plan of an approved plan whose groups
/// changed (most likely because another resource applied to them).
pub fn gate(step: Step) -> bool {
    matches!(
        step,
        Step::Apply
            | Step::Plan(PlanReason::SnapshotDrift {
                approved_stale: true
            })
    )
}

/// The claim holder for this resource.
pub fn holder<K: Changing>(report: &Report<'_, K>) -> Holder {
    Holder::of(report.object)
}

/// The claim keys of `group_ids` in the scope's account and region.
pub fn keys(scope: &Scope, group_ids: &[String]) -> Vec<GroupKey> {
    group_ids
        .iter()
        .map(|id| GroupKey {
            account: scope.account.clone(),
            region: scope.target.region.clone(),
            group_id: id.clone(),
        })
        .collect()
}

/// The groups the plan in status changes.
fn planned_groups<K: Changing>(report: &Report<'_, K>) -> Vec<String> {
    report.status.plan().map_or_else(Vec::new, |p| {
        p.groups
            .iter()
            .filter(|g| !g.revoke.is_empty() || !g.authorise.is_empty())
            .map(|g| g.group_id.clone())
            .collect()
    })
}

/// `Some` (GroupClaimed reported) when another live resource holds a group the plan changes.
pub async fn refused_if_held<K: Changing>(
    report: &mut Report<'_, K>,
    deps: &Deps<'_, K>,
    scope: &Scope,
) -> Result<Option<Action>, Error> {
    let groups = keys(scope, &planned_groups(report));
    if groups.is_empty() {
        return Ok(None);
    }
    let me = holder(report);
    Ok(match deps.claims.held_by_other(&groups, &me).await? {
        Some(held) => Some(claimed(report, &held).await),
        None => None,
    })
}

/// Claims `group_ids` for this resource: `Some` (GroupClaimed reported) when another holds one.
pub async fn take<K: Changing>(
    report: &mut Report<'_, K>,
    deps: &Deps<'_, K>,
    scope: &Scope,
    group_ids: &[String],
) -> Result<Option<Action>, Error> {
    let me = holder(report);
    Ok(
        match deps.claims.claim(&keys(scope, group_ids), &me).await? {
            Some(held) => Some(claimed(report, &held).await),
            None => None,
        },
    )
}

/// Keeps the claims of an apply in effect (an apply made before claims existed, or a claim
/// deleted by hand, is claimed again). Best effort: a refusal or failure is only logged.
pub async fn keep<K: Changing>(report: &Report<'_, K>, deps: &Deps<'_, K>, scope: &Scope) {
    let Some(applied) = report.status.applied() else {
        return;
    };
    if applied.reverted_at.is_some() || applied.revert_started_at.is_some() {
        return;
    }
    let ids: Vec<String> = applied.groups.iter().map(|g| g.group_id.clone()).collect();
    match deps.claims.claim(&keys(scope, &ids), &holder(report)).await {
        Ok(None) => {}
        Ok(Some(held)) => {
            tracing::warn!(object = %report.key(), group = %held.group, holder = %held.holder, "an applied group is claimed by another resource")
        }
        Err(error) => {
            tracing::warn!(object = %report.key(), %error, "failed to keep the group claims")
        }
    }
}

/// Releases every claim of this resource.
pub async fn release<K: Changing>(report: &Report<'_, K>, deps: &Deps<'_, K>) -> Result<(), Error> {
    deps.claims.release_all(&holder(report)).await
}

/// The Warning published when the force-delete annotation skips an unverified revert.
pub async fn forced_delete<K: Changing>(report: &Report<'_, K>) {
    let manifest = report
        .status
        .applied()
        .map(|a| a.manifest_config_map.clone())
        .unwrap_or_default();
    let message = format!(
        "deleted with {}=true before a verified revert: AWS may still hold the applied rules; ConfigMap {manifest} keeps the pre-apply rules",
        FORCE_DELETE_ANNOTATION
    );
    report
        .event(EventKind::Warning, reasons::REVERT_INCOMPLETE, message)
        .await;
}

async fn claimed<K: Changing>(report: &mut Report<'_, K>, held: &HeldBy) -> Action {
    let plan = report
        .status
        .plan()
        .map(|p| short_hash(&p.hash))
        .unwrap_or_default();
    let message = format!(
        "security group {} is claimed by {}, which applied a change to it; plan {plan} was not applied. It can apply once that resource reverts or is deleted (checked every {} minutes)",
        held.group,
        held.holder,
        APPROVAL_RECHECK.as_secs() / 60
    );
    report.phase(PlanPhase::AwaitingApproval);
    report.stalled(reasons::GROUP_CLAIMED, &message);
    report
        .event_on_transition(
            types::READY,
            EventKind::Warning,
            reasons::GROUP_CLAIMED,
            message,
        )
        .await;
    Action::requeue(APPROVAL_RECHECK)
}
