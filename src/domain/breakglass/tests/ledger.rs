//! Domain layer (pure): tests for break-glass reference counting — what a group gets, which
//! existing rules an extension shares, and what expiry may revoke (DESIGN I10).

use super::*;
use crate::domain::rules::{parse_rule, to_permissions, Rule};
use crate::domain::snapshot::SecurityGroup;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const BG: &str = "sg-tightener break-glass: INC-1";

fn rule(text: &str, description: Option<&str>) -> Rule {
    Rule {
        description: description.map(String::from),
        ..parse_rule(text).unwrap()
    }
}

fn wanted(texts: &[&str]) -> Vec<Rule> {
    texts.iter().map(|t| rule(t, Some(BG))).collect()
}

fn group(rules: &[Rule]) -> SecurityGroup {
    SecurityGroup {
        group_id: "sg-12345678".into(),
        ip_permissions: to_permissions(rules),
        ..SecurityGroup::default()
    }
}

fn set(texts: &[&str]) -> BTreeSet<String> {
    texts.iter().map(|t| t.to_string()).collect()
}

fn holders(entries: &[(&str, &str)]) -> Holders {
    let mut out = Holders::new();
    for (rule, who) in entries {
        out.entry(rule.to_string())
            .or_default()
            .insert(who.to_string());
    }
    out
}

fn plan(live: &[Rule], want: &[&str], own: &Holding, others: &Holders) -> GroupPlan {
    plan_group(Some(&group(live)), &wanted(want), own, others, 60).unwrap()
}

#[test]
fn an_existing_rule_covers_the_same_or_narrower_traffic_and_sources() {
    let wide = rule("tcp:400-500 10.0.0.0/16", None);
    assert!(covers(&wide, &rule("tcp:443 10.0.1.0/24", None)));
    assert!(!covers(&wide, &rule("tcp:443 10.9.1.0/24", None)));
    assert!(!covers(&wide, &rule("tcp:8443 10.0.1.0/24", None)));
    assert!(!covers(&wide, &rule("udp:443 10.0.1.0/24", None)));
    assert!(covers(
        &rule("all 10.0.0.0/8", None),
        &rule("udp:53 10.4.0.0/16", None)
    ));
    assert!(covers(
        &rule("icmp:all 10.0.0.0/8", None),
        &rule("icmp:8/0 10.4.0.0/16", None)
    ));
    assert!(!covers(
        &rule("icmp:8 10.0.0.0/8", None),
        &rule("icmp:all 10.4.0.0/16", None)
    ));
}

#[test]
fn each_group_gets_a_state_and_over_budget_groups_get_nothing() {
    let want = wanted(&["tcp:443 10.0.1.0/24", "tcp:443 10.0.2.0/24"]);
    let none = Holding::default();
    let others = Holders::new();
    let state = |live: Option<&SecurityGroup>, want: &[Rule], max: usize| {
        plan_group(live, want, &none, &others, max).unwrap()
    };
    assert_eq!(state(None, &want, 60).state, GroupState::NotFound);
    assert_eq!(
        state(Some(&group(&[])), &[], 60).state,
        GroupState::NoFlowsForGroup
    );
    let office = group(&[rule("tcp:443 10.0.0.0/16", Some("office"))]);
    let present = state(Some(&office), &want, 60);
    assert_eq!(present.state, GroupState::AlreadyPresent);
    assert!(
        present.shared.is_empty() && present.added.is_empty(),
        "a rule no extension added is never referenced, so never revoked"
    );
    let full: Vec<Rule> = (0..58)
        .map(|i| rule(&format!("tcp:{} 10.50.0.0/24", 1000 + i), None))
        .collect();
    let fits = state(Some(&group(&full)), &want, 60);
    assert_eq!(
        (fits.state, fits.existing, fits.would_add, fits.to_add.len()),
        (GroupState::Add, 58, 2, 2)
    );
    let skipped = state(Some(&group(&full)), &want, 59);
    assert_eq!(
        (skipped.state, skipped.would_add, skipped.to_add.len()),
        (GroupState::SkippedBudget, 2, 0)
    );
}

#[test]
fn a_rule_another_extension_added_is_shared_not_added_again() {
    let live = [rule("tcp:443 10.4.0.0/16", Some(BG))];
    let others = holders(&[("tcp:443 10.4.0.0/16", "ns/first")]);
    let second = plan(
        &live,
        &["tcp:443 10.4.0.0/16"],
        &Holding::default(),
        &others,
    );
    assert_eq!(second.state, GroupState::AlreadyPresent);
    assert_eq!(second.shared, set(&["tcp:443 10.4.0.0/16"]));
    let narrower = plan(
        &live,
        &["tcp:443 10.4.7.0/24"],
        &Holding::default(),
        &others,
    );
    assert_eq!(
        (narrower.state, narrower.shared),
        (GroupState::AlreadyPresent, set(&["tcp:443 10.4.0.0/16"])),
        "a narrower need references the extension rule that covers it"
    );
}

#[test]
fn its_own_rules_stay_added_and_rules_a_narrowed_spec_drops_become_unwanted() {
    let live = [rule("tcp:443 10.4.0.0/16", Some(BG))];
    let own = Holding {
        added: set(&["tcp:443 10.4.0.0/16"]),
        ..Holding::default()
    };
    let same = plan(&live, &["tcp:443 10.4.0.0/16"], &own, &Holders::new());
    assert_eq!(
        (same.state, same.added.clone()),
        (GroupState::AlreadyPresent, own.added.clone())
    );
    let narrowed = plan(&live, &["tcp:443 10.4.7.0/24"], &own, &Holders::new());
    assert_eq!(
        narrowed.state,
        GroupState::Add,
        "its own /16 does not count"
    );
    assert_eq!(narrowed.unwanted, own.added);
    assert_eq!(narrowed.to_add[0].to_string(), "tcp:443 10.4.7.0/24");
}

#[test]
fn a_pending_rule_found_present_is_its_own_only_with_a_break_glass_description() {
    let own = Holding {
        pending: set(&["tcp:443 10.4.0.0/16"]),
        ..Holding::default()
    };
    let ours = plan(
        &[rule("tcp:443 10.4.0.0/16", Some(BG))],
        &["tcp:443 10.4.0.0/16"],
        &own,
        &Holders::new(),
    );
    assert_eq!(ours.added, own.pending, "added before a crash: its own");
    let someone = plan(
        &[rule("tcp:443 10.4.0.0/16", Some("vpn"))],
        &["tcp:443 10.4.0.0/16"],
        &own,
        &Holders::new(),
    );
    assert!(someone.added.is_empty() && someone.shared.is_empty());
    assert_eq!(someone.state, GroupState::AlreadyPresent);
}

#[test]
fn revocation_spares_what_others_hold_tightenings_own_and_rules_no_longer_break_glass() {
    let live = [
        rule("tcp:443 10.4.0.0/16", Some(BG)),
        rule("tcp:443 10.5.0.0/16", Some(BG)),
        rule("tcp:443 10.6.0.0/16", Some(BG)),
        rule("tcp:443 10.7.0.0/16", Some("sg-tightener 0123456789ab")),
    ];
    let candidates = set(&[
        "tcp:443 10.4.0.0/16",
        "tcp:443 10.5.0.0/16",
        "tcp:443 10.6.0.0/16",
        "tcp:443 10.7.0.0/16",
        "tcp:443 10.8.0.0/16",
    ]);
    let others = holders(&[("tcp:443 10.5.0.0/16", "ns/other")]);
    let owners = Owners::from([("tcp:443 10.6.0.0/16".to_string(), "sgt ns/t".to_string())]);
    let out = revocation(&candidates, &live, &others, &owners);
    let revoked: Vec<String> = out.revoke.iter().map(Rule::to_string).collect();
    assert_eq!(revoked, ["tcp:443 10.4.0.0/16"]);
    assert_eq!(out.gone, ["tcp:443 10.8.0.0/16"]);
    let kept: Vec<(&str, &str)> = out
        .kept
        .iter()
        .map(|k| (k.rule.as_str(), k.why.as_str()))
        .collect();
    assert_eq!(
        kept,
        [
            ("tcp:443 10.5.0.0/16", "needed by extension ns/other"),
            ("tcp:443 10.6.0.0/16", "owned by sgt ns/t"),
            (
                "tcp:443 10.7.0.0/16",
                "no longer a break-glass rule (its description changed)"
            )
        ]
    );
}

/// One simulated extension: what it wants and its record.
#[derive(Debug, Clone)]
struct Ext {
    want: Vec<Rule>,
    holding: Holding,
    live: bool,
}

fn others_of(exts: &[Ext], me: usize) -> Holders {
    let mut out = Holders::new();
    for (i, e) in exts.iter().enumerate().filter(|(i, e)| *i != me && e.live) {
        for r in e.holding.held() {
            out.entry(r).or_default().insert(format!("ns/e{i}"));
        }
    }
    out
}

fn covered(live: &[Rule], need: &Rule) -> bool {
    live.iter().any(|r| covers(r, need))
}

const UNIVERSE: [&str; 6] = [
    "tcp:443 10.4.0.0/16",
    "tcp:443 10.4.7.0/24",
    "tcp:443 10.5.0.0/16",
    "tcp:8443 10.4.0.0/16",
    "all 10.9.0.0/16",
    "tcp:443 10.9.1.0/24",
];

proptest! {
    /// Extensions come and go in any order, wanting any rules, over rules that existed before
    /// them: a rule that predates every extension is never revoked, and a live extension's
    /// need is always allowed.
    #[test]
    fn reference_counting_never_revokes_the_past_or_a_live_need(
        before in proptest::collection::btree_set(0..UNIVERSE.len(), 0..3),
        wants in proptest::collection::vec(proptest::collection::btree_set(0..UNIVERSE.len(), 1..4), 1..5),
        order in proptest::collection::vec(0..8usize, 1..12),
    ) {
        let past: Vec<Rule> = before.iter().map(|i| rule(UNIVERSE[*i], Some("office"))).collect();
        let mut live = past.clone();
        let mut exts: Vec<Ext> = Vec::new();
        let mut pending = wants.clone();
        for step in order {
            if step % 2 == 0 && !pending.is_empty() {
                let want = pending.remove(0).iter().map(|i| rule(UNIVERSE[*i], Some(BG))).collect();
                exts.push(Ext { want, holding: Holding::default(), live: true });
                let me = exts.len() - 1;
                let p = plan_group(Some(&group(&live)), &exts[me].want, &Holding::default(), &others_of(&exts, me), 60).unwrap();
                live.extend(p.to_add.iter().cloned());
                let added = p.added.iter().cloned().chain(p.to_add.iter().map(Rule::to_string)).collect();
                exts[me].holding = Holding { added, shared: p.shared, pending: BTreeSet::new() };
            } else if let Some(me) = exts.iter().position(|e| e.live) {
                exts[me].live = false;
                let out = revocation(&exts[me].holding.held(), &live, &others_of(&exts, me), &BTreeMap::new());
                let gone: BTreeSet<String> = out.revoke.iter().map(Rule::to_string).collect();
                live.retain(|r| !gone.contains(&r.to_string()));
            }
            for r in &past {
                prop_assert!(live.contains(r), "{} predates every extension yet was revoked", r);
            }
            for e in exts.iter().filter(|e| e.live) {
                for need in &e.want {
                    prop_assert!(covered(&live, need), "a live extension lost {}", need);
                }
            }
        }
    }
}
