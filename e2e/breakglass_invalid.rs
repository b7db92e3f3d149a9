//! e2e: bad break-glass input never reaches AWS (DESIGN I12). The API server refuses what the
//! schema and CEL can see; a CIDR broader than the configuration's `broadestPrefix` is
//! `Ready=False, reason=InvalidSpec`, with not one AWS request on its behalf.

use crate::support::breakglass::World;
use crate::support::env;
use crate::support::proxy::FaultProxy;
use crate::support::tightening::wait_condition;

#[tokio::test]
async fn malformed_extensions_are_refused_by_the_api_server() {
    let w = World::new("bge-refused").await;
    let a = w.groups[0].clone();
    let cases = [
        (
            "world",
            w.explicit("world", &[&a], &["0.0.0.0/0"], &["tcp:443"], ""),
            "0.0.0.0/0",
        ),
        (
            "prefix",
            w.explicit("prefix", &[&a], &["10.0.0.0/33"], &["tcp:443"], ""),
            "cidrs",
        ),
        (
            "port",
            w.explicit("port", &[&a], &["10.4.0.0/16"], &["tcp:99999"], ""),
            "ports",
        ),
        (
            "group",
            w.explicit("group", &["sg-xyz"], &["10.4.0.0/16"], &["tcp:443"], ""),
            "groupIds",
        ),
    ];
    for (name, yaml, field) in cases {
        let error =
            w.s.create_yaml(&yaml)
                .await
                .err()
                .unwrap_or_else(|| panic!("{name}: the API server accepted it"));
        assert!(error.to_string().contains(field), "{name}: {error}");
    }
}

#[tokio::test]
async fn a_cidr_broader_than_broadest_prefix_is_invalid_spec_without_any_aws_request() {
    let w = World::new("bge-broad").await;
    let a = w.groups[0].clone();
    let proxy = FaultProxy::start(&env().moto_url, "NothingIsHeld").await;
    let proxied = proxy.url.clone();
    let _operator =
        w.s.operator_with(|b| b.config(|c| c.aws.endpoint_url = proxied))
            .await;
    let api = w
        .create(&w.explicit("broad", &[&a], &["10.0.0.0/8"], &["tcp:443"], ""))
        .await;
    let seen = wait_condition(&api, "broad", "Ready", "False", "InvalidSpec").await;
    let message = crate::support::condition(&seen, "Ready").expect("Ready")["message"].clone();
    assert!(message.to_string().contains("10.0.0.0/8"), "{message}");
    for mention in [w.account.id.as_str(), a.as_str()] {
        let requests = proxy.requests_mentioning(mention);
        assert!(
            requests.is_empty(),
            "AWS requests about {mention}: {requests:?}"
        );
    }
    assert!(w.rules(&a).await.is_empty());
    // The same check sees requests once the extension is fixed: it is not vacuous.
    crate::support::tightening::patch_spec(
        &api,
        "broad",
        serde_json::json!({"rules": {"cidrs": ["10.4.0.0/16"], "ports": ["tcp:443"]}}),
    )
    .await;
    wait_condition(&api, "broad", "Ready", "True", "BreakGlassApplied").await;
    assert!(!proxy.requests_mentioning(&a).is_empty());
}
