//! Controller layer: one kube-runtime `Controller` per kind, generic over the resource type.
//! A kind joins the operator by implementing [`Reconciler`] and being listed in
//! [`super::controllers`]; this file wraps every reconcile with metrics (the object's `Ready`
//! and awaiting-approval gauges included), logging and the per-object error backoff.

use super::context::Context;
use super::error::{Error, Retry, SLOW_RETRY};
use crate::metrics::KindResourceLabels;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use kube::api::Api;
use kube::core::NamespaceResourceScope;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// A namespaced kind the operator reconciles.
pub trait Reconciler:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + Serialize
    + Send
    + Sync
    + 'static
{
    /// Brings the world in line with one object: observe → decide → act → report.
    /// Must be idempotent: it runs again on every change, requeue and restart.
    fn reconcile(
        self: Arc<Self>,
        ctx: Arc<Context>,
    ) -> impl Future<Output = Result<Action, Error>> + Send;

    /// Adds watches on other kinds whose changes should reconcile objects of this kind
    /// (`Controller::watches`); none by default.
    fn related(controller: Controller<Self>, _ctx: &Context) -> Controller<Self> {
        controller
    }
}

/// A controller built for one kind, ready to run.
pub struct Registered {
    /// The kind's name, for logs.
    pub kind: String,
    /// Runs the controller until shutdown.
    pub run: BoxFuture<'static, ()>,
    /// Resolves once the kind's watch has listed every object (feeds `/readyz`).
    pub ready: BoxFuture<'static, ()>,
}

/// `kind/namespace/name`: the key for backoff and logs.
pub fn object_key<K: Resource<DynamicType = ()>>(object: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        object.namespace().unwrap_or_default(),
        object.name_any()
    )
}

/// Builds the controller for `K`, stopping gracefully (in-flight reconciles finish) when
/// `shutdown` resolves. With `watchNamespaces` set, one kube-runtime controller per namespace
/// (each with its own watch, store and `reconcile.concurrency`), run together; else one over
/// every namespace.
pub fn controller<K: Reconciler>(
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> Registered {
    let kind = K::kind(&()).into_owned();
    ctx.metrics.register_kind(&kind);
    let shutdown = shutdown.shared();
    let (runs, readies): (Vec<_>, Vec<_>) =
        super::scope::apis::<K>(&ctx.client, &ctx.config.watch_namespaces)
            .into_iter()
            .map(|api| one_controller(api, &kind, ctx.clone(), shutdown.clone()))
            .unzip();
    let run = futures::future::join_all(runs).map(|_| ()).boxed();
    let ready = futures::future::join_all(readies).map(|_| ()).boxed();
    Registered { kind, run, ready }
}

fn one_controller<K: Reconciler>(
    api: Api<K>,
    kind: &str,
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> (BoxFuture<'static, ()>, BoxFuture<'static, ()>) {
    let config = controller::Config::default().concurrency(ctx.config.reconcile.concurrency);
    let controller = Controller::new(api, watcher::Config::default()).with_config(config);
    let controller = K::related(controller, &ctx).graceful_shutdown_on(shutdown);
    let store = controller.store();
    let log_kind = kind.to_owned();
    let metrics = ctx.metrics.clone();
    let run = controller
        .run(reconcile::<K>, error_policy::<K>, ctx)
        .for_each(move |result| {
            match result {
                Ok((object, _)) => {
                    tracing::debug!(kind = %log_kind, object = %object.name, "reconciled")
                }
                Err(error) => {
                    if let controller::Error::ObjectNotFound(object) = &error {
                        // Deleted: its status gauges go with it.
                        metrics.status.forget(&KindResourceLabels {
                            kind: log_kind.clone(),
                            namespace: object.namespace.clone().unwrap_or_default(),
                            name: object.name.clone(),
                        });
                    }
                    log_controller_error(&log_kind, &error)
                }
            }
            futures::future::ready(())
        })
        .boxed();
    (run, wait_until_listed(store).boxed())
}

/// Resolves once the store has listed every object. kube-runtime's `wait_until_ready` keeps a
/// single waker, and the controller's own runner waits on the same store, so a second waiter may
/// never be woken: poll it again every half second instead of trusting one wake-up.
async fn wait_until_listed<K: Reconciler>(store: Store<K>) {
    loop {
        let attempt = tokio::time::timeout(Duration::from_millis(500), store.wait_until_ready());
        match attempt.await {
            // Ok(Ok): listed. Ok(Err): the controller stopped first; readiness is moot then.
            Ok(_) => return,
            Err(_elapsed) => continue,
        }
    }
}

fn log_controller_error<E: std::error::Error, W: std::error::Error>(
    kind: &str,
    error: &controller::Error<E, W>,
) {
    match error {
        // The reconciler failed: error_policy already logged it with its reason.
        controller::Error::ReconcilerFailed(..) => {}
        controller::Error::ObjectNotFound(object) => {
            tracing::debug!(kind, object = %object.name, "object gone before its reconcile")
        }
        other => tracing::warn!(kind, error = %other, "controller error"),
    }
}

pub(super) async fn reconcile<K: Reconciler>(
    object: Arc<K>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    // A replica that lost the Lease (or was frozen past its renew deadline) starts nothing.
    ctx.fence.check()?;
    let _running = InFlight::enter(&ctx.in_flight);
    let kind = K::kind(&());
    let key = object_key(object.as_ref());
    observe_status(&ctx, object.as_ref());
    let _timer = ctx.metrics.reconcile_started(&kind);
    let span = tracing::info_span!("reconcile", object = %key);
    let result = object.reconcile(ctx.clone()).instrument(span).await;
    match &result {
        Ok(_) => ctx.backoff.reset(&key),
        Err(error) => ctx.metrics.reconcile_failed(&kind, error.reason()),
    }
    result
}

/// Feeds the object's status gauges from the conditions it has now: every status write is a
/// change that triggers the next reconcile, so they follow the last write.
fn observe_status<K: Reconciler>(ctx: &Context, object: &K) {
    let resource = KindResourceLabels {
        kind: K::kind(&()).into_owned(),
        namespace: object.namespace().unwrap_or_default(),
        name: object.name_any(),
    };
    match super::status::current_conditions(object) {
        Ok(conditions) => ctx.metrics.status.observe(resource, &conditions),
        Err(error) => tracing::debug!(%error, "no conditions to observe"),
    }
}

/// Counts a reconcile as running until dropped (however the reconcile ends, cancelled too).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        InFlight(count)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(super) fn error_policy<K: Reconciler>(
    object: Arc<K>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let key = object_key(object.as_ref());
    let retry = error.retry();
    tracing::warn!(object = %key, reason = error.reason(), ?retry, error = %crate::error::chain(error), "reconcile failed");
    match retry {
        Retry::Backoff => Action::requeue(ctx.backoff.next(&key)),
        Retry::Slowly => Action::requeue(SLOW_RETRY),
        Retry::AwaitChange => Action::await_change(),
    }
}
