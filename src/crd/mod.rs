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

pub use breakglass::{
    BreakGlassExtension, BreakGlassExtensionSpec, BreakGlassExtensionStatus, BreakGlassGroupState,
    BreakGlassGroupStatus, BreakGlassPhase,
};
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

/// Every CRD, in a fixed order, as installed. Use this rather than `Kind::crd()`: it also passes
/// each CRD through [`polish`].
pub fn all_crds() -> Vec<CustomResourceDefinition> {
    [
        SecurityGroupTightening::crd(),
        BreakGlassExtension::crd(),
        OrgRiskScan::crd(),
        SecurityGroupCompaction::crd(),
    ]
    .into_iter()
    .map(polish)
    .collect()
}

/// Integer formats schemars emits for unsigned Rust types; the API server warns
/// `unrecognized format "uint32"` on each and ignores them (the ranges are in `minimum`/`maximum`).
const UNKNOWN_FORMATS: [&str; 4] = ["uint8", "uint16", "uint32", "uint64"];

/// Drops the `format`s the API server does not recognise, and unwraps the line breaks that doc
/// comments put into descriptions (kept: blank lines between paragraphs), so `kubectl explain`
/// wraps the text itself.
pub fn polish(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                let unknown = map
                    .get("format")
                    .and_then(|f| f.as_str())
                    .is_some_and(|f| UNKNOWN_FORMATS.contains(&f));
                if unknown {
                    map.remove("format");
                }
                if let Some(serde_json::Value::String(text)) = map.get_mut("description") {
                    *text = unwrap_lines(text);
                }
                map.values_mut().for_each(walk);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(&crd).expect("a CRD serialises to JSON");
    walk(&mut value);
    serde_json::from_value(value).expect("a polished CRD is still a CRD")
}

/// Joins the lines of each paragraph with a space; paragraphs stay separated by a blank line.
fn unwrap_lines(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            paragraph
                .split('\n')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
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
