//! Domain layer (pure): tightening plan (DESIGN §6.1) with its canonical hash; compaction plan (§6.4).
//!
//! [`model`] holds the plan's shape — the same shape as `status.plan` of the CRDs and the JSON that
//! `sg-tightener plan` prints.

pub mod model;

pub use model::*;
