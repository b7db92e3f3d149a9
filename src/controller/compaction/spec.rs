//! Controller layer: what the compaction's spec means to the reconcile — the checks only the
//! controller can make (DESIGN I12), the plan inputs and their hash, the group selector and the
//! planner's options. All pure.

use crate::aws::GroupSelector;
use crate::controller::change;
use crate::crd::{SecurityGroupCompaction, SecurityGroupCompactionSpec};
use crate::domain::plan::CompactOptions;

/// Spec fields that are not plan inputs.
const NOT_INPUTS: [&str; 3] = ["approved", "revert", "deletionPolicy"];

/// The hash of every plan input: the spec without `approved`, `revert`, `deletionPolicy`, plus
/// the `sgtightener.io/replan` annotation.
pub fn inputs_hash(object: &SecurityGroupCompaction) -> String {
    change::spec::inputs_hash(object, &object.spec, &NOT_INPUTS)
}

/// Checks the schema cannot express (or that a client skipping validation could send); the
/// error names the field and its value.
pub fn validate(spec: &SecurityGroupCompactionSpec) -> Result<(), String> {
    change::spec::check_groups(&spec.groups)?;
    if !(0.0..=1.0).contains(&spec.ratio) {
        return Err(format!("spec.ratio: {} is not within 0–1", spec.ratio));
    }
    if spec.max_rules == 0 {
        return Err("spec.maxRules: 0 is below 1".into());
    }
    Ok(())
}

/// The AWS selector for `spec.groups`.
pub fn selector(spec: &SecurityGroupCompactionSpec) -> GroupSelector {
    change::spec::selector(&spec.groups)
}

/// The planner's options (call [`validate`] first).
pub fn options(spec: &SecurityGroupCompactionSpec) -> CompactOptions {
    CompactOptions {
        ratio: spec.ratio,
        max_rules: spec.max_rules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn object(spec: Value) -> SecurityGroupCompaction {
        serde_json::from_value(json!({
            "apiVersion": "sgtightener.io/v1alpha1", "kind": "SecurityGroupCompaction",
            "metadata": {"name": "web", "namespace": "payments"}, "spec": spec,
        }))
        .unwrap()
    }

    fn base() -> Value {
        json!({"region": "af-south-1", "groups": {"ids": ["sg-12345678"]}, "ratio": 0.5})
    }

    #[test]
    fn only_plan_inputs_and_the_replan_annotation_change_the_inputs_hash() {
        let plain = inputs_hash(&object(base()));
        let mut other = base();
        other["approved"] = json!("a".repeat(64));
        other["revert"] = json!(true);
        other["deletionPolicy"] = json!("Revert");
        assert_eq!(inputs_hash(&object(other)), plain);
        let mut ratio = base();
        ratio["ratio"] = json!(0.25);
        assert_ne!(inputs_hash(&object(ratio)), plain);
        let mut annotated = object(base());
        annotated.metadata.annotations =
            Some([(change::spec::REPLAN_ANNOTATION.to_string(), "x".to_string())].into());
        assert_ne!(inputs_hash(&annotated), plain);
    }

    #[test]
    fn controller_only_checks_name_the_field_and_value() {
        assert!(validate(&object(base()).spec).is_ok());
        let mut spec = object(base()).spec;
        spec.ratio = 1.5;
        assert_eq!(
            validate(&spec).unwrap_err(),
            "spec.ratio: 1.5 is not within 0–1"
        );
        let mut spec = object(base()).spec;
        spec.groups.ids.clear();
        assert!(validate(&spec).unwrap_err().starts_with("spec.groups"));
        let mut spec = object(base()).spec;
        spec.max_rules = 0;
        assert!(validate(&spec).unwrap_err().starts_with("spec.maxRules"));
    }
}
