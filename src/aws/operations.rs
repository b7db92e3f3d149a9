//! AWS layer: every AWS operation the operator calls, with the IAM actions it needs and the
//! policy in `config/iam/` that grants them. Tests keep three things equal: the SDK calls in
//! `src/aws/` (scanned), [`CALLED`], and the policies (`tests/iam.rs`).
//!
//! When code calls a new AWS operation: add it to [`CALLED`] (or move it from [`PLANNED`]) and
//! its IAM actions to the policy named by `policy`.

/// Which policy in `config/iam/` grants an operation's actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// `read-only.json`: changes no security group — plan, diagnose, scan. (It may write the
    /// operator's own output: Athena query results and scan reports.)
    ReadOnly,
    /// `write.json`: changes security groups — apply, revert, break-glass.
    Write,
    /// `assume-roles.json`: on the operator's own role, to act in target accounts.
    AssumeRoles,
}

impl Policy {
    /// The policy's file name in `config/iam/`.
    pub fn file(self) -> &'static str {
        match self {
            Policy::ReadOnly => "read-only.json",
            Policy::Write => "write.json",
            Policy::AssumeRoles => "assume-roles.json",
        }
    }
}

/// One AWS operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The SDK crate without its `aws-sdk-` prefix (`ec2`, `s3`, `cloudwatchlogs`, …).
    pub sdk: &'static str,
    /// The operation's name (`DescribeSecurityGroups`).
    pub name: &'static str,
    /// The IAM actions it needs (some need none, e.g. GetCallerIdentity).
    pub iam: &'static [&'static str],
    /// The policy that grants them.
    pub policy: Policy,
    /// Who calls it.
    pub used_by: &'static str,
}

const fn op(
    sdk: &'static str,
    name: &'static str,
    iam: &'static [&'static str],
    policy: Policy,
    used_by: &'static str,
) -> Operation {
    Operation {
        sdk,
        name,
        iam,
        policy,
        used_by,
    }
}

use Policy::{AssumeRoles, ReadOnly, Write};

/// Every operation the code calls today.
pub const CALLED: &[Operation] = &[
    op("ec2", "DescribeSecurityGroups", &["ec2:DescribeSecurityGroups"], ReadOnly, "plan, apply, revert, diagnose"),
    op("ec2", "DescribeNetworkInterfaces", &["ec2:DescribeNetworkInterfaces"], ReadOnly, "attribution of flows to groups"),
    op("ec2", "DescribeVpcs", &["ec2:DescribeVpcs"], ReadOnly, "attribution of flows to interfaces that no longer exist (VPC ranges)"),
    op("ec2", "DescribeFlowLogs", &["ec2:DescribeFlowLogs"], ReadOnly, "evidence coverage: which interfaces a flow log captures"),
    op("ec2", "AuthorizeSecurityGroupIngress", &["ec2:AuthorizeSecurityGroupIngress"], Write, "apply (new blocks), revert (restore)"),
    op("ec2", "RevokeSecurityGroupIngress", &["ec2:RevokeSecurityGroupIngress"], Write, "apply (broad rules), revert (new blocks)"),
    op("sts", "GetCallerIdentity", &[], ReadOnly, "the account and partition of the controller's own credentials"),
    op("sts", "AssumeRole", &["sts:AssumeRole"], AssumeRoles, "spec.roleArn / tenancy roleArnTemplate (aws-config's AssumeRoleProvider)"),
    op("s3", "ListObjectsV2", &["s3:ListBucket"], ReadOnly, "S3 flow-log evidence: objects by date"),
    op("s3", "GetObject", &["s3:GetObject"], ReadOnly, "S3 flow-log evidence"),
    op("cloudwatchlogs", "StartQuery", &["logs:StartQuery"], ReadOnly, "CloudWatch Logs Insights evidence"),
    op("cloudwatchlogs", "GetQueryResults", &["logs:GetQueryResults"], ReadOnly, "CloudWatch Logs Insights evidence"),
    op("cloudwatchlogs", "StopQuery", &["logs:StopQuery"], ReadOnly, "an Insights query abandoned when its window is split"),
    op("cloudwatchlogs", "FilterLogEvents", &["logs:FilterLogEvents"], ReadOnly, "CloudWatch Logs Filter evidence"),
    op(
        "athena",
        "StartQueryExecution",
        &[
            "athena:StartQueryExecution",
            "glue:GetDatabase",
            "glue:GetTable",
            "glue:GetPartitions",
            "s3:GetBucketLocation",
            "s3:PutObject",
        ],
        ReadOnly,
        "Athena evidence: the query reads the flow-log table through Glue and writes its results to outputLocation",
    ),
    op(
        "athena",
        "GetTableMetadata",
        &["athena:GetTableMetadata", "glue:GetTable"],
        ReadOnly,
        "Athena evidence: the table's partition keys (queries prune to the window's days) and packet-address columns",
    ),
    op("athena", "GetQueryExecution", &["athena:GetQueryExecution"], ReadOnly, "Athena evidence"),
    op(
        "athena",
        "GetQueryResults",
        &["athena:GetQueryResults", "s3:GetObject"],
        ReadOnly,
        "Athena evidence: the answer, which Athena reads from outputLocation with the caller's permissions",
    ),
    op("ec2", "DescribeNetworkAcls", &["ec2:DescribeNetworkAcls"], ReadOnly, "OrgRiskScan NACL findings (DESIGN §6.3)"),
    op(
        "organizations",
        "ListAccountsForParent",
        &["organizations:ListAccountsForParent"],
        ReadOnly,
        "OrgRiskScan: the accounts of the root or OU and of every nested OU",
    ),
    op(
        "organizations",
        "ListOrganizationalUnitsForParent",
        &["organizations:ListOrganizationalUnitsForParent"],
        ReadOnly,
        "OrgRiskScan: the nested OUs of the root or OU",
    ),
    op("s3", "PutObject", &["s3:PutObject"], ReadOnly, "OrgRiskScan reports to spec.output.s3"),
    op(
        "athena",
        "StopQueryExecution",
        &["athena:StopQueryExecution"],
        ReadOnly,
        "an Athena query abandoned when the reconcile gives up",
    ),
];

/// Operations DESIGN.md's kinds need that no code calls yet; the policies grant them already.
/// Move an entry to [`CALLED`] when code starts calling it (a test fails until then).
pub const PLANNED: &[Operation] = &[
    op(
        "ec2",
        "DescribeRegions",
        &["ec2:DescribeRegions"],
        ReadOnly,
        "OrgRiskScan: the regions enabled in an account",
    ),
    op(
        "organizations",
        "DescribeOrganization",
        &["organizations:DescribeOrganization"],
        ReadOnly,
        "OrgRiskScan",
    ),
    op(
        "organizations",
        "ListAccounts",
        &["organizations:ListAccounts"],
        ReadOnly,
        "OrgRiskScan of the root",
    ),
    op(
        "organizations",
        "ListChildren",
        &["organizations:ListChildren"],
        ReadOnly,
        "OrgRiskScan of nested OUs",
    ),
    op(
        "organizations",
        "DescribeAccount",
        &["organizations:DescribeAccount"],
        ReadOnly,
        "OrgRiskScan: account names in topAccounts",
    ),
];

/// `describe_security_groups` → `DescribeSecurityGroups` (an SDK method name to its operation).
pub fn operation_name(method: &str) -> String {
    method
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_map_to_operation_names() {
        assert_eq!(
            operation_name("describe_security_groups"),
            "DescribeSecurityGroups"
        );
        assert_eq!(operation_name("list_objects_v2"), "ListObjectsV2");
    }

    #[test]
    fn an_operation_is_listed_once_and_only_writes_change_groups() {
        let all: Vec<_> = CALLED.iter().chain(PLANNED).collect();
        for (i, a) in all.iter().enumerate() {
            let twice = all[..i].iter().any(|b| (b.sdk, b.name) == (a.sdk, a.name));
            assert!(!twice, "{}:{} is listed twice", a.sdk, a.name);
            let mutates = a.name.starts_with("Authorize") || a.name.starts_with("Revoke");
            assert_eq!(mutates, a.policy == Policy::Write, "{}:{}", a.sdk, a.name);
        }
    }
}
