//! CLI layer: `sg-tightener classify` (DESIGN §9) — describe-security-groups (and optionally
//! describe-network-acls) JSON → permissive-rule findings with severity counts and risk score.

use super::input::{invalid, print_json, read_json};
use super::CliError;
use crate::domain::risk::{
    classify_all, Finding, RiskPolicy, SeverityCounts, DEFAULT_CRITICAL_PORTS,
    DEFAULT_PREFIX_THRESHOLD,
};
use crate::domain::snapshot::{DescribeNetworkAcls, DescribeSecurityGroups};
use clap::Args;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The schema tag of the findings document.
pub const FINDINGS_SCHEMA: &str = "sg-tightener.findings/v1";

/// Arguments of `sg-tightener classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Output of `aws ec2 describe-security-groups` (`-` for stdin).
    #[arg(long, value_name = "SGS.json")]
    pub groups: PathBuf,
    /// Output of `aws ec2 describe-network-acls`; NACL findings are reported, never tightened.
    #[arg(long, value_name = "NACLS.json")]
    pub nacls: Option<PathBuf>,
    /// Private blocks with this prefix length or longer are not findings.
    #[arg(long, default_value_t = DEFAULT_PREFIX_THRESHOLD, value_parser = clap::value_parser!(u8).range(1..=32))]
    pub prefix_threshold: u8,
    /// Comma-separated ports whose exposure to 0.0.0.0/0 or ::/0 is CRITICAL (default: 21, 22,
    /// 23, 135, 139, 445, 1433, 1521, 2375, 2376, 2379, 3306, 3389, 5432, 5900, 5984, 6379, 9200,
    /// 9300, 11211, 27017).
    #[arg(long, value_name = "PORTS", value_delimiter = ',')]
    pub critical_ports: Option<Vec<u16>>,
}

/// What `classify` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingsDocument {
    /// Always [`FINDINGS_SCHEMA`].
    pub schema: &'static str,
    /// The threshold used.
    pub prefix_threshold: u8,
    /// The critical ports used.
    pub critical_ports: Vec<u16>,
    /// Findings by severity.
    pub counts: SeverityCounts,
    /// `critical·10⁶ + high·10⁴ + medium·10² + low`.
    pub risk_score: u64,
    /// Every finding, most severe first.
    pub findings: Vec<Finding>,
}

/// Runs `sg-tightener classify`.
pub fn run(args: ClassifyArgs) -> Result<(), CliError> {
    let groups: DescribeSecurityGroups =
        read_describe(&args.groups, "SecurityGroups", "describe-security-groups")?;
    let acls = match &args.nacls {
        Some(path) => {
            read_describe::<DescribeNetworkAcls>(path, "NetworkAcls", "describe-network-acls")?
                .network_acls
        }
        None => Vec::new(),
    };
    let policy = RiskPolicy {
        prefix_threshold: args.prefix_threshold,
        critical_ports: args
            .critical_ports
            .unwrap_or_else(|| DEFAULT_CRITICAL_PORTS.to_vec()),
    };
    let findings = classify_all(&groups.security_groups, &acls, &policy);
    let counts = SeverityCounts::of(&findings);
    print_json(&FindingsDocument {
        schema: FINDINGS_SCHEMA,
        prefix_threshold: policy.prefix_threshold,
        critical_ports: policy.critical_ports,
        risk_score: counts.risk_score(),
        counts,
        findings,
    })
}

/// Reads AWS CLI output, refusing JSON that lacks the command's top-level key (a swapped file
/// would otherwise classify as "no findings").
fn read_describe<T: DeserializeOwned>(
    path: &Path,
    key: &str,
    command: &str,
) -> Result<T, CliError> {
    let value: serde_json::Value = read_json(path)?;
    if value.get(key).is_none_or(|v| !v.is_array()) {
        return Err(invalid(
            path,
            format!("expected the output of aws ec2 {command} (a {key} array)"),
        ));
    }
    serde_json::from_value(value).map_err(|e| invalid(path, e.to_string()))
}
