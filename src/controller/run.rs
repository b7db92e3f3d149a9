//! Controller layer: `sg-tightener run` — load the configuration, serve `/healthz` `/readyz`
//! `/metrics`, optionally win the leader Lease, run one controller per kind until SIGTERM or
//! SIGINT, then finish in-flight reconciles, release the Lease and stop. Losing the Lease stops
//! at once: in-flight reconciles are cancelled, not finished, before another replica may start.
//!
//! Readiness means "serving and able to take over": without leader election, once every watch
//! has listed; with it, once a round of the Lease reached the API server (a standby is ready).
//! Leadership is the gauge `sgtightener_leader` and a log line.

use super::context::{operator_namespace, Context};
use super::leader::{Fence, HoldEnd, LeaderElector};
use super::runner::Registered;
use crate::aws::flowlogs::EvidenceStore;
use crate::aws::{CallObserver, ClientFactory};
use crate::cli::RunArgs;
use crate::config::{self, ConfigError, ControllerConfig};
use crate::http::{self, HttpState};
use crate::metrics::Metrics;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Why `run` stopped with a failure.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration could not be loaded.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP address could not be bound.
    #[error("failed to bind the HTTP server to {address}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
    /// No Kubernetes client could be built (no kubeconfig, not in a cluster).
    #[error("failed to create the Kubernetes client")]
    Kube(#[source] kube::Error),
    /// Another replica took the Lease, or it could not be renewed in time.
    #[error("failed to keep the leader lease; stopping so a new leader can take over")]
    LeaseLost,
}

impl RunError {
    /// Process exit status: 2 for a bad configuration, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Config(_) => 2,
            _ => 1,
        }
    }
}

/// A future that resolves once `stop` turns true (or its sender is gone).
pub async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// Sets `stop` on the first SIGTERM or SIGINT; exits at once on the second.
async fn stop_on_signals(stop: watch::Sender<bool>) {
    wait_for_signal().await;
    tracing::info!("shutdown requested; finishing in-flight reconciles (signal again to force)");
    let _ = stop.send(true);
    wait_for_signal().await;
    tracing::warn!("forced shutdown");
    std::process::exit(130);
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(error) => {
            tracing::warn!(%error, "failed to listen for SIGTERM; only SIGINT stops the controller");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn identity() -> String {
    std::env::var("POD_NAME").unwrap_or_else(|_| {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "sg-tightener".into());
        format!("{host}-{}", std::process::id())
    })
}

fn elector(client: &kube::Client, config: &ControllerConfig) -> LeaderElector {
    let settings = &config.leader_election;
    let namespace = operator_namespace(config, client);
    let api: Api<Lease> = Api::namespaced(client.clone(), &namespace);
    LeaderElector::new(
        api,
        &settings.lease_name,
        &identity(),
        settings.lease_duration.as_std(),
    )
}

/// Chooses rustls' aws-lc-rs provider for every TLS client (Kubernetes and AWS). Both ring and
/// aws-lc-rs are compiled in, so rustls cannot choose by itself and would panic.
fn install_crypto_provider() {
    // Err means a provider is already installed, which is just as good.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Runs the controller until shutdown.
pub async fn run(args: RunArgs) -> Result<(), RunError> {
    install_crypto_provider();
    let config = Arc::new(config::load(args.config.as_deref())?);
    let metrics = Arc::new(Metrics::new());
    let http_state = Arc::new(HttpState::new(metrics.clone()));
    let address = args
        .http_address
        .clone()
        .unwrap_or_else(|| config.http.address.clone());
    let listener = TcpListener::bind(&address)
        .await
        .map_err(|source| RunError::Bind {
            address: address.clone(),
            source,
        })?;
    let (stop, stop_rx) = watch::channel(false);
    tokio::spawn(stop_on_signals(stop.clone()));
    let server = tokio::spawn(http::serve(
        listener,
        http_state.clone(),
        stopped(stop_rx.clone()),
    ));
    tracing::info!(%address, "serving /healthz, /readyz and /metrics");

    let client = kube::Client::try_default().await.map_err(RunError::Kube)?;
    let observer: Arc<dyn CallObserver> = metrics.clone();
    let evidence = EvidenceStore::new(
        config.evidence.memory_bytes(),
        Some(metrics.evidence.clone()),
    );
    let aws = ClientFactory::from_env(&config.aws, Some(observer)).await;
    let aws = Arc::new(aws.with_evidence_store(Arc::new(evidence)));
    let electing = config.leader_election.enabled;
    let fence = Arc::new(if electing {
        Fence::closed()
    } else {
        Fence::open()
    });
    let ctx = Context::new(client.clone(), config.clone(), aws, metrics.clone());
    let ctx = Arc::new(ctx.with_fence(fence.clone()));

    let mut holder = None;
    if !electing {
        metrics.leader.set(1);
    }
    let (lost_tx, lost_rx) = watch::channel(false);
    let (release_tx, release_rx) = watch::channel(false);
    if electing {
        let elector = Arc::new(elector(&client, &config));
        tracing::info!(lease = %config.leader_election.lease_name, "standing by: waiting to become leader");
        let state = http_state.clone();
        let reachable = move |ok: bool| state.set_ready(ok);
        if !elector
            .acquire(&mut stop_rx.clone(), &fence, reachable)
            .await
        {
            let _ = server.await;
            return Ok(());
        }
        http_state.set_ready(true);
        metrics.leader.set(1);
        tracing::info!(lease = %config.leader_election.lease_name, "became leader");
        holder = Some(tokio::spawn(hold(
            elector,
            fence.clone(),
            release_rx,
            lost_tx,
        )));
    }

    let in_flight = ctx.in_flight.clone();
    let controllers = run_controllers(
        super::controllers(ctx, stop_rx.clone()),
        &http_state,
        stop_rx,
        &in_flight,
    );
    tokio::select! {
        _ = controllers => {}
        // Dropping the controllers aborts every in-flight reconcile at once.
        _ = lease_lost(lost_rx) => tracing::error!("lost the leader lease; in-flight reconciles cancelled"),
    }
    let _ = stop.send(true);
    // The Lease is released only now, after in-flight reconciles finished: no overlap.
    let _ = release_tx.send(true);
    http_state.set_ready(false);
    metrics.leader.set(0);
    let lost = match holder {
        Some(task) => task.await.unwrap_or(HoldEnd::Lost) == HoldEnd::Lost,
        None => false,
    };
    let _ = server.await;
    tracing::info!("stopped");
    if lost {
        Err(RunError::LeaseLost)
    } else {
        Ok(())
    }
}

/// Resolves when the Lease is lost; never when it is released.
async fn lease_lost(mut lost: watch::Receiver<bool>) {
    if lost.wait_for(|lost| *lost).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Holds the Lease until `release` (then gives it up); losing it tells `run` to cancel the
/// controllers.
async fn hold(
    elector: Arc<LeaderElector>,
    fence: Arc<Fence>,
    release: watch::Receiver<bool>,
    lost: watch::Sender<bool>,
) -> HoldEnd {
    let end = elector.hold(release, &fence).await;
    if end == HoldEnd::Lost {
        tracing::error!("lost the leader lease; stopping");
        let _ = lost.send(true);
    }
    end
}

/// Runs every controller to completion, marking the process ready once all watches have listed.
/// With no controllers registered, serves until shutdown.
async fn run_controllers(
    registered: Vec<Registered>,
    http_state: &Arc<HttpState>,
    stop: watch::Receiver<bool>,
    in_flight: &AtomicUsize,
) {
    let kinds: Vec<String> = registered.iter().map(|r| r.kind.clone()).collect();
    let (runs, readies): (Vec<_>, Vec<_>) =
        registered.into_iter().map(|r| (r.run, r.ready)).unzip();
    let state = http_state.clone();
    // Aborted when this future ends or is dropped (the Lease was lost).
    let _readiness = AbortOnDrop(tokio::spawn(async move {
        futures::future::join_all(readies).await;
        state.set_ready(true);
        tracing::info!(?kinds, "watches running; ready");
    }));
    if runs.is_empty() {
        stopped(stop).await;
    } else {
        let all = futures::future::join_all(runs);
        let idle = async {
            stopped(stop).await;
            idle_or_grace(in_flight).await;
        };
        tokio::select! {
            _ = all => {}
            // kube-runtime can keep waiting for a watch that shutdown already closed (a signal
            // during the first list): once no reconcile runs there is nothing left to finish.
            _ = idle => tracing::info!("no reconcile in flight after shutdown; stopping"),
        }
    }
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How long in-flight reconciles may take to finish after a shutdown request (below Kubernetes'
/// default 30 s termination grace period); in-flight applies are write-ahead logged, so
/// stopping after it is safe.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Resolves once no reconcile has been running for a moment, or after [`SHUTDOWN_GRACE`].
async fn idle_or_grace(in_flight: &AtomicUsize) {
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    let mut idle_polls = 0;
    while idle_polls < 3 {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "reconciles still running after the shutdown grace; stopping");
            return;
        }
        idle_polls = if in_flight.load(Ordering::SeqCst) == 0 {
            idle_polls + 1
        } else {
            0
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
