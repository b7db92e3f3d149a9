//! e2e: the operator's AWS layer against moto — groups and ingress rules made with the AWS SDK
//! directly read back through `ClientFactory` + `Ec2SecurityGroups` (by id, by tag, by VPC) in a
//! role-assumed account, exactly as written; and one test's account is invisible to another's.

use crate::support::aws::{moto_config, operator_aws_layer};
use crate::support::names::unique_name;
use crate::support::TestAccount;
use aws_sdk_ec2::types::{IpPermission as SdkPermission, IpRange as SdkRange};
use sg_tightener::aws::{AwsPorts, GroupSelector};
use sg_tightener::domain::snapshot::{IpPermission, IpRange};

fn sdk_rule(protocol: &str, ports: (i32, i32), ranges: &[(&str, Option<&str>)]) -> SdkPermission {
    let mut rule = SdkPermission::builder()
        .ip_protocol(protocol)
        .from_port(ports.0)
        .to_port(ports.1);
    for (cidr, description) in ranges {
        let range = SdkRange::builder()
            .cidr_ip(*cidr)
            .set_description(description.map(Into::into));
        rule = rule.ip_ranges(range.build());
    }
    rule.build()
}

fn domain_rule(protocol: &str, ports: (i32, i32), ranges: &[(&str, Option<&str>)]) -> IpPermission {
    IpPermission {
        ip_protocol: protocol.into(),
        from_port: Some(ports.0),
        to_port: Some(ports.1),
        ip_ranges: ranges
            .iter()
            .map(|(cidr, description)| IpRange {
                cidr_ip: (*cidr).into(),
                description: description.map(Into::into),
            })
            .collect(),
        ..IpPermission::default()
    }
}

/// Order-insensitive form: permissions by protocol and ports, ranges by CIDR.
fn normalised(mut rules: Vec<IpPermission>) -> Vec<IpPermission> {
    for rule in &mut rules {
        rule.ip_ranges.sort();
    }
    rules.sort_by_key(|r| (r.ip_protocol.clone(), r.from_port, r.to_port));
    rules
}

type Rule = (
    &'static str,
    (i32, i32),
    &'static [(&'static str, Option<&'static str>)],
);

const RULES: [Rule; 3] = [
    (
        "tcp",
        (443, 443),
        &[
            ("10.0.10.0/27", Some("app tier")),
            ("10.0.20.10/31", Some("batch hosts")),
        ],
    ),
    (
        "tcp",
        (5432, 5433),
        &[(
            "10.9.0.0/28",
            Some("DR site (failover tests run quarterly)"),
        )],
    ),
    ("udp", (53, 53), &[("10.0.0.0/16", None)]),
];

#[tokio::test]
async fn ingress_rules_written_with_the_sdk_read_back_through_the_operator_aws_layer() {
    let account = TestAccount::new().await;
    let vpc = account.create_vpc("10.20.0.0/16").await;
    let run = unique_name("aws-round-trip");
    let group = account
        .create_group(
            &vpc,
            &run,
            &[("team", "payments"), ("sgtightener.io/e2e-run", &run)],
        )
        .await;
    let mut authorise = account
        .ec2()
        .authorize_security_group_ingress()
        .group_id(&group);
    for (protocol, ports, ranges) in RULES {
        authorise = authorise.ip_permissions(sdk_rule(protocol, ports, ranges));
    }
    authorise
        .send()
        .await
        .unwrap_or_else(|e| panic!("authorize ingress: {e:?}"));
    let expected = normalised(
        RULES
            .iter()
            .map(|(p, ports, r)| domain_rule(p, *ports, r))
            .collect(),
    );

    let layer = operator_aws_layer().await;
    let groups = layer.security_groups(&account.target()).await;
    let by_id = groups
        .describe_groups(&GroupSelector::ids([group.clone()]))
        .await
        .expect("describe by id");
    assert_eq!(by_id.len(), 1, "{by_id:?}");
    let found = &by_id[0];
    assert_eq!(found.group_id, group);
    assert_eq!(found.group_name, run);
    assert_eq!(found.vpc_id.as_deref(), Some(vpc.as_str()));
    assert_eq!(found.owner_id.as_deref(), Some(account.id.as_str()));
    assert_eq!(normalised(found.ip_permissions.clone()), expected);
    assert_eq!(found.tag_map().get("team"), Some(&"payments"));

    let by_tag = GroupSelector {
        tags: [("sgtightener.io/e2e-run".to_owned(), run.clone())].into(),
        ..GroupSelector::default()
    };
    let tagged = groups
        .describe_groups(&by_tag)
        .await
        .expect("describe by tag");
    assert_eq!(tagged, by_id, "the tag selects exactly the group");

    let in_vpc = GroupSelector {
        vpc_ids: vec![vpc.clone()],
        ..GroupSelector::default()
    };
    let in_vpc = groups
        .describe_groups(&in_vpc)
        .await
        .expect("describe by VPC");
    let names: Vec<&str> = in_vpc.iter().map(|g| g.group_name.as_str()).collect();
    assert!(
        names.contains(&run.as_str()) && names.contains(&"default"),
        "{names:?}"
    );

    let identity = layer
        .identity(&account.target())
        .await
        .caller_identity()
        .await
        .expect("caller identity");
    assert_eq!(
        identity.account, account.id,
        "the operator's calls land in the test's account"
    );
}

#[tokio::test]
async fn a_test_account_sees_only_its_own_groups() {
    let (mine, other) = (TestAccount::new().await, TestAccount::new().await);
    assert_ne!(mine.id, other.id);
    let run = unique_name("aws-isolation");
    let vpc = mine.create_vpc("10.30.0.0/16").await;
    let group = mine
        .create_group(&vpc, &run, &[("sgtightener.io/e2e-run", &run)])
        .await;
    let selector = GroupSelector {
        tags: [("sgtightener.io/e2e-run".to_owned(), run.clone())].into(),
        ..GroupSelector::default()
    };
    let layer = operator_aws_layer().await;
    let seen = |groups: Vec<sg_tightener::domain::snapshot::SecurityGroup>| {
        groups.into_iter().map(|g| g.group_id).collect::<Vec<_>>()
    };
    let in_mine = layer
        .security_groups(&mine.target())
        .await
        .describe_groups(&selector)
        .await;
    assert_eq!(seen(in_mine.expect("describe in mine")), vec![group]);
    let in_other = layer
        .security_groups(&other.target())
        .await
        .describe_groups(&selector)
        .await;
    assert!(seen(in_other.expect("describe in other")).is_empty());
    let default = aws_sdk_ec2::Client::new(&moto_config().await)
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:sgtightener.io/e2e-run")
                .values(&run)
                .build(),
        )
        .send()
        .await
        .expect("describe in the default account");
    assert!(
        default.security_groups().is_empty(),
        "moto's default account sees it"
    );
}
