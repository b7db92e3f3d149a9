//! Controller layer: one actor per security group (DESIGN §6.1), for every kind that changes
//! rules from an approved plan (tightening and compaction, through `controller::change`). A
//! claim is a ConfigMap in the operator's own namespace named from account, region and group id,
//! created if absent — atomic across replicas and namespaces — and holding the claiming
//! resource's kind, namespace and name. A claim whose holder no longer exists is taken over. Claims are released when the
//! holder reverts or is deleted. RBAC: `get`, `list`, `create`, `delete` on ConfigMaps in that
//! namespace.

use super::labels::label_value;
use super::leader::Fence;
use super::{Error, MANAGER};
use crate::crd::{SecurityGroupCompaction, SecurityGroupTightening};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::Resource;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A security group, globally: the claim's identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupKey {
    /// AWS account id.
    pub account: String,
    /// AWS region.
    pub region: String,
    /// `sg-…`.
    pub group_id: String,
}

impl GroupKey {
    /// The claim ConfigMap's name: `sgt-claim-<account>-<region>-<group id>`.
    pub fn object_name(&self) -> String {
        format!(
            "sgt-claim-{}-{}-{}",
            self.account, self.region, self.group_id
        )
        .to_ascii_lowercase()
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (account {}, {})",
            self.group_id, self.account, self.region
        )
    }
}

/// The resource that claims groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// `SecurityGroupTightening`, `SecurityGroupCompaction`.
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl Holder {
    /// The holder for a resource of kind `K`.
    pub fn of<K: Resource<DynamicType = ()>>(object: &K) -> Self {
        Holder {
            kind: K::kind(&()).into_owned(),
            namespace: object.meta().namespace.clone().unwrap_or_default(),
            name: object.meta().name.clone().unwrap_or_default(),
        }
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// Another resource holds a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBy {
    /// The group.
    pub group: GroupKey,
    /// Who holds it.
    pub holder: Holder,
}

/// Claims on groups, behind a trait so reconcilers run against [`MemoryClaims`] in tests.
#[async_trait::async_trait]
pub trait Claims: Send + Sync {
    /// The first of `groups` held by a live resource other than `me`, if any.
    async fn held_by_other(
        &self,
        groups: &[GroupKey],
        me: &Holder,
    ) -> Result<Option<HeldBy>, Error>;

    /// Claims every group for `me`, all or nothing: `Ok(Some(_))` names the other holder and
    /// leaves no claim of this call behind.
    async fn claim(&self, groups: &[GroupKey], me: &Holder) -> Result<Option<HeldBy>, Error>;

    /// Releases every claim `me` holds.
    async fn release_all(&self, me: &Holder) -> Result<(), Error>;
}

const KIND: &str = "kind";
const NAMESPACE: &str = "namespace";
const NAME: &str = "name";
const HOLDER_LABELS: [&str; 3] = [
    "sgtightener.io/holder-kind",
    "sgtightener.io/holder-namespace",
    "sgtightener.io/holder-name",
];

/// The claims of the running controller, as ConfigMaps in `namespace`.
pub struct KubeClaims {
    api: Api<ConfigMap>,
    client: kube::Client,
    fence: Arc<Fence>,
}

impl KubeClaims {
    /// Claims kept in `namespace`; no write happens while `fence` is closed.
    pub fn new(client: kube::Client, namespace: &str, fence: Arc<Fence>) -> Self {
        KubeClaims {
            api: Api::namespaced(client.clone(), namespace),
            client,
            fence,
        }
    }

    fn config_map(group: &GroupKey, me: &Holder) -> ConfigMap {
        let data = BTreeMap::from([
            (KIND.to_owned(), me.kind.clone()),
            (NAMESPACE.to_owned(), me.namespace.clone()),
            (NAME.to_owned(), me.name.clone()),
            ("account".to_owned(), group.account.clone()),
            ("region".to_owned(), group.region.clone()),
            ("groupId".to_owned(), group.group_id.clone()),
        ]);
        let mut labels: BTreeMap<String, String> = HOLDER_LABELS
            .iter()
            .zip([&me.kind, &me.namespace, &me.name])
            .map(|(k, v)| (k.to_string(), label_value(v)))
            .collect();
        labels.insert("app.kubernetes.io/managed-by".into(), MANAGER.into());
        labels.insert("sgtightener.io/claim".into(), "group".into());
        let mut cm = ConfigMap {
            data: Some(data),
            ..ConfigMap::default()
        };
        cm.metadata.name = Some(group.object_name());
        cm.metadata.labels = Some(labels);
        cm
    }

    /// Who holds `group`, if anyone: `(holder, resourceVersion)`.
    async fn read(&self, group: &GroupKey) -> Result<Option<(Holder, String)>, Error> {
        let name = group.object_name();
        let found = self
            .api
            .get_opt(&name)
            .await
            .map_err(|e| Error::kube(format!("read claim ConfigMap {name}"), e))?;
        Ok(found.map(|cm| {
            let version = cm.metadata.resource_version.clone().unwrap_or_default();
            (holder_of(&cm), version)
        }))
    }

    /// Whether `holder` still exists (kinds this controller does not know are assumed to).
    async fn exists(&self, holder: &Holder) -> Result<bool, Error> {
        let resource = match holder.kind.as_str() {
            "SecurityGroupTightening" => ApiResource::erase::<SecurityGroupTightening>(&()),
            "SecurityGroupCompaction" => ApiResource::erase::<SecurityGroupCompaction>(&()),
            _ => return Ok(true),
        };
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &holder.namespace, &resource);
        let found = api
            .get_opt(&holder.name)
            .await
            .map_err(|e| Error::kube(format!("read {holder}"), e))?;
        Ok(found.is_some())
    }

    /// The live holder of `group` other than `me`, removing a claim whose holder is gone.
    async fn other_holder(&self, group: &GroupKey, me: &Holder) -> Result<Option<Holder>, Error> {
        let Some((holder, version)) = self.read(group).await? else {
            return Ok(None);
        };
        if &holder == me {
            return Ok(None);
        }
        if self.exists(&holder).await? {
            return Ok(Some(holder));
        }
        tracing::info!(group = %group, stale = %holder, "removing the claim of a resource that no longer exists");
        self.delete(&group.object_name(), &version).await?;
        Ok(None)
    }

    async fn delete(&self, name: &str, version: &str) -> Result<(), Error> {
        self.fence.check()?;
        let params = DeleteParams {
            preconditions: Some(kube::api::Preconditions {
                resource_version: Some(version.to_owned()),
                uid: None,
            }),
            ..DeleteParams::default()
        };
        match self.api.delete(name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.is_not_found() || s.is_conflict() => Ok(()),
            Err(e) => Err(Error::kube(format!("delete claim ConfigMap {name}"), e)),
        }
    }

    /// Creates the claim; `false` when another replica or resource created it first.
    async fn create(&self, group: &GroupKey, me: &Holder) -> Result<bool, Error> {
        self.fence.check()?;
        let cm = Self::config_map(group, me);
        match self.api.create(&PostParams::default(), &cm).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.is_already_exists() => Ok(false),
            Err(e) => Err(Error::kube(
                format!("create claim ConfigMap {}", group.object_name()),
                e,
            )),
        }
    }
}

impl KubeClaims {
    /// Claims one group: `Ok(true)` created now, `Ok(false)` already mine, `Err` held by another
    /// live resource. A create that loses a race re-reads and judges again.
    async fn claim_one(
        &self,
        group: &GroupKey,
        me: &Holder,
    ) -> Result<Result<bool, Holder>, Error> {
        for _ in 0..3 {
            match self.read(group).await? {
                Some((holder, _)) if &holder == me => return Ok(Ok(false)),
                Some((holder, version)) => {
                    if self.exists(&holder).await? {
                        return Ok(Err(holder));
                    }
                    tracing::info!(group = %group, stale = %holder, "taking over the claim of a resource that no longer exists");
                    self.delete(&group.object_name(), &version).await?;
                }
                None if self.create(group, me).await? => return Ok(Ok(true)),
                None => {}
            }
        }
        Err(Error::Plan(format!(
            "failed to claim {group}: the claim kept changing under concurrent updates"
        )))
    }
}

fn holder_of(cm: &ConfigMap) -> Holder {
    let data = cm.data.clone().unwrap_or_default();
    let get = |k: &str| data.get(k).cloned().unwrap_or_default();
    Holder {
        kind: get(KIND),
        namespace: get(NAMESPACE),
        name: get(NAME),
    }
}

#[async_trait::async_trait]
impl Claims for KubeClaims {
    async fn held_by_other(
        &self,
        groups: &[GroupKey],
        me: &Holder,
    ) -> Result<Option<HeldBy>, Error> {
        for group in groups {
            if let Some(holder) = self.other_holder(group, me).await? {
                return Ok(Some(HeldBy {
                    group: group.clone(),
                    holder,
                }));
            }
        }
        Ok(None)
    }

    async fn claim(&self, groups: &[GroupKey], me: &Holder) -> Result<Option<HeldBy>, Error> {
        let mut sorted = groups.to_vec();
        sorted.sort();
        let mut created = Vec::new();
        for group in &sorted {
            match self.claim_one(group, me).await? {
                Ok(true) => created.push(group.clone()),
                Ok(false) => {}
                Err(holder) => {
                    for undo in &created {
                        if let Some((_, version)) = self.read(undo).await? {
                            self.delete(&undo.object_name(), &version).await?;
                        }
                    }
                    return Ok(Some(HeldBy {
                        group: group.clone(),
                        holder,
                    }));
                }
            }
        }
        Ok(None)
    }

    async fn release_all(&self, me: &Holder) -> Result<(), Error> {
        let selector: Vec<String> = HOLDER_LABELS
            .iter()
            .zip([&me.kind, &me.namespace, &me.name])
            .map(|(k, v)| format!("{k}={}", label_value(v)))
            .collect();
        let list = self
            .api
            .list(&ListParams::default().labels(&selector.join(",")))
            .await
            .map_err(|e| Error::kube(format!("list the claims of {me}"), e))?;
        for cm in list.items.iter().filter(|cm| &holder_of(cm) == me) {
            let name = cm.metadata.name.clone().unwrap_or_default();
            let version = cm.metadata.resource_version.clone().unwrap_or_default();
            self.delete(&name, &version).await?;
        }
        Ok(())
    }
}

mod memory;
pub use memory::MemoryClaims;

#[cfg(test)]
mod tests;
