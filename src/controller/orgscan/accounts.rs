//! Controller layer: which accounts a scan covers — the ACTIVE accounts under the Organizations
//! parent, or the listed ones — minus those the tenancy rules do not allow for the scan's
//! namespace (each a failure entry, never silently skipped), and the partition of the role ARNs
//! from the controller's own ARN.

use crate::aws::{AwsPorts, OrgAccount, Target};
use crate::config::ControllerConfig;
use crate::controller::Error;
use crate::crd::orgscan::ScanFailure;
use crate::crd::OrgRiskScan;
use kube::ResourceExt;

/// The accounts to scan.
#[derive(Debug)]
pub struct Resolved {
    /// Allowed accounts, sorted by id.
    pub accounts: Vec<OrgAccount>,
    /// Accounts the tenancy rules refuse for this namespace.
    pub forbidden: Vec<ScanFailure>,
    /// `aws`, `aws-cn` or `aws-us-gov`, from the controller's ARN.
    pub partition: String,
}

/// Resolves the accounts. With an explicit list where no account is allowed, nothing is called
/// in AWS (`Forbidden`).
pub async fn resolve(
    object: &OrgRiskScan,
    config: &ControllerConfig,
    aws: &dyn AwsPorts,
) -> Result<Resolved, Error> {
    let namespace = object.namespace().unwrap_or_default();
    let spec = &object.spec;
    let mut refusals = spec
        .accounts
        .iter()
        .filter_map(|a| config.authorise(&namespace, a).err());
    if let Some(first) = refusals.next() {
        if refusals.count() + 1 == spec.accounts.len() {
            return Err(first.into());
        }
    }
    let home = Target::region(spec.regions[0].clone());
    let partition = aws.identity(&home).await.caller_identity().await?.partition;
    let listed = match &spec.organization {
        Some(org) => {
            let organization = aws.organization(&home).await;
            organization.active_accounts_under(&org.parent_id).await?
        }
        None => spec
            .accounts
            .iter()
            .map(|id| OrgAccount {
                id: id.clone(),
                name: String::new(),
            })
            .collect(),
    };
    let (accounts, refused): (Vec<_>, Vec<_>) = listed
        .into_iter()
        .partition(|a| config.authorise(&namespace, &a.id).is_ok());
    let forbidden = refused
        .into_iter()
        .filter_map(|a| config.authorise(&namespace, &a.id).err())
        .map(|refusal| ScanFailure {
            account_id: refusal.account.clone(),
            region: String::new(),
            reason: format!("Forbidden: {refusal}; not scanned"),
        })
        .collect();
    Ok(Resolved {
        accounts,
        forbidden,
        partition,
    })
}
