//! e2e: what keeps a SecurityGroupTightening from applying — an approval of another hash, a
//! plan the group has drifted from, evidence with a hole in its window. AWS stays untouched.

use crate::support::estate::{self, tcp};
use crate::support::tightening::{
    patch_spec, plan, plan_rules, wait_condition, wait_plan, World, TIMEOUT,
};
use crate::support::{cluster::wait_for_within, condition, to_json};
use serde_json::json;

#[tokio::test]
async fn an_approval_of_another_hash_changes_nothing() {
    let w = World::new("sgt-mismatch", |_| false).await;
    let group = w.estate.group.clone();
    let before = estate::rules_with_descriptions(&w.account, &group).await;
    let _operator = w.s.operator().await;
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    let hash = plan(&wait_plan(&api, "payments").await)["hash"]
        .as_str()
        .expect("hash")
        .to_owned();
    let wrong = format!(
        "{}{}",
        if hash.starts_with('0') { "1" } else { "0" },
        &hash[1..]
    );
    patch_spec(&api, "payments", json!({ "approved": wrong })).await;
    let seen = wait_condition(&api, "payments", "Ready", "False", "ApprovalMismatch").await;
    assert_eq!(to_json(&seen)["status"]["phase"], "AwaitingApproval");
    assert!(
        condition(&seen, "Applied").is_none_or(|c| c["status"] != "True"),
        "{:#}",
        to_json(&seen)["status"]
    );
    assert_eq!(
        estate::rules_with_descriptions(&w.account, &group).await,
        before
    );
}

#[tokio::test]
async fn a_plan_the_group_drifted_from_is_not_applied() {
    let w = World::new("sgt-stale", |_| false).await;
    let group = w.estate.group.clone();
    let _operator = w.s.operator().await;
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    let old = plan(&wait_plan(&api, "payments").await);
    let old_hash = old["hash"].as_str().expect("hash").to_owned();
    // Behind the plan's back: one more broad private rule, eligible for tightening.
    w.account
        .ec2()
        .authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(tcp(9090, &[("10.12.0.0/16", "added after the plan")]))
        .send()
        .await
        .expect("authorise the extra rule");
    let drifted = estate::rules_with_descriptions(&w.account, &group).await;
    patch_spec(&api, "payments", json!({ "approved": old_hash })).await;
    let seen = wait_for_within(
        &api,
        "payments",
        "re-plan or report PlanStale",
        TIMEOUT,
        |o| {
            let j = to_json(o);
            j["status"]["observedGeneration"] == j["metadata"]["generation"]
                && (j["status"]["plan"]["hash"]
                    .as_str()
                    .is_some_and(|h| h != old_hash)
                    || condition(o, "Ready").is_some_and(|c| c["reason"] == "PlanStale"))
        },
    )
    .await;
    let status = &to_json(&seen)["status"];
    eprintln!(
        "stale plan: Ready {} / plan hash {} (was {old_hash})",
        condition(&seen, "Ready").unwrap_or_default()["reason"],
        status["plan"]["hash"]
    );
    assert!(
        condition(&seen, "Applied").is_none_or(|c| c["status"] != "True"),
        "the stale approval applied: {status:#}"
    );
    assert!(status["applied"].is_null(), "an apply started: {status:#}");
    let live = estate::rules(&w.account, &group).await;
    for rule in plan_rules(&old, &group, "authorise") {
        assert!(
            !live.contains(&rule),
            "the old plan's {rule} reached AWS: {live:?}"
        );
    }
    assert_eq!(
        estate::rules_with_descriptions(&w.account, &group).await,
        drifted
    );
}

#[tokio::test]
async fn evidence_with_a_ten_day_hole_cannot_be_applied() {
    let w = World::new("sgt-hole", |back| (20..30).contains(&back)).await;
    let group = w.estate.group.clone();
    let before = estate::rules_with_descriptions(&w.account, &group).await;
    let _operator = w.s.operator().await;
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    let planned = wait_plan(&api, "payments").await;
    let incomplete = condition(&planned, "EvidenceComplete").expect("EvidenceComplete condition");
    assert_eq!(incomplete["status"], "False", "{incomplete}");
    let missing = &to_json(&planned)["status"]["evidence"]["daysWithoutData"];
    assert_eq!(
        missing.as_array().map(Vec::len),
        Some(10),
        "daysWithoutData {missing}"
    );
    let hash = plan(&planned)["hash"].as_str().expect("hash").to_owned();
    patch_spec(&api, "payments", json!({ "approved": hash })).await;
    let seen = wait_condition(&api, "payments", "Ready", "False", "EvidenceIncomplete").await;
    assert!(
        condition(&seen, "Applied").is_none_or(|c| c["status"] != "True"),
        "{:#}",
        to_json(&seen)["status"]
    );
    assert!(to_json(&seen)["status"]["applied"].is_null());
    assert_eq!(
        estate::rules_with_descriptions(&w.account, &group).await,
        before
    );
}
