//! CLI layer: `sg-tightener classify` (DESIGN §9).

use super::CliError;
use clap::Args;

/// Arguments of `sg-tightener classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {}

/// Runs `sg-tightener classify`.
pub fn run(_args: ClassifyArgs) -> Result<(), CliError> {
    Err(CliError::InvalidFlag {
        flag: "command",
        value: "classify".into(),
        message: "not built yet".into(),
    })
}
