//! Controller layer tests: the SecurityGroupTightening reconciler through kube-runtime's
//! finalizer helper against the mock API server — finalizer added first, status by server-side
//! apply, deletion with `Orphan` releases the finalizer without touching AWS.

use super::{mock_api, Expect};
use crate::aws::ec2::fake::FakeSecurityGroups;
use crate::aws::fake::FakeAws;
use crate::config::{ControllerConfig, TenancyRule};
use crate::controller::{Context, Reconciler};
use crate::crd::SecurityGroupTightening;
use crate::metrics::Metrics;
use kube::runtime::controller::Action;
use serde_json::{json, Value};
use std::sync::Arc;

const OBJECT: &str =
    "/apis/sgtightener.io/v1alpha1/namespaces/payments/securitygrouptightenings/web";
const STATUS: &str =
    "/apis/sgtightener.io/v1alpha1/namespaces/payments/securitygrouptightenings/web/status";

fn sgt(finalizers: &[&str], deleting: bool) -> Value {
    let mut metadata = json!({"name": "web", "namespace": "payments", "uid": "u1", "generation": 2, "finalizers": finalizers});
    if deleting {
        metadata["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    }
    json!({
        "apiVersion": "sgtightener.io/v1alpha1", "kind": "SecurityGroupTightening", "metadata": metadata,
        "spec": {"region": "af-south-1", "accountId": "123456789012", "groups": {"ids": ["sg-12345678"]},
                 "evidence": {"s3": {"bucket": "flow-logs"}}},
    })
}

fn context(client: kube::Client, tenancy: Vec<TenancyRule>) -> (Arc<Context>, Arc<FakeAws>) {
    let aws = Arc::new(FakeAws::new(FakeSecurityGroups::default()));
    let config = ControllerConfig {
        tenancy,
        ..ControllerConfig::default()
    };
    let ctx = Context::new(
        client,
        Arc::new(config),
        aws.clone(),
        Arc::new(Metrics::new()),
    );
    (Arc::new(ctx), aws)
}

fn nobody() -> Vec<TenancyRule> {
    vec![TenancyRule {
        namespaces: vec!["other".into()],
        accounts: vec!["*".into()],
        role_arn_template: Default::default(),
    }]
}

#[tokio::test]
async fn the_finalizer_is_added_before_anything_else() {
    let (client, log, queue) = mock_api(vec![Expect {
        method: "PATCH",
        path: OBJECT,
        status: 200,
        answer: sgt(&["sgtightener.io/cleanup"], false),
    }]);
    let (ctx, aws) = context(client, nobody());
    let object: SecurityGroupTightening = serde_json::from_value(sgt(&[], false)).unwrap();
    let action = Arc::new(object).reconcile(ctx).await.unwrap();
    assert_eq!(action, Action::await_change());
    assert!(queue.lock().unwrap().is_empty());
    let seen = log.lock().unwrap()[0].clone();
    assert!(
        seen.body.to_string().contains("sgtightener.io/cleanup"),
        "{}",
        seen.body
    );
    assert!(aws.targets().is_empty());
}

#[tokio::test]
async fn a_forbidden_namespace_gets_its_status_by_server_side_apply_and_no_aws_call() {
    let answer = sgt(&["sgtightener.io/cleanup"], false);
    let (client, log, queue) = mock_api(vec![Expect {
        method: "PATCH",
        path: STATUS,
        status: 200,
        answer,
    }]);
    let (ctx, aws) = context(client, nobody());
    let object: SecurityGroupTightening =
        serde_json::from_value(sgt(&["sgtightener.io/cleanup"], false)).unwrap();
    let error = Arc::new(object).reconcile(ctx).await.unwrap_err();
    assert_eq!(error.reason(), "Forbidden");
    assert!(
        queue.lock().unwrap().is_empty(),
        "the status patch was not sent"
    );
    let seen = log.lock().unwrap()[0].clone();
    assert!(
        seen.uri.contains("fieldManager=sg-tightener"),
        "{}",
        seen.uri
    );
    assert_eq!(seen.content_type, "application/apply-patch+yaml");
    let conditions = seen.body["status"]["conditions"]
        .as_array()
        .unwrap()
        .clone();
    let ready = conditions.iter().find(|c| c["type"] == "Ready").unwrap();
    assert_eq!(
        (ready["status"].as_str(), ready["reason"].as_str()),
        (Some("False"), Some("Forbidden"))
    );
    assert_eq!(seen.body["status"]["observedGeneration"], 2);
    assert!(
        aws.targets().is_empty(),
        "no AWS call before the tenancy check"
    );
}

#[tokio::test]
async fn deleting_with_orphan_releases_the_finalizer_without_aws() {
    let (client, log, queue) = mock_api(vec![Expect {
        method: "PATCH",
        path: OBJECT,
        status: 200,
        answer: sgt(&[], true),
    }]);
    let (ctx, aws) = context(client, nobody());
    let object: SecurityGroupTightening =
        serde_json::from_value(sgt(&["sgtightener.io/cleanup"], true)).unwrap();
    Arc::new(object).reconcile(ctx).await.unwrap();
    assert!(
        queue.lock().unwrap().is_empty(),
        "the finalizer was not removed"
    );
    assert_eq!(log.lock().unwrap().len(), 1);
    assert!(aws.targets().is_empty());
    assert_eq!(aws.security_groups.mutations(), 0);
}
