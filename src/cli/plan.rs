//! CLI layer: `sg-tightener plan` (DESIGN §9).

use super::CliError;
use clap::Args;

/// Arguments of `sg-tightener plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {}

/// Runs `sg-tightener plan`.
pub fn run(_args: PlanArgs) -> Result<(), CliError> {
    Err(CliError::InvalidFlag {
        flag: "command",
        value: "plan".into(),
        message: "not built yet".into(),
    })
}
