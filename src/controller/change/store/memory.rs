//! Controller layer: an in-memory [`Store`] for reconciler tests — statuses written in order,
//! manifests, events, and a resourceVersion that every status write bumps, so a write from a
//! stale read conflicts as it would on the API server.

use super::super::Changing;
use super::{entry, manifest_config_map, EventKind, Store};
use crate::controller::report::StatusStore;
use crate::controller::Error;
use crate::domain::tightening::history::ManifestEntry;
use crate::domain::tightening::Manifest;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// An in-memory store for reconciler tests: statuses written, manifests, events, and a
/// resourceVersion that every status write bumps (stale writes conflict, as on the API server).
#[derive(Debug)]
pub struct MemoryStore<K: Changing> {
    /// Every status written, in order.
    pub statuses: Mutex<Vec<K::Status>>,
    /// Manifests by `namespace/name`.
    pub manifests: Mutex<BTreeMap<String, Manifest>>,
    /// Events as `(kind, reason, note)`.
    pub events: Mutex<Vec<(EventKind, String, String)>>,
    /// When set, the next `write_status` fails (a lost API server).
    pub fail_status_writes: Mutex<bool>,
    /// The object's current resourceVersion.
    pub resource_version: Mutex<u64>,
}

impl<K: Changing> Default for MemoryStore<K> {
    fn default() -> Self {
        MemoryStore {
            statuses: Mutex::default(),
            manifests: Mutex::default(),
            events: Mutex::default(),
            fail_status_writes: Mutex::default(),
            resource_version: Mutex::default(),
        }
    }
}

impl<K: Changing> MemoryStore<K> {
    /// The last status written.
    pub fn last_status(&self) -> Option<K::Status> {
        self.statuses.lock().expect("store lock").last().cloned()
    }

    /// Reasons of the events published so far.
    pub fn event_reasons(&self) -> Vec<String> {
        let events = self.events.lock().expect("store lock");
        events.iter().map(|(_, reason, _)| reason.clone()).collect()
    }

    /// The current resourceVersion, as the API server would report it.
    pub fn version(&self) -> String {
        self.resource_version
            .lock()
            .expect("store lock")
            .to_string()
    }

    /// Bumps the resourceVersion (someone else wrote the object).
    pub fn touch(&self) {
        *self.resource_version.lock().expect("store lock") += 1;
    }
}

fn conflict() -> Error {
    let status =
        kube::core::Status::failure("the object has been modified", "Conflict").with_code(409);
    Error::kube("patch status", kube::Error::Api(Box::new(status)))
}

#[async_trait::async_trait]
impl<K: Changing> StatusStore<K> for MemoryStore<K> {
    async fn write_status(
        &self,
        _object: &K,
        status: &K::Status,
        resource_version: Option<&str>,
    ) -> Result<Option<String>, Error> {
        if *self.fail_status_writes.lock().expect("store lock") {
            return Err(Error::InvalidSpec("test: status writes fail".into()));
        }
        let mut version = self.resource_version.lock().expect("store lock");
        if resource_version.is_some_and(|v| v != version.to_string()) {
            return Err(conflict());
        }
        *version += 1;
        self.statuses
            .lock()
            .expect("store lock")
            .push(status.clone());
        Ok(Some(version.to_string()))
    }

    async fn event(&self, _object: &K, kind: EventKind, reason: &str, note: String) {
        self.events
            .lock()
            .expect("store lock")
            .push((kind, reason.to_owned(), note));
    }
}

#[async_trait::async_trait]
impl<K: Changing> Store<K> for MemoryStore<K> {
    async fn put_manifest(
        &self,
        namespace: &str,
        name: &str,
        manifest: &Manifest,
    ) -> Result<(), Error> {
        manifest_config_map::<K>(namespace, name, manifest)?;
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

    async fn list_manifests(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<ManifestEntry>, Error> {
        let resource = format!("{namespace}/{name}");
        let prefix = format!("{namespace}/");
        let manifests = self.manifests.lock().expect("store lock");
        Ok(manifests
            .iter()
            .filter(|(k, m)| k.starts_with(&prefix) && m.resource == resource)
            .map(|(k, m)| entry(&k[prefix.len()..], m))
            .collect())
    }

    async fn delete_manifest(&self, namespace: &str, name: &str) -> Result<(), Error> {
        let key = format!("{namespace}/{name}");
        self.manifests.lock().expect("store lock").remove(&key);
        Ok(())
    }
}
