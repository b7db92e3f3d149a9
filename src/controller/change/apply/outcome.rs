//! Controller layer: how an apply ends or pauses, in status — a group's progress, a transient
//! pause (resumed from the manifest), a halt that says what was done and how to revert, and the
//! finished apply.

use super::super::store::EventKind;
use super::super::{names, ChangeStatus, Changing, Deps, Report};
use crate::aws::AwsError;
use crate::controller::Error;
use crate::crd::{short_hash, GroupApplyState, GroupApplyStatus, PlanPhase};
use crate::domain::conditions::{format_time, reasons, types, Status};
use kube::runtime::controller::Action;
use kube::ResourceExt;

/// A transient AWS error paused the apply at `group_id`: say so; the error goes to the backoff
/// and the next reconcile resumes from the manifest.
pub(super) fn retrying<K: Changing>(
    report: &mut Report<'_, K>,
    group_id: &str,
    error: AwsError,
) -> Error {
    let why = format!("paused by a transient AWS error, resuming from the manifest: {error}");
    let current = group_state(report, group_id).unwrap_or_default();
    set_state(report, group_id, current, Some(why.clone()));
    let plan = report
        .status
        .applied()
        .map(|a| short_hash(&a.plan_hash))
        .unwrap_or_default();
    let message = format!("apply of plan {plan} at {group_id} {why}");
    report.phase(PlanPhase::Applying);
    report.condition(
        types::APPLIED,
        Status::False,
        reasons::APPLY_RETRYING,
        message,
    );
    Error::Aws(error)
}

pub(super) fn state(
    group_id: &str,
    status: GroupApplyState,
    message: Option<String>,
) -> GroupApplyStatus {
    GroupApplyStatus {
        group_id: group_id.to_owned(),
        status,
        message,
    }
}

pub(super) fn group_state<K: Changing>(
    report: &Report<'_, K>,
    group_id: &str,
) -> Option<GroupApplyState> {
    let applied = report.status.applied()?;
    applied
        .groups
        .iter()
        .find(|g| g.group_id == group_id)
        .map(|g| g.status)
}

/// Records a group's progress in the apply record.
pub(in super::super) fn set_state<K: Changing>(
    report: &mut Report<'_, K>,
    group_id: &str,
    status: GroupApplyState,
    message: Option<String>,
) {
    if let Some(applied) = report.status.applied_mut().as_mut() {
        match applied.groups.iter_mut().find(|g| g.group_id == group_id) {
            Some(entry) => *entry = state(group_id, status, message),
            None => applied.groups.push(state(group_id, status, message)),
        }
    }
}

/// The `kubectl patch` that requests a revert.
fn revert_command<K: Changing>(report: &Report<'_, K>) -> String {
    names::revert_command(
        K::SHORT_NAME,
        &report.object.namespace().unwrap_or_default(),
        &report.object.name_any(),
    )
}

pub(super) async fn halt<K: Changing>(
    report: &mut Report<'_, K>,
    group_id: Option<&str>,
    why: String,
) -> Action {
    if let Some(id) = group_id {
        set_state(report, id, GroupApplyState::Failed, Some(why.clone()));
    }
    let applied = report.status.applied().cloned().unwrap_or_default();
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

pub(super) async fn done<K: Changing>(report: &mut Report<'_, K>, deps: &Deps<'_, K>) -> Action {
    let now = format_time(deps.now);
    let plan = report.status.plan().cloned().unwrap_or_default();
    let mut deleted = Vec::new();
    if let Some(applied) = report.status.applied_mut().as_mut() {
        applied.finished_at = Some(now);
        deleted.extend(
            applied
                .groups
                .iter()
                .filter(|g| g.status == GroupApplyState::Deleted)
                .map(|g| g.group_id.clone()),
        );
    }
    let mut message = format!(
        "plan {} applied: {}",
        short_hash(&plan.hash),
        K::applied_summary(&plan)
    );
    if !deleted.is_empty() {
        message.push_str(&format!(
            " (groups deleted in AWS, nothing applied there: {})",
            deleted.join(", ")
        ));
    }
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
    report.object.applied_requeue()
}
