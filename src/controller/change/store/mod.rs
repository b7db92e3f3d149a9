//! Controller layer: a changing kind's Kubernetes side behind one small trait — status writes
//! (each one conditional on the resourceVersion the reconcile started from) and events (the
//! shared [`StatusStore`]), the write-ahead manifest ConfigMaps (labelled with their kind and
//! resource, listed and garbage-collected) — so the engine runs against [`MemoryStore`] in unit
//! tests and [`KubeStore`] for real.

use super::Changing;
use crate::controller::labels::label_value;
use crate::controller::leader::Fence;
use crate::controller::report::StatusStore;
use crate::controller::status::apply_status_at;
use crate::controller::{Error, Events, MANAGER};
use crate::domain::tightening::history::ManifestEntry;
use crate::domain::tightening::Manifest;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::ResourceExt;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

pub use crate::controller::report::EventKind;

/// The key of the manifest JSON inside the ConfigMap.
pub const MANIFEST_KEY: &str = "manifest.json";
/// The label naming a manifest's kind.
pub const KIND_LABEL: &str = "sgtightener.io/kind";

/// Kubernetes reads and writes the engine needs for kind `K`: status and events (the shared
/// [`StatusStore`], server-side apply as `sg-tightener`, conditional on a resourceVersion), and
/// the manifests of `K`'s resources.
#[async_trait::async_trait]
pub trait Store<K: Changing>: StatusStore<K> {
    /// Creates or replaces the manifest ConfigMap `name` in `namespace` (no owner reference: it
    /// outlives the resource).
    async fn put_manifest(
        &self,
        namespace: &str,
        name: &str,
        manifest: &Manifest,
    ) -> Result<(), Error>;

    /// Reads the manifest ConfigMap; `None` when it does not exist.
    async fn get_manifest(&self, namespace: &str, name: &str) -> Result<Option<Manifest>, Error>;

    /// Every manifest of resource `name` in `namespace`.
    async fn list_manifests(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<ManifestEntry>, Error>;

    /// Deletes a manifest ConfigMap (garbage collection of old ones).
    async fn delete_manifest(&self, namespace: &str, name: &str) -> Result<(), Error>;
}

/// The real store of kind `K`: the API server. Nothing is written while the fence is closed.
pub struct KubeStore<K> {
    /// Kubernetes client.
    pub client: kube::Client,
    /// Event publisher.
    pub events: Events,
    /// Open while this replica may act.
    pub fence: Arc<Fence>,
    kind: PhantomData<fn() -> K>,
}

impl<K> KubeStore<K> {
    /// The store on `client`.
    pub fn new(client: kube::Client, events: Events, fence: Arc<Fence>) -> Self {
        KubeStore {
            client,
            events,
            fence,
            kind: PhantomData,
        }
    }
}

#[async_trait::async_trait]
impl<K: Changing> StatusStore<K> for KubeStore<K> {
    async fn write_status(
        &self,
        object: &K,
        status: &K::Status,
        resource_version: Option<&str>,
    ) -> Result<Option<String>, Error> {
        self.fence.check()?;
        let value = serde_json::to_value(status).map_err(|source| Error::Serialize {
            what: "status",
            source,
        })?;
        apply_status_at(&self.client, object, value, resource_version).await
    }

    async fn event(&self, object: &K, kind: EventKind, reason: &str, note: String) {
        match kind {
            EventKind::Normal => self.events.normal(object, reason, note).await,
            EventKind::Warning => self.events.warning(object, reason, note).await,
        }
    }
}

#[async_trait::async_trait]
impl<K: Changing> Store<K> for KubeStore<K> {
    async fn put_manifest(
        &self,
        namespace: &str,
        name: &str,
        manifest: &Manifest,
    ) -> Result<(), Error> {
        self.fence.check()?;
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let config_map = manifest_config_map::<K>(namespace, name, manifest)?;
        let params = PatchParams::apply(MANAGER).force();
        api.patch(name, &params, &Patch::Apply(&config_map))
            .await
            .map_err(|e| Error::kube(format!("write manifest ConfigMap {namespace}/{name}"), e))?;
        Ok(())
    }

    async fn get_manifest(&self, namespace: &str, name: &str) -> Result<Option<Manifest>, Error> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let found = api
            .get_opt(name)
            .await
            .map_err(|e| Error::kube(format!("read manifest ConfigMap {namespace}/{name}"), e))?;
        found.map(|cm| manifest_of(&cm)).transpose()
    }

    async fn list_manifests(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<ManifestEntry>, Error> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let selector = format!(
            "app.kubernetes.io/managed-by={MANAGER},{KIND_LABEL}={},{}={}",
            K::kind(&()),
            K::MANIFEST_LABEL,
            label_value(name)
        );
        let list = api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| Error::kube(format!("list the manifests of {namespace}/{name}"), e))?;
        let resource = format!("{namespace}/{name}");
        let mut out = Vec::new();
        for cm in &list.items {
            let cm_name = cm.name_any();
            match manifest_of(cm) {
                Ok(m) if m.resource == resource => out.push(entry(&cm_name, &m)),
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(config_map = %cm_name, %error, "skipping an unreadable manifest")
                }
            }
        }
        Ok(out)
    }

    async fn delete_manifest(&self, namespace: &str, name: &str) -> Result<(), Error> {
        self.fence.check()?;
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
            Err(e) => Err(Error::kube(
                format!("delete manifest ConfigMap {namespace}/{name}"),
                e,
            )),
        }
    }
}

/// The ConfigMap holding `manifest` of a `K`, labelled so `kubectl get cm -l app.kubernetes.io/managed-by=sg-tightener` finds it.
pub fn manifest_config_map<K: Changing>(
    namespace: &str,
    name: &str,
    manifest: &Manifest,
) -> Result<ConfigMap, Error> {
    let json = serde_json::to_string_pretty(manifest).map_err(|source| Error::Serialize {
        what: "apply manifest",
        source,
    })?;
    let resource = manifest.resource.rsplit('/').next().unwrap_or_default();
    let labels = BTreeMap::from([
        (
            "app.kubernetes.io/managed-by".to_owned(),
            MANAGER.to_owned(),
        ),
        (K::MANIFEST_LABEL.to_owned(), label_value(resource)),
        (KIND_LABEL.to_owned(), K::kind(&()).into_owned()),
        (
            "sgtightener.io/plan".to_owned(),
            crate::crd::short_hash(&manifest.plan_hash),
        ),
    ]);
    let mut config_map = ConfigMap {
        data: Some(BTreeMap::from([(MANIFEST_KEY.to_owned(), json)])),
        ..ConfigMap::default()
    };
    config_map.metadata.name = Some(name.to_owned());
    config_map.metadata.namespace = Some(namespace.to_owned());
    config_map.metadata.labels = Some(labels);
    let mut value = serde_json::to_value(&config_map).map_err(|source| Error::Serialize {
        what: "ConfigMap",
        source,
    })?;
    value["apiVersion"] = "v1".into();
    value["kind"] = "ConfigMap".into();
    serde_json::from_value(value).map_err(|source| Error::Serialize {
        what: "ConfigMap",
        source,
    })
}

/// A listed manifest's summary.
pub fn entry(name: &str, manifest: &Manifest) -> ManifestEntry {
    ManifestEntry {
        name: name.to_owned(),
        plan_hash: manifest.plan_hash.clone(),
        created_at: manifest.created_at.clone(),
        reverted_at: manifest.reverted_at.clone(),
    }
}

fn manifest_of(config_map: &ConfigMap) -> Result<Manifest, Error> {
    let text = config_map
        .data
        .as_ref()
        .and_then(|d| d.get(MANIFEST_KEY))
        .map(String::as_str)
        .unwrap_or_default();
    serde_json::from_str(text).map_err(|source| Error::Serialize {
        what: "apply manifest",
        source,
    })
}

mod memory;
pub use memory::MemoryStore;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{SecurityGroupCompaction, SecurityGroupTightening};
    use crate::domain::tightening::MANIFEST_SCHEMA;

    #[test]
    fn the_manifest_config_map_is_labelled_has_no_owner_and_round_trips() {
        let manifest = Manifest {
            schema: MANIFEST_SCHEMA.into(),
            resource: "payments/web".into(),
            plan_hash: "0123456789abcdef".repeat(4),
            snapshot_hash: "s".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            groups: Vec::new(),
            reverted_at: None,
            previous: None,
        };
        let cm = manifest_config_map::<SecurityGroupTightening>(
            "payments",
            "sgt-web-0123456789ab",
            &manifest,
        )
        .unwrap();
        assert!(
            cm.metadata.owner_references.is_none(),
            "the manifest outlives the resource"
        );
        let labels = cm.metadata.labels.clone().unwrap();
        assert_eq!(labels["sgtightener.io/tightening"], "web");
        assert_eq!(labels["sgtightener.io/kind"], "SecurityGroupTightening");
        assert_eq!(labels["sgtightener.io/plan"], "0123456789ab");
        assert_eq!(manifest_of(&cm).unwrap(), manifest);
        let cm = manifest_config_map::<SecurityGroupCompaction>(
            "payments",
            "sgc-web-0123456789ab",
            &manifest,
        )
        .unwrap();
        let labels = cm.metadata.labels.clone().unwrap();
        assert_eq!(labels["sgtightener.io/compaction"], "web");
        assert_eq!(labels["sgtightener.io/kind"], "SecurityGroupCompaction");
        assert!(!labels.contains_key("sgtightener.io/tightening"));
    }
}
