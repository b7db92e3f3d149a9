//! Property tests of the safety invariants I1–I5 (DESIGN §3) over random estates and evidence:
//! random groups (eligible and ineligible rules on assorted traffic), random flows clustered in
//! and around the rules' CIDRs, random tolerance, threshold, budget and no-evidence policy.

use ipnet::Ipv4Net;
use proptest::prelude::*;
use sg_tightener::domain::evidence::Flow;
use sg_tightener::domain::plan::{
    build_compact_plan, build_plan, plan_hash, CompactOptions, Evidence, NoEvidence, Plan,
    PlanOptions,
};
use sg_tightener::domain::rules::{
    ingress_rules, parse_rule, to_permissions, Rule, Source, Traffic,
};
use sg_tightener::domain::snapshot::{GroupIdentifier, NetworkInterface, SecurityGroup};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

const TRAFFIC: [&str; 8] = [
    "tcp:443",
    "tcp:444",
    "tcp:5432",
    "tcp:8000-8100",
    "tcp:8050-8200",
    "udp:53",
    "all",
    "icmp:8/0",
];
const FIXED_SOURCES: [&str; 6] = [
    "0.0.0.0/0",
    "::/0",
    "sg-0abc",
    "8.8.0.0/16",
    "pl-0123",
    "192.0.0.0/4",
];
/// RFC 1918 blocks as (start, prefix), checked independently of the crate's own helper.
const PRIVATE: [(u32, u8); 3] = [(0x0A00_0000, 8), (0xAC10_0000, 12), (0xC0A8_0000, 16)];

/// A random estate: groups, flows, ENIs and options.
#[derive(Debug, Clone)]
struct Estate {
    groups: Vec<SecurityGroup>,
    flows: Vec<Flow>,
    interfaces: Option<Vec<NetworkInterface>>,
    options: PlanOptions,
}

fn private_cidr(home: usize, prefix: u8, bits: u32) -> Ipv4Net {
    let (start, home_prefix) = PRIVATE[home % 3];
    let prefix = prefix.max(home_prefix);
    Ipv4Net::new(Ipv4Addr::from(start | (bits >> home_prefix)), prefix)
        .unwrap()
        .trunc()
}

/// One group's rules: eligible-looking CIDRs (some at or past the threshold) and fixed sources.
fn group_strategy() -> impl Strategy<Value = Vec<String>> {
    let cidr_rule =
        (0..TRAFFIC.len(), 0usize..3, 8u8..27, any::<u32>()).prop_map(|(t, home, prefix, bits)| {
            format!("{} {}", TRAFFIC[t], private_cidr(home, prefix, bits))
        });
    let fixed_rule = (0..TRAFFIC.len(), 0..FIXED_SOURCES.len())
        .prop_map(|(t, s)| format!("{} {}", TRAFFIC[t], FIXED_SOURCES[s]));
    (
        prop::collection::vec(cidr_rule, 0..6),
        prop::collection::vec(fixed_rule, 0..4),
    )
        .prop_map(|(mut a, b)| {
            a.extend(b);
            let unique: BTreeSet<String> = a.into_iter().collect();
            unique.into_iter().collect()
        })
}

fn build_group(k: usize, rules: &[String]) -> SecurityGroup {
    let rules: Vec<Rule> = rules.iter().map(|r| parse_rule(r).unwrap()).collect();
    SecurityGroup {
        group_id: format!("sg-{k:04}"),
        vpc_id: Some("vpc-1".into()),
        ip_permissions: to_permissions(&rules),
        ..Default::default()
    }
}

/// A flow aimed at one of the group's IPv4 rules (or at random), clustered when `dense`.
fn build_flow(groups: &[SecurityGroup], (g, r, offset, dense): (u32, u32, u32, bool)) -> Flow {
    let g = g as usize % groups.len();
    let rules: Vec<Rule> = ingress_rules(&groups[g])
        .unwrap()
        .into_iter()
        .filter(|r| r.v4_cidr().is_some())
        .collect();
    let (source, protocol, port) = match rules.get(r as usize % rules.len().max(1)) {
        Some(rule) => {
            let net = rule.v4_cidr().unwrap().trunc();
            let size = 1u64 << (32 - net.prefix_len());
            let span = if dense { size.min(64) } else { size };
            let source = u32::from(net.network()) + (u64::from(offset) % span) as u32;
            let (protocol, port) = match rule.traffic {
                Traffic::Tcp(p) => (6, if offset % 2 == 0 { p.from } else { p.to }),
                Traffic::Udp(p) => (17, p.from),
                Traffic::Icmp { .. } => (1, 0),
                _ => (6, (offset % 9000) as u16),
            };
            (source, protocol, port)
        }
        None => (0x0A00_0000 | (offset >> 8), 6, 443),
    };
    let destination = Ipv4Addr::new(10, 200, (g % 250) as u8, 1 + (offset % 2) as u8);
    Flow {
        source: Ipv4Addr::from(source),
        destination,
        interface_id: None,
        protocol,
        port,
        records: 1,
    }
}

fn interfaces(groups: &[SecurityGroup]) -> Vec<NetworkInterface> {
    groups
        .iter()
        .enumerate()
        .map(|(g, group)| NetworkInterface {
            network_interface_id: format!("eni-{g}"),
            private_ip_address: Some(format!("10.200.{}.1", g % 250)),
            groups: vec![GroupIdentifier {
                group_id: group.group_id.clone(),
                group_name: None,
            }],
            vpc_id: Some("vpc-1".into()),
            ..Default::default()
        })
        .collect()
}

prop_compose! {
    fn estate()(
        rules in prop::collection::vec(group_strategy(), 1..4),
        raw_flows in prop::collection::vec((any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>()), 0..160),
        spare in 0u32..6,
        tolerance in 0u32..=20,
        threshold in 20u8..=26,
        revoke in any::<bool>(),
        with_enis in any::<bool>(),
    ) -> Estate {
        let groups: Vec<SecurityGroup> = rules.iter().enumerate().map(|(k, r)| build_group(k, r)).collect();
        let flows = raw_flows.into_iter().map(|raw| build_flow(&groups, raw)).collect();
        let largest = rules.iter().map(Vec::len).max().unwrap_or(0) as u32;
        let options = PlanOptions {
            max_rules: largest.max(1) + spare,
            tolerance: f64::from(tolerance) * 0.05,
            prefix_threshold: threshold,
            no_evidence: if revoke { NoEvidence::Revoke } else { NoEvidence::Keep },
            ..PlanOptions::default()
        };
        let interfaces = with_enis.then(|| interfaces(&groups));
        Estate { groups, flows, interfaces, options }
    }
}

fn plan_of(estate: &Estate) -> Plan {
    let evidence = Evidence {
        flows: &estate.flows,
        interfaces: estate.interfaces.as_deref(),
        vpcs: None,
    };
    build_plan(&estate.groups, &evidence, &estate.options)
        .unwrap()
        .plan
}

fn parse_all(strings: &[String]) -> Vec<Rule> {
    strings.iter().map(|s| parse_rule(s).unwrap()).collect()
}

/// The rules a group has after the plan: untouched ones plus authorised ones.
fn after(group: &SecurityGroup, revoke: &[Rule], authorise: &[Rule]) -> Vec<Rule> {
    let revoked: BTreeSet<String> = revoke.iter().map(ToString::to_string).collect();
    let mut rules: Vec<Rule> = ingress_rules(group)
        .unwrap()
        .into_iter()
        .filter(|r| !revoked.contains(&r.to_string()))
        .collect();
    rules.extend(authorise.iter().cloned());
    rules
}

fn in_private_home(net: Ipv4Net) -> bool {
    let (start, end) = (u32::from(net.network()), u32::from(net.broadcast()));
    PRIVATE.iter().any(|(home, prefix)| {
        let home_end = home | (u32::MAX >> prefix);
        start >= *home && end <= home_end
    })
}

/// Ports where coverage can change: the range ends and every revoked rule's edges inside it.
fn probe_ports(range: (u16, u16), revoke: &[Rule]) -> BTreeSet<u16> {
    let mut ports: BTreeSet<u16> = [range.0, range.1].into();
    for (_, p) in revoke.iter().filter_map(|r| r.traffic.port_range()) {
        for port in [
            p.from.saturating_sub(1),
            p.from,
            p.to,
            p.to.saturating_add(1),
        ] {
            if (range.0..=range.1).contains(&port) {
                ports.insert(port);
            }
        }
    }
    ports
}

fn protocol_of(traffic: &Traffic) -> u8 {
    match traffic {
        Traffic::Tcp(_) => 6,
        Traffic::Udp(_) => 17,
        Traffic::Icmp { .. } => 1,
        Traffic::Icmpv6 { .. } => 58,
        Traffic::All => 255,
        Traffic::Protocol(n) => *n,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn i1_a_plan_never_widens_access(estate in estate()) {
        let plan = plan_of(&estate);
        for g in &plan.groups {
            let (revoke, authorise) = (parse_all(&g.revoke), parse_all(&g.authorise));
            for new in &authorise {
                let cidr = new.v4_cidr().expect("replacements are IPv4");
                let covered_at = |protocol: u8, port: u16| revoke.iter().any(|old| {
                    let same_traffic = match new.traffic.port_range() { Some(_) => old.traffic.matches(protocol, port), None => old.traffic == new.traffic || old.traffic == Traffic::All };
                    same_traffic && old.v4_cidr().is_some_and(|c| c.trunc().contains(&cidr))
                });
                match new.traffic.port_range() {
                    Some((protocol, range)) => for port in probe_ports((range.from, range.to), &revoke) {
                        prop_assert!(covered_at(protocol, port), "{} widens {} at port {}: revoked {:?}", new, g.group_id, port, g.revoke);
                    },
                    None => prop_assert!(covered_at(protocol_of(&new.traffic), 0), "{} widens {}: revoked {:?}", new, g.group_id, g.revoke),
                }
            }
        }
    }

    #[test]
    fn i2_only_eligible_rules_are_touched(estate in estate()) {
        let plan = plan_of(&estate);
        let threshold = estate.options.prefix_threshold;
        for (g, group) in plan.groups.iter().zip(sorted(&estate.groups)) {
            let existing: BTreeSet<String> = ingress_rules(group).unwrap().iter().map(ToString::to_string).collect();
            for old in parse_all(&g.revoke) {
                prop_assert!(existing.contains(&old.to_string()), "{} is not a rule of {}", old, g.group_id);
                let Source::V4(net) = old.source else { return Err(TestCaseError::fail(format!("non-IPv4 rule revoked: {old}"))) };
                prop_assert!(in_private_home(net) && net.prefix_len() < threshold, "{} is not eligible at /{}", old, threshold);
            }
        }
    }

    #[test]
    fn i3_every_observed_source_of_a_revoked_rule_stays_allowed(estate in estate()) {
        let plan = plan_of(&estate);
        for (g, group) in plan.groups.iter().zip(sorted(&estate.groups)) {
            let (revoke, authorise) = (parse_all(&g.revoke), parse_all(&g.authorise));
            let final_rules = after(group, &revoke, &authorise);
            let enis = estate.interfaces.as_ref().map(|enis| interfaces_of(enis, &group.group_id));
            // a flow to an address no interface holds today reached one that no longer exists:
            // it may have been this group's, so it must stay allowed too
            let vanished = |f: &Flow| estate.interfaces.as_ref().is_some_and(|all| !all.iter().any(|e| e.private_ip_address.as_deref() == Some(f.destination.to_string().as_str())));
            for flow in estate.flows.iter().filter(|f| vanished(f) || enis.as_ref().is_none_or(|d| d.contains(&f.destination))) {
                let allowed_by = |rules: &[Rule]| rules.iter().any(|r| r.traffic.matches(flow.protocol, flow.port) && r.v4_cidr().is_some_and(|c| c.contains(&flow.source)));
                if allowed_by(&revoke) {
                    prop_assert!(allowed_by(&final_rules), "{:?} locked out of {}: revoke {:?} authorise {:?}", flow, g.group_id, g.revoke, g.authorise);
                }
            }
        }
    }

    #[test]
    fn i4_every_group_stays_within_its_rule_budget(estate in estate()) {
        let plan = plan_of(&estate);
        for (g, group) in plan.groups.iter().zip(sorted(&estate.groups)) {
            let current = ingress_rules(group).unwrap().len();
            let total = current - g.revoke.len() + g.authorise.len();
            prop_assert!(total <= estate.options.max_rules as usize, "{}: {} rules > {}", g.group_id, total, estate.options.max_rules);
            prop_assert_eq!(g.interruption, !g.authorise.is_empty() && current + g.authorise.len() > estate.options.max_rules as usize);
        }
    }

    #[test]
    fn i5_no_block_crosses_an_rfc1918_boundary(estate in estate(), ratio in 0u32..=20) {
        let plan = plan_of(&estate);
        let compacted = build_compact_plan(&estate.groups, &CompactOptions { ratio: f64::from(ratio) * 0.05, max_rules: estate.options.max_rules }).unwrap();
        for g in plan.groups.iter().chain(&compacted.groups) {
            for new in parse_all(&g.authorise) {
                prop_assert!(in_private_home(new.v4_cidr().unwrap()), "{} crosses an RFC 1918 boundary", new);
            }
        }
    }

    #[test]
    fn compaction_keeps_every_compacted_rule_covered(estate in estate(), ratio in 0u32..=20) {
        let plan = build_compact_plan(&estate.groups, &CompactOptions { ratio: f64::from(ratio) * 0.05, max_rules: 60 }).unwrap();
        for (g, group) in plan.groups.iter().zip(sorted(&estate.groups)) {
            let (revoke, authorise) = (parse_all(&g.revoke), parse_all(&g.authorise));
            let final_rules = after(group, &revoke, &authorise);
            for old in &revoke {
                let cidr = old.v4_cidr().unwrap().trunc();
                prop_assert!(final_rules.iter().any(|r| r.traffic == old.traffic && r.v4_cidr().is_some_and(|c| c.contains(&cidr))), "{} lost", old);
            }
            prop_assert_eq!(g.rules_saved, Some((revoke.len() - authorise.len()) as u32));
        }
    }

    #[test]
    fn the_same_inputs_always_give_the_same_plan_and_hash(estate in estate()) {
        let plan = plan_of(&estate);
        let mut shuffled = estate.clone();
        shuffled.flows.reverse();
        shuffled.groups.reverse();
        prop_assert_eq!(&plan, &plan_of(&shuffled));
        prop_assert_eq!(plan.hash.clone(), plan_hash(&plan));
    }
}

fn sorted(groups: &[SecurityGroup]) -> Vec<&SecurityGroup> {
    let mut out: Vec<&SecurityGroup> = groups.iter().collect();
    out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    out
}

fn interfaces_of(enis: &[NetworkInterface], group_id: &str) -> Vec<Ipv4Addr> {
    enis.iter()
        .filter(|e| e.groups.iter().any(|g| g.group_id == group_id))
        .filter_map(|e| e.private_ip_address.as_ref()?.parse().ok())
        .collect()
}
