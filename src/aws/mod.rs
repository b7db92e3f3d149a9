//! AWS layer: ports (traits speaking domain types), their adapters on `aws-sdk-*`, the client
//! factory, and error classification. Nothing outside this module names an SDK type; the
//! reconcilers see [`AwsError`], [`SecurityGroups`], [`Identity`] and [`AwsPorts`] only.
//!
//! Depends on the domain's snapshot types and the config's AWS settings; never on kube.

pub mod clients;
pub mod ec2;
pub mod error;
pub mod fake;
pub mod flowlogs;
pub mod observe;
pub mod operations;
pub mod organizations;
pub mod reports;
pub mod sts;

pub use clients::{AwsPorts, ClientFactory, Target};
pub use ec2::inventory::Inventory;
pub use ec2::{AuthoriseOutcome, GroupSelector, Network, RevokeOutcome, SecurityGroups};
pub use error::{AwsError, Failure};
pub use flowlogs::{EvidenceRequest, EvidenceSource, FlowLogs};
pub use observe::{Attempt, CallObserver};
pub use organizations::{OrgAccount, Organization};
pub use reports::ReportStore;
pub use sts::{CallerIdentity, Identity};
