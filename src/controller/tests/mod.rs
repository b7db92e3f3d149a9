//! Controller layer tests against a mock API server: each expected request is asserted in order
//! and answered like kube-apiserver would; a missing or extra request fails the test.

use super::status::not_implemented;
use super::{Context, Reconciler};
use crate::aws::ec2::fake::FakeSecurityGroups;
use crate::aws::fake::FakeAws;
use crate::config::ControllerConfig;
use crate::domain::conditions::Condition;
use crate::metrics::Metrics;
use axum::http::{Request, Response};
use kube::client::Body;
use kube::runtime::controller::Action;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A stand-in kind with the status shape every sg-tightener kind has.
#[derive(CustomResource, Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "test.sgtightener.io",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus"
)]
pub struct WidgetSpec {
    pub size: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WidgetStatus {
    pub observed_generation: Option<i64>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

impl Reconciler for Widget {
    async fn reconcile(self: Arc<Self>, ctx: Arc<Context>) -> Result<Action, super::Error> {
        not_implemented(self, ctx).await
    }
}

/// One expected request and the answer to give.
struct Expect {
    method: &'static str,
    path: &'static str,
    status: u16,
    answer: Value,
}

/// What the mock saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    content_type: String,
    body: Value,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn mock_api(expected: Vec<Expect>) -> (kube::Client, Log, Arc<Mutex<VecDeque<Expect>>>) {
    let queue = Arc::new(Mutex::new(VecDeque::from(expected)));
    let log: Log = Arc::default();
    let (q, l) = (queue.clone(), log.clone());
    let service = tower::service_fn(move |request: Request<Body>| {
        let (q, l) = (q.clone(), l.clone());
        async move {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap_or_default();
            let content_type = parts
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            l.lock().unwrap().push(Seen {
                method: parts.method.to_string(),
                uri: parts.uri.to_string(),
                content_type: content_type.to_owned(),
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            });
            let next = q.lock().unwrap().pop_front();
            let (status, answer) = match next {
                Some(e) if e.method == parts.method.as_str() && e.path == parts.uri.path() => {
                    (e.status, e.answer)
                }
                Some(e) => (
                    599,
                    json!({"unexpected": format!("{} {}, wanted {} {}", parts.method, parts.uri, e.method, e.path)}),
                ),
                None => (
                    599,
                    json!({"unexpected": format!("{} {}", parts.method, parts.uri)}),
                ),
            };
            let response = Response::builder()
                .status(status)
                .body(Body::from(serde_json::to_vec(&answer).unwrap()))
                .unwrap();
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    (kube::Client::new(service, "default"), log, queue)
}

fn context(client: kube::Client) -> Arc<Context> {
    let aws = Arc::new(FakeAws::new(FakeSecurityGroups::default()));
    Arc::new(Context::new(
        client,
        Arc::new(ControllerConfig::default()),
        aws,
        Arc::new(Metrics::new()),
    ))
}

fn widget(generation: i64, status: Option<WidgetStatus>) -> Widget {
    let mut widget = Widget::new("w1", WidgetSpec { size: 1 });
    widget.metadata.namespace = Some("team-a".into());
    widget.metadata.generation = Some(generation);
    widget.status = status;
    widget
}

const WIDGET_STATUS: &str = "/apis/test.sgtightener.io/v1/namespaces/team-a/widgets/w1/status";

#[tokio::test]
async fn the_placeholder_applies_ready_unknown_with_the_generation_by_server_side_apply() {
    let answer = serde_json::to_value(widget(3, None)).unwrap();
    let (client, log, queue) = mock_api(vec![Expect {
        method: "PATCH",
        path: WIDGET_STATUS,
        status: 200,
        answer,
    }]);
    let action = Arc::new(widget(3, None))
        .reconcile(context(client))
        .await
        .unwrap();
    assert_eq!(action, Action::await_change());
    assert!(
        queue.lock().unwrap().is_empty(),
        "the status patch was not sent"
    );
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "PATCH");
    assert!(
        seen.uri.contains("fieldManager=sg-tightener") && seen.uri.contains("force=true"),
        "{}",
        seen.uri
    );
    assert_eq!(seen.content_type, "application/apply-patch+yaml");
    assert_eq!(seen.body["kind"], "Widget");
    assert_eq!(seen.body["status"]["observedGeneration"], 3);
    let ready = &seen.body["status"]["conditions"][0];
    assert_eq!(
        (
            ready["type"].as_str(),
            ready["status"].as_str(),
            ready["reason"].as_str()
        ),
        (Some("Ready"), Some("Unknown"), Some("NotImplemented"))
    );
    assert_eq!(ready["observedGeneration"], 3);
}

#[tokio::test]
async fn an_unchanged_status_is_not_written_again() {
    let ready = super::status::not_implemented_condition(Some(3), "2025-01-01T00:00:00Z".into());
    let status = WidgetStatus {
        observed_generation: Some(3),
        conditions: vec![ready],
    };
    let (client, log, _) = mock_api(vec![]);
    Arc::new(widget(3, Some(status)))
        .reconcile(context(client))
        .await
        .unwrap();
    assert!(log.lock().unwrap().is_empty(), "{:?}", log.lock().unwrap());
}

#[tokio::test]
async fn a_new_generation_is_written_and_keeps_the_transition_time() {
    let ready = super::status::not_implemented_condition(Some(3), "2025-01-01T00:00:00Z".into());
    let status = WidgetStatus {
        observed_generation: Some(3),
        conditions: vec![ready],
    };
    let answer = serde_json::to_value(widget(4, None)).unwrap();
    let (client, log, _) = mock_api(vec![Expect {
        method: "PATCH",
        path: WIDGET_STATUS,
        status: 200,
        answer,
    }]);
    Arc::new(widget(4, Some(status)))
        .reconcile(context(client))
        .await
        .unwrap();
    let body = log.lock().unwrap()[0].body.clone();
    assert_eq!(body["status"]["observedGeneration"], 4);
    assert_eq!(
        body["status"]["conditions"][0]["lastTransitionTime"],
        "2025-01-01T00:00:00Z"
    );
}

#[tokio::test]
async fn a_failed_status_patch_is_a_kubernetes_error_with_backoff() {
    let answer = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "etcd down", "reason": "InternalError", "code": 500});
    let (client, _, _) = mock_api(vec![Expect {
        method: "PATCH",
        path: WIDGET_STATUS,
        status: 500,
        answer,
    }]);
    let error = Arc::new(widget(1, None))
        .reconcile(context(client))
        .await
        .unwrap_err();
    assert_eq!(error.reason(), "KubernetesApiError");
    assert_eq!(error.retry(), super::Retry::Backoff);
    assert!(
        error
            .to_string()
            .starts_with("failed to patch status of Widget/team-a/w1"),
        "{error}"
    );
}

#[tokio::test]
async fn failures_back_off_per_object_by_kind_of_error() {
    use super::runner::error_policy;
    use crate::aws::AwsError;
    let (client, _, _) = mock_api(vec![]);
    let ctx = context(client);
    let object = Arc::new(widget(1, None));
    let throttled = super::Error::Aws(AwsError::from_code(
        "describe security groups",
        "RequestLimitExceeded",
        "",
        None,
    ));
    let first = error_policy(object.clone(), &throttled, ctx.clone());
    let second = error_policy(object.clone(), &throttled, ctx.clone());
    assert_eq!(
        (first, second),
        (
            Action::requeue(Duration::from_secs(5)),
            Action::requeue(Duration::from_secs(10))
        )
    );
    let denied = super::Error::Aws(AwsError::from_code("assume role", "AccessDenied", "", None));
    assert_eq!(
        error_policy(object.clone(), &denied, ctx.clone()),
        Action::requeue(super::error::SLOW_RETRY)
    );
    let invalid = super::Error::InvalidSpec("groups: empty".into());
    assert_eq!(error_policy(object, &invalid, ctx), Action::await_change());
}

#[tokio::test]
async fn the_runner_counts_reconciles_and_failures_and_resets_backoff_on_success() {
    use super::runner::{object_key, reconcile};
    let answer = serde_json::to_value(widget(1, None)).unwrap();
    let failure = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "InternalError", "code": 500});
    let (client, _, _) = mock_api(vec![
        Expect {
            method: "PATCH",
            path: WIDGET_STATUS,
            status: 500,
            answer: failure,
        },
        Expect {
            method: "PATCH",
            path: WIDGET_STATUS,
            status: 200,
            answer,
        },
    ]);
    let ctx = context(client);
    let object = Arc::new(widget(1, None));
    let key = object_key(object.as_ref());
    assert!(reconcile(object.clone(), ctx.clone()).await.is_err());
    ctx.backoff.next(&key); // what error_policy records for the failure
    reconcile(object, ctx.clone()).await.unwrap();
    assert_eq!(
        ctx.backoff.next(&key),
        Duration::from_secs(5),
        "success resets the backoff"
    );
    let text = ctx.metrics.encode();
    assert!(
        text.contains("sgtightener_reconciles_total{kind=\"Widget\"} 2"),
        "{text}"
    );
    assert!(
        text.contains(
            "sgtightener_reconcile_errors_total{kind=\"Widget\",reason=\"KubernetesApiError\"} 1"
        ),
        "{text}"
    );
}

mod lease;
mod tightening;
