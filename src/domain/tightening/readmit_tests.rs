//! Domain layer tests: re-planning after an apply (`readmit`) and the manifest chain — the plan
//! is computed from the rules before the first apply, rebased onto the live rules, never widens
//! beyond the original rules (the guard compares with them), and a chained revert restores the
//! first state exactly.

use super::guard::check_group;
use super::manifest::{GroupManifest, Manifest, MANIFEST_SCHEMA};
use super::readmit::{pre_apply_groups, rebase};
use crate::domain::plan::{snapshot_hash, GroupPlan, Plan};
use crate::domain::rules::{ingress_rules, permissions_from_strings};
use crate::domain::snapshot::{IpPermission, SecurityGroup};

fn perms(rules: &[(&str, Option<&str>)]) -> Vec<IpPermission> {
    rules
        .iter()
        .flat_map(|(t, d)| {
            permissions_from_strings(&[t.to_string()], |_| d.map(String::from)).unwrap()
        })
        .collect()
}

fn group(rules: &[(&str, Option<&str>)]) -> SecurityGroup {
    SecurityGroup {
        group_id: "sg-1".into(),
        ip_permissions: perms(rules),
        ..SecurityGroup::default()
    }
}

fn strings(g: &SecurityGroup) -> Vec<(String, Option<String>)> {
    let mut out: Vec<_> = ingress_rules(g)
        .unwrap()
        .into_iter()
        .map(|r| (r.to_string(), r.description))
        .collect();
    out.sort();
    out
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const ORIGINAL: &[(&str, Option<&str>)] = &[
    ("tcp:443 10.0.0.0/16", Some("office")),
    ("tcp:22 10.9.0.0/16", None),
];

/// The first apply: `tcp:443 10.0.0.0/16` → `tcp:443 10.0.10.0/28`.
fn first_apply() -> (GroupManifest, SecurityGroup) {
    let entry = GroupManifest {
        group_id: "sg-1".into(),
        interruption: false,
        revoke: owned(&["tcp:443 10.0.0.0/16"]),
        authorise: owned(&["tcp:443 10.0.10.0/28"]),
        description: "sg-tightener aaaa".into(),
        ip_permissions: perms(ORIGINAL),
        original_permissions: None,
        authorised_before: Vec::new(),
    };
    let live = group(&[
        ("tcp:443 10.0.10.0/28", Some("sg-tightener aaaa")),
        ("tcp:22 10.9.0.0/16", None),
        ("tcp:8080 10.3.0.0/16", Some("break-glass")),
    ]);
    (entry, live)
}

fn manifest(entry: GroupManifest) -> Manifest {
    Manifest {
        schema: MANIFEST_SCHEMA.into(),
        resource: "ns/web".into(),
        plan_hash: "p".into(),
        snapshot_hash: "s".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        groups: vec![entry],
        reverted_at: None,
        previous: None,
    }
}

#[test]
fn the_planner_sees_the_original_rules_plus_rules_others_added_since() {
    let (entry, live) = first_apply();
    let seen = pre_apply_groups(std::slice::from_ref(&live), &manifest(entry)).unwrap();
    assert_eq!(
        strings(&seen[0]),
        strings(&group(&[
            ("tcp:22 10.9.0.0/16", None),
            ("tcp:443 10.0.0.0/16", Some("office")),
            ("tcp:8080 10.3.0.0/16", Some("break-glass")),
        ]))
    );
    let other = SecurityGroup {
        group_id: "sg-2".into(),
        ..live.clone()
    };
    let (entry, _) = first_apply();
    let untouched = pre_apply_groups(std::slice::from_ref(&other), &manifest(entry)).unwrap();
    assert_eq!(
        untouched[0], other,
        "a group the chain never changed is as live"
    );
}

#[test]
fn the_rebased_plan_revokes_live_tightened_rules_and_authorises_only_what_is_missing() {
    let (entry, live) = first_apply();
    let from = pre_apply_groups(std::slice::from_ref(&live), &manifest(entry)).unwrap();
    // The plan from the original rules: the old block plus the re-admitted source.
    let plan = Plan {
        groups: vec![GroupPlan {
            group_id: "sg-1".into(),
            revoke: owned(&["tcp:443 10.0.0.0/16"]),
            authorise: owned(&["tcp:443 10.0.10.0/28", "tcp:443 10.0.99.7/32"]),
            ..GroupPlan::default()
        }],
        ..Plan::default()
    };
    let rebased = rebase(plan, std::slice::from_ref(&live), &from, 60, "cm-1").unwrap();
    let g = &rebased.groups[0];
    assert!(g.revoke.is_empty(), "the tightened block stays: {g:?}");
    assert_eq!(g.authorise, owned(&["tcp:443 10.0.99.7/32"]));
    assert_eq!(
        rebased.snapshot_hash,
        snapshot_hash(std::slice::from_ref(&live))
    );
    assert_eq!(rebased.summary.rules_authorised, 1);
    assert!(!rebased.hash.is_empty());

    // A wider new block replaces the tightened one: the live rule is revoked.
    let plan = Plan {
        groups: vec![GroupPlan {
            group_id: "sg-1".into(),
            revoke: owned(&["tcp:443 10.0.0.0/16"]),
            authorise: owned(&["tcp:443 10.0.0.0/17"]),
            ..GroupPlan::default()
        }],
        ..Plan::default()
    };
    let rebased = rebase(plan, std::slice::from_ref(&live), &from, 60, "cm-1").unwrap();
    assert_eq!(rebased.groups[0].revoke, owned(&["tcp:443 10.0.10.0/28"]));
    assert_eq!(rebased.groups[0].authorise, owned(&["tcp:443 10.0.0.0/17"]));
}

#[test]
fn a_refused_group_stays_as_it_is_live() {
    let (entry, live) = first_apply();
    let from = pre_apply_groups(std::slice::from_ref(&live), &manifest(entry)).unwrap();
    let plan = Plan {
        groups: vec![GroupPlan {
            group_id: "sg-1".into(),
            refused: Some("over budget".into()),
            ..GroupPlan::default()
        }],
        ..Plan::default()
    };
    let rebased = rebase(plan, std::slice::from_ref(&live), &from, 60, "cm-1").unwrap();
    assert!(rebased.groups[0].revoke.is_empty() && rebased.groups[0].authorise.is_empty());
}

/// The second apply's entry, chained onto the first.
fn second_apply(authorise: &[&str], revoke: &[&str]) -> GroupManifest {
    let (first, live) = first_apply();
    GroupManifest {
        group_id: "sg-1".into(),
        interruption: false,
        revoke: owned(revoke),
        authorise: owned(authorise),
        description: "sg-tightener bbbb".into(),
        ip_permissions: live.ip_permissions,
        original_permissions: None,
        authorised_before: Vec::new(),
    }
    .chain_onto(&first)
}

#[test]
fn the_guard_compares_a_chained_apply_with_the_original_rules() {
    let readmit = second_apply(&["tcp:443 10.0.99.7/32"], &[]);
    assert_eq!(check_group(&readmit), Ok(()));
    let wider = second_apply(&["tcp:443 10.1.0.7/32"], &[]);
    assert!(check_group(&wider).unwrap_err().contains("never widens"));
    let port = second_apply(&["tcp:444 10.0.99.7/32"], &[]);
    assert!(check_group(&port).is_err());
    let not_live = second_apply(&[], &["tcp:443 10.0.0.0/16"]);
    assert!(
        check_group(&not_live)
            .unwrap_err()
            .contains("does not have"),
        "the revoke list is checked against the live (tightened) rules"
    );
}

#[test]
fn a_chained_revert_restores_the_state_before_the_first_apply() {
    let second = second_apply(&["tcp:443 10.0.99.7/32"], &[]);
    let (_, mut live) = first_apply();
    live.ip_permissions.extend(perms(&[(
        "tcp:443 10.0.99.7/32",
        Some("sg-tightener bbbb"),
    )]));
    let calls = second.revert_calls(&live).unwrap();
    let mut after = live.clone();
    let revoked = strings(&SecurityGroup {
        ip_permissions: calls.revoke.clone(),
        ..SecurityGroup::default()
    });
    after.ip_permissions.retain(|p| {
        let one = SecurityGroup {
            ip_permissions: vec![p.clone()],
            ..SecurityGroup::default()
        };
        !strings(&one)
            .iter()
            .all(|r| revoked.iter().any(|x| x.0 == r.0))
    });
    after.ip_permissions.extend(calls.authorise);
    let mut expected = strings(&group(ORIGINAL));
    expected.push(("tcp:8080 10.3.0.0/16".into(), Some("break-glass".into())));
    expected.sort();
    assert_eq!(strings(&after), expected);
    assert!(second.revert_differences(&after).unwrap().is_empty());
    assert_eq!(
        second.foreign_rules(&after).unwrap(),
        owned(&["tcp:8080 10.3.0.0/16"])
    );
    let unfinished = second.revert_differences(&live).unwrap();
    assert!(unfinished
        .iter()
        .any(|d| d == "missing tcp:443 10.0.0.0/16"));
    assert!(unfinished
        .iter()
        .any(|d| d == "still present tcp:443 10.0.10.0/28 (added by the apply)"));
}

#[test]
fn a_carried_group_needs_no_call_and_its_revert_restores_it() {
    let (first, live) = first_apply();
    let carried = GroupManifest::carried(&first, &live);
    assert!(carried.apply_calls(&live).unwrap().is_empty());
    assert_eq!(carried.original(), first.ip_permissions.as_slice());
    let calls = carried.revert_calls(&live).unwrap();
    assert_eq!(
        calls.authorise,
        perms(&[("tcp:443 10.0.0.0/16", Some("office"))])
    );
    assert_eq!(
        calls.revoke,
        perms(&[("tcp:443 10.0.10.0/28", Some("sg-tightener aaaa"))])
    );
    let json = serde_json::to_string(&manifest(carried.clone())).unwrap();
    let back: Manifest = serde_json::from_str(&json).unwrap();
    assert_eq!(
        back.groups[0], carried,
        "the chain round-trips through the ConfigMap"
    );
}

mod properties {
    //! The whole re-admission cycle on random evidence: plan and apply from the original rules,
    //! re-plan with more sources from the recorded rules, apply the chained entry, revert.
    use super::*;
    use crate::domain::evidence::attribution::AttributionMode;
    use crate::domain::evidence::Flow;
    use crate::domain::plan::{build_plan, Evidence, PlanOptions};
    use crate::domain::rules::Rule;
    use ipnet::Ipv4Net;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    const BROAD: &str = "10.0.0.0/16";

    fn flows(sources: &[u16]) -> Vec<Flow> {
        sources
            .iter()
            .map(|s| Flow {
                source: Ipv4Addr::from(0x0a00_0000 | u32::from(*s)),
                destination: "10.1.0.5".parse().unwrap(),
                interface_id: None,
                protocol: 6,
                port: 443,
                records: 1,
            })
            .collect()
    }

    fn options(extra: &[u16]) -> PlanOptions {
        PlanOptions {
            attribution: AttributionMode::Region,
            additional_sources: extra
                .iter()
                .map(|s| Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 | u32::from(*s)), 32).unwrap())
                .collect(),
            ..PlanOptions::default()
        }
    }

    /// `live` after `calls` (what AWS does).
    fn applied(live: &SecurityGroup, calls: &super::super::manifest::GroupCalls) -> SecurityGroup {
        let gone: Vec<String> = ingress_rules(&SecurityGroup {
            ip_permissions: calls.revoke.clone(),
            ..SecurityGroup::default()
        })
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
        let mut rules: Vec<Rule> = ingress_rules(live)
            .unwrap()
            .into_iter()
            .filter(|r| !gone.contains(&r.to_string()))
            .collect();
        rules.extend(
            ingress_rules(&SecurityGroup {
                ip_permissions: calls.authorise.clone(),
                ..SecurityGroup::default()
            })
            .unwrap(),
        );
        SecurityGroup {
            ip_permissions: crate::domain::rules::to_permissions(&rules),
            ..live.clone()
        }
    }

    fn allows(g: &SecurityGroup, s: u16) -> bool {
        let address = Ipv4Addr::from(0x0a00_0000 | u32::from(s));
        ingress_rules(g).unwrap().iter().any(|r| {
            r.to_string().starts_with("tcp:443 ")
                && r.v4_cidr().is_some_and(|c| c.contains(&address))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn re_admission_never_widens_keeps_every_source_and_reverts_to_the_first_state(
            seen in proptest::collection::vec(any::<u16>(), 1..12),
            vouched in proptest::collection::vec(any::<u16>(), 1..4),
        ) {
            let original = group(&[
                ("tcp:443 10.0.0.0/16", Some("office")),
                ("tcp:22 10.9.0.0/16", None),
            ]);
            let first = build_plan(
                std::slice::from_ref(&original),
                &Evidence { flows: &flows(&seen), ..Evidence::default() },
                &options(&[]),
            ).unwrap().plan;
            let entry1 = GroupManifest::new(&first.groups[0], &original, "sg-tightener aaaa");
            let live1 = applied(&original, &entry1.apply_calls(&original).unwrap());
            let m1 = manifest(entry1.clone());

            let from = pre_apply_groups(std::slice::from_ref(&live1), &m1).unwrap();
            let opts = options(&vouched);
            let raw = build_plan(
                &from,
                &Evidence { flows: &flows(&seen), ..Evidence::default() },
                &opts,
            ).unwrap().plan;
            let second = rebase(raw, std::slice::from_ref(&live1), &from, opts.max_rules, "cm-1").unwrap();
            prop_assert_eq!(&second.snapshot_hash, &snapshot_hash(std::slice::from_ref(&live1)));
            let entry2 = GroupManifest::new(&second.groups[0], &live1, "sg-tightener bbbb")
                .chain_onto(&entry1);
            prop_assert_eq!(check_group(&entry2), Ok(()));
            let live2 = applied(&live1, &entry2.apply_calls(&live1).unwrap());

            let broad: Ipv4Net = BROAD.parse().unwrap();
            for r in ingress_rules(&live2).unwrap() {
                if r.to_string().starts_with("tcp:443 ") {
                    prop_assert!(broad.contains(&r.v4_cidr().unwrap()), "widened: {}", r);
                }
            }
            for s in seen.iter().chain(&vouched) {
                prop_assert!(allows(&live2, *s), "source {} locked out", s);
            }
            let reverted = applied(&live2, &entry2.revert_calls(&live2).unwrap());
            prop_assert_eq!(strings(&reverted), strings(&original));
            prop_assert!(entry2.revert_differences(&reverted).unwrap().is_empty());
        }
    }
}
