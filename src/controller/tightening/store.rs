//! Controller layer: the tightening's Kubernetes side behind one small trait — status writes,
//! the write-ahead manifest ConfigMap, events — so the reconcile logic runs against
//! [`MemoryStore`] in unit tests and [`KubeStore`] for real.

use crate::controller::status::apply_status;
use crate::controller::{Error, Events, MANAGER};
use crate::crd::{SecurityGroupTightening, SecurityGroupTighteningStatus};
use crate::domain::tightening::Manifest;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use kube::ResourceExt;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The key of the manifest JSON inside the ConfigMap.
pub const MANIFEST_KEY: &str = "manifest.json";

/// Whether an event is routine or needs attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `Normal`.
    Normal,
    /// `Warning`.
    Warning,
}

/// Kubernetes reads and writes the tightening reconcile needs.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Replaces the status this controller owns (server-side apply as `sg-tightener`).
    async fn write_status(
        &self,
        object: &SecurityGroupTightening,
        status: &SecurityGroupTighteningStatus,
    ) -> Result<(), Error>;

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

    /// Publishes an event about the resource (best effort).
    async fn event(
        &self,
        object: &SecurityGroupTightening,
        kind: EventKind,
        reason: &str,
        note: String,
    );
}

/// The real store: the API server.
pub struct KubeStore {
    /// Kubernetes client.
    pub client: kube::Client,
    /// Event publisher.
    pub events: Events,
}

#[async_trait::async_trait]
impl Store for KubeStore {
    async fn write_status(
        &self,
        object: &SecurityGroupTightening,
        status: &SecurityGroupTighteningStatus,
    ) -> Result<(), Error> {
        let value = serde_json::to_value(status).map_err(|source| Error::Serialize {
            what: "status",
            source,
        })?;
        apply_status(&self.client, object, value).await
    }

    async fn put_manifest(
        &self,
        namespace: &str,
        name: &str,
        manifest: &Manifest,
    ) -> Result<(), Error> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let config_map = manifest_config_map(namespace, name, manifest)?;
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

    async fn event(
        &self,
        object: &SecurityGroupTightening,
        kind: EventKind,
        reason: &str,
        note: String,
    ) {
        match kind {
            EventKind::Normal => self.events.normal(object, reason, note).await,
            EventKind::Warning => self.events.warning(object, reason, note).await,
        }
    }
}

/// The ConfigMap holding `manifest`, labelled so `kubectl get cm -l app.kubernetes.io/managed-by=sg-tightener` finds it.
pub fn manifest_config_map(
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
        ("sgtightener.io/tightening".to_owned(), resource.to_owned()),
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

/// An in-memory store for reconciler tests: statuses written, manifests, events.
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Every status written, in order.
    pub statuses: Mutex<Vec<SecurityGroupTighteningStatus>>,
    /// Manifests by `namespace/name`.
    pub manifests: Mutex<BTreeMap<String, Manifest>>,
    /// Events as `(kind, reason, note)`.
    pub events: Mutex<Vec<(EventKind, String, String)>>,
    /// When set, the next `write_status` fails (a lost API server).
    pub fail_status_writes: Mutex<bool>,
}

impl MemoryStore {
    /// The last status written.
    pub fn last_status(&self) -> Option<SecurityGroupTighteningStatus> {
        self.statuses.lock().expect("store lock").last().cloned()
    }

    /// Reasons of the events published so far.
    pub fn event_reasons(&self) -> Vec<String> {
        let events = self.events.lock().expect("store lock");
        events.iter().map(|(_, reason, _)| reason.clone()).collect()
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    async fn write_status(
        &self,
        _object: &SecurityGroupTightening,
        status: &SecurityGroupTighteningStatus,
    ) -> Result<(), Error> {
        if *self.fail_status_writes.lock().expect("store lock") {
            return Err(Error::InvalidSpec("test: status writes fail".into()));
        }
        self.statuses
            .lock()
            .expect("store lock")
            .push(status.clone());
        Ok(())
    }

    async fn put_manifest(
        &self,
        namespace: &str,
        name: &str,
        manifest: &Manifest,
    ) -> Result<(), Error> {
        manifest_config_map(namespace, name, manifest)?;
        let key = format!("{namespace}/{name}");
        self.manifests
            .lock()
            .expect("store lock")
            .insert(key, manifest.clone());
        Ok(())
    }

    async fn get_manifest(&self, namespace: &str, name: &str) -> Result<Option<Manifest>, Error> {
        let key = format!("{namespace}/{name}");
        Ok(self
            .manifests
            .lock()
            .expect("store lock")
            .get(&key)
            .cloned())
    }

    async fn event(
        &self,
        object: &SecurityGroupTightening,
        kind: EventKind,
        reason: &str,
        note: String,
    ) {
        let _ = object.name_any();
        self.events
            .lock()
            .expect("store lock")
            .push((kind, reason.to_owned(), note));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        };
        let cm = manifest_config_map("payments", "sgt-web-0123456789ab", &manifest).unwrap();
        assert!(
            cm.metadata.owner_references.is_none(),
            "the manifest outlives the resource"
        );
        let labels = cm.metadata.labels.clone().unwrap();
        assert_eq!(labels["sgtightener.io/tightening"], "web");
        assert_eq!(labels["sgtightener.io/plan"], "0123456789ab");
        assert_eq!(manifest_of(&cm).unwrap(), manifest);
    }
}
