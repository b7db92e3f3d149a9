//! CRD layer: `SecurityGroupCompaction` (short `sgc`, DESIGN §6.4, sg_compact) — merge private
//! CIDRs into covering blocks to save rules, with the same plan / approve / apply / revert
//! machinery and status shape as a tightening. Types only; the reconciler lives in `controller/`.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{AppliedRecord, AwsTarget, DeletionPolicy, GroupSelector, PlanPhase};
use super::validation;
use crate::domain::conditions::Condition;
use crate::domain::plan::Plan;

/// Merge near-adjacent private CIDRs of security-group rules to save rules.
// Every `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "sgtightener.io",
    version = "v1alpha1",
    kind = "SecurityGroupCompaction",
    plural = "securitygroupcompactions",
    shortname = "sgc",
    category = "sg-tightener",
    namespaced,
    status = "SecurityGroupCompactionStatus",
    derive = "PartialEq",
    doc = "Merges the strict-RFC 1918 CIDRs of security-group rules (per protocol and ports) into covering blocks whose never-granted share is at most spec.ratio, to save rules. Plans first; applies only the plan whose hash is copied into spec.approved.",
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Lifecycle phase"
    ),
    printcolumn(
        name = "Saved",
        type_ = "integer",
        json_path = ".status.plan.summary.rulesSaved",
        description = "Rules the plan saves"
    ),
    printcolumn(
        name = "Plan",
        type_ = "string",
        json_path = ".status.planShortHash",
        description = "First 12 hex digits of status.plan.hash"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Ready condition"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Region",
        type_ = "string",
        json_path = ".spec.region",
        priority = 1,
        description = "AWS region"
    ),
    printcolumn(
        name = "Groups",
        type_ = "integer",
        json_path = ".status.plan.summary.groups",
        priority = 1,
        description = "Groups in the plan"
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        priority = 1,
        description = "Ready condition message"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(super::common::ROLE_IN_ACCOUNT_RULE).message(super::common::ROLE_IN_ACCOUNT_MESSAGE))]
pub struct SecurityGroupCompactionSpec {
    /// Region, account and role (`region`, `accountId`, `roleArn`).
    #[serde(flatten)]
    pub target: AwsTarget,
    /// Which security groups to compact.
    pub groups: GroupSelector,
    /// Largest share of never-granted addresses a merged block may contain (0–1). The default 0
    /// merges only equal and adjacent blocks, which never widens access.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub ratio: f64,
    /// The per-group rule limit (1–1000, default 60) that the plan reports groups against.
    #[serde(default = "super::tightening::default_max_rules")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_rules: u32,
    /// The `status.plan.hash` to apply; empty means not approved.
    #[serde(default)]
    #[schemars(schema_with = "validation::plan_hash")]
    pub approved: String,
    /// `true` restores the rules recorded at the last apply.
    #[serde(default)]
    pub revert: bool,
    /// What deleting this resource does in AWS: `Orphan` (default) keeps the applied rules,
    /// `Revert` restores the pre-apply rules first.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// Observed state of a compaction (the tightening's shape without evidence and diagnosis).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroupCompactionStatus {
    /// The `.metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Lifecycle phase.
    #[serde(default)]
    pub phase: PlanPhase,
    /// `Ready`, `Reconciling`, `Stalled`, `Planned`, `Applied`, `Reverted` (one per type).
    #[serde(default)]
    #[schemars(schema_with = "validation::conditions")]
    pub conditions: Vec<Condition>,
    /// The current plan: per group the rules to revoke and authorise, `currentRules`,
    /// `projectedRules`, `rulesSaved` and `addressesAdded` (never-granted addresses the merged
    /// blocks add), totals in `summary` (`rulesSaved`). Approve it by copying `plan.hash` into
    /// `spec.approved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The first 12 hex digits of `plan.hash` (shown in the `Plan` printer column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_short_hash: Option<String>,
    /// The record of the last apply, written before the first AWS change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<AppliedRecord>,
}
