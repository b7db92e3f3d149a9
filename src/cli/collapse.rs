//! CLI layer: `sg-tightener collapse` (DESIGN §9).

use super::CliError;
use clap::Args;

/// Arguments of `sg-tightener collapse`.
#[derive(Debug, Args)]
pub struct CollapseArgs {}

/// Runs `sg-tightener collapse`.
pub fn run(_args: CollapseArgs) -> Result<(), CliError> {
    Err(CliError::InvalidFlag {
        flag: "command",
        value: "collapse".into(),
        message: "not built yet".into(),
    })
}
