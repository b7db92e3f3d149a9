//! e2e: evidence that cannot lock anyone out (issue 8) — an interface deleted after 89 days of
//! flows keeps its sources.

use crate::support::flowlogs::{self, Interface};
use crate::support::tightening::{parse_rule, plan, plan_rules, wait_plan, World};
use crate::support::{condition, to_json};

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
