//! Controller layer tests: the SecurityGroupCompaction reconciler on fakes (FakeAws, the
//! in-memory store and claims) — plan with per-group counts, approval by hash, apply through the
//! change engine, exact revert (of a chained second apply too), an empty plan at ratio 0, a wrong
//! hash, one owner per group.

use super::{reconcile, Deps};
use crate::aws::ec2::fake::FakeSecurityGroups;
use crate::aws::fake::FakeAws;
use crate::config::ControllerConfig;
use crate::controller::change::store::MemoryStore;
use crate::controller::claims::{Claims, GroupKey, Holder, MemoryClaims};
use crate::controller::leader::Fence;
use crate::crd::{PlanPhase, SecurityGroupCompaction};
use crate::domain::conditions::{find, reasons, types};
use crate::domain::rules::{ingress_rules, permissions_from_strings};
use crate::domain::snapshot::SecurityGroup;
use serde_json::{json, Value};

const GROUP: &str = "sg-0123456789abcdef0";
const GLASS: &str = "sg-tightener break-glass INC-7";

struct World {
    aws: FakeAws,
    store: MemoryStore<SecurityGroupCompaction>,
    claims: MemoryClaims,
    fence: Fence,
    config: ControllerConfig,
    now: jiff::Timestamp,
    object: SecurityGroupCompaction,
}

fn group(rules: &[(&str, Option<&str>)]) -> SecurityGroup {
    SecurityGroup {
        group_id: GROUP.into(),
        group_name: "web".into(),
        vpc_id: Some("vpc-1".into()),
        ip_permissions: rules
            .iter()
            .flat_map(|(text, d)| {
                permissions_from_strings(&[text.to_string()], |_| d.map(String::from)).unwrap()
            })
            .collect(),
        ..SecurityGroup::default()
    }
}

/// Two /24s a /24 apart, a break-glass rule that would merge with them, an SG reference.
fn mixed() -> SecurityGroup {
    group(&[
        ("tcp:443 10.0.0.0/24", Some("office")),
        ("tcp:443 10.0.2.0/24", None),
        ("tcp:443 10.0.1.0/24", Some(GLASS)),
        ("tcp:443 sg-0fedcba9876543210", None),
    ])
}

fn exact(group: &SecurityGroup) -> Vec<(String, Option<String>)> {
    let mut out: Vec<_> = ingress_rules(group)
        .unwrap()
        .into_iter()
        .map(|r| (r.to_string(), r.description.clone()))
        .collect();
    out.sort();
    out
}

impl World {
    fn new(live: SecurityGroup, ratio: f64) -> Self {
        let object: SecurityGroupCompaction = serde_json::from_value(json!({
            "apiVersion": "sgtightener.io/v1alpha1",
            "kind": "SecurityGroupCompaction",
            "metadata": {"name": "web", "namespace": "payments", "generation": 1, "uid": "u1", "resourceVersion": "0"},
            "spec": {"region": "af-south-1", "accountId": "123456789012", "groups": {"ids": [GROUP]}, "ratio": ratio},
        }))
        .unwrap();
        World {
            aws: FakeAws::new(FakeSecurityGroups::new([live])),
            store: MemoryStore::default(),
            claims: MemoryClaims::default(),
            fence: Fence::open(),
            config: ControllerConfig::default(),
            now: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            object,
        }
    }

    fn deps(&self) -> Deps<'_> {
        Deps {
            config: &self.config,
            aws: &self.aws,
            store: &self.store,
            claims: &self.claims,
            fence: &self.fence,
            now: self.now,
        }
    }

    async fn reconcile(&mut self) {
        reconcile(&self.object, &self.deps()).await.unwrap();
        if let Some(status) = self.store.last_status() {
            self.object.status = Some(status);
        }
        self.object.metadata.resource_version = Some(self.store.version());
        self.now += jiff::SignedDuration::from_secs(60);
    }

    fn edit(&mut self, patch: Value) {
        let mut spec = serde_json::to_value(&self.object.spec).unwrap();
        json_patch(&mut spec, patch);
        self.object.spec = serde_json::from_value(spec).unwrap();
        self.object.metadata.generation = Some(self.object.metadata.generation.unwrap() + 1);
        self.store.touch();
        self.object.metadata.resource_version = Some(self.store.version());
    }

    fn ready(&self) -> (String, String, String) {
        let status = self.object.status.as_ref().expect("a status was written");
        let c = find(&status.conditions, types::READY).expect("a Ready condition");
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }

    fn plan(&self) -> crate::domain::plan::Plan {
        let status = self.object.status.as_ref().expect("a status");
        status.plan.clone().expect("a plan")
    }

    fn phase(&self) -> PlanPhase {
        self.object
            .status
            .as_ref()
            .map(|s| s.phase)
            .unwrap_or_default()
    }

    fn live(&self) -> SecurityGroup {
        self.aws.security_groups.group(GROUP).unwrap()
    }
}

fn json_patch(target: &mut Value, patch: Value) {
    if let (Some(t), Value::Object(p)) = (target.as_object_mut(), patch) {
        for (k, v) in p {
            t.insert(k, v);
        }
    }
}

#[tokio::test]
async fn the_plan_merges_private_rules_and_counts_per_group() {
    let mut w = World::new(mixed(), 0.5);
    w.reconcile().await;
    let plan = w.plan();
    let g = &plan.groups[0];
    assert_eq!(g.revoke, ["tcp:443 10.0.0.0/24", "tcp:443 10.0.2.0/24"]);
    assert_eq!(g.authorise, ["tcp:443 10.0.0.0/22"]);
    assert_eq!(
        (g.current_rules, g.projected_rules, g.rules_saved),
        (Some(4), Some(3), Some(1))
    );
    // 10.0.0.0/22 holds 1024 addresses; the two /24s granted 512 of them (the break-glass /24
    // is not the compaction's to count).
    assert_eq!(g.addresses_added, Some(512));
    let (status, reason, message) = w.ready();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", reasons::AWAITING_APPROVAL)
    );
    assert!(message.contains("kubectl get sgc web"), "{message}");
    assert!(plan.approve_command.unwrap().contains("patch sgc web"));
    assert_eq!(w.phase(), PlanPhase::AwaitingApproval);
    assert_eq!(w.aws.security_groups.mutations(), 0);
}

#[tokio::test]
async fn an_approved_plan_is_applied_and_reverted_exactly() {
    let mut w = World::new(mixed(), 0.5);
    let before = exact(&w.live());
    w.reconcile().await;
    let hash = w.plan().hash;
    w.edit(json!({"approved": hash}));
    w.reconcile().await;
    assert_eq!(w.phase(), PlanPhase::Applied, "{:?}", w.ready());
    let after = exact(&w.live());
    let strings: Vec<&str> = after.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        strings,
        [
            "tcp:443 10.0.0.0/22",
            "tcp:443 10.0.1.0/24",
            "tcp:443 sg-0fedcba9876543210"
        ]
    );
    assert!(after.contains(&("tcp:443 10.0.1.0/24".into(), Some(GLASS.into()))));
    let applied = w.object.status.as_ref().unwrap().applied.clone().unwrap();
    assert!(applied.manifest_config_map.starts_with("sgc-web-"));
    let key = GroupKey {
        account: "123456789012".into(),
        region: "af-south-1".into(),
        group_id: GROUP.into(),
    };
    let tightening = Holder {
        kind: "SecurityGroupTightening".into(),
        namespace: "payments".into(),
        name: "web".into(),
    };
    let held = w.claims.held_by_other(&[key], &tightening).await.unwrap();
    assert_eq!(held.unwrap().holder.kind, "SecurityGroupCompaction");

    w.edit(json!({"revert": true}));
    w.reconcile().await;
    assert_eq!(w.phase(), PlanPhase::Reverted, "{:?}", w.ready());
    assert_eq!(exact(&w.live()), before, "descriptions included");
}

#[tokio::test]
async fn a_second_apply_chains_onto_the_first_and_its_revert_restores_the_first_state() {
    let mut w = World::new(mixed(), 0.5);
    let before = exact(&w.live());
    w.reconcile().await;
    let hash = w.plan().hash;
    w.edit(json!({"approved": hash}));
    w.reconcile().await;
    assert_eq!(w.phase(), PlanPhase::Applied, "{:?}", w.ready());
    let first = w.object.status.as_ref().unwrap().applied.clone().unwrap();
    // A second compaction of the compacted group, at a higher ratio.
    let extra = group(&[("tcp:443 10.0.6.0/24", None)]).ip_permissions;
    crate::aws::SecurityGroups::authorise_ingress(w.aws.security_groups.as_ref(), GROUP, &extra)
        .await
        .unwrap();
    w.edit(json!({"ratio": 0.7}));
    w.reconcile().await;
    let hash = w.plan().hash;
    assert!(!w.plan().groups[0].authorise.is_empty(), "{:?}", w.plan());
    w.edit(json!({"approved": hash}));
    w.reconcile().await;
    assert_eq!(w.phase(), PlanPhase::Applied, "{:?}", w.ready());
    let second = w.object.status.as_ref().unwrap().applied.clone().unwrap();
    let manifests = w.store.manifests.lock().unwrap().clone();
    let chained = &manifests[&format!("payments/{}", second.manifest_config_map)];
    assert_eq!(
        chained.previous.as_deref(),
        Some(first.manifest_config_map.as_str())
    );

    w.edit(json!({"revert": true}));
    w.reconcile().await;
    assert_eq!(w.phase(), PlanPhase::Reverted, "{:?}", w.ready());
    // The rule added between the applies was merged away by the second one: the state before
    // the FIRST apply did not have it either.
    assert_eq!(exact(&w.live()), before, "descriptions included");
}

#[tokio::test]
async fn ratio_zero_on_blocks_that_do_not_touch_is_an_empty_plan_and_ready() {
    let mut w = World::new(
        group(&[("tcp:443 10.0.0.0/24", None), ("tcp:443 10.0.2.0/24", None)]),
        0.0,
    );
    w.reconcile().await;
    let g = &w.plan().groups[0];
    assert!(g.revoke.is_empty() && g.authorise.is_empty());
    assert_eq!((g.rules_saved, g.addresses_added), (Some(0), Some(0)));
    let (status, reason, _) = w.ready();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", reasons::PLAN_READY)
    );
    assert_eq!(w.aws.security_groups.mutations(), 0);
}

#[tokio::test]
async fn a_wrong_hash_changes_nothing() {
    let mut w = World::new(mixed(), 0.5);
    w.reconcile().await;
    w.edit(json!({"approved": "0".repeat(64)}));
    w.reconcile().await;
    let (status, reason, message) = w.ready();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", reasons::APPROVAL_MISMATCH)
    );
    assert!(message.contains(&w.plan().hash), "{message}");
    assert_eq!(w.aws.security_groups.mutations(), 0);
    assert!(w.store.manifests.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_group_a_tightening_holds_is_not_compacted_and_the_reason_names_it() {
    let mut w = World::new(mixed(), 0.5);
    let key = GroupKey {
        account: "123456789012".into(),
        region: "af-south-1".into(),
        group_id: GROUP.into(),
    };
    let tightening = Holder {
        kind: "SecurityGroupTightening".into(),
        namespace: "payments".into(),
        name: "web-tightening".into(),
    };
    assert!(w.claims.claim(&[key], &tightening).await.unwrap().is_none());
    w.reconcile().await;
    let hash = w.plan().hash;
    w.edit(json!({"approved": hash}));
    w.reconcile().await;
    let (status, reason, message) = w.ready();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", reasons::GROUP_CLAIMED)
    );
    assert!(
        message.contains("SecurityGroupTightening payments/web-tightening"),
        "{message}"
    );
    assert_eq!(w.aws.security_groups.mutations(), 0);
}

#[tokio::test]
async fn an_edited_plan_that_touches_a_break_glass_rule_is_refused_before_aws() {
    let mut w = World::new(mixed(), 0.5);
    w.reconcile().await;
    let mut plan = w.plan();
    plan.groups[0].revoke.push("tcp:443 10.0.1.0/24".into());
    plan.hash = crate::domain::plan::plan_hash(&plan);
    let hash = plan.hash.clone();
    w.object.status.as_mut().unwrap().plan = Some(plan);
    w.edit(json!({"approved": hash}));
    w.reconcile().await;
    let (status, reason, message) = w.ready();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", reasons::PLAN_INVALID)
    );
    assert!(message.contains("never touches"), "{message}");
    assert_eq!(w.aws.security_groups.mutations(), 0);
}

#[tokio::test]
async fn deleting_with_deletion_policy_revert_restores_the_rules_and_releases_the_group() {
    let mut w = World::new(mixed(), 0.5);
    let before = exact(&w.live());
    w.edit(json!({"deletionPolicy": "Revert"}));
    w.reconcile().await;
    let hash = w.plan().hash;
    w.edit(json!({"approved": hash}));
    w.reconcile().await;
    let (_, _, message) = w.ready();
    assert!(
        message.contains("1 rules saved, 512 never-granted addresses added"),
        "{message}"
    );
    assert_ne!(exact(&w.live()), before);
    crate::controller::change::cleanup(&w.object, &w.deps())
        .await
        .unwrap();
    assert_eq!(
        exact(&w.live()),
        before,
        "reverted before the finalizer goes"
    );
    let key = GroupKey {
        account: "123456789012".into(),
        region: "af-south-1".into(),
        group_id: GROUP.into(),
    };
    let tightening = Holder {
        kind: "SecurityGroupTightening".into(),
        namespace: "payments".into(),
        name: "web".into(),
    };
    assert!(w
        .claims
        .held_by_other(&[key], &tightening)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn deleting_with_the_default_orphan_policy_leaves_aws_as_applied() {
    let mut w = World::new(mixed(), 0.5);
    w.reconcile().await;
    let hash = w.plan().hash;
    w.edit(json!({"approved": hash}));
    w.reconcile().await;
    let applied = exact(&w.live());
    let mutations = w.aws.security_groups.mutations();
    crate::controller::change::cleanup(&w.object, &w.deps())
        .await
        .unwrap();
    assert_eq!(exact(&w.live()), applied);
    assert_eq!(w.aws.security_groups.mutations(), mutations);
}
