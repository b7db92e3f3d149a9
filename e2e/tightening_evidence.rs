//! e2e: evidence that cannot lock anyone out (issue 8) — an interface deleted after 89 days of
//! flows keeps its sources, an interface no flow log captures is a gap, unreadable objects are a
//! gap, an approval after `evidence.maxAge` reads the logs again and asks for the new plan.

use crate::support::estate::{self, flow_log, ENI_IP};
use crate::support::flowlogs::{self, Interface};
use crate::support::tightening::{
    parse_rule, patch_spec, plan, plan_rules, wait_condition, wait_plan, World, TIMEOUT,
};
use crate::support::{cluster::wait_for_within, condition, eventually, to_json};
use serde_json::json;

/// Creates an interface of the payments group at `address` in `subnet`; returns its id.
async fn interface(w: &World, subnet: &str, address: &str) -> String {
    w.account
        .ec2()
        .create_network_interface()
        .subnet_id(subnet)
        .groups(&w.estate.group)
        .private_ip_address(address)
        .send()
        .await
        .expect("create_network_interface")
        .network_interface()
        .and_then(|n| n.network_interface_id())
        .expect("eni id")
        .to_owned()
}

#[tokio::test]
async fn a_deleted_interfaces_89_days_of_flows_keep_their_sources() {
    let w = World::new("sgt-churn", |_| false).await;
    let group = w.estate.group.clone();
    // an instance replaced yesterday: 89 days of clients on its interface, then it is gone
    let old_ip = "10.100.1.20";
    let old = interface(&w, &w.estate.subnet, old_ip).await;
    let to = Interface {
        id: &old,
        address: old_ip,
    };
    flowlogs::upload_days_to(
        &w.account,
        &w.estate,
        to,
        &[([10, 0, 30, 0], 16, 443)],
        89,
        "old",
    )
    .await;
    w.account
        .ec2()
        .delete_network_interface()
        .network_interface_id(&old)
        .send()
        .await
        .expect("delete_network_interface");
    let _operator = w.s.operator().await;
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    let planned = wait_plan(&api, "payments").await;
    let status = &to_json(&planned)["status"];
    let authorise = plan_rules(&plan(&planned), &group, "authorise");
    for n in 0..16u8 {
        let source: std::net::IpAddr = format!("10.0.30.{n}").parse().unwrap();
        assert!(
            authorise.iter().any(|r| {
                let (ports, net) = parse_rule(r);
                ports == "tcp:443" && net.contains(&source)
            }),
            "{source} (seen only on the deleted interface) locked out: {authorise:?}"
        );
    }
    let evidence = &status["evidence"];
    assert_eq!(evidence["vanishedInterfaces"], 1, "{evidence:#}");
    assert!(
        evidence["vanishedInterfaceFlows"]
            .as_u64()
            .is_some_and(|n| n >= 16),
        "{evidence:#}"
    );
    assert_eq!(
        evidence["sourcesKeptForVanishedInterfaces"], 16,
        "{evidence:#}"
    );
    let warnings = &status["plan"]["groups"][0]["warnings"];
    assert!(
        warnings.as_array().into_iter().flatten().any(|w| w
            .as_str()
            .is_some_and(|w| w.starts_with("16 source(s) kept only"))),
        "{warnings:#}"
    );
    let complete = condition(&planned, "EvidenceComplete").expect("EvidenceComplete");
    assert_eq!(complete["status"], "True", "{complete}");
}

#[tokio::test]
async fn an_interface_in_a_subnet_without_a_flow_log_is_a_gap() {
    let w = World::new("sgt-unlogged", |_| false).await;
    let group = w.estate.group.clone();
    let ec2 = w.account.ec2();
    // the VPC's flow log becomes a flow log of the estate's subnet only
    ec2.delete_flow_logs()
        .flow_log_ids(&w.estate.flow_log)
        .send()
        .await
        .expect("delete_flow_logs");
    flow_log(&w.account, &w.estate.subnet, &w.estate.bucket).await;
    let unlogged_subnet = ec2
        .create_subnet()
        .vpc_id(&w.estate.vpc)
        .cidr_block("10.100.2.0/24")
        .send()
        .await
        .expect("create_subnet")
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet id")
        .to_owned();
    let unlogged = interface(&w, &unlogged_subnet, "10.100.2.10").await;
    let _operator = w.s.operator().await;
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    let planned = wait_plan(&api, "payments").await;
    let complete = condition(&planned, "EvidenceComplete").expect("EvidenceComplete");
    assert_eq!(complete["status"], "False", "{complete}");
    let message = complete["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("1 interface(s) not captured by an active flow log")
            && message.contains(&unlogged),
        "{message}"
    );
    assert!(
        !message.contains(&w.estate.eni),
        "the logged one is no gap: {message}"
    );
    let evidence = &to_json(&planned)["status"]["evidence"];
    assert_eq!(evidence["interfacesWithoutFlowLog"], json!([unlogged]));
    assert_eq!(evidence["interfaces"], 2);
    let logs = evidence["flowLogs"].as_array().cloned().unwrap_or_default();
    assert_eq!(logs.len(), 1, "{evidence:#}");
    assert_eq!(logs[0]["resourceId"], w.estate.subnet.as_str());
    assert!(logs[0]["createdAt"].is_string(), "{evidence:#}");
}

#[tokio::test]
async fn eight_percent_of_objects_unreadable_is_a_gap_that_refuses_the_apply() {
    let w = World::new("sgt-unreadable", |_| false).await;
    let group = w.estate.group.clone();
    // 90 daily objects + 8 broken ones: 8 of 98 unreadable (8.2%, under the 10% refusal)
    flowlogs::upload_unreadable(&w.account, &w.estate, 8).await;
    let before = estate::rules_with_descriptions(&w.account, &group).await;
    let _operator = w.s.operator().await;
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    let planned = wait_plan(&api, "payments").await;
    let complete = condition(&planned, "EvidenceComplete").expect("EvidenceComplete");
    assert_eq!(complete["status"], "False", "{complete}");
    assert!(
        complete["message"]
            .as_str()
            .is_some_and(|m| m.contains("8 flow-log object(s) could not be read")),
        "{complete}"
    );
    assert_eq!(
        to_json(&planned)["status"]["evidence"]["unreadableObjects"],
        8
    );
    let hash = plan(&planned)["hash"].as_str().expect("hash").to_owned();
    patch_spec(&api, "payments", json!({ "approved": hash })).await;
    let seen = wait_condition(&api, "payments", "Ready", "False", "EvidenceIncomplete").await;
    assert!(to_json(&seen)["status"]["applied"].is_null());
    assert_eq!(
        estate::rules_with_descriptions(&w.account, &group).await,
        before
    );
}

#[tokio::test]
async fn an_approval_after_max_age_reads_the_logs_again_and_asks_for_the_new_hash() {
    let w = World::new("sgt-maxage", |_| false).await;
    let group = w.estate.group.clone();
    let before = estate::rules_with_descriptions(&w.account, &group).await;
    let _operator = w.s.operator().await;
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    // evidence older than a second is read again on every approval
    patch_spec(&api, "payments", json!({"evidence": {"maxAge": "1s"}})).await;
    let planned = wait_plan(&api, "payments").await;
    let old = plan(&planned);
    let old_hash = old["hash"].as_str().expect("hash").to_owned();
    // the plan's evidence may come from the shared store in an instant: approve only once it is
    // older than maxAge, or the approval rightly finds it fresh
    let collected: jiff::Timestamp = to_json(&planned)["status"]["evidence"]["collectedAt"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("status.evidence.collectedAt");
    eventually("the evidence to be older than maxAge", TIMEOUT, || async {
        let age = jiff::Timestamp::now().duration_since(collected);
        match age > jiff::SignedDuration::from_secs(2) {
            true => Ok(()),
            false => Err(format!("collected {age:?} ago")),
        }
    })
    .await;
    // after the plan, yesterday's logs show a client the plan does not know
    let to = Interface {
        id: &w.estate.eni,
        address: ENI_IP,
    };
    flowlogs::upload_days_to(
        &w.account,
        &w.estate,
        to,
        &[([10, 0, 40, 0], 4, 443)],
        1,
        "late",
    )
    .await;
    patch_spec(&api, "payments", json!({ "approved": old_hash })).await;
    let stale = wait_for_within(
        &api,
        "payments",
        "EvidenceStale and a new plan",
        TIMEOUT,
        |o| {
            let j = to_json(o);
            j["status"]["plan"]["hash"]
                .as_str()
                .is_some_and(|h| h != old_hash)
                && condition(o, "Ready").is_some_and(|c| c["reason"] == "EvidenceStale")
        },
    )
    .await;
    let status = &to_json(&stale)["status"];
    let new_hash = status["plan"]["hash"].as_str().expect("hash").to_owned();
    let message = condition(&stale, "Ready").unwrap_or_default()["message"].clone();
    assert!(
        message
            .as_str()
            .is_some_and(|m| m.contains(&new_hash[..12])),
        "{message}"
    );
    assert!(status["applied"].is_null(), "{status:#}");
    assert_eq!(
        estate::rules_with_descriptions(&w.account, &group).await,
        before,
        "the stale approval changed nothing"
    );
    let authorise = plan_rules(&status["plan"], &group, "authorise");
    let late: std::net::IpAddr = "10.0.40.3".parse().unwrap();
    assert!(
        authorise.iter().any(|r| parse_rule(r).1.contains(&late)),
        "{authorise:?}"
    );
    patch_spec(&api, "payments", json!({ "approved": new_hash })).await;
    wait_condition(&api, "payments", "Applied", "True", "").await;
}
