//! Domain layer (pure): metav1-style conditions and their merge rules (transition-time semantics).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A `metav1.Condition`: the same JSON shape, so status readers (kstatus, Flux, Argo CD) understand it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, CamelCase (`Ready`, `Planned`, …). Unique within a list.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// CamelCase reason for the last transition.
    pub reason: String,
    /// Human-readable detail.
    #[serde(default)]
    pub message: String,
    /// The `.metadata.generation` the condition was set from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When `status` last changed (RFC 3339). Unchanged when only reason or message change.
    pub last_transition_time: String,
}
