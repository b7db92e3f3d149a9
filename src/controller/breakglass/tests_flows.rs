//! Controller layer: the break-glass reconciler in flow mode against fakes — rules from REJECT
//! records on the groups whose ENIs rejected them, the `maxGroups` refusal, `NoFlowsForGroup`,
//! AWS service prefixes from a ConfigMap's `ip-ranges.json`.

use super::world::{World, A, B};
use crate::crd::BreakGlassGroupState as S;
use crate::domain::evidence::{EvidenceDocument, Flow, Window, EVIDENCE_SCHEMA};
use crate::domain::flowlog::ActionFilter;
use serde_json::{json, Value};

fn flow(source: &str, destination: &str, port: u16) -> Flow {
    Flow {
        source: source.parse().unwrap(),
        destination: destination.parse().unwrap(),
        interface_id: None,
        protocol: 6,
        port,
        records: 3,
    }
}

fn rejects(w: &World, flows: Vec<Flow>) {
    let now = w.now;
    w.aws.flow_logs.answer(EvidenceDocument {
        schema: EVIDENCE_SCHEMA.into(),
        window: Window {
            start: now,
            end: now,
        },
        coverage: Default::default(),
        stats: Default::default(),
        flows,
    });
}

fn flows_spec(groups: Value, extra: Value) -> Value {
    let mut spec = json!({
        "region": "af-south-1",
        "accountId": "123456789012",
        "reason": "INC-5678",
        "fromRejectedFlows": {"s3": {"bucket": "flow-logs", "prefix": "AWSLogs/"}, "hours": 3},
        "expiresAfter": "24h",
    });
    for (k, v) in groups
        .as_object()
        .unwrap()
        .iter()
        .chain(extra.as_object().unwrap())
    {
        if k == "fromRejectedFlows" {
            for (fk, fv) in v.as_object().unwrap() {
                spec["fromRejectedFlows"][fk] = fv.clone();
            }
        } else {
            spec[k] = v.clone();
        }
    }
    spec
}

#[tokio::test]
async fn rejected_flows_become_rules_only_on_the_groups_whose_enis_rejected_them() {
    let mut w = World::new();
    rejects(
        &w,
        vec![
            flow("10.0.99.7", "10.100.1.10", 443),
            flow("10.0.99.6", "10.100.1.10", 443),
            flow("10.0.77.1", "10.100.9.99", 443),
            flow("8.8.8.8", "10.100.1.10", 443),
        ],
    );
    let i = w.create(
        "unblock",
        flows_spec(json!({"autoDiscover": {"maxGroups": 5}}), json!({})),
    );
    w.reconcile(i).await.unwrap();
    let request = &w.aws.flow_logs.requests()[0];
    assert_eq!(request.action, ActionFilter::Reject);
    assert_eq!(
        request.window.end.duration_since(request.window.start),
        jiff::SignedDuration::from_hours(3),
        "the last `hours`, not whole days"
    );
    let added = &w.objects[i].status.as_ref().unwrap().groups;
    assert_eq!(
        added.len(),
        1,
        "only the group whose ENI rejected: {added:?}"
    );
    assert_eq!(added[0].group_id, A);
    assert_eq!(
        added[0].added,
        ["tcp:443 10.0.99.4/30"],
        "tolerance collapse (0.5)"
    );
    assert!(!w.rules(B).iter().any(|r| r.starts_with("tcp:443")));
    let status = w.objects[i].status.clone().unwrap();
    assert_eq!(
        status.discovered_flows,
        Some(3),
        "the public source is not allowed"
    );
    assert!(status.public_sources.is_empty());
}

#[tokio::test]
async fn more_groups_than_max_groups_are_refused_without_an_aws_write() {
    let mut w = World::new();
    rejects(
        &w,
        vec![
            flow("10.0.99.7", "10.100.1.10", 443),
            flow("10.0.99.7", "10.100.1.20", 443),
        ],
    );
    let i = w.create(
        "unblock",
        flows_spec(json!({"autoDiscover": {"maxGroups": 1}}), json!({})),
    );
    let error = w.reconcile(i).await.unwrap_err();
    assert_eq!(error.reason(), "TooManyGroups");
    assert!(w.condition(i, "Ready").2.contains("discovered 2 groups"));
    assert_eq!(w.mutations(), 0);
}

#[tokio::test]
async fn a_listed_group_without_rejected_flows_is_no_flows_for_group() {
    let mut w = World::new();
    rejects(&w, vec![flow("10.0.99.7", "10.100.1.10", 5432)]);
    let spec = flows_spec(
        json!({"groupIds": [A, B]}),
        json!({"fromRejectedFlows": {"ports": ["5432"]}}),
    );
    let i = w.create("unblock", spec);
    w.reconcile(i).await.unwrap();
    assert_eq!(w.group_state(i, A), S::Added);
    assert_eq!(w.group_state(i, B), S::NoFlowsForGroup);
    assert_eq!(
        w.condition(i, "Ready").0,
        "True",
        "nothing to add there is not a failure"
    );
}

#[tokio::test]
async fn public_sources_of_an_aws_service_become_its_prefix_from_the_config_map() {
    let mut w = World::new();
    w.config.break_glass.allow_public = true;
    w.config.break_glass.aws_ip_ranges.config_map = "sg-tightener/ip-ranges".into();
    let document = json!({"syncToken": "1", "prefixes": [
        {"ip_prefix": "3.5.140.0/22", "region": "af-south-1", "service": "S3"},
        {"ip_prefix": "3.0.0.0/8", "region": "GLOBAL", "service": "AMAZON"}
    ]});
    w.store.config_maps.lock().unwrap().insert(
        "sg-tightener/ip-ranges/ip-ranges.json".into(),
        document.to_string(),
    );
    rejects(
        &w,
        vec![
            flow("3.5.140.7", "10.100.1.10", 443),
            flow("3.5.141.9", "10.100.1.10", 443),
            flow("3.9.9.9", "10.100.1.10", 443),
        ],
    );
    let extra = json!({"fromRejectedFlows": {"includePublic": true}});
    let i = w.create("unblock", flows_spec(json!({"groupIds": [A]}), extra));
    w.reconcile(i).await.unwrap();
    let status = w.objects[i].status.clone().unwrap();
    assert_eq!(
        status.groups[0].added,
        ["tcp:443 3.5.140.0/22", "tcp:443 3.9.9.9/32"]
    );
    assert_eq!(status.aws_service_summaries[0].service, "S3");
    assert_eq!(status.aws_service_summaries[0].sources, 2);
    assert_eq!(
        status.public_sources,
        ["3.9.9.9/32"],
        "not in a service prefix: listed"
    );
    let described = w.described(A);
    assert!(described.iter().any(|(r, d)| r == "tcp:443 3.5.140.0/22"
        && d.as_deref().is_some_and(|d| d.ends_with("(S3 af-south-1)"))));
}

#[tokio::test]
async fn include_public_needs_the_configuration_to_allow_it() {
    let mut w = World::new();
    let extra = json!({"fromRejectedFlows": {"includePublic": true}});
    let i = w.create("unblock", flows_spec(json!({"groupIds": [A]}), extra));
    let error = w.reconcile(i).await.unwrap_err();
    assert_eq!(error.reason(), "InvalidSpec");
    assert!(w.condition(i, "Ready").2.contains("breakGlass.allowPublic"));
    assert!(
        w.aws.flow_logs.requests().is_empty(),
        "no flow log was read"
    );
}
