//! Controller layer test support: a fake world (`FakeAws`, `FakeFlowLogs`, the in-memory store)
//! around several BreakGlassExtensions, reconciled the way the API server would see them: each
//! status written becomes the object's status, and every extension's latest object is what the
//! store lists.

use super::ip_ranges::{Fetch, RangesCache};
use super::store::MemoryStore;
use super::{reconcile, Deps};
use crate::aws::ec2::fake::FakeSecurityGroups;
use crate::aws::fake::FakeAws;
use crate::config::ControllerConfig;
use crate::controller::Error;
use crate::crd::{BreakGlassExtension, BreakGlassGroupState};
use crate::domain::conditions::find;
use crate::domain::rules::{ingress_rules, permissions_from_strings};
use crate::domain::snapshot::{GroupIdentifier, NetworkInterface, SecurityGroup};
use crate::metrics::Metrics;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub(super) const A: &str = "sg-aaaaaaaa";
pub(super) const B: &str = "sg-bbbbbbbb";
/// Every group starts with this rule: it predates every extension.
pub(super) const OFFICE: &str = "tcp:22 10.9.0.0/16";

/// A fetcher that serves one fixed body.
#[derive(Debug, Default)]
pub(super) struct FixedFetch(pub std::sync::Mutex<Option<String>>);

#[async_trait::async_trait]
impl Fetch for FixedFetch {
    async fn get(&self, _url: &str) -> Result<String, String> {
        self.0
            .lock()
            .unwrap()
            .clone()
            .ok_or_else(|| "unreachable".into())
    }
}

pub(super) struct World {
    pub aws: FakeAws,
    pub store: MemoryStore,
    pub config: ControllerConfig,
    pub metrics: Metrics,
    pub ranges: RangesCache,
    pub fetch: FixedFetch,
    pub lock: tokio::sync::Mutex<()>,
    pub now: jiff::Timestamp,
    pub objects: Vec<BreakGlassExtension>,
}

pub(super) fn group(id: &str, rules: &[&str], description: &str) -> SecurityGroup {
    let strings: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
    SecurityGroup {
        group_id: id.into(),
        vpc_id: Some("vpc-1".into()),
        ip_permissions: permissions_from_strings(&strings, |_| Some(description.into())).unwrap(),
        ..SecurityGroup::default()
    }
}

fn eni(address: &str, group: &str) -> NetworkInterface {
    NetworkInterface {
        network_interface_id: format!("eni-{group}"),
        private_ip_address: Some(address.into()),
        groups: vec![GroupIdentifier {
            group_id: group.into(),
            group_name: None,
        }],
        ..NetworkInterface::default()
    }
}

/// An explicit spec: `cidrs` on tcp:443 on groups A and B, expiring after `expires`.
pub(super) fn explicit(cidrs: &[&str], expires: &str, policy: &str) -> Value {
    json!({
        "region": "af-south-1",
        "accountId": "123456789012",
        "reason": "DR failover INC-1234",
        "groupIds": [A, B],
        "rules": {"cidrs": cidrs, "ports": ["tcp:443"]},
        "expiresAfter": expires,
        "onExpiry": policy,
        "deletionPolicy": policy,
    })
}

impl World {
    pub fn new() -> Self {
        let fake =
            FakeSecurityGroups::new([group(A, &[OFFICE], "office"), group(B, &[OFFICE], "office")]);
        fake.add_interface(eni("10.100.1.10", A));
        fake.add_interface(eni("10.100.1.20", B));
        World {
            aws: FakeAws::new(fake),
            store: MemoryStore::default(),
            config: ControllerConfig::default(),
            metrics: Metrics::new(),
            ranges: RangesCache::default(),
            fetch: FixedFetch::default(),
            lock: tokio::sync::Mutex::new(()),
            now: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            objects: Vec::new(),
        }
    }

    /// Creates an extension `name` now; returns its index.
    pub fn create(&mut self, name: &str, spec: Value) -> usize {
        let mut object: BreakGlassExtension = serde_json::from_value(json!({
            "apiVersion": "sgtightener.io/v1alpha1",
            "kind": "BreakGlassExtension",
            "metadata": {"name": name, "namespace": "payments", "generation": 1, "uid": name},
            "spec": spec,
        }))
        .unwrap();
        object.metadata.creation_timestamp = Some(Time(self.now));
        self.objects.push(object);
        self.objects.len() - 1
    }

    fn deps(&self) -> Deps<'_> {
        Deps {
            config: &self.config,
            aws: &self.aws,
            store: &self.store,
            metrics: &self.metrics,
            ranges: &self.ranges,
            fetch: &self.fetch,
            lock: &self.lock,
            now: self.now,
        }
    }

    /// One reconcile of extension `i`, as the controller would run it.
    pub async fn reconcile(&mut self, i: usize) -> Result<Action, Error> {
        *self.store.extensions.lock().unwrap() = self.objects.clone();
        let before = self.store.statuses.lock().unwrap().len();
        let result = reconcile(&self.objects[i], &self.deps()).await;
        if self.store.statuses.lock().unwrap().len() > before {
            self.objects[i].status = self.store.last_status();
        }
        let finalizers = self.store.finalizer_calls.lock().unwrap().last().copied();
        if let Some(present) = finalizers {
            let list = present.then(|| vec![super::store::FINALIZER.to_owned()]);
            self.objects[i].metadata.finalizers = list;
        }
        self.store.finalizer_calls.lock().unwrap().clear();
        result
    }

    /// Edits the spec of extension `i` (a new generation).
    pub fn edit(&mut self, i: usize, change: impl FnOnce(&mut Value)) {
        let mut spec = serde_json::to_value(&self.objects[i].spec).unwrap();
        change(&mut spec);
        self.objects[i].spec = serde_json::from_value(spec).unwrap();
        let generation = self.objects[i].metadata.generation.unwrap_or(1);
        self.objects[i].metadata.generation = Some(generation + 1);
    }

    /// Marks extension `i` deleted (as `kubectl delete` does while a finalizer is present).
    pub fn delete(&mut self, i: usize) {
        self.objects[i].metadata.deletion_timestamp = Some(Time(self.now));
    }

    pub fn advance(&mut self, seconds: i64) {
        self.now += jiff::SignedDuration::from_secs(seconds);
    }

    pub fn condition(&self, i: usize, type_: &str) -> (String, String, String) {
        let status = self.objects[i]
            .status
            .as_ref()
            .expect("a status was written");
        let c = find(&status.conditions, type_).unwrap_or_else(|| panic!("no {type_} condition"));
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }

    pub fn group_state(&self, i: usize, id: &str) -> BreakGlassGroupState {
        let status = self.objects[i].status.as_ref().expect("status");
        status
            .groups
            .iter()
            .find(|g| g.group_id == id)
            .unwrap_or_else(|| panic!("no status for {id}"))
            .status
    }

    /// The group's rules as rule strings.
    pub fn rules(&self, id: &str) -> BTreeSet<String> {
        let group = self.aws.security_groups.group(id).unwrap();
        ingress_rules(&group)
            .unwrap()
            .iter()
            .map(|r| r.to_string())
            .collect()
    }

    /// The group's rules with their descriptions.
    pub fn described(&self, id: &str) -> BTreeSet<(String, Option<String>)> {
        let group = self.aws.security_groups.group(id).unwrap();
        ingress_rules(&group)
            .unwrap()
            .into_iter()
            .map(|r| (r.to_string(), r.description.clone()))
            .collect()
    }

    pub fn mutations(&self) -> usize {
        self.aws.security_groups.mutations()
    }
}
