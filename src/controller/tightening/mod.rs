//! Controller layer: the SecurityGroupTightening reconciler (DESIGN §6.1). One reconcile:
//! validate the spec → resolve the tenancy-allowed target → observe the live groups → decide
//! (pure, `domain::tightening`) → act (plan, apply, resume, revert, diagnose) → report.
//! Kubernetes I/O sits behind [`store::Store`] so the whole flow runs against fakes in tests.

mod apply;
mod diagnose;
mod lifecycle;
pub mod observe;
mod plan;
pub mod report;
mod revert;
pub mod spec;
pub mod store;

use super::{Context, Error, Reconciler};
use crate::aws::AwsPorts;
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
    /// The controller configuration (tenancy).
    pub config: &'a ControllerConfig,
    /// AWS ports.
    pub aws: &'a dyn AwsPorts,
    /// Status, manifests and events.
    pub store: &'a dyn Store,
    /// Prometheus metrics.
    pub metrics: &'a Metrics,
    /// Collected evidence per resource.
    pub cache: &'a EvidenceCache,
    /// Now.
    pub now: jiff::Timestamp,
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
        };
        let deps = Deps {
            config: &ctx.config,
            aws: ctx.aws.as_ref(),
            store: &store,
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
    spec::validate(&object.spec).map_err(Error::InvalidSpec)?;
    let target = observe::target(object, deps.config, deps.aws).await?;
    let sg = deps.aws.security_groups(&target).await;
    let (groups, missing) = observe::groups(sg.as_ref(), object).await?;
    if !missing.is_empty() || groups.is_empty() {
        return Ok(lifecycle::groups_not_found(report, &missing));
    }
    let inputs = spec::inputs_hash(object);
    let live = snapshot_hash(&groups);
    let mut step = decide(&lifecycle::facts(report, &inputs, &live));
    if let Step::Plan(reason) = step {
        let made = plan::Planning {
            deps,
            target: &target,
            sg: sg.as_ref(),
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
        step = decide(&lifecycle::facts(report, &inputs, &live));
    }
    match step {
        Step::Apply => apply::start(report, deps, sg.as_ref(), &groups).await,
        Step::ResumeApply => apply::resume(report, deps, sg.as_ref()).await,
        Step::Revert => revert::run(report, deps, sg.as_ref()).await,
        Step::Diagnose => diagnose::run(report, deps, &target, sg.as_ref(), &groups).await,
        other => Ok(lifecycle::report_step(report, other).await),
    }
}

/// Deletion (DESIGN I11): `Orphan` changes nothing in AWS; `Revert` restores the pre-apply rules
/// first. Tolerates an apply that never ran.
pub async fn cleanup(object: &SecurityGroupTightening, deps: &Deps<'_>) -> Result<Action, Error> {
    let key = format!(
        "{}/{}",
        object.namespace().unwrap_or_default(),
        object.name_any()
    );
    deps.cache.forget(&key);
    deps.metrics
        .forget_resource(&object.namespace().unwrap_or_default(), &object.name_any());
    let applied = object.status.as_ref().and_then(|s| s.applied.as_ref());
    let needs_revert = applied.is_some_and(|a| a.reverted_at.is_none());
    if object.spec.deletion_policy == crate::crd::DeletionPolicy::Orphan || !needs_revert {
        return Ok(Action::await_change());
    }
    let mut report = Report::new(object, deps.store, deps.now);
    let target = observe::target(object, deps.config, deps.aws).await?;
    let sg = deps.aws.security_groups(&target).await;
    revert::run(&mut report, deps, sg.as_ref()).await?;
    report.finish().await?;
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_apply;
#[cfg(test)]
mod world;
