//! AWS layer: the `Identity` port — who the controller is in AWS (account, ARN, partition).

use super::AwsError;

/// The caller's identity as STS reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// 12-digit account id.
    pub account: String,
    /// The caller's ARN (`arn:aws:sts::123456789012:assumed-role/…`).
    pub arn: String,
    /// The partition from the ARN: `aws`, `aws-cn`, `aws-us-gov`, ….
    pub partition: String,
}

/// Reads the caller's identity.
#[async_trait::async_trait]
pub trait Identity: Send + Sync {
    /// `sts:GetCallerIdentity` (needs no permission).
    async fn caller_identity(&self) -> Result<CallerIdentity, AwsError>;
}

/// [`Identity`] on `aws-sdk-sts`.
#[derive(Debug, Clone)]
pub struct StsIdentity {
    client: aws_sdk_sts::Client,
}

impl StsIdentity {
    /// Wraps a configured STS client.
    pub fn new(client: aws_sdk_sts::Client) -> Self {
        StsIdentity { client }
    }
}

#[async_trait::async_trait]
impl Identity for StsIdentity {
    async fn caller_identity(&self) -> Result<CallerIdentity, AwsError> {
        const ACTION: &str = "get caller identity";
        let output = self
            .client
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(ACTION, &e))?;
        let arn = output.arn().unwrap_or_default().to_owned();
        let partition = partition_of_arn(&arn).ok_or_else(|| {
            AwsError::Other(super::Failure::new(
                ACTION,
                "",
                &format!("unexpected caller ARN {arn:?}"),
            ))
        })?;
        Ok(CallerIdentity {
            account: output.account().unwrap_or_default().to_owned(),
            partition: partition.to_owned(),
            arn,
        })
    }
}

/// The partition field of an ARN (`arn:aws-cn:…` → `aws-cn`).
pub fn partition_of_arn(arn: &str) -> Option<&str> {
    let mut fields = arn.split(':');
    (fields.next()? == "arn").then_some(())?;
    fields.next().filter(|p| p.starts_with("aws"))
}

/// The partition a region belongs to (`cn-north-1` → `aws-cn`), for role templates.
pub fn partition_of_region(region: &str) -> &'static str {
    const PREFIXES: [(&str, &str); 6] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-isof-", "aws-iso-f"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
    use aws_sdk_sts::Client;
    use aws_smithy_mocks::{mock, mock_client};

    #[test]
    fn partitions_come_from_arns_and_regions() {
        assert_eq!(
            partition_of_arn("arn:aws-us-gov:iam::123456789012:role/x"),
            Some("aws-us-gov")
        );
        assert_eq!(
            partition_of_arn("arn:aws:sts::123456789012:assumed-role/r/s"),
            Some("aws")
        );
        assert_eq!(partition_of_arn("urn:aws:x"), None);
        assert_eq!(partition_of_region("af-south-1"), "aws");
        assert_eq!(partition_of_region("cn-northwest-1"), "aws-cn");
        assert_eq!(partition_of_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of_region("us-isob-east-1"), "aws-iso-b");
    }

    #[tokio::test]
    async fn caller_identity_reads_account_arn_and_partition() {
        let rule = mock!(Client::get_caller_identity).then_output(|| {
            GetCallerIdentityOutput::builder()
                .account("123456789012")
                .arn("arn:aws-cn:sts::123456789012:assumed-role/sg-tightener/session")
                .build()
        });
        let identity = StsIdentity::new(mock_client!(aws_sdk_sts, [&rule]));
        let me = identity.caller_identity().await.unwrap();
        assert_eq!(me.account, "123456789012");
        assert_eq!(me.partition, "aws-cn");
        assert_eq!(rule.num_calls(), 1);
    }
}
