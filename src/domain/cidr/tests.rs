//! Domain layer (pure): unit tests of the collapse (seed behaviours ported, plus DESIGN §4).

use super::*;
use proptest::prelude::*;

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn ip(s: &str) -> u32 {
    u32::from(s.parse::<Ipv4Addr>().unwrap())
}

fn ips(list: &[String]) -> Vec<Ipv4Addr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn covered(cidrs: &[Ipv4Net], addr: Ipv4Addr) -> bool {
    cidrs.iter().any(|n| n.contains(&addr))
}

fn strings(nets: &[Ipv4Net]) -> Vec<String> {
    nets.iter().map(ToString::to_string).collect()
}

#[test]
fn an_empty_input_collapses_to_nothing() {
    let out = collapse_addresses(&[], 60, 0.3);
    assert!(out.cidrs.is_empty());
    assert_eq!(out.addresses, 0);
}

#[test]
fn a_single_address_becomes_a_host_route() {
    let out = collapse_addresses(&ips(&["10.0.10.5".into()]), 60, 0.3);
    assert_eq!(strings(&out.cidrs), ["10.0.10.5/32"]);
}

#[test]
fn a_dense_subnet_collapses_into_fewer_blocks_than_addresses() {
    let list: Vec<String> = (1..30).map(|i| format!("10.0.10.{i}")).collect();
    let out = collapse_addresses(&ips(&list), 10, 0.3);
    assert!(
        out.cidrs.len() <= 10 && out.cidrs.len() < list.len(),
        "{:?}",
        out.cidrs
    );
    assert!(ips(&list).iter().all(|a| covered(&out.cidrs, *a)));
}

#[test]
fn sparse_addresses_stay_narrow_under_a_tight_tolerance() {
    let list: Vec<String> = ["10.0.0.1", "10.5.0.1", "10.10.0.1"]
        .map(String::from)
        .to_vec();
    let out = collapse_addresses(&ips(&list), 10, 0.05);
    assert!(ips(&list).iter().all(|a| covered(&out.cidrs, *a)));
    assert!(
        out.cidrs.iter().all(|n| net_size(*n) <= 256),
        "{:?}",
        out.cidrs
    );
}

#[test]
fn force_fit_meets_the_budget_and_covers_every_address() {
    let list: Vec<String> = (0..30).map(|i| format!("172.16.{i}.1")).collect();
    let out = collapse_addresses(&ips(&list), 5, 0.3);
    assert!(out.cidrs.len() <= 5, "{:?}", out.cidrs);
    assert!(out.force_fit);
    assert!(ips(&list).iter().all(|a| covered(&out.cidrs, *a)));
    assert!(
        out.warnings.iter().any(|w| w.contains("quota increase")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn collapse_across_all_three_rfc1918_blocks_keeps_each_block_at_home() {
    let mut list: Vec<String> = (0..10).map(|i| format!("10.{i}.0.1")).collect();
    list.extend((0..10).map(|i| format!("172.16.{i}.1")));
    list.extend((0..10).map(|i| format!("192.168.{i}.1")));
    let out = collapse_addresses(&ips(&list), 3, 0.3);
    assert_eq!(out.cidrs.len(), 3, "{:?}", out.cidrs);
    assert!(ips(&list).iter().all(|a| covered(&out.cidrs, *a)));
    assert!(
        out.cidrs.iter().all(|n| is_strict_rfc1918(*n)),
        "{:?}",
        out.cidrs
    );
}

#[test]
fn public_addresses_are_kept_as_host_routes_and_never_merged() {
    let list: Vec<String> = ["8.8.8.8", "8.8.8.9", "10.0.0.1"]
        .map(String::from)
        .to_vec();
    let out = collapse_addresses(&ips(&list), 60, 0.9);
    assert!(strings(&out.cidrs).contains(&"8.8.8.8/32".to_string()));
    assert!(strings(&out.cidrs).contains(&"8.8.8.9/32".to_string()));
}

#[test]
fn strict_rfc1918_means_contained_in_one_private_block_not_overlapping_it() {
    let cases = [
        ("10.0.0.0/16", true),
        ("172.20.0.0/16", true),
        ("172.16.0.0/12", true),
        ("192.168.1.0/24", true),
        ("172.40.0.0/16", false),
        ("192.0.0.0/4", false),
        ("0.0.0.0/0", false),
        ("8.8.8.0/24", false),
    ];
    for (cidr, expected) in cases {
        assert_eq!(is_strict_rfc1918(net(cidr)), expected, "{cidr}");
    }
    assert_eq!(
        rfc1918_home(net("172.20.0.0/16")),
        Some(net("172.16.0.0/12"))
    );
}

#[test]
fn the_articles_worked_example_collapses_to_the_articles_blocks() {
    let mut sources: Vec<u32> = (0..32).map(|i| ip("10.0.10.0") + i).collect();
    sources.extend([ip("10.0.20.10"), ip("10.0.20.11")]);
    let out = collapse(
        &Observed::from_addresses(sources),
        net("10.0.0.0/16"),
        60,
        0.3,
    );
    assert_eq!(strings(&out.blocks[0]), ["10.0.10.0/27", "10.0.20.10/31"]);
    assert!(out.tolerance_steps.is_empty() && out.force_fit.is_none());
}

#[test]
fn the_widest_fitting_block_wins_even_when_a_narrower_one_does_not_fit() {
    // 10.0.0.0/24 has every address but 10.0.0.1: the /31 around .0 has gap 0.5, the /24 fits.
    let sources = (0..256u32).filter(|i| *i != 1).map(|i| ip("10.0.0.0") + i);
    let blocks = blocks_at(
        &Observed::from_addresses(sources),
        Block::from_net(net("10.0.0.0/16")),
        0.3,
        usize::MAX,
    )
    .unwrap();
    assert_eq!(blocks, vec![Block::from_net(net("10.0.0.0/24"))]);
}

#[test]
fn blocks_never_leave_the_rules_cidr_even_at_full_tolerance() {
    let observed = Observed::from_addresses([ip("10.0.0.5")]);
    let out = collapse(&observed, net("10.0.0.0/28"), 60, 1.0);
    assert_eq!(strings(&out.blocks[0]), ["10.0.0.0/28"]);
}

#[test]
fn sources_outside_the_rules_cidr_are_ignored() {
    let observed = Observed::from_addresses([ip("10.0.0.5"), ip("10.9.0.5")]);
    let out = collapse(&observed, net("10.0.0.0/16"), 60, 0.3);
    assert_eq!(strings(&out.blocks[0]), ["10.0.0.5/32"]);
}

#[test]
fn widening_records_every_step_until_the_budget_fits() {
    // 4 pairs of addresses 2 apart inside one /29 each: fits 4 rules only at gap 0.75.
    let sources = [0u32, 2, 8, 10, 16, 18, 24, 26].map(|o| ip("10.0.0.0") + o);
    let out = collapse(
        &Observed::from_addresses(sources),
        net("10.0.0.0/16"),
        4,
        0.3,
    );
    assert_eq!(out.rule_count(), 4, "{:?}", out.blocks);
    assert_eq!(out.tolerance_steps, vec![0.35, 0.4, 0.45, 0.5]);
    assert_eq!(out.tolerance_used, 0.5);
    assert!(
        out.warnings(4)[0].contains("0.30 to 0.50"),
        "{:?}",
        out.warnings(4)
    );
}

#[test]
fn force_fit_takes_the_merge_that_adds_the_fewest_unobserved_addresses() {
    // At tolerance 0.95 each lone address is a /28; three /28s must become two.
    let sources = [ip("10.0.0.0"), ip("10.0.0.64"), ip("10.0.200.0")];
    let out = collapse(
        &Observed::from_addresses(sources),
        net("10.0.0.0/16"),
        2,
        0.3,
    );
    assert_eq!(strings(&out.blocks[0]), ["10.0.0.0/25", "10.0.200.0/28"]);
    assert_eq!(out.tolerance_used, 0.95);
    let fit = out.force_fit.unwrap();
    assert_eq!(
        (fit.blocks_before, fit.blocks_after, fit.added_addresses),
        (3, 2, 96)
    );
}

#[test]
fn a_shared_budget_merges_in_whichever_rule_is_cheapest() {
    let far = Observed::from_addresses([ip("10.0.0.0"), ip("10.0.128.0")]);
    let near = Observed::from_addresses([ip("10.8.0.0"), ip("10.8.1.0")]);
    let out = collapse_shared(
        &[(&far, net("10.0.0.0/16")), (&near, net("10.8.0.0/16"))],
        3,
        0.3,
    );
    assert_eq!(strings(&out.blocks[0]), ["10.0.0.0/28", "10.0.128.0/28"]);
    assert_eq!(strings(&out.blocks[1]), ["10.8.0.0/23"]);
}

#[test]
fn widening_alone_is_preferred_to_force_fit_when_it_suffices() {
    let a = Observed::from_addresses([ip("10.0.0.0"), ip("10.0.128.0")]);
    let b = Observed::from_addresses([ip("10.4.0.0"), ip("10.4.0.2")]);
    let out = collapse_shared(
        &[(&a, net("10.0.0.0/16")), (&b, net("10.4.0.0/16"))],
        3,
        0.0,
    );
    assert_eq!((out.tolerance_used, out.force_fit), (0.5, None));
    assert_eq!(strings(&out.blocks[1]), ["10.4.0.0/30"]);
}

#[test]
fn a_budget_below_one_block_per_rule_is_reported_not_met() {
    let a = Observed::from_addresses([ip("10.0.0.1")]);
    let b = Observed::from_addresses([ip("10.4.0.1")]);
    let out = collapse_shared(
        &[(&a, net("10.0.0.0/16")), (&b, net("10.4.0.0/16"))],
        1,
        0.3,
    );
    assert!(!out.within_budget);
    assert_eq!(out.rule_count(), 2);
}

#[test]
fn lossless_merge_joins_siblings_and_drops_contained_blocks() {
    let blocks = [
        "10.0.0.0/25",
        "10.0.0.128/25",
        "10.0.1.0/24",
        "10.0.1.4/30",
        "10.0.3.0/24",
    ]
    .map(|s| Block::from_net(net(s)));
    let merged: Vec<Ipv4Net> = merge_lossless(blocks.to_vec())
        .into_iter()
        .map(Block::to_net)
        .collect();
    assert_eq!(strings(&merged), ["10.0.0.0/23", "10.0.3.0/24"]);
}

#[test]
fn counting_clips_intervals_at_both_ends() {
    let observed = Observed::from_ranges([(10, 20), (30, 40), (21, 21)]);
    assert_eq!(observed.interval_count(), 2);
    assert_eq!(observed.count_in(15, 35), 7 + 6);
    assert_eq!(observed.count_in(22, 29), 0);
    assert_eq!(observed.count_in(12, 13), 2);
    assert_eq!(observed.total(), 12 + 11);
}

#[test]
fn vouched_sources_count_and_excluded_sources_never_do() {
    let observed = Observed::build(
        [ip("10.0.99.7"), ip("10.0.1.1")],
        &[net("10.9.0.0/28"), net("10.0.5.0/30")],
        &[net("10.0.99.0/24")],
        net("10.0.0.0/16"),
    );
    assert!(observed.contains(ip("10.0.1.1")));
    assert!(!observed.contains(ip("10.0.99.7")));
    assert!(
        !observed.contains(ip("10.9.0.1")),
        "vouched sources outside the rule never widen it"
    );
    assert_eq!(observed.total(), 1 + 4);
}

#[test]
fn cover_is_the_smallest_common_block() {
    let cover = Block::from_net(net("10.0.0.4/32")).cover(Block::from_net(net("10.0.0.9/32")));
    assert_eq!(cover.to_net(), net("10.0.0.0/28"));
}

#[test]
fn a_parent_holding_more_sources_than_a_child_block_has_addresses_does_not_overflow() {
    // Found by the property below: 4 sources under a /31 candidate once underflowed `size − count`.
    let within = Block::from_net(net("10.0.0.0/20"));
    let sources = [0u32, 1, 2, 4].map(|o| within.start + o);
    let blocks = blocks_at(&Observed::from_addresses(sources), within, 0.0, usize::MAX).unwrap();
    let nets: Vec<Ipv4Net> = blocks.into_iter().map(Block::to_net).collect();
    assert_eq!(
        strings(&nets),
        ["10.0.0.0/31", "10.0.0.2/32", "10.0.0.4/32"]
    );
}

/// The definition, computed the slow way: widest block inside `within` around `x` that fits.
fn naive_widest(sources: &[u32], x: u32, within: Block, tolerance: f64) -> Block {
    (within.prefix..=32)
        .map(|p| Block::containing(x, p))
        .find(|b| {
            let count = sources.iter().filter(|s| b.contains_addr(**s)).count() as u64;
            scan::fits(b.size(), count, tolerance)
        })
        .unwrap()
}

proptest! {
    #[test]
    fn the_fast_scan_equals_the_definition(offsets in prop::collection::btree_set(0u32..4096, 1..120), t in 0usize..20) {
        let tolerance = t as f64 * 0.05;
        let within = Block::from_net(net("10.0.0.0/20"));
        let sources: Vec<u32> = offsets.iter().map(|o| within.start + o).collect();
        let expected = merge_lossless(sources.iter().map(|x| naive_widest(&sources, *x, within, tolerance)).collect());
        let fast = blocks_at(&Observed::from_addresses(sources.clone()), within, tolerance, usize::MAX).unwrap();
        prop_assert_eq!(fast, expected);
    }

    #[test]
    fn collapse_covers_every_source_fits_the_budget_and_stays_inside(offsets in prop::collection::btree_set(0u32..65536, 1..200), budget in 1usize..20, t in 0usize..20) {
        let within = net("172.16.0.0/16");
        let sources: Vec<u32> = offsets.iter().map(|o| ip("172.16.0.0") + o).collect();
        let out = collapse(&Observed::from_addresses(sources.clone()), within, budget, t as f64 * 0.05);
        prop_assert!(out.rule_count() <= budget);
        prop_assert!(out.blocks[0].iter().all(|b| within.contains(b)));
        prop_assert!(sources.iter().all(|s| covered(&out.blocks[0], Ipv4Addr::from(*s))));
    }
}
