//! Controller layer: the SecurityGroupTightening reconciler (DESIGN §6.1). One reconcile:
//! validate the spec → resolve the tenancy-allowed target → observe the live groups → decide
//! (pure, `domain::tightening`) → act (plan and diagnose here; apply, resume, revert and deletion
//! by the shared change engine, `controller::change`) → report. Kubernetes I/O sits behind
//! [`Store`] so the whole flow runs against fakes in tests.

mod diagnose;
mod lifecycle;
pub mod observe;
mod plan;
pub mod report;
pub mod spec;

use super::change::store::{KubeStore, Store};
use super::change::{self, apply, claim, history, revert, Scope};
use super::claims::Claims;
use super::leader::Fence;
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

/// What one tightening reconcile uses, borrowed so tests can pass fakes.
pub struct Deps<'a> {
    /// The controller configuration (tenancy, manifests kept).
    pub config: &'a ControllerConfig,
    /// AWS ports.
    pub aws: &'a dyn AwsPorts,
    /// Status, manifests and events.
    pub store: &'a dyn Store<SecurityGroupTightening>,
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

impl<'a> Deps<'a> {
    /// What the change engine uses.
    pub fn change(&self) -> change::Deps<'a, SecurityGroupTightening> {
        change::Deps {
            config: self.config,
            aws: self.aws,
            store: self.store,
            claims: self.claims,
            fence: self.fence,
            now: self.now,
        }
    }
}

/// The evidence cache of the running controller, within the configured evidence memory.
fn evidence_cache(config: &ControllerConfig) -> &'static EvidenceCache {
    static CACHE: OnceLock<EvidenceCache> = OnceLock::new();
    CACHE.get_or_init(|| EvidenceCache::with_budget(config.evidence.memory_bytes()))
}

impl Reconciler for SecurityGroupTightening {
    async fn reconcile(self: Arc<Self>, ctx: Arc<Context>) -> Result<Action, Error> {
        let namespace = self.namespace().unwrap_or_default();
        let api: Api<SecurityGroupTightening> = Api::namespaced(ctx.client.clone(), &namespace);
        let store = KubeStore::new(ctx.client.clone(), ctx.events.clone(), ctx.fence.clone());
        let deps = Deps {
            config: &ctx.config,
            aws: ctx.aws.as_ref(),
            store: &store,
            claims: ctx.claims.as_ref(),
            fence: &ctx.fence,
            metrics: &ctx.metrics,
            cache: evidence_cache(&ctx.config),
            now: jiff::Timestamp::now(),
        };
        finalizer(&api, change::FINALIZER, self, |event| async {
            match event {
                Event::Apply(object) => reconcile(&object, &deps).await,
                Event::Cleanup(object) => cleanup(&object, &deps).await,
            }
        })
        .await
        .map_err(change::finalizer_error)
    }
}

/// Reconciles one tightening; on failure the status says why (`Ready=False`) before the error
/// goes to the runner's backoff.
pub async fn reconcile(object: &SecurityGroupTightening, deps: &Deps<'_>) -> Result<Action, Error> {
    let mut report = Report::new(object, deps.store, deps.now);
    let outcome = steps(&mut report, deps).await;
    report.settle(outcome).await
}

/// The table of contents.
async fn steps(report: &mut Report<'_>, deps: &Deps<'_>) -> Result<Action, Error> {
    let object = report.object;
    let engine = deps.change();
    deps.fence.check()?;
    spec::validate(&object.spec).map_err(Error::InvalidSpec)?;
    let scope = Scope::resolve(object, &engine).await?;
    let (groups, missing) = change::observe::groups(scope.sg.as_ref(), object).await?;
    history::recover(report, &engine).await?;
    let inputs = spec::inputs_hash(object);
    let live = snapshot_hash(&groups);
    let mut step = decide(&lifecycle::facts(report, &inputs, &live));
    // Work recorded in a manifest goes on whatever groups are missing now (one missing group
    // does not block the others); a missing group only stops new plans and applies.
    match step {
        Step::Revert => return revert::run(report, &engine, &scope).await,
        Step::ResumeApply => return apply::resume(report, &engine, &scope).await,
        Step::Halted | Step::RevertUnfinished => {
            return Ok(lifecycle::report_step(report, step).await)
        }
        _ if !missing.is_empty() || groups.is_empty() => {
            return Ok(change::lifecycle::groups_not_found(report, &missing))
        }
        _ => {}
    }
    if claim::gate(step) {
        if let Some(action) = claim::refused_if_held(report, &engine, &scope).await? {
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
            return Ok(change::lifecycle::plan_stale(report).await);
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
        claim::keep(report, &engine, &scope).await;
    }
    match step {
        Step::Apply => apply::start(report, &engine, &scope).await,
        Step::Diagnose => {
            diagnose::run(report, deps, &scope.target, scope.sg.as_ref(), &groups).await
        }
        other => Ok(lifecycle::report_step(report, other).await),
    }
}

/// Deletion (DESIGN I11): forgets the resource's evidence and metrics, then the change engine
/// runs the `deletionPolicy` ([`change::cleanup`]).
pub async fn cleanup(object: &SecurityGroupTightening, deps: &Deps<'_>) -> Result<Action, Error> {
    let namespace = object.namespace().unwrap_or_default();
    deps.cache
        .forget(&format!("{namespace}/{}", object.name_any()));
    deps.metrics.forget_resource(&namespace, &object.name_any());
    change::cleanup(object, &deps.change()).await
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_evidence;
#[cfg(test)]
mod tests_readmit;
#[cfg(test)]
pub(crate) mod world;
