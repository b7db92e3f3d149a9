//! AWS layer: an in-memory estate — security groups and network ACLs per account and region —
//! behind [`Inventory`], for org-scan reconciler tests. Accounts whose role cannot be assumed and
//! regions that fail are injected; calls and the most describes in flight at once are recorded.

use super::inventory::Inventory;
use crate::aws::sts::CallerIdentity;
use crate::aws::{AwsError, Failure};
use crate::domain::snapshot::{NetworkAcl, SecurityGroup};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

type Pair = (String, String);

#[derive(Debug, Default)]
struct Estate {
    regions: BTreeMap<Pair, (Vec<SecurityGroup>, Vec<NetworkAcl>)>,
    denied: BTreeSet<String>,
    faults: BTreeMap<Pair, AwsError>,
    calls: Vec<(String, String, &'static str)>,
    in_flight: usize,
    max_in_flight: usize,
}

/// Accounts × regions in memory. Share it behind an `Arc`.
#[derive(Debug, Default)]
pub struct FakeEstate {
    state: Mutex<Estate>,
}

impl FakeEstate {
    fn lock(&self) -> std::sync::MutexGuard<'_, Estate> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts groups and ACLs into `account` / `region` (an account × region without any is empty).
    pub fn put(
        &self,
        account: &str,
        region: &str,
        groups: Vec<SecurityGroup>,
        acls: Vec<NetworkAcl>,
    ) {
        let key = (account.to_owned(), region.to_owned());
        self.lock().regions.insert(key, (groups, acls));
    }

    /// The role in `account` cannot be assumed.
    pub fn deny(&self, account: &str) {
        self.lock().denied.insert(account.to_owned());
    }

    /// Every describe in `account` / `region` fails with `error`.
    pub fn fail(&self, account: &str, region: &str, error: AwsError) {
        let key = (account.to_owned(), region.to_owned());
        self.lock().faults.insert(key, error);
    }

    /// Calls received: `(account, region, operation)`.
    pub fn calls(&self) -> Vec<(String, String, &'static str)> {
        self.lock().calls.clone()
    }

    /// The most describes that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.lock().max_in_flight
    }

    /// The inventory of `account` in `region`.
    pub fn inventory(self: &Arc<Self>, account: &str, region: &str) -> FakeInventory {
        FakeInventory {
            estate: self.clone(),
            account: account.to_owned(),
            region: region.to_owned(),
        }
    }

    fn enter(&self, account: &str, region: &str, op: &'static str) -> Result<(), AwsError> {
        let mut state = self.lock();
        state
            .calls
            .push((account.to_owned(), region.to_owned(), op));
        if state.denied.contains(account) {
            return Err(AwsError::AccessDenied(Failure::new(
                format!("{op} (obtaining credentials)"),
                "AccessDenied",
                &format!("not authorized to assume a role in {account}"),
            )));
        }
        if let Some(error) = state.faults.get(&(account.to_owned(), region.to_owned())) {
            return Err(error.clone());
        }
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        Ok(())
    }

    fn leave(&self) {
        self.lock().in_flight -= 1;
    }

    fn contents(&self, account: &str, region: &str) -> (Vec<SecurityGroup>, Vec<NetworkAcl>) {
        let key = (account.to_owned(), region.to_owned());
        self.lock().regions.get(&key).cloned().unwrap_or_default()
    }
}

/// One account × region of a [`FakeEstate`].
#[derive(Debug, Clone)]
pub struct FakeInventory {
    estate: Arc<FakeEstate>,
    account: String,
    region: String,
}

impl FakeInventory {
    async fn describe<T>(
        &self,
        op: &'static str,
        pick: impl FnOnce((Vec<SecurityGroup>, Vec<NetworkAcl>)) -> T,
    ) -> Result<T, AwsError> {
        self.estate.enter(&self.account, &self.region, op)?;
        // Give the other scans a chance to run, so the concurrency bound is observable.
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        let found = pick(self.estate.contents(&self.account, &self.region));
        self.estate.leave();
        Ok(found)
    }
}

#[async_trait::async_trait]
impl Inventory for FakeInventory {
    async fn caller(&self) -> Result<CallerIdentity, AwsError> {
        self.describe("GetCallerIdentity", |_| ()).await?;
        Ok(CallerIdentity {
            account: self.account.clone(),
            arn: format!(
                "arn:aws:sts::{}:assumed-role/OrganizationAccountAccessRole/scan",
                self.account
            ),
            partition: "aws".into(),
        })
    }

    async fn security_groups(&self) -> Result<Vec<SecurityGroup>, AwsError> {
        self.describe("DescribeSecurityGroups", |(g, _)| g).await
    }

    async fn network_acls(&self) -> Result<Vec<NetworkAcl>, AwsError> {
        self.describe("DescribeNetworkAcls", |(_, a)| a).await
    }
}
