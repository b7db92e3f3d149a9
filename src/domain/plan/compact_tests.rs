//! Domain layer (pure): unit tests of compaction (the seed's sg_compact behaviours).

use super::compact::count_group;
use super::tests::group;
use super::*;
use crate::domain::cidr::{compact_nets, compactable, is_strict_rfc1918};
use crate::domain::rules::ingress_rules;
use ipnet::Ipv4Net;

fn nets(list: &[&str]) -> Vec<Ipv4Net> {
    list.iter().map(|c| c.parse().unwrap()).collect()
}

fn strings(list: &[Ipv4Net]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

#[test]
fn compactable_cidrs_are_rfc1918_of_any_prefix() {
    let cases = [
        ("10.0.0.0/24", true),
        ("10.0.0.5/32", true),
        ("172.16.0.0/12", true),
        ("0.0.0.0/0", false),
        ("8.8.8.0/24", false),
        ("192.0.0.0/4", false),
    ];
    for (cidr, expected) in cases {
        assert_eq!(compactable(cidr.parse().unwrap()), expected, "{cidr}");
    }
}

#[test]
fn nothing_and_a_single_block_compact_to_themselves() {
    assert!(compact_nets(&[], 0.5).is_empty());
    assert_eq!(
        compact_nets(&nets(&["10.0.0.0/24"]), 0.5),
        nets(&["10.0.0.0/24"])
    );
}

#[test]
fn ratio_zero_only_merges_losslessly() {
    assert_eq!(
        strings(&compact_nets(&nets(&["10.0.0.0/25", "10.0.0.128/25"]), 0.0)),
        ["10.0.0.0/24"]
    );
}

#[test]
fn a_gap_merge_happens_only_when_the_ratio_allows_its_waste() {
    let input = nets(&["10.0.0.0/24", "10.0.2.0/24"]);
    assert_eq!(compact_nets(&input, 0.4).len(), 2);
    assert_eq!(strings(&compact_nets(&input, 0.5)), ["10.0.0.0/22"]);
}

#[test]
fn compaction_never_crosses_an_rfc1918_boundary() {
    let out = compact_nets(
        &nets(&["10.0.0.0/24", "172.16.0.0/24", "192.168.0.0/24"]),
        0.999,
    );
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|n| is_strict_rfc1918(*n)));
}

#[test]
fn a_higher_ratio_compacts_at_least_as_hard() {
    let input: Vec<Ipv4Net> = (0..8)
        .map(|i| format!("10.0.{}.0/24", i * 2).parse().unwrap())
        .collect();
    let (low, high) = (compact_nets(&input, 0.1), compact_nets(&input, 0.9));
    assert!(high.len() <= low.len() && high.len() < input.len());
    assert!(input.iter().all(|n| high.iter().any(|h| h.contains(n))));
}

#[test]
fn counting_separates_compactable_rules_from_fixed_ones() {
    let sg = group(
        "sg-1",
        &[
            "tcp:443 10.0.0.0/24",
            "tcp:443 0.0.0.0/0",
            "tcp:443 ::/0",
            "tcp:443 sg-1",
        ],
    );
    assert_eq!(count_group(&ingress_rules(&sg).unwrap()), (4, 1));
}

#[test]
fn a_group_plan_revokes_the_merged_rules_and_authorises_the_cover() {
    let sg = group("sg-1", &["tcp:443 10.0.0.0/24", "tcp:443 10.0.2.0/24"]);
    let plan = build_compact_plan(
        &[sg],
        &CompactOptions {
            ratio: 0.5,
            max_rules: 60,
        },
    )
    .unwrap();
    let g = &plan.groups[0];
    assert_eq!(g.revoke, ["tcp:443 10.0.0.0/24", "tcp:443 10.0.2.0/24"]);
    assert_eq!(g.authorise, ["tcp:443 10.0.0.0/22"]);
    assert_eq!(
        (g.rules_saved, plan.summary.rules_saved),
        (Some(1), Some(1))
    );
    assert_eq!(plan.snapshot_hash.len(), 64);
}

#[test]
fn a_group_with_nothing_to_merge_has_no_change() {
    let sg = group("sg-1", &["tcp:443 10.0.0.0/24", "tcp:80 10.0.1.0/24"]);
    let plan = build_compact_plan(
        &[sg],
        &CompactOptions {
            ratio: 0.5,
            max_rules: 60,
        },
    )
    .unwrap();
    let g = &plan.groups[0];
    assert!(g.revoke.is_empty() && g.authorise.is_empty());
    assert_eq!(g.rules_saved, Some(0));
}

#[test]
fn break_glass_rules_are_left_to_their_extension() {
    let sg = group(
        "sg-1",
        &[
            "tcp:443 10.0.0.0/25#sg-tightener break-glass INC-1",
            "tcp:443 10.0.0.128/25",
        ],
    );
    let plan = build_compact_plan(
        &[sg],
        &CompactOptions {
            ratio: 0.0,
            max_rules: 60,
        },
    )
    .unwrap();
    assert!(plan.groups[0].revoke.is_empty());
}
