//! Controller layer tests: re-admitting a source after an apply. The re-plan starts from the
//! rules before the first apply (recorded in the manifest), authorises the vouched-for source
//! inside the original rule, revokes only live tightened rules, and a revert of the chained
//! apply restores the state before the first apply exactly.

use super::world::{approved, exact, original_group, World, GROUP};
use crate::crd::tightening::AdditionalSource;
use crate::crd::PlanPhase;
use crate::domain::conditions::types;
use crate::domain::plan::snapshot_hash;
use crate::domain::rules::parse_rule;
use std::net::Ipv4Addr;

const LOCKED_OUT: &str = "10.0.99.7";

/// True when a live `tcp:443` rule lets `source` in.
fn allows(w: &World, source: &str) -> bool {
    let address: Ipv4Addr = source.parse().unwrap();
    exact(&w.live()).iter().any(|(text, _)| {
        let rule = parse_rule(text).unwrap();
        text.starts_with("tcp:443 ") && rule.v4_cidr().is_some_and(|c| c.contains(&address))
    })
}

/// Every live `tcp:443` rule lies inside the original `10.0.0.0/16` (never widened).
fn inside_original(w: &World) -> bool {
    let original: ipnet::Ipv4Net = "10.0.0.0/16".parse().unwrap();
    exact(&w.live())
        .iter()
        .filter(|(t, _)| t.starts_with("tcp:443 "))
        .all(|(t, _)| {
            let cidr = parse_rule(t).unwrap().v4_cidr().unwrap();
            original.contains(&cidr)
        })
}

async fn applied_once() -> World {
    let mut w = approved(World::standard()).await;
    w.reconcile().await.unwrap();
    assert_eq!(w.phase(), PlanPhase::Applied);
    assert!(
        !allows(&w, LOCKED_OUT),
        "the first apply locks the source out"
    );
    w
}

fn vouch(w: &mut World, cidr: &str) {
    w.object
        .spec
        .evidence
        .additional_sources
        .push(AdditionalSource {
            cidr: cidr.into(),
            description: "diagnose finding".into(),
        });
    w.bump();
}

#[tokio::test]
async fn a_vouched_source_is_re_admitted_inside_the_original_rule_and_revert_restores_the_first_state(
) {
    let mut w = applied_once().await;
    let tightened = exact(&w.live());
    let first_manifest = w.object.status.clone().unwrap().applied.unwrap();
    vouch(&mut w, &format!("{LOCKED_OUT}/32"));
    let mutations = w.mutations();
    w.reconcile().await.unwrap();
    assert_eq!(w.mutations(), mutations, "a plan changes nothing");
    let plan = w.object.status.clone().unwrap().plan.unwrap();
    assert_eq!(
        plan.snapshot_hash,
        snapshot_hash(&[w.live()]),
        "the plan is judged against the live (tightened) rules"
    );
    let group = &plan.groups[0];
    assert!(!group.authorise.is_empty(), "{group:?}");
    for text in &group.revoke {
        assert!(
            tightened.iter().any(|(t, _)| t == text),
            "revokes only live rules: {text}"
        );
    }
    assert!(!group.revoke.contains(&"tcp:443 10.0.0.0/16".to_string()));
    assert!(group
        .warnings
        .iter()
        .any(|x| x.contains("before the first apply")));
    assert_eq!(w.phase(), PlanPhase::AwaitingApproval);

    let hash = w.plan_hash();
    w.approve(&hash);
    w.reconcile().await.unwrap();
    assert_eq!(
        w.phase(),
        PlanPhase::Applied,
        "{:?}",
        w.condition(types::READY)
    );
    assert!(allows(&w, LOCKED_OUT), "re-admitted");
    for seen in ["10.0.10.1", "10.0.10.2", "10.0.10.3", "10.0.10.9"] {
        assert!(allows(&w, seen), "{seen} stays allowed");
    }
    assert!(inside_original(&w), "{:?}", exact(&w.live()));
    assert!(
        exact(&w.live())
            .iter()
            .any(|(t, _)| t == "tcp:22 10.9.0.0/16"),
        "the rule without evidence is kept"
    );

    let manifests = w.store.manifests.lock().unwrap().clone();
    let second = w.object.status.clone().unwrap().applied.unwrap();
    let chained = &manifests[&format!("payments/{}", second.manifest_config_map)];
    assert_eq!(
        chained.previous.as_deref(),
        Some(first_manifest.manifest_config_map.as_str())
    );
    assert_eq!(
        chained.groups[0].original(),
        original_group().ip_permissions.as_slice(),
        "the chain carries the rules before the first apply"
    );

    w.revert(true);
    w.reconcile().await.unwrap();
    assert_eq!(w.condition(types::REVERTED).0, "True");
    assert_eq!(
        exact(&w.live()),
        exact(&original_group()),
        "the state before the FIRST apply, descriptions included"
    );
    let manifests = w.store.manifests.lock().unwrap().clone();
    assert!(
        manifests.values().all(|m| m.reverted_at.is_some()),
        "the whole chain is marked reverted"
    );
}

#[tokio::test]
async fn a_re_plan_without_new_sources_changes_nothing() {
    let mut w = applied_once().await;
    w.object.metadata.annotations =
        Some([("sgtightener.io/replan".to_string(), "1".to_string())].into());
    w.reconcile().await.unwrap();
    let plan = w.object.status.clone().unwrap().plan.unwrap();
    assert!(
        plan.groups
            .iter()
            .all(|g| g.revoke.is_empty() && g.authorise.is_empty()),
        "the same evidence gives the rules already live: {plan:?}"
    );
    let hash = w.plan_hash();
    let mutations = w.mutations();
    w.approve(&hash);
    w.reconcile().await.unwrap();
    assert_eq!(w.mutations(), mutations);
    let live = w.aws.security_groups.group(GROUP).unwrap();
    assert_ne!(exact(&live), exact(&original_group()));
}
