//! CLI layer: `sg-tightener analyse` (DESIGN §9).

use super::CliError;
use clap::Args;

/// Arguments of `sg-tightener analyse`.
#[derive(Debug, Args)]
pub struct AnalyseArgs {}

/// Runs `sg-tightener analyse`.
pub fn run(_args: AnalyseArgs) -> Result<(), CliError> {
    Err(CliError::InvalidFlag {
        flag: "command",
        value: "analyse".into(),
        message: "not built yet".into(),
    })
}
