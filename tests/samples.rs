//! CRD layer tests: every sample in `config/samples/` against the generated CRDs. Valid samples
//! deserialise into their Rust type and pass the schema and CEL rules; each `invalid-*.yaml` is
//! rejected with the message its first line (`# expect-error: …`) announces, on the field its
//! second line (`# expect-field: …`) names — what the e2e suite asserts against the real API server.

mod support;

use serde_json::Value;
use sg_tightener::crd::{self, BreakGlassExtension, OrgRiskScan};
use sg_tightener::crd::{SecurityGroupCompaction, SecurityGroupTightening};
use std::path::Path;

const EXPECT_PREFIX: &str = "# expect-error: ";
const FIELD_PREFIX: &str = "# expect-field: ";

fn samples_dir() -> std::path::PathBuf {
    support::repo_root().join("config/samples")
}

fn load(path: &Path) -> (String, Value) {
    let text = std::fs::read_to_string(path).expect("sample readable");
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
    let json = serde_json::to_value(yaml).expect("YAML maps to JSON");
    (text, json)
}

/// The schema of the CRD whose kind the object names.
fn schema_for(object: &Value, path: &Path) -> Value {
    let kind = object["kind"].as_str().expect("sample has a kind");
    assert_eq!(
        object["apiVersion"],
        "sgtightener.io/v1alpha1",
        "{}: wrong apiVersion",
        path.display()
    );
    let crd = crd::all_crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("{}: no CRD for kind {kind}", path.display()));
    support::schema_of(&crd)
}

/// Deserialises into the sample's Rust type (serde checks: required fields, enums, types).
fn deserialise(object: &Value) -> Result<(), String> {
    let object = object.clone();
    let result = match object["kind"].as_str() {
        Some("SecurityGroupTightening") => {
            serde_json::from_value::<SecurityGroupTightening>(object).map(drop)
        }
        Some("BreakGlassExtension") => {
            serde_json::from_value::<BreakGlassExtension>(object).map(drop)
        }
        Some("OrgRiskScan") => serde_json::from_value::<OrgRiskScan>(object).map(drop),
        Some("SecurityGroupCompaction") => {
            serde_json::from_value::<SecurityGroupCompaction>(object).map(drop)
        }
        other => panic!("unknown kind {other:?}"),
    };
    result.map_err(|e| e.to_string())
}

fn is_invalid_sample(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("invalid-"))
}

#[test]
fn every_valid_sample_deserialises_and_passes_schema_and_cel() {
    let mut checked = 0;
    for path in support::yaml_files(&samples_dir()) {
        if is_invalid_sample(&path) {
            continue;
        }
        let (_, object) = load(&path);
        deserialise(&object).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let errors = support::validate(&schema_for(&object, &path), &object);
        assert!(
            errors.is_empty(),
            "{} is rejected:\n{}",
            path.display(),
            errors.join("\n")
        );
        checked += 1;
    }
    assert!(
        checked >= 5,
        "expected a valid sample per kind, found {checked}"
    );
}

#[test]
fn every_kind_has_a_valid_sample() {
    let kinds: Vec<String> = support::yaml_files(&samples_dir())
        .iter()
        .filter(|p| !is_invalid_sample(p))
        .map(|p| load(p).1["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    for crd in crd::all_crds() {
        assert!(
            kinds.contains(&crd.spec.names.kind),
            "no valid sample of {}",
            crd.spec.names.kind
        );
    }
}

#[test]
fn every_invalid_sample_is_rejected_with_its_announced_message() {
    let mut checked = 0;
    for path in support::yaml_files(&samples_dir()) {
        if !is_invalid_sample(&path) {
            continue;
        }
        let (text, object) = load(&path);
        let mut header = text.lines();
        let expected = header
            .next()
            .and_then(|line| line.strip_prefix(EXPECT_PREFIX))
            .unwrap_or_else(|| {
                panic!(
                    "{}: first line must be `{EXPECT_PREFIX}<substring>`",
                    path.display()
                )
            });
        let field = header
            .next()
            .and_then(|line| line.strip_prefix(FIELD_PREFIX))
            .unwrap_or_else(|| {
                panic!(
                    "{}: second line must be `{FIELD_PREFIX}<path>`",
                    path.display()
                )
            });
        let errors = support::validate(&schema_for(&object, &path), &object);
        assert!(
            errors
                .iter()
                .any(|e| e.contains(expected) && e.starts_with(&format!("{field}: "))),
            "{}: expected an error on {field} containing {expected:?}, got:\n{}",
            path.display(),
            errors.join("\n")
        );
        assert_eq!(
            errors.len(),
            1,
            "{}: an invalid sample should break exactly one rule, got:\n{}",
            path.display(),
            errors.join("\n")
        );
        checked += 1;
    }
    assert!(checked >= 6, "expected invalid samples, found {checked}");
}
