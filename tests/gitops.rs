//! GitOps kit (`config/gitops/`): the Argo CD health check and actions, run by a real Lua 5.1
//! interpreter (Argo CD's gopher-lua speaks 5.1) against objects of all four kinds whose status is
//! built from the operator's own types; and the argocd-cm patch that embeds them, kept in sync
//! (`SG_TIGHTENER_WRITE_GITOPS=1 cargo test --test gitops` rewrites it).

mod support;

use mlua::{Lua, Table, Value as LuaValue};
use serde_json::{json, Value};
use sg_tightener::crd::{
    BreakGlassExtension, OrgRiskScan, SecurityGroupCompaction, SecurityGroupTightening,
};
use sg_tightener::domain::conditions::reasons;

fn gitops(relative: &str) -> String {
    let path = support::repo_root().join("config/gitops").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn to_lua(lua: &Lua, value: &Value) -> LuaValue {
    match value {
        Value::Null => LuaValue::Nil,
        Value::Bool(b) => LuaValue::Boolean(*b),
        Value::Number(n) => n
            .as_i64()
            .map(|i| LuaValue::Integer(i as _))
            .unwrap_or_else(|| LuaValue::Number(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => LuaValue::String(lua.create_string(s).unwrap()),
        Value::Array(items) => {
            let table = lua.create_table().unwrap();
            for (i, item) in items.iter().enumerate() {
                table.set(i + 1, to_lua(lua, item)).unwrap();
            }
            LuaValue::Table(table)
        }
        Value::Object(map) => {
            let table = lua.create_table().unwrap();
            for (key, item) in map {
                table.set(key.as_str(), to_lua(lua, item)).unwrap();
            }
            LuaValue::Table(table)
        }
    }
}

/// A Lua value as JSON (a table with keys 1..n is an array).
fn from_lua(value: LuaValue) -> Value {
    match value {
        LuaValue::Boolean(b) => json!(b),
        LuaValue::Integer(i) => json!(i),
        LuaValue::Number(n) => json!(n),
        LuaValue::String(s) => json!(s.to_str().unwrap().to_string()),
        LuaValue::Table(table) => table_to_json(&table),
        _ => Value::Null,
    }
}

fn table_to_json(table: &Table) -> Value {
    let length = table.raw_len();
    if length > 0 {
        let items = (1..=length).map(|i| from_lua(table.raw_get(i).unwrap()));
        return Value::Array(items.collect());
    }
    let map = table.pairs::<String, LuaValue>().map(|pair| {
        let (key, value) = pair.unwrap();
        (key, from_lua(value))
    });
    Value::Object(map.collect())
}

/// Runs `script` with the global `obj`; returns what it returns as JSON (or the Lua error).
fn run(script: &str, object: &Value) -> Result<Value, String> {
    let lua = Lua::new();
    lua.globals().set("obj", to_lua(&lua, object)).unwrap();
    let result: Table = lua.load(script).eval().map_err(|e| e.to_string())?;
    Ok(table_to_json(&result))
}

/// `(status, message)` of the health check for `object`.
fn health(object: &Value) -> (String, String) {
    let result = run(&gitops("argocd/health.lua"), object).expect("health.lua runs");
    let get = |key: &str| result[key].as_str().unwrap_or_default().to_owned();
    (get("status"), get("message"))
}

/// The sample of `file` as its typed kind with `status`, back to JSON: a status field the
/// operator's types do not have is dropped here, so the Lua sees only what the operator writes.
fn object<K: serde::de::DeserializeOwned + serde::Serialize>(
    file: &str,
    generation: i64,
    status: Value,
) -> Value {
    let path = support::repo_root().join("config/samples").join(file);
    let mut value: Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    value["metadata"]["generation"] = json!(generation);
    if !status.is_null() {
        value["status"] = status;
    }
    let typed: K = serde_json::from_value(value).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::to_value(typed).unwrap()
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message,
           "observedGeneration": 1, "lastTransitionTime": "2026-01-01T00:00:00Z"})
}

fn ready(status: &str, reason: &str, message: &str) -> Value {
    condition("Ready", status, reason, message)
}

const HASH: &str = "3f9a0c27b1e4d5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4";
const APPROVE: &str = "plan 3f9a0c27b1e4 awaits approval: approve with: kubectl -n payments patch sgt payments-af-south-1 --type merge -p '{\"spec\":{\"approved\":\"3f9a…\"}}'";

fn plan() -> Value {
    json!({"hash": HASH, "snapshotHash": "s", "inputsHash": "i", "generatedAt": "2026-01-01T00:00:00Z",
           "summary": {"groups": 1, "rulesRevoked": 1, "rulesAuthorised": 2, "addressesBefore": 65536,
                       "addressesAfter": 64, "reductionPercent": 99.9},
           "groups": []})
}

fn applied(reverted: bool) -> Value {
    let mut record = json!({"planHash": HASH, "startedAt": "2026-01-02T00:00:00Z",
                            "finishedAt": "2026-01-02T00:00:05Z", "manifestConfigMap": "sgt-x", "groups": []});
    if reverted {
        record["revertedAt"] = json!("2026-01-03T00:00:00Z");
    }
    record
}

fn sgt(status: Value) -> Value {
    object::<SecurityGroupTightening>("securitygrouptightening.yaml", 1, status)
}

fn sgc(status: Value) -> Value {
    object::<SecurityGroupCompaction>("securitygroupcompaction.yaml", 1, status)
}

#[test]
fn tightenings_and_compactions_awaiting_approval_are_suspended_with_the_approve_step() {
    for object in [
        sgt(
            json!({"observedGeneration": 1, "phase": "AwaitingApproval", "plan": plan(),
                   "conditions": [ready("True", reasons::AWAITING_APPROVAL, APPROVE)]}),
        ),
        sgc(
            json!({"observedGeneration": 1, "phase": "AwaitingApproval", "plan": plan(),
                   "conditions": [ready("True", reasons::AWAITING_APPROVAL, APPROVE)]}),
        ),
    ] {
        let (status, message) = health(&object);
        assert_eq!(status, "Suspended", "{message}");
        assert!(
            message.contains("kubectl -n payments patch sgt") && message.contains("approve-plan"),
            "{message}"
        );
    }
}

#[test]
fn every_phase_of_every_kind_maps_to_its_health() {
    let cases = [
        ("no status yet", sgt(Value::Null), "Progressing"),
        (
            "an edit not yet observed",
            object::<SecurityGroupTightening>(
                "securitygrouptightening.yaml",
                2,
                json!({"observedGeneration": 1, "phase": "Applied", "conditions": [ready("True", reasons::APPLIED, "plan applied")]}),
            ),
            "Progressing",
        ),
        (
            "applying",
            sgt(
                json!({"observedGeneration": 1, "phase": "Applying", "plan": plan(), "applied": applied(false),
            "conditions": [ready("False", reasons::APPLY_STARTED, "applying"), condition("Reconciling", "True", reasons::APPLY_STARTED, "applying")]}),
            ),
            "Progressing",
        ),
        (
            "applied",
            sgt(
                json!({"observedGeneration": 1, "phase": "Applied", "plan": plan(), "applied": applied(false),
            "conditions": [ready("True", reasons::APPLIED, "plan 3f9a0c27b1e4 is applied")]}),
            ),
            "Healthy",
        ),
        (
            "reverted",
            sgt(
                json!({"observedGeneration": 1, "phase": "Reverted", "plan": plan(), "applied": applied(true),
            "conditions": [ready("True", reasons::REVERTED, "restored")]}),
            ),
            "Healthy",
        ),
        (
            "halted",
            sgt(
                json!({"observedGeneration": 1, "phase": "Halted", "plan": plan(), "applied": applied(false),
            "conditions": [ready("False", reasons::APPLY_HALTED, "set spec.revert: true"), condition("Stalled", "True", reasons::APPLY_HALTED, "set spec.revert: true")]}),
            ),
            "Degraded",
        ),
        (
            "failed",
            sgt(json!({"observedGeneration": 1, "phase": "Failed",
            "conditions": [ready("False", reasons::GROUPS_NOT_FOUND, "sg-1 does not exist")]})),
            "Degraded",
        ),
        (
            "a stale approval",
            sgt(
                json!({"observedGeneration": 1, "phase": "AwaitingApproval", "plan": plan(),
            "conditions": [ready("False", reasons::PLAN_STALE, "re-approve"), condition("Stalled", "True", reasons::PLAN_STALE, "re-approve")]}),
            ),
            "Degraded",
        ),
        (
            "nothing to tighten",
            sgt(
                json!({"observedGeneration": 1, "phase": "AwaitingApproval", "plan": plan(),
            "conditions": [ready("True", reasons::PLAN_READY, "nothing to approve")]}),
            ),
            "Healthy",
        ),
        (
            "a transient AWS error",
            sgt(json!({"observedGeneration": 1, "phase": "Analysing",
            "conditions": [ready("False", reasons::THROTTLED, "backing off"), condition("Reconciling", "True", reasons::THROTTLED, "backing off")]})),
            "Progressing",
        ),
        (
            "break-glass applied",
            object::<BreakGlassExtension>(
                "breakglassextension-explicit.yaml",
                1,
                json!({"observedGeneration": 1, "phase": "Applied", "conditions": [ready("True", reasons::BREAK_GLASS_APPLIED, "2 rules added")]}),
            ),
            "Healthy",
        ),
        (
            "break-glass partly applied",
            object::<BreakGlassExtension>(
                "breakglassextension-explicit.yaml",
                1,
                json!({"observedGeneration": 1, "phase": "PartiallyApplied", "conditions": [ready("True", reasons::PARTIALLY_APPLIED, "sg-2 over budget")]}),
            ),
            "Degraded",
        ),
        (
            "break-glass expired",
            object::<BreakGlassExtension>(
                "breakglassextension-explicit.yaml",
                1,
                json!({"observedGeneration": 1, "phase": "Expired", "conditions": [ready("True", reasons::BREAK_GLASS_EXPIRED, "expired, retained")]}),
            ),
            "Healthy",
        ),
        (
            "a scan running",
            object::<OrgRiskScan>(
                "orgriskscan.yaml",
                1,
                json!({"observedGeneration": 1, "phase": "Scanning", "conditions": [ready("False", reasons::PROGRESSING, "3/10 accounts")]}),
            ),
            "Progressing",
        ),
        (
            "a scan done",
            object::<OrgRiskScan>(
                "orgriskscan.yaml",
                1,
                json!({"observedGeneration": 1, "phase": "Complete", "conditions": [ready("True", reasons::SCAN_COMPLETE, "10 accounts")]}),
            ),
            "Healthy",
        ),
        (
            "a kind not implemented yet",
            object::<OrgRiskScan>(
                "orgriskscan.yaml",
                1,
                json!({"observedGeneration": 1, "conditions": [ready("Unknown", reasons::NOT_IMPLEMENTED, "soon")]}),
            ),
            "Progressing",
        ),
        (
            "a compaction halted",
            sgc(
                json!({"observedGeneration": 1, "phase": "Halted", "plan": plan(), "applied": applied(false),
            "conditions": [ready("False", reasons::APPLY_HALTED, "revert")]}),
            ),
            "Degraded",
        ),
    ];
    for (what, object, expected) in cases {
        let (status, message) = health(&object);
        assert_eq!(status, expected, "{what}: {message}");
        assert!(!message.is_empty(), "{what}: no message");
    }
}

fn action(name: &str) -> String {
    gitops(&format!("argocd/actions/{name}.lua"))
}

fn discovered(object: &Value) -> Vec<(String, bool)> {
    let actions = run(&action("discovery"), object).expect("discovery.lua runs");
    let mut found: Vec<(String, bool)> = actions
        .as_object()
        .expect("a table of actions")
        .iter()
        .map(|(name, options)| {
            (
                name.clone(),
                options["disabled"].as_bool().expect("disabled"),
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn approve_plan_copies_the_plan_hash_into_spec_approved() {
    let awaiting = sgt(
        json!({"observedGeneration": 1, "phase": "AwaitingApproval", "plan": plan(),
                               "conditions": [ready("True", reasons::AWAITING_APPROVAL, APPROVE)]}),
    );
    assert_eq!(
        discovered(&awaiting),
        [("approve-plan".into(), false), ("revert".into(), true)]
    );
    let approved = run(&action("approve-plan"), &awaiting).expect("approve-plan runs");
    assert_eq!(approved["spec"]["approved"], HASH);
    assert_eq!(approved["spec"]["region"], "af-south-1", "the rest stays");
    let mut done = awaiting.clone();
    done["spec"]["approved"] = json!(HASH);
    assert_eq!(
        discovered(&done)[0],
        ("approve-plan".into(), true),
        "already approved"
    );
    let error = run(&action("approve-plan"), &sgt(Value::Null)).unwrap_err();
    assert!(error.contains("no plan to approve"), "{error}");
}

#[test]
fn revert_is_offered_while_an_apply_is_in_effect() {
    let in_effect = sgc(
        json!({"observedGeneration": 1, "phase": "Applied", "plan": plan(), "applied": applied(false),
                               "conditions": [ready("True", reasons::APPLIED, "applied")]}),
    );
    assert_eq!(
        discovered(&in_effect),
        [("approve-plan".into(), true), ("revert".into(), false)]
    );
    let reverting = run(&action("revert"), &in_effect).expect("revert runs");
    assert_eq!(reverting["spec"]["revert"], true);
    let reverted = sgc(
        json!({"observedGeneration": 1, "phase": "Reverted", "plan": plan(), "applied": applied(true),
                              "conditions": [ready("True", reasons::REVERTED, "restored")]}),
    );
    assert_eq!(discovered(&reverted)[1], ("revert".into(), true));
    let error = run(&action("revert"), &sgt(Value::Null)).unwrap_err();
    assert!(error.contains("nothing to revert"), "{error}");
}

/// The argocd-cm patch: the health check for the four kinds, the actions for the two with plans.
fn argocd_cm() -> String {
    let indent = |text: &str, by: usize| -> String {
        text.lines()
            .map(|l| {
                if l.is_empty() {
                    "\n".to_owned()
                } else {
                    format!("{}{l}\n", " ".repeat(by))
                }
            })
            .collect()
    };
    let mut out = String::from(
        "# Argo CD resource customizations for sg-tightener: health of the four kinds, and the\n\
         # approve-plan and revert actions of the two kinds with plans. Generated from the .lua files\n\
         # beside it (tests/gitops.rs keeps it in sync; SG_TIGHTENER_WRITE_GITOPS=1 rewrites it).\n\
         #   kubectl -n argocd patch configmap argocd-cm --type merge --patch-file argocd-cm-patch.yaml\n\
         data:\n",
    );
    for kind in [
        "SecurityGroupTightening",
        "BreakGlassExtension",
        "OrgRiskScan",
        "SecurityGroupCompaction",
    ] {
        out.push_str(&format!(
            "  resource.customizations.health.sgtightener.io_{kind}: |\n"
        ));
        out.push_str(&indent(&gitops("argocd/health.lua"), 4));
    }
    for kind in ["SecurityGroupTightening", "SecurityGroupCompaction"] {
        out.push_str(&format!(
            "  resource.customizations.actions.sgtightener.io_{kind}: |\n"
        ));
        out.push_str("    discovery.lua: |\n");
        out.push_str(&indent(&action("discovery"), 6));
        out.push_str("    definitions:\n");
        for name in ["approve-plan", "revert"] {
            out.push_str(&format!("      - name: {name}\n        action.lua: |\n"));
            out.push_str(&indent(&action(name), 10));
        }
    }
    out
}

#[test]
fn the_argocd_cm_patch_embeds_the_lua_files() {
    let path = support::repo_root().join("config/gitops/argocd/argocd-cm-patch.yaml");
    let wanted = argocd_cm();
    if std::env::var_os("SG_TIGHTENER_WRITE_GITOPS").is_some() {
        std::fs::write(&path, &wanted).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == wanted,
        "{} is out of date: SG_TIGHTENER_WRITE_GITOPS=1 cargo test --test gitops",
        path.display()
    );
    let parsed: serde_yaml::Value = serde_yaml::from_str(&have).expect("the patch is YAML");
    let health = parsed["data"]["resource.customizations.health.sgtightener.io_OrgRiskScan"]
        .as_str()
        .unwrap();
    assert_eq!(health, gitops("argocd/health.lua"));
    let actions: serde_yaml::Value = serde_yaml::from_str(
        parsed["data"]["resource.customizations.actions.sgtightener.io_SecurityGroupTightening"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        actions["definitions"][0]["action.lua"].as_str().unwrap(),
        action("approve-plan")
    );
}

#[test]
fn the_flux_example_checks_the_health_of_all_four_kinds() {
    let kustomization: serde_yaml::Value =
        serde_yaml::from_str(&gitops("flux/kustomization.yaml")).expect("YAML");
    let checks = kustomization["spec"]["healthCheckExprs"]
        .as_sequence()
        .expect("healthCheckExprs");
    let kinds: Vec<&str> = checks.iter().filter_map(|c| c["kind"].as_str()).collect();
    for crd in sg_tightener::crd::all_crds() {
        assert!(
            kinds.contains(&crd.spec.names.kind.as_str()),
            "{} missing",
            crd.spec.names.kind
        );
        let group_version = format!("{}/{}", crd.spec.group, crd.spec.versions[0].name);
        assert!(checks
            .iter()
            .all(|c| c["apiVersion"] == group_version.as_str()));
    }
    for check in checks {
        let current = check["current"].as_str().expect("current");
        assert!(
            current.contains("c.type == 'Ready' && c.status == 'True'"),
            "{current}"
        );
        let progress = check["inProgress"].as_str().expect("inProgress");
        assert!(
            progress.contains("status.observedGeneration != metadata.generation"),
            "{progress}"
        );
    }
}
