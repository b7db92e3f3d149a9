//! CLI layer: `sg-tightener compact` (DESIGN §9) — describe-security-groups JSON → the
//! compaction plan as JSON (the shape of `status.plan`, with `rulesSaved`).

use super::input::{invalid, print_json, read_json};
use super::plan::{check_fraction, check_max_rules};
use super::CliError;
use crate::domain::plan::{build_compact_plan, CompactOptions};
use crate::domain::snapshot::DescribeSecurityGroups;
use clap::Args;
use std::path::PathBuf;

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
    print_json(&plan)
}
