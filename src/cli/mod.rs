//! CLI layer: offline commands that run the domain on local files (DESIGN §9), and `extend`, the
//! break-glass path for when the cluster is down (it calls AWS itself). Each command lives in its
//! own file, reads real AWS CLI JSON or flow-log text, and prints JSON on stdout. Bad input is a
//! [`CliError`]: one line naming the file or flag and the value, exit status 2.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub mod analyse;
pub mod classify;
pub mod collapse;
pub mod compact;
pub mod error;
pub mod extend;
pub mod flowfiles;
pub mod input;
pub mod ndjson;
pub mod output;
pub mod plan;
pub mod readahead;

pub use error::CliError;

/// sg-tightener: tighten AWS security groups from VPC flow-log evidence.
#[derive(Debug, Parser)]
#[command(name = "sg-tightener", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand of the binary.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controller (all four kinds).
    Run(RunArgs),
    /// Print every CRD as YAML.
    Crds,
    /// Collapse IP addresses (one per line, or JSON {"ips": [...]}) into CIDR blocks.
    Collapse(collapse::CollapseArgs),
    /// Read local flow-log files and write the evidence JSON.
    Analyse(analyse::AnalyseArgs),
    /// Build a tightening plan from describe-security-groups JSON and evidence.
    Plan(plan::PlanArgs),
    /// Classify permissive SG and NACL rules by severity.
    Classify(classify::ClassifyArgs),
    /// Build a compaction plan that merges near-adjacent CIDRs to save rules.
    Compact(compact::CompactArgs),
    /// Break-glass without the cluster: add ingress rules now (with --yes), or revoke a manifest's.
    Extend(extend::ExtendArgs),
}

/// Arguments of `sg-tightener run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Controller configuration file (DESIGN §7).
    #[arg(long, env = "SG_TIGHTENER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address of /healthz, /readyz and /metrics (`host:port`); overrides the config's `http.address`.
    #[arg(long, env = "SG_TIGHTENER_HTTP_ADDR")]
    pub http_address: Option<String>,
}

/// Runs one offline command, printing its JSON result to stdout.
pub fn run_offline(command: Command) -> Result<(), CliError> {
    match command {
        Command::Collapse(args) => collapse::run(args),
        Command::Analyse(args) => analyse::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Classify(args) => classify::run(args),
        Command::Compact(args) => compact::run(args),
        Command::Extend(args) => extend::run(args),
        Command::Run(_) | Command::Crds => unreachable!("operator commands are dispatched by main"),
    }
}
