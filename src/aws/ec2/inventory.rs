//! AWS layer: the `Inventory` port — everything an account's region exposes to a risk scan:
//! who the credentials act as (entering the account's role), every security group and every
//! network ACL, all pages. [`SdkInventory`] implements it on `aws-sdk-ec2` + STS; the fake is in
//! [`super::inventory_fake`].

use super::convert::{group_from_sdk, network_acl_from_sdk};
use crate::aws::sts::{CallerIdentity, Identity, StsIdentity};
use crate::aws::AwsError;
use crate::domain::snapshot::{NetworkAcl, SecurityGroup};

/// Largest page DescribeSecurityGroups and DescribeNetworkAcls return.
const PAGE_SIZE: i32 = 1000;

/// Read-only view of one account in one region.
#[async_trait::async_trait]
pub trait Inventory: Send + Sync {
    /// Who the credentials act as. With a role, this is the call that assumes it: a role that
    /// cannot be assumed fails here (`AccessDenied`), before any region is read.
    async fn caller(&self) -> Result<CallerIdentity, AwsError>;
    /// Every security group of the region (DescribeSecurityGroups, every page).
    async fn security_groups(&self) -> Result<Vec<SecurityGroup>, AwsError>;
    /// Every network ACL of the region (DescribeNetworkAcls, every page).
    async fn network_acls(&self) -> Result<Vec<NetworkAcl>, AwsError>;
}

/// [`Inventory`] on the SDK.
#[derive(Debug, Clone)]
pub struct SdkInventory {
    ec2: aws_sdk_ec2::Client,
    identity: StsIdentity,
}

impl SdkInventory {
    /// Wraps configured clients of one target.
    pub fn new(ec2: aws_sdk_ec2::Client, sts: aws_sdk_sts::Client) -> Self {
        SdkInventory {
            ec2,
            identity: StsIdentity::new(sts),
        }
    }
}

#[async_trait::async_trait]
impl Inventory for SdkInventory {
    async fn caller(&self) -> Result<CallerIdentity, AwsError> {
        self.identity.caller_identity().await
    }

    async fn security_groups(&self) -> Result<Vec<SecurityGroup>, AwsError> {
        let mut pages = self
            .ec2
            .describe_security_groups()
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        let mut groups = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("describe security groups", &e))?;
            groups.extend(page.security_groups().iter().map(group_from_sdk));
        }
        Ok(groups)
    }

    async fn network_acls(&self) -> Result<Vec<NetworkAcl>, AwsError> {
        let mut pages = self
            .ec2
            .describe_network_acls()
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        let mut acls = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("describe network ACLs", &e))?;
            acls.extend(page.network_acls().iter().map(network_acl_from_sdk));
        }
        Ok(acls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::operation::describe_network_acls::DescribeNetworkAclsOutput;
    use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
    use aws_sdk_ec2::types as sdk;
    use aws_sdk_ec2::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn sts() -> aws_sdk_sts::Client {
        mock_client!(aws_sdk_sts, [])
    }

    #[tokio::test]
    async fn every_page_of_groups_is_read_unfiltered() {
        let first = mock!(Client::describe_security_groups)
            .match_requests(|r| r.filters().is_empty() && r.next_token().is_none())
            .then_output(|| {
                DescribeSecurityGroupsOutput::builder()
                    .security_groups(sdk::SecurityGroup::builder().group_id("sg-1").build())
                    .next_token("t2")
                    .build()
            });
        let second = mock!(Client::describe_security_groups)
            .match_requests(|r| r.next_token() == Some("t2") && r.max_results() == Some(1000))
            .then_output(|| {
                DescribeSecurityGroupsOutput::builder()
                    .security_groups(sdk::SecurityGroup::builder().group_id("sg-2").build())
                    .build()
            });
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&first, &second]);
        let groups = SdkInventory::new(client, sts())
            .security_groups()
            .await
            .unwrap();
        let ids: Vec<&str> = groups.iter().map(|g| g.group_id.as_str()).collect();
        assert_eq!(ids, ["sg-1", "sg-2"]);
    }

    #[tokio::test]
    async fn nacl_entries_convert_with_ports_action_and_direction() {
        let rule = mock!(Client::describe_network_acls).then_output(|| {
            let entry = sdk::NetworkAclEntry::builder()
                .rule_number(100)
                .protocol("6")
                .rule_action(sdk::RuleAction::Allow)
                .egress(false)
                .ipv6_cidr_block("::/0")
                .port_range(sdk::PortRange::builder().from(22).to(22).build())
                .build();
            let acl = sdk::NetworkAcl::builder()
                .network_acl_id("acl-1")
                .vpc_id("vpc-1")
                .entries(entry)
                .build();
            DescribeNetworkAclsOutput::builder()
                .network_acls(acl)
                .build()
        });
        let client = mock_client!(aws_sdk_ec2, [&rule]);
        let acls = SdkInventory::new(client, sts())
            .network_acls()
            .await
            .unwrap();
        let entry = &acls[0].entries[0];
        assert_eq!(acls[0].network_acl_id, "acl-1");
        assert_eq!(
            (
                entry.rule_number,
                entry.protocol.as_str(),
                entry.rule_action.as_str()
            ),
            (100, "6", "allow")
        );
        assert_eq!(entry.ipv6_cidr_block.as_deref(), Some("::/0"));
        assert_eq!(entry.port_range.as_ref().and_then(|r| r.from), Some(22));
        assert!(!entry.egress);
    }
}
