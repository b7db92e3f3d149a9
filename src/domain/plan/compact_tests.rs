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

mod properties {
    //! Invariants of compaction over random rule sets (DESIGN §6.4).

    use super::super::compact::never_granted;
    use super::super::tests::group;
    use super::super::*;
    use crate::domain::cidr::{compact_nets, is_strict_rfc1918};
    use crate::domain::rules::{ingress_rules, parse_rule};
    use crate::domain::tightening::compact_guard::check_compaction;
    use crate::domain::tightening::GroupManifest;
    use ipnet::Ipv4Net;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    const HOMES: [(u32, u8); 3] = [(0x0A00_0000, 8), (0xAC10_0000, 12), (0xC0A8_0000, 16)];

    /// A private network: one of the RFC 1918 blocks, a prefix from 16 to 28, any offset.
    fn private_net() -> impl Strategy<Value = Ipv4Net> {
        (0usize..3, 16u8..=28, any::<u32>()).prop_map(|(home, prefix, bits)| {
            let (base, len) = HOMES[home];
            let prefix = prefix.max(len + 1);
            let offset = bits & (u32::MAX >> len);
            Ipv4Net::new(Ipv4Addr::from(base | offset), prefix)
                .unwrap()
                .trunc()
        })
    }

    /// Nets of sizes /18 to /30 packed into one /16, so that merges are likely.
    fn dense_nets() -> impl Strategy<Value = Vec<Ipv4Net>> {
        prop::collection::vec((0u32..65536, 18u8..=30), 1..40).prop_map(|list| {
            list.into_iter()
                .map(|(offset, prefix)| {
                    Ipv4Net::new(Ipv4Addr::from(0x0A07_0000 | offset), prefix)
                        .unwrap()
                        .trunc()
                })
                .collect()
        })
    }

    fn covers(out: &[Ipv4Net], input: &[Ipv4Net]) -> bool {
        input.iter().all(|n| out.iter().any(|o| o.contains(n)))
    }

    proptest! {
        #[test]
        fn every_original_cidr_stays_covered_inside_its_rfc1918_block(
            nets in prop::collection::vec(private_net(), 1..40),
            r in 0usize..=20,
        ) {
            let out = compact_nets(&nets, r as f64 * 0.05);
            prop_assert!(covers(&out, &nets));
            prop_assert!(out.iter().all(|n| is_strict_rfc1918(*n)), "{:?}", out);
        }

        #[test]
        fn ratio_zero_merges_only_losslessly(nets in dense_nets()) {
            let out = compact_nets(&nets, 0.0);
            prop_assert!(covers(&out, &nets));
            prop_assert_eq!(never_granted(&nets, &out), 0);
        }

        #[test]
        fn each_merged_block_wastes_at_most_the_ratio(nets in dense_nets(), r in 0usize..=20) {
            let ratio = r as f64 * 0.05;
            for block in compact_nets(&nets, ratio) {
                let size = 1u64 << (32 - u32::from(block.prefix_len()));
                let inside: Vec<Ipv4Net> = nets.iter().copied().filter(|n| block.contains(n)).collect();
                prop_assert!(never_granted(&inside, [&block]) as f64 <= ratio * size as f64, "{}", block);
            }
        }

        #[test]
        fn a_higher_ratio_never_compacts_less(nets in dense_nets(), low in 0usize..=20, more in 0usize..=20) {
            let high = (low + more).min(20);
            let (a, b) = (compact_nets(&nets, low as f64 * 0.05), compact_nets(&nets, high as f64 * 0.05));
            prop_assert!(b.len() <= a.len(), "ratio {} gives {:?}, ratio {} gives {:?}", low as f64 * 0.05, a, high as f64 * 0.05, b);
        }

        #[test]
        fn a_plan_touches_only_private_cidr_rules_and_passes_its_own_guard(
            nets in dense_nets(),
            r in 0usize..=20,
        ) {
            let glass: Ipv4Net = "10.7.0.0/26".parse().unwrap();
            let nets: Vec<Ipv4Net> = nets.into_iter().filter(|n| *n != glass).collect();
            let mut rules: Vec<String> = nets.iter().map(|n| format!("tcp:443 {n}")).collect();
            rules.sort();
            rules.dedup();
            rules.push("tcp:443 10.7.0.0/26#sg-tightener break-glass INC-1".into());
            rules.push("tcp:443 sg-0fedcba9876543210".into());
            rules.push("tcp:443 0.0.0.0/0".into());
            rules.push("tcp:443 pl-12345678".into());
            let texts: Vec<&str> = rules.iter().map(String::as_str).collect();
            let sg = group("sg-1", &texts);
            let ratio = r as f64 * 0.05;
            let plan = build_compact_plan(std::slice::from_ref(&sg), &CompactOptions { ratio, max_rules: 1000 }).unwrap();
            let g = &plan.groups[0];
            for text in &g.revoke {
                let rule = parse_rule(text).unwrap();
                prop_assert!(rule.v4_cidr().is_some_and(is_strict_rfc1918), "{}", text);
                prop_assert_ne!(text.as_str(), "tcp:443 10.7.0.0/26", "the break-glass rule is never revoked");
            }
            let total = ingress_rules(&sg).unwrap().len() as u32;
            prop_assert_eq!(g.current_rules, Some(total));
            prop_assert_eq!(g.projected_rules, Some(total + g.authorise.len() as u32 - g.revoke.len() as u32));
            let entry = GroupManifest::new(g, &sg, "sg-tightener test");
            prop_assert_eq!(check_compaction(&entry, ratio), Ok(()));
        }
    }
}
