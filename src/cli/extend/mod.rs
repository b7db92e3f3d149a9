//! CLI layer: `sg-tightener extend` — break-glass for when the cluster itself is down. The same
//! validation as a BreakGlassExtension (the domain's explicit request under the configuration's
//! `breakGlass` limits) and the same per-group decision (absent rules only, within `--max-rules`);
//! AWS through the default credential chain (and `aws.endpointUrl` of `--config`). Without
//! `--yes` it prints what it would add and changes nothing; with `--yes` it writes the manifest,
//! adds the rules and records them in it; `--revoke MANIFEST` removes exactly what it added.

mod act;
pub mod manifest;

use super::CliError;
use crate::config::{self, ControllerConfig};
use crate::domain::breakglass::{CidrPolicy, ExplicitInput, ExplicitRequest, Field, RequestError};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `sg-tightener extend`.
#[derive(Debug, Args)]
pub struct ExtendArgs {
    /// AWS region of the groups, e.g. af-south-1.
    #[arg(long)]
    pub region: Option<String>,
    /// Security groups to add rules to (comma- or space-separated).
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    pub groups: Vec<String>,
    /// CIDRs to allow, e.g. 10.4.0.0/16 (comma- or space-separated).
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    pub cidrs: Vec<String>,
    /// Ports: all | icmp | tcp:P | tcp:A-B | udp:P | udp:A-B (comma- or space-separated).
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    pub ports: Vec<String>,
    /// Why, e.g. "DR failover INC-1234": put into every rule's description.
    #[arg(long)]
    pub reason: Option<String>,
    /// Skip a group that would exceed this many rules (1–1000).
    #[arg(long, default_value_t = 60)]
    pub max_rules: u32,
    /// Assume this IAM role first (default: the credential chain's identity).
    #[arg(long)]
    pub role_arn: Option<String>,
    /// Where to write the manifest (default: sg-tightener-extend-<UTC time>.json here).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Remove exactly the rules this manifest added (instead of adding).
    #[arg(long, value_name = "MANIFEST")]
    pub revoke: Option<PathBuf>,
    /// Change AWS; without it, print what would change and change nothing.
    #[arg(long)]
    pub yes: bool,
    /// Controller configuration: `breakGlass` limits and `aws.endpointUrl` (defaults without).
    #[arg(long, env = "SG_TIGHTENER_CONFIG")]
    pub config: Option<PathBuf>,
}

fn flag_of(field: Field) -> &'static str {
    match field {
        Field::GroupIds => "groups",
        Field::Cidrs => "cidrs",
        Field::Ports => "ports",
        Field::Reason => "reason",
    }
}

fn request_error(error: RequestError, args: &ExtendArgs) -> CliError {
    let at = |list: &[String], i: usize| list.get(i).cloned().unwrap_or_default();
    let value = match (error.field, error.index) {
        (Field::Reason, _) => args.reason.clone().unwrap_or_default(),
        (Field::GroupIds, Some(i)) => at(&args.groups, i),
        (Field::Cidrs, Some(i)) => at(&args.cidrs, i),
        (Field::Ports, Some(i)) => at(&args.ports, i),
        (_, None) => String::new(),
    };
    CliError::InvalidFlag {
        flag: flag_of(error.field),
        value,
        message: error.error.to_string(),
    }
}

fn missing(flag: &'static str) -> CliError {
    CliError::InvalidFlag {
        flag,
        value: String::new(),
        message: format!("--{flag} is required (see sg-tightener extend --help)"),
    }
}

/// True for `af-south-1`, `us-gov-west-1`: the CRDs' region pattern.
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let letters = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    let number = parts
        .last()
        .is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()));
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(|p| letters(p))
        && number
}

/// A validated add: the request and where.
#[derive(Debug, Clone)]
pub struct AddRequest {
    /// The region.
    pub region: String,
    /// The groups, CIDRs, ports and description.
    pub request: ExplicitRequest,
    /// The reason as given.
    pub reason: String,
}

fn load_config(args: &ExtendArgs) -> Result<ControllerConfig, CliError> {
    config::load(args.config.as_deref()).map_err(|e| CliError::InvalidInput {
        path: args.config.clone().unwrap_or_default(),
        message: crate::error::chain(&e),
    })
}

/// Checks every input of an add before any AWS call.
pub fn validate_add(args: &ExtendArgs, config: &ControllerConfig) -> Result<AddRequest, CliError> {
    let region = args.region.clone().ok_or_else(|| missing("region"))?;
    if !is_region(&region) {
        return Err(CliError::InvalidFlag {
            flag: "region",
            value: region,
            message: "expected a region such as af-south-1".into(),
        });
    }
    let reason = args.reason.clone().ok_or_else(|| missing("reason"))?;
    if !(1..=1000).contains(&args.max_rules) {
        return Err(CliError::InvalidFlag {
            flag: "max-rules",
            value: args.max_rules.to_string(),
            message: "must be between 1 and 1000".into(),
        });
    }
    let policy = CidrPolicy {
        broadest_prefix: config.break_glass.broadest_prefix,
        allow_public: config.break_glass.allow_public,
    };
    let input = ExplicitInput {
        group_ids: &args.groups,
        cidrs: &args.cidrs,
        ports: &args.ports,
        reason: &reason,
    };
    let request = ExplicitRequest::parse(input, &policy).map_err(|e| request_error(e, args))?;
    Ok(AddRequest {
        region,
        request,
        reason,
    })
}

/// Runs `sg-tightener extend`: validation first (exit 2), then AWS (exit 1 on failure).
pub fn run(args: ExtendArgs) -> Result<(), CliError> {
    let config = load_config(&args)?;
    let revoking = args.revoke.clone();
    let add = match &revoking {
        Some(_) if !(args.groups.is_empty() && args.cidrs.is_empty() && args.ports.is_empty()) => {
            return Err(CliError::InvalidFlag {
                flag: "revoke",
                value: String::new(),
                message:
                    "--revoke takes only the manifest: leave out --groups, --cidrs and --ports"
                        .into(),
            })
        }
        Some(_) => None,
        None => Some(validate_add(&args, &config)?),
    };
    // Both ring and aws-lc-rs are compiled in (kube, the AWS SDK): choose, as `run` does.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("failed to start the async runtime: {e}")))?;
    runtime.block_on(async {
        match (add, revoking) {
            (Some(add), _) => act::add(&args, &config, &add).await,
            (None, Some(path)) => act::revoke(&args, &config, &path).await,
            (None, None) => unreachable!("either an add or a revoke"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_follow_the_crd_pattern() {
        for good in ["af-south-1", "us-gov-west-1", "eu-central-2"] {
            assert!(is_region(good), "{good}");
        }
        for bad in [
            "",
            "af-south",
            "AF-south-1",
            "af-south-123",
            "a-south-1",
            "afsouth1",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
