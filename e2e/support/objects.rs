//! e2e: Kubernetes objects from YAML — parse, find their API through discovery, create
//! (the API server validates at create time) or server-side apply them into a test's namespace —
//! and read `status` conditions from any kind.

use super::cluster::E2E_MANAGER;
use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::discovery::{pinned_kind, Scope};
use kube::{Client, ResourceExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every non-empty document of a YAML stream, as dynamic objects (comments dropped).
pub fn parse_yaml(text: &str) -> Vec<DynamicObject> {
    serde_yaml::Deserializer::from_str(text)
        .map(|document| {
            serde_yaml::Value::deserialize(document)
                .unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
        })
        .filter(|value| !value.is_null())
        .map(|value| {
            serde_yaml::from_value(value)
                .unwrap_or_else(|e| panic!("not a Kubernetes object: {e}\n{text}"))
        })
        .collect()
}

/// The API of `object`'s kind, found through discovery, in `namespace` when the kind is
/// namespaced (whatever namespace the YAML names).
pub async fn api_for(
    client: &Client,
    namespace: &str,
    object: &DynamicObject,
) -> Api<DynamicObject> {
    let types = object
        .types
        .as_ref()
        .unwrap_or_else(|| panic!("{} has no apiVersion/kind", object.name_any()));
    let gvk = GroupVersionKind::try_from(types)
        .unwrap_or_else(|e| panic!("bad apiVersion {:?}: {e}", types.api_version));
    let (resource, capabilities) = pinned_kind(client, &gvk)
        .await
        .unwrap_or_else(|e| panic!("the API server does not serve {gvk:?}: {e}"));
    match capabilities.scope {
        Scope::Namespaced => Api::namespaced_with(client.clone(), namespace, &resource),
        Scope::Cluster => Api::all_with(client.clone(), &resource),
    }
}

/// Creates the single object in `yaml` in `namespace` (POST: validation and defaulting as
/// `kubectl create`); the API server's refusal is returned, not a panic.
pub async fn create_yaml(
    client: &Client,
    namespace: &str,
    yaml: &str,
) -> Result<DynamicObject, kube::Error> {
    let mut objects = parse_yaml(yaml);
    assert_eq!(
        objects.len(),
        1,
        "create_yaml takes exactly one object:\n{yaml}"
    );
    let mut object = objects.remove(0);
    let api = api_for(client, namespace, &object).await;
    object.metadata.namespace = None; // the Api's namespace decides
    api.create(&PostParams::default(), &object).await
}

/// Server-side applies every object in `yaml` (namespaced ones into `namespace`) under the
/// e2e field manager; returns them as stored. Panics with the API server's message on refusal.
pub async fn apply_yaml(client: &Client, namespace: &str, yaml: &str) -> Vec<DynamicObject> {
    let mut stored = Vec::new();
    for mut object in parse_yaml(yaml) {
        let api = api_for(client, namespace, &object).await;
        object.metadata.namespace = None;
        object.metadata.managed_fields = None;
        let name = object.name_any();
        let params = PatchParams::apply(E2E_MANAGER).force();
        let applied = api
            .patch(&name, &params, &Patch::Apply(&object))
            .await
            .unwrap_or_else(|e| panic!("apply of {}/{name} refused: {e}", api.resource_url()));
        stored.push(applied);
    }
    stored
}

/// Any object as JSON (typed or dynamic), for reading fields by path.
pub fn to_json<K: Serialize>(object: &K) -> Value {
    serde_json::to_value(object).expect("a Kubernetes object serialises to JSON")
}

/// The status condition of `type_` (e.g. `Ready`), if the object has one.
pub fn condition<K: Serialize>(object: &K, type_: &str) -> Option<Value> {
    to_json(object)
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .cloned()
}

/// `status.observedGeneration == metadata.generation`, and the condition `type_` carries the
/// same `observedGeneration`: the controller has seen the latest spec.
pub fn observed_latest<K: Serialize>(object: &K, type_: &str) -> bool {
    let json = to_json(object);
    let generation = json.pointer("/metadata/generation").and_then(Value::as_i64);
    let observed = json
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64);
    let condition = condition(object, type_).and_then(|c| c["observedGeneration"].as_i64());
    generation.is_some() && observed == generation && condition == generation
}
