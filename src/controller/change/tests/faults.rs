//! Controller layer tests (issue 9): applies and reverts under AWS faults, against the fakes —
//! a revert at the rule limit, a throttle inside an interruption group, reverts that fail or meet
//! deleted groups, deletion that waits for a verified revert.

use crate::aws::ec2::fake::Operation;
use crate::controller::tightening::world::{
    approved, at_the_limit, denied, exact, mutations_in_order, original_group, throttled,
    two_groups, World, GROUP, OTHER,
};
use crate::crd::{GroupApplyState, PlanPhase};
use crate::domain::conditions::types;
use serde_json::json;

#[tokio::test]
async fn reverting_an_interruption_group_at_the_rule_limit_revokes_the_additions_first() {
    let mut w = approved(at_the_limit()).await;
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Applied);
    let applied = mutations_in_order(&w).len();
    w.revert(true);
    w.reconcile().await.unwrap();
    assert_eq!(
        w.phase(),
        PlanPhase::Reverted,
        "{:?}",
        w.condition(types::READY)
    );
    assert_eq!(exact(&w.live()), exact(&original_group()));
    assert_eq!(
        mutations_in_order(&w)[applied..],
        [Operation::Revoke, Operation::Authorise],
        "no room for both: the apply's additions go first"
    );
}

#[tokio::test]
async fn a_throttle_between_an_interruption_groups_revoke_and_authorise_resumes_instead_of_halting()
{
    let mut w = approved(at_the_limit()).await;
    w.aws
        .security_groups
        .fail_next(Operation::Authorise, throttled("authorise ingress"));
    let error = w.reconcile().await.unwrap_err();
    assert_eq!(error.reason(), "AwsThrottled");
    assert_eq!(w.phase(), PlanPhase::Applying, "not Halted");
    assert_eq!(w.condition(types::APPLIED).1, "ApplyRetrying");
    let (ready, reason, _) = w.condition(types::READY);
    assert_eq!((ready.as_str(), reason.as_str()), ("False", "AwsThrottled"));
    assert!(
        !exact(&w.live())
            .iter()
            .any(|(r, _)| r == "tcp:443 10.0.0.0/16"),
        "the revoke ran: the ports are closed until the authorise succeeds"
    );
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Applied);
    let plan = w.object.status.clone().unwrap().plan.unwrap();
    for rule in &plan.groups[0].authorise {
        assert!(exact(&w.live()).iter().any(|(r, _)| r == rule), "{rule}");
    }
    assert!(!w.store.event_reasons().contains(&"ApplyHalted".into()));
}

#[tokio::test]
async fn a_revert_that_fails_sets_no_reverted_at_and_revert_false_then_does_not_show_applied() {
    let mut w = approved(World::standard()).await;
    w.reconcile().await.unwrap();
    w.aws
        .security_groups
        .fail_next(Operation::Revoke, denied("revoke ingress"));
    w.revert(true);
    w.reconcile().await.unwrap();
    let (status, reason, _) = w.condition(types::REVERTED);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "RevertFailed")
    );
    let applied = w.object.status.clone().unwrap().applied.unwrap();
    assert!(applied.reverted_at.is_none() && applied.revert_started_at.is_some());
    assert!(
        exact(&w.live())
            .iter()
            .any(|(r, _)| r == "tcp:443 10.0.0.0/16"),
        "the pre-apply rule is back although the additions could not be revoked"
    );

    w.revert(false);
    w.reconcile().await.unwrap();
    let (ready, reason, message) = w.condition(types::READY);
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", "RevertIncomplete")
    );
    assert!(message.contains("spec.revert: true"), "{message}");
    assert_ne!(w.phase(), PlanPhase::Applied);

    w.revert(true);
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Reverted);
    assert_eq!(exact(&w.live()), exact(&original_group()));
}

#[tokio::test]
async fn a_group_deleted_in_aws_is_reported_and_the_revert_of_the_others_finishes() {
    let mut w = approved(two_groups()).await;
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Applied);
    w.aws.security_groups.remove_group(OTHER);
    w.reconcile().await.unwrap();
    assert_eq!(w.condition(types::READY).1, "GroupsNotFound");
    w.revert(true);
    w.reconcile().await.unwrap();
    let (status, _, message) = w.condition(types::REVERTED);
    assert_eq!(status, "True", "{message}");
    assert!(
        message.contains(OTHER) && message.contains("deleted"),
        "{message}"
    );
    assert_eq!(exact(&w.live()), exact(&original_group()));
    let applied = w.object.status.clone().unwrap().applied.unwrap();
    let state = |id: &str| {
        applied
            .groups
            .iter()
            .find(|g| g.group_id == id)
            .unwrap()
            .status
    };
    assert_eq!(state(GROUP), GroupApplyState::Reverted);
    assert_eq!(state(OTHER), GroupApplyState::Deleted);
    let mutations = w.mutations();
    w.reconcile().await.unwrap();
    assert_eq!(w.mutations(), mutations, "not retried");
}

#[tokio::test]
async fn a_halted_apply_whose_group_was_deleted_stays_halted_and_still_reverts() {
    let mut w = approved(two_groups()).await;
    w.aws
        .security_groups
        .fail_next(Operation::Revoke, denied("revoke ingress"));
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Halted);
    w.aws.security_groups.remove_group(OTHER);
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Halted, "not overwritten by Failed");
    assert_eq!(w.condition(types::STALLED).1, "ApplyHalted");
    w.revert(true);
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Reverted);
    assert_eq!(exact(&w.live()), exact(&original_group()));
}

#[tokio::test]
async fn a_resumed_apply_skips_a_deleted_group_and_finishes_the_others() {
    let mut w = approved(two_groups()).await;
    w.aws
        .security_groups
        .fail_next(Operation::Authorise, throttled("authorise ingress"));
    w.reconcile().await.unwrap_err();
    w.aws.security_groups.remove_group(GROUP);
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Applied);
    let (_, _, message) = w.condition(types::APPLIED);
    assert!(
        message.contains(GROUP) && message.contains("deleted"),
        "{message}"
    );
    let other = w.aws.security_groups.group(OTHER).unwrap();
    assert!(!exact(&other)
        .iter()
        .any(|(r, _)| r == "tcp:443 10.0.0.0/16"));
}

#[tokio::test]
async fn deletion_with_revert_keeps_the_finalizer_until_the_revert_is_verified_unless_forced() {
    let mut spec = World::default_spec();
    spec["deletionPolicy"] = json!("Revert");
    let mut w = approved(World::new(spec)).await;
    w.reconcile().await.unwrap();
    assert_eq!(w.claims.claims.lock().unwrap().len(), 1);
    w.aws
        .security_groups
        .fail_next(Operation::Revoke, denied("revoke ingress"));
    let error = w.cleanup().await.unwrap_err();
    assert_eq!(error.reason(), "RevertFailed");
    assert!(
        error.to_string().contains("sgtightener.io/force-delete"),
        "{error}"
    );
    assert_eq!(w.claims.claims.lock().unwrap().len(), 1, "still claimed");

    w.object.metadata.annotations = Some(
        [(
            "sgtightener.io/force-delete".to_string(),
            "true".to_string(),
        )]
        .into(),
    );
    let mutations = w.mutations();
    w.cleanup().await.unwrap();
    assert_eq!(w.mutations(), mutations, "forced: no further AWS call");
    assert!(
        w.claims.claims.lock().unwrap().is_empty(),
        "claims released"
    );
    assert!(w.store.event_reasons().contains(&"RevertIncomplete".into()));
}
