//! e2e: two leader-elected operators and a leader frozen (SIGSTOP) in the middle of an apply —
//! after it authorised the new rules, while its revoke is held by a proxy — for longer than its
//! Lease. The standby takes the Lease and finishes the apply from the manifest; the old leader,
//! thawed (SIGCONT), finds its fence closed, makes no AWS call and exits; nothing is applied
//! twice (issue 9, leader fencing).

use crate::support::estate;
use crate::support::names::unique_name;
use crate::support::proxy::FaultProxy;
use crate::support::tightening::{
    applied_rules, patch_spec, plan, timing, wait_condition, wait_plan, World, TIMEOUT,
};
use crate::support::{env, wait_for, OperatorBuilder};
use k8s_openapi::api::coordination::v1::Lease;
use serde_json::json;
use sg_tightener::config::GoDuration;
use std::time::{Duration, Instant};

/// Long enough that a loaded machine renews in time, short enough to keep the test quick.
const LEASE_SECONDS: u64 = 6;

fn holder(lease: &Lease) -> Option<String> {
    lease.spec.as_ref().and_then(|s| s.holder_identity.clone())
}

#[tokio::test]
async fn a_leader_frozen_mid_apply_past_its_lease_is_replaced_and_when_thawed_changes_nothing() {
    let w = World::new("sgt-frozen", |_| false).await;
    let group = w.estate.group.clone();
    let original = estate::rules(&w.account, &group).await;
    // The leader's AWS traffic goes through a proxy that holds its revoke; the standby's
    // through one that only records.
    let held = FaultProxy::start(&env().moto_url, "RevokeSecurityGroupIngress").await;
    let recorded = FaultProxy::record(&env().moto_url).await;
    let lease = unique_name("sgt-lease");
    let namespace = w.s.namespace.clone();
    let replica = |url: String| {
        let (namespace, lease) = (namespace.clone(), lease.clone());
        move |b: OperatorBuilder| {
            b.leader_election(&namespace, &lease).config(|c| {
                c.leader_election.lease_duration = GoDuration::seconds(LEASE_SECONDS);
                c.aws.endpoint_url = url;
            })
        }
    };
    let mut leader = w.s.operator_with(replica(held.url.clone())).await;
    let leases = w.s.api::<Lease>();
    let first = leader.lease_identity();
    wait_for(&leases, &lease, "be held by the first replica", |l| {
        holder(l).as_deref() == Some(first.as_str())
    })
    .await;
    let standby = w.s.operator_with(replica(recorded.url.clone())).await;

    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    let planned = plan(&wait_plan(&api, "payments").await);
    let hash = planned["hash"].as_str().expect("hash").to_owned();
    patch_spec(&api, "payments", json!({ "approved": hash })).await;
    tokio::time::timeout(TIMEOUT, held.wait_held())
        .await
        .unwrap_or_else(|_| panic!("no revoke reached the proxy; actions {:?}", held.actions()));

    leader.signal(libc::SIGSTOP);
    let frozen = Instant::now();
    let calls_when_frozen = held.actions().len();
    let second = standby.lease_identity();
    wait_for(&leases, &lease, "be taken by the standby", |l| {
        holder(l).as_deref() == Some(second.as_str())
    })
    .await;
    timing("leader frozen → standby holds the Lease", frozen);
    wait_condition(&api, "payments", "Applied", "True", "").await;
    timing("leader frozen → Applied by the standby", frozen);

    leader.signal(libc::SIGCONT);
    let thawed = Instant::now();
    // Its in-flight reconcile (the held revoke) is cancelled, not given a 20 s shutdown grace.
    let exit = leader
        .wait_exit(Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("the thawed leader kept running\n{}", leader.log_tail()));
    timing("leader thawed → exited", thawed);
    assert!(!exit.success(), "it lost its Lease: {exit}");
    assert_eq!(
        held.actions().len(),
        calls_when_frozen,
        "the thawed leader made no AWS call: {:?}",
        held.actions()
    );
    assert!(
        leader.log().contains("lost the leader lease"),
        "{}",
        leader.log_tail()
    );
    let standby_calls = recorded.actions();
    assert!(
        !standby_calls.contains(&"AuthorizeSecurityGroupIngress".to_string()),
        "the new rules were authorised once, by the frozen leader: {standby_calls:?}"
    );
    let expected = applied_rules(&original, &planned, &group);
    assert_eq!(estate::rules(&w.account, &group).await, expected);
}
