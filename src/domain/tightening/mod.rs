//! Domain layer (pure): the SecurityGroupTightening lifecycle (DESIGN §6.1) — [`decide`] picks the
//! one next step from plain facts, [`manifest`] is the write-ahead record of an apply and the
//! exact-revert arithmetic, [`guard`] re-checks a recorded intent before AWS is touched,
//! [`history`] reconciles `status.applied` with the manifests and picks the ones to keep,
//! [`diagnose`] finds rejected traffic no current rule covers. The lifecycle, the manifest and
//! the history are the change engine's for every kind; [`compact_guard`] is the compaction's
//! guard beside the tightening's. [`readmit`] re-plans after an apply from the rules before it.

pub mod compact_guard;
pub mod decide;
pub mod diagnose;
pub mod guard;
pub mod history;
pub mod manifest;
pub mod readmit;

pub use decide::{decide, AppliedFacts, Facts, PlanFacts, PlanReason, Refusal, Step};
pub use diagnose::{rejected_sources, Rejected};
pub use manifest::{GroupManifest, Manifest, MANIFEST_SCHEMA};

#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod manifest_tests;
#[cfg(test)]
mod readmit_tests;
