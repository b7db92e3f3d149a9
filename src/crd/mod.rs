//! CRD layer: the four Kubernetes resource types (DESIGN §6), documented field by field — the
//! doc comments become `kubectl explain`. Types and schemas only: no I/O, no reconcile logic.
//! Depends on kube's derives, schemars, serde and the domain's shared shapes (plan, condition).
//!
//! `crds/` and `charts/sg-tightener/crds/` are generated from [`all_crds`] (`make crds`) and a
//! test fails when they drift.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub mod breakglass;
pub mod common;
pub mod compaction;
pub mod orgscan;
pub mod tightening;
pub mod validation;

pub use breakglass::{BreakGlassExtension, BreakGlassExtensionSpec, BreakGlassExtensionStatus};
pub use common::*;
pub use compaction::{
    SecurityGroupCompaction, SecurityGroupCompactionSpec, SecurityGroupCompactionStatus,
};
pub use orgscan::{OrgRiskScan, OrgRiskScanSpec, OrgRiskScanStatus};
pub use tightening::{
    SecurityGroupTightening, SecurityGroupTighteningSpec, SecurityGroupTighteningStatus,
};

/// API group of every kind.
pub const GROUP: &str = "sgtightener.io";
/// API version of every kind.
pub const VERSION: &str = "v1alpha1";
/// The `kubectl get <category>` name that lists every kind.
pub const CATEGORY: &str = "sg-tightener";

/// Every CRD, in a fixed order.
pub fn all_crds() -> Vec<CustomResourceDefinition> {
    vec![
        SecurityGroupTightening::crd(),
        BreakGlassExtension::crd(),
        OrgRiskScan::crd(),
        SecurityGroupCompaction::crd(),
    ]
}

/// One CRD as a YAML document (no leading `---`).
pub fn to_yaml(crd: &CustomResourceDefinition) -> String {
    serde_yaml::to_string(crd).expect("a CRD always serialises to YAML")
}

/// Every CRD as one multi-document YAML stream, as `sg-tightener crds` prints it.
pub fn all_to_yaml() -> String {
    all_crds()
        .iter()
        .map(|crd| format!("---\n{}", to_yaml(crd)))
        .collect()
}

#[cfg(test)]
mod tests;
