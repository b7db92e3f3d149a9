//! Controller layer tests: evidence that cannot lock anyone out (issue 8) — flows to interfaces
//! that no longer exist, coverage per interface, lost evidence as a gap, and evidence older than
//! `evidence.maxAge` read again before an approval applies.

use super::world::{accepted, document, World, GROUP};
use crate::domain::conditions::types;
use crate::domain::evidence::Flow;
use crate::domain::network::FlowLog;
use crate::domain::snapshot::{GroupIdentifier, NetworkInterface};
use serde_json::json;

fn to_vanished(sources: &[&str]) -> Vec<Flow> {
    sources
        .iter()
        .map(|s| Flow {
            source: s.parse().unwrap(),
            destination: "10.1.0.77".parse().unwrap(),
            interface_id: Some("eni-replaced".into()),
            protocol: 6,
            port: 443,
            records: 89,
        })
        .collect()
}

fn status(w: &World) -> crate::crd::tightening::SecurityGroupTighteningStatus {
    w.object.status.clone().expect("a status was written")
}

#[tokio::test]
async fn a_replaced_interfaces_flows_keep_their_sources_and_are_counted() {
    let mut spec = World::default_spec();
    spec["collapse"] = json!({"noEvidence": "Revoke"});
    let mut w = World::new(spec);
    // the group's only interface today is new: yesterday's instance (eni-replaced) is gone
    w.aws.security_groups.remove_interface("eni-1");
    let mut flows = to_vanished(&["10.0.77.1", "10.0.77.2"]);
    flows.extend(accepted().into_iter().map(|mut f| {
        f.interface_id = Some("eni-old".into());
        f
    }));
    w.aws.flow_logs.answer(document(flows, true));
    w.reconcile().await.unwrap();
    let status = status(&w);
    let plan = status.plan.unwrap();
    let group = &plan.groups[0];
    assert!(
        group.revoke.contains(&"tcp:443 10.0.0.0/16".to_string()),
        "{group:?}"
    );
    assert!(
        !group
            .warnings
            .iter()
            .any(|w| w.contains("no evidence for tcp:443")),
        "noEvidence: Revoke must not revoke what the vanished interfaces' flows show: {:?}",
        group.warnings
    );
    for source in ["10.0.77.1", "10.0.77.2", "10.0.10.1", "10.0.10.9"] {
        let address: std::net::Ipv4Addr = source.parse().unwrap();
        assert!(
            group.authorise.iter().any(|r| r
                .split_once(' ')
                .and_then(|(_, c)| c.parse::<ipnet::Ipv4Net>().ok())
                .is_some_and(|c| c.contains(&address))),
            "{source} locked out: {:?}",
            group.authorise
        );
    }
    assert!(
        group
            .warnings
            .iter()
            .any(|w| w.starts_with("6 source(s) kept only because")),
        "{:?}",
        group.warnings
    );
    let evidence = status.evidence.unwrap();
    assert_eq!(
        (
            evidence.vanished_interface_flows,
            evidence.vanished_interfaces,
            evidence.sources_kept_for_vanished_interfaces
        ),
        (6, 2, 6)
    );
    let requests = w.aws.flow_logs.requests();
    assert!(
        requests[0].coverage_interfaces.is_empty(),
        "no interface today: nothing to prove, nothing narrowed"
    );
}

fn add_interface(w: &World, id: &str, subnet: &str) {
    w.aws.security_groups.add_interface(NetworkInterface {
        network_interface_id: id.into(),
        private_ip_address: Some("10.1.0.6".into()),
        groups: vec![GroupIdentifier {
            group_id: GROUP.into(),
            group_name: None,
        }],
        vpc_id: Some("vpc-1".into()),
        subnet_id: Some(subnet.into()),
        ..NetworkInterface::default()
    });
}

#[tokio::test]
async fn an_interface_no_flow_log_captures_is_a_gap_named_in_evidence_complete() {
    let mut w = World::standard();
    w.aws.network.clear_flow_logs();
    w.aws.network.add_flow_log(FlowLog {
        flow_log_id: "fl-subnet-a".into(),
        resource_id: "subnet-a".into(),
        traffic_type: "ACCEPT".into(),
        log_destination_type: "s3".into(),
        log_destination: Some("arn:aws:s3:::flow-logs".into()),
        flow_log_status: "ACTIVE".into(),
        creation_time: Some("2026-11-01T00:00:00Z".into()),
        ..FlowLog::default()
    });
    add_interface(&w, "eni-2", "subnet-b");
    w.reconcile().await.unwrap();
    let (complete, reason, message) = w.condition(types::EVIDENCE_COMPLETE);
    assert_eq!(
        (complete.as_str(), reason.as_str()),
        ("False", "EvidenceIncomplete")
    );
    assert!(
        message.contains("2 interface(s) not captured by an active flow log")
            && message.contains("eni-1, eni-2"),
        "{message}"
    );
    let evidence = status(&w).evidence.unwrap();
    assert_eq!(evidence.interfaces, 2);
    assert_eq!(evidence.interfaces_without_flow_log, ["eni-1", "eni-2"]);
    let request = &w.aws.flow_logs.requests()[0];
    assert_eq!(request.coverage_interfaces, ["eni-1", "eni-2"]);
}

#[tokio::test]
async fn a_logged_interface_without_records_is_a_gap_and_flow_log_creation_is_shown() {
    let mut w = World::standard();
    add_interface(&w, "eni-2", "subnet-b");
    w.reconcile().await.unwrap();
    let (complete, _, message) = w.condition(types::EVIDENCE_COMPLETE);
    assert_eq!(complete, "False");
    assert!(
        message.contains("1 interface(s) without a single flow-log record in the window: eni-2"),
        "{message}"
    );
    let evidence = status(&w).evidence.unwrap();
    assert_eq!(evidence.interfaces_without_records, ["eni-2"]);
    assert_eq!(evidence.flow_logs.len(), 1);
    assert_eq!(
        evidence.flow_logs[0].created_at.as_deref(),
        Some("2026-01-01T00:00:00Z")
    );
}

#[tokio::test]
async fn unreadable_objects_and_skipdata_are_gaps_that_refuse_the_apply() {
    for (unreadable, skipped, named) in [
        (3, 0, "3 flow-log object(s) could not be read"),
        (0, 5, "5 SKIPDATA record(s)"),
    ] {
        let mut w = World::standard();
        let mut lossy = document(accepted(), true);
        lossy.coverage.unreadable_objects = unreadable;
        lossy.coverage.skipped_records = skipped;
        w.aws.flow_logs.answer(lossy);
        w.reconcile().await.unwrap();
        let (complete, _, message) = w.condition(types::EVIDENCE_COMPLETE);
        assert_eq!(complete, "False", "{named}");
        assert!(message.contains(named), "{message}");
        let evidence = status(&w).evidence.unwrap();
        assert_eq!(
            (evidence.unreadable_objects, evidence.skipped_records),
            (unreadable, skipped)
        );
        let hash = w.plan_hash();
        w.approve(&hash);
        w.reconcile().await.unwrap();
        assert_eq!(w.condition(types::READY).1, "EvidenceIncomplete");
        assert_eq!(w.mutations(), 0, "{named}");
    }
}

#[tokio::test]
async fn approving_after_max_age_reads_the_logs_again_and_asks_for_the_new_plan() {
    let mut w = World::standard();
    w.reconcile().await.unwrap();
    let old = w.plan_hash();
    // a day and more later, a new client shows up in the logs
    w.now += jiff::SignedDuration::from_hours(25);
    let mut flows = accepted();
    flows.extend(to_vanished(&["10.0.200.1"]).into_iter().map(|mut f| {
        f.interface_id = Some("eni-1".into());
        f.destination = "10.1.0.5".parse().unwrap();
        f
    }));
    w.aws.flow_logs.answer(document(flows, true));
    w.approve(&old);
    w.reconcile().await.unwrap();
    assert_eq!(w.aws.flow_logs.requests().len(), 2, "read again");
    let new = w.plan_hash();
    assert_ne!(new, old);
    let (ready, reason, message) = w.condition(types::READY);
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", "EvidenceStale")
    );
    assert!(message.contains(&new[..12]), "{message}");
    assert_eq!(w.mutations(), 0, "the stale approval applied nothing");
    assert!(w
        .store
        .event_reasons()
        .contains(&"EvidenceStale".to_string()));
    w.reconcile().await.unwrap();
    assert_eq!(
        w.condition(types::READY).1,
        "EvidenceStale",
        "still the reason while spec.approved names the old plan"
    );
    w.approve(&new);
    w.reconcile().await.unwrap();
    assert!(w.mutations() > 0, "the new hash applies");
    assert_eq!(w.aws.flow_logs.requests().len(), 2, "fresh evidence reused");
}

#[tokio::test]
async fn a_stale_approval_whose_fresh_evidence_gives_the_same_plan_applies() {
    let mut w = World::standard();
    w.reconcile().await.unwrap();
    let hash = w.plan_hash();
    w.now += jiff::SignedDuration::from_hours(25);
    w.approve(&hash);
    w.reconcile().await.unwrap();
    assert_eq!(w.aws.flow_logs.requests().len(), 2, "read again");
    assert_eq!(w.plan_hash(), hash);
    assert!(w.mutations() > 0, "the same plan on fresh evidence applies");
}

#[tokio::test]
async fn an_approval_waiting_for_complete_evidence_re_plans_every_max_age() {
    let mut spec = World::default_spec();
    spec["evidence"]["maxAge"] = json!("6h");
    let mut w = World::new(spec);
    w.aws.flow_logs.answer(document(accepted(), false));
    w.reconcile().await.unwrap();
    let hash = w.plan_hash();
    w.approve(&hash);
    w.reconcile().await.unwrap();
    assert_eq!(w.condition(types::READY).1, "EvidenceIncomplete");
    let (_, _, message) = w.condition(types::READY);
    assert!(
        message.contains("every spec.evidence.maxAge (6h)"),
        "{message}"
    );
    w.reconcile().await.unwrap();
    assert_eq!(w.aws.flow_logs.requests().len(), 1, "not before maxAge");
    // the logs have caught up by the next read
    w.aws.flow_logs.answer(document(accepted(), true));
    w.now += jiff::SignedDuration::from_hours(6);
    w.reconcile().await.unwrap();
    assert_eq!(w.aws.flow_logs.requests().len(), 2);
    assert_eq!(w.condition(types::EVIDENCE_COMPLETE).0, "True");
    assert!(w.mutations() > 0, "the approved plan applies once complete");
}
