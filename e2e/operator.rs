//! e2e: `sg-tightener run` as a process against the real API server — it reports a status for
//! every kind and follows spec edits, serves health and metrics, takes and releases its leader
//! Lease (a standby takes over), and leaves no process behind.

use crate::support::{condition, eventually, observed_latest, sample, to_json, wait_for};
use crate::support::{OperatorBuilder, Scenario};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::ResourceExt;
use serde_json::{json, Value};
use sg_tightener::config::GoDuration;

/// What the operator does with one sample today. When a kind's reconciler lands, change its row
/// (the `Ready` it reports for the sample) — the scenario stays the same.
struct Expectation {
    sample: &'static str,
    /// `Ready` condition `(status, reason)` once the operator has seen the latest generation.
    ready: (&'static str, &'static str),
    /// A merge patch of the spec that bumps the generation.
    edit: fn() -> Value,
}

fn expectations() -> Vec<Expectation> {
    vec![
        Expectation {
            // The sample names groups that do not exist in the emulator: the reconciler stalls.
            sample: "securitygrouptightening.yaml",
            ready: ("False", "GroupsNotFound"),
            edit: || json!({ "spec": { "evidence": { "days": 30 } } }),
        },
        Expectation {
            // The sample names groups that do not exist in the emulator: nothing is added.
            sample: "breakglassextension-explicit.yaml",
            ready: ("False", "GroupsNotFound"),
            edit: || json!({ "spec": { "reason": "DR failover INC-1235" } }),
        },
        Expectation {
            // The sample's OU does not exist in the emulator: the scan fails and says so.
            sample: "orgriskscan.yaml",
            ready: ("False", "AwsNotFound"),
            edit: || json!({ "spec": { "maxConcurrency": 8 } }),
        },
        Expectation {
            // The sample names groups that do not exist in the emulator: nothing is planned.
            sample: "securitygroupcompaction.yaml",
            ready: ("False", "GroupsNotFound"),
            edit: || json!({ "spec": { "ratio": 0.5 } }),
        },
    ]
}

fn ready_of(object: &DynamicObject) -> (String, String) {
    let ready = condition(object, "Ready").unwrap_or_default();
    let text = |key: &str| ready[key].as_str().unwrap_or_default().to_owned();
    (text("status"), text("reason"))
}

#[tokio::test]
async fn the_operator_reports_every_kind_and_follows_spec_edits() {
    let s = Scenario::start("operator-status").await;
    let mut created = Vec::new();
    // Created before the operator starts (its initial list sees them); edits arrive by watch.
    for expectation in expectations() {
        let object = s
            .create_yaml(&sample(expectation.sample).text)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", expectation.sample));
        created.push((expectation, object));
    }
    let operator = s.operator().await;
    for (expectation, object) in &created {
        let api = s.api_for(object).await;
        let name = object.name_any();
        let what = "report Ready for generation 1";
        let seen = wait_for(&api, &name, what, |o| observed_latest(o, "Ready")).await;
        let (status, reason) = ready_of(&seen);
        assert_eq!(
            (status.as_str(), reason.as_str()),
            expectation.ready,
            "{}: Ready condition {}",
            expectation.sample,
            to_json(&seen)["status"]
        );

        let patch = (expectation.edit)();
        let edited = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_or_else(|e| panic!("{}: edit refused: {e}", expectation.sample));
        assert_eq!(
            edited.metadata.generation,
            Some(2),
            "a spec edit bumps the generation"
        );
        let followed = wait_for(&api, &name, "observe generation 2", |o| {
            observed_latest(o, "Ready")
        })
        .await;
        assert_eq!(to_json(&followed)["status"]["observedGeneration"], 2);
        assert_eq!(
            ready_of(&followed),
            ready_of(&seen),
            "{}",
            expectation.sample
        );
    }
    let log = operator.log();
    assert!(
        !log.contains(" ERROR "),
        "the operator logged errors:\n{}",
        operator.log_tail()
    );
}

#[tokio::test]
async fn the_operator_serves_health_readiness_and_metrics() {
    let s = Scenario::start("operator-http").await;
    let object = s
        .create_yaml(&sample("securitygroupcompaction.yaml").text)
        .await
        .expect("valid sample");
    let operator = s.operator().await;
    let api = s.api_for(&object).await;
    wait_for(&api, &object.name_any(), "be reconciled", |o| {
        observed_latest(o, "Ready")
    })
    .await;

    assert_eq!(operator.get("/healthz").await.0, 200);
    assert_eq!(operator.get("/readyz").await.0, 200);
    let (code, metrics) = operator.get("/metrics").await;
    assert_eq!(code, 200);
    let reconciles = metrics
        .lines()
        .find(|l| l.starts_with("sgtightener_reconciles_total{kind=\"SecurityGroupCompaction\"}"))
        .unwrap_or_else(|| panic!("no reconcile counter for SecurityGroupCompaction:\n{metrics}"));
    let count: f64 = reconciles
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .parse()
        .unwrap_or(0.0);
    assert!(count >= 1.0, "reconciled, yet {reconciles}");
}

#[tokio::test]
async fn with_leader_election_the_operator_holds_its_lease_and_releases_it_on_sigterm() {
    let s = Scenario::start("operator-lease").await;
    let lease_name = crate::support::names::unique_name("sgt-lease");
    let mut operator = s
        .operator_with(|b| b.leader_election(&s.namespace, &lease_name))
        .await;
    let leases = s.api::<Lease>();
    let holder = |l: &Lease| l.spec.as_ref().and_then(|s| s.holder_identity.clone());
    let me = operator.lease_identity();
    let held = wait_for(&leases, &lease_name, "be held", |l| holder(l).is_some()).await;
    assert_eq!(holder(&held).as_deref(), Some(me.as_str()));

    // The leader reconciles.
    let object = s
        .create_yaml(&sample("orgriskscan.yaml").text)
        .await
        .expect("valid sample");
    let api = s.api_for(&object).await;
    wait_for(&api, &object.name_any(), "be reconciled", |o| {
        observed_latest(o, "Ready")
    })
    .await;

    let exit = operator.stop();
    assert!(
        exit.success(),
        "SIGTERM should stop it cleanly, got {exit}\n{}",
        operator.log_tail()
    );
    let released = leases.get(&lease_name).await.expect("the Lease stays");
    assert_eq!(holder(&released), None, "the Lease is released on shutdown");
}

#[tokio::test]
async fn both_replicas_are_ready_one_leads_and_the_standby_takes_over_when_the_leader_stops() {
    let s = Scenario::start("operator-failover").await;
    let lease_name = crate::support::names::unique_name("sgt-lease");
    let replica = |b: OperatorBuilder| {
        b.leader_election(&s.namespace, &lease_name)
            .config(|c| c.leader_election.lease_duration = GoDuration::seconds(3))
    };
    let mut leader = s.operator_with(replica).await;
    let leases = s.api::<Lease>();
    let holder = |l: &Lease| l.spec.as_ref().and_then(|s| s.holder_identity.clone());
    let first = leader.lease_identity();
    let held = wait_for(&leases, &lease_name, "be held", |l| holder(l).is_some()).await;
    assert_eq!(holder(&held), Some(first), "the first replica leads");
    // Started only once /readyz answers 200: a standby is ready (able to take over), so a
    // one-replica rolling upgrade can finish (issue 12).
    let standby = s.operator_with(replica).await;
    for (replica, leading) in [(&leader, 1.0), (&standby, 0.0)] {
        assert_eq!(replica.get("/readyz").await.0, 200);
        assert_eq!(
            replica.metric("sgtightener_leader").await,
            Some(leading),
            "exactly one replica leads"
        );
    }
    assert!(
        standby.log().contains("standing by"),
        "{}",
        standby.log_tail()
    );

    assert!(leader.stop().success(), "{}", leader.log_tail());
    let second = standby.lease_identity();
    let what = "be taken over by the standby";
    wait_for(&leases, &lease_name, what, |l| {
        holder(l).as_ref() == Some(&second)
    })
    .await;
    let what = "the new leader to say so";
    eventually(what, crate::support::DEFAULT_TIMEOUT, || async {
        match standby.metric("sgtightener_leader").await {
            Some(1.0) => Ok(()),
            other => Err(format!("sgtightener_leader {other:?}")),
        }
    })
    .await;
    assert_eq!(standby.get("/readyz").await.0, 200);
    assert!(standby.log().contains("became leader"));
}

/// Whether `pid` is a live process (a zombie is not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit(')')
                .next()
                .map(|rest| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn dropping_the_operator_guard_leaves_no_process_behind() {
    let s = Scenario::start("operator-drop").await;
    let operator = s.operator().await;
    let pid = operator.pid();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&cmdline).contains("sg-tightener"),
        "pid {pid} is not the operator"
    );
    assert!(alive(pid));
    drop(operator);
    assert!(!alive(pid), "the operator (pid {pid}) outlived its guard");
}
