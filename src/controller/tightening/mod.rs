//! Controller layer: the SecurityGroupTightening reconciler (DESIGN §6.1). One reconcile:
//! validate the spec → resolve the tenancy-allowed target → observe the live groups → decide
//! (pure, `domain::tightening`) → act (plan, apply, resume, revert, diagnose) → report.
//! Kubernetes I/O sits behind [`store::Store`] so the whole flow runs against fakes in tests.

mod apply;
mod claim;
mod diagnose;
mod history;
mod lifecycle;
pub mod observe;
mod plan;
pub mod report;
mod revert;
pub mod spec;
pub mod store;

use super::claims::Claims;
use super::leader::Fence;
use super::{Context, Error, Reconciler};
use crate::aws::{AwsPorts, SecurityGroups, Target};
use crate::config::ControllerConfig;
use crate::crd::SecurityGroupTightening;
use crate::domain::plan::snapshot_hash;
use crate::domain::tightening::{decide, PlanReason, Step};
use crate::metrics::Metrics;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{finalizer, Event};
use kube::ResourceExt;
use observe::EvidenceCache;
use report::Report;
use std::sync::{Arc, OnceLock};
use store::{KubeStore, Store};

/// What one tightening reconcile uses, borrowed so tests can pass fakes.
pub struct Deps<'a> {
    /// The controller configuration (tenancy, manifests kept).
    pub config: &'a ControllerConfig,
    /// AWS ports.
    pub aws: &'a dyn AwsPorts,
    /// Status, manifests and events.
    pub store: &'a dyn Store,
    /// Group claims (one actor per group).
    pub claims: &'a dyn Claims,
    /// Open while this replica may act; checked before every AWS mutation.
    pub fence: &'a Fence,
    /// Prometheus metrics.
    pub metrics: &'a Metrics,
    /// Collected evidence per resource.
    pub cache: &'a EvidenceCache,
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
    pub async fn resolve(object: &SecurityGroupTightening, deps: &Deps<'_>) -> Result<Self, Error> {
        let (target, account) = observe::target_with_account(object, deps.config, deps.aws).await?;
        let sg = deps.aws.security_groups(&target).await;
        Ok(Scope {
            target,
            account,
            sg,
        })
    }
}

/// The evidence cache of the running controller.
fn evidence_cache() -> &'static EvidenceCache {
    static CACHE: OnceLock<EvidenceCache> = OnceLock::new();
    CACHE.get_or_init(EvidenceCache::default)
}

impl Reconciler for SecurityGroupTightening {
    async fn reconcile(self: Arc<Self>, ctx: Arc<Context>) -> Result<Action, Error> {
        let namespace = self.namespace().unwrap_or_default();
        let api: Api<SecurityGroupTightening> = Api::namespaced(ctx.client.clone(), &namespace);
        let store = KubeStore {
            client: ctx.client.clone(),
            events: ctx.events.clone(),
            fence: ctx.fence.clone(),
        };
        let deps = Deps {
            config: &ctx.config,
            aws: ctx.aws.as_ref(),
            store: &store,
            claims: ctx.claims.as_ref(),
            fence: &ctx.fence,
            metrics: &ctx.metrics,
            cache: evidence_cache(),
            now: jiff::Timestamp::now(),
        };
        finalizer(&api, spec::FINALIZER, self, |event| async {
            match event {
                Event::Apply(object) => reconcile(&object, &deps).await,
                Event::Cleanup(object) => cleanup(&object, &deps).await,
            }
        })
        .await
        .map_err(finalizer_error)
    }
}

fn finalizer_error(error: kube::runtime::finalizer::Error<Error>) -> Error {
    use kube::runtime::finalizer::Error as F;
    match error {
        F::ApplyFailed(e) | F::CleanupFailed(e) => e,
        F::AddFinalizer(e) => Error::kube("add finalizer sgtightener.io/cleanup", e),
        F::RemoveFinalizer(e) => Error::kube("remove finalizer sgtightener.io/cleanup", e),
        other => Error::InvalidSpec(other.to_string()),
    }
}

/// Reconciles one tightening; on failure the status says why (`Ready=False`) before the error
/// goes to the runner's backoff.
pub async fn reconcile(object: &SecurityGroupTightening, deps: &Deps<'_>) -> Result<Action, Error> {
    let mut report = Report::new(object, deps.store, deps.now);
    match steps(&mut report, deps).await {
        Ok(action) => {
            report.finish().await?;
            Ok(action)
        }
        Err(error) => {
            report.failed(&error).await;
            Err(error)
        }
    }
}

/// The table of contents.
async fn steps(report: &mut Report<'_>, deps: &Deps<'_>) -> Result<Action, Error> {
    let object = report.object;
    deps.fence.check()?;
    spec::validate(&object.spec).map_err(Error::InvalidSpec)?;
    let scope = Scope::resolve(object, deps).await?;
    let (groups, missing) = observe::groups(scope.sg.as_ref(), object).await?;
    history::recover(report, deps).await?;
    let inputs = spec::inputs_hash(object);
    let live = snapshot_hash(&groups);
    let mut step = decide(&lifecycle::facts(report, &inputs, &live));
    // Work recorded in a manifest goes on whatever groups are missing now (one missing group
    // does not block the others); a missing group only stops new plans and applies.
    match step {
        Step::Revert => return revert::run(report, deps, &scope).await,
        Step::ResumeApply => return apply::resume(report, deps, &scope).await,
        Step::Halted | Step::RevertUnfinished => {
            return Ok(lifecycle::report_step(report, step).await)
        }
        _ if !missing.is_empty() || groups.is_empty() => {
            return Ok(lifecycle::groups_not_found(report, &missing))
        }
        _ => {}
    }
    if claim::gate(step) {
        if let Some(action) = claim::refused_if_held(report, deps, &scope).await? {
            return Ok(action);
        }
    }
    if let Step::Plan(reason) = step {
        let made = plan::Planning {
            deps,
            target: &scope.target,
            sg: scope.sg.as_ref(),
            groups: &groups,
        };
        made.run(report, &inputs, reason).await?;
        if reason
            == (PlanReason::SnapshotDrift {
                approved_stale: true,
            })
        {
            return Ok(lifecycle::plan_stale(report).await);
        }
        let replaced = report
            .status
            .plan
            .as_ref()
            .is_some_and(|p| p.hash != object.spec.approved);
        if reason == PlanReason::EvidenceStale && replaced {
            return Ok(lifecycle::evidence_stale(report).await);
        }
        step = decide(&lifecycle::facts(report, &inputs, &live));
    }
    if matches!(step, Step::Nothing | Step::Diagnose) {
        claim::keep(report, deps, &scope).await;
    }
    match step {
        Step::Apply => apply::start(report, deps, &scope).await,
        Step::Diagnose => {
            diagnose::run(report, deps, &scope.target, scope.sg.as_ref(), &groups).await
        }
        other => Ok(lifecycle::report_step(report, other).await),
    }
}

/// Deletion (DESIGN I11): `Orphan` changes nothing in AWS; `Revert` restores the pre-apply rules
/// and keeps the finalizer until the revert is verified — unless the annotation
/// `sgtightener.io/force-delete: "true"` says to let go. Either way the group claims are
/// released. Tolerates an apply that never ran.
pub async fn cleanup(object: &SecurityGroupTightening, deps: &Deps<'_>) -> Result<Action, Error> {
    let key = format!(
        "{}/{}",
        object.namespace().unwrap_or_default(),
        object.name_any()
    );
    deps.cache.forget(&key);
    deps.metrics
        .forget_resource(&object.namespace().unwrap_or_default(), &object.name_any());
    deps.fence.check()?;
    let mut report = Report::new(object, deps.store, deps.now);
    let reverting = object.spec.deletion_policy == crate::crd::DeletionPolicy::Revert;
    if reverting {
        history::recover(&mut report, deps).await?;
    }
    let applied = report.status.applied.clone();
    let needs_revert = applied.as_ref().is_some_and(|a| a.reverted_at.is_none());
    if reverting && needs_revert && !forced(object) {
        let scope = Scope::resolve(object, deps).await?;
        revert::run(&mut report, deps, &scope).await?;
        report.finish().await?;
        let verified = report
            .status
            .applied
            .as_ref()
            .is_some_and(|a| a.reverted_at.is_some());
        if !verified {
            let why = lifecycle::revert_message(&report);
            return Err(Error::RevertUnverified(format!(
                "{why}; the finalizer stays until the revert is verified (or annotate the resource {}=true to delete it anyway)",
                spec::FORCE_DELETE_ANNOTATION
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

fn forced(object: &SecurityGroupTightening) -> bool {
    object
        .annotations()
        .get(spec::FORCE_DELETE_ANNOTATION)
        .is_some_and(|v| v == "true")
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_apply;
#[cfg(test)]
mod tests_evidence;
#[cfg(test)]
mod tests_faults;
#[cfg(test)]
mod tests_races;
#[cfg(test)]
mod world;
