//! Controller layer: the AWS target a resource may act on — its `region`, `accountId` and
//! `roleArn` checked against the tenancy rules of the controller configuration before any AWS
//! call — for every kind.

use crate::aws::{AwsPorts, Target};
use crate::config::ControllerConfig;
use crate::controller::Error;
use crate::crd::AwsTarget;

/// Resolves the account and role for a resource in `namespace`: tenancy first. With
/// `accountId` set, a forbidden namespace is refused before any AWS call; without it, STS says
/// whose the controller's credentials are.
pub async fn resolve(
    namespace: &str,
    wanted: &AwsTarget,
    config: &ControllerConfig,
    aws: &dyn AwsPorts,
) -> Result<Target, Error> {
    Ok(resolve_with_account(namespace, wanted, config, aws)
        .await?
        .0)
}

/// [`resolve`] and the account it acts on (group claims are keyed by account).
pub async fn resolve_with_account(
    namespace: &str,
    wanted: &AwsTarget,
    config: &ControllerConfig,
    aws: &dyn AwsPorts,
) -> Result<(Target, String), Error> {
    let region = wanted.region.clone();
    let explicit = wanted.role_arn.as_deref();
    let (account, partition) = match wanted.account_id.as_deref().filter(|a| !a.is_empty()) {
        Some(account) => (account.to_owned(), partition_of(&region).to_owned()),
        None => {
            let identity = aws.identity(&Target::region(region.clone())).await;
            let me = identity.caller_identity().await?;
            (me.account, me.partition)
        }
    };
    let role = config.resolve_role(namespace, &account, explicit, &partition)?;
    let target = Target {
        region,
        role_arn: role,
        external_id: None,
    };
    Ok((target, account))
}

/// The partition of a region: `aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`, else `aws`.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::partition_of;

    #[test]
    fn partitions_follow_the_region_prefix() {
        assert_eq!(
            (
                partition_of("cn-north-1"),
                partition_of("us-gov-west-1"),
                partition_of("af-south-1")
            ),
            ("aws-cn", "aws-us-gov", "aws")
        );
    }
}
