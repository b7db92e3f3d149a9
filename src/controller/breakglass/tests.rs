//! Controller layer: the break-glass reconciler against fakes — explicit rules added at once,
//! budgets, refusals with no AWS call, reference-counted expiry, spec changes, deletion.

use super::world::{explicit, group, World, A, B, OFFICE};
use crate::aws::ec2::fake::Operation;
use crate::aws::{AwsError, Failure};
use crate::crd::{BreakGlassGroupState as S, BreakGlassPhase};
use crate::domain::breakglass::TighteningChange;
use serde_json::json;

const RULE: &str = "tcp:443 10.4.0.0/16";
const DESCRIPTION: &str = "sg-tightener break-glass: DR failover INC-1234";

fn phase(w: &World, i: usize) -> BreakGlassPhase {
    w.objects[i]
        .status
        .as_ref()
        .map(|s| s.phase)
        .unwrap_or_default()
}

#[tokio::test]
async fn explicit_rules_go_on_every_group_at_once_with_the_reason_in_their_description() {
    let mut w = World::new();
    let i = w.create("dr", explicit(&["10.4.0.0/16"], "72h", "Retain"));
    w.advance(1);
    w.reconcile(i).await.unwrap();
    for id in [A, B] {
        assert!(w
            .described(id)
            .contains(&(RULE.into(), Some(DESCRIPTION.into()))));
        assert_eq!(w.group_state(i, id), S::Added);
    }
    let status = w.objects[i].status.clone().unwrap();
    assert_eq!(
        (status.phase, status.rules_added),
        (BreakGlassPhase::Applied, 2)
    );
    assert_eq!(status.applied_generation, Some(1));
    assert!(status.applied_at.is_some() && status.expires_at.is_some());
    assert_eq!(w.condition(i, "Ready").0, "True");
    assert_eq!(w.condition(i, "Expired").1, "NotExpired");
    assert_eq!(w.store.event_reasons(), ["BreakGlassApplied"]);
    assert!(
        w.objects[i].metadata.finalizers.is_none(),
        "no finalizer with deletionPolicy: Retain"
    );
    let metrics = w.metrics.encode();
    assert!(
        metrics.contains(
            "sgtightener_breakglass_live_rules{region=\"af-south-1\",group_id=\"sg-aaaaaaaa\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("sgtightener_breakglass_apply_seconds_count{mode=\"explicit\"} 1"),
        "{metrics}"
    );
    let mutations = w.mutations();
    w.advance(60);
    w.reconcile(i).await.unwrap();
    assert_eq!(
        w.mutations(),
        mutations,
        "a steady reconcile adds nothing again"
    );
}

#[tokio::test]
async fn a_group_at_its_budget_is_skipped_and_the_others_proceed() {
    let mut w = World::new();
    let full: Vec<String> = (0..58)
        .map(|p| format!("tcp:{} 10.50.0.0/24", 2000 + p))
        .collect();
    let mut rules: Vec<&str> = full.iter().map(String::as_str).collect();
    rules.push(OFFICE);
    w.aws.security_groups.put_group(group(B, &rules, "old"));
    let i = w.create(
        "dr",
        explicit(&["10.4.0.0/16", "10.5.0.0/16"], "72h", "Retain"),
    );
    w.reconcile(i).await.unwrap();
    assert_eq!(w.group_state(i, A), S::Added);
    assert_eq!(w.group_state(i, B), S::SkippedBudget);
    assert_eq!(phase(&w, i), BreakGlassPhase::PartiallyApplied);
    let (ready, reason, message) = w.condition(i, "Ready");
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", "PartiallyApplied")
    );
    assert!(message.contains(B), "{message}");
    assert_eq!(w.rules(B).len(), 59, "nothing was added to the full group");
}

#[tokio::test]
async fn refused_specs_make_no_aws_call() {
    let cases = [
        (
            explicit(&["10.0.0.0/8"], "72h", "Retain"),
            "spec.rules.cidrs[0]",
        ),
        (explicit(&["8.8.8.0/24"], "72h", "Retain"), "public sources"),
        (
            explicit(&["10.4.0.0/16"], "800h", "Retain"),
            "spec.expiresAfter",
        ),
    ];
    for (spec, text) in cases {
        let mut w = World::new();
        let i = w.create("bad", spec);
        let error = w.reconcile(i).await.unwrap_err();
        assert_eq!(error.reason(), "InvalidSpec");
        let (ready, reason, message) = w.condition(i, "Ready");
        assert_eq!((ready.as_str(), reason.as_str()), ("False", "InvalidSpec"));
        assert!(message.contains(text), "{message}");
        assert!(
            w.aws.security_groups.calls().is_empty(),
            "{text}: AWS was called"
        );
        assert!(
            w.aws.targets().is_empty(),
            "{text}: no AWS client was even made"
        );
    }
}

#[tokio::test]
async fn a_rule_two_extensions_need_stays_until_the_last_one_expires_and_the_past_stays() {
    let mut w = World::new();
    let first = w.create("first", explicit(&["10.4.0.0/16"], "1h", "Revoke"));
    w.reconcile(first).await.unwrap();
    w.advance(60);
    let second = w.create(
        "second",
        explicit(&["10.4.0.0/16", "10.9.0.0/16"], "2h", "Revoke"),
    );
    w.edit(second, |s| {
        s["rules"]["ports"] = json!(["tcp:443", "tcp:22"])
    });
    w.reconcile(second).await.unwrap();
    let held = w.objects[second].status.clone().unwrap().groups;
    assert!(held.iter().all(|g| g.shared == [RULE]), "{held:?}");
    assert!(
        held.iter()
            .all(|g| !g.added.contains(&OFFICE.to_string())
                && !g.shared.contains(&OFFICE.to_string())),
        "the office rule predates every extension: never referenced"
    );
    w.advance(3600);
    w.reconcile(first).await.unwrap();
    assert_eq!(phase(&w, first), BreakGlassPhase::Expired);
    assert_eq!(w.condition(first, "Expired").0, "True");
    assert!(w
        .condition(first, "Expired")
        .2
        .contains("needed by extension payments/second"));
    assert!(
        w.rules(A).contains(RULE),
        "the second extension still needs it"
    );
    assert!(w
        .store
        .event_reasons()
        .contains(&"BreakGlassExpired".to_string()));

    // A restart: fresh lock and caches; the record lives in the statuses.
    let (objects, aws) = (w.objects.clone(), w.aws);
    let mut w = World::new();
    w.aws = aws;
    w.objects = objects;
    w.now = jiff::Timestamp::from_second(1_800_000_000 + 60 + 7200).unwrap();
    w.reconcile(second).await.unwrap();
    assert_eq!(phase(&w, second), BreakGlassPhase::Expired);
    for id in [A, B] {
        let rules = w.rules(id);
        assert!(!rules.contains(RULE), "the last holder expired: revoked");
        assert!(
            rules.contains(OFFICE),
            "a rule that predates every extension stays"
        );
        assert!(!rules.contains("tcp:443 10.9.0.0/16"), "{rules:?}");
    }
}

#[tokio::test]
async fn a_spec_change_adds_only_the_difference_and_revokes_what_it_no_longer_asks_for() {
    let mut w = World::new();
    let i = w.create(
        "dr",
        explicit(&["10.4.0.0/16", "10.5.0.0/16"], "72h", "Revoke"),
    );
    w.reconcile(i).await.unwrap();
    let calls = w.aws.security_groups.calls().len();
    w.edit(i, |s| {
        s["rules"]["cidrs"] = json!(["10.4.0.0/16", "10.6.0.0/16"])
    });
    w.reconcile(i).await.unwrap();
    let authorised: Vec<String> = w.aws.security_groups.calls()[calls..]
        .iter()
        .filter(|c| c.operation == Operation::Authorise)
        .flat_map(|c| {
            c.permissions
                .iter()
                .flat_map(|p| p.ip_ranges.iter().map(|r| r.cidr_ip.clone()))
        })
        .collect();
    assert_eq!(
        authorised,
        ["10.6.0.0/16", "10.6.0.0/16"],
        "one add per group, the new CIDR only"
    );
    for id in [A, B] {
        let rules = w.rules(id);
        assert!(rules.contains(RULE) && rules.contains("tcp:443 10.6.0.0/16"));
        assert!(
            !rules.contains("tcp:443 10.5.0.0/16"),
            "dropped from the spec: revoked"
        );
    }
    let group = &w.objects[i].status.as_ref().unwrap().groups[0];
    assert_eq!(group.revoked, ["tcp:443 10.5.0.0/16"]);
}

#[tokio::test]
async fn deletion_with_revoke_removes_exactly_what_it_added_and_retain_changes_nothing() {
    let mut w = World::new();
    let i = w.create("dr", explicit(&["10.4.0.0/16"], "72h", "Revoke"));
    let before = w.described(A);
    w.reconcile(i).await.unwrap();
    assert!(
        w.objects[i].metadata.finalizers.is_some(),
        "Revoke needs a finalizer"
    );
    w.delete(i);
    w.reconcile(i).await.unwrap();
    assert_eq!(
        w.described(A),
        before,
        "exactly the rules it added are gone"
    );
    assert!(
        w.objects[i].metadata.finalizers.is_none(),
        "the finalizer is released"
    );

    let mut w = World::new();
    let i = w.create("dr", explicit(&["10.4.0.0/16"], "72h", "Retain"));
    w.reconcile(i).await.unwrap();
    let after = w.mutations();
    w.delete(i);
    w.reconcile(i).await.unwrap();
    assert_eq!(
        w.mutations(),
        after,
        "Retain: deleting changes nothing in AWS"
    );
}

#[tokio::test]
async fn rules_added_just_before_a_crash_are_recognised_from_the_pending_record() {
    let mut w = World::new();
    let i = w.create("dr", explicit(&["10.4.0.0/16"], "1h", "Revoke"));
    w.reconcile(i).await.unwrap();
    // As if the operator died after authorising but before recording: only `pending` is known.
    let status = w.objects[i].status.as_mut().unwrap();
    status.applied_generation = None;
    for g in &mut status.groups {
        g.pending = std::mem::take(&mut g.added);
    }
    w.reconcile(i).await.unwrap();
    let groups = &w.objects[i].status.as_ref().unwrap().groups;
    assert!(
        groups
            .iter()
            .all(|g| g.added == [RULE] && g.pending.is_empty()),
        "{groups:?}"
    );
    w.advance(3600);
    w.reconcile(i).await.unwrap();
    assert!(
        !w.rules(A).contains(RULE),
        "revoked at expiry: it was this extension's"
    );
}

#[tokio::test]
async fn an_applied_tightening_supersedes_and_owns_what_it_replaced_or_authorised() {
    let mut w = World::new();
    let i = w.create(
        "dr",
        explicit(&["10.4.0.0/16", "10.5.0.0/16"], "1h", "Revoke"),
    );
    w.reconcile(i).await.unwrap();
    let change = TighteningChange {
        resource: "payments/web".into(),
        plan_hash: "ab".repeat(32),
        group_id: A.into(),
        revoke: vec![RULE.into()],
        authorise: vec!["tcp:443 10.5.0.0/16".into()],
    };
    *w.store.changes.lock().unwrap() = vec![change];
    w.advance(60);
    w.reconcile(i).await.unwrap();
    let (status, _, message) = w.condition(i, "Superseded");
    assert_eq!(status, "True");
    assert!(
        message.contains("payments/web") && message.contains(&"ab".repeat(32)),
        "{message}"
    );
    w.advance(3600);
    w.reconcile(i).await.unwrap();
    assert!(
        w.rules(A).contains("tcp:443 10.5.0.0/16"),
        "a rule the tightening's plan authorised is the tightening's now"
    );
    assert!(
        !w.rules(B).contains("tcp:443 10.5.0.0/16"),
        "on B nobody owns it: revoked"
    );
}

#[tokio::test]
async fn a_throttled_group_is_retried_and_the_others_are_kept() {
    let mut w = World::new();
    let throttled = AwsError::Throttled(Failure::new(
        "authorise ingress on sg-aaaaaaaa",
        "RequestLimitExceeded",
        "slow down",
    ));
    w.aws
        .security_groups
        .fail_next(Operation::Authorise, throttled);
    let i = w.create("dr", explicit(&["10.4.0.0/16"], "72h", "Retain"));
    let error = w.reconcile(i).await.unwrap_err();
    assert_eq!(error.reason(), "AwsThrottled");
    assert_eq!(w.group_state(i, A), S::Error);
    assert_eq!(w.group_state(i, B), S::Added);
    assert_eq!(w.condition(i, "Ready").0, "False");
    w.reconcile(i).await.unwrap();
    assert_eq!(
        (w.group_state(i, A), w.group_state(i, B)),
        (S::Added, S::Added)
    );
    assert_eq!(phase(&w, i), BreakGlassPhase::Applied);
}
