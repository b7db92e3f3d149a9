//! CLI layer: `sg-tightener compact` (DESIGN §9).

use super::CliError;
use clap::Args;

/// Arguments of `sg-tightener compact`.
#[derive(Debug, Args)]
pub struct CompactArgs {}

/// Runs `sg-tightener compact`.
pub fn run(_args: CompactArgs) -> Result<(), CliError> {
    Err(CliError::InvalidFlag {
        flag: "command",
        value: "compact".into(),
        message: "not built yet".into(),
    })
}
