//! Domain layer (pure): tests for severity classification, risk score and partition detection.

use super::*;
use crate::domain::snapshot::{IpRange, Ipv6Range, NaclPortRange, UserIdGroupPair};

fn policy() -> RiskPolicy {
    RiskPolicy::default()
}

#[test]
fn sg_cidrs_are_classified_as_design_section_6_3_says() {
    use Severity::*;
    type Case = (
        &'static str,
        &'static str,
        Option<i32>,
        Option<i32>,
        Option<Severity>,
    );
    let cases: &[Case] = &[
        ("0.0.0.0/0", "tcp", Some(22), Some(22), Some(Critical)),
        ("0.0.0.0/0", "tcp", Some(3389), Some(3389), Some(Critical)),
        ("0.0.0.0/0", "tcp", Some(20), Some(25), Some(Critical)),
        ("0.0.0.0/0", "-1", None, None, Some(Critical)),
        ("::/0", "tcp", Some(5432), Some(5432), Some(Critical)),
        ("0.0.0.0/0", "tcp", Some(443), Some(443), Some(High)),
        ("::/0", "tcp", Some(80), Some(80), Some(High)),
        ("0.0.0.0/0", "icmp", Some(-1), Some(-1), Some(High)),
        ("10.0.0.0/8", "tcp", Some(443), Some(443), Some(High)),
        ("10.0.0.0/16", "tcp", Some(443), Some(443), Some(High)),
        ("172.16.0.0/12", "tcp", Some(443), Some(443), Some(High)),
        ("10.0.0.0/17", "tcp", Some(443), Some(443), Some(Medium)),
        ("192.168.0.0/20", "tcp", Some(443), Some(443), Some(Medium)),
        ("10.0.0.0/21", "tcp", Some(443), Some(443), Some(Low)),
        ("10.0.0.0/23", "tcp", Some(443), Some(443), Some(Low)),
        ("10.0.0.0/24", "tcp", Some(443), Some(443), None),
        ("10.0.0.5/32", "tcp", Some(22), Some(22), None),
        ("8.8.8.0/24", "tcp", Some(22), Some(22), None),
        ("192.0.0.0/4", "tcp", Some(443), Some(443), None),
        ("172.40.0.0/16", "tcp", Some(443), Some(443), None),
        ("2001:db8::/32", "tcp", Some(22), Some(22), None),
        ("garbage", "tcp", Some(22), Some(22), None),
    ];
    for (cidr, protocol, from, to, expected) in cases {
        assert_eq!(
            classify_sg_cidr(cidr, protocol, *from, *to, &policy()),
            *expected,
            "{cidr} {protocol} {from:?}-{to:?}"
        );
    }
}

#[test]
fn the_prefix_threshold_moves_the_low_boundary() {
    let strict = RiskPolicy {
        prefix_threshold: 28,
        ..policy()
    };
    assert_eq!(
        classify_sg_cidr("10.0.0.0/27", "tcp", Some(1), Some(1), &strict),
        Some(Severity::Low)
    );
    assert_eq!(
        classify_sg_cidr("10.0.0.0/28", "tcp", Some(1), Some(1), &strict),
        None
    );
    let loose = RiskPolicy {
        prefix_threshold: 20,
        ..policy()
    };
    assert_eq!(
        classify_sg_cidr("10.0.0.0/21", "tcp", Some(1), Some(1), &loose),
        None
    );
}

#[test]
fn a_custom_critical_port_list_replaces_the_default() {
    let custom = RiskPolicy {
        critical_ports: vec![8443],
        ..policy()
    };
    assert_eq!(
        classify_sg_cidr("0.0.0.0/0", "tcp", Some(8443), Some(8443), &custom),
        Some(Severity::Critical)
    );
    assert_eq!(
        classify_sg_cidr("0.0.0.0/0", "tcp", Some(22), Some(22), &custom),
        Some(Severity::High)
    );
}

#[test]
fn nacl_cidrs_are_one_step_milder() {
    let cases = [
        ("0.0.0.0/0", Some(Severity::High)),
        ("::/0", Some(Severity::High)),
        ("10.0.0.0/16", Some(Severity::Medium)),
        ("10.0.0.0/8", Some(Severity::Medium)),
        ("10.0.0.0/20", Some(Severity::Low)),
        ("10.0.0.0/23", Some(Severity::Low)),
        ("10.0.0.0/24", None),
        ("8.8.8.0/24", None),
    ];
    for (cidr, expected) in cases {
        assert_eq!(classify_nacl_cidr(cidr, &policy()), expected, "{cidr}");
    }
}

fn group() -> SecurityGroup {
    let permission =
        |protocol: &str, from: Option<i32>, to: Option<i32>, cidrs: &[&str]| IpPermission {
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
            ..Default::default()
        };
    let mut world_v6 = permission("tcp", Some(8000), Some(8100), &[]);
    world_v6.ipv6_ranges = vec![Ipv6Range {
        cidr_ipv6: "::/0".into(),
        description: None,
    }];
    world_v6.user_id_group_pairs = vec![UserIdGroupPair {
        group_id: Some("sg-2".into()),
        ..Default::default()
    }];
    SecurityGroup {
        group_id: "sg-1".into(),
        vpc_id: Some("vpc-1".into()),
        ip_permissions: vec![
            permission("tcp", Some(22), Some(22), &["0.0.0.0/0", "10.0.0.0/24"]),
            permission("-1", None, None, &["10.0.0.0/18"]),
            world_v6,
        ],
        ip_permissions_egress: vec![permission("-1", None, None, &["0.0.0.0/0"])],
        ..Default::default()
    }
}

#[test]
fn a_group_yields_one_finding_per_permissive_ingress_source() {
    let findings = classify_security_group(&group(), &policy());
    let summary: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                f.cidr.as_str(),
                f.protocol.as_str(),
                f.ports.as_str(),
                f.severity,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("0.0.0.0/0", "tcp", "22", Severity::Critical),
            ("10.0.0.0/18", "all", "all", Severity::Medium),
            ("::/0", "tcp", "8000-8100", Severity::High)
        ]
    );
    assert!(findings
        .iter()
        .all(|f| f.resource_id == "sg-1" && f.vpc_id.as_deref() == Some("vpc-1")));
}

#[test]
fn nacl_findings_skip_egress_and_deny_entries() {
    let entry = |n: i32, action: &str, egress: bool, cidr: &str| NetworkAclEntry {
        rule_number: n,
        protocol: "6".into(),
        rule_action: action.into(),
        egress,
        cidr_block: Some(cidr.into()),
        ipv6_cidr_block: None,
        port_range: Some(NaclPortRange {
            from: Some(22),
            to: Some(22),
        }),
    };
    let acl = NetworkAcl {
        network_acl_id: "acl-1".into(),
        vpc_id: None,
        entries: vec![
            entry(100, "allow", false, "0.0.0.0/0"),
            entry(110, "deny", false, "0.0.0.0/0"),
            entry(120, "allow", true, "0.0.0.0/0"),
            entry(130, "allow", false, "10.0.0.0/12"),
        ],
    };
    let findings = classify_network_acl(&acl, &policy());
    let summary: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                f.rule_number,
                f.severity,
                f.ports.as_str(),
                f.protocol.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (Some(100), Severity::High, "22", "tcp"),
            (Some(130), Severity::Medium, "22", "tcp")
        ]
    );
}

#[test]
fn classify_all_puts_the_most_severe_first_and_counts_them() {
    let acl = NetworkAcl {
        network_acl_id: "acl-1".into(),
        vpc_id: None,
        entries: vec![NetworkAclEntry {
            rule_number: 1,
            protocol: "-1".into(),
            rule_action: "allow".into(),
            cidr_block: Some("10.0.0.0/22".into()),
            ..Default::default()
        }],
    };
    let findings = classify_all(&[group()], &[acl], &policy());
    assert_eq!(
        findings.first().map(|f| f.severity),
        Some(Severity::Critical)
    );
    assert_eq!(findings.last().map(|f| f.severity), Some(Severity::Low));
    let counts = SeverityCounts::of(&findings);
    assert_eq!(
        counts,
        SeverityCounts {
            critical: 1,
            high: 1,
            medium: 1,
            low: 1
        }
    );
    assert_eq!(counts.risk_score(), 1_010_101);
}

#[test]
fn findings_serialise_with_camel_case_keys_and_upper_case_severities() {
    let finding = &classify_security_group(&group(), &policy())[0];
    let json = serde_json::to_value(finding).unwrap();
    assert_eq!(json["resourceType"], "SG");
    assert_eq!(json["resourceId"], "sg-1");
    assert_eq!(json["severity"], "CRITICAL");
    assert!(json.get("ruleNumber").is_none());
}

#[test]
fn one_critical_outranks_a_hundred_lows_and_severities_are_ordered() {
    assert!(risk_score(1, 0, 0, 0) > risk_score(0, 0, 0, 100));
    assert!(risk_score(0, 1, 0, 0) > risk_score(0, 0, 0, 50));
    assert_eq!(risk_score(0, 0, 0, 0), 0);
    let (c, h, m, l) = (
        risk_score(1, 0, 0, 0),
        risk_score(0, 1, 0, 0),
        risk_score(0, 0, 1, 0),
        risk_score(0, 0, 0, 1),
    );
    assert!(c > h && h > m && m > l);
    assert_eq!(risk_score(2, 3, 4, 5), 2_030_405);
    assert_eq!(
        risk_score(u64::MAX, 1, 0, 0),
        u64::MAX,
        "saturates instead of overflowing"
    );
}

#[test]
fn partition_comes_from_the_arn_and_defaults_to_aws() {
    let cases = [
        ("arn:aws:iam::123:user/joe", "aws"),
        ("arn:aws-cn:iam::123:user/joe", "aws-cn"),
        ("arn:aws-us-gov:iam::123:user/joe", "aws-us-gov"),
        (
            "arn:aws-us-gov:sts::123456789012:assumed-role/r/s",
            "aws-us-gov",
        ),
        ("arn:aws-future:iam::123:user/joe", "aws"),
        ("arn:aws-cn", "aws"),
        ("", "aws"),
        ("not-an-arn", "aws"),
    ];
    for (arn, expected) in cases {
        assert_eq!(partition_from_arn(arn), expected, "{arn}");
    }
}

#[test]
fn top_accounts_ranks_by_score_then_account_id_and_truncates() {
    let counts = |critical, low| SeverityCounts {
        critical,
        low,
        ..Default::default()
    };
    let ranked = top_accounts(
        [
            ("3".to_string(), "c".to_string(), counts(0, 100)),
            ("1".into(), "a".into(), counts(1, 0)),
            ("2".into(), "b".into(), counts(1, 0)),
        ],
        2,
    );
    let ids: Vec<_> = ranked.iter().map(|a| a.account_id.as_str()).collect();
    assert_eq!(ids, ["1", "2"]);
    assert_eq!(ranked[0].risk_score, 1_000_000);
    let json = serde_json::to_value(&ranked[0]).unwrap();
    assert_eq!(json["critical"], 1);
    assert_eq!(json["riskScore"], 1_000_000);
}
