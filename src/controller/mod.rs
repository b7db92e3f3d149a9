//! Controller layer: one reconciler per kind — observe (I/O) → decide (domain) → act (I/O) →
//! report (status, events, metrics) — and the runtime that runs them (`sg-tightener run`).
//!
//! To add a kind: implement [`Reconciler`] for its CRD type and add one line to [`controllers`].

pub mod access;
pub mod breakglass;
pub mod change;
pub mod claims;
pub mod compaction;
pub mod context;
pub mod error;
mod labels;
pub mod leader;
pub mod orgscan;
pub mod report;
mod run;
pub mod runner;
pub mod scope;
pub mod status;
pub mod target;
pub mod tightening;

pub use context::{Backoff, Context, Events, MANAGER};
pub use error::{Error, Retry};
pub use run::{run, stopped, RunError};
pub use runner::{controller, Reconciler, Registered};

use crate::crd::{
    BreakGlassExtension, OrgRiskScan, SecurityGroupCompaction, SecurityGroupTightening,
};
use std::sync::Arc;
use tokio::sync::watch;

/// Every controller the operator runs, each stopping gracefully once `stop` turns true.
pub fn controllers(ctx: Arc<Context>, stop: watch::Receiver<bool>) -> Vec<Registered> {
    let stopping = || stopped(stop.clone());
    vec![
        controller::<SecurityGroupTightening>(ctx.clone(), stopping()),
        controller::<BreakGlassExtension>(ctx.clone(), stopping()),
        controller::<OrgRiskScan>(ctx.clone(), stopping()),
        controller::<SecurityGroupCompaction>(ctx, stopping()),
    ]
}

#[cfg(test)]
mod tests;
