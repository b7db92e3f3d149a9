//! CLI layer: `sg-tightener collapse` (DESIGN §9) — IP addresses (one per line, or JSON
//! `{"ips": [...]}`) → JSON `{cidrs, toleranceUsed, toleranceSteps, forceFit, addresses, warnings}`.

use super::input::{invalid, print_json, read_text};
use super::plan::{check_fraction, check_max_rules};
use super::CliError;
use crate::domain::cidr::collapse_addresses;
use clap::Args;
use serde::Serialize;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// Arguments of `sg-tightener collapse`.
#[derive(Debug, Args)]
pub struct CollapseArgs {
    /// Most blocks to produce.
    #[arg(long, default_value_t = 60)]
    pub max_rules: u32,
    /// Initial gap tolerance (0–1), widened in 0.05 steps up to 0.95 when over budget.
    #[arg(long, default_value_t = 0.30)]
    pub tolerance: f64,
    /// Input file; `-` (the default) reads stdin.
    #[arg(default_value = "-")]
    pub file: PathBuf,
}

/// What `collapse` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Output {
    cidrs: Vec<String>,
    tolerance_used: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tolerance_steps: Vec<f64>,
    force_fit: bool,
    addresses: u64,
    warnings: Vec<String>,
}

/// Runs `sg-tightener collapse`.
pub fn run(args: CollapseArgs) -> Result<(), CliError> {
    let max_rules = check_max_rules(args.max_rules)?;
    let tolerance = check_fraction("tolerance", args.tolerance)?;
    let (ips, skipped_v6) = read_addresses(&args.file)?;
    let out = collapse_addresses(&ips, max_rules as usize, tolerance);
    let mut warnings = out.warnings;
    if skipped_v6 > 0 {
        warnings.push(format!("{skipped_v6} IPv6 addresses skipped"));
    }
    print_json(&Output {
        cidrs: out.cidrs.iter().map(ToString::to_string).collect(),
        tolerance_used: out.tolerance_used,
        tolerance_steps: out.tolerance_steps,
        force_fit: out.force_fit,
        addresses: out.addresses,
        warnings,
    })
}

/// IPv4 addresses from lines (blank lines and `#` comments skipped) or `{"ips": [...]}`, plus
/// how many IPv6 addresses were skipped.
fn read_addresses(path: &Path) -> Result<(Vec<Ipv4Addr>, usize), CliError> {
    let text = read_text(path)?;
    let items: Vec<(String, String)> = if text.trim_start().starts_with('{') {
        let value: Value = serde_json::from_str(&text).map_err(|e| invalid(path, e.to_string()))?;
        let list = value
            .get("ips")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid(path, "expected {\"ips\": [...]}"))?;
        list.iter()
            .enumerate()
            .map(|(k, v)| {
                (
                    format!("ips[{k}]"),
                    v.as_str().map_or_else(|| v.to_string(), String::from),
                )
            })
            .collect()
    } else {
        text.lines()
            .enumerate()
            .map(|(k, l)| (format!("line {}", k + 1), l.trim().to_string()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
            .collect()
    };
    let (mut ips, mut skipped) = (Vec::with_capacity(items.len()), 0);
    for (place, item) in items {
        match item.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => ips.push(ip),
            Ok(IpAddr::V6(_)) => skipped += 1,
            Err(_) => {
                return Err(invalid(
                    path,
                    format!("{place}: {item:?} is not an IP address"),
                ))
            }
        }
    }
    Ok((ips, skipped))
}
