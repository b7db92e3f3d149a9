//! CLI layer: the manifest `sg-tightener extend --yes` writes — which rules it added to which
//! group, and why the others got nothing — and `--revoke` reads to remove exactly those rules.

use crate::cli::CliError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The schema tag of an extend manifest.
pub const SCHEMA: &str = "sg-tightener.extend/v1";

/// What one `extend` did (or, without `--yes`, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtendManifest {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The region of the groups.
    pub region: String,
    /// The role assumed, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The reason, as put into every rule's description.
    pub reason: String,
    /// When it ran (RFC 3339).
    pub created_at: String,
    /// False for a dry run (no `--yes`): nothing was changed.
    pub applied: bool,
    /// One entry per group.
    pub groups: Vec<GroupEntry>,
}

/// The outcome for one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupEntry {
    /// The security group.
    pub group_id: String,
    /// `Added`, `AlreadyPresent`, `SkippedBudget`, `NotFound`, `PartialDuplicate`, `Error`
    /// (`WouldAdd` in a dry run; `Revoked` after `--revoke`).
    pub status: String,
    /// Rules added (in a dry run: that would be added), as rule strings.
    #[serde(default)]
    pub added: Vec<String>,
    /// Rules the group had.
    #[serde(default)]
    pub existing_rules: usize,
    /// Detail: the budget exceeded, the AWS error, the rules kept on revoke.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The default manifest path: `sg-tightener-extend-<UTC time>.json` in the working directory.
pub fn default_path(now: jiff::Timestamp) -> PathBuf {
    PathBuf::from(format!(
        "sg-tightener-extend-{}.json",
        now.strftime("%Y%m%dT%H%M%SZ")
    ))
}

/// Reads and checks a manifest.
pub fn read(path: &Path) -> Result<ExtendManifest, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |message: String| CliError::InvalidInput {
        path: path.to_owned(),
        message,
    };
    let manifest: ExtendManifest =
        serde_json::from_str(&text).map_err(|e| invalid(format!("not an extend manifest: {e}")))?;
    if manifest.schema != SCHEMA {
        return Err(invalid(format!(
            "schema {:?}, expected {SCHEMA:?}",
            manifest.schema
        )));
    }
    Ok(manifest)
}

/// Writes a manifest as pretty JSON.
pub fn write(path: &Path, manifest: &ExtendManifest) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(manifest).map_err(std::io::Error::other)?;
    std::fs::write(path, format!("{text}\n")).map_err(|e| {
        CliError::Failed(format!(
            "failed to write the manifest {}: {e}",
            path.display()
        ))
    })
}
