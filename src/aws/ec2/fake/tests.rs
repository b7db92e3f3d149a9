//! AWS layer tests: the in-memory fake behaves like EC2 where reconcilers depend on it.

use super::*;
use crate::domain::snapshot::{IpRange, Tag};

fn rule(protocol: &str, port: i32, cidrs: &[&str]) -> IpPermission {
    IpPermission {
        ip_protocol: protocol.into(),
        from_port: Some(port),
        to_port: Some(port),
        ip_ranges: cidrs
            .iter()
            .map(|c| IpRange {
                cidr_ip: (*c).into(),
                description: Some(format!("d {c}")),
            })
            .collect(),
        ..IpPermission::default()
    }
}

fn group(id: &str, vpc: &str, team: &str, permissions: Vec<IpPermission>) -> SecurityGroup {
    SecurityGroup {
        group_id: id.into(),
        vpc_id: Some(vpc.into()),
        ip_permissions: permissions,
        tags: vec![Tag {
            key: "team".into(),
            value: team.into(),
        }],
        ..SecurityGroup::default()
    }
}

fn fake() -> FakeSecurityGroups {
    FakeSecurityGroups::new([
        group(
            "sg-1",
            "vpc-a",
            "payments",
            vec![rule("tcp", 443, &["10.0.0.0/16"])],
        ),
        group("sg-2", "vpc-b", "payments", vec![]),
        group("sg-3", "vpc-a", "search", vec![]),
    ])
}

fn cidrs(group: &SecurityGroup) -> Vec<String> {
    group
        .ip_permissions
        .iter()
        .flat_map(|p| p.ip_ranges.iter().map(|r| r.cidr_ip.clone()))
        .collect()
}

#[tokio::test]
async fn selectors_combine_their_criteria() {
    let fake = fake();
    let mut selector = GroupSelector {
        tags: [("team".into(), "payments".into())].into(),
        ..Default::default()
    };
    let ids =
        |groups: Vec<SecurityGroup>| groups.into_iter().map(|g| g.group_id).collect::<Vec<_>>();
    assert_eq!(
        ids(fake.describe_groups(&selector).await.unwrap()),
        ["sg-1", "sg-2"]
    );
    selector.vpc_ids = vec!["vpc-a".into()];
    assert_eq!(
        ids(fake.describe_groups(&selector).await.unwrap()),
        ["sg-1"]
    );
    assert!(fake
        .describe_groups(&GroupSelector::default())
        .await
        .is_err());
}

#[tokio::test]
async fn authorise_adds_into_the_matching_permission_and_keeps_descriptions() {
    let fake = fake();
    let outcome = fake
        .authorise_ingress("sg-1", &[rule("tcp", 443, &["10.1.0.0/24"])])
        .await
        .unwrap();
    assert_eq!(outcome, AuthoriseOutcome::Authorised);
    let group = fake.group("sg-1").unwrap();
    assert_eq!(group.ip_permissions.len(), 1);
    assert_eq!(cidrs(&group), ["10.0.0.0/16", "10.1.0.0/24"]);
    assert_eq!(
        group.ip_permissions[0].ip_ranges[1].description.as_deref(),
        Some("d 10.1.0.0/24")
    );
}

#[tokio::test]
async fn a_duplicate_makes_the_whole_authorise_a_no_op() {
    let fake = fake();
    let permissions = [rule("tcp", 443, &["10.1.0.0/24", "10.0.0.0/16"])];
    assert_eq!(
        fake.authorise_ingress("sg-1", &permissions).await.unwrap(),
        AuthoriseOutcome::AlreadyPresent
    );
    assert_eq!(cidrs(&fake.group("sg-1").unwrap()), ["10.0.0.0/16"]);
}

#[tokio::test]
async fn the_rule_limit_is_enforced() {
    let fake = fake();
    fake.set_rule_limit(2);
    let error = fake
        .authorise_ingress("sg-1", &[rule("tcp", 22, &["10.1.0.0/24", "10.2.0.0/24"])])
        .await
        .unwrap_err();
    assert!(matches!(error, AwsError::LimitExceeded(_)));
    assert_eq!(fake.group("sg-1").unwrap().ip_permissions.len(), 1);
}

#[tokio::test]
async fn revoke_removes_known_rules_and_reports_unknown_ones() {
    let fake = fake();
    let outcome = fake
        .revoke_ingress("sg-1", &[rule("tcp", 443, &["10.0.0.0/16", "10.5.0.0/16"])])
        .await
        .unwrap();
    let RevokeOutcome::Revoked { unknown } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(unknown, vec![rule("tcp", 443, &["10.5.0.0/16"])]);
    assert!(fake.group("sg-1").unwrap().ip_permissions.is_empty());
}

#[tokio::test]
async fn a_missing_group_is_not_found() {
    let error = fake()
        .revoke_ingress("sg-404", &[rule("tcp", 1, &["10.0.0.0/8"])])
        .await
        .unwrap_err();
    assert_eq!(error.code(), "InvalidGroup.NotFound");
}

#[tokio::test]
async fn injected_failures_hit_the_next_call_of_their_operation_only() {
    let fake = fake();
    let throttled = AwsError::Throttled(Failure::new(
        "revoke ingress on sg-1",
        "RequestLimitExceeded",
        "slow down",
    ));
    fake.fail_next(Operation::Revoke, throttled.clone());
    fake.authorise_ingress("sg-1", &[rule("udp", 53, &["10.3.0.0/24"])])
        .await
        .unwrap();
    let permissions = [rule("tcp", 443, &["10.0.0.0/16"])];
    assert_eq!(
        fake.revoke_ingress("sg-1", &permissions).await.unwrap_err(),
        throttled
    );
    assert_eq!(
        cidrs(&fake.group("sg-1").unwrap()).len(),
        2,
        "the failed revoke changed nothing"
    );
    fake.revoke_ingress("sg-1", &permissions).await.unwrap();
    assert_eq!(fake.mutations(), 3);
    assert_eq!(fake.calls()[1].group_id.as_deref(), Some("sg-1"));
}

#[tokio::test]
async fn interfaces_are_found_by_attached_group() {
    use crate::domain::snapshot::{GroupIdentifier, NetworkInterface};
    let fake = fake();
    let eni = |id: &str, group: &str| NetworkInterface {
        network_interface_id: id.into(),
        groups: vec![GroupIdentifier {
            group_id: group.into(),
            group_name: None,
        }],
        ..NetworkInterface::default()
    };
    fake.add_interface(eni("eni-1", "sg-1"));
    fake.add_interface(eni("eni-2", "sg-2"));
    let found = fake
        .describe_network_interfaces(&["sg-2".into()])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].network_interface_id, "eni-2");
}
