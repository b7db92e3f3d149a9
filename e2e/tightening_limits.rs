//! e2e: a SecurityGroupTightening of a group at AWS's 60-rule limit — the new rules cannot be
//! added beside the old ones, so the plan says the apply interrupts access (`interruption: true`);
//! the apply revokes first, a throttle between its revoke and authorise (injected by a proxy in
//! front of moto) pauses it instead of halting it, and the revert revokes the additions first
//! so it fits too (issue 9).

use crate::support::estate::{self, tcp};
use crate::support::proxy::FaultProxy;
use crate::support::tightening::{
    applied_rules, patch_spec, plan, plan_rules, timing, wait_condition, wait_plan, World,
};
use crate::support::{env, to_json};
use serde_json::json;
use std::time::Instant;

/// Rules the estate's payments group starts with (AWS counting: one per CIDR or group pair).
const ESTATE_RULES: usize = 7;

/// The estate with the payments group filled to 60 rules with narrow rules the plan leaves alone.
async fn world_at_the_limit(name: &str) -> World {
    let w = World::new(name, |_| false).await;
    let group = w.estate.group.clone();
    let mut filler = w
        .account
        .ec2()
        .authorize_security_group_ingress()
        .group_id(&group);
    for i in 0..(60 - ESTATE_RULES) {
        let cidr = format!("10.50.{i}.0/26");
        filler = filler.ip_permissions(tcp(2000 + i as i32, &[(cidr.as_str(), "filler")]));
    }
    filler.send().await.expect("fill the group to 60 rules");
    w
}

#[tokio::test]
async fn a_group_at_the_rule_limit_is_planned_with_an_interruption_applied_and_reverted() {
    let w = world_at_the_limit("sgt-limit").await;
    let group = w.estate.group.clone();
    let before = estate::rules_with_descriptions(&w.account, &group).await;
    assert_eq!(before.len(), 60, "the group is at the limit: {before:?}");
    let over = w
        .account
        .ec2()
        .authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(tcp(3999, &[("10.60.0.0/26", "one too many")]))
        .send()
        .await;
    assert!(
        over.is_err(),
        "moto must enforce the 60-rule limit for this scenario to mean anything"
    );

    let _operator = w.s.operator().await;
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    let planned = plan(&wait_plan(&api, "payments").await);
    let entry = planned["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["groupId"] == group.as_str()))
        .unwrap_or_else(|| panic!("no plan for {group}: {planned:#}"))
        .clone();
    let revoke = plan_rules(&planned, &group, "revoke");
    let authorise = plan_rules(&planned, &group, "authorise");
    assert_eq!(
        revoke.len(),
        3,
        "the three /16 rules are revoked: {entry:#}"
    );
    assert!(!authorise.is_empty(), "{entry:#}");
    let untouched = entry["untouchedRules"].as_u64().expect("untouchedRules") as usize;
    assert_eq!(untouched, 60 - revoke.len(), "{entry:#}");
    assert!(
        untouched + revoke.len() + authorise.len() > 60,
        "the new rules would fit beside the old: {entry:#}"
    );
    assert_eq!(entry["interruption"], true, "{entry:#}");
    assert_eq!(
        estate::rules_with_descriptions(&w.account, &group).await,
        before
    );
    eprintln!("at the limit: {}", to_json(&entry));

    patch_spec(&api, "payments", json!({ "approved": planned["hash"] })).await;
    wait_condition(&api, "payments", "Applied", "True", "").await;
    let reverting = Instant::now();
    patch_spec(&api, "payments", json!({ "revert": true })).await;
    wait_condition(&api, "payments", "Reverted", "True", "").await;
    timing("revert at the rule limit", reverting);
    assert_eq!(
        estate::rules_with_descriptions(&w.account, &group).await,
        before,
        "the revert fits under the limit and restores every rule exactly"
    );
}

#[tokio::test]
async fn a_throttle_between_an_interruption_groups_revoke_and_authorise_pauses_the_apply() {
    let w = world_at_the_limit("sgt-throttle").await;
    let group = w.estate.group.clone();
    let original = estate::rules(&w.account, &group).await;
    // More throttles than the operator's 3 SDK attempts: one reconcile fails, the next resumes.
    let proxy = FaultProxy::throttle(&env().moto_url, "AuthorizeSecurityGroupIngress", 4).await;
    let url = proxy.url.clone();
    let _operator =
        w.s.operator_with(|b| b.config(|c| c.aws.endpoint_url = url))
            .await;
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    let planned = plan(&wait_plan(&api, "payments").await);
    assert_eq!(planned["groups"][0]["interruption"], true, "{planned:#}");
    let revoke = plan_rules(&planned, &group, "revoke");
    let authorise = plan_rules(&planned, &group, "authorise");

    let approved = Instant::now();
    patch_spec(&api, "payments", json!({ "approved": planned["hash"] })).await;
    let paused = wait_condition(&api, "payments", "Applied", "False", "ApplyRetrying").await;
    let status = &to_json(&paused)["status"];
    assert_eq!(
        status["phase"], "Applying",
        "paused, not Halted: {status:#}"
    );
    let mid = estate::rules(&w.account, &group).await;
    assert!(
        revoke.iter().all(|r| !mid.contains(r)) && authorise.iter().all(|r| !mid.contains(r)),
        "paused between the revoke and the authorise: {mid:?}"
    );
    wait_condition(&api, "payments", "Applied", "True", "").await;
    timing("approval → throttled → resumed → Applied", approved);
    assert_eq!(proxy.throttles_left(), 0, "every injected throttle was met");
    let expected = applied_rules(&original, &planned, &group);
    assert_eq!(estate::rules(&w.account, &group).await, expected);
}
