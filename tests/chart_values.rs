//! Helm chart values: `values.schema.json` mirrors the operator's own configuration validation
//! (`ControllerConfig::validate`). For every leaf of the schema's `config`, each boundary number
//! and each string of a shared corpus is put into the default configuration alone; the schema
//! (checked as `helm lint` does, by the local validator in `support`) and the operator must agree,
//! apart from the cross-field rules listed in `OPERATOR_ONLY` that a JSON schema cannot express.

mod support;

use serde_json::{json, Value};
use sg_tightener::config::ControllerConfig;
use std::path::Path;

/// What only the operator checks: `(field, value)` the schema accepts and the operator refuses.
const OPERATOR_ONLY: &[(&str, &str, &str)] = &[
    (
        "tenancy[0].roleArnTemplate",
        "arn:aws:iam::123456789012:role/x",
        "a fixed role needs the rule to list exactly its account",
    ),
    (
        "breakGlass.defaultExpiresAfter",
        "0s",
        "a duration must be longer than 0s",
    ),
    (
        "breakGlass.maxExpiresAfter",
        "0s",
        "a duration must be longer than 0s",
    ),
    (
        "breakGlass.maxExpiresAfter",
        "15m",
        "defaultExpiresAfter (72h) must not exceed it",
    ),
    (
        "breakGlass.maxExpiresAfter",
        "500ms",
        "defaultExpiresAfter (72h) must not exceed it",
    ),
    (
        "breakGlass.maxExpiresAfter",
        "1h30m",
        "defaultExpiresAfter (72h) must not exceed it",
    ),
    (
        "breakGlass.defaultExpiresAfter",
        "1000h",
        "it must not exceed maxExpiresAfter (720h)",
    ),
    ("leaderElection.leaseDuration", "0s", "at least 3s"),
    ("leaderElection.leaseDuration", "500ms", "at least 3s"),
];

const STRINGS: &[&str] = &[
    "",
    "a",
    "sg-tightener",
    "Team_A",
    "team-*",
    "*",
    "x.y",
    "-bad",
    "bad-",
    "123456789012",
    "12345",
    "2222*",
    "arn:aws:iam::123456789012:role/x",
    "arn:{partition}:iam::{account}:role/sg",
    "role/x",
    "http://127.0.0.1:5000",
    "https://sts.example",
    "ftp://x",
    "72h",
    "1h30m",
    "15m",
    "500ms",
    "0s",
    "1000h",
    "3d",
    "1.5h",
    "h",
    "AuditRole",
    "has space",
    "0.0.0.0:8080",
    "127.0.0.1:9090",
    "localhost:80",
    "[::1]:8080",
];

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    First,
}

fn path_text(path: &[Step]) -> String {
    let mut text = String::new();
    for step in path {
        match step {
            Step::Key(key) if text.is_empty() => text.push_str(key),
            Step::Key(key) => text.push_str(&format!(".{key}")),
            Step::First => text.push_str("[0]"),
        }
    }
    text
}

/// Every leaf of `schema` with its path.
fn leaves(schema: &Value, path: Vec<Step>, out: &mut Vec<(Vec<Step>, Value)>) {
    match schema["type"].as_str() {
        Some("object") => {
            for (key, sub) in schema["properties"].as_object().into_iter().flatten() {
                let mut next = path.clone();
                next.push(Step::Key(key.clone()));
                leaves(sub, next, out);
            }
        }
        Some("array") => {
            let mut next = path;
            next.push(Step::First);
            leaves(&schema["items"], next, out);
        }
        _ => out.push((path, schema.clone())),
    }
}

/// `value` with the leaf at `path` set to `leaf` (an empty list gets one element).
fn with_leaf(mut value: Value, path: &[Step], leaf: Value) -> Value {
    let mut at = &mut value;
    for step in path {
        at = match step {
            Step::Key(key) => &mut at[key.as_str()],
            Step::First => {
                let list = at.as_array_mut().expect("an array in the default config");
                if list.is_empty() {
                    list.push(Value::Null);
                }
                &mut list[0]
            }
        };
    }
    *at = leaf;
    value
}

fn candidates(leaf: &Value) -> Vec<Value> {
    match leaf["type"].as_str() {
        Some("integer") => {
            let bound = |key: &str| leaf[key].as_i64();
            [bound("minimum"), bound("maximum")]
                .into_iter()
                .flatten()
                .flat_map(|b| [b - 1, b, b + 1])
                .filter(|n| *n >= 0)
                .map(|n| json!(n))
                .collect()
        }
        Some("string") => STRINGS.iter().map(|s| json!(s)).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn the_values_schema_and_the_operator_agree_on_every_configuration_field() {
    let root = support::repo_root();
    let text = std::fs::read_to_string(root.join("charts/sg-tightener/values.schema.json"))
        .expect("values.schema.json");
    let schema: Value = serde_json::from_str(&text).expect("the values schema is JSON");
    let config_schema = &schema["properties"]["config"];
    let defaults: Value = serde_yaml::from_str(
        &std::fs::read_to_string(root.join("config/controller.yaml")).unwrap(),
    )
    .unwrap();
    assert!(
        support::openapi_errors(config_schema, &defaults).is_empty(),
        "the defaults fail the schema"
    );
    let mut fields = Vec::new();
    leaves(config_schema, Vec::new(), &mut fields);
    let mut disagreements = Vec::new();
    let mut checked = 0;
    for (path, leaf) in &fields {
        for candidate in candidates(leaf) {
            let config = with_leaf(defaults.clone(), path, candidate.clone());
            let schema_ok = support::openapi_errors(config_schema, &config).is_empty();
            let yaml = serde_json::to_string(&config).unwrap();
            let operator = ControllerConfig::from_yaml(&yaml, Path::new("values"));
            let field = path_text(path);
            let shown = candidate
                .as_str()
                .map_or(candidate.to_string(), str::to_owned);
            let known = OPERATOR_ONLY
                .iter()
                .any(|(f, v, _)| *f == field && *v == shown);
            checked += 1;
            match (schema_ok, operator.is_ok()) {
                (true, false) if known => {}
                (ok, op) if ok == op && !known => {}
                (ok, _) => disagreements.push(format!(
                    "{field} = {shown:?}: the schema {} it, the operator {}{}",
                    if ok { "accepts" } else { "refuses" },
                    match &operator {
                        Ok(_) => "accepts it".to_owned(),
                        Err(e) => format!("refuses it ({e})"),
                    },
                    if known {
                        " (listed in OPERATOR_ONLY)"
                    } else {
                        ""
                    }
                )),
            }
        }
    }
    assert!(
        checked > 200,
        "only {checked} cases: did the schema lose its leaves?"
    );
    assert!(
        disagreements.is_empty(),
        "values.schema.json and src/config/validate.rs disagree:\n{}",
        disagreements.join("\n")
    );
}

#[test]
fn every_configuration_section_has_a_schema_and_unknown_keys_are_refused() {
    let root = support::repo_root();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("charts/sg-tightener/values.schema.json")).unwrap(),
    )
    .unwrap();
    let config_schema = &schema["properties"]["config"];
    let all = serde_json::to_value(ControllerConfig::default()).unwrap();
    for (section, value) in all.as_object().unwrap() {
        assert!(
            config_schema["properties"][section].is_object(),
            "the schema lacks config.{section}"
        );
        let mut config = all.clone();
        if value.is_object() {
            config[section]["typo"] = json!(1);
            assert!(
                !support::openapi_errors(config_schema, &config).is_empty(),
                "config.{section}.typo passes"
            );
        }
    }
    assert!(!support::openapi_errors(config_schema, &json!({"typo": 1})).is_empty());
}
