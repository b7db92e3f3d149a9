//! CRD layer: `OrgRiskScan` (short `ors`, DESIGN §6.3, sg_ou_report) — a periodic, read-only risk
//! scan of security groups and network ACLs across an organisation's accounts and regions.
//! Types only; the reconciler lives in `controller/`.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::validation;
use crate::domain::conditions::Condition;

/// Default `criticalPorts`: the domain's one list ([`crate::domain::risk::DEFAULT_CRITICAL_PORTS`]),
/// also used by the controller and `sg-tightener classify`.
pub use crate::domain::risk::DEFAULT_CRITICAL_PORTS;

/// Scan accounts for permissive security-group and NACL rules and rank them by risk.
// Every `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "sgtightener.io",
    version = "v1alpha1",
    kind = "OrgRiskScan",
    plural = "orgriskscans",
    shortname = "ors",
    category = "sg-tightener",
    namespaced,
    status = "OrgRiskScanStatus",
    derive = "PartialEq",
    doc = "Scans the security groups and network ACLs of an AWS Organizations unit (or a list of accounts) in the given regions, classifies permissive rules by severity and ranks accounts by risk. Read-only in AWS.",
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Lifecycle phase"
    ),
    printcolumn(
        name = "Critical",
        type_ = "integer",
        json_path = ".status.lastScan.findings.critical",
        description = "CRITICAL findings in the last scan"
    ),
    printcolumn(
        name = "High",
        type_ = "integer",
        json_path = ".status.lastScan.findings.high",
        description = "HIGH findings in the last scan"
    ),
    printcolumn(
        name = "Accounts",
        type_ = "integer",
        json_path = ".status.lastScan.accounts",
        description = "Accounts scanned"
    ),
    printcolumn(
        name = "Compliant",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Compliant\")].status",
        description = "True when the last scan found no CRITICAL rule"
    ),
    printcolumn(
        name = "Last Scan",
        type_ = "date",
        json_path = ".status.lastScan.finishedAt",
        description = "When the last scan finished"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        priority = 1,
        description = "Ready condition"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.organization) != (has(self.accounts) && size(self.accounts) > 0)")
    .message("exactly one of organization, accounts must be set"))]
pub struct OrgRiskScanSpec {
    /// Scan every account under an Organizations root or OU (exclusive with `accounts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationTarget>,
    /// Scan these twelve-digit account ids (exclusive with `organization`, up to 1000).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "validation::account_ids")]
    pub accounts: Vec<String>,
    /// Regions to scan in every account (1–40), e.g. `[af-south-1, eu-west-1]`.
    #[schemars(schema_with = "validation::regions")]
    pub regions: Vec<String>,
    /// Role assumed in each account; empty uses the configuration's `orgScan.defaultRoleName`.
    /// A read-only audit role is recommended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "validation::role_name")]
    pub role_name: Option<String>,
    /// STS external id for the assume-role call, when the role's trust policy requires one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "validation::external_id")]
    pub external_id: Option<String>,
    /// Private-range rules with a prefix shorter than this count as LOW (1–32, default 24).
    #[serde(default = "default_prefix_threshold")]
    #[schemars(range(min = 1, max = 32))]
    pub prefix_threshold: u8,
    /// Ports that make a world-open rule CRITICAL (up to 100); a list here replaces the default.
    /// Default: 20, 21, 22, 23, 25, 110, 135, 139, 143, 445, 1433, 1521, 2375, 2376, 2379, 3306,
    /// 3389, 5432, 5900, 5984, 6379, 9200, 9300, 11211, 27017.
    #[serde(default = "default_critical_ports")]
    #[schemars(length(max = 100))]
    pub critical_ports: Vec<u16>,
    /// Account × region pairs scanned at once, over the whole scan (1–64, default 16): at most this
    /// many AWS calls of the scan are in flight.
    #[serde(default = "default_max_concurrency")]
    #[schemars(range(min = 1, max = 64))]
    pub max_concurrency: u32,
    /// Time between scans, such as `24h` (default; at least `1m`). A spec change, or a new value of
    /// the annotation `sgtightener.io/rescan`, starts a scan at once.
    #[serde(default = "default_interval")]
    #[schemars(schema_with = "validation::duration")]
    pub interval: String,
    /// Where the full report goes.
    #[serde(default)]
    pub output: ScanOutput,
}

/// An Organizations root or organizational unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationTarget {
    /// `r-xxxx` for the root or `ou-xxxx-xxxxxxxx` for an OU; every account below it is scanned.
    #[schemars(schema_with = "validation::parent_id")]
    pub parent_id: String,
}

/// Report destinations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanOutput {
    /// Write the JSON report into the ConfigMap `ors-<name>` in the scan's namespace (default
    /// `true`). When the findings do not fit in one ConfigMap it holds the summary and says so.
    #[serde(default = "default_true")]
    pub config_map: bool,
    /// Also upload the report to S3, with the controller's own credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<ReportS3>,
}

impl Default for ScanOutput {
    fn default() -> Self {
        Self {
            config_map: true,
            s3: None,
        }
    }
}

/// An S3 location for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportS3 {
    /// Bucket to upload to.
    #[schemars(schema_with = "validation::bucket")]
    pub bucket: String,
    /// Key prefix for the report objects: `<prefix><namespace>/<name>/<finishedAt>.<format>`.
    #[serde(default)]
    #[schemars(length(max = 900))]
    pub prefix: String,
    /// The bucket's region; default the first of `spec.regions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "validation::region")]
    pub region: Option<String>,
    /// Report formats: `json` (default), `csv`, `xlsx` (a Summary sheet of accounts ranked by risk
    /// and a Findings sheet, one row per finding).
    #[serde(default = "default_formats")]
    #[schemars(length(min = 1, max = 3))]
    pub formats: Vec<ReportFormat>,
}

/// A report format: `json`, `csv` or `xlsx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Json,
    Csv,
    Xlsx,
}

fn default_prefix_threshold() -> u8 {
    24
}
fn default_critical_ports() -> Vec<u16> {
    DEFAULT_CRITICAL_PORTS.to_vec()
}
fn default_max_concurrency() -> u32 {
    16
}
fn default_interval() -> String {
    "24h".into()
}
fn default_true() -> bool {
    true
}
fn default_formats() -> Vec<ReportFormat> {
    vec![ReportFormat::Json]
}

/// Where a scan is: `Pending` (first scan not started), `Scanning`, `Complete` (every account and
/// region scanned), `Partial` (some failed; see `failures`), `Failed` (nothing could be scanned).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ScanPhase {
    #[default]
    Pending,
    Scanning,
    Complete,
    Partial,
    Failed,
}

/// Observed state of an organisation scan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgRiskScanStatus {
    /// The `.metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Lifecycle phase.
    #[serde(default)]
    pub phase: ScanPhase,
    /// `Ready`, `Complete` (every account and region scanned), `Compliant` (no CRITICAL finding).
    #[serde(default)]
    #[schemars(schema_with = "validation::conditions")]
    pub conditions: Vec<Condition>,
    /// Totals of the last finished scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scan: Option<ScanSummary>,
    /// When the next scan starts (RFC 3339): `interval` after the last scan, sooner after a
    /// failed attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_scan_at: Option<String>,
    /// Hash of the spec and the `sgtightener.io/rescan` annotation of the last scan attempt:
    /// when the current one differs, a scan starts at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs_hash: Option<String>,
    /// The 20 accounts with the highest risk score.
    #[serde(default)]
    pub top_accounts: Vec<AccountRisk>,
    /// Accounts or regions that could not be scanned (the rest of the scan still counts).
    #[serde(default)]
    pub failures: Vec<ScanFailure>,
    /// Where the full report is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportLocation>,
}

/// Totals of one scan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanSummary {
    /// When the scan started (RFC 3339).
    pub started_at: String,
    /// When the scan finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Accounts scanned (entered with the role; an account that could not be entered is in
    /// `failures` instead).
    pub accounts: u32,
    /// Regions scanned per account.
    pub regions: u32,
    /// Findings per severity.
    pub findings: SeverityCounts,
    /// Account × region pairs that could not be scanned (an account that could not be entered
    /// counts once per region).
    #[serde(default)]
    pub failed_pairs: u32,
}

/// Findings per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SeverityCounts {
    /// World-open rules on a critical port.
    pub critical: u32,
    /// Other world-open rules; private `/0–/16` security-group rules.
    pub high: u32,
    /// Private `/17–/20` security-group rules; world-open or private `/0–/16` NACL entries.
    pub medium: u32,
    /// Private rules shorter than `prefixThreshold`.
    pub low: u32,
}

/// One account's findings and risk score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountRisk {
    /// Twelve-digit account id.
    pub account_id: String,
    /// Account name from Organizations, when known.
    #[serde(default)]
    pub account_name: String,
    /// CRITICAL findings.
    pub critical: u32,
    /// HIGH findings.
    pub high: u32,
    /// MEDIUM findings.
    pub medium: u32,
    /// LOW findings.
    pub low: u32,
    /// `critical·10⁶ + high·10⁴ + medium·10² + low`.
    pub risk_score: u64,
}

/// An account or region that could not be scanned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanFailure {
    /// Twelve-digit account id.
    pub account_id: String,
    /// Region, empty when the whole account failed (e.g. the role could not be assumed).
    #[serde(default)]
    pub region: String,
    /// What went wrong.
    pub reason: String,
}

/// Where the full report was written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportLocation {
    /// ConfigMap (same namespace) holding the JSON report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<String>,
    /// `s3://bucket/key` of the uploaded report (the first format; the others share the key
    /// with their own extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_uri: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::risk::default_critical_ports_text;
    use kube::CustomResourceExt;

    #[test]
    fn the_crd_documents_and_defaults_to_the_one_critical_port_list() {
        let crd = serde_json::to_value(OrgRiskScan::crd()).unwrap();
        let field = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
            ["properties"]["criticalPorts"];
        let description = field["description"].as_str().unwrap().replace('\n', " ");
        assert!(
            description.contains(&default_critical_ports_text()),
            "{description}"
        );
        let default: Vec<u16> = serde_json::from_value(field["default"].clone()).unwrap();
        assert_eq!(default, DEFAULT_CRITICAL_PORTS);
    }
}
