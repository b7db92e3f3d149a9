//! Report layer: findings as CSV (RFC 4180, the `csv` crate) — a header row, then one row per
//! finding — and the same rows read back (the spool the other formats stream from).

use super::{FindingRow, ReportError};
use std::io::{Read, Write};

/// The header row, in [`FindingRow`]'s field order.
pub const COLUMNS: [&str; 11] = [
    "accountId",
    "accountName",
    "region",
    "resourceType",
    "resourceId",
    "vpcId",
    "ruleNumber",
    "cidr",
    "protocol",
    "ports",
    "severity",
];

/// Writes findings as CSV; the header is written at once, so an empty report is still a table.
pub struct CsvSink<W: Write> {
    writer: csv::Writer<W>,
    rows: u64,
}

impl<W: Write> CsvSink<W> {
    /// Starts a CSV document on `out`.
    pub fn new(out: W) -> Result<Self, ReportError> {
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(out);
        writer.write_record(COLUMNS)?;
        Ok(CsvSink { writer, rows: 0 })
    }

    /// Appends one finding.
    pub fn write(&mut self, row: &FindingRow) -> Result<(), ReportError> {
        self.writer.serialize(row)?;
        self.rows += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and returns the writer.
    pub fn finish(self) -> Result<W, ReportError> {
        self.writer
            .into_inner()
            .map_err(|e| ReportError::Io(std::io::Error::other(e.to_string())))
    }
}

/// The findings of a CSV document written by [`CsvSink`], one at a time.
pub fn read_rows<R: Read>(input: R) -> impl Iterator<Item = Result<FindingRow, ReportError>> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(input)
        .into_deserialize::<FindingRow>()
        .map(|row| row.map_err(ReportError::from))
}
