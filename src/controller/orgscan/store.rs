//! Controller layer: the OrgRiskScan's Kubernetes side behind one small trait — status writes,
//! the report ConfigMap, events — so the reconcile runs against [`MemoryStore`] in unit tests
//! and [`KubeStore`] for real.

use crate::controller::report::EventKind;
use crate::controller::report::{MemoryStatus, StatusStore};
use crate::controller::status::apply_status;
use crate::controller::{Error, Events, MANAGER};
use crate::crd::{OrgRiskScan, OrgRiskScanStatus};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The key of the JSON report inside the ConfigMap.
pub const REPORT_KEY: &str = "report.json";

/// Kubernetes reads and writes the scan reconcile needs: status and events (the shared
/// [`StatusStore`]), and the report ConfigMap.
#[async_trait::async_trait]
pub trait Store: StatusStore<OrgRiskScan> {
    /// Creates or replaces the report ConfigMap `name` in the scan's namespace, owned by the
    /// scan (deleted with it).
    async fn put_report(&self, object: &OrgRiskScan, name: &str, json: String)
        -> Result<(), Error>;
}

/// The real store: the API server.
pub struct KubeStore {
    /// Kubernetes client.
    pub client: kube::Client,
    /// Event publisher.
    pub events: Events,
}

/// The report ConfigMap as server-side-apply JSON: labelled, owned by the scan (garbage
/// collected with it).
pub fn report_config_map(object: &OrgRiskScan, name: &str, json: String) -> serde_json::Value {
    // No blockOwnerDeletion: setting it needs `update` on orgriskscans/finalizers where the
    // OwnerReferencesPermissionEnforcement admission plugin runs, and nothing waits on it.
    let owner = object.controller_owner_ref(&()).map(|mut owner| {
        owner.block_owner_deletion = None;
        owner
    });
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": object.namespace(),
            "labels": {
                "app.kubernetes.io/managed-by": MANAGER,
                "sgtightener.io/orgriskscan": object.name_any(),
            },
            "ownerReferences": owner.into_iter().collect::<Vec<_>>(),
        },
        "data": { REPORT_KEY: json },
    })
}

#[async_trait::async_trait]
impl StatusStore<OrgRiskScan> for KubeStore {
    async fn write_status(
        &self,
        object: &OrgRiskScan,
        status: &OrgRiskScanStatus,
        _resource_version: Option<&str>,
    ) -> Result<Option<String>, Error> {
        // Unconditional: a scan's status is its own, and the Scanning checkpoint precedes it.
        let value = serde_json::to_value(status).map_err(|source| Error::Serialize {
            what: "status",
            source,
        })?;
        apply_status(&self.client, object, value).await?;
        Ok(None)
    }

    async fn event(&self, object: &OrgRiskScan, kind: EventKind, reason: &str, note: String) {
        match kind {
            EventKind::Normal => self.events.normal(object, reason, note).await,
            EventKind::Warning => self.events.warning(object, reason, note).await,
        }
    }
}

#[async_trait::async_trait]
impl Store for KubeStore {
    async fn put_report(
        &self,
        object: &OrgRiskScan,
        name: &str,
        json: String,
    ) -> Result<(), Error> {
        let namespace = object.namespace().unwrap_or_default();
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &namespace);
        let config_map = report_config_map(object, name, json);
        let params = PatchParams::apply(MANAGER).force();
        api.patch(name, &params, &Patch::Apply(&config_map))
            .await
            .map_err(|e| Error::kube(format!("write report ConfigMap {namespace}/{name}"), e))?;
        Ok(())
    }
}

/// An in-memory store for reconciler tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Statuses written and events published.
    pub status: MemoryStatus<OrgRiskScanStatus>,
    /// Report ConfigMaps by name: the JSON text.
    pub reports: Mutex<BTreeMap<String, String>>,
}

#[async_trait::async_trait]
impl StatusStore<OrgRiskScan> for MemoryStore {
    async fn write_status(
        &self,
        _object: &OrgRiskScan,
        status: &OrgRiskScanStatus,
        _resource_version: Option<&str>,
    ) -> Result<Option<String>, Error> {
        self.status.write(status);
        Ok(None)
    }

    async fn event(&self, _object: &OrgRiskScan, kind: EventKind, reason: &str, note: String) {
        self.status.event(kind, reason, note);
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    async fn put_report(
        &self,
        _object: &OrgRiskScan,
        name: &str,
        json: String,
    ) -> Result<(), Error> {
        self.reports
            .lock()
            .expect("store lock")
            .insert(name.to_owned(), json);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_config_map_is_owned_by_the_scan_and_labelled() {
        let scan: OrgRiskScan = serde_json::from_value(json!({
            "apiVersion": "sgtightener.io/v1alpha1", "kind": "OrgRiskScan",
            "metadata": {"name": "estate", "namespace": "security", "uid": "u-1"},
            "spec": {"accounts": ["111111111111"], "regions": ["af-south-1"]},
        }))
        .unwrap();
        let cm = report_config_map(&scan, "ors-estate", "{}".into());
        let owner = &cm["metadata"]["ownerReferences"][0];
        assert_eq!(
            (owner["kind"].as_str(), owner["uid"].as_str()),
            (Some("OrgRiskScan"), Some("u-1"))
        );
        assert_eq!(owner["controller"], true);
        assert!(owner.get("blockOwnerDeletion").is_none_or(|b| b.is_null()));
        assert_eq!(
            cm["metadata"]["labels"]["sgtightener.io/orgriskscan"],
            "estate"
        );
        assert_eq!(cm["data"][REPORT_KEY], "{}");
    }
}
