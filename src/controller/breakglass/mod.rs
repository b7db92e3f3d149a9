//! Controller layer: the BreakGlassExtension reconciler (DESIGN §6.2, I10–I12) — the incident
//! path. One reconcile: validate the spec (no AWS call when it is refused) → keep the finalizer
//! in line with `deletionPolicy` → resolve the tenancy-allowed target → expired? release → a new
//! generation? add its rules (domain `plan_group`, reference counted) → report. Kubernetes sits
//! behind [`store::Store`], AWS behind the ports, so the whole flow runs against fakes in tests.
//!
//! The reference-count record is each extension's own `status.groups[]` (`added`, `shared`,
//! `pending`), read for every extension from the API server under one lock per operator; see
//! docs/resources.md.

mod apply;
pub mod ip_ranges;
mod lifecycle;
pub mod observe;
mod release;
mod report;
pub mod spec;
pub mod store;

use super::{Context, Error, Reconciler};
use crate::aws::AwsPorts;
use crate::config::ControllerConfig;
use crate::crd::{BreakGlassExtension, BreakGlassPhase, BreakGlassPolicy, SecurityGroupTightening};
use crate::metrics::Metrics;
use ip_ranges::{Fetch, HttpFetch, RangesCache};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store as Reflector};
use kube::runtime::watcher;
use report::Report;
use std::sync::{Arc, OnceLock};
use store::{KubeStore, Store, FINALIZER};

/// What one break-glass reconcile uses, borrowed so tests can pass fakes.
pub struct Deps<'a> {
    /// The controller configuration (tenancy, `breakGlass`).
    pub config: &'a ControllerConfig,
    /// AWS ports.
    pub aws: &'a dyn AwsPorts,
    /// Status, every extension's record, tightenings, finalizer, events.
    pub store: &'a dyn Store,
    /// Prometheus metrics.
    pub metrics: &'a Metrics,
    /// The parsed `ip-ranges.json`.
    pub ranges: &'a RangesCache,
    /// How a URL is fetched.
    pub fetch: &'a dyn Fetch,
    /// Held while an extension reads the others' references and changes AWS and its own record:
    /// two extensions never decide on the same rule at once.
    pub lock: &'a tokio::sync::Mutex<()>,
    /// Now.
    pub now: jiff::Timestamp,
}

fn lock() -> &'static tokio::sync::Mutex<()> {
    static LOCK: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
}

fn ranges() -> &'static RangesCache {
    static RANGES: OnceLock<RangesCache> = OnceLock::new();
    RANGES.get_or_init(RangesCache::default)
}

impl Reconciler for BreakGlassExtension {
    async fn reconcile(self: Arc<Self>, ctx: Arc<Context>) -> Result<Action, Error> {
        let store = KubeStore {
            client: ctx.client.clone(),
            events: ctx.events.clone(),
            namespaces: ctx.config.watch_namespaces.clone(),
        };
        let deps = Deps {
            config: &ctx.config,
            aws: ctx.aws.as_ref(),
            store: &store,
            metrics: &ctx.metrics,
            ranges: ranges(),
            fetch: &HttpFetch,
            lock: lock(),
            now: jiff::Timestamp::now(),
        };
        reconcile(&self, &deps).await
    }

    /// An applied tightening may supersede an extension: its changes reconcile the extensions
    /// that hold rules on the groups it changed.
    fn related(controller: Controller<Self>, ctx: &Context) -> Controller<Self> {
        let extensions = controller.store();
        // A tightening in any namespace the operator sees may change this extension's groups.
        let namespaces = &ctx.config.watch_namespaces;
        let tightenings = super::scope::apis::<SecurityGroupTightening>(&ctx.client, namespaces);
        tightenings.into_iter().fold(controller, |controller, api| {
            let extensions = extensions.clone();
            controller.watches(api, watcher::Config::default(), move |sgt| {
                touched_by(&extensions, &sgt)
            })
        })
    }
}

/// The extensions holding rules on a group an applied tightening changed.
fn touched_by(
    extensions: &Reflector<BreakGlassExtension>,
    sgt: &SecurityGroupTightening,
) -> Vec<ObjectRef<BreakGlassExtension>> {
    let Some(status) = sgt.status.as_ref().filter(|s| s.applied.is_some()) else {
        return Vec::new();
    };
    let planned: Option<Vec<&str>> = status
        .plan
        .as_ref()
        .filter(|p| {
            status
                .applied
                .as_ref()
                .is_some_and(|a| a.plan_hash == p.hash)
        })
        .map(|p| p.groups.iter().map(|g| g.group_id.as_str()).collect());
    let touches = |e: &BreakGlassExtension| {
        e.status.iter().flat_map(|s| &s.groups).any(|g| {
            !g.added.is_empty()
                && planned
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&g.group_id.as_str()))
        })
    };
    extensions
        .state()
        .iter()
        .filter(|e| touches(e))
        .map(|e| ObjectRef::from_obj(e.as_ref()))
        .collect()
}

/// Reconciles one extension; on failure the status says why (`Ready=False`) before the error
/// goes to the runner's backoff.
pub async fn reconcile(object: &BreakGlassExtension, deps: &Deps<'_>) -> Result<Action, Error> {
    if object.metadata.deletion_timestamp.is_some() {
        return cleanup(object, deps).await;
    }
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
    let spec =
        spec::validate(&object.spec, &deps.config.break_glass).map_err(Error::InvalidSpec)?;
    let expires_at = spec::expires_at(object, spec.expires_after).unwrap_or(deps.now);
    report.status.expires_at = Some(crate::domain::conditions::format_time(expires_at));
    lifecycle::sync_finalizer(report, deps).await?;
    let target = observe::target(object, deps).await?;
    if deps.now >= expires_at {
        return lifecycle::expire(report, deps, &target, expires_at).await;
    }
    let released = report.status.released_at.take().is_some();
    if released || report.status.applied_generation != object.metadata.generation {
        apply::run(report, deps, &target, &spec).await?;
        lifecycle::first_applied(report, deps, &spec);
    } else {
        lifecycle::refresh_gauges(report, deps, &target).await?;
    }
    lifecycle::superseded(report, deps).await?;
    Ok(lifecycle::report_live(report, deps, expires_at))
}

/// Deletion (DESIGN I11): with `deletionPolicy: Revoke` the extension's rules are released by
/// reference count before its finalizer goes; `Retain` has no finalizer and changes nothing.
pub async fn cleanup(object: &BreakGlassExtension, deps: &Deps<'_>) -> Result<Action, Error> {
    let ours = object
        .metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == FINALIZER));
    if !ours {
        return Ok(Action::await_change());
    }
    let revoke = object.spec.deletion_policy == BreakGlassPolicy::Revoke;
    let released = object
        .status
        .as_ref()
        .is_some_and(|s| s.released_at.is_some());
    if revoke && !released {
        let mut report = Report::new(object, deps.store, deps.now);
        let target = observe::target(object, deps).await?;
        release::release_all(&mut report, deps, &target, true).await?;
        report.status.phase = BreakGlassPhase::Revoked;
        report.finish().await?;
    }
    deps.store.set_finalizer(object, false).await?;
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_flows;
#[cfg(test)]
mod world;
