//! e2e: reverts that finish (issue 9) — a break-glass rule added after the apply (with the AWS
//! SDK, as the break-glass path would) is left alone and the revert verifies; a group of the
//! apply deleted in AWS is reported, the others are reverted, and nothing is retried forever.

use crate::support::estate::{self, tcp};
use crate::support::tightening::{patch_spec, plan, plan_rules, wait_condition, wait_plan, World};
use crate::support::{condition, to_json};
use serde_json::json;

/// A rule the break-glass path would add: its description says so.
const BREAK_GLASS: &str = "sg-tightener break-glass: INC-4242 DR failover (e2e)";

#[tokio::test]
async fn a_break_glass_rule_added_after_the_apply_survives_a_revert_that_verifies() {
    let w = World::new("sgt-bg-revert", |_| false).await;
    let group = w.estate.group.clone();
    let original = estate::rules_with_descriptions(&w.account, &group).await;
    let _operator = w.s.operator().await;
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    let planned = plan(&wait_plan(&api, "payments").await);
    patch_spec(&api, "payments", json!({ "approved": planned["hash"] })).await;
    wait_condition(&api, "payments", "Applied", "True", "").await;

    w.account
        .ec2()
        .authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(tcp(9443, &[("10.77.0.0/16", BREAK_GLASS)]))
        .send()
        .await
        .expect("add the break-glass rule");
    patch_spec(&api, "payments", json!({ "revert": true })).await;
    let reverted = wait_condition(&api, "payments", "Reverted", "True", "Reverted").await;
    let message = condition(&reverted, "Reverted").expect("Reverted")["message"].clone();
    assert!(
        message
            .as_str()
            .unwrap_or_default()
            .contains("tcp:9443 10.77.0.0/16"),
        "the message names the rule left alone: {message}"
    );
    let mut expected = original.clone();
    expected.insert(format!("tcp:9443 10.77.0.0/16 ({BREAK_GLASS})"));
    assert_eq!(
        estate::rules_with_descriptions(&w.account, &group).await,
        expected,
        "every pre-apply rule is back, descriptions included, and the break-glass rule stays"
    );
}

#[tokio::test]
async fn a_group_deleted_in_aws_after_the_apply_is_reported_and_the_rest_is_reverted() {
    let w = World::new("sgt-deleted", |_| false).await;
    let group = w.estate.group.clone();
    let original = estate::rules_with_descriptions(&w.account, &group).await;
    // A second group with a broad rule no flow ever used: `noEvidence: Revoke` revokes it.
    let legacy = w
        .account
        .create_group(&w.estate.vpc, "legacy-app", &[("team", "legacy")])
        .await;
    w.account
        .ec2()
        .authorize_security_group_ingress()
        .group_id(&legacy)
        .ip_permissions(tcp(80, &[("10.9.0.0/16", "legacy HTTP")]))
        .send()
        .await
        .expect("the legacy group's rule");
    let _operator = w.s.operator().await;
    let extra = "  collapse: {noEvidence: Revoke}\n";
    let api = w
        .create(&w.yaml("payments", &[&group, &legacy], extra))
        .await;
    let planned = plan(&wait_plan(&api, "payments").await);
    assert_eq!(
        plan_rules(&planned, &legacy, "revoke"),
        ["tcp:80 10.9.0.0/16"],
        "{planned:#}"
    );
    patch_spec(&api, "payments", json!({ "approved": planned["hash"] })).await;
    wait_condition(&api, "payments", "Applied", "True", "").await;

    w.account
        .ec2()
        .delete_security_group()
        .group_id(&legacy)
        .send()
        .await
        .expect("delete the legacy group");
    patch_spec(&api, "payments", json!({ "revert": true })).await;
    let reverted = wait_condition(&api, "payments", "Reverted", "True", "Reverted").await;
    let status = &to_json(&reverted)["status"];
    let message = condition(&reverted, "Reverted").expect("Reverted")["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains(&legacy) && message.contains("deleted"),
        "{message}"
    );
    let states: Vec<(String, String)> = status["applied"]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["groupId"].as_str().unwrap_or_default().to_owned(),
                g["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        states.contains(&(legacy.clone(), "Deleted".into())),
        "{states:?}"
    );
    assert!(
        states.contains(&(group.clone(), "Reverted".into())),
        "{states:?}"
    );
    assert_eq!(
        estate::rules_with_descriptions(&w.account, &group).await,
        original
    );
}
