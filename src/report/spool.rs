//! Report layer: the findings of a scan spooled to a temp file as CSV while the scan runs, so
//! memory holds counts, not findings; the CSV, JSON and XLSX reports are then streamed from it.

use super::table::{read_rows, CsvSink};
use super::{FindingRow, ReportError};
use std::fs::File;
use std::io::{BufReader, BufWriter, Seek};
use std::path::Path;
use tempfile::NamedTempFile;

/// An open spool: findings are appended as they arrive.
pub struct Spool {
    sink: CsvSink<BufWriter<File>>,
    file: NamedTempFile,
}

impl Spool {
    /// A new spool in the system's temp directory (`TMPDIR`).
    pub fn new() -> Result<Self, ReportError> {
        let file = NamedTempFile::with_prefix("sg-tightener-findings-")?;
        let sink = CsvSink::new(BufWriter::new(file.reopen()?))?;
        Ok(Spool { sink, file })
    }

    /// Appends one finding.
    pub fn push(&mut self, row: &FindingRow) -> Result<(), ReportError> {
        self.sink.write(row)
    }

    /// Findings spooled so far.
    pub fn rows(&self) -> u64 {
        self.sink.rows()
    }

    /// Flushes; the findings can then be read back any number of times.
    pub fn finish(self) -> Result<SpooledFindings, ReportError> {
        let rows = self.sink.rows();
        let mut writer = self.sink.finish()?;
        std::io::Write::flush(&mut writer)?;
        let bytes = writer
            .into_inner()
            .map_err(|e| e.into_error())?
            .stream_position()?;
        Ok(SpooledFindings {
            file: self.file,
            rows,
            bytes,
        })
    }
}

/// A finished spool: a CSV file of every finding (removed when dropped).
pub struct SpooledFindings {
    file: NamedTempFile,
    /// Findings in it.
    pub rows: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

impl SpooledFindings {
    /// The CSV file (it is itself the CSV report).
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The findings, read back one at a time.
    pub fn read(
        &self,
    ) -> Result<impl Iterator<Item = Result<FindingRow, ReportError>>, ReportError> {
        Ok(read_rows(BufReader::new(self.file.reopen()?)))
    }
}
