//! Test support: a local stand-in for the API server's validation of a custom resource — the
//! OpenAPI checks our CRDs use (type, required, enum, pattern, ranges, lengths, item counts, unknown
//! fields) with the API server's wording, then defaulting and the CEL rules (kube-cel). The real API
//! server stays the final judge (e2e); this catches regressions in `cargo test`.

#![allow(dead_code)] // each test binary uses a different part

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::core::cel::Validator;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The `openAPIV3Schema` of a CRD's only version, as JSON.
pub fn schema_of(crd: &CustomResourceDefinition) -> Value {
    let schema = crd.spec.versions[0].schema.as_ref().expect("schema");
    serde_json::to_value(schema.open_api_v3_schema.as_ref().expect("openAPIV3Schema"))
        .expect("schema serialises")
}

/// Every error the API server would report for `object`, as `path: message` lines.
pub fn validate(schema: &Value, object: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    openapi(schema, object, "", &mut errors);
    if let Err(cel_errors) = Validator::new().validate(schema, object, None) {
        errors.extend(cel_errors.iter().map(|e| e.to_string()));
    }
    errors
}

/// The OpenAPI checks alone (no CEL): for schemas that have no `x-kubernetes-validations`, such
/// as the chart's values.schema.json.
pub fn openapi_errors(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    openapi(schema, value, "", &mut errors);
    errors
}

fn openapi(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
        return;
    }
    let field = if path.is_empty() { "<root>" } else { path };
    if let Some(ty) = schema.get("type").and_then(Value::as_str) {
        if !has_type(value, ty) {
            errors.push(format!(
                "{field}: Invalid value: {value}: {field} in body must be of type {ty}"
            ));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
            errors.push(format!(
                "{field}: Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ));
        }
    }
    match value {
        Value::String(s) => string_checks(schema, s, field, errors),
        Value::Number(n) => number_checks(schema, n.as_f64().unwrap_or(f64::NAN), field, errors),
        Value::Array(items) => array_checks(schema, items, path, errors),
        Value::Object(map) => object_checks(schema, map, path, errors),
        _ => {}
    }
}

fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

fn string_checks(schema: &Value, s: &str, field: &str, errors: &mut Vec<String>) {
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        if !matches_pattern(pattern, s) {
            errors.push(format!(
                "{field}: Invalid value: {s:?}: {field} in body should match '{pattern}'"
            ));
        }
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
        if s.len() as u64 > max {
            errors.push(format!(
                "{field}: Too long: may not be more than {max} bytes"
            ));
        }
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
        if (s.len() as u64) < min {
            errors.push(format!(
                "{field}: Invalid value: {s:?}: {field} in body should be at least {min} chars long"
            ));
        }
    }
}

/// Whether `s` matches `pattern`; each pattern is compiled once per thread.
fn matches_pattern(pattern: &str, s: &str) -> bool {
    thread_local! {
        static COMPILED: std::cell::RefCell<std::collections::HashMap<String, regex::Regex>> =
            Default::default();
    }
    COMPILED.with(|compiled| {
        let mut compiled = compiled.borrow_mut();
        let re = compiled
            .entry(pattern.to_owned())
            .or_insert_with(|| regex::Regex::new(pattern).expect("schema pattern compiles"));
        re.is_match(s)
    })
}

fn number_checks(schema: &Value, n: f64, field: &str, errors: &mut Vec<String>) {
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        if n > max {
            errors.push(format!(
                "{field}: Invalid value: {n}: {field} in body should be less than or equal to {max}"
            ));
        }
    }
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        if n < min {
            errors.push(format!(
                "{field}: Invalid value: {n}: {field} in body should be greater than or equal to {min}"
            ));
        }
    }
}

fn array_checks(schema: &Value, items: &[Value], path: &str, errors: &mut Vec<String>) {
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
        if items.len() as u64 > max {
            errors.push(format!(
                "{path}: Too many: {}: must have at most {max} items",
                items.len()
            ));
        }
    }
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
        if (items.len() as u64) < min {
            errors.push(format!(
                "{path}: Invalid value: {}: {path} in body should have at least {min} items",
                items.len()
            ));
        }
    }
    if schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("set") {
        for (i, item) in items.iter().enumerate() {
            if items[..i].contains(item) {
                errors.push(format!("{path}[{i}]: Duplicate value: {item}"));
            }
        }
    }
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            openapi(item_schema, item, &format!("{path}[{i}]"), errors);
        }
    }
}

fn object_checks(
    schema: &Value,
    map: &serde_json::Map<String, Value>,
    path: &str,
    errors: &mut Vec<String>,
) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    for key in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !map.contains_key(key) {
            errors.push(format!("{}: Required value", join(key)));
        }
    }
    if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64) {
        if map.len() as u64 > max {
            errors.push(format!(
                "{path}: Too many: {}: must have at most {max} items",
                map.len()
            ));
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    for (key, value) in map {
        let at_root_meta =
            path.is_empty() && matches!(key.as_str(), "apiVersion" | "kind" | "metadata");
        match (properties.and_then(|p| p.get(key)), additional) {
            (Some(sub), _) => openapi(sub, value, &join(key), errors),
            (None, Some(sub)) if sub.is_object() => openapi(sub, value, &join(key), errors),
            (None, _) if at_root_meta => {}
            (None, _) => errors.push(format!("unknown field \"{}\"", join(key))),
        }
    }
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `*.yaml` file directly inside `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}
