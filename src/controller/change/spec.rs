//! Controller layer (pure): the spec pieces every changing kind shares — the check of its
//! `spec.groups`, the AWS selector it becomes, and the hash of the plan inputs (the spec without
//! the fields that do not change the plan, plus the re-plan annotation).

use crate::aws::GroupSelector;
use crate::crd::GroupSelector as GroupsSpec;
use crate::domain::plan::hash_canonical;
use kube::ResourceExt;
use serde::Serialize;
use serde_json::{json, Value};

/// The annotation whose every change forces a re-plan.
pub const REPLAN_ANNOTATION: &str = "sgtightener.io/replan";

/// The hash of every plan input: `spec` without the `not_inputs` fields, plus `object`'s
/// [`REPLAN_ANNOTATION`].
pub fn inputs_hash(
    object: &impl ResourceExt,
    spec: &impl Serialize,
    not_inputs: &[&str],
) -> String {
    let mut spec = serde_json::to_value(spec).unwrap_or(Value::Null);
    if let Some(map) = spec.as_object_mut() {
        for field in not_inputs {
            map.remove(*field);
        }
    }
    let replan = object.annotations().get(REPLAN_ANNOTATION).cloned();
    hash_canonical(&json!({ "spec": spec, "replan": replan }))
}

/// `spec.groups` must select something (the CRD's CEL rule says the same at `kubectl apply`; a
/// client skipping validation could still send an empty one).
pub fn check_groups(groups: &GroupsSpec) -> Result<(), String> {
    if groups.ids.is_empty() && groups.tags.is_empty() && groups.vpc_ids.is_empty() {
        return Err("spec.groups: at least one of ids, tags, vpcIds must be set".into());
    }
    Ok(())
}

/// The AWS selector for `spec.groups`.
pub fn selector(groups: &GroupsSpec) -> GroupSelector {
    GroupSelector {
        ids: groups.ids.clone(),
        tags: groups.tags.clone(),
        vpc_ids: groups.vpc_ids.clone(),
    }
}
