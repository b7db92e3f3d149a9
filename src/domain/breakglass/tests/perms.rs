//! Domain layer (pure): tests for break-glass permission merging and per-group decisions.

use super::*;
use crate::domain::snapshot::{SecurityGroup, UserIdGroupPair};

#[test]
fn test_merges_same_proto_port() {
    let merged = merge_permissions(&[
        &[tcp(443, &["10.0.0.0/24"])],
        &[tcp(443, &["3.5.140.0/22"])],
    ]);
    assert_eq!(merged.len(), 1);
    assert_eq!(cidrs(&merged[0]), ["10.0.0.0/24", "3.5.140.0/22"]);
}

#[test]
fn test_different_ports_stay_separate() {
    assert_eq!(
        merge_permissions(&[
            &[tcp(443, &["10.0.0.0/24"])],
            &[tcp(5432, &["10.0.0.0/24"])]
        ])
        .len(),
        2
    );
}

#[test]
fn test_dedupes_identical_cidrs() {
    let merged = merge_permissions(&[&[tcp(443, &["10.0.0.0/24"])], &[tcp(443, &["10.0.0.0/24"])]]);
    assert_eq!((merged.len(), merged[0].ip_ranges.len()), (1, 1));
}

fn group_with(permissions: Vec<IpPermission>) -> SecurityGroup {
    SecurityGroup {
        group_id: "sg-12345678".into(),
        ip_permissions: permissions,
        ..Default::default()
    }
}

#[test]
fn existing_rules_on_the_same_protocol_and_ports_filter_candidates_out() {
    let wanted = [tcp(443, &["10.0.1.0/24", "10.9.0.0/24"])];
    let kept = filter_existing(&wanted, &group_with(vec![tcp(443, &["10.0.0.0/16"])]));
    assert_eq!(cidrs(&kept[0]), ["10.9.0.0/24"]);
    let all = PortSpec::All.permission(vec![IpRange {
        cidr_ip: "10.0.0.0/8".into(),
        description: None,
    }]);
    assert!(
        filter_existing(&wanted, &group_with(vec![all])).is_empty(),
        "an all-traffic rule covers every port"
    );
    let range = PortSpec::Tcp(400, 500).permission(vec![IpRange {
        cidr_ip: "10.9.0.0/16".into(),
        description: None,
    }]);
    assert_eq!(
        cidrs(&filter_existing(&wanted, &group_with(vec![range]))[0]),
        ["10.0.1.0/24"]
    );
    let udp = PortSpec::Udp(443, 443).permission(vec![IpRange {
        cidr_ip: "10.0.0.0/8".into(),
        description: None,
    }]);
    assert_eq!(
        filter_existing(&wanted, &group_with(vec![udp]))[0]
            .ip_ranges
            .len(),
        2,
        "another protocol covers nothing"
    );
}

#[test]
fn rules_are_counted_the_way_aws_counts_them() {
    let mut permission = tcp(443, &["10.0.0.0/24", "10.1.0.0/24"]);
    permission.user_id_group_pairs.push(UserIdGroupPair {
        group_id: Some("sg-1".into()),
        ..Default::default()
    });
    assert_eq!(rule_count(&[permission, tcp(22, &["10.0.0.0/24"])]), 4);
}

#[test]
fn each_group_gets_a_decision_and_over_budget_groups_are_skipped() {
    let wanted = [tcp(443, &["10.0.1.0/24", "10.0.2.0/24"])];
    let existing: Vec<IpPermission> = (0..58).map(|i| tcp(1000 + i, &["10.50.0.0/24"])).collect();
    assert_eq!(decide_group(None, &wanted, 60), GroupDecision::NotFound);
    assert_eq!(
        decide_group(Some(&group_with(vec![])), &[], 60),
        GroupDecision::NoFlowsForGroup
    );
    assert_eq!(
        decide_group(
            Some(&group_with(vec![tcp(443, &["10.0.0.0/16"])])),
            &wanted,
            60
        ),
        GroupDecision::AlreadyPresent
    );
    let full = group_with(existing.clone());
    assert!(matches!(
        decide_group(Some(&full), &wanted, 60),
        GroupDecision::Add {
            existing: 58,
            would_add: 2,
            ..
        }
    ));
    assert_eq!(
        decide_group(Some(&full), &wanted, 59),
        GroupDecision::SkippedBudget {
            existing: 58,
            would_add: 2
        }
    );
    assert_eq!(
        decide_group(Some(&full), &wanted, 59).status(),
        "SkippedBudget"
    );
}

#[test]
fn revocation_spares_rules_other_extensions_or_the_past_also_hold() {
    let added = [
        "tcp:443 10.4.0.0/16".to_string(),
        "tcp:443 10.5.0.0/16".to_string(),
        "tcp:22 10.4.0.0/16".to_string(),
    ];
    let other = ["tcp:443 10.5.0.0/16".to_string()];
    let before = ["tcp:22 10.4.0.0/16".to_string()];
    assert_eq!(
        rules_to_revoke(&added, &other, &before),
        ["tcp:443 10.4.0.0/16"]
    );
}
