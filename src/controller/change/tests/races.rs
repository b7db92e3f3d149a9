//! Controller layer tests (issue 9): decisions made on old or edited data, against the fakes —
//! a stale cached object, a lost apply record, a replica that is not the leader, two resources on
//! one group, groups that change during planning, an edited plan, manifest history.

use crate::controller::claims::{Claims, GroupKey, Holder};
use crate::controller::leader::Fence;
use crate::controller::tightening::world::{approved, exact, original_group, rules, World, GROUP};
use crate::crd::PlanPhase;
use crate::domain::conditions::types;
use crate::domain::plan::plan_hash;
use serde_json::json;

#[tokio::test]
async fn a_reconcile_of_a_stale_cached_object_cannot_erase_the_apply_record_or_touch_aws() {
    let mut w = approved(World::standard()).await;
    let stale = w.object.clone();
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Applied);
    let (mutations, writes) = (w.mutations(), w.store.statuses.lock().unwrap().len());
    let error = crate::controller::tightening::reconcile(&stale, &w.deps())
        .await
        .unwrap_err();
    assert!(error.is_conflict(), "{error}");
    assert_eq!(
        w.mutations(),
        mutations,
        "no AWS call from a stale decision"
    );
    assert_eq!(w.store.statuses.lock().unwrap().len(), writes);
    let kept = w.store.last_status().unwrap().applied.unwrap();
    assert!(kept.finished_at.is_some(), "status.applied survives");
}

#[tokio::test]
async fn a_lost_apply_record_is_taken_back_from_the_manifest_and_the_revert_still_works() {
    let mut w = approved(World::standard()).await;
    w.reconcile().await.unwrap();
    // Someone with status RBAC (or a restore from backup) drops status.applied.
    w.object.status.as_mut().unwrap().applied = None;
    w.revert(true);
    w.reconcile().await.unwrap();
    assert_eq!(
        w.condition(types::READY).1,
        "Reverted",
        "not NothingToRevert"
    );
    assert_eq!(exact(&w.live()), exact(&original_group()));
    assert!(w.store.event_reasons().contains(&"ApplyRecovered".into()));
    let manifests = w.store.manifests.lock().unwrap().clone();
    assert!(
        manifests.values().all(|m| m.reverted_at.is_some()),
        "the manifest records the revert first"
    );
}

#[tokio::test]
async fn a_replica_that_is_not_the_leader_calls_no_aws_and_writes_no_status() {
    let mut w = approved(World::standard()).await;
    w.fence = Fence::closed();
    let (writes, calls) = (
        w.store.statuses.lock().unwrap().len(),
        w.aws.security_groups.calls().len(),
    );
    let error = w.reconcile().await.unwrap_err();
    assert_eq!(error.reason(), "NotLeader");
    assert_eq!(
        w.aws.security_groups.calls().len(),
        calls,
        "not even a describe"
    );
    assert_eq!(w.store.statuses.lock().unwrap().len(), writes);
}

#[tokio::test]
async fn two_resources_on_one_group_the_second_is_refused_naming_the_first_until_it_reverts() {
    let mut a = World::standard();
    let mut b = a.sibling("web-b");
    a.reconcile().await.unwrap();
    b.reconcile().await.unwrap();
    let (ha, hb) = (a.plan_hash(), b.plan_hash());
    a.approve(&ha);
    b.approve(&hb);
    a.reconcile().await.unwrap();
    assert_eq!(a.phase(), PlanPhase::Applied);
    let mutations = a.mutations();
    b.reconcile().await.unwrap();
    let (ready, reason, message) = b.condition(types::READY);
    assert_eq!((ready.as_str(), reason.as_str()), ("False", "GroupClaimed"));
    assert!(
        message.contains("SecurityGroupTightening payments/web,") && message.contains(GROUP),
        "{message}"
    );
    assert_eq!(a.mutations(), mutations, "the second applied nothing");

    a.revert(true);
    a.reconcile().await.unwrap();
    assert_eq!(a.phase(), PlanPhase::Reverted);
    b.reconcile().await.unwrap();
    assert_eq!(
        b.phase(),
        PlanPhase::Applied,
        "{:?}",
        b.condition(types::READY)
    );
}

#[tokio::test]
async fn a_compaction_holding_the_group_refuses_a_tightening_the_same_way() {
    let mut w = approved(World::standard()).await;
    let compaction = Holder {
        kind: "SecurityGroupCompaction".into(),
        namespace: "payments".into(),
        name: "compact".into(),
    };
    let key = GroupKey {
        account: "123456789012".into(),
        region: "af-south-1".into(),
        group_id: GROUP.into(),
    };
    assert!(w.claims.claim(&[key], &compaction).await.unwrap().is_none());
    w.reconcile().await.unwrap();
    let (_, reason, message) = w.condition(types::READY);
    assert_eq!(reason, "GroupClaimed");
    assert!(
        message.contains("SecurityGroupCompaction payments/compact"),
        "{message}"
    );
    assert_eq!(w.mutations(), 0);
}

#[tokio::test]
async fn the_groups_are_described_again_right_before_the_write_ahead() {
    let mut w = approved(World::standard()).await;
    // A replan (same inputs, same hash) followed by the apply in one reconcile; someone adds a
    // rule while the evidence is read — between the first describe and the write-ahead.
    w.object.metadata.annotations =
        Some([("sgtightener.io/replan".to_string(), "1".to_string())].into());
    let drift = rules(&[("tcp:80 10.5.0.0/16", None)]);
    w.aws
        .security_groups
        .drift_before_describe(count_describes(&w) + 2, GROUP, drift);
    w.reconcile().await.unwrap();
    assert_eq!(
        w.aws.flow_logs.requests().len(),
        2,
        "the evidence was read again"
    );
    assert_eq!(w.mutations(), 0, "nothing applied on rules that changed");
    assert_ne!(w.phase(), PlanPhase::Applied);
    w.reconcile().await.unwrap();
    assert_eq!(w.condition(types::READY).1, "PlanStale");
}

fn count_describes(w: &World) -> usize {
    let calls = w.aws.security_groups.calls();
    calls
        .iter()
        .filter(|c| c.operation == crate::aws::ec2::fake::Operation::DescribeGroups)
        .count()
}

#[tokio::test]
async fn an_edited_plan_in_status_is_not_applied_and_is_computed_again() {
    let mut w = approved(World::standard()).await;
    let plan = w.object.status.as_mut().unwrap().plan.as_mut().unwrap();
    plan.groups[0].authorise = vec!["tcp:443 10.0.0.0/8".into()];
    w.reconcile().await.unwrap();
    assert_eq!(w.mutations(), 0);
    assert_eq!(w.condition(types::READY).1, "PlanInvalid");
    assert!(w.store.event_reasons().contains(&"PlanInvalid".into()));
    w.reconcile().await.unwrap();
    w.reconcile().await.unwrap();
    assert_eq!(
        w.phase(),
        PlanPhase::Applied,
        "the genuine plan has the approved hash"
    );
    assert!(!exact(&w.live())
        .iter()
        .any(|(r, _)| r.ends_with("10.0.0.0/8")));
}

#[tokio::test]
async fn an_edited_plan_with_a_matching_hash_that_widens_access_is_refused() {
    let mut w = World::standard();
    w.reconcile().await.unwrap();
    let plan = w.object.status.as_mut().unwrap().plan.as_mut().unwrap();
    plan.groups[0].authorise = vec!["tcp:443 10.0.0.0/8".into()];
    plan.hash = plan_hash(plan);
    let hash = plan.hash.clone();
    w.approve(&hash);
    w.reconcile().await.unwrap();
    assert_eq!(w.mutations(), 0);
    let (_, reason, message) = w.condition(types::READY);
    assert_eq!(reason, "PlanInvalid");
    assert!(message.contains("never widens"), "{message}");
}

#[tokio::test]
async fn only_the_newest_manifests_are_kept_per_resource() {
    let mut w = World::standard();
    w.config.manifests.keep = 2;
    for (i, source) in ["10.0.10.0/28", "10.0.20.0/28", "10.0.30.0/28"]
        .iter()
        .enumerate()
    {
        w.object.spec.evidence.additional_sources =
            serde_json::from_value(json!([{ "cidr": source }])).unwrap();
        w.revert(false);
        w.reconcile().await.unwrap();
        let hash = w.plan_hash();
        w.approve(&hash);
        w.reconcile().await.unwrap();
        assert_eq!(w.phase(), PlanPhase::Applied, "round {i}");
        w.revert(true);
        w.reconcile().await.unwrap();
        assert_eq!(w.phase(), PlanPhase::Reverted, "round {i}");
    }
    let manifests = w.store.manifests.lock().unwrap().clone();
    assert_eq!(manifests.len(), 2, "{:?}", manifests.keys());
    let current = w
        .object
        .status
        .clone()
        .unwrap()
        .applied
        .unwrap()
        .manifest_config_map;
    assert!(manifests.contains_key(&format!("payments/{current}")));
}

#[tokio::test]
async fn an_apply_in_effect_claims_its_groups_again_when_the_claim_is_gone() {
    let mut w = approved(World::standard()).await;
    w.reconcile().await.unwrap();
    w.claims.claims.lock().unwrap().clear();
    w.reconcile().await.unwrap();
    let claims = w.claims.claims.lock().unwrap().clone();
    assert_eq!(claims.len(), 1, "{claims:?}");
    assert!(claims.values().all(|h| h.name == "web"));
}
