//! Controller layer test support: a fake world (`FakeAws`, `FakeFlowLogs`, the in-memory store)
//! around one SecurityGroupTightening, reconciled the way the API server would see it.

use super::observe::EvidenceCache;
use super::{cleanup, reconcile, Deps};
use crate::aws::ec2::fake::FakeSecurityGroups;
use crate::aws::fake::FakeAws;
use crate::config::ControllerConfig;
use crate::controller::change::store::MemoryStore;
use crate::controller::claims::MemoryClaims;
use crate::controller::leader::Fence;
use crate::controller::Error;
use crate::crd::{PlanPhase, SecurityGroupTightening};
use crate::domain::conditions::find;
use crate::domain::evidence::{Coverage, EvidenceDocument, Flow, Window, EVIDENCE_SCHEMA};
use crate::domain::network::{FlowLog, Vpc};
use crate::domain::rules::{ingress_rules, permissions_from_strings};
use crate::domain::snapshot::{GroupIdentifier, NetworkInterface, SecurityGroup};
use crate::metrics::Metrics;
use kube::runtime::controller::Action;
use serde_json::{json, Value};
use std::sync::Arc;

/// A fake world and the resource under test.
pub(crate) struct World {
    pub aws: FakeAws,
    pub store: MemoryStore<SecurityGroupTightening>,
    pub claims: Arc<MemoryClaims>,
    pub fence: Fence,
    pub config: ControllerConfig,
    pub metrics: Metrics,
    pub cache: EvidenceCache,
    pub now: jiff::Timestamp,
    pub object: SecurityGroupTightening,
}

pub(crate) fn rules(rules: &[(&str, Option<&str>)]) -> Vec<crate::domain::snapshot::IpPermission> {
    rules
        .iter()
        .flat_map(|(text, d)| {
            permissions_from_strings(&[text.to_string()], |_| d.map(String::from)).unwrap()
        })
        .collect()
}

pub(crate) fn original_group() -> SecurityGroup {
    SecurityGroup {
        group_id: "sg-0123456789abcdef0".into(),
        group_name: "web".into(),
        vpc_id: Some("vpc-1".into()),
        ip_permissions: rules(&[
            ("tcp:443 10.0.0.0/16", Some("office")),
            ("tcp:22 10.9.0.0/16", None),
        ]),
        ..SecurityGroup::default()
    }
}

pub(crate) const GROUP: &str = "sg-0123456789abcdef0";

/// `(rule string, description)` of every ingress rule, sorted: exact equality, descriptions included.
pub(crate) fn exact(group: &SecurityGroup) -> Vec<(String, Option<String>)> {
    let mut out: Vec<_> = ingress_rules(group)
        .unwrap()
        .into_iter()
        .map(|r| (r.to_string(), r.description.clone()))
        .collect();
    out.sort();
    out
}

fn flows(sources: &[&str], port: u16) -> Vec<Flow> {
    sources
        .iter()
        .map(|s| Flow {
            source: s.parse().unwrap(),
            destination: "10.1.0.5".parse().unwrap(),
            interface_id: Some("eni-1".into()),
            protocol: 6,
            port,
            records: 2,
        })
        .collect()
}

pub(crate) fn document(flows: Vec<Flow>, complete: bool) -> EvidenceDocument {
    let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let earliest = if complete {
        now - jiff::SignedDuration::from_hours(24 * 400)
    } else {
        now
    };
    EvidenceDocument {
        schema: EVIDENCE_SCHEMA.into(),
        window: Window {
            start: now,
            end: now,
        },
        coverage: Coverage {
            earliest_record: Some(earliest),
            interfaces_with_records: Some(vec!["eni-1".into()]),
            ..Coverage::default()
        },
        stats: Default::default(),
        flows,
    }
}

pub(crate) fn accepted() -> Vec<Flow> {
    flows(&["10.0.10.1", "10.0.10.2", "10.0.10.3", "10.0.10.9"], 443)
}

pub(crate) fn rejected() -> Vec<Flow> {
    flows(&["10.0.99.7"], 443)
}

impl World {
    pub fn new(spec: Value) -> Self {
        let fake = FakeSecurityGroups::new([original_group()]);
        fake.add_interface(NetworkInterface {
            network_interface_id: "eni-1".into(),
            private_ip_address: Some("10.1.0.5".into()),
            groups: vec![GroupIdentifier {
                group_id: GROUP.into(),
                group_name: None,
            }],
            vpc_id: Some("vpc-1".into()),
            ..NetworkInterface::default()
        });
        let aws = FakeAws::new(fake);
        aws.flow_logs.answer(document(accepted(), true));
        logged(&aws);
        let mut object: SecurityGroupTightening = serde_json::from_value(json!({
            "apiVersion": "sgtightener.io/v1alpha1",
            "kind": "SecurityGroupTightening",
            "metadata": {"name": "web", "namespace": "payments", "generation": 1, "uid": "u1"},
            "spec": spec,
        }))
        .unwrap();
        object.status = None;
        object.metadata.resource_version = Some("0".into());
        World {
            aws,
            store: MemoryStore::default(),
            claims: Arc::default(),
            fence: Fence::open(),
            config: ControllerConfig::default(),
            metrics: Metrics::new(),
            cache: EvidenceCache::default(),
            now: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            object,
        }
    }

    pub fn default_spec() -> Value {
        json!({
            "region": "af-south-1",
            "accountId": "123456789012",
            "groups": {"ids": [GROUP]},
            "evidence": {"days": 30, "s3": {"bucket": "flow-logs", "prefix": "AWSLogs/"}},
        })
    }

    pub fn standard() -> Self {
        World::new(World::default_spec())
    }

    pub fn deps(&self) -> Deps<'_> {
        Deps {
            config: &self.config,
            aws: &self.aws,
            store: &self.store,
            claims: self.claims.as_ref(),
            fence: &self.fence,
            metrics: &self.metrics,
            cache: &self.cache,
            now: self.now,
        }
    }

    /// One reconcile; the status written becomes the object's status, as the API server would.
    pub async fn reconcile(&mut self) -> Result<Action, Error> {
        let result = reconcile(&self.object, &self.deps()).await;
        self.sync();
        self.now += jiff::SignedDuration::from_secs(60);
        result
    }

    /// The object as the API server now has it (status and resourceVersion).
    pub fn sync(&mut self) {
        if let Some(status) = self.store.last_status() {
            self.object.status = Some(status);
        }
        self.object.metadata.resource_version = Some(self.store.version());
    }

    pub async fn cleanup(&mut self) -> Result<Action, Error> {
        let result = cleanup(&self.object, &self.deps()).await;
        self.sync();
        result
    }

    /// A second resource `name` with this one's spec, in the same fake AWS and claims.
    pub fn sibling(&self, name: &str) -> World {
        let mut other = World::new(serde_json::to_value(&self.object.spec).unwrap());
        other.object.metadata.name = Some(name.into());
        other.aws = self.aws.sharing();
        other.claims = self.claims.clone();
        other
    }

    pub fn plan_hash(&self) -> String {
        self.object
            .status
            .as_ref()
            .and_then(|s| s.plan.as_ref())
            .map(|p| p.hash.clone())
            .unwrap_or_default()
    }

    pub fn approve(&mut self, hash: &str) {
        self.object.spec.approved = hash.to_owned();
        self.bump();
    }

    /// A spec edit: the generation and the resourceVersion move.
    pub fn bump(&mut self) {
        self.object.metadata.generation = Some(self.object.metadata.generation.unwrap_or(1) + 1);
        self.store.touch();
        self.object.metadata.resource_version = Some(self.store.version());
    }

    /// Sets `spec.revert` (a spec edit).
    pub fn revert(&mut self, revert: bool) {
        self.object.spec.revert = revert;
        self.bump();
    }

    pub fn condition(&self, type_: &str) -> (String, String, String) {
        let status = self.object.status.as_ref().expect("a status was written");
        let c = find(&status.conditions, type_).unwrap_or_else(|| panic!("no {type_} condition"));
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }

    pub fn phase(&self) -> PlanPhase {
        self.object
            .status
            .as_ref()
            .map(|s| s.phase)
            .unwrap_or_default()
    }

    pub fn live(&self) -> SecurityGroup {
        self.aws.security_groups.group(GROUP).unwrap()
    }

    pub fn mutations(&self) -> usize {
        self.aws.security_groups.mutations()
    }
}

/// A world whose plan is computed and approved (not yet applied).
pub(crate) async fn approved(mut w: World) -> World {
    w.reconcile().await.unwrap();
    let hash = w.plan_hash();
    w.approve(&hash);
    w
}

/// A world at the rule limit (2): its plan is marked `interruption`.
pub(crate) fn at_the_limit() -> World {
    let mut spec = World::default_spec();
    spec["collapse"] = json!({"maxRules": 2});
    let w = World::new(spec);
    w.aws.security_groups.set_rule_limit(2);
    w
}

/// The second group of [`two_groups`]: same rules, same ENI.
pub(crate) const OTHER: &str = "sg-0fedcba9876543210";

/// A world of two groups on one ENI, both tightened by one plan.
pub(crate) fn two_groups() -> World {
    let mut spec = World::default_spec();
    spec["groups"]["ids"] = json!([GROUP, OTHER]);
    let mut w = World::new(spec);
    let mut other = original_group();
    other.group_id = OTHER.into();
    let fake = FakeSecurityGroups::new([original_group(), other]);
    fake.add_interface(NetworkInterface {
        network_interface_id: "eni-1".into(),
        private_ip_address: Some("10.1.0.5".into()),
        groups: [GROUP, OTHER]
            .iter()
            .map(|g| GroupIdentifier {
                group_id: g.to_string(),
                group_name: None,
            })
            .collect(),
        vpc_id: Some("vpc-1".into()),
        ..NetworkInterface::default()
    });
    w.aws = FakeAws::new(fake);
    w.aws.flow_logs.answer(document(accepted(), true));
    logged(&w.aws);
    w
}

/// VPC `vpc-1` (10.1.0.0/16) with an active flow log of all traffic to `s3://flow-logs`.
pub(super) fn logged(aws: &FakeAws) {
    aws.network.add_vpc(Vpc {
        vpc_id: "vpc-1".into(),
        cidr_block: Some("10.1.0.0/16".into()),
        ..Vpc::default()
    });
    aws.network.add_flow_log(FlowLog {
        flow_log_id: "fl-1".into(),
        resource_id: "vpc-1".into(),
        traffic_type: "ALL".into(),
        log_destination_type: "s3".into(),
        log_destination: Some("arn:aws:s3:::flow-logs".into()),
        flow_log_status: "ACTIVE".into(),
        deliver_logs_status: "SUCCESS".into(),
        creation_time: Some("2026-01-01T00:00:00Z".into()),
        ..FlowLog::default()
    });
}

pub(crate) fn throttled(op: &str) -> crate::aws::AwsError {
    let failure = crate::aws::Failure::new(op, "RequestLimitExceeded", "slow down");
    crate::aws::AwsError::Throttled(failure)
}

pub(crate) fn denied(op: &str) -> crate::aws::AwsError {
    let failure = crate::aws::Failure::new(op, "UnauthorizedOperation", "no");
    crate::aws::AwsError::AccessDenied(failure)
}

/// The authorise and revoke calls received so far, in order.
pub(crate) fn mutations_in_order(w: &World) -> Vec<crate::aws::ec2::fake::Operation> {
    use crate::aws::ec2::fake::Operation;
    w.aws
        .security_groups
        .calls()
        .iter()
        .map(|c| c.operation)
        .filter(|o| matches!(o, Operation::Authorise | Operation::Revoke))
        .collect()
}
