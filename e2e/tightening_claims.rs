//! e2e: one actor per group (issue 9) — two SecurityGroupTightenings select the same group and
//! are approved together: exactly one applies, the other is refused with `GroupClaimed` naming
//! it; once the first reverts, the second applies. And one writer of status: a status write
//! from a stale read is refused by the API server.

use crate::support::cluster::wait_for_within;
use crate::support::estate;
use crate::support::tightening::{patch_spec, plan, wait_condition, wait_plan, World, TIMEOUT};
use crate::support::{condition, to_json};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;

/// `Ready`'s reason of `name`.
async fn ready_reason(api: &Api<DynamicObject>, name: &str) -> String {
    let o = api.get(name).await.expect("get");
    condition(&o, "Ready").map_or_else(String::new, |c| {
        c["reason"].as_str().unwrap_or_default().to_owned()
    })
}

#[tokio::test]
async fn two_tightenings_of_one_group_one_applies_the_other_is_refused_until_it_reverts() {
    let w = World::new("sgt-claims", |_| false).await;
    let group = w.estate.group.clone();
    let original = estate::rules_with_descriptions(&w.account, &group).await;
    let _operator = w.s.operator().await;
    let api = w.create(&w.yaml("first", &[&group], "")).await;
    w.create(&w.yaml("second", &[&group], "")).await;
    let mut hashes = Vec::new();
    for name in ["first", "second"] {
        hashes.push(plan(&wait_plan(&api, name).await)["hash"].clone());
    }
    for (name, hash) in ["first", "second"].iter().zip(&hashes) {
        patch_spec(&api, name, json!({ "approved": hash })).await;
    }
    let settled = |o: &DynamicObject| {
        let j = to_json(o);
        let reason = condition(o, "Ready").map(|c| c["reason"].clone());
        j["status"]["observedGeneration"] == j["metadata"]["generation"]
            && matches!(
                reason.as_ref().and_then(|r| r.as_str()),
                Some("Applied" | "GroupClaimed")
            )
    };
    for name in ["first", "second"] {
        wait_for_within(&api, name, "apply or be refused", TIMEOUT, settled).await;
    }
    let (winner, loser) = match ready_reason(&api, "first").await.as_str() {
        "Applied" => ("first", "second"),
        _ => ("second", "first"),
    };
    assert_eq!(ready_reason(&api, winner).await, "Applied");
    let refused = api.get(loser).await.expect("get");
    let ready = condition(&refused, "Ready").expect("Ready");
    assert_eq!(ready["reason"], "GroupClaimed", "{ready}");
    let message = ready["message"].as_str().unwrap_or_default();
    let holder = format!("SecurityGroupTightening {}/{winner}", w.s.namespace);
    assert!(
        message.contains(&holder) && message.contains(&group),
        "{message}"
    );
    assert!(
        to_json(&refused)["status"]["applied"].is_null(),
        "the refused one applied nothing"
    );

    patch_spec(&api, winner, json!({ "revert": true })).await;
    wait_condition(&api, winner, "Reverted", "True", "").await;
    assert_eq!(
        estate::rules_with_descriptions(&w.account, &group).await,
        original
    );
    // Nudge the refused one (it re-checks every few minutes by itself).
    let nudge = json!({"metadata": {"annotations": {"sgtightener.io/replan": "after-release"}}});
    api.patch(loser, &PatchParams::default(), &Patch::Merge(&nudge))
        .await
        .expect("annotate");
    wait_condition(&api, loser, "Applied", "True", "").await;
}

/// The precondition every tightening status write carries (issue 9, status races), against the
/// real API server: a write from a stale read is refused, so it can never drop `status.applied`.
#[tokio::test]
async fn a_status_write_from_a_stale_read_is_refused_by_the_api_server() {
    use sg_tightener::controller::status::apply_status_at;
    use sg_tightener::crd::SecurityGroupTightening;
    let s = crate::support::Scenario::start("sgt-stale-write").await;
    s.apply_yaml(&crate::support::sample("securitygrouptightening.yaml").text)
        .await;
    let api = s.api::<SecurityGroupTightening>();
    let read = api.list(&Default::default()).await.expect("list").items;
    let stale = read.first().expect("the sample").clone();
    let version = stale.metadata.resource_version.clone();
    let first = json!({"phase": "Applying", "applied": {
        "planHash": "a".repeat(64), "startedAt": "2026-01-01T00:00:00Z",
        "manifestConfigMap": "sgt-x-aaaaaaaaaaaa"}});
    let written = apply_status_at(&s.client, &stale, first, version.as_deref())
        .await
        .expect("a write from the current version");
    assert_ne!(written, version);
    let second = json!({"phase": "AwaitingApproval"});
    let refused = apply_status_at(&s.client, &stale, second, version.as_deref())
        .await
        .expect_err("a write from the old version");
    assert!(refused.is_conflict(), "{refused}");
    let now = api
        .get(&stale.metadata.name.clone().unwrap())
        .await
        .expect("get");
    let applied = now
        .status
        .and_then(|s| s.applied)
        .expect("status.applied kept");
    assert_eq!(applied.manifest_config_map, "sgt-x-aaaaaaaaaaaa");
}
