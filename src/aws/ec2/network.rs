//! AWS layer: the `Network` port — the VPCs of the in-scope groups, every interface in them that
//! exists today, and the flow logs that capture them — speaking the domain's network and
//! snapshot types. What the tightening's evidence checks need beside the groups themselves:
//! telling a vanished interface from a live one, and whether each interface is logged.
//! [`Ec2Network`] implements it on `aws-sdk-ec2`; [`super::network_fake::FakeNetwork`] in memory.

use super::convert::interface_from_sdk;
use crate::aws::AwsError;
use crate::domain::network::{FlowLog, Vpc, VpcCidrBlock};
use crate::domain::snapshot::NetworkInterface;
use aws_sdk_ec2::types::Filter;
use aws_sdk_ec2::Client;

/// AWS allows at most 200 values in one filter.
const MAX_FILTER_VALUES: usize = 200;
/// Largest page DescribeNetworkInterfaces returns.
const PAGE_SIZE: i32 = 1000;

/// VPCs, their interfaces and their flow logs.
#[async_trait::async_trait]
pub trait Network: Send + Sync {
    /// The VPCs with these ids and their IPv4 ranges (unknown ids are absent).
    async fn describe_vpcs(&self, vpc_ids: &[String]) -> Result<Vec<Vpc>, AwsError>;

    /// Every network interface in these VPCs, all pages read, sorted by id.
    async fn describe_vpc_interfaces(
        &self,
        vpc_ids: &[String],
    ) -> Result<Vec<NetworkInterface>, AwsError>;

    /// The flow logs attached to any of these resources (VPC, subnet or interface ids).
    async fn describe_flow_logs(&self, resource_ids: &[String]) -> Result<Vec<FlowLog>, AwsError>;
}

/// The EC2 adapter. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Ec2Network {
    client: Client,
}

impl Ec2Network {
    /// Wraps a configured EC2 client.
    pub fn new(client: Client) -> Self {
        Ec2Network { client }
    }
}

fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

#[async_trait::async_trait]
impl Network for Ec2Network {
    async fn describe_vpcs(&self, vpc_ids: &[String]) -> Result<Vec<Vpc>, AwsError> {
        let mut vpcs = Vec::new();
        for chunk in vpc_ids.chunks(MAX_FILTER_VALUES) {
            let mut pages = self
                .client
                .describe_vpcs()
                .filters(filter("vpc-id", chunk))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| AwsError::from_sdk("describe VPCs", &e))?;
                vpcs.extend(page.vpcs().iter().map(vpc_from_sdk));
            }
        }
        Ok(vpcs)
    }

    async fn describe_vpc_interfaces(
        &self,
        vpc_ids: &[String],
    ) -> Result<Vec<NetworkInterface>, AwsError> {
        let mut interfaces = Vec::new();
        for chunk in vpc_ids.chunks(MAX_FILTER_VALUES) {
            let mut pages = self
                .client
                .describe_network_interfaces()
                .filters(filter("vpc-id", chunk))
                .max_results(PAGE_SIZE)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| AwsError::from_sdk("describe network interfaces", &e))?;
                interfaces.extend(page.network_interfaces().iter().map(interface_from_sdk));
            }
        }
        interfaces.sort_by(|a, b| a.network_interface_id.cmp(&b.network_interface_id));
        interfaces.dedup_by(|a, b| a.network_interface_id == b.network_interface_id);
        Ok(interfaces)
    }

    async fn describe_flow_logs(&self, resource_ids: &[String]) -> Result<Vec<FlowLog>, AwsError> {
        let mut logs = Vec::new();
        for chunk in resource_ids.chunks(MAX_FILTER_VALUES) {
            let mut pages = self
                .client
                .describe_flow_logs()
                .filter(filter("resource-id", chunk))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| AwsError::from_sdk("describe flow logs", &e))?;
                logs.extend(page.flow_logs().iter().map(flow_log_from_sdk));
            }
        }
        logs.sort_by(|a, b| a.flow_log_id.cmp(&b.flow_log_id));
        logs.dedup_by(|a, b| a.flow_log_id == b.flow_log_id);
        Ok(logs)
    }
}

fn vpc_from_sdk(vpc: &aws_sdk_ec2::types::Vpc) -> Vpc {
    Vpc {
        vpc_id: vpc.vpc_id().unwrap_or_default().to_owned(),
        cidr_block: vpc.cidr_block().map(str::to_owned),
        cidr_block_association_set: vpc
            .cidr_block_association_set()
            .iter()
            .filter_map(|b| b.cidr_block())
            .map(|c| VpcCidrBlock {
                cidr_block: c.to_owned(),
            })
            .collect(),
    }
}

fn flow_log_from_sdk(log: &aws_sdk_ec2::types::FlowLog) -> FlowLog {
    let text = |s: Option<&str>| s.unwrap_or_default().to_owned();
    FlowLog {
        flow_log_id: text(log.flow_log_id()),
        resource_id: text(log.resource_id()),
        traffic_type: log
            .traffic_type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        log_destination_type: log
            .log_destination_type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        log_destination: log.log_destination().map(str::to_owned),
        log_group_name: log.log_group_name().map(str::to_owned),
        flow_log_status: text(log.flow_log_status()),
        deliver_logs_status: text(log.deliver_logs_status()),
        creation_time: log.creation_time().map(|t| {
            jiff::Timestamp::from_second(t.secs())
                .map(|t| t.to_string())
                .unwrap_or_default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{FlowLog as SdkFlowLog, LogDestinationType, TrafficType};
    use aws_smithy_mocks::{mock, mock_client};

    #[tokio::test]
    async fn flow_logs_are_read_by_resource_with_their_destination_and_creation_time() {
        let rule = mock!(Client::describe_flow_logs)
            .match_requests(|r| {
                r.filter().first().is_some_and(|f| {
                    f.name() == Some("resource-id") && f.values() == ["vpc-1", "subnet-1"]
                })
            })
            .then_output(|| {
                aws_sdk_ec2::operation::describe_flow_logs::DescribeFlowLogsOutput::builder()
                    .flow_logs(
                        SdkFlowLog::builder()
                            .flow_log_id("fl-1")
                            .resource_id("vpc-1")
                            .traffic_type(TrafficType::All)
                            .log_destination_type(LogDestinationType::S3)
                            .log_destination("arn:aws:s3:::logs")
                            .flow_log_status("ACTIVE")
                            .deliver_logs_status("SUCCESS")
                            .creation_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_ec2, [&rule]);
        let logs = Ec2Network::new(client)
            .describe_flow_logs(&["vpc-1".into(), "subnet-1".into()])
            .await
            .unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].traffic_type, "ALL");
        assert_eq!(logs[0].log_destination_type, "s3");
        assert_eq!(
            logs[0].creation_time.as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert!(logs[0].is_usable());
    }
}
