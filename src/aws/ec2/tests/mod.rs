//! AWS layer tests: the EC2 adapter against canned SDK responses (aws-smithy-mocks). This file:
//! shared helpers and the describe calls (request mapping, pagination, conversion); `mutations`:
//! authorise/revoke outcomes, error classification, retries and per-attempt observation.

use super::*;
use crate::aws::clients::retry_config;
use crate::aws::observe::{Attempt, CallObserver, ObserveCalls};
use crate::domain::snapshot::IpRange;
use aws_sdk_ec2::operation::authorize_security_group_ingress::AuthorizeSecurityGroupIngressOutput;
use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
use aws_sdk_ec2::operation::revoke_security_group_ingress::RevokeSecurityGroupIngressOutput;
use aws_sdk_ec2::types as sdk;
use aws_sdk_ec2::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn ec2_error(status: u16, code: &str) -> HttpResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code>\
         <Message>{code} happened</Message></Error></Errors><RequestID>r-1</RequestID></Response>"
    );
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

fn filter_values<'a>(filters: &'a [sdk::Filter], name: &str) -> Option<Vec<&'a str>> {
    let filter = filters.iter().find(|f| f.name() == Some(name))?;
    Some(filter.values().iter().map(String::as_str).collect())
}

fn sdk_group(id: &str) -> sdk::SecurityGroup {
    sdk::SecurityGroup::builder()
        .group_id(id)
        .group_name(format!("name-{id}"))
        .vpc_id("vpc-1")
        .owner_id("123456789012")
        .ip_permissions(
            sdk::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(
                    sdk::IpRange::builder()
                        .cidr_ip("10.0.0.0/16")
                        .description("dc")
                        .build(),
                )
                .user_id_group_pairs(
                    sdk::UserIdGroupPair::builder()
                        .group_id("sg-peer")
                        .user_id("123456789012")
                        .build(),
                )
                .build(),
        )
        .tags(sdk::Tag::builder().key("team").value("payments").build())
        .build()
}

fn https_rule(cidr: &str, description: &str) -> IpPermission {
    IpPermission {
        ip_protocol: "tcp".into(),
        from_port: Some(443),
        to_port: Some(443),
        ip_ranges: vec![IpRange {
            cidr_ip: cidr.into(),
            description: Some(description.into()),
        }],
        ..IpPermission::default()
    }
}

#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<(String, String, Attempt)>>, Mutex<Vec<String>>);

impl CallObserver for Recorder {
    fn attempt(&self, service: &str, operation: &str, outcome: Attempt) {
        self.0
            .lock()
            .unwrap()
            .push((service.into(), operation.into(), outcome));
    }

    fn finished(&self, service: &str, operation: &str, _elapsed: Duration) {
        self.1
            .lock()
            .unwrap()
            .push(format!("{service}:{operation}"));
    }
}

/// A mocked client with fast retries (3 attempts) that reports attempts to `recorder`.
macro_rules! client {
    ($mode:expr, $rules:expr, $recorder:expr) => {{
        let observe = ObserveCalls::new($recorder.clone());
        Ec2SecurityGroups::new(mock_client!(aws_sdk_ec2, $mode, $rules, |b| b
            .retry_config(retry_config(3).with_initial_backoff(Duration::from_millis(1)))
            .interceptor(observe.clone())))
    }};
}

#[tokio::test]
async fn describe_groups_sends_every_criterion_as_a_filter_and_converts_the_result() {
    let rule = mock!(Client::describe_security_groups)
        .match_requests(|req| {
            let filters = req.filters();
            filter_values(filters, "group-id") == Some(vec!["sg-1", "sg-2"])
                && filter_values(filters, "tag:team") == Some(vec!["payments"])
                && filter_values(filters, "vpc-id") == Some(vec!["vpc-1"])
                && req.group_ids().is_empty()
        })
        .then_output(|| {
            DescribeSecurityGroupsOutput::builder()
                .security_groups(sdk_group("sg-2"))
                .security_groups(sdk_group("sg-1"))
                .build()
        });
    let recorder = Arc::new(Recorder::default());
    let adapter = client!(RuleMode::Sequential, [&rule], recorder);
    let selector = GroupSelector {
        ids: vec!["sg-1".into(), "sg-2".into()],
        tags: [("team".to_owned(), "payments".to_owned())].into(),
        vpc_ids: vec!["vpc-1".into()],
    };
    let groups = adapter.describe_groups(&selector).await.unwrap();
    assert_eq!(
        groups
            .iter()
            .map(|g| g.group_id.as_str())
            .collect::<Vec<_>>(),
        ["sg-1", "sg-2"]
    );
    let group = &groups[0];
    assert_eq!(group.group_name, "name-sg-1");
    assert_eq!(group.owner_id.as_deref(), Some("123456789012"));
    let permission = &group.ip_permissions[0];
    assert_eq!(
        (
            permission.ip_protocol.as_str(),
            permission.from_port,
            permission.to_port
        ),
        ("tcp", Some(443), Some(443))
    );
    assert_eq!(permission.ip_ranges[0].description.as_deref(), Some("dc"));
    assert_eq!(
        permission.user_id_group_pairs[0].group_id.as_deref(),
        Some("sg-peer")
    );
    assert_eq!(group.tag_map().get("team"), Some(&"payments"));
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(
        recorder.0.lock().unwrap()[0],
        (
            "EC2".into(),
            "DescribeSecurityGroups".into(),
            Attempt::Succeeded
        )
    );
}

#[tokio::test]
async fn describe_groups_reads_every_page() {
    let first = mock!(Client::describe_security_groups)
        .match_requests(|req| req.next_token().is_none())
        .then_output(|| {
            DescribeSecurityGroupsOutput::builder()
                .security_groups(sdk_group("sg-1"))
                .next_token("page-2")
                .build()
        });
    let second = mock!(Client::describe_security_groups)
        .match_requests(|req| req.next_token() == Some("page-2"))
        .then_output(|| {
            DescribeSecurityGroupsOutput::builder()
                .security_groups(sdk_group("sg-2"))
                .build()
        });
    let recorder = Arc::new(Recorder::default());
    let adapter = client!(RuleMode::MatchAny, [&first, &second], recorder);
    let groups = adapter
        .describe_groups(&GroupSelector {
            vpc_ids: vec!["vpc-1".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn more_than_two_hundred_ids_are_split_across_requests() {
    let rule = mock!(Client::describe_security_groups)
        .match_requests(|req| {
            filter_values(req.filters(), "group-id").is_some_and(|v| v.len() <= 200)
        })
        .then_output(|| DescribeSecurityGroupsOutput::builder().build());
    let recorder = Arc::new(Recorder::default());
    let adapter = client!(RuleMode::MatchAny, [&rule], recorder);
    let ids: Vec<String> = (0..250).map(|i| format!("sg-{i:05}")).collect();
    adapter
        .describe_groups(&GroupSelector::ids(ids))
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn an_empty_selector_is_refused_before_any_call() {
    let rule = mock!(Client::describe_security_groups)
        .then_output(|| DescribeSecurityGroupsOutput::builder().build());
    let recorder = Arc::new(Recorder::default());
    let adapter = client!(RuleMode::MatchAny, [&rule], recorder);
    let error = adapter
        .describe_groups(&GroupSelector::default())
        .await
        .unwrap_err();
    assert!(matches!(error, AwsError::Invalid(_)), "{error:?}");
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn describe_network_interfaces_filters_by_group_and_converts() {
    let rule = mock!(Client::describe_network_interfaces)
        .match_requests(|req| filter_values(req.filters(), "group-id") == Some(vec!["sg-1"]))
        .then_output(|| {
            let eni = sdk::NetworkInterface::builder()
                .network_interface_id("eni-1")
                .private_ip_address("10.0.1.5")
                .private_ip_addresses(
                    sdk::NetworkInterfacePrivateIpAddress::builder()
                        .private_ip_address("10.0.1.5")
                        .primary(true)
                        .build(),
                )
                .groups(
                    sdk::GroupIdentifier::builder()
                        .group_id("sg-1")
                        .group_name("web")
                        .build(),
                )
                .vpc_id("vpc-1")
                .subnet_id("subnet-1")
                .build();
            DescribeNetworkInterfacesOutput::builder()
                .network_interfaces(eni)
                .build()
        });
    let recorder = Arc::new(Recorder::default());
    let adapter = client!(RuleMode::Sequential, [&rule], recorder);
    let enis = adapter
        .describe_network_interfaces(&["sg-1".to_owned()])
        .await
        .unwrap();
    assert_eq!(enis.len(), 1);
    assert_eq!(
        enis[0].private_ip_addresses[0].private_ip_address,
        "10.0.1.5"
    );
    assert!(enis[0].private_ip_addresses[0].primary);
    assert_eq!(enis[0].groups[0].group_name.as_deref(), Some("web"));
    assert_eq!(enis[0].subnet_id.as_deref(), Some("subnet-1"));
    assert!(adapter
        .describe_network_interfaces(&[])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn interfaces_are_found_by_any_private_address_two_hundred_at_a_time() {
    let addresses: Vec<String> = (0..250)
        .map(|i| format!("10.0.{}.{}", i / 200, i % 200))
        .collect();
    let rule = mock!(Client::describe_network_interfaces)
        .match_requests(|req| {
            filter_values(req.filters(), "addresses.private-ip-address")
                .is_some_and(|v| !v.is_empty() && v.len() <= 200)
        })
        .then_output(|| {
            let eni = sdk::NetworkInterface::builder()
                .network_interface_id("eni-1")
                .private_ip_address("10.0.0.1")
                .build();
            DescribeNetworkInterfacesOutput::builder()
                .network_interfaces(eni)
                .build()
        });
    let recorder = Arc::new(Recorder::default());
    let adapter = client!(RuleMode::MatchAny, [&rule], recorder);
    let enis = adapter
        .describe_interfaces_by_address(&addresses)
        .await
        .unwrap();
    assert_eq!(enis.len(), 1, "the same ENI from both requests, once");
    assert_eq!(rule.num_calls(), 2);
}

mod mutations;
