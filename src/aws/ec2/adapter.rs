//! AWS layer: [`SecurityGroups`] on `aws-sdk-ec2`. Describes with filters (never an unbounded
//! describe), reads every page, and maps the two "already done" errors to outcomes.

use super::convert::{group_from_sdk, interface_from_sdk, permission_from_sdk, permission_to_sdk};
use super::{empty_selector, AuthoriseOutcome, GroupSelector, RevokeOutcome, SecurityGroups};
use crate::aws::AwsError;
use crate::domain::snapshot::{IpPermission, NetworkInterface, SecurityGroup};
use aws_sdk_ec2::types::Filter;
use aws_sdk_ec2::Client;

/// AWS allows at most 200 values in one filter.
const MAX_FILTER_VALUES: usize = 200;
/// Largest page DescribeSecurityGroups and DescribeNetworkInterfaces return.
const PAGE_SIZE: i32 = 1000;

/// The EC2 adapter. Cheap to clone (the SDK client is reference-counted).
#[derive(Debug, Clone)]
pub struct Ec2SecurityGroups {
    client: Client,
}

impl Ec2SecurityGroups {
    /// Wraps a configured EC2 client (see [`crate::aws::ClientFactory`]).
    pub fn new(client: Client) -> Self {
        Ec2SecurityGroups { client }
    }
}

fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().collect()))
        .build()
}

/// One filter list per request: the ids are split into chunks of 200, the tag and VPC filters
/// repeated in each.
fn selector_filters(selector: &GroupSelector) -> Vec<Vec<Filter>> {
    let mut common: Vec<Filter> = selector
        .tags
        .iter()
        .map(|(k, v)| filter(&format!("tag:{k}"), [v.clone()]))
        .collect();
    for chunk in selector.vpc_ids.chunks(MAX_FILTER_VALUES) {
        common.push(filter("vpc-id", chunk.iter().cloned()));
    }
    if selector.ids.is_empty() {
        return vec![common];
    }
    selector
        .ids
        .chunks(MAX_FILTER_VALUES)
        .map(|chunk| {
            let mut filters = common.clone();
            filters.push(filter("group-id", chunk.iter().cloned()));
            filters
        })
        .collect()
}

impl Ec2SecurityGroups {
    async fn describe_groups_page_set(
        &self,
        filters: Vec<Filter>,
    ) -> Result<Vec<SecurityGroup>, AwsError> {
        let mut pages = self
            .client
            .describe_security_groups()
            .set_filters(Some(filters))
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

    async fn describe_interfaces_chunk(
        &self,
        name: &str,
        values: &[String],
    ) -> Result<Vec<NetworkInterface>, AwsError> {
        let mut pages = self
            .client
            .describe_network_interfaces()
            .filters(filter(name, values.iter().cloned()))
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        let mut interfaces = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("describe network interfaces", &e))?;
            interfaces.extend(page.network_interfaces().iter().map(interface_from_sdk));
        }
        Ok(interfaces)
    }
}

impl Ec2SecurityGroups {
    /// Every interface matching any of `values` for filter `name`, 200 values per request,
    /// sorted and deduplicated by id.
    async fn describe_interfaces_filtered(
        &self,
        name: &str,
        values: &[String],
    ) -> Result<Vec<NetworkInterface>, AwsError> {
        let mut interfaces = Vec::new();
        for chunk in values.chunks(MAX_FILTER_VALUES) {
            interfaces.extend(self.describe_interfaces_chunk(name, chunk).await?);
        }
        interfaces.sort_by(|a, b| a.network_interface_id.cmp(&b.network_interface_id));
        interfaces.dedup_by(|a, b| a.network_interface_id == b.network_interface_id);
        Ok(interfaces)
    }
}

#[async_trait::async_trait]
impl SecurityGroups for Ec2SecurityGroups {
    async fn describe_groups(
        &self,
        selector: &GroupSelector,
    ) -> Result<Vec<SecurityGroup>, AwsError> {
        if selector.is_empty() {
            return Err(empty_selector());
        }
        let mut groups = Vec::new();
        for filters in selector_filters(selector) {
            groups.extend(self.describe_groups_page_set(filters).await?);
        }
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        groups.dedup_by(|a, b| a.group_id == b.group_id);
        Ok(groups)
    }

    async fn describe_network_interfaces(
        &self,
        group_ids: &[String],
    ) -> Result<Vec<NetworkInterface>, AwsError> {
        self.describe_interfaces_filtered("group-id", group_ids)
            .await
    }

    async fn describe_interfaces_by_address(
        &self,
        addresses: &[String],
    ) -> Result<Vec<NetworkInterface>, AwsError> {
        self.describe_interfaces_filtered("addresses.private-ip-address", addresses)
            .await
    }

    async fn authorise_ingress(
        &self,
        group_id: &str,
        permissions: &[IpPermission],
    ) -> Result<AuthoriseOutcome, AwsError> {
        if permissions.is_empty() {
            return Ok(AuthoriseOutcome::Authorised);
        }
        let result = self
            .client
            .authorize_security_group_ingress()
            .group_id(group_id)
            .set_ip_permissions(Some(permissions.iter().map(permission_to_sdk).collect()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(AuthoriseOutcome::Authorised),
            Err(e) => {
                let error = AwsError::from_sdk(format!("authorise ingress on {group_id}"), &e);
                if error.code() == "InvalidPermission.Duplicate" {
                    tracing::debug!(group_id, %error, "permission already present");
                    return Ok(AuthoriseOutcome::AlreadyPresent);
                }
                Err(error)
            }
        }
    }

    async fn revoke_ingress(
        &self,
        group_id: &str,
        permissions: &[IpPermission],
    ) -> Result<RevokeOutcome, AwsError> {
        if permissions.is_empty() {
            return Ok(RevokeOutcome::Revoked {
                unknown: Vec::new(),
            });
        }
        let result = self
            .client
            .revoke_security_group_ingress()
            .group_id(group_id)
            .set_ip_permissions(Some(permissions.iter().map(permission_to_sdk).collect()))
            .send()
            .await;
        match result {
            Ok(output) => Ok(RevokeOutcome::Revoked {
                unknown: output
                    .unknown_ip_permissions()
                    .iter()
                    .map(permission_from_sdk)
                    .collect(),
            }),
            Err(e) => {
                let error = AwsError::from_sdk(format!("revoke ingress on {group_id}"), &e);
                if error.code() == "InvalidPermission.NotFound" {
                    tracing::debug!(group_id, %error, "permission already absent");
                    return Ok(RevokeOutcome::AlreadyAbsent);
                }
                Err(error)
            }
        }
    }
}
