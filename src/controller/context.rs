//! Controller layer: what every reconciler is handed — the Kubernetes client, the controller
//! configuration, the AWS ports, metrics, the event publisher, the leadership fence, the group
//! claims — and per-object error backoff.

use super::claims::{Claims, KubeClaims};
use super::leader::Fence;
use crate::aws::AwsPorts;
use crate::config::ControllerConfig;
use crate::metrics::Metrics;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::Resource;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The field manager for status patches and the events' reporting controller.
pub const MANAGER: &str = "sg-tightener";

/// Shared by every reconcile of every kind.
#[derive(Clone)]
pub struct Context {
    /// Kubernetes client: reads, server-side-apply status patches, ConfigMaps.
    pub client: kube::Client,
    /// The controller configuration (DESIGN §7), validated at start-up.
    pub config: Arc<ControllerConfig>,
    /// AWS ports per target (region, role): the SDK client factory, or fakes in tests.
    pub aws: Arc<dyn AwsPorts>,
    /// Prometheus metrics, also fed by the AWS clients' call observer.
    pub metrics: Arc<Metrics>,
    /// Publishes Kubernetes events as `sg-tightener`.
    pub events: Events,
    /// Per-object exponential backoff for failed reconciles.
    pub backoff: Backoff,
    /// Open while this replica may act (always, without leader election).
    pub fence: Arc<Fence>,
    /// One actor per security group: claims in the operator's namespace.
    pub claims: Arc<dyn Claims>,
    /// Reconciles running now (shutdown waits for these, not for idle watches).
    pub in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

/// The operator's own namespace (its Lease and group claims live there):
/// `leaderElection.namespace`, else `POD_NAMESPACE`, else the client's default namespace.
pub fn operator_namespace(config: &ControllerConfig, client: &kube::Client) -> String {
    Some(config.leader_election.namespace.clone())
        .filter(|n| !n.is_empty())
        .or_else(|| {
            std::env::var("POD_NAMESPACE")
                .ok()
                .filter(|n| !n.is_empty())
        })
        .unwrap_or_else(|| client.default_namespace().to_owned())
}

impl Context {
    /// A context with a fresh event publisher and backoff table.
    pub fn new(
        client: kube::Client,
        config: Arc<ControllerConfig>,
        aws: Arc<dyn AwsPorts>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let events = Events::new(client.clone());
        let fence = Arc::new(Fence::open());
        let namespace = operator_namespace(&config, &client);
        let claims = Arc::new(KubeClaims::new(client.clone(), &namespace, fence.clone()));
        Context {
            client,
            config,
            aws,
            metrics,
            events,
            backoff: Backoff::default(),
            fence,
            claims,
            in_flight: Arc::default(),
        }
    }

    /// The same context acting only while `fence` is open (leader election).
    pub fn with_fence(mut self, fence: Arc<Fence>) -> Self {
        let namespace = operator_namespace(&self.config, &self.client);
        self.claims = Arc::new(KubeClaims::new(
            self.client.clone(),
            &namespace,
            fence.clone(),
        ));
        self.fence = fence;
        self
    }
}

/// Publishes events about resources. Events are best effort: a failure is logged, never
/// returned, so an event can never fail a reconcile.
#[derive(Clone)]
pub struct Events {
    recorder: Recorder,
}

impl Events {
    /// Events reported by `sg-tightener`, instance from `POD_NAME` when set.
    pub fn new(client: kube::Client) -> Self {
        let reporter = Reporter {
            controller: MANAGER.into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Events {
            recorder: Recorder::new(client, reporter),
        }
    }

    /// A Normal event (`reason` is a CamelCase constant, `note` the human message).
    pub async fn normal<K: Resource<DynamicType = ()>>(
        &self,
        object: &K,
        reason: &str,
        note: String,
    ) {
        self.publish(object, EventType::Normal, reason, note).await;
    }

    /// A Warning event.
    pub async fn warning<K: Resource<DynamicType = ()>>(
        &self,
        object: &K,
        reason: &str,
        note: String,
    ) {
        self.publish(object, EventType::Warning, reason, note).await;
    }

    async fn publish<K: Resource<DynamicType = ()>>(
        &self,
        object: &K,
        type_: EventType,
        reason: &str,
        note: String,
    ) {
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: "Reconcile".into(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &object.object_ref(&())).await {
            tracing::warn!(reason, %error, "failed to publish event");
        }
    }
}

/// Per-object failure counts → exponential delays (5 s doubling up to 5 min); reset on success.
#[derive(Debug, Default, Clone)]
pub struct Backoff {
    failures: Arc<Mutex<HashMap<String, u32>>>,
}

impl Backoff {
    /// First delay.
    pub const BASE: Duration = Duration::from_secs(5);
    /// Longest delay.
    pub const MAX: Duration = Duration::from_secs(300);

    /// Records a failure of `key` and returns how long to wait before the next attempt.
    pub fn next(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let count = failures.entry(key.to_owned()).or_insert(0);
        let delay = Self::BASE
            .saturating_mul(2u32.saturating_pow(*count))
            .min(Self::MAX);
        *count = count.saturating_add(1);
        delay
    }

    /// Forgets `key`'s failures after a success.
    pub fn reset(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_object_caps_and_resets() {
        let backoff = Backoff::default();
        let delays: Vec<u64> = (0..8).map(|_| backoff.next("sgt/a/b").as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(
            backoff.next("sgt/a/other").as_secs(),
            5,
            "objects back off independently"
        );
        backoff.reset("sgt/a/b");
        assert_eq!(backoff.next("sgt/a/b").as_secs(), 5);
    }
}
