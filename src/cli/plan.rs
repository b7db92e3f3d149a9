//! CLI layer: `sg-tightener plan` (DESIGN §9) — describe-security-groups JSON + evidence (the
//! `analyse` document as JSON or NDJSON, or the seed's `{"ips": [...]}`) [+ describe-network-interfaces JSON] →
//! the tightening plan as JSON (the shape of `status.plan`).

use super::input::{invalid, print_json, read_json, read_text};
use super::{ndjson, CliError};
use crate::domain::evidence::attribution::AttributionMode;
use crate::domain::evidence::{EvidenceDocument, Flow, EVIDENCE_SCHEMA};
use crate::domain::network::DescribeVpcs;
use crate::domain::plan::{build_plan, Evidence, NoEvidence, PlanOptions};
use crate::domain::snapshot::{DescribeNetworkInterfaces, DescribeSecurityGroups};
use clap::Args;
use ipnet::Ipv4Net;
use serde_json::Value;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Arguments of `sg-tightener plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// `aws ec2 describe-security-groups` output: every group in it is in scope.
    #[arg(long, value_name = "SGS.json")]
    pub groups: PathBuf,
    /// Evidence written by `sg-tightener analyse` (JSON or `--format ndjson`), or `{"ips": [...]}`
    /// (each IP is a source for every eligible rule whose CIDR contains it, any port).
    #[arg(long, value_name = "EVIDENCE.json")]
    pub evidence: PathBuf,
    /// `aws ec2 describe-network-interfaces` output, to attribute flows to the groups whose ENIs
    /// they reached. Without it a flow is evidence for every eligible rule it matches.
    #[arg(long, value_name = "ENIS.json")]
    pub interfaces: Option<PathBuf>,
    /// `aws ec2 describe-vpcs` output (with --interfaces): a flow to an interface missing from
    /// ENIS.json counts, as one that no longer exists, for every group whose rule matches it and
    /// whose VPC holds its destination. Without it, for every group whose rule matches it.
    #[arg(long, value_name = "VPCS.json")]
    pub vpcs: Option<PathBuf>,
    /// Rules-per-group limit.
    #[arg(long, default_value_t = 60)]
    pub max_rules: u32,
    /// Initial gap tolerance (0–1), widened in 0.05 steps up to 0.95 when over budget.
    #[arg(long, default_value_t = 0.30)]
    pub tolerance: f64,
    /// Only RFC 1918 CIDRs with a prefix shorter than this are eligible.
    #[arg(long, default_value_t = 24)]
    pub prefix_threshold: u8,
    /// Eligible rules without evidence: Keep or Revoke.
    #[arg(long, default_value = "Keep")]
    pub no_evidence: String,
    /// Flow attribution: Group, Vpc or Region (used with --interfaces).
    #[arg(long, default_value = "Group")]
    pub attribution: String,
    /// A CIDR vouched for as observed (repeatable).
    #[arg(long = "additional-source", value_name = "CIDR")]
    pub additional_sources: Vec<String>,
    /// A CIDR that never counts as observed (repeatable).
    #[arg(long = "exclude-source", value_name = "CIDR")]
    pub exclude_sources: Vec<String>,
}

/// Runs `sg-tightener plan`.
pub fn run(args: PlanArgs) -> Result<(), CliError> {
    let mut options = options(&args)?;
    let groups: DescribeSecurityGroups = read_json(&args.groups)?;
    let (flows, vouched) = read_evidence(&args.evidence)?;
    options.additional_sources.extend(vouched);
    let interfaces = match &args.interfaces {
        Some(path) => Some(read_json::<DescribeNetworkInterfaces>(path)?.network_interfaces),
        None => None,
    };
    let vpcs = match &args.vpcs {
        Some(path) => Some(read_json::<DescribeVpcs>(path)?.vpcs),
        None => None,
    };
    let evidence = Evidence {
        flows: &flows,
        interfaces: interfaces.as_deref(),
        vpcs: vpcs.as_deref(),
    };
    let tightening = build_plan(&groups.security_groups, &evidence, &options)
        .map_err(|e| invalid(&args.groups, e.to_string()))?;
    if tightening.unattributed_flows > 0 {
        let total = tightening.unattributed_flows + tightening.attributed_flows;
        eprintln!(
            "sg-tightener: {} of {total} flows matched no eligible rule",
            tightening.unattributed_flows
        );
    }
    if tightening.vanished_flows > 0 {
        eprintln!(
            "sg-tightener: {} flows reached {} interfaces missing from --interfaces and were \
             counted for every group they may have reached ({} sources kept because of them)",
            tightening.vanished_flows, tightening.vanished_interfaces, tightening.vanished_sources
        );
    }
    print_json(&tightening.plan)
}

/// Validated plan options from the flags.
fn options(args: &PlanArgs) -> Result<PlanOptions, CliError> {
    Ok(PlanOptions {
        max_rules: check_max_rules(args.max_rules)?,
        tolerance: check_fraction("tolerance", args.tolerance)?,
        prefix_threshold: check_prefix_threshold(args.prefix_threshold)?,
        no_evidence: match args.no_evidence.to_ascii_lowercase().as_str() {
            "keep" => NoEvidence::Keep,
            "revoke" => NoEvidence::Revoke,
            _ => {
                return Err(flag(
                    "no-evidence",
                    &args.no_evidence,
                    "expected Keep or Revoke",
                ))
            }
        },
        attribution: match args.attribution.to_ascii_lowercase().as_str() {
            "group" => AttributionMode::Group,
            "vpc" => AttributionMode::Vpc,
            "region" => AttributionMode::Region,
            _ => {
                return Err(flag(
                    "attribution",
                    &args.attribution,
                    "expected Group, Vpc or Region",
                ))
            }
        },
        additional_sources: cidrs("additional-source", &args.additional_sources)?,
        exclude_sources: cidrs("exclude-source", &args.exclude_sources)?,
        ..PlanOptions::default()
    })
}

/// An [`CliError::InvalidFlag`].
pub(super) fn flag(flag: &'static str, value: impl ToString, message: &str) -> CliError {
    CliError::InvalidFlag {
        flag,
        value: value.to_string(),
        message: message.into(),
    }
}

/// `--max-rules` must be 1–1000.
pub(super) fn check_max_rules(value: u32) -> Result<u32, CliError> {
    (1..=1000)
        .contains(&value)
        .then_some(value)
        .ok_or_else(|| flag("max-rules", value, "expected 1 to 1000"))
}

/// A fraction flag must be a number from 0 to 1.
pub(super) fn check_fraction(name: &'static str, value: f64) -> Result<f64, CliError> {
    (0.0..=1.0)
        .contains(&value)
        .then_some(value)
        .ok_or_else(|| flag(name, value, "expected a number from 0 to 1"))
}

fn check_prefix_threshold(value: u8) -> Result<u8, CliError> {
    (1..=32)
        .contains(&value)
        .then_some(value)
        .ok_or_else(|| flag("prefix-threshold", value, "expected 1 to 32"))
}

fn cidrs(name: &'static str, values: &[String]) -> Result<Vec<Ipv4Net>, CliError> {
    values
        .iter()
        .map(|v| {
            v.parse()
                .map_err(|_| flag(name, v, "expected an IPv4 CIDR such as 10.9.0.0/28"))
        })
        .collect()
}

/// Reads either evidence shape: flows from an `analyse` document (JSON or NDJSON), or vouched
/// /32s from `{"ips"}`.
fn read_evidence(path: &Path) -> Result<(Vec<Flow>, Vec<Ipv4Net>), CliError> {
    let text = read_text(path)?;
    let document = match ndjson::read(path, &text)? {
        Some(document) => document,
        None => {
            let value: Value =
                serde_json::from_str(&text).map_err(|e| invalid(path, e.to_string()))?;
            if let Some(ips) = value.get("ips") {
                return Ok((Vec::new(), approved_ips(path, ips)?));
            }
            serde_json::from_value::<EvidenceDocument>(value)
                .map_err(|e| invalid(path, e.to_string()))?
        }
    };
    if document.schema != EVIDENCE_SCHEMA {
        return Err(invalid(
            path,
            format!("schema {:?} is not {EVIDENCE_SCHEMA:?}", document.schema),
        ));
    }
    Ok((document.flows, Vec::new()))
}

/// The seed's approved list: IPv4 addresses become /32 sources; IPv6 ones cannot match an
/// eligible rule and are skipped.
fn approved_ips(path: &Path, ips: &Value) -> Result<Vec<Ipv4Net>, CliError> {
    let list = ips
        .as_array()
        .ok_or_else(|| invalid(path, "\"ips\" must be an array of IP addresses"))?;
    let mut out = Vec::with_capacity(list.len());
    for (k, item) in list.iter().enumerate() {
        let parsed = item.as_str().and_then(|s| s.trim().parse::<IpAddr>().ok());
        match parsed {
            Some(IpAddr::V4(ip)) => out.push(Ipv4Net::from(ip)),
            Some(IpAddr::V6(_)) => {}
            None => {
                return Err(invalid(
                    path,
                    format!("ips[{k}] {item} is not an IP address"),
                ))
            }
        }
    }
    Ok(out)
}
