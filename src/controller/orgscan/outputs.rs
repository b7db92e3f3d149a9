//! Controller layer: a finished scan's reports — the JSON document (streamed from the findings
//! spool), the CSV (the spool itself) and the XLSX, written to temp files off the async runtime;
//! the ConfigMap's JSON, which falls back to the summary when the findings do not fit (the write
//! never fails for size); and the S3 uploads.

use crate::crd::orgscan::{ReportFormat, ReportS3, ScanFailure, ScanSummary};
use crate::domain::risk::AccountRisk;
use crate::report::{
    write_xlsx, FindingRow, ReportError, SpooledFindings, Streamed, REPORT_SCHEMA,
};
use serde::Serialize;
use std::io::{BufWriter, Write};
use std::path::Path;
use tempfile::NamedTempFile;

/// Bytes of JSON a report ConfigMap may hold (a ConfigMap's data is capped at 1 MiB).
pub const CONFIG_MAP_BUDGET: usize = 900 * 1024;
/// Accounts and failures kept when even the summary does not fit.
const TRIMMED_ACCOUNTS: usize = 20;
const TRIMMED_FAILURES: usize = 100;

/// Everything a report holds.
pub struct ReportData {
    /// `namespace/name` of the scan.
    pub resource: String,
    /// The totals, as in status.
    pub summary: ScanSummary,
    /// Every scanned account, ranked.
    pub accounts: Vec<AccountRisk>,
    /// Accounts and regions not scanned.
    pub failures: Vec<ScanFailure>,
    /// Every finding.
    pub findings: SpooledFindings,
}

/// The JSON report (`sg-tightener.report/v1`); `findings` last, streamed.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a, F: Serialize> {
    schema: &'static str,
    scan: &'a str,
    summary: &'a ScanSummary,
    accounts: &'a [AccountRisk],
    failures: &'a [ScanFailure],
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    findings: Option<F>,
}

type Rows = Streamed<Box<dyn Iterator<Item = Result<FindingRow, ReportError>>>>;

fn document<'a>(
    data: &'a ReportData,
    findings: Option<Rows>,
    note: Option<String>,
) -> Document<'a, Rows> {
    Document {
        schema: REPORT_SCHEMA,
        scan: &data.resource,
        summary: &data.summary,
        accounts: &data.accounts,
        failures: &data.failures,
        note,
        findings,
    }
}

fn rows(data: &ReportData) -> Result<Rows, ReportError> {
    let iter: Box<dyn Iterator<Item = _>> = Box::new(data.findings.read()?);
    Ok(Streamed::new(iter))
}

/// The report files to upload, and the ConfigMap's JSON.
pub struct Built {
    /// The ConfigMap's JSON, when `output.configMap` is on.
    pub config_map: Option<String>,
    /// Per format, the file to upload: a temp file, or `None` for CSV (the spool itself).
    pub files: Vec<(ReportFormat, Option<NamedTempFile>)>,
}

/// Writes what the outputs ask for (blocking I/O: run it off the async runtime).
pub fn build(
    data: &ReportData,
    formats: &[ReportFormat],
    config_map: bool,
    s3_uri: Option<&str>,
) -> Result<Built, ReportError> {
    let mut files = Vec::new();
    for format in formats {
        let file = match format {
            ReportFormat::Csv => None,
            ReportFormat::Json => Some(json_file(data)?),
            ReportFormat::Xlsx => Some(xlsx_file(data)?),
        };
        files.push((*format, file));
    }
    let config_map = config_map
        .then(|| config_map_json(data, s3_uri))
        .transpose()?;
    Ok(Built { config_map, files })
}

fn json_file(data: &ReportData) -> Result<NamedTempFile, ReportError> {
    let file = NamedTempFile::with_prefix("sg-tightener-report-")?;
    let mut out = BufWriter::new(file.reopen()?);
    serde_json::to_writer(&mut out, &document(data, Some(rows(data)?), None))?;
    out.flush()?;
    Ok(file)
}

fn xlsx_file(data: &ReportData) -> Result<NamedTempFile, ReportError> {
    let file = NamedTempFile::with_prefix("sg-tightener-report-")?;
    let mut out = BufWriter::new(file.reopen()?);
    write_xlsx(&data.accounts, data.findings.read()?, &mut out)?;
    out.flush()?;
    Ok(file)
}

/// The ConfigMap's JSON: the whole report when it fits in [`CONFIG_MAP_BUDGET`], else the
/// summary (every account and failure) with a note, else the top accounts and first failures.
pub fn config_map_json(data: &ReportData, s3_uri: Option<&str>) -> Result<String, ReportError> {
    if data.findings.bytes < CONFIG_MAP_BUDGET as u64 {
        if let Some(json) = bounded(&document(data, Some(rows(data)?), None))? {
            return Ok(json);
        }
    }
    let full = match s3_uri {
        Some(uri) => format!("the full report is {uri}"),
        None => "set spec.output.s3 for the full report".to_owned(),
    };
    let note = format!(
        "{} findings do not fit in a ConfigMap ({} KiB at most): this is the summary; {full}",
        data.findings.rows,
        CONFIG_MAP_BUDGET / 1024
    );
    if let Some(json) = bounded(&document(data, None, Some(note.clone())))? {
        return Ok(json);
    }
    let trimmed = Document {
        accounts: &data.accounts[..data.accounts.len().min(TRIMMED_ACCOUNTS)],
        failures: &data.failures[..data.failures.len().min(TRIMMED_FAILURES)],
        note: Some(format!(
            "{note}; only the {TRIMMED_ACCOUNTS} riskiest accounts and the first {TRIMMED_FAILURES} failures fit"
        )),
        ..document(data, None, None)
    };
    Ok(serde_json::to_string(&trimmed)?)
}

/// The JSON of `value` if it fits in the budget; `None` when it does not.
fn bounded<T: Serialize>(value: &T) -> Result<Option<String>, ReportError> {
    let mut out = Bounded(Vec::new());
    match serde_json::to_writer(&mut out, value) {
        Ok(()) => Ok(Some(String::from_utf8(out.0).unwrap_or_default())),
        Err(e) if e.io_error_kind() == Some(std::io::ErrorKind::FileTooLarge) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A buffer that refuses to grow past [`CONFIG_MAP_BUDGET`].
struct Bounded(Vec<u8>);

impl Write for Bounded {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + bytes.len() > CONFIG_MAP_BUDGET {
            return Err(std::io::ErrorKind::FileTooLarge.into());
        }
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A format's file extension and content type.
pub fn kind(format: ReportFormat) -> (&'static str, &'static str) {
    match format {
        ReportFormat::Json => ("json", "application/json"),
        ReportFormat::Csv => ("csv", "text/csv"),
        ReportFormat::Xlsx => (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    }
}

/// The object key of one format: `<prefix><namespace>/<name>/<finishedAt>.<ext>`, the time as
/// `20261202T054800Z`.
pub fn object_key(
    s3: &ReportS3,
    resource: &str,
    finished_at: &str,
    format: ReportFormat,
) -> String {
    let stamp: String = finished_at
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    format!("{}{resource}/{stamp}.{}", s3.prefix, kind(format).0)
}

/// Where one format's file is: the temp file, or the spool for CSV.
pub fn file_path<'a>(file: &'a Option<NamedTempFile>, data: &'a ReportData) -> &'a Path {
    file.as_ref()
        .map_or_else(|| data.findings.path(), |f| f.path())
}
