//! CLI layer: `sg-tightener compact` (DESIGN §9) — describe-security-groups JSON → the
//! compaction plan as JSON: the seed's `schema`, `tool` and `region` fields, then the shape of a
//! SecurityGroupCompaction's `status.plan` (per group `rulesSaved`, `currentRules`,
//! `projectedRules`, `addressesAdded`).

use super::input::{invalid, print_json, read_json};
use super::plan::{check_fraction, check_max_rules};
use super::CliError;
use crate::domain::plan::{build_compact_plan, CompactOptions, Plan};
use crate::domain::snapshot::DescribeSecurityGroups;
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;

/// The schema tag of a compaction plan document (the seed's).
pub const PLAN_SCHEMA: &str = "sg-tightener.plan/v1";
/// The `tool` field of a compaction plan document (the seed's name for compaction).
pub const TOOL: &str = "sg_compact";

/// What `compact` prints.
#[derive(Debug, Serialize)]
pub struct CompactionDocument {
    /// Always [`PLAN_SCHEMA`].
    pub schema: &'static str,
    /// Always [`TOOL`].
    pub tool: &'static str,
    /// The region the groups were described in (`--region`, else `AWS_REGION`); `null` when
    /// neither says.
    pub region: Option<String>,
    /// The plan.
    #[serde(flatten)]
    pub plan: Plan,
}

/// Arguments of `sg-tightener compact`.
#[derive(Debug, Args)]
pub struct CompactArgs {
    /// `aws ec2 describe-security-groups` output: every group in it is in scope.
    #[arg(long, value_name = "SGS.json")]
    pub groups: PathBuf,
    /// Largest never-granted share (0–1) a merged block may have.
    #[arg(long)]
    pub ratio: f64,
    /// Rules-per-group limit.
    #[arg(long, default_value_t = 60)]
    pub max_rules: u32,
    /// The region the groups were described in (only recorded in the output).
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
}

/// Runs `sg-tightener compact`.
pub fn run(args: CompactArgs) -> Result<(), CliError> {
    let options = CompactOptions {
        ratio: check_fraction("ratio", args.ratio)?,
        max_rules: check_max_rules(args.max_rules)?,
    };
    let groups: DescribeSecurityGroups = read_json(&args.groups)?;
    let plan = build_compact_plan(&groups.security_groups, &options)
        .map_err(|e| invalid(&args.groups, e.to_string()))?;
    print_json(&CompactionDocument {
        schema: PLAN_SCHEMA,
        tool: TOOL,
        region: args.region,
        plan,
    })
}
