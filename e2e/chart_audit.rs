//! e2e: the operator, acting as the Helm chart's ServiceAccount with leader election, takes a
//! SecurityGroupTightening from plan to approval, apply, revert and deletion beside a resource of
//! every other kind; the API server's audit log then shows every call it made. Each call must be
//! granted by `controller::access` (so by the chart), and each grant must have been used, apart
//! from the few listed in `UNEXERCISED` with the reason this scenario cannot reach them.

use crate::support::cluster::wait_until_gone;
use crate::support::names::unique_name;
use crate::support::tightening::{approve_and_apply, patch_spec, wait_condition, World};
use crate::support::{env, observed_latest, sample, wait_for};
use kube::api::DeleteParams;
use kube::ResourceExt;
use serde_json::{json, Value};
use sg_tightener::controller::access;
use std::collections::BTreeSet;

type Call = (String, String, String);

/// Grants this scenario may not exercise, and why (a run may still use one: the Recorder's patch
/// depends on timing).
const UNEXERCISED: &[(&str, &str, &str, &str)] = &[
    (
        "events.k8s.io",
        "events",
        "patch",
        "kube's Recorder patches an event only when it repeats within minutes",
    ),
    (
        "sgtightener.io",
        "breakglassextensions",
        "patch",
        "the finalizer: set only with deletionPolicy: Revoke, and the sample retains",
    ),
    (
        "sgtightener.io",
        "securitygrouptightenings",
        "get",
        "a group claim's holder is read only when another resource holds the group",
    ),
    (
        "sgtightener.io",
        "securitygroupcompactions",
        "get",
        "a group claim's holder is read only when another resource holds the group",
    ),
];

/// `(group, resource[/subresource], verb)` of every request `user` made, from the audit log; a
/// server-side apply that created its object counts as `create` too (the API server checks both).
fn audited_calls(user: &str) -> (BTreeSet<Call>, Vec<String>) {
    let path = env().vars.get("SGT_AUDIT_LOG").cloned().unwrap_or_else(|| {
        panic!("this test environment has no audit log: restart it (make testenv-down testenv-up)")
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut calls = BTreeSet::new();
    let mut refused = Vec::new();
    for line in text.lines() {
        let event: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        if event["impersonatedUser"]["username"] != user {
            continue;
        }
        let object = &event["objectRef"];
        let mut resource = object["resource"].as_str().unwrap_or_default().to_owned();
        if let Some(sub) = object["subresource"].as_str() {
            resource = format!("{resource}/{sub}");
        }
        let group = object["apiGroup"].as_str().unwrap_or_default().to_owned();
        let verb = event["verb"].as_str().unwrap_or_default().to_owned();
        let code = event["responseStatus"]["code"].as_i64().unwrap_or_default();
        if code == 403 {
            refused.push(line.to_owned());
        }
        if verb == "patch" && code == 201 {
            calls.insert((group.clone(), resource.clone(), "create".to_owned()));
        }
        calls.insert((group, resource, verb));
    }
    (calls, refused)
}

#[tokio::test]
async fn the_operator_calls_exactly_what_the_chart_grants() {
    let w = World::new("chart-audit", |_| false).await;
    let mut others = Vec::new();
    for file in [
        "breakglassextension-explicit.yaml",
        "orgriskscan.yaml",
        "securitygroupcompaction.yaml",
    ] {
        others.push(
            w.s.create_yaml(&sample(file).text)
                .await
                .expect("a valid sample"),
        );
    }
    let lease = unique_name("audit-lease");
    let mut operator =
        w.s.operator_with(|b| b.leader_election(&w.s.namespace, &lease))
            .await;
    let user = operator
        .service_account
        .clone()
        .expect("the operator acts as the chart's ServiceAccount");

    let group = w.estate.group.clone();
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    approve_and_apply(&api, "payments").await;
    patch_spec(&api, "payments", json!({ "revert": true })).await;
    wait_condition(&api, "payments", "Reverted", "True", "").await;
    api.delete("payments", &DeleteParams::default())
        .await
        .expect("delete");
    wait_until_gone(&api, "payments").await;
    for object in &others {
        let other = w.s.api_for(object).await;
        wait_for(&other, &object.name_any(), "report Ready", |o| {
            observed_latest(o, "Ready")
        })
        .await;
    }
    assert!(operator.stop().success(), "{}", operator.log_tail());

    let (used, refused) = audited_calls(&user);
    assert!(
        refused.is_empty(),
        "the API server refused the operator:\n{}",
        refused.join("\n")
    );
    let granted: BTreeSet<Call> = access::watched()
        .iter()
        .chain(&access::lease(&lease))
        .chain(&access::claims())
        .flat_map(|rule| rule.triples())
        .collect();
    let ungranted: Vec<&Call> = used.difference(&granted).collect();
    assert!(
        ungranted.is_empty(),
        "calls the chart does not grant: {ungranted:?}"
    );
    let expected_unused: BTreeSet<Call> = UNEXERCISED
        .iter()
        .map(|(g, r, v, _)| ((*g).to_owned(), (*r).to_owned(), (*v).to_owned()))
        .collect();
    let unused: BTreeSet<Call> = granted.difference(&used).cloned().collect();
    let unexplained: BTreeSet<&Call> = unused.difference(&expected_unused).collect();
    assert!(
        unexplained.is_empty(),
        "grants this scenario did not use (remove them from controller::access and the chart, or \
         list them in UNEXERCISED with the reason): {unexplained:?}; calls seen: {used:?}"
    );
}
