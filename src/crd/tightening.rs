//! CRD layer: `SecurityGroupTightening` (short `sgt`, DESIGN §6.1) — replace broad private-range
//! ingress rules with the tightest blocks that flow-log evidence proves are in use, after an
//! approval bound to the exact plan. Types only; the reconciler lives in `controller/`.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{AppliedRecord, AthenaSource, AwsTarget, CloudWatchSource, DeletionPolicy};
use super::common::{GroupSelector, PlanPhase, S3Source};
use super::validation;
use crate::domain::conditions::Condition;
use crate::domain::plan::Plan;

/// Tighten the ingress rules of a set of security groups from VPC flow-log evidence.
// Every `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "sgtightener.io",
    version = "v1alpha1",
    kind = "SecurityGroupTightening",
    plural = "securitygrouptightenings",
    shortname = "sgt",
    category = "sg-tightener",
    namespaced,
    status = "SecurityGroupTighteningStatus",
    derive = "PartialEq",
    doc = "Replaces broad private-range ingress rules on AWS security groups with the tightest CIDR blocks that VPC flow logs prove are in use. Plans first; applies only the plan whose hash is copied into spec.approved.",
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Lifecycle phase"
    ),
    printcolumn(
        name = "Reduction",
        type_ = "number",
        json_path = ".status.plan.summary.reductionPercent",
        description = "Percent fewer trusted addresses after the plan"
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
pub struct SecurityGroupTighteningSpec {
    /// Region, account and role (`region`, `accountId`, `roleArn`).
    #[serde(flatten)]
    pub target: AwsTarget,
    /// Which security groups to tighten.
    pub groups: GroupSelector,
    /// Where the flow-log evidence comes from and how it is attributed.
    pub evidence: Evidence,
    /// How observed sources are collapsed into CIDR blocks under the rule budget.
    #[serde(default)]
    pub collapse: Collapse,
    /// The `status.plan.hash` to apply; empty means not approved. Approving a hash applies exactly
    /// that plan, and only while the live rules still match the plan's snapshot.
    #[serde(default)]
    #[schemars(schema_with = "validation::plan_hash")]
    pub approved: String,
    /// `true` restores the rules recorded at the last apply (verified by re-reading the groups).
    #[serde(default)]
    pub revert: bool,
    /// What deleting this resource does in AWS: `Orphan` (default) keeps the applied rules,
    /// `Revert` restores the pre-apply rules first.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// After an apply, periodically look for rejected traffic that the new rules no longer allow.
    #[serde(default)]
    pub diagnose: Diagnose,
}

/// Flow-log evidence: exactly one of `s3`, `cloudWatch`, `athena`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "(has(self.s3) ? 1 : 0) + (has(self.cloudWatch) ? 1 : 0) + (has(self.athena) ? 1 : 0) == 1"
).message("exactly one of s3, cloudWatch, athena must be set"))]
pub struct Evidence {
    /// Days of flow logs to read, counted back from now (1–400).
    #[serde(default = "default_days")]
    #[schemars(range(min = 1, max = 400))]
    pub days: u32,
    /// Flow logs in S3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Source>,
    /// Flow logs in CloudWatch Logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch: Option<CloudWatchSource>,
    /// Flow logs queried through Athena.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub athena: Option<AthenaSource>,
    /// Which flows count as evidence for a rule: `Group` (default) only flows to an ENI of the
    /// rule's group; `Vpc` flows to any ENI in the group's VPC; `Region` any flow in the region.
    #[serde(default)]
    pub attribution: Attribution,
    /// `true` (default): a plan whose evidence has a gap cannot be applied
    /// (`EvidenceComplete=False` names each gap): days without data, flow logs younger than the
    /// window, an in-scope interface that no active flow log captures or that has no record in
    /// the window, unreadable objects, `SKIPDATA` records (records AWS lost).
    #[serde(default = "default_true")]
    pub require_full_window: bool,
    /// How old collected evidence may be when its plan is approved, as a duration such as `24h`
    /// (default) or `168h`. Approving a plan whose evidence is older re-reads the flow logs and
    /// re-plans (`Ready=False, reason=EvidenceStale`; approve the new hash if it changed); an
    /// approved plan refused for incomplete evidence is re-planned this often, so that waiting
    /// for coverage can succeed. At least `1s`.
    #[serde(default = "default_max_age")]
    #[schemars(schema_with = "validation::duration")]
    pub max_age: String,
    /// Sources you vouch for although they are absent from the logs (DR sites, quarterly batch
    /// hosts, diagnose findings): they count as observed. Up to 200.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 200))]
    pub additional_sources: Vec<AdditionalSource>,
    /// CIDRs never counted as evidence (scanners, decommissioned hosts). Up to 200.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "validation::cidrs")]
    pub exclude_sources: Vec<String>,
}

/// Which flows count as evidence for a rule.
/// `Group`: destination is an ENI of the rule's group. `Vpc`: any ENI in the group's VPC.
/// `Region`: any flow in the region (the seed's behaviour).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Attribution {
    #[default]
    Group,
    Vpc,
    Region,
}

/// A source range counted as observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalSource {
    /// IPv4 CIDR in network form, e.g. `10.9.0.0/28`.
    #[schemars(schema_with = "validation::cidr")]
    pub cidr: String,
    /// Why it is vouched for (shown in the plan).
    #[serde(default)]
    #[schemars(length(max = 256))]
    pub description: String,
}

/// Collapse settings (DESIGN §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Collapse {
    /// Rule budget per group, counted as AWS counts rules (1–1000; the AWS default quota is 60).
    #[serde(default = "default_max_rules")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_rules: u32,
    /// Largest share of never-observed addresses a block may contain (0–0.95). Widened in 0.05
    /// steps, up to 0.95, when a group is over budget.
    #[serde(default = "default_tolerance")]
    #[schemars(range(min = 0.0, max = 0.95))]
    pub tolerance: f64,
    /// Only rules with a prefix shorter than this (1–32, default 24) are tightened.
    #[serde(default = "default_prefix_threshold")]
    #[schemars(range(min = 1, max = 32))]
    pub prefix_threshold: u8,
    /// A rule with no evidence: `Keep` (default, untouched and reported) or `Revoke` (removed).
    #[serde(default)]
    pub no_evidence: NoEvidencePolicy,
}

impl Default for Collapse {
    fn default() -> Self {
        Self {
            max_rules: default_max_rules(),
            tolerance: default_tolerance(),
            prefix_threshold: default_prefix_threshold(),
            no_evidence: NoEvidencePolicy::Keep,
        }
    }
}

/// What happens to an eligible rule without evidence: `Keep` (untouched, reported) or `Revoke`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum NoEvidencePolicy {
    #[default]
    Keep,
    Revoke,
}

/// Post-apply diagnosis of rejected traffic (sg_diagnose).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Diagnose {
    /// Run the diagnosis after an apply (default `true`).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Hours of REJECT records to examine on each run (1–168, default 24).
    #[serde(default = "default_lookback_hours")]
    #[schemars(range(min = 1, max = 168))]
    pub lookback_hours: u32,
    /// How often to run, as a duration such as `15m` (default) or `1h`.
    #[serde(default = "default_interval")]
    #[schemars(schema_with = "validation::duration")]
    pub interval: String,
}

impl Default for Diagnose {
    fn default() -> Self {
        Self {
            enabled: true,
            lookback_hours: default_lookback_hours(),
            interval: default_interval(),
        }
    }
}

fn default_days() -> u32 {
    90
}
fn default_true() -> bool {
    true
}
pub(super) fn default_max_rules() -> u32 {
    60
}
fn default_tolerance() -> f64 {
    0.30
}
fn default_prefix_threshold() -> u8 {
    24
}
fn default_max_age() -> String {
    "24h".into()
}
fn default_lookback_hours() -> u32 {
    24
}
fn default_interval() -> String {
    "15m".into()
}

/// Observed state of a tightening.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroupTighteningStatus {
    /// The `.metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Lifecycle phase.
    #[serde(default)]
    pub phase: PlanPhase,
    /// `Ready`, `Reconciling`, `Stalled`, `Planned`, `EvidenceComplete`, `Applied`, `Reverted`,
    /// `RejectedTraffic` (metav1.Condition, one per type).
    #[serde(default)]
    #[schemars(schema_with = "validation::conditions")]
    pub conditions: Vec<Condition>,
    /// What the evidence covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceSummary>,
    /// The current plan. Approve it by copying `plan.hash` into `spec.approved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The first 12 hex digits of `plan.hash` (shown in the `Plan` printer column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_short_hash: Option<String>,
    /// The record of the last apply, written before the first AWS change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<AppliedRecord>,
    /// Rejected traffic seen after the apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<Diagnosis>,
}

/// What the evidence covered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceSummary {
    /// The source read, e.g. `s3://flow-logs/AWSLogs/`, `logs:/vpc/flow-logs`, `athena:db.table`.
    pub source: String,
    /// Start of the window (RFC 3339).
    pub window_start: String,
    /// End of the window (RFC 3339).
    pub window_end: String,
    /// Flow-log records read.
    #[serde(default)]
    pub records: u64,
    /// Distinct flow tuples.
    #[serde(default)]
    pub flows: u64,
    /// Distinct source addresses.
    #[serde(default)]
    pub sources: u64,
    /// Flows that matched no eligible rule of an in-scope group.
    #[serde(default)]
    pub unattributed_flows: u64,
    /// Lines that could not be parsed (counted, not fatal).
    #[serde(default)]
    pub malformed_lines: u64,
    /// UTC days (`YYYY-MM-DD`) in the window without any record.
    #[serde(default)]
    pub days_without_data: Vec<String>,
    /// The earliest record seen (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_record: Option<String>,
    /// When the evidence was collected (RFC 3339).
    pub collected_at: String,
    /// Flow-log objects that could not be read (a gap: their flows are missing).
    #[serde(default)]
    pub unreadable_objects: u64,
    /// `SKIPDATA` records: records AWS lost (a gap).
    #[serde(default)]
    pub skipped_records: u64,
    /// Flows to network interfaces that no longer exist, counted as evidence for every in-scope
    /// group whose rule matches them in the destination's VPC.
    #[serde(default)]
    pub vanished_interface_flows: u64,
    /// Distinct interfaces that no longer exist among those flows.
    #[serde(default)]
    pub vanished_interfaces: u64,
    /// Sources the plan keeps only because of flows to interfaces that no longer exist.
    #[serde(default)]
    pub sources_kept_for_vanished_interfaces: u64,
    /// In-scope interfaces (ENIs of the groups) whose coverage was checked.
    #[serde(default)]
    pub interfaces: u64,
    /// In-scope interfaces that no active flow log of accepted traffic delivering to the source
    /// captures (a gap).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces_without_flow_log: Vec<String>,
    /// In-scope interfaces without a single record in the window (a gap).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces_without_records: Vec<String>,
    /// The flow logs that capture the in-scope interfaces, with their creation times: evidence
    /// older than a flow log cannot exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flow_logs: Vec<FlowLogSummary>,
}

/// One flow log that captures in-scope interfaces.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlowLogSummary {
    /// The flow log's id (`fl-…`).
    pub id: String,
    /// What it captures: a VPC, subnet or interface id.
    pub resource_id: String,
    /// `ALL` or `ACCEPT`.
    pub traffic_type: String,
    /// When it was created (RFC 3339), when AWS says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// Rejected traffic to the groups that no current rule covers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Diagnosis {
    /// When the last diagnosis ran (RFC 3339).
    pub checked_at: String,
    /// Private sources whose traffic was rejected; fold them into `evidence.additionalSources`.
    #[serde(default)]
    pub rejected_sources: Vec<RejectedSource>,
}

/// One rejected source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RejectedSource {
    /// Source IPv4 address.
    pub source: String,
    /// `tcp`, `udp`, `icmp` or a protocol number.
    pub protocol: String,
    /// Destination port (0 for protocols without ports).
    pub port: u16,
    /// Groups of the ENIs that rejected it.
    #[serde(default)]
    pub group_ids: Vec<String>,
    /// Rejected flow records.
    pub flows: u64,
    /// The latest rejected record (RFC 3339).
    pub last_seen: String,
}
