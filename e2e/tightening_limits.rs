//! e2e: a SecurityGroupTightening of a group at AWS's 60-rule limit — the new rules cannot be
//! added beside the old ones, so the plan says the apply interrupts access (`interruption: true`).

use crate::support::estate::{self, tcp};
use crate::support::tightening::{plan, plan_rules, wait_plan, World};
use crate::support::to_json;

/// Rules the estate's payments group starts with (AWS counting: one per CIDR or group pair).
const ESTATE_RULES: usize = 7;

#[tokio::test]
async fn a_group_at_the_rule_limit_is_planned_with_an_interruption() {
    let w = World::new("sgt-limit", |_| false).await;
    let group = w.estate.group.clone();
    // Fill the group to 60 with narrow rules the plan leaves alone.
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
}
