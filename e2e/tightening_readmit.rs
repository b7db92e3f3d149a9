//! e2e: re-admitting a source after an apply (issue 8, point 7). The apply locks out a source
//! the evidence never saw; diagnose reports it; the user vouches for it in
//! `evidence.additionalSources`; the new plan is computed from the rules before the apply
//! (recorded in its manifest) and authorises the source inside the original broad rule; once
//! approved it is allowed; a revert restores the state before the FIRST apply, exactly.

use crate::support::cluster::wait_for_within;
use crate::support::estate;
use crate::support::flowlogs::upload_rejects;
use crate::support::tightening::{
    approve_and_apply, parse_rule, patch_spec, plan, plan_rules, timing, wait_condition, wait_plan,
    World, TIMEOUT,
};
use crate::support::to_json;
use ipnet::{IpNet, Ipv4Net};
use serde_json::json;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Instant;

/// Inside the original `tcp:5432 10.4.0.0/16`, outside every observed source and the untouched
/// `10.4.200.0/26`.
const LOCKED_OUT: &str = "10.4.99.7";

/// True when one of `rules` (rule strings) lets `LOCKED_OUT` in on tcp/5432.
fn allows(rules: &BTreeSet<String>) -> bool {
    let address: Ipv4Addr = LOCKED_OUT.parse().expect("address");
    rules
        .iter()
        .filter(|r| r.starts_with("tcp:5432 "))
        .any(|r| matches!(parse_rule(r).1, IpNet::V4(n) if n.contains(&address)))
}

#[tokio::test]
async fn a_locked_out_source_is_re_admitted_and_revert_restores_the_state_before_the_first_apply() {
    let w = World::new("sgt-readmit", |_| false).await;
    let group = w.estate.group.clone();
    let original = estate::rules_with_descriptions(&w.account, &group).await;
    let _operator = w.s.operator().await;
    let spec = "  diagnose: {enabled: true, lookbackHours: 2, interval: 1m}\n";
    let api = w.create(&w.yaml("payments", &[&group], spec)).await;
    let first = approve_and_apply(&api, "payments").await;
    let tightened = estate::rules(&w.account, &group).await;
    assert!(
        !allows(&tightened),
        "the apply locks the source out: {tightened:?}"
    );

    upload_rejects(&w.account, &w.estate, LOCKED_OUT, 5432).await;
    wait_for_within(
        &api,
        "payments",
        "diagnose the locked-out source",
        TIMEOUT,
        |o| {
            to_json(o)["status"]["diagnosis"]["rejectedSources"]
                .as_array()
                .is_some_and(|s| {
                    s.iter().any(|r| {
                        r["source"]
                            .as_str()
                            .is_some_and(|x| x.starts_with(LOCKED_OUT))
                    })
                })
        },
    )
    .await;

    let started = Instant::now();
    let vouched = json!({"evidence": {"additionalSources": [
        {"cidr": format!("{LOCKED_OUT}/32"), "description": "diagnose finding (e2e)"}
    ]}});
    patch_spec(&api, "payments", vouched).await;
    let second = plan(&wait_plan(&api, "payments").await);
    assert_ne!(second["hash"], first["hash"]);
    let authorise = plan_rules(&second, &group, "authorise");
    let added: BTreeSet<String> = authorise.iter().cloned().collect();
    assert!(
        allows(&added),
        "the new plan re-admits the source: {second:#}"
    );
    let original_5432: Ipv4Net = "10.4.0.0/16".parse().expect("net");
    for rule in authorise.iter().filter(|r| r.starts_with("tcp:5432 ")) {
        let (_, net) = parse_rule(rule);
        assert!(
            matches!(net, IpNet::V4(n) if original_5432.contains(&n)),
            "never wider than the original rule: {rule}"
        );
    }
    for rule in plan_rules(&second, &group, "revoke") {
        assert!(
            tightened.contains(&rule),
            "revokes only live (tightened) rules: {rule}"
        );
    }
    assert_eq!(
        estate::rules(&w.account, &group).await,
        tightened,
        "nothing changes before the approval"
    );

    patch_spec(&api, "payments", json!({ "approved": second["hash"] })).await;
    wait_for_within(
        &api,
        "payments",
        "apply the re-admitting plan",
        TIMEOUT,
        |o| {
            let j = to_json(o);
            j["status"]["applied"]["planHash"] == second["hash"]
                && j["status"]["applied"]["finishedAt"].is_string()
        },
    )
    .await;
    timing("re-admission: vouch → plan → apply", started);
    let readmitted = estate::rules(&w.account, &group).await;
    assert!(allows(&readmitted), "the source is allowed: {readmitted:?}");
    for rule in [
        "tcp:443 10.0.0.0/16",
        "tcp:5432 10.4.0.0/16",
        "tcp:8443 10.8.0.0/16",
    ] {
        assert!(
            !readmitted.contains(rule),
            "the broad rule stays revoked: {rule}"
        );
    }

    patch_spec(&api, "payments", json!({ "revert": true })).await;
    wait_condition(&api, "payments", "Reverted", "True", "Reverted").await;
    assert_eq!(
        estate::rules_with_descriptions(&w.account, &group).await,
        original,
        "the state before the FIRST apply, descriptions included"
    );
}
