//! CRD layer: `BreakGlassExtension` (short `bge`, DESIGN §6.2, sg_extend) — the incident path:
//! add ingress rules at once, with no approval step, from explicit CIDRs or from rejected flows.
//! Types only; the reconciler lives in `controller/`.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{AwsTarget, BreakGlassPolicy, CloudWatchSource, S3Source};
use super::validation;
use crate::domain::conditions::Condition;

/// Add ingress rules to security groups during an incident; they expire after `expiresAfter`.
// Every `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "sgtightener.io",
    version = "v1alpha1",
    kind = "BreakGlassExtension",
    plural = "breakglassextensions",
    shortname = "bge",
    category = "sg-tightener",
    namespaced,
    status = "BreakGlassExtensionStatus",
    derive = "PartialEq",
    doc = "Adds ingress rules to security groups at once, without approval, for an incident: from explicit CIDRs and ports, or from the traffic that flow logs show was rejected. Additive only; rules are revoked on expiry or deletion only when asked to.",
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Lifecycle phase"
    ),
    printcolumn(
        name = "Rules",
        type_ = "integer",
        json_path = ".status.rulesAdded",
        description = "Rules this extension added"
    ),
    printcolumn(
        name = "Expires",
        type_ = "string",
        json_path = ".status.expiresAt",
        description = "When the extension expires (RFC 3339)"
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
        name = "Reason",
        type_ = "string",
        json_path = ".spec.reason",
        priority = 1,
        description = "Why the extension exists"
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
#[x_kube(
    validation = Rule::new(super::common::ROLE_IN_ACCOUNT_RULE).message(super::common::ROLE_IN_ACCOUNT_MESSAGE),
    validation = Rule::new("has(self.rules) != has(self.fromRejectedFlows)")
        .message("exactly one of rules, fromRejectedFlows must be set"),
    validation = Rule::new("(has(self.groupIds) && size(self.groupIds) > 0) != has(self.autoDiscover)")
        .message("exactly one of groupIds, autoDiscover must be set"),
    validation = Rule::new("!has(self.autoDiscover) || has(self.fromRejectedFlows)")
        .message("autoDiscover needs fromRejectedFlows: explicit rules need explicit groupIds"),
)]
pub struct BreakGlassExtensionSpec {
    /// Region, account and role (`region`, `accountId`, `roleArn`).
    #[serde(flatten)]
    pub target: AwsTarget,
    /// Why the rules are needed, e.g. `DR failover INC-1234`. Put into every rule's description,
    /// so only the characters EC2 accepts in a description are allowed (1–200).
    #[schemars(schema_with = "validation::reason")]
    pub reason: String,
    /// Security groups to add rules to (exclusive with `autoDiscover`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "validation::group_ids")]
    pub group_ids: Vec<String>,
    /// Find the groups from the ENIs that rejected the traffic (only with `fromRejectedFlows`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_discover: Option<AutoDiscover>,
    /// Explicit mode: these CIDRs on these ports (exclusive with `fromRejectedFlows`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<ExplicitRules>,
    /// Evidence mode: allow the private sources that flow logs show were rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_rejected_flows: Option<FromRejectedFlows>,
    /// Lifetime such as `72h`. Default and maximum come from the controller configuration
    /// (`breakGlass.defaultExpiresAfter`, `breakGlass.maxExpiresAfter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "validation::duration")]
    pub expires_after: Option<String>,
    /// On expiry: `Retain` (default) keeps the rules, `Revoke` removes the ones this added.
    #[serde(default)]
    pub on_expiry: BreakGlassPolicy,
    /// On deletion: `Retain` (default) keeps the rules, `Revoke` removes the ones this added.
    #[serde(default)]
    pub deletion_policy: BreakGlassPolicy,
    /// Rule limit per group (1–1000, default 60): a group that would exceed it is skipped
    /// (`SkippedBudget`) and the others proceed.
    #[serde(default = "super::tightening::default_max_rules")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_rules: u32,
}

/// Discover the target groups from the flows' destination ENIs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoDiscover {
    /// Refuse to act when more than this many groups are found (1–100, default 20).
    #[serde(default = "default_max_groups")]
    #[schemars(range(min = 1, max = 100))]
    pub max_groups: u32,
}

fn default_max_groups() -> u32 {
    20
}

/// Explicit CIDRs and ports; every CIDR is allowed on every port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExplicitRules {
    /// IPv4 CIDRs in network form (1–60). Never `0.0.0.0/0`; the controller also refuses CIDRs
    /// broader than the configuration's `breakGlass.broadestPrefix` and, unless allowed, public ones.
    #[schemars(schema_with = "validation::breakglass_cidrs")]
    pub cidrs: Vec<String>,
    /// Ports (1–20): `all`, `icmp`, `tcp:443`, `tcp:8000-8100`, `udp:53`, `udp:5000-5010`.
    #[schemars(schema_with = "validation::port_specs")]
    pub ports: Vec<String>,
}

/// Rejected-flow mode: exactly one of `s3`, `cloudWatch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.s3) != has(self.cloudWatch)")
    .message("exactly one of s3, cloudWatch must be set"))]
pub struct FromRejectedFlows {
    /// REJECT records in S3 flow logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Source>,
    /// REJECT records in CloudWatch Logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch: Option<CloudWatchSource>,
    /// Hours of flow logs to read, counted back from now (1–168, default 24).
    #[serde(default = "default_hours")]
    #[schemars(range(min = 1, max = 168))]
    pub hours: u32,
    /// Share of never-seen addresses allowed inside a grouping block (0–0.95, default 0.5).
    #[serde(default = "default_breakglass_tolerance")]
    #[schemars(range(min = 0.0, max = 0.95))]
    pub tolerance: f64,
    /// Only flows to these destination ports: `443` or `8000-8100` (up to 20). Empty: all ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "validation::port_filters")]
    pub ports: Vec<String>,
    /// Also allow public sources (default `false`); the configuration must allow it too.
    #[serde(default)]
    pub include_public: bool,
    /// Summarise public sources that belong to an AWS service into that service's published
    /// prefix from `ip-ranges.json` (default `true`; never the `AMAZON` catch-all).
    #[serde(default = "default_true")]
    pub summarise_aws_services: bool,
}

fn default_hours() -> u32 {
    24
}
fn default_breakglass_tolerance() -> f64 {
    0.5
}
fn default_true() -> bool {
    true
}

/// Where an extension is: `Applying`, `Applied`, `PartiallyApplied` (some groups skipped or
/// failed), `Expired`, `Revoked`, `Failed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum BreakGlassPhase {
    #[default]
    Applying,
    Applied,
    PartiallyApplied,
    Expired,
    Revoked,
    Failed,
}

/// Observed state of a break-glass extension.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct BreakGlassExtensionStatus {
    /// The `.metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Lifecycle phase.
    #[serde(default)]
    pub phase: BreakGlassPhase,
    /// `Ready`, `Applied`, `Expired`, `Superseded` (metav1.Condition, one per type).
    #[serde(default)]
    #[schemars(schema_with = "validation::conditions")]
    pub conditions: Vec<Condition>,
    /// When the rules were first added (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<String>,
    /// The `.metadata.generation` whose rules were last added: a spec change adds only the
    /// difference, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_generation: Option<i64>,
    /// When the extension released its rules at expiry or deletion (RFC 3339): with `Revoke`,
    /// what no other live extension needed was revoked; either way it holds no rule any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<String>,
    /// When the extension expires (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Rules added, summed over groups (shown in the `Rules` printer column).
    #[serde(default)]
    pub rules_added: u32,
    /// The outcome per group.
    #[serde(default)]
    pub groups: Vec<BreakGlassGroupStatus>,
    /// Distinct rejected flows found (rejected-flow mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered_flows: Option<u64>,
    /// Public sources summarised into AWS service prefixes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aws_service_summaries: Vec<AwsServiceSummary>,
    /// Public sources allowed one by one (`/32`), not summarised: `summariseAwsServices` is off,
    /// no `ip-ranges.json` source is configured, or no service prefix holds them (up to 100).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_sources: Vec<String>,
}

/// The outcome for one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BreakGlassGroupStatus {
    /// The security group id.
    pub group_id: String,
    /// What happened to the group.
    pub status: BreakGlassGroupState,
    /// Rules this extension added, as rule strings (`tcp:443 10.4.0.0/16`): absent before it,
    /// its references until it expires or is deleted.
    #[serde(default)]
    pub added: Vec<String>,
    /// Rules another extension added that this one needs too (it found them present): its
    /// references as well, so they stay while it is live.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<String>,
    /// Rules being added right now (written before the AWS call, cleared after it), so a crash
    /// in between never loses which rules this extension added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
    /// Rules this extension revoked (a narrowed spec, expiry or deletion with `Revoke`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked: Vec<String>,
    /// Rules the group had before (AWS counting).
    #[serde(default)]
    pub existing_rules: u32,
    /// Rules the extension wanted to add.
    #[serde(default)]
    pub would_add: u32,
    /// Detail (the AWS error, the budget that was exceeded…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Outcome for one group: `Added`, `SkippedBudget` (would exceed `maxRules`), `AlreadyPresent`,
/// `NotFound`, `PartialDuplicate`, `Error`, `NoFlowsForGroup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum BreakGlassGroupState {
    Added,
    SkippedBudget,
    AlreadyPresent,
    NotFound,
    PartialDuplicate,
    Error,
    NoFlowsForGroup,
}

/// Public sources of one AWS service, allowed as the service's published prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsServiceSummary {
    /// The `ip-ranges.json` service name, e.g. `EC2`, `ROUTE53_HEALTHCHECKS`.
    pub service: String,
    /// The prefix's region (`GLOBAL` for global services).
    pub region: String,
    /// The published prefix allowed instead of individual addresses.
    pub prefix: String,
    /// Distinct rejected sources it covers.
    pub sources: u64,
}
