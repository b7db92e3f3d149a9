//! Controller layer: the SecurityGroupCompaction reconciler (DESIGN §6.4, sg_compact). One
//! reconcile: validate the spec → resolve the tenancy-allowed target → observe the live groups →
//! decide (pure, `domain::tightening::decide`) → act (plan here: `domain::plan::compact`; apply,
//! resume, revert and deletion by the change engine shared with the tightening,
//! `controller::change`) → report. No evidence and no diagnosis: a compaction merges the
//! groups' own private CIDRs.

mod plan;
pub mod report;
pub mod spec;

use super::change::store::{KubeStore, Store};
use super::change::{self, apply, claim, history, lifecycle, revert, Scope};
use super::claims::Claims;
use super::leader::Fence;
use super::{Context, Error, Reconciler};
use crate::aws::AwsPorts;
use crate::config::ControllerConfig;
use crate::crd::SecurityGroupCompaction;
use crate::domain::plan::snapshot_hash;
use crate::domain::tightening::{decide, PlanReason, Step};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{finalizer, Event};
use kube::ResourceExt;
use report::Report;
use std::sync::Arc;

/// What one compaction reconcile uses, borrowed so tests can pass fakes.
pub type Deps<'a> = change::Deps<'a, SecurityGroupCompaction>;

impl Reconciler for SecurityGroupCompaction {
    async fn reconcile(self: Arc<Self>, ctx: Arc<Context>) -> Result<Action, Error> {
        let namespace = self.namespace().unwrap_or_default();
        let api: Api<SecurityGroupCompaction> = Api::namespaced(ctx.client.clone(), &namespace);
        let store: KubeStore<SecurityGroupCompaction> =
            KubeStore::new(ctx.client.clone(), ctx.events.clone(), ctx.fence.clone());
        let deps = deps(
            &ctx.config,
            ctx.aws.as_ref(),
            &store,
            ctx.claims.as_ref(),
            &ctx.fence,
        );
        finalizer(&api, change::FINALIZER, self, |event| async {
            match event {
                Event::Apply(object) => reconcile(&object, &deps).await,
                Event::Cleanup(object) => change::cleanup(object.as_ref(), &deps).await,
            }
        })
        .await
        .map_err(change::finalizer_error)
    }
}

fn deps<'a>(
    config: &'a ControllerConfig,
    aws: &'a dyn AwsPorts,
    store: &'a dyn Store<SecurityGroupCompaction>,
    claims: &'a dyn Claims,
    fence: &'a Fence,
) -> Deps<'a> {
    Deps {
        config,
        aws,
        store,
        claims,
        fence,
        now: jiff::Timestamp::now(),
    }
}

/// Reconciles one compaction; on failure the status says why (`Ready=False`) before the error
/// goes to the runner's backoff.
pub async fn reconcile(object: &SecurityGroupCompaction, deps: &Deps<'_>) -> Result<Action, Error> {
    let mut report = Report::new(object, deps.store, deps.now);
    let outcome = steps(&mut report, deps).await;
    report.settle(outcome).await
}

/// The table of contents.
async fn steps(report: &mut Report<'_>, deps: &Deps<'_>) -> Result<Action, Error> {
    let object = report.object;
    deps.fence.check()?;
    spec::validate(&object.spec).map_err(Error::InvalidSpec)?;
    let scope = Scope::resolve(object, deps).await?;
    let (groups, missing) = change::observe::groups(scope.sg.as_ref(), object).await?;
    history::recover(report, deps).await?;
    let inputs = spec::inputs_hash(object);
    let live = snapshot_hash(&groups);
    let mut step = decide(&lifecycle::facts(report, &inputs, &live));
    // Work recorded in a manifest goes on whatever groups are missing now.
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
        plan::run(report, deps, &groups, &inputs, reason).await?;
        if reason
            == (PlanReason::SnapshotDrift {
                approved_stale: true,
            })
        {
            return Ok(lifecycle::plan_stale(report).await);
        }
        step = decide(&lifecycle::facts(report, &inputs, &live));
    }
    if step == Step::Nothing {
        claim::keep(report, deps, &scope).await;
    }
    match step {
        Step::Apply => apply::start(report, deps, &scope).await,
        other => Ok(lifecycle::report_step(report, other).await),
    }
}

#[cfg(test)]
mod tests;
