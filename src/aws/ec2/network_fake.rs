//! AWS layer: an in-memory [`Network`] for reconciler unit tests (never used end to end). Its
//! interfaces are the fake security groups' (one world), its VPCs and flow logs are what the
//! test puts in.

use super::fake::FakeSecurityGroups;
use super::network::Network;
use crate::aws::AwsError;
use crate::domain::network::{FlowLog, Vpc};
use crate::domain::snapshot::NetworkInterface;
use std::sync::{Arc, Mutex};

/// VPCs and flow logs in memory, interfaces from the shared fake security groups.
#[derive(Debug)]
pub struct FakeNetwork {
    security_groups: Arc<FakeSecurityGroups>,
    vpcs: Mutex<Vec<Vpc>>,
    flow_logs: Mutex<Vec<FlowLog>>,
}

impl FakeNetwork {
    /// A network around `security_groups`' interfaces, without VPCs or flow logs.
    pub fn new(security_groups: Arc<FakeSecurityGroups>) -> Self {
        FakeNetwork {
            security_groups,
            vpcs: Mutex::default(),
            flow_logs: Mutex::default(),
        }
    }

    /// Adds a VPC.
    pub fn add_vpc(&self, vpc: Vpc) {
        self.vpcs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(vpc);
    }

    /// Adds a flow log.
    pub fn add_flow_log(&self, log: FlowLog) {
        self.flow_logs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(log);
    }

    /// Removes every flow log.
    pub fn clear_flow_logs(&self) {
        self.flow_logs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[async_trait::async_trait]
impl Network for FakeNetwork {
    async fn describe_vpcs(&self, vpc_ids: &[String]) -> Result<Vec<Vpc>, AwsError> {
        let vpcs = self.vpcs.lock().unwrap_or_else(|p| p.into_inner());
        Ok(vpcs
            .iter()
            .filter(|v| vpc_ids.contains(&v.vpc_id))
            .cloned()
            .collect())
    }

    async fn describe_vpc_interfaces(
        &self,
        vpc_ids: &[String],
    ) -> Result<Vec<NetworkInterface>, AwsError> {
        let mut interfaces: Vec<NetworkInterface> = self
            .security_groups
            .interfaces()
            .into_iter()
            .filter(|e| e.vpc_id.as_ref().is_some_and(|v| vpc_ids.contains(v)))
            .collect();
        interfaces.sort_by(|a, b| a.network_interface_id.cmp(&b.network_interface_id));
        Ok(interfaces)
    }

    async fn describe_flow_logs(&self, resource_ids: &[String]) -> Result<Vec<FlowLog>, AwsError> {
        let logs = self.flow_logs.lock().unwrap_or_else(|p| p.into_inner());
        Ok(logs
            .iter()
            .filter(|l| resource_ids.contains(&l.resource_id))
            .cloned()
            .collect())
    }
}
