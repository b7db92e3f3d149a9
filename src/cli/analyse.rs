//! CLI layer: `sg-tightener analyse` (DESIGN §9) — local flow-log files (plain or gzip, v2
//! default or custom header format, or Parquet) → the evidence JSON that `plan --evidence` reads.

use super::input::{invalid, print_json};
use super::CliError;
use crate::domain::evidence::coverage::{is_parquet_key, younger_than_window};
use crate::domain::evidence::{EvidenceDocument, ParseStats, Window};
use crate::domain::flowlog::{self, ActionFilter, Aggregator, FlowLogError, Selection};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `sg-tightener analyse`.
#[derive(Debug, Args)]
pub struct AnalyseArgs {
    /// Flow-log files or directories (walked recursively, hidden entries skipped); `-` reads stdin.
    /// Plain or gzip text, v2 default format or a custom format named by a header line, or
    /// Parquet files as S3 delivery writes them (`*.parquet`).
    #[arg(long = "flow-logs", value_name = "PATH", required = true, num_args = 1..)]
    pub flow_logs: Vec<PathBuf>,
    /// Which records count as evidence: ACCEPT (tightening), REJECT (diagnose) or ANY.
    #[arg(long, value_name = "ACTION", default_value = "ACCEPT")]
    pub action: String,
    /// Length of the observation window in days, ending at --end.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
    /// End of the observation window (RFC 3339, e.g. 2024-06-01T00:00:00Z); default: the start of
    /// today (UTC), so the window is the last N whole days.
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,
}

/// Runs `sg-tightener analyse`.
pub fn run(args: AnalyseArgs) -> Result<(), CliError> {
    let action = parse_action(&args.action)?;
    let window = window(args.end.as_deref(), args.days)?;
    let document = analyse(&args.flow_logs, action, window)?;
    warn_about(&document);
    print_json(&document)
}

/// Reads every file under `paths` into one evidence document: records with `action` whose
/// capture window overlaps `window`.
pub fn analyse(
    paths: &[PathBuf],
    action: ActionFilter,
    window: Window,
) -> Result<EvidenceDocument, CliError> {
    let selection = Selection {
        action,
        window: Some(window),
    };
    let mut aggregator = Aggregator::new();
    for file in collect_files(paths)? {
        read_file(&file, &selection, &mut aggregator)?;
    }
    Ok(aggregator.into_evidence(window))
}

fn flag(flag: &'static str, value: &str, message: &str) -> CliError {
    CliError::InvalidFlag {
        flag,
        value: value.to_string(),
        message: message.to_string(),
    }
}

fn parse_action(value: &str) -> Result<ActionFilter, CliError> {
    match value.to_ascii_uppercase().as_str() {
        "ACCEPT" => Ok(ActionFilter::Accept),
        "REJECT" => Ok(ActionFilter::Reject),
        "ANY" | "ALL" => Ok(ActionFilter::Any),
        _ => Err(flag("action", value, "expected ACCEPT, REJECT or ANY")),
    }
}

fn window(end: Option<&str>, days: u32) -> Result<Window, CliError> {
    let Some(text) = end else {
        return Ok(Window::last_full_days(jiff::Timestamp::now(), days));
    };
    let end = text.parse::<jiff::Timestamp>().map_err(|e| {
        flag(
            "end",
            text,
            &format!("not an RFC 3339 time with offset: {e}"),
        )
    })?;
    let length = jiff::SignedDuration::from_hours(24 * i64::from(days));
    let start = end
        .checked_sub(length)
        .map_err(|e| flag("days", &days.to_string(), &e.to_string()))?;
    Ok(Window { start, end })
}

/// Files to read, in a stable order: each argument, directories walked recursively.
fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" || !path.is_dir() {
            files.push(path.clone());
        } else {
            walk(path, &mut files)?;
        }
    }
    Ok(files)
}

fn walk(directory: &Path, files: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let read_error = |source| CliError::Read {
        path: directory.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(directory)
        .map_err(read_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    entries.sort();
    for entry in entries {
        let hidden = entry
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if entry.is_dir() {
            walk(&entry, files)?;
        } else {
            files.push(entry);
        }
    }
    Ok(())
}

fn read_file(
    path: &Path,
    selection: &Selection,
    aggregator: &mut Aggregator,
) -> Result<(), CliError> {
    let read_error = |source| CliError::Read {
        path: path.to_path_buf(),
        source,
    };
    if is_parquet_key(&path.to_string_lossy()) {
        let file = std::fs::File::open(path).map_err(read_error)?;
        let stats = flowlog::parse_parquet(file, selection, aggregator)
            .map_err(|error| flowlog_error(path, error))?;
        return check_stats(path, &stats);
    }
    let stats = if path.as_os_str() == "-" {
        parse(
            path,
            flowlog::decode(std::io::stdin().lock()).map_err(read_error)?,
            selection,
            aggregator,
        )?
    } else {
        let file = std::fs::File::open(path).map_err(read_error)?;
        parse(
            path,
            flowlog::decode(file).map_err(read_error)?,
            selection,
            aggregator,
        )?
    };
    check_stats(path, &stats)
}

fn parse(
    path: &Path,
    mut reader: Box<dyn std::io::BufRead + '_>,
    selection: &Selection,
    aggregator: &mut Aggregator,
) -> Result<ParseStats, CliError> {
    flowlog::parse_into(&mut reader, selection, aggregator)
        .map_err(|error| flowlog_error(path, error))
}

fn flowlog_error(path: &Path, error: FlowLogError) -> CliError {
    match error {
        FlowLogError::Io(source) => CliError::Read {
            path: path.to_path_buf(),
            source,
        },
        other => invalid(path, other.to_string()),
    }
}

/// A file that has lines but not one flow-log record is not a flow-log file.
fn check_stats(path: &Path, stats: &ParseStats) -> Result<(), CliError> {
    if stats.has_no_records() {
        let message = format!(
            "no flow-log record in {} line(s); is this a VPC flow-log file?",
            stats.malformed
        );
        return Err(invalid(path, message));
    }
    Ok(())
}

/// One stderr line per thing a reader of the JSON could miss.
fn warn_about(document: &EvidenceDocument) {
    let coverage = &document.coverage;
    if !coverage.days_without_data.is_empty() {
        eprintln!(
            "sg-tightener: warning: {} day(s) of the window have no flow-log data",
            coverage.days_without_data.len()
        );
    }
    if younger_than_window(coverage, &document.window) {
        eprintln!("sg-tightener: warning: the flow logs start after the window does; evidence is incomplete");
    }
    if coverage.skipped_records > 0 {
        eprintln!(
            "sg-tightener: warning: {} SKIPDATA record(s): AWS lost flow-log records; evidence is incomplete",
            coverage.skipped_records
        );
    }
    if document.stats.malformed > 0 {
        eprintln!(
            "sg-tightener: warning: {} unparseable line(s) skipped",
            document.stats.malformed
        );
    }
}
