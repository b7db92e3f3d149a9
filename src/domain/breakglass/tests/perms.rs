//! Domain layer (pure): tests for break-glass permission merging and rule counting.

use super::*;
use crate::domain::snapshot::UserIdGroupPair;

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

#[test]
fn rules_are_counted_the_way_aws_counts_them() {
    let mut permission = tcp(443, &["10.0.0.0/24", "10.1.0.0/24"]);
    permission.user_id_group_pairs.push(UserIdGroupPair {
        group_id: Some("sg-1".into()),
        ..Default::default()
    });
    assert_eq!(rule_count(&[permission, tcp(22, &["10.0.0.0/24"])]), 4);
}
