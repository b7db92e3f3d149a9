//! Domain layer (pure): unit tests of the rule model, eligibility, counting and rule strings.

use super::*;
use crate::domain::snapshot::{IpRange, Ipv6Range, PrefixListId, UserIdGroupPair};

fn perm(protocol: &str, from: Option<i32>, to: Option<i32>, cidrs: &[&str]) -> IpPermission {
    IpPermission {
        ip_protocol: protocol.into(),
        from_port: from,
        to_port: to,
        ip_ranges: cidrs
            .iter()
            .map(|c| IpRange {
                cidr_ip: c.to_string(),
                description: None,
            })
            .collect(),
        ..IpPermission::default()
    }
}

fn rule(text: &str) -> Rule {
    parse_rule(text).unwrap()
}

#[test]
fn eligibility_follows_invariant_i2() {
    let cases = [
        ("10.0.0.0/16", 24, true),
        ("10.0.0.0/8", 24, true),
        ("172.20.0.0/16", 24, true),
        ("192.168.0.0/16", 24, true),
        ("10.0.10.0/24", 24, false),
        ("10.0.10.0/27", 24, false),
        ("10.0.10.0/24", 25, true),
        ("192.0.0.0/4", 24, false),
        ("0.0.0.0/0", 24, false),
        ("172.40.0.0/16", 24, false),
        ("8.8.0.0/16", 24, false),
    ];
    for (cidr, threshold, expected) in cases {
        assert_eq!(
            is_eligible_cidr(cidr.parse().unwrap(), threshold),
            expected,
            "{cidr} /{threshold}"
        );
    }
}

#[test]
fn only_ipv4_cidr_rules_can_be_eligible() {
    for text in [
        "tcp:443 ::/0",
        "tcp:443 fd00::/8",
        "tcp:443 sg-0abc",
        "tcp:443 pl-123",
    ] {
        assert_eq!(rule(text).eligible_cidr(24), None, "{text}");
    }
    assert_eq!(
        rule("tcp:443 10.0.0.7/16").eligible_cidr(24),
        Some("10.0.0.0/16".parse().unwrap())
    );
}

#[test]
fn break_glass_rules_are_eligible_at_any_private_prefix_but_never_public() {
    let mut narrow = rule("tcp:443 10.4.1.0/28");
    narrow.description = Some(format!("{BREAK_GLASS_PREFIX} INC-1234"));
    assert!(narrow.is_break_glass());
    assert_eq!(
        narrow.eligible_cidr(24),
        Some("10.4.1.0/28".parse().unwrap())
    );
    let mut public = rule("tcp:443 8.8.8.0/24");
    public.description = narrow.description.clone();
    assert_eq!(public.eligible_cidr(24), None);
}

#[test]
fn aws_counts_one_rule_per_source_entry() {
    let mut p = perm("tcp", Some(443), Some(443), &["10.0.0.0/24", "0.0.0.0/0"]);
    p.ipv6_ranges.push(Ipv6Range {
        cidr_ipv6: "::/0".into(),
        description: None,
    });
    p.user_id_group_pairs.push(UserIdGroupPair {
        group_id: Some("sg-1".into()),
        ..Default::default()
    });
    p.prefix_list_ids.push(PrefixListId {
        prefix_list_id: "pl-1".into(),
        description: None,
    });
    assert_eq!(rule_count(std::slice::from_ref(&p)), 5);
    let rules = rules_of_permission(&p).unwrap();
    let strings: Vec<String> = rules.iter().map(ToString::to_string).collect();
    assert_eq!(
        strings,
        [
            "tcp:443 10.0.0.0/24",
            "tcp:443 0.0.0.0/0",
            "tcp:443 ::/0",
            "tcp:443 sg-1",
            "tcp:443 pl-1"
        ]
    );
}

#[test]
fn permissions_convert_to_rule_strings_as_designed() {
    let cases = [
        (
            perm("tcp", Some(443), Some(443), &["10.0.10.0/27"]),
            "tcp:443 10.0.10.0/27",
        ),
        (
            perm("tcp", Some(8000), Some(8100), &["10.0.0.0/16"]),
            "tcp:8000-8100 10.0.0.0/16",
        ),
        (
            perm("udp", Some(53), Some(53), &["10.0.0.0/16"]),
            "udp:53 10.0.0.0/16",
        ),
        (
            perm("icmp", Some(8), Some(0), &["10.0.0.0/16"]),
            "icmp:8/0 10.0.0.0/16",
        ),
        (
            perm("icmp", Some(8), Some(-1), &["10.0.0.0/16"]),
            "icmp:8 10.0.0.0/16",
        ),
        (
            perm("icmp", Some(-1), Some(-1), &["10.0.0.0/16"]),
            "icmp:all 10.0.0.0/16",
        ),
        (perm("-1", None, None, &["10.0.0.0/16"]), "all 10.0.0.0/16"),
        (
            perm("50", None, None, &["10.0.0.0/16"]),
            "proto:50 10.0.0.0/16",
        ),
        (
            perm("6", Some(22), Some(22), &["10.0.0.0/16"]),
            "tcp:22 10.0.0.0/16",
        ),
    ];
    for (p, expected) in cases {
        let rules = rules_of_permission(&p).unwrap();
        assert_eq!(rules[0].to_string(), expected);
        assert_eq!(
            rule(expected).traffic,
            rules[0].traffic,
            "{expected} parses back"
        );
        let back = to_permissions(&rules);
        assert_eq!(
            rules_of_permission(&back[0]).unwrap(),
            rules,
            "{expected} round-trips"
        );
    }
}

#[test]
fn malformed_rule_strings_are_rejected_naming_the_value() {
    for text in [
        "tcp 10.0.0.0/16",
        "tcp:70000 10.0.0.0/16",
        "tcp:90-80 10.0.0.0/16",
        "gre:1 10.0.0.0/16",
        "tcp:443",
        "tcp:443 10.0.0.300/16",
        "icmp:all/0 10.0.0.0/8",
    ] {
        let error = parse_rule(text).unwrap_err().to_string();
        let offending = text
            .split_whitespace()
            .find(|part| error.contains(part))
            .is_some()
            || error.contains(text);
        assert!(offending, "{text}: {error}");
    }
}

#[test]
fn unknown_aws_protocols_and_bad_cidrs_are_errors() {
    assert!(matches!(
        traffic_of(&perm("gre", None, None, &[])),
        Err(RuleError::Protocol(_))
    ));
    assert!(matches!(
        rules_of_permission(&perm("tcp", Some(1), Some(1), &["10.0.0/8"])),
        Err(RuleError::Source(_))
    ));
}

#[test]
fn rule_strings_batch_into_one_permission_per_traffic_keeping_descriptions() {
    let strings: Vec<String> = [
        "tcp:443 10.0.10.0/27",
        "tcp:443 10.0.20.10/31",
        "tcp:5432 10.4.8.0/29",
    ]
    .map(String::from)
    .to_vec();
    let perms =
        permissions_from_strings(&strings, |r| Some(format!("evidence {}", r.source))).unwrap();
    assert_eq!(perms.len(), 2);
    assert_eq!(perms[0].ip_ranges.len(), 2);
    assert_eq!(
        perms[0].ip_ranges[1].description.as_deref(),
        Some("evidence 10.0.20.10/31")
    );
    assert_eq!(
        (perms[1].from_port, perms[1].to_port),
        (Some(5432), Some(5432))
    );
}

#[test]
fn description_lookup_returns_the_groups_own_descriptions() {
    let mut p = perm("tcp", Some(443), Some(443), &["10.0.0.0/16"]);
    p.ip_ranges[0].description = Some("datacentre".into());
    let group = SecurityGroup {
        group_id: "sg-1".into(),
        ip_permissions: vec![p],
        ..Default::default()
    };
    let lookup = description_lookup(&group);
    assert_eq!(
        lookup(&rule("tcp:443 10.0.0.0/16")).as_deref(),
        Some("datacentre")
    );
    assert_eq!(lookup(&rule("tcp:443 10.0.0.0/8")), None);
}

#[test]
fn adjacent_and_overlapping_port_ranges_merge_and_gaps_do_not() {
    let r = |from, to| PortRange { from, to };
    let cases = [
        (vec![r(443, 443), r(444, 444)], vec![r(443, 444)]),
        (vec![r(8000, 8100), r(8050, 8200)], vec![r(8000, 8200)]),
        (vec![r(80, 80), r(443, 443)], vec![r(80, 80), r(443, 443)]),
        (vec![r(22, 22), r(22, 22)], vec![r(22, 22)]),
        (vec![r(0, 65535), r(443, 443)], vec![r(0, 65535)]),
        (vec![], vec![]),
    ];
    for (input, expected) in cases {
        assert_eq!(merge_port_ranges(&input), expected, "{input:?}");
    }
}

#[test]
fn flows_match_traffic_by_protocol_and_port() {
    let cases = [
        ("tcp:443", 6, 443, true),
        ("tcp:443", 17, 443, false),
        ("tcp:8000-8100", 6, 8050, true),
        ("tcp:8000-8100", 6, 8101, false),
        ("udp:53", 17, 53, true),
        ("icmp:8/0", 1, 0, true),
        ("all", 47, 0, true),
        ("proto:50", 50, 0, true),
        ("proto:50", 6, 0, false),
    ];
    for (traffic, protocol, port, expected) in cases {
        let t = strings::parse_traffic(traffic).unwrap();
        assert_eq!(
            t.matches(protocol, port),
            expected,
            "{traffic} {protocol}/{port}"
        );
    }
}
