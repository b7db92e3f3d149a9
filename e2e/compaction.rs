//! e2e: a SecurityGroupCompaction end to end (DESIGN §6.4, issue 11) — 40 alternating /24 rules
//! beside a break-glass rule and an SG reference are merged at `ratio: 0.5` into fewer rules; a
//! wrong hash changes nothing; the approved plan is exactly what AWS then holds, break-glass
//! rule and SG reference untouched; a revert restores the original rules with their
//! descriptions. `ratio: 0` on blocks that do not touch plans nothing and mutates nothing. A
//! compaction and a tightening of one group: the second to apply refuses, naming the first.

use crate::support::estate::{self, tcp};
use crate::support::proxy::FaultProxy;
use crate::support::tightening::{
    applied_rules, patch_spec, plan, plan_rules, wait_condition, wait_plan, World as Tightening,
};
use crate::support::{condition, env, to_json, Scenario, TestAccount};
use aws_sdk_ec2::types::{IpPermission, UserIdGroupPair};
use kube::api::{Api, DynamicObject};
use serde_json::json;
use std::collections::BTreeSet;

/// The description prefix of break-glass rules (compaction never touches them).
const GLASS: &str = "sg-tightener break-glass INC-11";

/// A SecurityGroupCompaction `name` of `group` in `account`.
fn yaml(account: &TestAccount, name: &str, group: &str, ratio: f64) -> String {
    format!(
        "apiVersion: sgtightener.io/v1alpha1\nkind: SecurityGroupCompaction\n\
         metadata: {{name: {name}}}\nspec:\n  region: {region}\n  accountId: \"{id}\"\n  \
         roleArn: {role}\n  groups: {{ids: [{group}]}}\n  ratio: {ratio}\n",
        region = env().region,
        id = account.id,
        role = account.role_arn,
    )
}

/// A group in a fresh VPC with `tcp:443` from every CIDR of `cidrs` (described by CIDR).
async fn group_with(account: &TestAccount, cidrs: &[String]) -> String {
    let vpc = account.create_vpc("10.100.0.0/16").await;
    let group = account
        .create_group(&vpc, "legacy-app", &[("team", "platform")])
        .await;
    let described: Vec<(String, String)> = cidrs
        .iter()
        .map(|c| (c.clone(), format!("office {c}")))
        .collect();
    let pairs: Vec<(&str, &str)> = described
        .iter()
        .map(|(c, d)| (c.as_str(), d.as_str()))
        .collect();
    account
        .ec2()
        .authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(tcp(443, &pairs))
        .send()
        .await
        .unwrap_or_else(|e| panic!("authorize {group}: {e:?}"));
    group
}

/// 40 alternating /24s in 10.0.0.0/16: 10.0.0.0/24, 10.0.2.0/24, … 10.0.78.0/24.
fn alternating() -> Vec<String> {
    (0..40).map(|i| format!("10.0.{}.0/24", 2 * i)).collect()
}

async fn create(s: &Scenario, yaml: &str) -> Api<DynamicObject> {
    let created = s.apply_yaml(yaml).await;
    s.api_for(&created[0]).await
}

#[tokio::test]
async fn a_compaction_merges_private_rules_applies_by_hash_and_reverts_exactly() {
    let s = Scenario::start("sgc-apply").await;
    let account = s.aws_account().await;
    let group = group_with(&account, &alternating()).await;
    let bastion = account
        .create_group(
            &account.create_vpc("10.101.0.0/16").await,
            "bastion",
            &[("role", "bastion")],
        )
        .await;
    let extras = [
        tcp(443, &[("10.0.1.0/24", GLASS)]),
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(&bastion)
                    .description("bastion (never touched)")
                    .build(),
            )
            .build(),
    ];
    account
        .ec2()
        .authorize_security_group_ingress()
        .group_id(&group)
        .set_ip_permissions(Some(extras.to_vec()))
        .send()
        .await
        .expect("authorize the break-glass rule and the SG reference");
    let original = estate::rules_with_descriptions(&account, &group).await;
    let bare = estate::rules(&account, &group).await;
    assert_eq!(original.len(), 42, "{original:?}");
    let _operator = s.operator().await;
    let api = create(&s, &yaml(&account, "legacy", &group, 0.5)).await;

    let planned = plan(&wait_plan(&api, "legacy").await);
    let g = &planned["groups"][0];
    let (current, projected) = (g["currentRules"].as_u64(), g["projectedRules"].as_u64());
    assert_eq!(current, Some(42), "{g:#}");
    assert!(projected.unwrap() < 42, "fewer rules: {g:#}");
    assert_eq!(
        g["rulesSaved"].as_u64(),
        Some(42 - projected.unwrap()),
        "{g:#}"
    );
    assert!(g["addressesAdded"].as_u64().unwrap() > 0, "{g:#}");
    let revoke = plan_rules(&planned, &group, "revoke");
    assert!(
        revoke
            .iter()
            .all(|r| alternating().iter().any(|c| *r == format!("tcp:443 {c}"))),
        "only the alternating /24s are revoked: {revoke:?}"
    );
    let ready = wait_condition(&api, "legacy", "Ready", "True", "AwaitingApproval").await;
    assert_eq!(to_json(&ready)["status"]["phase"], "AwaitingApproval");
    assert_eq!(
        estate::rules_with_descriptions(&account, &group).await,
        original
    );

    // A wrong hash changes nothing.
    patch_spec(&api, "legacy", json!({ "approved": "0".repeat(64) })).await;
    let refused = wait_condition(&api, "legacy", "Ready", "False", "ApprovalMismatch").await;
    assert!(to_json(&refused)["status"]["applied"].is_null());
    assert_eq!(
        estate::rules_with_descriptions(&account, &group).await,
        original
    );

    patch_spec(&api, "legacy", json!({ "approved": planned["hash"] })).await;
    wait_condition(&api, "legacy", "Applied", "True", "").await;
    let live = estate::rules(&account, &group).await;
    assert_eq!(
        live,
        applied_rules(&bare, &planned, &group),
        "AWS matches the plan"
    );
    assert_eq!(live.len() as u64, projected.unwrap());
    let described = estate::rules_with_descriptions(&account, &group).await;
    for untouched in [
        format!("tcp:443 10.0.1.0/24 ({GLASS})"),
        format!("tcp:443 {bastion} (bastion (never touched))"),
    ] {
        assert!(
            described.contains(&untouched),
            "{untouched} in {described:?}"
        );
    }

    patch_spec(&api, "legacy", json!({ "revert": true })).await;
    wait_condition(&api, "legacy", "Reverted", "True", "").await;
    assert_eq!(
        estate::rules_with_descriptions(&account, &group).await,
        original,
        "the exact original, descriptions included"
    );
}

#[tokio::test]
async fn ratio_zero_on_blocks_that_do_not_touch_plans_nothing_and_mutates_nothing() {
    let s = Scenario::start("sgc-lossless").await;
    let account = s.aws_account().await;
    let cidrs: Vec<String> = alternating().into_iter().take(6).collect();
    let group = group_with(&account, &cidrs).await;
    let original = estate::rules_with_descriptions(&account, &group).await;
    let proxy = FaultProxy::record(&env().moto_url).await;
    let proxied = proxy.url.clone();
    let _operator = s
        .operator_with(|b| b.config(|c| c.aws.endpoint_url = proxied))
        .await;
    let api = create(&s, &yaml(&account, "lossless", &group, 0.0)).await;
    let planned = plan(&wait_plan(&api, "lossless").await);
    assert!(
        plan_rules(&planned, &group, "revoke").is_empty(),
        "{planned:#}"
    );
    assert!(
        plan_rules(&planned, &group, "authorise").is_empty(),
        "{planned:#}"
    );
    assert_eq!(planned["groups"][0]["rulesSaved"], 0);
    let ready = wait_condition(&api, "lossless", "Ready", "True", "PlanReady").await;
    let message = condition(&ready, "Ready").expect("Ready")["message"].clone();
    assert!(
        message.to_string().contains("nothing to approve"),
        "{message}"
    );
    // Even approved, an empty plan calls nothing that changes AWS.
    patch_spec(&api, "lossless", json!({ "approved": planned["hash"] })).await;
    wait_condition(&api, "lossless", "Ready", "True", "PlanReady").await;
    let seen = proxy.requests_mentioning(&group);
    assert!(!seen.is_empty(), "the proxy saw the describes of {group}");
    let mutations: Vec<&String> = seen
        .iter()
        .filter(|f| f.contains("SecurityGroupIngress"))
        .collect();
    assert!(mutations.is_empty(), "AWS mutations: {mutations:?}");
    assert_eq!(
        estate::rules_with_descriptions(&account, &group).await,
        original
    );
}

#[tokio::test]
async fn a_tightening_of_a_group_a_compaction_changed_is_refused_naming_the_compaction() {
    let w = Tightening::new("sgc-claims", |_| false).await;
    let group = w.estate.group.clone();
    let _operator = w.s.operator().await;
    // ratio 0 drops tcp:5432 10.4.200.0/26, which 10.4.0.0/16 already covers.
    let sgc = create(&w.s, &yaml(&w.account, "compact", &group, 0.0)).await;
    let planned = plan(&wait_plan(&sgc, "compact").await);
    assert_eq!(
        plan_rules(&planned, &group, "revoke"),
        ["tcp:5432 10.4.200.0/26"]
    );
    patch_spec(&sgc, "compact", json!({ "approved": planned["hash"] })).await;
    wait_condition(&sgc, "compact", "Applied", "True", "").await;

    let sgt = w.create(&w.yaml("tighten", &[&group], "")).await;
    let tightening = plan(&wait_plan(&sgt, "tighten").await);
    patch_spec(&sgt, "tighten", json!({ "approved": tightening["hash"] })).await;
    let refused = wait_condition(&sgt, "tighten", "Ready", "False", "GroupClaimed").await;
    let message = condition(&refused, "Ready").expect("Ready")["message"].to_string();
    let holder = format!("SecurityGroupCompaction {}/compact", w.s.namespace);
    assert!(
        message.contains(&holder) && message.contains(&group),
        "{message}"
    );
    assert!(to_json(&refused)["status"]["applied"].is_null());
    let live: BTreeSet<String> = estate::rules(&w.account, &group).await;
    assert!(
        live.contains("tcp:443 10.0.0.0/16"),
        "the tightening changed nothing: {live:?}"
    );
}
