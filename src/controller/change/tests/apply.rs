//! Controller layer tests: apply, halt, resume, revert, diagnose and deletion with `Revert`,
//! against the fakes. Invariants: make-before-break, write-ahead before the first mutation, no
//! original rule lost when interrupted, exact revert.

use crate::aws::ec2::fake::Operation;
use crate::controller::tightening::world::{
    approved, denied, document, exact, original_group, rejected, rules, throttled, World, GROUP,
};
use crate::crd::{GroupApplyState, PlanPhase};
use crate::domain::conditions::types;
use serde_json::json;

async fn approved_world() -> World {
    approved(World::standard()).await
}

fn has(w: &World, rule: &str) -> bool {
    exact(&w.live()).iter().any(|(r, _)| r == rule)
}

#[tokio::test]
async fn the_approved_plan_is_applied_make_before_break_after_the_write_ahead() {
    let mut w = approved_world().await;
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Applied);
    assert_eq!(w.condition(types::READY).1, "Applied");
    assert_eq!(w.condition(types::APPLIED).0, "True");
    let calls: Vec<Operation> = w
        .aws
        .security_groups
        .calls()
        .iter()
        .map(|c| c.operation)
        .filter(|o| matches!(o, Operation::Authorise | Operation::Revoke))
        .collect();
    assert_eq!(
        calls,
        [Operation::Authorise, Operation::Revoke],
        "authorise before revoke"
    );
    assert!(!has(&w, "tcp:443 10.0.0.0/16"));
    assert!(
        has(&w, "tcp:22 10.9.0.0/16"),
        "the rule without evidence is kept"
    );
    let short = &w.plan_hash()[..12];
    let added: Vec<_> = exact(&w.live())
        .into_iter()
        .filter(|(r, _)| r.starts_with("tcp:443"))
        .collect();
    assert!(!added.is_empty());
    assert!(
        added
            .iter()
            .all(|(_, d)| d.as_deref() == Some(&format!("sg-tightener {short}")[..])),
        "{added:?}"
    );

    let status = w.object.status.clone().unwrap();
    let applied = status.applied.unwrap();
    assert_eq!(applied.manifest_config_map, format!("sgt-web-{short}"));
    assert!(applied.finished_at.is_some());
    assert!(applied
        .groups
        .iter()
        .all(|g| g.status == GroupApplyState::Applied));
    let manifests = w.store.manifests.lock().unwrap().clone();
    let manifest = &manifests[&format!("payments/sgt-web-{short}")];
    assert_eq!(
        manifest.groups[0].ip_permissions,
        original_group().ip_permissions,
        "exact pre-change rules"
    );
    let writes = w.store.statuses.lock().unwrap().clone();
    let first_applying = writes
        .iter()
        .position(|s| s.phase == PlanPhase::Applying)
        .unwrap();
    assert!(
        writes[first_applying]
            .applied
            .as_ref()
            .unwrap()
            .groups
            .iter()
            .all(|g| g.status == GroupApplyState::Pending),
        "write-ahead precedes any group progress"
    );
    let reasons = w.store.event_reasons();
    assert!(
        reasons.ends_with(&["ApplyStarted".to_string(), "Applied".to_string()]),
        "{reasons:?}"
    );

    let mutations = w.mutations();
    w.reconcile().await.unwrap();
    assert_eq!(
        w.mutations(),
        mutations,
        "an applied plan is not applied again"
    );
    assert_eq!(w.phase(), PlanPhase::Applied);
}

#[tokio::test]
async fn a_permanently_failed_revoke_halts_keeps_the_original_rule_and_says_how_to_revert() {
    let mut w = approved_world().await;
    w.aws
        .security_groups
        .fail_next(Operation::Revoke, denied("revoke ingress"));
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Halted);
    let (status, reason, message) = w.condition(types::APPLIED);
    assert_eq!((status.as_str(), reason.as_str()), ("False", "ApplyHalted"));
    assert!(message.contains(r#"{"spec":{"revert":true}}"#), "{message}");
    assert!(message.contains(GROUP), "{message}");
    assert!(
        has(&w, "tcp:443 10.0.0.0/16"),
        "no original rule lost between authorise and revoke"
    );
    let applied = w.object.status.clone().unwrap().applied.unwrap();
    assert_eq!(applied.groups[0].status, GroupApplyState::Failed);
    assert!(applied.groups[0]
        .message
        .as_deref()
        .unwrap()
        .contains("access denied"));
    assert!(w.store.event_reasons().contains(&"ApplyHalted".to_string()));

    let mutations = w.mutations();
    w.reconcile().await.unwrap();
    assert_eq!(w.mutations(), mutations, "a halted apply stays halted");
    assert_eq!(w.condition(types::STALLED).1, "ApplyHalted");

    w.revert(true);
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Reverted);
    assert_eq!(
        exact(&w.live()),
        exact(&original_group()),
        "revert restores exactly"
    );
}

#[tokio::test]
async fn a_throttled_revoke_pauses_the_apply_and_the_next_reconcile_resumes_without_repeating_the_authorise(
) {
    let mut w = approved_world().await;
    w.aws
        .security_groups
        .fail_next(Operation::Revoke, throttled("revoke ingress"));
    let error = w.reconcile().await.unwrap_err();
    assert_eq!(error.reason(), "AwsThrottled");
    assert_eq!(w.phase(), PlanPhase::Applying, "not halted");
    assert_eq!(w.condition(types::APPLIED).1, "ApplyRetrying");
    assert_eq!(w.condition(types::RECONCILING).0, "True");
    let applied = w.object.status.clone().unwrap().applied.unwrap();
    assert_eq!(applied.groups[0].status, GroupApplyState::Authorised);
    let authorises = |w: &World| {
        w.aws
            .security_groups
            .calls()
            .iter()
            .filter(|c| c.operation == Operation::Authorise)
            .count()
    };
    let before = authorises(&w);
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Applied);
    assert_eq!(authorises(&w), before, "the new rules were already there");
    assert!(!has(&w, "tcp:443 10.0.0.0/16"));
    assert_eq!(w.condition(types::READY).1, "Applied");
    assert!(!w.store.event_reasons().contains(&"ApplyHalted".to_string()));
}

#[tokio::test]
async fn revert_restores_the_exact_pre_apply_rules_and_verifies_them() {
    let mut w = approved_world().await;
    w.reconcile().await.unwrap();
    assert_ne!(exact(&w.live()), exact(&original_group()));
    w.revert(true);
    w.reconcile().await.unwrap();
    assert_eq!(exact(&w.live()), exact(&original_group()));
    assert_eq!(w.phase(), PlanPhase::Reverted);
    assert_eq!(w.condition(types::REVERTED).0, "True");
    assert_eq!(w.condition(types::READY).1, "Reverted");
    let applied = w.object.status.clone().unwrap().applied.unwrap();
    assert!(applied.reverted_at.is_some());
    assert!(w.store.event_reasons().contains(&"Reverted".to_string()));
    let mutations = w.mutations();
    w.reconcile().await.unwrap();
    assert_eq!(
        w.mutations(),
        mutations,
        "a verified revert is not repeated"
    );
}

#[tokio::test]
async fn a_break_glass_rule_added_after_the_apply_is_left_alone_and_the_revert_verifies() {
    let mut w = approved_world().await;
    w.reconcile().await.unwrap();
    let extra = rules(&[(
        "tcp:8080 10.3.0.0/16",
        Some("sg-tightener break-glass: INC-7 failover"),
    )]);
    crate::aws::SecurityGroups::authorise_ingress(w.aws.security_groups.as_ref(), GROUP, &extra)
        .await
        .unwrap();
    w.revert(true);
    w.reconcile().await.unwrap();
    let (status, reason, message) = w.condition(types::REVERTED);
    assert_eq!((status.as_str(), reason.as_str()), ("True", "Reverted"));
    assert!(
        message.contains("left alone") && message.contains("tcp:8080 10.3.0.0/16"),
        "{message}"
    );
    let mut expected = exact(&original_group());
    expected.push((
        "tcp:8080 10.3.0.0/16".into(),
        Some("sg-tightener break-glass: INC-7 failover".into()),
    ));
    expected.sort();
    assert_eq!(
        exact(&w.live()),
        expected,
        "pre-apply rules back, break-glass kept"
    );
}

#[tokio::test]
async fn diagnose_reports_rejected_sources_no_rule_covers_once() {
    let mut w = approved_world().await;
    w.reconcile().await.unwrap();
    w.aws.flow_logs.answer(document(rejected(), true));
    w.now += jiff::SignedDuration::from_secs(3600);
    w.reconcile().await.unwrap();
    let diagnosis = w.object.status.clone().unwrap().diagnosis.unwrap();
    assert_eq!(diagnosis.rejected_sources.len(), 1);
    let found = &diagnosis.rejected_sources[0];
    assert_eq!(
        (found.source.as_str(), found.protocol.as_str(), found.port),
        ("10.0.99.7", "tcp", 443)
    );
    assert_eq!(found.group_ids, [GROUP]);
    assert_eq!(w.condition(types::REJECTED_TRAFFIC).0, "True");
    assert_eq!(w.condition(types::READY).1, "Applied");
    let last = w.aws.flow_logs.requests().last().cloned().unwrap();
    assert_eq!(last.action, crate::domain::flowlog::ActionFilter::Reject);
    assert_eq!(
        last.window.end.duration_since(last.window.start),
        jiff::SignedDuration::from_hours(24)
    );
    w.now += jiff::SignedDuration::from_secs(3600);
    w.reconcile().await.unwrap();
    let warnings = w
        .store
        .event_reasons()
        .iter()
        .filter(|r| *r == "RejectedTraffic")
        .count();
    assert_eq!(
        warnings, 1,
        "the Warning is published on the transition only"
    );
    assert_eq!(w.mutations(), 2, "diagnosis changes nothing in AWS");
}

#[tokio::test]
async fn deleting_with_revert_restores_the_pre_apply_rules() {
    let mut spec = World::default_spec();
    spec["deletionPolicy"] = json!("Revert");
    let mut w = World::new(spec);
    w.reconcile().await.unwrap();
    let hash = w.plan_hash();
    w.approve(&hash);
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Applied);
    w.cleanup().await.unwrap();
    assert_eq!(exact(&w.live()), exact(&original_group()));
}

#[tokio::test]
async fn a_group_marked_interruption_revokes_first_to_stay_within_the_rule_limit() {
    let mut spec = World::default_spec();
    spec["collapse"] = json!({"maxRules": 2});
    let mut w = World::new(spec);
    w.aws.security_groups.set_rule_limit(2);
    w.reconcile().await.unwrap();
    let plan = w.object.status.clone().unwrap().plan.unwrap();
    assert!(plan.groups[0].interruption, "{:?}", plan.groups[0]);
    let hash = w.plan_hash();
    w.approve(&hash);
    w.reconcile().await.unwrap();
    assert_eq!(
        w.phase(),
        PlanPhase::Applied,
        "{:?}",
        w.condition(types::READY)
    );
    let calls: Vec<Operation> = w
        .aws
        .security_groups
        .calls()
        .iter()
        .map(|c| c.operation)
        .filter(|o| matches!(o, Operation::Authorise | Operation::Revoke))
        .collect();
    assert_eq!(calls, [Operation::Revoke, Operation::Authorise]);
    assert!(!has(&w, "tcp:443 10.0.0.0/16"));
}

#[tokio::test]
async fn a_failed_authorise_halts_before_any_revoke() {
    let mut w = approved_world().await;
    w.aws
        .security_groups
        .fail_next(Operation::Authorise, denied("authorise ingress"));
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Halted);
    assert_eq!(
        exact(&w.live()),
        exact(&original_group()),
        "nothing changed"
    );
    let revokes = w
        .aws
        .security_groups
        .calls()
        .iter()
        .filter(|c| c.operation == Operation::Revoke)
        .count();
    assert_eq!(revokes, 0);
}
