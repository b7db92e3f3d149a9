//! e2e: a SecurityGroupTightening on the article's estate, end to end — the plan appears in
//! status and changes nothing, an approval by hash applies exactly the plan, a revert restores
//! every rule with its description (DESIGN §6.1, issue 4).

use crate::support::estate::{self, UNTOUCHABLE_CIDRS};
use crate::support::flowlogs::SOURCES;
use crate::support::tightening::{
    parse_rule, patch_spec, plan, plan_rules, timing, wait_condition, wait_plan, World,
};
use crate::support::{condition, eventually, to_json, DEFAULT_TIMEOUT};
use ipnet::{IpNet, Ipv4Net};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Instant;

/// Checks the plan of the payments group against the flow logs and the estate.
pub(crate) fn check_plan(plan: &serde_json::Value, group: &str) {
    let revoke = plan_rules(plan, group, "revoke");
    let authorise = plan_rules(plan, group, "authorise");
    assert_eq!(
        revoke.iter().cloned().collect::<BTreeSet<_>>(),
        estate::ELIGIBLE.iter().map(|r| r.to_string()).collect(),
        "the three /16 rules are revoked, nothing else: {plan:#}"
    );
    for cidr in UNTOUCHABLE_CIDRS {
        assert!(
            !revoke.iter().any(|r| r.ends_with(&format!(" {cidr}"))),
            "{cidr} must not be revoked: {revoke:?}"
        );
    }
    let blocks: Vec<(String, IpNet)> = authorise.iter().map(|r| parse_rule(r)).collect();
    for (base, count, port) in SOURCES {
        let first = std::net::Ipv4Addr::from(base);
        let last = std::net::Ipv4Addr::from(u32::from_be_bytes(base) + count - 1);
        let covered = |ip: std::net::Ipv4Addr| {
            blocks.iter().any(|(p, net)| {
                *p == format!("tcp:{port}") && net.contains(&IpNet::V4(Ipv4Net::from(ip)))
            })
        };
        assert!(
            covered(first) && covered(last),
            "observed source {first}..{last} on {port} is not covered by {authorise:?}"
        );
    }
    for (ports, net) in &blocks {
        assert!(
            revoke
                .iter()
                .map(|r| parse_rule(r))
                .any(|(p, wide)| p == *ports && wide.contains(net)),
            "authorised {ports} {net} lies outside every revoked rule {revoke:?}"
        );
    }
    let summary = &plan["summary"];
    assert_eq!(summary["addressesBefore"], 196_608, "{summary}");
    let after = summary["addressesAfter"].as_u64().expect("addressesAfter");
    assert!(after < 100, "addressesAfter {after} (summary {summary})");
}

#[tokio::test]
async fn the_plan_appears_in_status_and_changes_nothing_in_aws() {
    let w = World::new("sgt-plan", |_| false).await;
    let group = w.estate.group.clone();
    let before = estate::rules_with_descriptions(&w.account, &group).await;
    let operator = w.s.operator().await;
    let created = Instant::now();
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    let planned = wait_plan(&api, "payments").await;
    timing("resource created → plan in status", created);
    let status = &to_json(&planned)["status"];
    assert_eq!(status["phase"], "AwaitingApproval", "{status:#}");
    let ready = condition(&planned, "Ready").expect("a Ready condition");
    assert_eq!(
        (&ready["status"], &ready["reason"]),
        (&json!("True"), &json!("AwaitingApproval")),
        "a plan awaiting approval is Ready: the controller did all the spec asks ({status:#})"
    );
    let series = format!(
        "sgtightener_plans_awaiting_approval{{kind=\"SecurityGroupTightening\",namespace=\"{}\",name=\"payments\"}} 1",
        w.s.namespace
    );
    eventually("the awaiting-approval gauge", DEFAULT_TIMEOUT, || async {
        let (_, metrics) = operator.get("/metrics").await;
        metrics.contains(&series).then_some(()).ok_or(metrics)
    })
    .await;
    check_plan(&plan(&planned), &group);
    assert_eq!(
        estate::rules_with_descriptions(&w.account, &group).await,
        before,
        "planning must not change the group"
    );
}

#[tokio::test]
async fn an_approved_plan_is_applied_and_a_revert_restores_every_rule() {
    let w = World::new("sgt-apply", |_| false).await;
    let group = w.estate.group.clone();
    let original = estate::rules_with_descriptions(&w.account, &group).await;
    let _operator = w.s.operator().await;
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    let planned = plan(&wait_plan(&api, "payments").await);
    check_plan(&planned, &group);
    let hash = planned["hash"].as_str().expect("hash").to_owned();

    let approved = Instant::now();
    patch_spec(&api, "payments", json!({ "approved": hash })).await;
    let applied = wait_condition(&api, "payments", "Applied", "True", "").await;
    timing("approval → Applied", approved);

    let live = estate::rules(&w.account, &group).await;
    let revoke = plan_rules(&planned, &group, "revoke");
    let authorise = plan_rules(&planned, &group, "authorise");
    let untouched: BTreeSet<String> = estate::rules(&w.account, &group)
        .await
        .into_iter()
        .filter(|r| !authorise.contains(r))
        .collect();
    for rule in &authorise {
        assert!(
            live.contains(rule),
            "{rule} not in AWS after the apply: {live:?}"
        );
    }
    for rule in &revoke {
        assert!(
            !live.contains(rule),
            "{rule} still in AWS after the apply: {live:?}"
        );
    }
    let expected_untouched: BTreeSet<String> = original
        .iter()
        .map(|r| r.split(" (").next().unwrap_or(r).to_owned())
        .filter(|r| !revoke.contains(r))
        .collect();
    assert_eq!(untouched, expected_untouched, "untouchable rules intact");

    let status = &to_json(&applied)["status"];
    let manifest = status["applied"]["manifestConfigMap"]
        .as_str()
        .expect("manifest name");
    assert!(
        manifest.starts_with("sgt-payments-") && manifest.ends_with(&hash[..12]),
        "manifest ConfigMap {manifest} for plan {hash}"
    );
    let cm = Api::<ConfigMap>::namespaced(w.s.client.clone(), &w.s.namespace)
        .get(manifest)
        .await
        .unwrap_or_else(|e| panic!("manifest ConfigMap {manifest}: {e}"));
    let text = serde_json::to_string(&cm.data).expect("data");
    for cidr in [
        "10.0.0.0/16",
        "10.4.0.0/16",
        "10.8.0.0/16",
        "datacentre via Direct Connect",
    ] {
        assert!(
            text.contains(cidr),
            "manifest lacks the pre-change {cidr}: {text}"
        );
    }

    patch_spec(&api, "payments", json!({ "revert": true })).await;
    wait_condition(&api, "payments", "Reverted", "True", "").await;
    assert_eq!(
        estate::rules_with_descriptions(&w.account, &group).await,
        original,
        "the revert restores the pre-apply rules exactly, descriptions included"
    );
}
