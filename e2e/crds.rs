//! e2e: the CRDs on a real API server — installed from `crd::all_crds()`, Established, served,
//! re-applied without change, and documented where `kubectl explain` reads.

use crate::support::{cluster, eventually, tools, wait_for, Scenario};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::ResourceExt;
use std::time::Duration;

fn status_is_true(crd: &CustomResourceDefinition, type_: &str) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == type_ && c.status == "True"))
}

#[tokio::test]
async fn every_crd_is_established_with_accepted_names_and_served() {
    let s = Scenario::start("crds-established").await;
    let crds: Api<CustomResourceDefinition> = Api::all(s.client.clone());
    let expected = sg_tightener::crd::all_crds();
    assert_eq!(expected.len(), 4, "four kinds (DESIGN §6)");
    for crd in &expected {
        let name = crd.name_any();
        let stored = wait_for(&crds, &name, "be Established", |c| {
            status_is_true(c, "Established")
        })
        .await;
        assert!(
            status_is_true(&stored, "NamesAccepted"),
            "{name}: names not accepted"
        );
        let names = &crd.spec.names;
        let gvk = GroupVersionKind::gvk(&crd.spec.group, &crd.spec.versions[0].name, &names.kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, &names.plural);
        let list = Api::<DynamicObject>::namespaced_with(s.client.clone(), &s.namespace, &resource)
            .list(&ListParams::default())
            .await
            .unwrap_or_else(|e| panic!("{name} is Established but not served: {e}"));
        assert!(
            list.items.is_empty(),
            "a fresh namespace holds no {}",
            names.kind
        );
    }
}

#[tokio::test]
async fn reapplying_the_crds_changes_nothing() {
    let s = Scenario::start("crds-reapply").await;
    let crds: Api<CustomResourceDefinition> = Api::all(s.client.clone());
    let mut before = Vec::new();
    for crd in sg_tightener::crd::all_crds() {
        before.push(crds.get(&crd.name_any()).await.expect("installed CRD"));
    }
    let after = cluster::apply_crds(&s.client).await;
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(
            (old.metadata.generation, &old.spec),
            (new.metadata.generation, &new.spec),
            "{}: applying the same CRD again must be a no-op (generated CRDs are deterministic)",
            old.name_any()
        );
    }
}

#[tokio::test]
async fn the_stored_schema_carries_the_field_descriptions() {
    let s = Scenario::start("crds-descriptions").await;
    let crds: Api<CustomResourceDefinition> = Api::all(s.client.clone());
    let stored = crds
        .get("securitygrouptightenings.sgtightener.io")
        .await
        .expect("the SecurityGroupTightening CRD");
    let schema = serde_json::to_value(&stored.spec.versions[0].schema).expect("schema as JSON");
    let days = schema
        .pointer("/openAPIV3Schema/properties/spec/properties/evidence/properties/days")
        .unwrap_or_else(|| panic!("no spec.evidence.days in the stored schema"));
    let description = days["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("Days of flow logs"),
        "spec.evidence.days has no useful description: {days}"
    );
}

/// `kubectl explain` reads the OpenAPI document the API server publishes a little after the CRD
/// is Established: polled (bounded) until the field appears.
#[tokio::test]
async fn kubectl_explain_shows_the_field_documentation() {
    let _s = Scenario::start("crds-explain").await;
    let args = ["explain", "securitygrouptightenings.spec.evidence.days"];
    let what = "`kubectl explain` to document spec.evidence.days";
    let stdout = eventually(what, Duration::from_secs(60), || async {
        let output = tools::kubectl(&args, None).await;
        match output.code {
            Some(0) => Ok(output.stdout),
            _ => Err(output.transcript()),
        }
    })
    .await;
    for needle in [
        "KIND:       SecurityGroupTightening",
        "FIELD: days <integer>",
        "Days of flow logs",
    ] {
        assert!(
            stdout.contains(needle),
            "`kubectl explain` lacks {needle:?}:\n{stdout}"
        );
    }
}
