//! e2e: what every scenario starts from. [`Scenario::start`] gives a test an admin
//! client, the CRDs installed and Established, and a namespace of its own; from there it applies
//! YAML, starts an operator, gets a moto account and waits on conditions. See docs/testing.md.

#![allow(dead_code)] // helpers for the scenarios of later issues too

pub mod aws;
pub mod binary;
pub mod breakglass;
pub mod chart_rbac;
pub mod cluster;
pub mod duckdb;
pub mod env;
pub mod estate;
pub mod fleet;
pub mod flowlogs;
pub mod http;
pub mod names;
pub mod objects;
pub mod operator;
pub mod org;
pub mod poll;
pub mod proxy;
pub mod samples;
pub mod tightening;
pub mod tools;

pub use aws::TestAccount;
pub use cluster::{wait_for, DEFAULT_TIMEOUT};
pub use env::env;
pub use objects::{condition, observed_latest, to_json};
pub use operator::{Operator, OperatorBuilder};
pub use poll::eventually;
pub use samples::sample;

use kube::api::{Api, DynamicObject};
use kube::core::NamespaceResourceScope;
use kube::{Client, Resource};
use std::sync::{Arc, LazyLock};
use tokio::sync::{OnceCell, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

/// Scenarios' operators watch their own namespace (`watchNamespaces`), so they run side by side
/// (a shared read slot). An operator that watches every namespace would act on the other
/// scenarios' resources: it takes the slot exclusively, waiting for the others to finish.
static OPERATOR_SLOT: LazyLock<Arc<RwLock<()>>> = LazyLock::new(Arc::default);

/// A scenario's hold on [`OPERATOR_SLOT`].
#[derive(Debug)]
enum SlotGuard {
    Shared(OwnedRwLockReadGuard<()>),
    Exclusive(OwnedRwLockWriteGuard<()>),
}

/// One test's slice of the shared environment.
pub struct Scenario {
    /// The test's name, as given to [`Scenario::start`].
    pub name: String,
    /// An admin client for this test's runtime.
    pub client: Client,
    /// A namespace created for this test alone.
    pub namespace: String,
    /// Held from this scenario's first operator until the scenario is dropped.
    operator_slot: OnceCell<SlotGuard>,
}

impl Scenario {
    /// Reads the environment (failing loudly outside `make e2e`), installs the CRDs once per
    /// process, and creates a fresh namespace named after `name`.
    pub async fn start(name: &str) -> Scenario {
        env();
        cluster::ensure_crds().await;
        let client = cluster::client().await;
        let namespace = cluster::fresh_namespace(&client, name).await;
        Scenario {
            name: name.to_owned(),
            client,
            namespace,
            operator_slot: OnceCell::new(),
        }
    }

    /// The typed API of kind `K` in this test's namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Server-side applies every object of `yaml` (namespaced ones into this namespace).
    pub async fn apply_yaml(&self, yaml: &str) -> Vec<DynamicObject> {
        objects::apply_yaml(&self.client, &self.namespace, yaml).await
    }

    /// Creates the one object of `yaml` in this namespace; the API server's refusal is returned.
    pub async fn create_yaml(&self, yaml: &str) -> Result<DynamicObject, kube::Error> {
        objects::create_yaml(&self.client, &self.namespace, yaml).await
    }

    /// The dynamic API of `object`'s kind in this namespace (found through discovery).
    pub async fn api_for(&self, object: &DynamicObject) -> Api<DynamicObject> {
        objects::api_for(&self.client, &self.namespace, object).await
    }

    /// An operator with the test defaults (moto endpoint, no leader election), watching this
    /// scenario's namespace as the Helm chart's ServiceAccount, ready.
    pub async fn operator(&self) -> Operator {
        self.operator_with(|builder| builder).await
    }

    /// An operator configured by `configure` (e.g. `|b| b.leader_election(ns, lease)`), ready;
    /// it starts from `in_namespace(&self.namespace)`. Several operators of one scenario
    /// (replicas) may run at once. One that watches every namespace waits until no other
    /// scenario of this process runs operators (see `OPERATOR_SLOT`).
    pub async fn operator_with(
        &self,
        configure: impl FnOnce(OperatorBuilder) -> OperatorBuilder,
    ) -> Operator {
        let builder = configure(Operator::builder(&self.name).in_namespace(&self.namespace));
        let exclusive = builder.watches_all_namespaces();
        self.operator_slot
            .get_or_init(|| async move {
                let slot = OPERATOR_SLOT.clone();
                if exclusive {
                    SlotGuard::Exclusive(slot.write_owned().await)
                } else {
                    SlotGuard::Shared(slot.read_owned().await)
                }
            })
            .await;
        builder.start().await
    }

    /// A moto account of this test's own.
    pub async fn aws_account(&self) -> TestAccount {
        TestAccount::new().await
    }
}
