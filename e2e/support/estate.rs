//! e2e: the article's estate in a test's own moto account (port of `scripts/demo/estate.py`):
//! a VPC, a subnet, the payments group with three broad /16 rules beside rules that must never be
//! touched, an ENI at a fixed private IP, and a flow-log bucket of the test's own that a VPC flow
//! log delivers to.

use super::names::unique_name;
use super::TestAccount;
use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, UserIdGroupPair};
use std::collections::BTreeSet;

/// The ENI's private address: the destination of every flow-log record.
pub const ENI_IP: &str = "10.100.1.10";

/// The payments group's eligible (broad, private IPv4) rules.
pub const ELIGIBLE: [&str; 3] = [
    "tcp:443 10.0.0.0/16",
    "tcp:5432 10.4.0.0/16",
    "tcp:8443 10.8.0.0/16",
];

/// Rules the plan must never revoke.
pub const UNTOUCHABLE_CIDRS: [&str; 3] = ["0.0.0.0/0", "10.4.200.0/26", "2001:db8::/64"];

/// What [`Estate::create`] built.
#[derive(Debug, Clone)]
pub struct Estate {
    pub vpc: String,
    pub subnet: String,
    pub group: String,
    /// The bastion group, referenced by the payments group's tcp/22 rule.
    pub bastion: String,
    pub eni: String,
    /// A bucket of this test's own (created, empty).
    pub bucket: String,
    /// The VPC's flow log (all traffic, to `bucket`).
    pub flow_log: String,
}

/// `tcp` permission on one port.
pub fn tcp(port: i32, cidrs: &[(&str, &str)]) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .set_ip_ranges(Some(
            cidrs
                .iter()
                .map(|(c, d)| IpRange::builder().cidr_ip(*c).description(*d).build())
                .collect(),
        ))
        .build()
}

impl Estate {
    /// Builds the estate in `account`.
    pub async fn create(account: &TestAccount) -> Estate {
        let ec2 = account.ec2();
        let vpc = account.create_vpc("10.100.0.0/16").await;
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block("10.100.1.0/24")
            .send()
            .await
            .expect("create_subnet")
            .subnet()
            .and_then(|s| s.subnet_id())
            .expect("subnet id")
            .to_owned();
        let group = account
            .create_group(&vpc, "payments-app", &[("team", "payments")])
            .await;
        let bastion = account
            .create_group(&vpc, "bastion", &[("role", "bastion")])
            .await;
        let ipv6 = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(8443)
            .to_port(8443)
            .ipv6_ranges(
                Ipv6Range::builder()
                    .cidr_ipv6("2001:db8::/64")
                    .description("IPv6 (never touched)")
                    .build(),
            )
            .build();
        let sg_ref = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(22)
            .to_port(22)
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(&bastion)
                    .description("bastion (never touched)")
                    .build(),
            )
            .build();
        ec2.authorize_security_group_ingress()
            .group_id(&group)
            .ip_permissions(tcp(
                443,
                &[
                    ("10.0.0.0/16", "datacentre via Direct Connect"),
                    ("0.0.0.0/0", "public HTTPS (never touched)"),
                ],
            ))
            .ip_permissions(tcp(
                5432,
                &[
                    ("10.4.0.0/16", "reporting network"),
                    ("10.4.200.0/26", "already tight (never touched)"),
                ],
            ))
            .ip_permissions(tcp(8443, &[("10.8.0.0/16", "partner VPN")]))
            .ip_permissions(ipv6)
            .ip_permissions(sg_ref)
            .send()
            .await
            .expect("authorise the payments group's rules");
        let eni = ec2
            .create_network_interface()
            .subnet_id(&subnet)
            .groups(&group)
            .private_ip_address(ENI_IP)
            .send()
            .await
            .expect("create_network_interface")
            .network_interface()
            .and_then(|n| n.network_interface_id())
            .expect("eni id")
            .to_owned();
        let bucket = unique_name("sgt-flow-logs");
        let region = super::env().region.clone();
        let s3 = aws_sdk_s3::Client::new(account.sdk_config());
        let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                region.as_str(),
            ))
            .build();
        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(location)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create_bucket {bucket}: {e:?}"));
        let flow_log = flow_log(account, &vpc, &bucket).await;
        Estate {
            vpc,
            subnet,
            group,
            bastion,
            eni,
            bucket,
            flow_log,
        }
    }
}

/// An active flow log of all traffic on `resource` (a VPC, subnet or ENI) delivering to
/// `s3://bucket` (the evidence is complete only for interfaces a flow log captures).
pub async fn flow_log(account: &TestAccount, resource: &str, bucket: &str) -> String {
    use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, TrafficType};
    let kind = match resource.split('-').next() {
        Some("vpc") => FlowLogsResourceType::Vpc,
        Some("subnet") => FlowLogsResourceType::Subnet,
        _ => FlowLogsResourceType::NetworkInterface,
    };
    let created = account
        .ec2()
        .create_flow_logs()
        .resource_type(kind)
        .resource_ids(resource)
        .traffic_type(TrafficType::All)
        .log_destination_type(LogDestinationType::S3)
        .log_destination(format!("arn:aws:s3:::{bucket}"))
        .send()
        .await;
    created_flow_log(created, resource)
}

/// The id of the one flow log a CreateFlowLogs call for `what` made (panics naming `what` when
/// the call or the creation failed).
fn created_flow_log(
    created: Result<
        aws_sdk_ec2::operation::create_flow_logs::CreateFlowLogsOutput,
        aws_sdk_ec2::error::SdkError<aws_sdk_ec2::operation::create_flow_logs::CreateFlowLogsError>,
    >,
    what: &str,
) -> String {
    let created = created.unwrap_or_else(|e| panic!("create_flow_logs on {what}: {e:?}"));
    assert!(
        created.unsuccessful().is_empty(),
        "create_flow_logs on {what}: {:?}",
        created.unsuccessful()
    );
    created
        .flow_log_ids()
        .first()
        .cloned()
        .expect("a flow log id")
}

/// An active flow log of all traffic on the VPC `vpc` delivering to the CloudWatch Logs group
/// `log_group` in the custom `format` (the group must exist: moto, like AWS, reports a delivery to
/// a missing group as FAILED).
pub async fn flow_log_to_log_group(
    account: &TestAccount,
    vpc: &str,
    log_group: &str,
    format: &str,
) -> String {
    use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, TrafficType};
    let created = account
        .ec2()
        .create_flow_logs()
        .resource_type(FlowLogsResourceType::Vpc)
        .resource_ids(vpc)
        .traffic_type(TrafficType::All)
        .log_destination_type(LogDestinationType::CloudWatchLogs)
        .log_group_name(log_group)
        .deliver_logs_permission_arn(format!("arn:aws:iam::{}:role/flow-logs", account.id))
        .log_format(format)
        .send()
        .await;
    created_flow_log(created, log_group)
}

/// A group's ingress rules as `proto:port source (description)` lines, sorted — descriptions
/// included, so a revert can be compared exactly.
pub async fn rules_with_descriptions(account: &TestAccount, group: &str) -> BTreeSet<String> {
    rule_lines(account, group, true).await
}

/// A group's ingress rules as plan rule strings (`tcp:443 10.0.10.0/27`).
pub async fn rules(account: &TestAccount, group: &str) -> BTreeSet<String> {
    rule_lines(account, group, false).await
}

async fn rule_lines(account: &TestAccount, group: &str, descriptions: bool) -> BTreeSet<String> {
    let out = account
        .ec2()
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describe {group}: {e:?}"));
    let mut lines = BTreeSet::new();
    for perm in out.security_groups()[0].ip_permissions() {
        let proto = perm.ip_protocol().unwrap_or_default();
        let ports = match (perm.from_port(), perm.to_port()) {
            (Some(a), Some(b)) if a == b => format!("{proto}:{a}"),
            (Some(a), Some(b)) => format!("{proto}:{a}-{b}"),
            _ => proto.to_owned(),
        };
        let mut push = |source: &str, description: Option<&str>| {
            let line = format!("{ports} {source}");
            lines.insert(match (descriptions, description) {
                (true, Some(d)) => format!("{line} ({d})"),
                _ => line,
            });
        };
        for r in perm.ip_ranges() {
            push(r.cidr_ip().unwrap_or_default(), r.description());
        }
        for r in perm.ipv6_ranges() {
            push(r.cidr_ipv6().unwrap_or_default(), r.description());
        }
        for r in perm.user_id_group_pairs() {
            push(r.group_id().unwrap_or_default(), r.description());
        }
    }
    lines
}
