//! e2e: the Kubernetes side — an admin client from the environment's kubeconfig, the
//! CRDs installed once per process (server-side apply + wait Established), fresh namespaces,
//! and bounded waits that fail with the object's current status.

use super::env::env;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::{await_condition, conditions, Condition};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Field manager of everything the tests apply (the operator's is `sg-tightener`).
pub const E2E_MANAGER: &str = "sg-tightener-e2e";

/// How long a wait may take by default: generous, as the machine may be busy compiling.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// rustls has both ring (kube) and aws-lc-rs (AWS SDK) compiled in and cannot pick by itself;
/// choose aws-lc-rs, as `sg-tightener run` does.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A client for the environment's API server, as `system:masters`. Make one per test: a client
/// is bound to the tokio runtime it was made on, and every `#[tokio::test]` has its own.
pub async fn client() -> Client {
    install_crypto_provider();
    let path = &env().kubeconfig;
    let kubeconfig = Kubeconfig::read_from(path)
        .unwrap_or_else(|e| panic!("cannot read kubeconfig {}: {e}", path.display()));
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("bad kubeconfig {}: {e}", path.display()));
    Client::try_from(config).expect("kube client from the test kubeconfig")
}

/// Installs `sg_tightener::crd::all_crds()` and waits until each is Established — once per test
/// process (later callers wait for the first). Idempotent across processes sharing a server.
pub async fn ensure_crds() {
    static INSTALLED: OnceCell<()> = OnceCell::const_new();
    INSTALLED
        .get_or_init(|| async {
            apply_crds(&client().await).await;
        })
        .await;
}

/// Server-side applies every CRD under [`E2E_MANAGER`] and waits for Established; returns them
/// as the server stored them.
pub async fn apply_crds(client: &Client) -> Vec<CustomResourceDefinition> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply(E2E_MANAGER).force();
    let mut stored = Vec::new();
    for crd in sg_tightener::crd::all_crds() {
        let name = crd.name_any();
        api.patch(&name, &params, &Patch::Apply(&crd))
            .await
            .unwrap_or_else(|e| panic!("server-side apply of CRD {name} failed: {e}"));
        let established = conditions::is_crd_established();
        let crd = wait_for(&api, &name, "be Established", |c| {
            established.matches_object(Some(c))
        })
        .await;
        stored.push(crd);
    }
    stored
}

/// Creates a namespace named `<prefix>-<random>` and returns its name. Namespaces are never
/// deleted: without a controller-manager a deleted namespace stays Terminating for ever, and the
/// environment is thrown away after the run anyway.
pub async fn fresh_namespace(client: &Client, prefix: &str) -> String {
    let name = super::names::unique_name(prefix);
    let namespace: Namespace = serde_json::from_value(serde_json::json!({
        "metadata": { "name": name, "labels": { "sgtightener.io/e2e": "true" } }
    }))
    .expect("namespace object");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap_or_else(|e| panic!("cannot create namespace {name}: {e}"));
    name
}

/// Waits up to [`DEFAULT_TIMEOUT`] until the object `name` exists and `ready(object)` holds,
/// watching it (no fixed sleeps); returns the object as it was then. On timeout panics with
/// `what` ("to be Ready", …) and the object's generation and status as they are at that moment.
pub async fn wait_for<K>(api: &Api<K>, name: &str, what: &str, ready: impl Fn(&K) -> bool) -> K
where
    K: Resource + Clone + Debug + Send + Serialize + DeserializeOwned + 'static,
{
    wait_for_within(api, name, what, DEFAULT_TIMEOUT, ready).await
}

/// [`wait_for`] with an explicit timeout.
pub async fn wait_for_within<K>(
    api: &Api<K>,
    name: &str,
    what: &str,
    timeout: Duration,
    ready: impl Fn(&K) -> bool,
) -> K
where
    K: Resource + Clone + Debug + Send + Serialize + DeserializeOwned + 'static,
{
    let found = watch_until(api, name, timeout, |o: Option<&K>| o.is_some_and(&ready)).await;
    match found {
        Ok(Some(object)) => object,
        Ok(None) => unreachable!("the condition never matches a missing object"),
        Err(watch_error) => {
            let now = match api.get_opt(name).await {
                Ok(Some(object)) => describe(&object),
                Ok(None) => "the object does not exist".to_owned(),
                Err(e) => format!("cannot read it: {e}"),
            };
            panic!(
                "timed out after {timeout:?} waiting for {}/{name} to {what}{watch_error}\n{now}",
                api.resource_url()
            )
        }
    }
}

/// Waits up to [`DEFAULT_TIMEOUT`] until the object `name` no longer exists (finalizers done).
pub async fn wait_until_gone<K>(api: &Api<K>, name: &str)
where
    K: Resource + Clone + Debug + Send + Serialize + DeserializeOwned + 'static,
{
    if let Err(watch_error) =
        watch_until(api, name, DEFAULT_TIMEOUT, |o: Option<&K>| o.is_none()).await
    {
        let now = match api.get_opt(name).await {
            Ok(Some(object)) => serde_json::to_string_pretty(&object).unwrap_or_default(),
            other => format!("{other:?}"),
        };
        panic!(
            "timed out after {DEFAULT_TIMEOUT:?} waiting for {}/{name} to be gone{watch_error}\n{now}",
            api.resource_url()
        );
    }
}

/// Watches `name` until `condition` matches; `Err` (a note on the last watch error, possibly
/// empty) when the deadline passes first. A broken watch is replaced by a new one.
async fn watch_until<K>(
    api: &Api<K>,
    name: &str,
    timeout: Duration,
    condition: impl Fn(Option<&K>) -> bool,
) -> Result<Option<K>, String>
where
    K: Resource + Clone + Debug + Send + DeserializeOwned + 'static,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = String::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let watch = await_condition(api.clone(), name, |o: Option<&K>| condition(o));
        match tokio::time::timeout(left, watch).await {
            Ok(Ok(found)) => return Ok(found),
            Ok(Err(error)) => {
                last_error = format!(" (last watch error: {error})");
                // Bounded by the deadline; only paces the re-watch after an error.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(_elapsed) => break,
        }
    }
    Err(last_error)
}

/// `generation` and `status` of an object, pretty-printed for failure messages.
pub fn describe<K: Serialize + Resource>(object: &K) -> String {
    let value = serde_json::to_value(object).unwrap_or_default();
    format!(
        "generation: {}\nstatus: {}",
        object.meta().generation.unwrap_or_default(),
        serde_json::to_string_pretty(&value["status"]).unwrap_or_default()
    )
}
