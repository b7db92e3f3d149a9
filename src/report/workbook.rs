//! Report layer: the XLSX report (`rust_xlsxwriter`) — a `Summary` sheet of accounts ranked by
//! risk score and a `Findings` sheet with one row per finding, each with a frozen, filterable
//! header. The Findings sheet is written in constant-memory mode: rows stream through a temp file.

use super::table::COLUMNS;
use super::{FindingRow, ReportError};
use crate::domain::risk::{AccountRisk, ResourceType, Severity};
use rust_xlsxwriter::{ColNum, Format, RowNum, Workbook, Worksheet};
use std::io::Write;

/// The Summary sheet's columns.
pub const SUMMARY_COLUMNS: [&str; 8] = [
    "rank",
    "accountId",
    "accountName",
    "critical",
    "high",
    "medium",
    "low",
    "riskScore",
];

/// Rows a worksheet can hold below its header.
const MAX_DATA_ROWS: u64 = 1_048_575;

/// Writes the workbook to `out`: `accounts` (already ranked) on Summary, every row of `findings`
/// on Findings. Returns the findings written (all of them unless a sheet's row limit is reached,
/// which the Summary sheet then says).
pub fn write_xlsx<W: Write + Send>(
    accounts: &[AccountRisk],
    findings: impl Iterator<Item = Result<FindingRow, ReportError>>,
    out: W,
) -> Result<u64, ReportError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    workbook.add_worksheet().set_name("Summary")?;
    let sheet = workbook.add_worksheet_with_constant_memory();
    sheet.set_name("Findings")?;
    let (written, total) = write_findings(sheet, findings, &bold)?;
    let summary = workbook.worksheet_from_index(0)?;
    write_summary(summary, accounts, &bold)?;
    if total > written {
        let note = format!(
            "The Findings sheet holds the first {written} of {total} findings (the sheet's row limit); the CSV and JSON reports hold all of them."
        );
        summary.write_string(as_row(accounts.len() as u64 + 2), 0, note)?;
    }
    workbook.save_to_writer(out)?;
    Ok(written)
}

fn as_row(row: u64) -> RowNum {
    RowNum::try_from(row).unwrap_or(RowNum::MAX)
}

fn header(sheet: &mut Worksheet, columns: &[&str], bold: &Format) -> Result<(), ReportError> {
    for (col, name) in columns.iter().enumerate() {
        let col = col as ColNum;
        sheet.set_column_width(col, 16)?;
        sheet.write_string_with_format(0, col, *name, bold)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn write_summary(
    sheet: &mut Worksheet,
    accounts: &[AccountRisk],
    bold: &Format,
) -> Result<(), ReportError> {
    header(sheet, &SUMMARY_COLUMNS, bold)?;
    for (i, account) in accounts.iter().enumerate() {
        let row = as_row(i as u64 + 1);
        let c = &account.counts;
        sheet.write_number(row, 0, (i + 1) as f64)?;
        sheet.write_string(row, 1, &account.account_id)?;
        sheet.write_string(row, 2, &account.account_name)?;
        for (col, count) in [c.critical, c.high, c.medium, c.low]
            .into_iter()
            .enumerate()
        {
            sheet.write_number(row, 3 + col as ColNum, count as f64)?;
        }
        sheet.write_number(row, 7, account.risk_score as f64)?;
    }
    let last = as_row(accounts.len().max(1) as u64);
    sheet.autofilter(0, 0, last, (SUMMARY_COLUMNS.len() - 1) as ColNum)?;
    Ok(())
}

/// Writes the rows in order (constant-memory sheets only move forward); returns (written, seen).
fn write_findings(
    sheet: &mut Worksheet,
    findings: impl Iterator<Item = Result<FindingRow, ReportError>>,
    bold: &Format,
) -> Result<(u64, u64), ReportError> {
    header(sheet, &COLUMNS, bold)?;
    let (mut written, mut seen) = (0u64, 0u64);
    for finding in findings {
        let finding = finding?;
        seen += 1;
        if written == MAX_DATA_ROWS {
            continue;
        }
        written += 1;
        write_finding(sheet, as_row(written), &finding)?;
    }
    let last = as_row(written.max(1));
    sheet.autofilter(0, 0, last, (COLUMNS.len() - 1) as ColNum)?;
    Ok((written, seen))
}

fn write_finding(sheet: &mut Worksheet, row: RowNum, f: &FindingRow) -> Result<(), ReportError> {
    let resource_type = match f.resource_type {
        ResourceType::SecurityGroup => "SG",
        ResourceType::NetworkAcl => "NACL",
    };
    let severity = match f.severity {
        Severity::Critical => "CRITICAL",
        Severity::High => "HIGH",
        Severity::Medium => "MEDIUM",
        Severity::Low => "LOW",
    };
    let texts: [(ColNum, &str); 6] = [
        (0, &f.account_id),
        (1, &f.account_name),
        (2, &f.region),
        (3, resource_type),
        (4, &f.resource_id),
        (5, f.vpc_id.as_deref().unwrap_or_default()),
    ];
    for (col, text) in texts {
        sheet.write_string(row, col, text)?;
    }
    if let Some(number) = f.rule_number {
        sheet.write_number(row, 6, number as f64)?;
    }
    for (col, text) in [(7, &f.cidr), (8, &f.protocol), (9, &f.ports)] {
        sheet.write_string(row, col, text.as_str())?;
    }
    sheet.write_string(row, 10, severity)?;
    Ok(())
}
