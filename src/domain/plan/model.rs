//! Domain layer (pure): the plan's data shape, shared by the planner, the CRD status and the CLI.
//! Rules are rule strings (`tcp:443 10.0.10.0/27`, see `domain::rules`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A reviewable change to a set of security groups. The same inputs always give the same `hash`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// SHA-256 over the plan's content (groups, revokes, authorises) and `snapshotHash`; timestamps
    /// excluded. Approve a plan by copying this value into `spec.approved`.
    pub hash: String,
    /// SHA-256 over the live ingress rules of the in-scope groups the plan was computed from. A plan
    /// is stale (never applied) when the live rules no longer hash to this value.
    pub snapshot_hash: String,
    /// SHA-256 over the spec fields the plan depends on; a change re-plans.
    #[serde(default)]
    pub inputs_hash: String,
    /// When the plan was computed (RFC 3339). Not part of `hash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_at: Option<String>,
    /// Totals over all groups.
    pub summary: PlanSummary,
    /// The exact `kubectl patch` command that approves this plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approve_command: Option<String>,
    /// One entry per in-scope group, sorted by group id.
    pub groups: Vec<GroupPlan>,
}

/// Totals over all groups of a plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanSummary {
    /// Groups in scope.
    pub groups: u32,
    /// Rules the plan revokes (AWS counting: one per CIDR).
    pub rules_revoked: u32,
    /// Rules the plan authorises.
    pub rules_authorised: u32,
    /// Addresses the revoked rules trusted, summed over rules.
    pub addresses_before: u64,
    /// Addresses the authorised rules trust, summed over rules.
    pub addresses_after: u64,
    /// `100 · (before − after) / before`, rounded to two decimals; 0 when nothing is revoked.
    pub reduction_percent: f64,
    /// Rules saved (compaction plans only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_saved: Option<u32>,
}

/// The change to one security group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupPlan {
    /// The security group id (`sg-…`).
    pub group_id: String,
    /// Rules to remove, as rule strings (`tcp:443 10.0.0.0/16`).
    #[serde(default)]
    pub revoke: Vec<String>,
    /// Rules to add, as rule strings (`tcp:443 10.0.10.0/27`).
    #[serde(default)]
    pub authorise: Vec<String>,
    /// Rules the plan leaves alone (AWS counting).
    pub untouched_rules: u32,
    /// Rules available for replacements: `maxRules − untouchedRules`.
    pub budget: u32,
    /// The gap tolerance the collapse finally used (raised in 0.05 steps when over budget). In a
    /// compaction plan: the `ratio`.
    pub tolerance_used: f64,
    /// Every widened tolerance tried, in order (empty when the requested tolerance fitted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerance_steps: Vec<f64>,
    /// True when blocks had to be force-merged beyond tolerance 0.95 to fit the budget.
    #[serde(default)]
    pub force_fit: bool,
    /// True when adjacent or overlapping port ranges with identical CIDR sets were merged.
    #[serde(default)]
    pub ports_merged: bool,
    /// True when the new rules cannot be added beside the old ones within `maxRules`: applying
    /// revokes before it authorises and the listed ports briefly lose access.
    #[serde(default)]
    pub interruption: bool,
    /// Human-readable warnings (tolerance widened, force-fit, no evidence, IaC ownership…).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Rules the group saves (compaction plans only): revoked minus authorised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_saved: Option<u32>,
    /// Rules the group has now, as AWS counts them (compaction plans only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_rules: Option<u32>,
    /// Rules the group will have once the plan is applied (compaction plans only):
    /// `currentRules − rulesSaved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projected_rules: Option<u32>,
    /// Addresses that no rule of the group granted before and the merged blocks grant now,
    /// summed over protocol and ports (compaction plans only; 0 with `ratio: 0`). Compaction
    /// widens access by design, by at most `ratio` of each new block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses_added: Option<u64>,
    /// Why the plan leaves this group unchanged although it has rules to tighten, e.g. the rule
    /// budget cannot hold even one replacement per rule. Absent when the group is planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}
