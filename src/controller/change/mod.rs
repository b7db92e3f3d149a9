//! Controller layer: the change engine shared by every kind that changes security-group rules
//! from a reviewed plan (SecurityGroupTightening, SecurityGroupCompaction) — approval by hash,
//! the write-ahead manifest (I8), make-before-break apply (I7), resume after a crash, exact
//! verified revert (I9), stale-plan refusal (I6), one owner per group, and deletion by
//! `deletionPolicy` (I11). It works on `status.plan` and `status.applied` through
//! [`ChangeStatus`] and never knows which kind produced the plan: a kind plugs in with
//! [`Changing`] (its spec's answers and its own guard on an intent) and its status type.

pub mod apply;
pub mod claim;
pub mod history;
pub mod lifecycle;
pub mod names;
pub mod observe;
pub mod revert;
pub mod spec;
pub mod store;

use super::claims::Claims;
use super::leader::Fence;
use super::report::{KindStatus, Reported};
use super::Error;
use crate::aws::{AwsPorts, GroupSelector, SecurityGroups, Target};
use crate::config::ControllerConfig;
use crate::crd::{AppliedRecord, AwsTarget, DeletionPolicy, PlanPhase};
use crate::domain::plan::Plan;
use crate::domain::tightening::GroupManifest;
use kube::runtime::controller::Action;
use kube::ResourceExt;
use std::sync::Arc;
use std::time::Duration;
use store::Store;

/// One reconcile's status report for a changing kind.
pub type Report<'a, K> = super::report::Report<'a, K, dyn Store<K> + 'a>;

/// The status of a kind that changes rules from a plan: the pieces the engine reads and writes.
/// Implements [`KindStatus`], [`crate::controller::report::Reported`] and [`ChangeStatus`] for a
/// changing kind whose status has the usual `phase`, `plan`, `planShortHash` and `applied` fields.
#[macro_export]
macro_rules! changing_kind {
    ($kind:ty, $status:ty) => {
        $crate::reported_kind!($kind, $status);

        impl $crate::controller::change::ChangeStatus for $status {
            fn phase(&self) -> $crate::crd::PlanPhase {
                self.phase
            }

            fn set_phase(&mut self, phase: $crate::crd::PlanPhase) {
                self.phase = phase;
            }

            fn plan(&self) -> Option<&$crate::domain::plan::Plan> {
                self.plan.as_ref()
            }

            fn plan_mut(&mut self) -> &mut Option<$crate::domain::plan::Plan> {
                &mut self.plan
            }

            fn set_plan_short_hash(&mut self, short: Option<String>) {
                self.plan_short_hash = short;
            }

            fn applied(&self) -> Option<&$crate::crd::AppliedRecord> {
                self.applied.as_ref()
            }

            fn applied_mut(&mut self) -> &mut Option<$crate::crd::AppliedRecord> {
                &mut self.applied
            }
        }
    };
}

pub trait ChangeStatus: KindStatus {
    /// `status.phase`.
    fn phase(&self) -> PlanPhase;
    /// Sets `status.phase`.
    fn set_phase(&mut self, phase: PlanPhase);
    /// `status.plan`.
    fn plan(&self) -> Option<&Plan>;
    /// `status.plan`, to change.
    fn plan_mut(&mut self) -> &mut Option<Plan>;
    /// Sets `status.planShortHash` (the printer column).
    fn set_plan_short_hash(&mut self, short: Option<String>);
    /// `status.applied`.
    fn applied(&self) -> Option<&AppliedRecord>;
    /// `status.applied`, to change.
    fn applied_mut(&mut self) -> &mut Option<AppliedRecord>;
}

impl<K: Changing> Report<'_, K> {
    /// Sets `status.phase`.
    pub fn phase(&mut self, phase: PlanPhase) {
        self.status.set_phase(phase);
    }
}

/// A kind's own reason to hold an approved plan right before its write-ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Condition and event reason (CamelCase).
    pub reason: &'static str,
    /// What the user sees in `Ready` (say that nothing was applied and what happens next).
    pub message: String,
    /// When to decide again.
    pub requeue: Duration,
}

/// What a kind tells the engine. Everything here is read from the object; nothing does I/O.
pub trait Changing: super::Reconciler + Reported<Status: ChangeStatus> {
    /// The kubectl short name (`sgt`, `sgc`): commands shown to the user, manifest names.
    const SHORT_NAME: &'static str;
    /// The label naming a manifest's resource (`sgtightener.io/tightening`).
    const MANIFEST_LABEL: &'static str;
    /// What an empty plan means to the user, e.g. "no rule can be tightened from the evidence".
    const NOTHING_TO_CHANGE: &'static str;

    /// `spec.region`, `spec.accountId`, `spec.roleArn`.
    fn target(&self) -> &AwsTarget;
    /// `spec.groups` as an AWS selector.
    fn selector(&self) -> GroupSelector;
    /// `spec.approved`.
    fn approved(&self) -> &str;
    /// `spec.revert`.
    fn revert_requested(&self) -> bool;
    /// `spec.deletionPolicy`.
    fn deletion_policy(&self) -> DeletionPolicy;
    /// The last check of one group's recorded intent against its recorded pre-apply rules,
    /// before AWS is touched (`status.plan` can be patched by anyone with status RBAC): `Err`
    /// names the rule the kind never plans.
    fn check_group(&self, entry: &GroupManifest) -> Result<(), String>;
    /// A reason of the kind's own not to apply the approved, intact, fresh plan now (checked
    /// right before the claims and the write-ahead). `None`: go on.
    fn hold_apply(_report: &Report<'_, Self>) -> Option<Hold> {
        None
    }
    /// What an applied plan did, for the `Applied` condition and event.
    fn applied_summary(plan: &Plan) -> String {
        let s = &plan.summary;
        format!(
            "revoked {} rules, authorised {} rules; trusted addresses {} → {}",
            s.rules_revoked, s.rules_authorised, s.addresses_before, s.addresses_after
        )
    }
    /// When to look again once the plan is applied and nothing else is due.
    fn applied_requeue(&self) -> Action {
        Action::await_change()
    }
}

/// What the engine uses, borrowed so tests can pass fakes.
pub struct Deps<'a, K: Changing> {
    /// The controller configuration (tenancy, manifests kept).
    pub config: &'a ControllerConfig,
    /// AWS ports.
    pub aws: &'a dyn AwsPorts,
    /// Status, manifests and events.
    pub store: &'a dyn Store<K>,
    /// Group claims (one actor per group).
    pub claims: &'a dyn Claims,
    /// Open while this replica may act; checked before every AWS mutation.
    pub fence: &'a Fence,
    /// Now.
    pub now: jiff::Timestamp,
}

/// Where a reconcile acts: resolved once, before any decision.
pub struct Scope {
    /// Region and role.
    pub target: Target,
    /// The account (claims are keyed by it).
    pub account: String,
    /// Security groups in the target.
    pub sg: Arc<dyn SecurityGroups>,
}

impl Scope {
    /// Resolves the target (tenancy first) and its security-group port.
    pub async fn resolve<K: Changing>(object: &K, deps: &Deps<'_, K>) -> Result<Self, Error> {
        let namespace = object.namespace().unwrap_or_default();
        let (target, account) = crate::controller::target::resolve_with_account(
            &namespace,
            object.target(),
            deps.config,
            deps.aws,
        )
        .await?;
        let sg = deps.aws.security_groups(&target).await;
        Ok(Scope {
            target,
            account,
            sg,
        })
    }
}

/// The finalizer that runs the `deletionPolicy`.
pub const FINALIZER: &str = "sgtightener.io/cleanup";
/// Set to `"true"` to let a resource with `deletionPolicy: Revert` be deleted although its
/// revert is not verified (the manifest ConfigMap keeps the pre-apply rules).
pub const FORCE_DELETE_ANNOTATION: &str = "sgtightener.io/force-delete";

/// The error of kube-runtime's finalizer helper as the reconcile's error.
pub fn finalizer_error(error: kube::runtime::finalizer::Error<Error>) -> Error {
    use kube::runtime::finalizer::Error as F;
    match error {
        F::ApplyFailed(e) | F::CleanupFailed(e) => e,
        F::AddFinalizer(e) => Error::kube("add finalizer sgtightener.io/cleanup", e),
        F::RemoveFinalizer(e) => Error::kube("remove finalizer sgtightener.io/cleanup", e),
        other => Error::InvalidSpec(other.to_string()),
    }
}

/// Deletion (DESIGN I11): `Orphan` changes nothing in AWS; `Revert` restores the pre-apply rules
/// and keeps the finalizer until the revert is verified — unless the annotation
/// `sgtightener.io/force-delete: "true"` says to let go. Either way the group claims are
/// released. Tolerates an apply that never ran.
pub async fn cleanup<K: Changing>(object: &K, deps: &Deps<'_, K>) -> Result<Action, Error> {
    deps.fence.check()?;
    let mut report = Report::new(object, deps.store, deps.now);
    let reverting = object.deletion_policy() == DeletionPolicy::Revert;
    if reverting {
        history::recover(&mut report, deps).await?;
    }
    let applied = report.status.applied().cloned();
    let needs_revert = applied.as_ref().is_some_and(|a| a.reverted_at.is_none());
    if reverting && needs_revert && !forced(object) {
        let scope = Scope::resolve(object, deps).await?;
        revert::run(&mut report, deps, &scope).await?;
        report.finish().await?;
        let verified = report
            .status
            .applied()
            .is_some_and(|a| a.reverted_at.is_some());
        if !verified {
            let why = lifecycle::revert_message(&report);
            return Err(Error::RevertUnverified(format!(
                "{why}; the finalizer stays until the revert is verified (or annotate the resource {FORCE_DELETE_ANNOTATION}=true to delete it anyway)"
            )));
        }
    } else if reverting && needs_revert {
        claim::forced_delete(&report).await;
    }
    if applied.is_some() {
        claim::release(&report, deps).await?;
    }
    Ok(Action::await_change())
}

fn forced<K: Changing>(object: &K) -> bool {
    object
        .annotations()
        .get(FORCE_DELETE_ANNOTATION)
        .is_some_and(|v| v == "true")
}

#[cfg(test)]
mod tests;
