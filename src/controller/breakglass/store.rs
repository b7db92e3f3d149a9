//! Controller layer: the break-glass reconciler's Kubernetes side behind one small trait —
//! status writes, every extension's record (reference counting), applied tightenings, the
//! finalizer, the `ip-ranges.json` ConfigMap and events — so the reconcile runs against
//! [`MemoryStore`] in unit tests and [`KubeStore`] for real.

use crate::controller::change::store::{KubeStore as ChangeStore, Store as _};
use crate::controller::status::apply_status;
use crate::controller::{Error, Events, MANAGER};
use crate::crd::{BreakGlassExtension, BreakGlassExtensionStatus, SecurityGroupTightening};
use crate::domain::breakglass::TighteningChange;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Mutex;

pub use crate::controller::report::EventKind;

/// The tightenings' manifests, read to know what each applied tightening changed.
type TighteningStore = ChangeStore<SecurityGroupTightening>;

/// The finalizer that revokes on deletion (only with `deletionPolicy: Revoke`).
pub const FINALIZER: &str = "sgtightener.io/cleanup";

/// Kubernetes reads and writes the break-glass reconcile needs.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Replaces the status this controller owns (server-side apply as `sg-tightener`).
    async fn write_status(
        &self,
        object: &BreakGlassExtension,
        status: &BreakGlassExtensionStatus,
    ) -> Result<(), Error>;

    /// Every BreakGlassExtension, all namespaces, read fresh from the API server.
    async fn extensions(&self) -> Result<Vec<BreakGlassExtension>, Error>;

    /// What every applied, not reverted SecurityGroupTightening changed, per group.
    async fn tightening_changes(&self) -> Result<Vec<TighteningChange>, Error>;

    /// Adds (`true`) or removes (`false`) this controller's finalizer.
    async fn set_finalizer(&self, object: &BreakGlassExtension, present: bool)
        -> Result<(), Error>;

    /// One key of a ConfigMap; `None` when the map or the key does not exist.
    async fn config_map_value(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
    ) -> Result<Option<String>, Error>;

    /// Publishes an event about the extension (best effort).
    async fn event(
        &self,
        object: &BreakGlassExtension,
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
    /// `watchNamespaces`: where extensions and tightenings are listed (empty = everywhere).
    pub namespaces: Vec<String>,
}

#[async_trait::async_trait]
impl Store for KubeStore {
    async fn write_status(
        &self,
        object: &BreakGlassExtension,
        status: &BreakGlassExtensionStatus,
    ) -> Result<(), Error> {
        let value = serde_json::to_value(status).map_err(|source| Error::Serialize {
            what: "status",
            source,
        })?;
        apply_status(&self.client, object, value).await
    }

    async fn extensions(&self) -> Result<Vec<BreakGlassExtension>, Error> {
        crate::controller::scope::list(&self.client, &self.namespaces)
            .await
            .map_err(|e| Error::kube("list BreakGlassExtensions", e))
    }

    async fn tightening_changes(&self) -> Result<Vec<TighteningChange>, Error> {
        let tightenings: Vec<SecurityGroupTightening> =
            crate::controller::scope::list(&self.client, &self.namespaces)
                .await
                .map_err(|e| Error::kube("list SecurityGroupTightenings", e))?;
        // Only read through: reads do not need the leadership fence.
        let manifests: TighteningStore =
            ChangeStore::new(self.client.clone(), self.events.clone(), Default::default());
        let mut out = Vec::new();
        for sgt in &tightenings {
            out.extend(changes_of(sgt, &manifests).await?);
        }
        Ok(out)
    }

    async fn set_finalizer(
        &self,
        object: &BreakGlassExtension,
        present: bool,
    ) -> Result<(), Error> {
        let namespace = object.namespace().unwrap_or_default();
        let api: Api<BreakGlassExtension> = Api::namespaced(self.client.clone(), &namespace);
        let finalizers: Vec<&str> = if present { vec![FINALIZER] } else { vec![] };
        // Server-side apply: this manager owns only its own entry of the finalizer set.
        let patch = json!({
            "apiVersion": BreakGlassExtension::api_version(&()),
            "kind": BreakGlassExtension::kind(&()),
            "metadata": { "name": object.name_any(), "finalizers": finalizers },
        });
        let params = PatchParams::apply(MANAGER).force();
        api.patch(&object.name_any(), &params, &Patch::Apply(&patch))
            .await
            .map_err(|e| {
                Error::kube(
                    format!("set the finalizer of bge {namespace}/{}", object.name_any()),
                    e,
                )
            })?;
        Ok(())
    }

    async fn config_map_value(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
    ) -> Result<Option<String>, Error> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let found = api
            .get_opt(name)
            .await
            .map_err(|e| Error::kube(format!("read ConfigMap {namespace}/{name}"), e))?;
        Ok(found.and_then(|cm| cm.data).and_then(|mut d| d.remove(key)))
    }

    async fn event(
        &self,
        object: &BreakGlassExtension,
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

/// The per-group changes of one applied, not reverted tightening: from its plan while the plan
/// in status is the applied one, else from its write-ahead manifest.
async fn changes_of(
    sgt: &SecurityGroupTightening,
    manifests: &TighteningStore,
) -> Result<Vec<TighteningChange>, Error> {
    let Some(status) = &sgt.status else {
        return Ok(Vec::new());
    };
    let Some(applied) = status.applied.as_ref().filter(|a| a.reverted_at.is_none()) else {
        return Ok(Vec::new());
    };
    let resource = format!("{}/{}", sgt.namespace().unwrap_or_default(), sgt.name_any());
    let change = |group_id: &str, revoke: &[String], authorise: &[String]| TighteningChange {
        resource: resource.clone(),
        plan_hash: applied.plan_hash.clone(),
        group_id: group_id.to_owned(),
        revoke: revoke.to_vec(),
        authorise: authorise.to_vec(),
    };
    if let Some(plan) = status.plan.as_ref().filter(|p| p.hash == applied.plan_hash) {
        return Ok(plan
            .groups
            .iter()
            .map(|g| change(&g.group_id, &g.revoke, &g.authorise))
            .collect());
    }
    let namespace = sgt.namespace().unwrap_or_default();
    let manifest = manifests
        .get_manifest(&namespace, &applied.manifest_config_map)
        .await?;
    Ok(manifest
        .map(|m| {
            m.groups
                .iter()
                .map(|g| change(&g.group_id, &g.revoke, &g.authorise))
                .collect()
        })
        .unwrap_or_default())
}

/// An in-memory store for reconciler tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Every status written, in order.
    pub statuses: Mutex<Vec<BreakGlassExtensionStatus>>,
    /// What `extensions` answers (the extension under test is added by the test world).
    pub extensions: Mutex<Vec<BreakGlassExtension>>,
    /// What `tightening_changes` answers.
    pub changes: Mutex<Vec<TighteningChange>>,
    /// Finalizer calls, in order.
    pub finalizer_calls: Mutex<Vec<bool>>,
    /// ConfigMap values by `namespace/name/key`.
    pub config_maps: Mutex<BTreeMap<String, String>>,
    /// Events as `(kind, reason, note)`.
    pub events: Mutex<Vec<(EventKind, String, String)>>,
}

impl MemoryStore {
    /// The last status written.
    pub fn last_status(&self) -> Option<BreakGlassExtensionStatus> {
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
        _object: &BreakGlassExtension,
        status: &BreakGlassExtensionStatus,
    ) -> Result<(), Error> {
        self.statuses
            .lock()
            .expect("store lock")
            .push(status.clone());
        Ok(())
    }

    async fn extensions(&self) -> Result<Vec<BreakGlassExtension>, Error> {
        Ok(self.extensions.lock().expect("store lock").clone())
    }

    async fn tightening_changes(&self) -> Result<Vec<TighteningChange>, Error> {
        Ok(self.changes.lock().expect("store lock").clone())
    }

    async fn set_finalizer(
        &self,
        _object: &BreakGlassExtension,
        present: bool,
    ) -> Result<(), Error> {
        self.finalizer_calls
            .lock()
            .expect("store lock")
            .push(present);
        Ok(())
    }

    async fn config_map_value(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
    ) -> Result<Option<String>, Error> {
        let maps = self.config_maps.lock().expect("store lock");
        Ok(maps.get(&format!("{namespace}/{name}/{key}")).cloned())
    }

    async fn event(
        &self,
        _object: &BreakGlassExtension,
        kind: EventKind,
        reason: &str,
        note: String,
    ) {
        self.events
            .lock()
            .expect("store lock")
            .push((kind, reason.to_owned(), note));
    }
}
