//! e2e: after an apply, the SecurityGroupTightening's diagnosis finds REJECT records from a
//! private source the tightened rules no longer cover (`status.diagnosis`, `RejectedTraffic`).

use crate::support::flowlogs::upload_rejects;
use crate::support::tightening::{approve_and_apply, World, TIMEOUT};
use crate::support::{cluster::wait_for_within, condition, to_json};
use serde_json::json;

/// Inside the revoked 10.4.0.0/16, outside every observed source and the untouched 10.4.200.0/26
/// (on tcp/443 the untouched 0.0.0.0/0 would still cover it).
const UNCOVERED: &str = "10.4.99.7";

#[tokio::test]
async fn rejected_traffic_after_an_apply_is_diagnosed() {
    let w = World::new("sgt-diagnose", |_| false).await;
    let group = w.estate.group.clone();
    let _operator = w.s.operator().await;
    let spec = "  diagnose: {enabled: true, lookbackHours: 2, interval: 1m}\n";
    let api = w.create(&w.yaml("payments", &[&group], spec)).await;
    approve_and_apply(&api, "payments").await;

    upload_rejects(&w.account, &w.estate, UNCOVERED, 5432).await;
    let seen = wait_for_within(
        &api,
        "payments",
        "diagnose the rejected source",
        TIMEOUT,
        |o| {
            let sources = &to_json(o)["status"]["diagnosis"]["rejectedSources"];
            sources.as_array().is_some_and(|s| {
                s.iter().any(|r| {
                    r["source"]
                        .as_str()
                        .is_some_and(|x| x.starts_with(UNCOVERED))
                })
            }) && condition(o, "RejectedTraffic").is_some_and(|c| c["status"] == "True")
        },
    )
    .await;
    let diagnosis = &to_json(&seen)["status"]["diagnosis"];
    let found = diagnosis["rejectedSources"]
        .as_array()
        .and_then(|s| {
            s.iter().find(|r| {
                r["source"]
                    .as_str()
                    .is_some_and(|x| x.starts_with(UNCOVERED))
            })
        })
        .expect("the source")
        .clone();
    assert_eq!(found["port"], 5432, "{diagnosis:#}");
    assert_eq!(found["groupIds"], json!([group]), "{diagnosis:#}");
    assert_eq!(
        condition(&seen, "RejectedTraffic").expect("condition")["reason"],
        "RejectedTraffic"
    );
}
