//! CRD layer: spec and status pieces shared by several kinds — the AWS target, the group
//! selector, flow-log sources, deletion policies, the plan phase and the apply record. Depends on
//! serde, schemars, kube's `KubeSchema` derive and the domain's `Condition`.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::validation;
use crate::domain::conditions::Condition;

/// Where a resource acts in AWS: the region, and optionally the account and role. Flattened into
/// the specs, so these are `spec.region`, `spec.accountId` and `spec.roleArn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsTarget {
    /// AWS region of the security groups, e.g. `af-south-1`.
    #[schemars(schema_with = "validation::region")]
    pub region: String,
    /// Twelve-digit AWS account id of the security groups. Optional: empty means the account of
    /// the controller's own credentials. The controller configuration's tenancy rules must allow
    /// this namespace to act on this account, else the resource is `Ready=False, reason=Forbidden`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "validation::account_id")]
    pub account_id: Option<String>,
    /// IAM role to assume for this resource. Optional: empty means the configuration's
    /// `roleArnTemplate` for the account (or the controller's own credentials when that is empty).
    /// When `accountId` is set the role must live in that account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "validation::role_arn")]
    pub role_arn: Option<String>,
}

/// CEL for specs that flatten [`AwsTarget`]: the role must belong to `accountId`.
pub const ROLE_IN_ACCOUNT_RULE: &str =
    "!has(self.roleArn) || !has(self.accountId) || self.roleArn.split(':')[4] == self.accountId";
/// Message of [`ROLE_IN_ACCOUNT_RULE`].
pub const ROLE_IN_ACCOUNT_MESSAGE: &str = "roleArn must be a role in the account accountId";

/// Which security groups are in scope: the groups listed in `ids`, plus — when `tags` or `vpcIds`
/// is set — every group in the region that carries all of `tags` and lies in one of `vpcIds`.
/// At least one of the three must be set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "(has(self.ids) && size(self.ids) > 0) || (has(self.tags) && size(self.tags) > 0) || (has(self.vpcIds) && size(self.vpcIds) > 0)"
).message("at least one of ids, tags, vpcIds must be set"))]
pub struct GroupSelector {
    /// Security-group ids (`sg-` and 8 or 17 hex digits), up to 100.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "validation::group_ids")]
    pub ids: Vec<String>,
    /// Tags a group must carry, all of them (key → exact value), up to 50.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "validation::tags")]
    pub tags: BTreeMap<String, String>,
    /// VPCs to select groups from (`vpc-…`), up to 50. With `tags`, a group must match both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "validation::vpc_ids")]
    pub vpc_ids: Vec<String>,
}

/// VPC flow logs delivered to S3: plain or gzip text (default or custom format) or Parquet, with
/// or without Hive-compatible prefixes and hourly partitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Source {
    /// Bucket holding the flow logs.
    #[schemars(schema_with = "validation::bucket")]
    pub bucket: String,
    /// Key prefix under which the `AWSLogs/…` tree starts; empty for the bucket root.
    #[serde(default)]
    #[schemars(length(max = 1024))]
    pub prefix: String,
}

/// How CloudWatch Logs is queried.
/// `Insights` aggregates on the server (splitting the window when a query hits the result limit);
/// `Filter` streams FilterLogEvents and parses records locally.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CloudWatchMode {
    #[default]
    Insights,
    Filter,
}

/// VPC flow logs delivered to a CloudWatch Logs group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudWatchSource {
    /// Log group name, e.g. `/vpc/flow-logs`.
    #[schemars(schema_with = "validation::log_group")]
    pub log_group: String,
    /// `Insights` (default, server-side aggregation) or `Filter` (stream and parse locally).
    #[serde(default)]
    pub mode: CloudWatchMode,
    /// The flow log's custom record format as EC2 reports it (`LogFormat` in
    /// `aws ec2 describe-flow-logs`, e.g. `${interface-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr}
    /// ${dstport} ${protocol} ${start} ${end} ${action} ${log-status}`); unset for the default
    /// (version 2) format. Fields are found by name, in any order; the format must have
    /// `srcaddr` or `pkt-srcaddr`, `dstaddr` or `pkt-dstaddr`, `dstport`, `protocol` and
    /// `action`. With `pkt-srcaddr`, the packet source (the client behind a NAT or transit
    /// gateway) is the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "validation::log_format")]
    pub log_format: Option<String>,
}

/// VPC flow logs in S3 queried through Athena (organisation-scale evidence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AthenaSource {
    /// Glue database of the flow-log table.
    #[schemars(length(min = 1, max = 255))]
    pub database: String,
    /// Flow-log table name.
    #[schemars(length(min = 1, max = 255))]
    pub table: String,
    /// Athena workgroup.
    #[serde(default = "default_workgroup")]
    #[schemars(length(min = 1, max = 128))]
    pub workgroup: String,
    /// `s3://bucket/prefix/` for query results; empty uses the workgroup's configured location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        regex(pattern = "^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$"),
        length(max = 1024)
    )]
    pub output_location: Option<String>,
}

fn default_workgroup() -> String {
    "primary".into()
}

/// What deleting a tightening or compaction does in AWS.
/// `Orphan` (default) leaves the applied rules in place; `Revert` restores the rules recorded at
/// the last apply before the resource goes away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    #[default]
    Orphan,
    Revert,
}

/// What happens to break-glass rules on expiry or deletion.
/// `Retain` leaves them in AWS; `Revoke` removes the rules this extension added (never a rule that
/// existed before it or that another live extension also granted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum BreakGlassPolicy {
    #[default]
    Retain,
    Revoke,
}

/// Where a plan-based resource (tightening, compaction) is in its lifecycle:
/// `Pending` → `Analysing` → `AwaitingApproval` → `Applying` → `Applied` (or `Halted` after a
/// failed AWS call) → `Reverting` → `Reverted`; `Failed` when no plan can be made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PlanPhase {
    #[default]
    Pending,
    Analysing,
    AwaitingApproval,
    Applying,
    Applied,
    Halted,
    Reverting,
    Reverted,
    Failed,
}

/// The durable record of an apply (written before the first AWS mutation).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppliedRecord {
    /// `status.plan.hash` of the plan being or last applied.
    pub plan_hash: String,
    /// When the apply started (RFC 3339).
    pub started_at: String,
    /// When the apply finished (RFC 3339); absent while it runs or after it halted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// ConfigMap (same namespace) holding the pre-change rules; it outlives the resource and is
    /// what a revert restores from.
    pub manifest_config_map: String,
    /// Progress per group.
    #[serde(default)]
    pub groups: Vec<GroupApplyStatus>,
    /// When the last revert completed and was verified (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverted_at: Option<String>,
    /// When a revert of this apply began (RFC 3339). Set before the revert's first AWS call;
    /// while it is set and `revertedAt` is not, the plan is never reported as applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revert_started_at: Option<String>,
}

/// Apply progress of one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupApplyStatus {
    /// The security group id.
    pub group_id: String,
    /// Where the group is in the apply.
    pub status: GroupApplyState,
    /// Detail, e.g. the AWS error that halted the apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Apply progress of one group: `Pending` (not started), `Authorised` (new rules added, old ones
/// not yet revoked), `Applied` (old rules revoked), `Failed`, `Reverted`, `Deleted` (the group
/// no longer exists in AWS: nothing to apply or restore there).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum GroupApplyState {
    #[default]
    Pending,
    Authorised,
    Applied,
    Failed,
    Reverted,
    Deleted,
}

/// The first `n` characters of a plan hash, as shown in the `Plan` printer column.
pub fn short_hash(hash: &str) -> String {
    hash.chars().take(SHORT_HASH_LEN).collect()
}

/// Length of [`short_hash`].
pub const SHORT_HASH_LEN: usize = 12;

/// The condition of type `type_`, if present.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// True when the condition of type `type_` is present with status `True`.
pub fn condition_is_true(conditions: &[Condition], type_: &str) -> bool {
    find_condition(conditions, type_).is_some_and(|c| c.status == "True")
}
