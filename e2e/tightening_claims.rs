//! e2e: one actor per group (issue 9) — two SecurityGroupTightenings select the same group and
//! are approved together: exactly one applies, the other is refused with `GroupClaimed` naming
//! it; once the first reverts, the second applies.

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
