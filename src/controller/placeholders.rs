//! Controller layer: the kinds whose reconcilers have not landed yet. Each reports
//! `Ready=Unknown, reason=NotImplemented` with its `observedGeneration` and touches nothing in
//! AWS. A kind's own reconciler replaces its impl here (and moves into its own module).

use super::status::not_implemented;
use super::{Context, Error, Reconciler};
use crate::crd::SecurityGroupCompaction;
use kube::runtime::controller::Action;
use std::sync::Arc;

impl Reconciler for SecurityGroupCompaction {
    async fn reconcile(self: Arc<Self>, ctx: Arc<Context>) -> Result<Action, Error> {
        not_implemented(self, ctx).await
    }
}
