//! Controller layer: the OrgRiskScan reconciler (DESIGN §6.3, sg_ou_report). One reconcile:
//! validate the spec → is a scan due? → resolve the accounts (Organizations subtree or list,
//! tenancy) → scan every account × region under one concurrency bound, streaming findings into
//! the tally and a spool → write the reports (ConfigMap, S3) → report (status, events, metrics).
//! Kubernetes I/O sits behind [`store::Store`] so the whole flow runs against fakes in tests.

pub mod accounts;
pub mod lifecycle;
pub mod outputs;
mod publish;
pub mod report;
pub mod scan;
pub mod spec;
pub mod store;

use super::{Context, Error, Reconciler};
use crate::aws::AwsPorts;
use crate::config::ControllerConfig;
use crate::crd::orgscan::ReportLocation;
use crate::crd::OrgRiskScan;
use crate::domain::risk::tally::ScanDue;
use crate::metrics::Metrics;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{finalizer, Event};
use kube::ResourceExt;
use outputs::ReportData;
use report::Report;
use scan::{ScanJob, ScanOutcome};

#[cfg(test)]
mod tests;
use std::sync::Arc;
use store::{KubeStore, Store};

/// What one scan reconcile uses, borrowed so tests can pass fakes.
pub struct Deps<'a> {
    /// The controller configuration (tenancy, default role).
    pub config: &'a ControllerConfig,
    /// AWS ports.
    pub aws: &'a dyn AwsPorts,
    /// Status, report ConfigMap and events.
    pub store: &'a dyn Store,
    /// Prometheus metrics.
    pub metrics: &'a Metrics,
    /// The clock (the domain never reads it; tests pass a fixed one).
    pub clock: &'a (dyn Fn() -> jiff::Timestamp + Sync),
}

impl Reconciler for OrgRiskScan {
    async fn reconcile(self: Arc<Self>, ctx: Arc<Context>) -> Result<Action, Error> {
        let namespace = self.namespace().unwrap_or_default();
        let api: Api<OrgRiskScan> = Api::namespaced(ctx.client.clone(), &namespace);
        let store = KubeStore {
            client: ctx.client.clone(),
            events: ctx.events.clone(),
        };
        let deps = Deps {
            config: &ctx.config,
            aws: ctx.aws.as_ref(),
            store: &store,
            metrics: &ctx.metrics,
            clock: &jiff::Timestamp::now,
        };
        finalizer(&api, spec::FINALIZER, self, |event| async {
            match event {
                Event::Apply(object) => reconcile(&object, &deps).await,
                Event::Cleanup(object) => Ok(cleanup(&object, &deps)),
            }
        })
        .await
        .map_err(|e| match e {
            kube::runtime::finalizer::Error::ApplyFailed(e)
            | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
            other => Error::InvalidSpec(other.to_string()),
        })
    }
}

/// Deletion changes nothing in AWS; the scan's metric series go (the report ConfigMap is owned
/// by the scan and goes with it).
pub fn cleanup(object: &OrgRiskScan, deps: &Deps<'_>) -> Action {
    let namespace = object.namespace().unwrap_or_default();
    deps.metrics.forget_resource(&namespace, &object.name_any());
    Action::await_change()
}

/// Reconciles one scan; on failure the status says why (`Ready=False`) before the error goes to
/// the runner's backoff.
pub async fn reconcile(object: &OrgRiskScan, deps: &Deps<'_>) -> Result<Action, Error> {
    let mut report = Report::new(object, deps.store, (deps.clock)());
    match steps(&mut report, deps).await {
        Ok(action) => {
            report.finish().await?;
            Ok(action)
        }
        Err(error) => {
            report::failed(&mut report, &error).await;
            Err(error)
        }
    }
}

/// The table of contents.
async fn steps(report: &mut Report<'_>, deps: &Deps<'_>) -> Result<Action, Error> {
    let object = report.object;
    spec::validate(&object.spec).map_err(Error::InvalidSpec)?;
    let interval = spec::interval(&object.spec).map_err(Error::InvalidSpec)?;
    let inputs = spec::inputs_hash(object);
    let reason = match lifecycle::due(report, &inputs) {
        ScanDue::At(next) => return Ok(lifecycle::idle(report, next)),
        ScanDue::Now(reason) => reason,
    };
    lifecycle::scanning(report, reason, &inputs, interval).await?;
    let started_at = (deps.clock)();
    let clock = std::time::Instant::now();
    let resolved = accounts::resolve(object, deps.config, deps.aws).await?;
    let (role, session, policy) = (
        spec::role_name(&object.spec, deps.config),
        spec::session_name(object),
        spec::policy(&object.spec),
    );
    let job = ScanJob {
        accounts: &resolved.accounts,
        regions: &object.spec.regions,
        partition: &resolved.partition,
        role_name: role,
        external_id: object.spec.external_id.as_deref().filter(|e| !e.is_empty()),
        session: &session,
        policy: &policy,
        max_concurrency: object.spec.max_concurrency as usize,
    };
    let outcome = scan::run(deps.aws, &job).await?;
    let ScanOutcome {
        tally,
        failures,
        findings,
        scanned_accounts,
        failed_pairs,
    } = outcome;
    let forbidden = resolved.forbidden.len();
    let mut all_failures = resolved.forbidden;
    all_failures.extend(failures);
    all_failures.sort_by(|a, b| (&a.account_id, &a.region).cmp(&(&b.account_id, &b.region)));
    let mut done = lifecycle::Finished {
        tally: &tally,
        scanned_accounts,
        failed_pairs: failed_pairs + (forbidden * object.spec.regions.len()) as u32,
        failures: all_failures,
        accounts: resolved.accounts.len() + forbidden,
        started_at,
        finished_at: (deps.clock)(),
        took: clock.elapsed(),
        report: ReportLocation::default(),
        interval,
    };
    let data = ReportData {
        resource: report.key(),
        summary: lifecycle::summary(report, &done),
        accounts: tally.ranked(usize::MAX),
        failures: done.failures.clone(),
        findings,
    };
    let (location, published) = publish::publish(object, deps, data).await;
    done.report = location;
    let action = lifecycle::scanned(report, deps.metrics, done).await;
    match published {
        Ok(()) => Ok(action),
        Err(error) => {
            // The counts stay in status; the reports are written by a retry scan, soon.
            let retry = lifecycle::retry_after(interval);
            let at = report.now + jiff::SignedDuration::try_from(retry).unwrap_or_default();
            report.status.next_scan_at = Some(crate::domain::conditions::format_time(at));
            Err(error)
        }
    }
}
