//! Controller layer: which namespaces the operator sees — every namespace, or only those of
//! `watchNamespaces` (then the Helm chart grants access through Roles there and nothing
//! cluster-wide, so every watch and list must stay inside them).

use kube::api::{Api, ListParams};
use kube::core::NamespaceResourceScope;
use kube::Resource;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// `Api::all` when `namespaces` is empty, else one `Api::namespaced` per namespace.
pub fn apis<K>(client: &kube::Client, namespaces: &[String]) -> Vec<Api<K>>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
{
    if namespaces.is_empty() {
        return vec![Api::all(client.clone())];
    }
    namespaces
        .iter()
        .map(|namespace| Api::namespaced(client.clone(), namespace))
        .collect()
}

/// Every object of `K` the operator sees: one list per watched namespace, or one over all.
pub async fn list<K>(client: &kube::Client, namespaces: &[String]) -> Result<Vec<K>, kube::Error>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + Debug
        + DeserializeOwned,
{
    let mut items = Vec::new();
    for api in apis::<K>(client, namespaces) {
        items.extend(api.list(&ListParams::default()).await?.items);
    }
    Ok(items)
}
