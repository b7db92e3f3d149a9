//! Domain layer (pure): tightening plan (DESIGN §6.1) with its canonical hash; compaction plan (§6.4).
//!
//! [`model`] holds the plan's shape — the same shape as `status.plan` of the CRDs and the JSON that
//! `sg-tightener plan` prints. [`tighten::build_plan`] and [`compact::build_compact_plan`] build
//! plans; [`hash`] hashes them (and anything else) canonically.

pub mod compact;
mod group;
pub mod hash;
pub mod model;
pub mod options;
pub mod ports;
pub mod tighten;

pub use compact::{build_compact_plan, CompactOptions};
pub use hash::{canonical_json, hash_canonical, plan_hash, snapshot_hash};
pub use model::*;
pub use options::{IacTag, NoEvidence, PlanOptions, DEFAULT_MAX_RULES, DEFAULT_TOLERANCE};
pub use tighten::{build_plan, Evidence, PlanError, Tightening};

#[cfg(test)]
mod compact_tests;
#[cfg(test)]
mod tests;
