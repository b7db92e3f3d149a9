//! e2e: the operator killed mid-apply — after it authorised the new rules, while its revoke is
//! held by a fault-injecting proxy in front of moto — and restarted: the apply completes, and no
//! original rule was ever gone before its replacements were present.

use crate::support::estate;
use crate::support::proxy::FaultProxy;
use crate::support::tightening::{
    applied_rules, patch_spec, plan, plan_rules, timing, wait_condition, wait_plan, World, TIMEOUT,
};
use crate::support::{condition, env};
use serde_json::json;
use std::time::Instant;

#[tokio::test]
async fn an_operator_killed_between_authorise_and_revoke_completes_the_apply_on_restart() {
    let w = World::new("sgt-crash", |_| false).await;
    let group = w.estate.group.clone();
    let original = estate::rules(&w.account, &group).await;
    let proxy = FaultProxy::start(&env().moto_url, "RevokeSecurityGroupIngress").await;
    let proxied = proxy.url.clone();
    let mut first =
        w.s.operator_with(|b| b.config(|c| c.aws.endpoint_url = proxied))
            .await;
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    let planned = plan(&wait_plan(&api, "payments").await);
    let hash = planned["hash"].as_str().expect("hash").to_owned();
    let authorise = plan_rules(&planned, &group, "authorise");

    patch_spec(&api, "payments", json!({ "approved": hash })).await;
    tokio::time::timeout(TIMEOUT, proxy.wait_held())
        .await
        .unwrap_or_else(|_| panic!("no revoke reached the proxy; actions {:?}", proxy.actions()));
    // The revoke is in flight and held: the new rules are in, the old ones still there.
    let mid = estate::rules(&w.account, &group).await;
    for rule in authorise.iter().chain(&original) {
        assert!(
            mid.contains(rule),
            "{rule} missing while the revoke is held: {mid:?}"
        );
    }
    let pid = i32::try_from(first.pid()).expect("pid");
    // SAFETY: kill(2) on our own unreaped child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let exit = first.stop();
    assert!(!exit.success(), "the operator was killed: {exit}");
    let actions = proxy.actions();
    let first_revoke = actions
        .iter()
        .position(|a| a == "RevokeSecurityGroupIngress");
    let last_authorise = actions
        .iter()
        .rposition(|a| a == "AuthorizeSecurityGroupIngress");
    assert!(
        matches!((last_authorise, first_revoke), (Some(a), Some(r)) if a < r),
        "authorise before revoke: {actions:?}"
    );
    let killed = api.get("payments").await.expect("get");
    assert!(
        condition(&killed, "Applied").is_none_or(|c| c["status"] != "True"),
        "Applied before the revoke ran"
    );

    let restarted = Instant::now();
    let _second = w.s.operator().await; // straight to moto
    wait_condition(&api, "payments", "Applied", "True", "").await;
    timing("restart → Applied", restarted);
    let expected = applied_rules(&original, &planned, &group);
    assert_eq!(
        estate::rules(&w.account, &group).await,
        expected,
        "final rules = the plan"
    );
}
