//! Controller layer tests: the tightening reconcile against `FakeAws`, `FakeFlowLogs` and the
//! in-memory store — planning, approval, staleness, tenancy and spec refusals. Nothing in AWS
//! may change before an exact, fresh approval.

use super::world::{accepted, document, original_group, rules, World, GROUP};
use crate::aws::ec2::fake::FakeSecurityGroups;
use crate::aws::fake::FakeAws;
use crate::aws::SecurityGroups;
use crate::config::TenancyRule;
use crate::crd::PlanPhase;
use crate::domain::conditions::types;
use kube::runtime::controller::Action;
use serde_json::json;

#[tokio::test]
async fn a_new_resource_is_planned_and_nothing_changes_before_approval() {
    let mut w = World::standard();
    let action = w.reconcile().await.unwrap();
    assert_eq!(
        action,
        Action::requeue(crate::controller::change::lifecycle::APPROVAL_RECHECK)
    );
    let status = w.object.status.clone().unwrap();
    let plan = status.plan.clone().unwrap();
    assert_eq!(plan.groups[0].revoke, ["tcp:443 10.0.0.0/16"]);
    assert!(plan
        .approve_command
        .as_deref()
        .unwrap()
        .contains(&format!("{{\"spec\":{{\"approved\":\"{}\"}}}}", plan.hash)));
    assert!(plan
        .approve_command
        .as_deref()
        .unwrap()
        .starts_with("kubectl -n payments patch sgt web --type merge -p "));
    assert_eq!(status.plan_short_hash.as_deref(), Some(&plan.hash[..12]));
    assert_eq!(status.phase, PlanPhase::AwaitingApproval);
    // Ready=True: the controller has done all the spec asks; the approval is a person's step.
    let (ready, reason, message) = w.condition(types::READY);
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("True", "AwaitingApproval")
    );
    assert!(message.contains(&plan.hash[..12]), "{message}");
    assert!(
        message.contains("kubectl -n payments patch sgt web"),
        "{message}"
    );
    assert!(!status
        .conditions
        .iter()
        .any(|c| c.type_ == types::STALLED || c.type_ == types::RECONCILING));
    assert_eq!(w.condition(types::PLANNED).0, "True");
    assert_eq!(w.condition(types::EVIDENCE_COMPLETE).0, "True");
    assert_eq!(status.evidence.as_ref().unwrap().sources, 4);
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(w.mutations(), 0);
    assert_eq!(w.store.event_reasons(), ["PlanReady"]);
    let metrics = w.metrics.encode();
    let before = format!(
        "sgtightener_plan_addresses{{namespace=\"payments\",name=\"web\",stage=\"before\"}} {}",
        plan.summary.addresses_before
    );
    assert!(metrics.contains(&before), "{metrics}");

    let writes = w.store.statuses.lock().unwrap().len();
    w.reconcile().await.unwrap();
    assert_eq!(
        w.store.statuses.lock().unwrap().len(),
        writes,
        "an unchanged status is not written again"
    );
    assert_eq!(
        w.aws.flow_logs.requests().len(),
        1,
        "evidence is collected once per inputs"
    );
    assert_eq!(
        w.store.event_reasons(),
        ["PlanReady"],
        "events on transitions only"
    );
    assert_eq!(w.mutations(), 0);
}

#[tokio::test]
async fn re_planning_unchanged_inputs_keeps_the_hash() {
    let mut w = World::standard();
    w.reconcile().await.unwrap();
    let first = w.plan_hash();
    w.object.metadata.annotations =
        Some([("sgtightener.io/replan".to_string(), "1".to_string())].into());
    w.reconcile().await.unwrap();
    assert_eq!(
        w.aws.flow_logs.requests().len(),
        2,
        "the replan annotation re-collects"
    );
    assert_eq!(w.plan_hash(), first);
}

#[tokio::test]
async fn a_wrong_hash_changes_nothing_and_says_approval_mismatch() {
    let mut w = World::standard();
    w.reconcile().await.unwrap();
    w.approve(&"a".repeat(64));
    w.reconcile().await.unwrap();
    let (status, reason, message) = w.condition(types::READY);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "ApprovalMismatch")
    );
    assert!(message.contains(&w.plan_hash()), "{message}");
    assert_eq!(w.condition(types::STALLED).1, "ApprovalMismatch");
    assert_eq!(w.mutations(), 0);
    assert!(w
        .store
        .event_reasons()
        .contains(&"ApprovalMismatch".to_string()));
}

#[tokio::test]
async fn a_stale_approved_plan_is_not_applied_and_a_new_plan_is_offered() {
    let mut w = World::standard();
    w.reconcile().await.unwrap();
    let old = w.plan_hash();
    w.approve(&old);
    let drift = rules(&[("tcp:80 10.5.0.0/16", None)]);
    w.aws
        .security_groups
        .authorise_ingress(GROUP, &drift)
        .await
        .unwrap();
    let before = w.mutations();
    w.reconcile().await.unwrap();
    assert_eq!(w.mutations(), before, "nothing applied on a stale snapshot");
    assert_eq!(w.condition(types::READY).1, "PlanStale");
    assert_ne!(w.plan_hash(), old);
    assert_eq!(
        w.aws.flow_logs.requests().len(),
        1,
        "a drift re-plan reuses the cached evidence"
    );
    assert!(w.store.event_reasons().contains(&"PlanStale".to_string()));
}

#[tokio::test]
async fn incomplete_evidence_refuses_an_approved_plan() {
    let mut w = World::standard();
    w.aws.flow_logs.answer(document(accepted(), false));
    w.reconcile().await.unwrap();
    assert_eq!(w.condition(types::EVIDENCE_COMPLETE).0, "False");
    let hash = w.plan_hash();
    w.approve(&hash);
    w.reconcile().await.unwrap();
    assert_eq!(w.condition(types::READY).1, "EvidenceIncomplete");
    assert_eq!(w.mutations(), 0);
}

#[tokio::test]
async fn a_forbidden_namespace_is_refused_before_any_aws_call() {
    let mut w = World::standard();
    w.config.tenancy = vec![TenancyRule {
        namespaces: vec!["other".into()],
        accounts: vec!["*".into()],
        role_arn_template: Default::default(),
    }];
    let error = w.reconcile().await.unwrap_err();
    assert_eq!(error.reason(), "Forbidden");
    assert!(w.aws.targets().is_empty(), "no AWS call");
    let (status, reason, _) = w.condition(types::READY);
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Forbidden"));
    assert_eq!(w.condition(types::STALLED).0, "True");
}

#[tokio::test]
async fn without_an_account_the_controllers_own_account_is_checked() {
    let mut spec = World::default_spec();
    spec.as_object_mut().unwrap().remove("accountId");
    let mut w = World::new(spec);
    w.config.tenancy = vec![TenancyRule {
        namespaces: vec!["payments".into()],
        accounts: vec!["999999999999".into()],
        role_arn_template: Default::default(),
    }];
    let error = w.reconcile().await.unwrap_err();
    assert_eq!(error.reason(), "Forbidden");
    assert!(error.to_string().contains("123456789012"), "{error}");
    assert_eq!(w.mutations(), 0);
}

#[tokio::test]
async fn an_invalid_spec_names_the_field_and_makes_no_aws_call() {
    let mut spec = World::default_spec();
    spec["evidence"]["excludeSources"] = json!(["10.0.0.1/16"]);
    let mut w = World::new(spec);
    let error = w.reconcile().await.unwrap_err();
    assert_eq!(error.reason(), "InvalidSpec");
    let message = w.condition(types::READY).2;
    assert!(
        message.contains("spec.evidence.excludeSources[0]") && message.contains("10.0.0.1/16"),
        "{message}"
    );
    assert!(w.aws.targets().is_empty());
}

#[tokio::test]
async fn a_requested_group_that_does_not_exist_is_reported() {
    let mut spec = World::default_spec();
    spec["groups"]["ids"] = json!([GROUP, "sg-0000000000000000f"]);
    let mut w = World::new(spec);
    w.reconcile().await.unwrap();
    let (_, reason, message) = w.condition(types::READY);
    assert_eq!(reason, "GroupsNotFound");
    assert!(message.contains("sg-0000000000000000f"), "{message}");
    assert_eq!(w.phase(), PlanPhase::Failed);
    assert_eq!(w.mutations(), 0);
}

#[tokio::test]
async fn deleting_with_orphan_changes_nothing_and_cleanup_tolerates_no_apply() {
    let mut w = World::standard();
    w.reconcile().await.unwrap();
    let hash = w.plan_hash();
    w.approve(&hash);
    w.reconcile().await.unwrap();
    let after = w.mutations();
    w.cleanup().await.unwrap();
    assert_eq!(w.mutations(), after, "Orphan: no AWS change");

    let mut fresh = World::new(json!({
        "region": "af-south-1", "accountId": "123456789012", "groups": {"ids": [GROUP]},
        "evidence": {"s3": {"bucket": "b"}}, "deletionPolicy": "Revert"
    }));
    fresh.cleanup().await.unwrap();
    assert_eq!(fresh.mutations(), 0, "no apply recorded: nothing to revert");
}

#[tokio::test]
async fn ids_and_tags_select_the_union_of_both() {
    let mut spec = World::default_spec();
    spec["groups"]["tags"] = json!({"team": "payments"});
    let mut w = World::new(spec);
    let mut tagged = original_group();
    tagged.group_id = "sg-0fedcba9876543210".into();
    tagged.tags = vec![crate::domain::snapshot::Tag {
        key: "team".into(),
        value: "payments".into(),
    }];
    let fake = FakeSecurityGroups::new([original_group(), tagged]);
    w.aws = FakeAws::new(fake);
    w.reconcile().await.unwrap();
    let plan = w.object.status.clone().unwrap().plan.unwrap();
    let ids: Vec<&str> = plan.groups.iter().map(|g| g.group_id.as_str()).collect();
    assert_eq!(
        ids,
        [GROUP, "sg-0fedcba9876543210"],
        "the untagged listed id and the tagged group"
    );
}

#[tokio::test]
async fn a_selector_that_matches_no_group_is_reported() {
    let mut spec = World::default_spec();
    spec["groups"] = json!({"tags": {"team": "nobody"}});
    let mut w = World::new(spec);
    w.reconcile().await.unwrap();
    let (status, reason, message) = w.condition(types::READY);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "GroupsNotFound")
    );
    assert!(message.contains("no security group"), "{message}");
    assert!(
        w.aws.flow_logs.requests().is_empty(),
        "no evidence read for nothing"
    );
}

#[tokio::test]
async fn after_a_restart_the_approved_plan_applies_without_re_reading_the_logs() {
    let mut w = World::standard();
    w.reconcile().await.unwrap();
    let hash = w.plan_hash();
    w.approve(&hash);
    w.cache = super::observe::EvidenceCache::default();
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Applied);
    assert_eq!(
        w.aws.flow_logs.requests().len(),
        1,
        "no re-plan needed, so no re-read"
    );
}

#[tokio::test]
async fn a_failed_evidence_read_is_never_ready_and_changes_nothing() {
    let mut w = World::standard();
    let failure = crate::aws::Failure::new(
        "read flow logs from s3://flow-logs/AWSLogs/",
        "SlowDown",
        "busy",
    );
    w.aws
        .flow_logs
        .fail(crate::aws::AwsError::Throttled(failure));
    let error = w.reconcile().await.unwrap_err();
    assert_eq!(error.reason(), "AwsThrottled");
    let (status, reason, message) = w.condition(types::READY);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "AwsThrottled")
    );
    assert!(message.contains("failed to read flow logs"), "{message}");
    assert_eq!(w.condition(types::RECONCILING).0, "True");
    assert_eq!(w.mutations(), 0);
}
