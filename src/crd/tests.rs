//! CRD layer tests: names, printer columns, documentation, defaults and the bounds that keep the
//! API server's CEL cost estimate in budget. Sample files are checked in `tests/samples.rs`.

use super::*;
use kube::core::cel::{analyze_rule, compile_schema, ScopeContext, Validator};
use serde_json::{json, Value};

fn schema(kind: &str) -> Value {
    let crd = all_crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .expect("kind exists");
    let version = &crd.spec.versions[0];
    let schema = version
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref());
    serde_json::to_value(schema.expect("schema")).expect("json")
}

const KINDS: [&str; 4] = [
    "SecurityGroupTightening",
    "BreakGlassExtension",
    "OrgRiskScan",
    "SecurityGroupCompaction",
];

/// Calls `visit(path, node)` on every schema node below `node`.
fn walk(node: &Value, path: &str, visit: &mut dyn FnMut(&str, &Value)) {
    visit(path, node);
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (key, sub) in props {
            walk(sub, &format!("{path}.{key}"), visit);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = node.get(key).filter(|s| s.is_object()) {
            walk(sub, &format!("{path}[]"), visit);
        }
    }
}

#[test]
fn four_namespaced_kinds_with_short_names_category_and_status() {
    let crds = all_crds();
    let names: Vec<_> = crds
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "securitygrouptightenings.sgtightener.io",
            "breakglassextensions.sgtightener.io",
            "orgriskscans.sgtightener.io",
            "securitygroupcompactions.sgtightener.io"
        ]
    );
    let shorts: Vec<_> = crds
        .iter()
        .map(|c| c.spec.names.short_names.clone().unwrap())
        .collect();
    assert_eq!(shorts, [["sgt"], ["bge"], ["ors"], ["sgc"]]);
    for crd in &crds {
        assert_eq!(crd.spec.group, GROUP);
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(
            crd.spec.names.categories.as_deref(),
            Some(&[CATEGORY.to_string()][..])
        );
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, VERSION);
        assert!(version
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some());
    }
}

#[test]
fn tightening_printer_columns_answer_where_is_it() {
    let crd = SecurityGroupTightening::crd();
    let columns = crd.spec.versions[0]
        .additional_printer_columns
        .clone()
        .unwrap();
    let default: Vec<_> = columns
        .iter()
        .filter(|c| c.priority.unwrap_or(0) == 0)
        .map(|c| (c.name.as_str(), c.json_path.as_str()))
        .collect();
    assert_eq!(
        default,
        [
            ("Phase", ".status.phase"),
            ("Reduction", ".status.plan.summary.reductionPercent"),
            ("Plan", ".status.planShortHash"),
            ("Ready", ".status.conditions[?(@.type==\"Ready\")].status"),
            ("Age", ".metadata.creationTimestamp"),
        ]
    );
}

#[test]
fn every_printer_column_points_at_a_field_of_the_schema() {
    for kind in KINDS {
        let schema = schema(kind);
        let crd = all_crds()
            .into_iter()
            .find(|c| c.spec.names.kind == kind)
            .unwrap();
        for column in crd.spec.versions[0]
            .additional_printer_columns
            .clone()
            .unwrap()
        {
            let path = column.json_path.split('[').next().unwrap();
            if path.starts_with(".metadata") {
                continue;
            }
            let mut node = &schema;
            for part in path.trim_start_matches('.').split('.') {
                node = node
                    .get("properties")
                    .and_then(|p| p.get(part))
                    .or_else(|| node.get("items").and_then(|i| i["properties"].get(part)))
                    .unwrap_or_else(|| {
                        panic!("{kind}: column {} has no field {part}", column.name)
                    });
            }
        }
    }
}

#[test]
fn every_field_is_documented_for_kubectl_explain() {
    for kind in KINDS {
        walk(&schema(kind), "", &mut |path, node| {
            let is_field = path.matches('.').count() >= 2 && !path.ends_with("[]");
            let documented = node
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| !d.is_empty());
            assert!(!is_field || documented, "{kind}{path} has no description");
        });
    }
}

#[test]
fn every_spec_string_list_and_map_is_bounded_so_cel_cost_stays_in_budget() {
    for kind in KINDS {
        let spec = &schema(kind)["properties"]["spec"];
        walk(spec, ".spec", &mut |path, node| {
            let bounded = match node.get("type").and_then(Value::as_str) {
                Some("string") => node.get("maxLength").is_some() || node.get("enum").is_some(),
                Some("array") => node.get("maxItems").is_some(),
                Some("object") if node.get("additionalProperties").is_some() => {
                    node.get("maxProperties").is_some()
                }
                _ => true,
            };
            assert!(bounded, "{kind}{path} is unbounded");
        });
    }
}

#[test]
fn every_cel_rule_compiles_in_crd_scope_within_the_cost_budget() {
    let mut rules = 0;
    for kind in KINDS {
        walk(&schema(kind), "", &mut |path, node| {
            let Some(list) = node
                .get("x-kubernetes-validations")
                .and_then(Value::as_array)
            else {
                return;
            };
            let compiled = compile_schema(node);
            for rule in list {
                let rule = rule["rule"].as_str().expect("rule text");
                assert!(rule.len() < 400, "{kind}{path}: rule too long: {rule}");
                let warnings = analyze_rule(rule, &compiled, ScopeContext::CrdValidation);
                assert!(warnings.is_empty(), "{kind}{path}: {rule}: {warnings:?}");
                rules += 1;
            }
            assert!(
                compiled.compilation_errors().is_empty(),
                "{kind}{path}: {:?}",
                compiled.compilation_errors()
            );
        });
    }
    assert!(
        rules >= 15,
        "expected the CEL rules of DESIGN §6, found {rules}"
    );
}

#[test]
fn conditions_are_a_list_map_keyed_by_type() {
    for kind in KINDS {
        let conditions = &schema(kind)["properties"]["status"]["properties"]["conditions"];
        assert_eq!(conditions["x-kubernetes-list-type"], "map", "{kind}");
        assert_eq!(
            conditions["x-kubernetes-list-map-keys"],
            json!(["type"]),
            "{kind}"
        );
        let required = conditions["items"]["required"].as_array().unwrap();
        assert!(
            required.contains(&json!("type")),
            "{kind}: a map key must be required"
        );
    }
}

/// What the API server stores for `object` (schema defaults applied), read back through serde.
fn as_stored<T: serde::de::DeserializeOwned>(kind: &str, object: &Value) -> T {
    let schema = schema(kind);
    assert!(Validator::new().validate(&schema, object, None).is_ok());
    serde_json::from_value(kube::core::cel::apply_defaults(&schema, object)).expect("deserialises")
}

fn minimal_tightening() -> Value {
    json!({
        "apiVersion": "sgtightener.io/v1alpha1", "kind": "SecurityGroupTightening",
        "metadata": {"name": "t"},
        "spec": {"region": "af-south-1", "groups": {"ids": ["sg-12345678"]},
                 "evidence": {"s3": {"bucket": "flow-logs"}}}
    })
}

#[test]
fn tightening_defaults_follow_design_and_agree_between_schema_and_serde() {
    let object = minimal_tightening();
    let by_serde: SecurityGroupTightening = serde_json::from_value(object.clone()).unwrap();
    let by_schema: SecurityGroupTightening = as_stored("SecurityGroupTightening", &object);
    assert_eq!(by_serde, by_schema);
    let spec = by_schema.spec;
    assert_eq!(spec.evidence.days, 90);
    assert_eq!(spec.collapse.tolerance, 0.30);
    assert_eq!(spec.collapse.max_rules, 60);
    assert_eq!(spec.collapse.prefix_threshold, 24);
    assert_eq!(
        spec.collapse.no_evidence,
        tightening::NoEvidencePolicy::Keep
    );
    assert_eq!(spec.evidence.attribution, tightening::Attribution::Group);
    assert!(spec.evidence.require_full_window);
    assert_eq!(spec.deletion_policy, DeletionPolicy::Orphan);
    assert_eq!(spec.diagnose.interval, "15m");
    assert_eq!(spec.diagnose.lookback_hours, 24);
    assert!(spec.diagnose.enabled && spec.approved.is_empty() && !spec.revert);
}

#[test]
fn breakglass_scan_and_compaction_defaults_agree_between_schema_and_serde() {
    let bge = json!({"apiVersion": "sgtightener.io/v1alpha1", "kind": "BreakGlassExtension",
        "metadata": {"name": "b"}, "spec": {"region": "af-south-1", "reason": "INC-1",
        "autoDiscover": {}, "fromRejectedFlows": {"s3": {"bucket": "flow-logs"}}}});
    let stored: BreakGlassExtension = as_stored("BreakGlassExtension", &bge);
    assert_eq!(stored, serde_json::from_value(bge).unwrap());
    assert_eq!(stored.spec.on_expiry, BreakGlassPolicy::Retain);
    assert_eq!(stored.spec.deletion_policy, BreakGlassPolicy::Retain);
    assert_eq!(stored.spec.auto_discover.unwrap().max_groups, 20);
    let flows = stored.spec.from_rejected_flows.unwrap();
    assert_eq!(
        (flows.hours, flows.tolerance, flows.summarise_aws_services),
        (24, 0.5, true)
    );

    let ors = json!({"apiVersion": "sgtightener.io/v1alpha1", "kind": "OrgRiskScan",
        "metadata": {"name": "o"}, "spec": {"accounts": ["111111111111"], "regions": ["eu-west-1"]}});
    let stored: OrgRiskScan = as_stored("OrgRiskScan", &ors);
    assert_eq!(stored, serde_json::from_value(ors).unwrap());
    assert_eq!(stored.spec.critical_ports, orgscan::DEFAULT_CRITICAL_PORTS);
    assert_eq!(
        (stored.spec.max_concurrency, stored.spec.interval.as_str()),
        (16, "24h")
    );

    let sgc = json!({"apiVersion": "sgtightener.io/v1alpha1", "kind": "SecurityGroupCompaction",
        "metadata": {"name": "c"}, "spec": {"region": "af-south-1", "groups": {"tags": {"a": "b"}}}});
    let stored: SecurityGroupCompaction = as_stored("SecurityGroupCompaction", &sgc);
    assert_eq!(stored, serde_json::from_value(sgc).unwrap());
    assert_eq!((stored.spec.ratio, stored.spec.max_rules), (0.0, 60));
    assert_eq!(stored.spec.deletion_policy, DeletionPolicy::Orphan);
}

#[test]
fn status_round_trips_with_plan_and_conditions() {
    let mut sgt: SecurityGroupTightening = serde_json::from_value(minimal_tightening()).unwrap();
    let hash = "ab".repeat(32);
    sgt.status = Some(SecurityGroupTighteningStatus {
        phase: PlanPhase::AwaitingApproval,
        plan_short_hash: Some(short_hash(&hash)),
        plan: Some(crate::domain::plan::Plan {
            hash,
            ..Default::default()
        }),
        conditions: vec![crate::domain::conditions::Condition {
            type_: "Ready".into(),
            status: "True".into(),
            reason: "PlanReady".into(),
            message: String::new(),
            observed_generation: Some(1),
            last_transition_time: "2025-01-01T00:00:00Z".into(),
        }],
        ..Default::default()
    });
    let value = serde_json::to_value(&sgt).unwrap();
    assert_eq!(value["status"]["phase"], "AwaitingApproval");
    assert_eq!(value["status"]["planShortHash"], "abababababab");
    assert_eq!(
        serde_json::from_value::<SecurityGroupTightening>(value).unwrap(),
        sgt
    );
    let status = sgt.status.unwrap();
    assert!(condition_is_true(&status.conditions, "Ready"));
    assert!(find_condition(&status.conditions, "Applied").is_none());
}

#[test]
fn the_crds_stream_has_four_documents() {
    let yaml = all_to_yaml();
    assert_eq!(yaml.matches("kind: CustomResourceDefinition").count(), 4);
    assert!(yaml.starts_with("---\n"));
}

#[test]
fn patterns_and_formats_are_ones_the_api_server_accepts() {
    // Go's regexp refuses repeat counts above 1000; the API server warns on unknown formats.
    let known = [
        "int32",
        "int64",
        "float",
        "double",
        "byte",
        "date",
        "date-time",
    ];
    for kind in KINDS {
        walk(&schema(kind), "", &mut |path, node| {
            if let Some(pattern) = node.get("pattern").and_then(Value::as_str) {
                for count in pattern
                    .split(['{', '}', ','])
                    .filter_map(|n| n.parse::<u32>().ok())
                {
                    assert!(
                        count <= 1000,
                        "{kind}{path}: repeat count {count} in {pattern}"
                    );
                }
            }
            if let Some(format) = node.get("format").and_then(Value::as_str) {
                assert!(known.contains(&format), "{kind}{path}: format {format}");
            }
        });
    }
}

#[test]
fn descriptions_are_unwrapped_for_kubectl_explain() {
    let evidence =
        &schema("SecurityGroupTightening")["properties"]["spec"]["properties"]["evidence"];
    let text = evidence["properties"]["additionalSources"]["description"]
        .as_str()
        .unwrap();
    assert!(text.contains("quarterly batch hosts"), "{text}");
    for kind in KINDS {
        walk(&schema(kind), "", &mut |path, node| {
            let text = node
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            assert!(
                !text.replace("\n\n", "").contains('\n'),
                "{kind}{path}: {text:?}"
            );
        });
    }
}
