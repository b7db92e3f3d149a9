//! AWS layer: the `SecurityGroups` port — describe groups and their ENIs, authorise and revoke
//! ingress — speaking the domain's snapshot types. [`Ec2SecurityGroups`] implements it on
//! `aws-sdk-ec2`; [`fake::FakeSecurityGroups`] in memory for reconciler tests.

mod adapter;
pub mod convert;
pub mod fake;
pub mod inventory;
pub mod inventory_fake;
pub mod network;
pub mod network_fake;

pub use adapter::Ec2SecurityGroups;
pub use network::{Ec2Network, Network};

use super::AwsError;
use crate::domain::snapshot::{IpPermission, NetworkInterface, SecurityGroup};
use std::collections::BTreeMap;

/// Which groups to describe. Every criterion given must hold (AWS filter semantics: AND);
/// an empty selector is refused rather than describing every group in the region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSelector {
    /// Group ids (`sg-…`). Unknown ids are simply absent from the result.
    pub ids: Vec<String>,
    /// Tags every group must carry, key → value.
    pub tags: BTreeMap<String, String>,
    /// VPCs the groups must be in.
    pub vpc_ids: Vec<String>,
}

impl GroupSelector {
    /// Groups with these ids.
    pub fn ids<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Self {
        GroupSelector {
            ids: ids.into_iter().map(Into::into).collect(),
            ..GroupSelector::default()
        }
    }

    /// Whether no criterion is given.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.tags.is_empty() && self.vpc_ids.is_empty()
    }

    /// Whether `group` satisfies every criterion (what AWS's filters compute).
    pub fn matches(&self, group: &SecurityGroup) -> bool {
        let tags = group.tag_map();
        (self.ids.is_empty() || self.ids.contains(&group.group_id))
            && self
                .tags
                .iter()
                .all(|(k, v)| tags.get(k.as_str()) == Some(&v.as_str()))
            && (self.vpc_ids.is_empty()
                || group
                    .vpc_id
                    .as_ref()
                    .is_some_and(|v| self.vpc_ids.contains(v)))
    }
}

/// What an authorise call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthoriseOutcome {
    /// Every permission was added.
    Authorised,
    /// AWS refused the call with `InvalidPermission.Duplicate`: at least one of the permissions
    /// already exists, and (AWS being atomic here) none was added. Re-describe and authorise the
    /// rest if needed.
    AlreadyPresent,
}

/// What a revoke call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// The call succeeded. `unknown` lists permissions AWS did not find (real AWS reports them
    /// as `UnknownIpPermissions` and revokes the rest).
    Revoked {
        /// Permissions that matched no rule.
        unknown: Vec<IpPermission>,
    },
    /// AWS refused the call with `InvalidPermission.NotFound` (moto does this): a permission did
    /// not exist. Re-describe and revoke what remains if needed.
    AlreadyAbsent,
}

/// The security-group operations the reconcilers need, in domain types.
#[async_trait::async_trait]
pub trait SecurityGroups: Send + Sync {
    /// The groups matching `selector`, sorted by group id, all pages read.
    async fn describe_groups(
        &self,
        selector: &GroupSelector,
    ) -> Result<Vec<SecurityGroup>, AwsError>;

    /// The network interfaces that have any of `group_ids` attached, all pages read.
    async fn describe_network_interfaces(
        &self,
        group_ids: &[String],
    ) -> Result<Vec<NetworkInterface>, AwsError>;

    /// The network interfaces that own any of these private IPv4 `addresses` (primary or
    /// secondary, filter `addresses.private-ip-address`), all pages read.
    async fn describe_interfaces_by_address(
        &self,
        addresses: &[String],
    ) -> Result<Vec<NetworkInterface>, AwsError>;

    /// Adds ingress permissions to a group in one call, descriptions included.
    async fn authorise_ingress(
        &self,
        group_id: &str,
        permissions: &[IpPermission],
    ) -> Result<AuthoriseOutcome, AwsError>;

    /// Removes ingress permissions from a group in one call.
    async fn revoke_ingress(
        &self,
        group_id: &str,
        permissions: &[IpPermission],
    ) -> Result<RevokeOutcome, AwsError>;
}

/// The error returned for an empty selector, before any AWS call.
pub(crate) fn empty_selector() -> AwsError {
    AwsError::Invalid(super::Failure::new(
        "describe security groups",
        "",
        "no group ids, tags or VPC ids given",
    ))
}

#[cfg(test)]
mod tests;
