//! CLI layer: `sg-tightener analyse` (DESIGN §9) — local flow-log files (plain or gzip, v2
//! default or custom header format, or Parquet) → the evidence that `plan --evidence` reads, as
//! one JSON document (compact unless stdout is a terminal or `--pretty`) or NDJSON (one flow per
//! line).

use super::flowfiles::{collect_files, read_all};
use super::{ndjson, output, CliError};
use crate::domain::evidence::coverage::younger_than_window;
use crate::domain::evidence::{EvidenceDocument, Window};
use crate::domain::flowlog::{ActionFilter, Selection};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `sg-tightener analyse`.
#[derive(Debug, Args)]
pub struct AnalyseArgs {
    /// Flow-log files or directories (walked recursively, hidden entries skipped); `-` reads stdin.
    /// Plain or gzip text, v2 default format or a custom format named by a header line, or
    /// Parquet files as S3 delivery writes them (`*.parquet`). Several
    /// files are parsed in parallel, on all cores; the output does not depend on it.
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
    /// Output format: `json` (one evidence document) or `ndjson` (a header line with the schema,
    /// window, coverage, counters and `flowCount`, then one flow per line). `plan --evidence`
    /// reads both.
    #[arg(long, value_name = "FORMAT", default_value = "json")]
    pub format: String,
    /// Pretty-print the JSON document. Without it the document is pretty on a terminal and
    /// compact (one line, a third of the size) when stdout is a file or a pipe. Not with ndjson.
    #[arg(long)]
    pub pretty: bool,
}

/// How `analyse` writes its evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON document, pretty-printed or compact.
    Json {
        /// Indented, one field per line.
        pretty: bool,
    },
    /// A header line, then one flow per line.
    Ndjson,
}

/// Runs `sg-tightener analyse`.
pub fn run(args: AnalyseArgs) -> Result<(), CliError> {
    let action = parse_action(&args.action)?;
    let window = window(args.end.as_deref(), args.days)?;
    let format = output_format(&args.format, args.pretty, output::stdout_is_terminal())?;
    let document = analyse(&args.flow_logs, action, window)?;
    warn_about(&document);
    let mut out = output::stdout();
    match format {
        OutputFormat::Json { pretty } => output::write_json(&mut out, &document, pretty)?,
        OutputFormat::Ndjson => ndjson::write(&mut out, &document)?,
    }
    output::finish(out)
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
    let files = collect_files(paths)?;
    Ok(read_all(&files, &selection)?.into_evidence(window))
}

/// `--format` and `--pretty` (or, without it, whether stdout is a terminal) → the output format.
pub fn output_format(format: &str, pretty: bool, terminal: bool) -> Result<OutputFormat, CliError> {
    match format.to_ascii_lowercase().as_str() {
        "json" => Ok(OutputFormat::Json {
            pretty: pretty || terminal,
        }),
        "ndjson" if pretty => Err(flag(
            "format",
            format,
            "--pretty applies to json only (ndjson is one compact value per line)",
        )),
        "ndjson" => Ok(OutputFormat::Ndjson),
        _ => Err(flag("format", format, "expected json or ndjson")),
    }
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

#[cfg(test)]
mod tests {
    use super::{output_format, OutputFormat};

    #[test]
    fn json_is_pretty_on_a_terminal_or_when_asked_and_compact_otherwise() {
        let pretty = |p, terminal| output_format("json", p, terminal).unwrap();
        assert_eq!(pretty(false, false), OutputFormat::Json { pretty: false });
        assert_eq!(pretty(false, true), OutputFormat::Json { pretty: true });
        assert_eq!(pretty(true, false), OutputFormat::Json { pretty: true });
    }

    #[test]
    fn ndjson_is_always_compact_and_refuses_pretty() {
        assert_eq!(
            output_format("NDJSON", false, true).unwrap(),
            OutputFormat::Ndjson
        );
        let refused = output_format("ndjson", true, false)
            .unwrap_err()
            .to_string();
        assert!(
            refused.starts_with("invalid --format \"ndjson\""),
            "{refused}"
        );
    }

    #[test]
    fn an_unknown_format_names_the_flag_and_value() {
        let refused = output_format("yaml", false, false).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "invalid --format \"yaml\": expected json or ndjson"
        );
        assert_eq!(refused.exit_code(), 2);
    }
}
