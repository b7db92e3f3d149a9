//! Controller layer tests: the leader Lease against the mock API server — create when missing,
//! leave a live one alone, take an expired one with an optimistic replace, lose races quietly.

use super::*;
use crate::controller::leader::LeaderElector;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/ops/leases/sg-tightener";
const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/ops/leases";

fn elector(client: kube::Client) -> LeaderElector {
    LeaderElector::new(
        Api::<Lease>::namespaced(client, "ops"),
        "sg-tightener",
        "me",
        Duration::from_secs(15),
    )
}

fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})
}

#[tokio::test]
async fn a_missing_lease_is_created_with_this_replica_as_holder() {
    let created = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "sg-tightener"}});
    let (client, log, queue) = mock_api(vec![
        Expect {
            method: "GET",
            path: LEASE,
            status: 404,
            answer: not_found(),
        },
        Expect {
            method: "POST",
            path: LEASES,
            status: 201,
            answer: created,
        },
    ]);
    assert!(elector(client).try_acquire_or_renew().await.unwrap());
    assert!(queue.lock().unwrap().is_empty());
    let body = log.lock().unwrap()[1].body.clone();
    assert_eq!(body["spec"]["holderIdentity"], "me");
    assert_eq!(body["spec"]["leaseDurationSeconds"], 15);
}

#[tokio::test]
async fn a_live_lease_of_another_replica_is_not_touched() {
    let now = k8s_openapi::jiff::Timestamp::now();
    let held = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "sg-tightener", "resourceVersion": "7"},
        "spec": {"holderIdentity": "other", "leaseDurationSeconds": 15, "renewTime": now.to_string()}});
    let (client, log, _) = mock_api(vec![Expect {
        method: "GET",
        path: LEASE,
        status: 200,
        answer: held,
    }]);
    assert!(!elector(client).try_acquire_or_renew().await.unwrap());
    assert_eq!(log.lock().unwrap().len(), 1, "only the read");
}

#[tokio::test]
async fn a_lease_seen_unchanged_for_its_duration_is_taken_with_an_optimistic_replace() {
    let expired = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "sg-tightener", "resourceVersion": "7"},
        "spec": {"holderIdentity": "other", "leaseDurationSeconds": 15, "renewTime": "2020-01-01T00:00:00.000000Z", "leaseTransitions": 1}});
    let conflict = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409});
    let get = || Expect {
        method: "GET",
        path: LEASE,
        status: 200,
        answer: expired.clone(),
    };
    let (client, log, queue) = mock_api(vec![
        get(),
        get(),
        Expect {
            method: "PUT",
            path: LEASE,
            status: 200,
            answer: expired.clone(),
        },
        get(),
        get(),
        Expect {
            method: "PUT",
            path: LEASE,
            status: 409,
            answer: conflict,
        },
    ]);
    let elector = elector(client);
    assert!(
        !elector.try_acquire_or_renew().await.unwrap(),
        "a record seen for the first time is not expired, whatever its renewTime says"
    );
    elector.age_observation(Duration::from_secs(16));
    assert!(elector.try_acquire_or_renew().await.unwrap());
    let put = log.lock().unwrap()[2].body.clone();
    assert_eq!(put["metadata"]["resourceVersion"], "7");
    assert_eq!(put["spec"]["holderIdentity"], "me");
    assert_eq!(put["spec"]["leaseTransitions"], 2);
    assert!(!elector.try_acquire_or_renew().await.unwrap());
    elector.age_observation(Duration::from_secs(16));
    assert!(
        !elector.try_acquire_or_renew().await.unwrap(),
        "a lost race is not an error"
    );
    assert!(queue.lock().unwrap().is_empty());
}
