//! AWS layer: [`AwsPorts`] backed by in-memory fakes, for reconciler tests. Records which
//! targets (region, role) were asked for, so tests can check the role a resource resolved to.

use super::clients::{AwsPorts, Target};
use super::ec2::fake::FakeSecurityGroups;
use super::ec2::inventory::Inventory;
use super::ec2::inventory_fake::FakeEstate;
use super::ec2::network::Network;
use super::ec2::network_fake::FakeNetwork;
use super::ec2::SecurityGroups;
use super::flowlogs::fake::FakeFlowLogs;
use super::flowlogs::FlowLogs;
use super::organizations::{FakeOrganization, Organization};
use super::reports::{FakeReportStore, ReportStore};
use super::sts::{CallerIdentity, Identity};
use super::AwsError;
use std::sync::{Arc, Mutex};

/// Fake ports: one fake EC2 shared by every target, and a fixed identity.
#[derive(Debug)]
pub struct FakeAws {
    /// The security groups every target sees.
    pub security_groups: Arc<FakeSecurityGroups>,
    /// VPCs and flow logs; its interfaces are `security_groups`'.
    pub network: Arc<FakeNetwork>,
    /// Who `caller_identity` says the controller is.
    pub identity: CallerIdentity,
    /// The flow logs every target sees.
    pub flow_logs: Arc<FakeFlowLogs>,
    /// The organisation every target sees (OrgRiskScan).
    pub organization: Arc<FakeOrganization>,
    /// Accounts × regions for risk scans; the account is the one of the target's role.
    pub estate: Arc<FakeEstate>,
    /// Uploaded reports.
    pub reports: Arc<FakeReportStore>,
    /// Session names `inventory` was asked for, in order.
    pub sessions: Mutex<Vec<String>>,
    targets: Mutex<Vec<Target>>,
}

impl FakeAws {
    /// Fakes around `security_groups`, as account `123456789012` in partition `aws`.
    pub fn new(security_groups: FakeSecurityGroups) -> Self {
        let security_groups = Arc::new(security_groups);
        FakeAws {
            network: Arc::new(FakeNetwork::new(security_groups.clone())),
            security_groups,
            identity: CallerIdentity {
                account: "123456789012".into(),
                arn: "arn:aws:sts::123456789012:assumed-role/sg-tightener/test".into(),
                partition: "aws".into(),
            },
            flow_logs: Arc::new(FakeFlowLogs::default()),
            organization: Arc::new(FakeOrganization::default()),
            estate: Arc::new(FakeEstate::default()),
            reports: Arc::new(FakeReportStore::default()),
            sessions: Mutex::new(Vec::new()),
            targets: Mutex::new(Vec::new()),
        }
    }

    /// Another handle on the same fake groups, identity and flow logs (two resources, one world).
    pub fn sharing(&self) -> Self {
        FakeAws {
            security_groups: self.security_groups.clone(),
            network: self.network.clone(),
            identity: self.identity.clone(),
            flow_logs: self.flow_logs.clone(),
            organization: self.organization.clone(),
            estate: self.estate.clone(),
            reports: self.reports.clone(),
            sessions: Mutex::new(Vec::new()),
            targets: Mutex::new(Vec::new()),
        }
    }

    /// Every target a port was requested for, in order.
    pub fn targets(&self) -> Vec<Target> {
        self.targets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn record(&self, target: &Target) {
        self.targets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(target.clone());
    }
}

#[derive(Debug)]
struct FixedIdentity(CallerIdentity);

#[async_trait::async_trait]
impl Identity for FixedIdentity {
    async fn caller_identity(&self) -> Result<CallerIdentity, AwsError> {
        Ok(self.0.clone())
    }
}

#[async_trait::async_trait]
impl AwsPorts for FakeAws {
    async fn security_groups(&self, target: &Target) -> Arc<dyn SecurityGroups> {
        self.record(target);
        self.security_groups.clone()
    }

    async fn identity(&self, target: &Target) -> Arc<dyn Identity> {
        self.record(target);
        Arc::new(FixedIdentity(self.identity.clone()))
    }

    async fn network(&self, target: &Target) -> Arc<dyn Network> {
        self.record(target);
        self.network.clone()
    }

    async fn flow_logs(&self, target: &Target) -> Arc<dyn FlowLogs> {
        self.record(target);
        self.flow_logs.clone()
    }

    async fn organization(&self, target: &Target) -> Arc<dyn Organization> {
        self.record(target);
        self.organization.clone()
    }

    async fn inventory(&self, target: &Target, session: &str) -> Arc<dyn Inventory> {
        self.record(target);
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(session.to_owned());
        let account = target
            .role_arn
            .as_deref()
            .and_then(|arn| arn.split(':').nth(4))
            .unwrap_or(&self.identity.account);
        Arc::new(self.estate.inventory(account, &target.region))
    }

    async fn reports(&self, target: &Target) -> Arc<dyn ReportStore> {
        self.record(target);
        self.reports.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ports_share_one_fake_and_record_targets() {
        let fake = FakeAws::new(FakeSecurityGroups::default());
        let target = Target::role("af-south-1", "arn:aws:iam::111111111111:role/x");
        let me = fake
            .identity(&target)
            .await
            .caller_identity()
            .await
            .unwrap();
        assert_eq!(me.account, "123456789012");
        fake.security_groups(&Target::region("eu-west-1")).await;
        assert_eq!(fake.targets(), vec![target, Target::region("eu-west-1")]);
    }
}
