//! CLI layer: `sg-tightener classify` (DESIGN §9) — describe-security-groups (and optionally
//! describe-network-acls) JSON → permissive-rule findings with severity counts and risk score,
//! as JSON (stdout or `--out`), CSV or XLSX (`--format`); `--fail-on` makes it a CI gate.

use super::input::{invalid, print_json, read_json};
use super::CliError;
use crate::domain::risk::{
    classify_all, Finding, RiskPolicy, Severity, SeverityCounts, DEFAULT_CRITICAL_PORTS,
    DEFAULT_PREFIX_THRESHOLD,
};
use crate::domain::snapshot::{DescribeNetworkAcls, DescribeSecurityGroups, SecurityGroup};
use crate::report::{write_xlsx, CsvSink, FindingRow, ReportError};
use clap::{Args, ValueEnum};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::Write;
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
    /// Comma-separated ports whose exposure to 0.0.0.0/0 or ::/0 is CRITICAL (default: 20, 21,
    /// 22, 23, 25, 110, 135, 139, 143, 445, 1433, 1521, 2375, 2376, 2379, 3306, 3389, 5432, 5900,
    /// 5984, 6379, 9200, 9300, 11211, 27017).
    #[arg(long, value_name = "PORTS", value_delimiter = ',')]
    pub critical_ports: Option<Vec<u16>>,
    /// Exit with status 1 when a finding of this severity or worse exists (a CI gate; the
    /// report is still written).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    /// Report format: `json` (the findings document), `csv` (one row per finding) or `xlsx` (a
    /// ranked Summary sheet and a Findings sheet; needs `--out`).
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The severity `--fail-on` gates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Fail on CRITICAL findings.
    Critical,
    /// Fail on HIGH or CRITICAL findings.
    High,
}

/// The report format of `classify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON findings document.
    Json,
    /// CSV, one row per finding.
    Csv,
    /// XLSX workbook.
    Xlsx,
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
    if args.format == Format::Xlsx && args.out.is_none() {
        return Err(CliError::InvalidFlag {
            flag: "format",
            value: "xlsx".into(),
            message: "an XLSX workbook needs --out FILE".into(),
        });
    }
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
            .clone()
            .unwrap_or_else(|| DEFAULT_CRITICAL_PORTS.to_vec()),
    };
    let findings = classify_all(&groups.security_groups, &acls, &policy);
    let counts = SeverityCounts::of(&findings);
    let gate = gate(args.fail_on, &counts);
    let document = FindingsDocument {
        schema: FINDINGS_SCHEMA,
        prefix_threshold: policy.prefix_threshold,
        critical_ports: policy.critical_ports,
        risk_score: counts.risk_score(),
        counts,
        findings,
    };
    write_report(&args, &groups.security_groups, document)?;
    gate
}

/// `Err(Gate)` when `--fail-on` is set and a finding that bad exists.
fn gate(fail_on: Option<FailOn>, counts: &SeverityCounts) -> Result<(), CliError> {
    let (severity, found) = match fail_on {
        None => return Ok(()),
        Some(FailOn::Critical) => (Severity::Critical, counts.critical),
        Some(FailOn::High) => (Severity::High, counts.critical + counts.high),
    };
    if found == 0 {
        return Ok(());
    }
    Err(CliError::Gate {
        found,
        severity: format!("{severity:?}").to_uppercase(),
    })
}

fn write_report(
    args: &ClassifyArgs,
    groups: &[SecurityGroup],
    document: FindingsDocument,
) -> Result<(), CliError> {
    let failed = |e: ReportError| match e {
        ReportError::Io(io) => CliError::Write(io),
        other => CliError::Write(std::io::Error::other(other.to_string())),
    };
    let Some(path) = &args.out else {
        return match args.format {
            Format::Json => print_json(&document),
            _ => csv_report(rows(groups, document.findings), std::io::stdout().lock())
                .map_err(failed),
        };
    };
    let file = std::fs::File::create(path).map_err(|e| CliError::InvalidFlag {
        flag: "out",
        value: path.display().to_string(),
        message: e.to_string(),
    })?;
    let mut out = std::io::BufWriter::new(file);
    let written = match args.format {
        Format::Json => serde_json::to_writer_pretty(&mut out, &document)
            .map_err(ReportError::from)
            .and_then(|()| Ok(out.flush()?)),
        Format::Csv => csv_report(rows(groups, document.findings), out),
        Format::Xlsx => xlsx_report(rows(groups, document.findings), out),
    };
    written.map_err(failed)
}

/// The findings as report rows; the account is the group's owner when the input names it.
fn rows(groups: &[SecurityGroup], findings: Vec<Finding>) -> Vec<FindingRow> {
    let owner = |id: &str| {
        groups
            .iter()
            .find(|g| g.group_id == id)
            .and_then(|g| g.owner_id.clone())
            .unwrap_or_default()
    };
    findings
        .into_iter()
        .map(|f| FindingRow::new(&owner(&f.resource_id), "", "", f))
        .collect()
}

fn csv_report(rows: Vec<FindingRow>, out: impl Write) -> Result<(), ReportError> {
    let mut sink = CsvSink::new(out)?;
    rows.iter().try_for_each(|r| sink.write(r))?;
    sink.finish()?.flush()?;
    Ok(())
}

fn xlsx_report(rows: Vec<FindingRow>, out: impl Write + Send) -> Result<(), ReportError> {
    let mut tally = crate::domain::risk::tally::Tally::default();
    for row in &rows {
        tally.account(&row.account_id, "");
        tally.add(&row.account_id, row.severity);
    }
    write_xlsx(&tally.ranked(usize::MAX), rows.into_iter().map(Ok), out)?;
    Ok(())
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
