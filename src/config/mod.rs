//! Config layer (pure): the controller configuration of DESIGN §7 — its types, defaults and
//! validation. Only [`load`] touches the file system; everything else is plain data in and out.
//!
//! Every section may be omitted and takes its defaults; unknown keys are refused so a typo does
//! not silently fall back to a default.

mod duration;
mod tenancy;
mod validate;

pub use duration::{DurationError, GoDuration};
pub use tenancy::{Forbidden, RoleArnTemplate, TenancyRule};

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The whole controller configuration (`config/controller.yaml`, `--config`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ControllerConfig {
    /// How the AWS SDK is configured.
    pub aws: AwsSettings,
    /// Which namespaces may act on which accounts, first matching rule wins. An empty list allows
    /// nothing; an absent section allows every namespace on every account with no role.
    pub tenancy: Vec<TenancyRule>,
    /// Limits on BreakGlassExtension.
    pub break_glass: BreakGlassSettings,
    /// Defaults for OrgRiskScan.
    pub org_scan: OrgScanSettings,
    /// How the controllers reconcile.
    pub reconcile: ReconcileSettings,
    /// Whether only one replica acts at a time.
    pub leader_election: LeaderElectionSettings,
    /// The namespaces whose resources this operator watches; empty = every namespace. The Helm
    /// chart then grants access through Roles in these namespaces only.
    pub watch_namespaces: Vec<String>,
    /// Where `/healthz`, `/readyz` and `/metrics` are served (beyond DESIGN §7).
    pub http: HttpSettings,
    /// How many write-ahead manifests are kept per resource.
    pub manifests: ManifestSettings,
    /// How flow-log evidence is shared between resources.
    pub evidence: EvidenceSettings,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            aws: AwsSettings::default(),
            tenancy: vec![TenancyRule::allow_all()],
            break_glass: BreakGlassSettings::default(),
            org_scan: OrgScanSettings::default(),
            reconcile: ReconcileSettings::default(),
            leader_election: LeaderElectionSettings::default(),
            watch_namespaces: Vec::new(),
            http: HttpSettings::default(),
            manifests: ManifestSettings::default(),
            evidence: EvidenceSettings::default(),
        }
    }
}

/// `aws:` — SDK settings shared by every client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AwsSettings {
    /// Points every SDK client at this endpoint (an emulator such as moto); empty = real AWS.
    pub endpoint_url: String,
    /// Attempts per AWS call, the first included (standard retry mode with backoff).
    pub max_attempts: u32,
}

impl Default for AwsSettings {
    fn default() -> Self {
        AwsSettings {
            endpoint_url: String::new(),
            max_attempts: 10,
        }
    }
}

impl AwsSettings {
    /// The endpoint override, if one is set.
    pub fn endpoint(&self) -> Option<&str> {
        Some(self.endpoint_url.as_str()).filter(|url| !url.is_empty())
    }
}

/// `breakGlass:` — what an incident extension may open and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct BreakGlassSettings {
    /// The shortest prefix length a break-glass CIDR may have (16 refuses a `/15`).
    pub broadest_prefix: u8,
    /// Whether `includePublic: true` is honoured at all.
    pub allow_public: bool,
    /// `expiresAfter` when the resource does not set one.
    pub default_expires_after: GoDuration,
    /// The longest `expiresAfter` accepted.
    pub max_expires_after: GoDuration,
    /// Where AWS's `ip-ranges.json` comes from, for `summariseAwsServices`.
    pub aws_ip_ranges: IpRangesSource,
}

impl Default for BreakGlassSettings {
    fn default() -> Self {
        BreakGlassSettings {
            broadest_prefix: 16,
            allow_public: false,
            default_expires_after: GoDuration::hours(72),
            max_expires_after: GoDuration::hours(720),
            aws_ip_ranges: IpRangesSource::default(),
        }
    }
}

/// `breakGlass.awsIpRanges:` — the `ip-ranges.json` document that maps public sources to AWS
/// service prefixes. At most one of the two; with neither, public sources are not summarised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct IpRangesSource {
    /// `namespace/name` of a ConfigMap holding the document under the key `ip-ranges.json`.
    pub config_map: String,
    /// An `http://` or `https://` URL serving the document, e.g.
    /// `https://ip-ranges.amazonaws.com/ip-ranges.json`.
    pub url: String,
}

/// `orgScan:` — defaults for OrgRiskScan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct OrgScanSettings {
    /// The role assumed in each member account when the resource names none.
    pub default_role_name: String,
}

impl Default for OrgScanSettings {
    fn default() -> Self {
        OrgScanSettings {
            default_role_name: "OrganizationAccountAccessRole".to_owned(),
        }
    }
}

/// `reconcile:` — controller runtime settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ReconcileSettings {
    /// Reconciles running at once per kind.
    pub concurrency: u16,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        ReconcileSettings { concurrency: 4 }
    }
}

/// `leaderElection:` — a `coordination.k8s.io/v1` Lease held by the acting replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LeaderElectionSettings {
    /// Whether to wait for the Lease before reconciling.
    pub enabled: bool,
    /// The Lease's name.
    pub lease_name: String,
    /// The Lease's namespace; empty = `POD_NAMESPACE`, else the client's default namespace.
    pub namespace: String,
    /// How long a Lease stays valid without renewal; it is renewed every third of this.
    pub lease_duration: GoDuration,
}

impl Default for LeaderElectionSettings {
    fn default() -> Self {
        LeaderElectionSettings {
            enabled: true,
            lease_name: "sg-tightener".to_owned(),
            namespace: String::new(),
            lease_duration: GoDuration::seconds(15),
        }
    }
}

/// `http:` — the health and metrics server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct HttpSettings {
    /// `host:port` to listen on.
    pub address: String,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            address: "0.0.0.0:8080".to_owned(),
        }
    }
}

/// `manifests:` — the write-ahead manifest ConfigMaps (DESIGN I8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ManifestSettings {
    /// Manifests kept per resource, newest first (1–1000); older ones are deleted after each new
    /// apply. The manifest `status.applied` names is never deleted.
    pub keep: u32,
}

impl Default for ManifestSettings {
    fn default() -> Self {
        ManifestSettings { keep: 10 }
    }
}

/// `evidence:` — the shared evidence store: flow-log objects are read once for every resource
/// that reads the same source with the same role, and kept parsed per UTC day in memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EvidenceSettings {
    /// Memory for parsed flow-log days and assembled evidence, in MiB (1–65536); beyond it the
    /// least recently used days are dropped (and read again when next needed).
    #[serde(rename = "memoryMiB")]
    pub memory_mib: u32,
}

impl Default for EvidenceSettings {
    fn default() -> Self {
        EvidenceSettings { memory_mib: 32 }
    }
}

impl EvidenceSettings {
    /// The memory budget in bytes.
    pub fn memory_bytes(&self) -> usize {
        (self.memory_mib as usize) << 20
    }
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read controller config {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML for this schema.
    #[error("failed to parse controller config {}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_yaml::Error,
    },
    /// A field holds a value the controller cannot use.
    #[error("failed to validate controller config: {field} = {value}: {problem}")]
    Invalid {
        /// The field's path, e.g. `tenancy[1].accounts[0]`.
        field: String,
        /// The offending value as written (debug-quoted for strings).
        value: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl ControllerConfig {
    /// Parses and validates YAML text. `origin` names the source in error messages.
    pub fn from_yaml(text: &str, origin: &Path) -> Result<Self, ConfigError> {
        // An empty document means "all defaults".
        let config: ControllerConfig = if text.trim().is_empty() {
            ControllerConfig::default()
        } else {
            serde_yaml::from_str(text).map_err(|source| ConfigError::Parse {
                path: origin.to_owned(),
                source,
            })?
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks every field; the first problem found is returned, naming the field and its value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate::config(self)
    }
}

/// Reads, parses and validates the configuration; `None` gives the defaults.
pub fn load(path: Option<&Path>) -> Result<ControllerConfig, ConfigError> {
    let Some(path) = path else {
        return Ok(ControllerConfig::default());
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    ControllerConfig::from_yaml(&text, path)
}

#[cfg(test)]
mod tests;
