//! Report layer: risk findings as files — one flat row per finding ([`FindingRow`]), written as
//! CSV (the `csv` crate), XLSX (`rust_xlsxwriter`: a Summary sheet ranked by risk and a Findings
//! sheet) and streamed JSON. Depends on the domain's risk types only; it writes to the writers
//! and temp files it is handed or creates, never to Kubernetes or AWS. Used by the OrgRiskScan
//! controller and by `sg-tightener classify --format`.

pub mod spool;
pub mod stream;
pub mod table;
pub mod workbook;

pub use spool::{Spool, SpooledFindings};
pub use stream::Streamed;
pub use table::{read_rows, CsvSink, COLUMNS};
pub use workbook::write_xlsx;

use crate::domain::risk::{Finding, ResourceType, Severity};
use serde::{Deserialize, Serialize};

/// The schema tag of the JSON report.
pub const REPORT_SCHEMA: &str = "sg-tightener.report/v1";

/// One finding with the account and region it was found in: a CSV row, an XLSX row, a JSON
/// array element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingRow {
    /// Twelve-digit account id (empty when unknown, e.g. offline NACL input).
    pub account_id: String,
    /// The account's name from Organizations, when known.
    pub account_name: String,
    /// The region (empty offline).
    pub region: String,
    /// `SG` or `NACL`.
    pub resource_type: ResourceType,
    /// `sg-…` or `acl-…`.
    pub resource_id: String,
    /// The VPC, when known.
    pub vpc_id: Option<String>,
    /// The NACL rule number (NACL findings only).
    pub rule_number: Option<i32>,
    /// The source CIDR as AWS reports it.
    pub cidr: String,
    /// `tcp`, `udp`, `icmp`, `all` or an IANA number.
    pub protocol: String,
    /// `all`, `443` or `8000-8100`.
    pub ports: String,
    /// `CRITICAL`, `HIGH`, `MEDIUM` or `LOW`.
    pub severity: Severity,
}

impl FindingRow {
    /// `finding`, found in `account_id` / `region`.
    pub fn new(account_id: &str, account_name: &str, region: &str, finding: Finding) -> Self {
        FindingRow {
            account_id: account_id.to_owned(),
            account_name: account_name.to_owned(),
            region: region.to_owned(),
            resource_type: finding.resource_type,
            resource_id: finding.resource_id,
            vpc_id: finding.vpc_id,
            rule_number: finding.rule_number,
            cidr: finding.cidr,
            protocol: finding.protocol,
            ports: finding.ports,
            severity: finding.severity,
        }
    }
}

/// A report could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or writer failed.
    #[error("failed to write the report: {0}")]
    Io(#[from] std::io::Error),
    /// A CSV row could not be written or read.
    #[error("failed to write the CSV report: {0}")]
    Csv(#[from] csv::Error),
    /// The workbook could not be built.
    #[error("failed to write the XLSX report: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// The JSON report could not be written.
    #[error("failed to write the JSON report: {0}")]
    Json(#[from] serde_json::Error),
}

#[cfg(test)]
pub(crate) mod tests;
