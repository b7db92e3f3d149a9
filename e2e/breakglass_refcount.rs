//! e2e: reference-counted expiry (DESIGN I10). Two extensions need the same rule, both with
//! `onExpiry: Revoke`: the first expiring leaves it, the second expiring revokes it; a rule that
//! was there before any extension is never revoked; an operator restart between the two expiries
//! changes nothing, since the record lives in the extensions' statuses.

use crate::support::breakglass::{group_status, wait_phase, World};
use crate::support::tightening::patch_spec;
use serde_json::json;

const SHARED: &str = "tcp:443 10.4.0.0/16";
const BEFORE: &str = "tcp:443 10.9.0.0/16";

#[tokio::test]
async fn a_shared_rule_outlives_the_first_expiry_and_goes_with_the_last_even_across_a_restart() {
    let w = World::new("bge-refcount").await;
    let a = w.groups[0].clone();
    w.authorise(&a, 443, &[("10.9.0.0/16", "office, before any extension")])
        .await;
    let mut operator = w.s.operator().await;
    let extra = "  onExpiry: Revoke\n  expiresAfter: 1h\n";
    let first_yaml = w.explicit(
        "first",
        &[&a],
        &["10.4.0.0/16", "10.9.0.0/16"],
        &["tcp:443"],
        extra,
    );
    let first = w.create(&first_yaml).await;
    let applied = wait_phase(&first, "first", "Applied").await;
    assert_eq!(
        group_status(&applied, &a)["added"],
        json!([SHARED]),
        "10.9/16 was there before"
    );
    let second = w
        .create(&w.explicit("second", &[&a], &["10.4.0.0/16"], &["tcp:443"], extra))
        .await;
    let applied = wait_phase(&second, "second", "Applied").await;
    assert_eq!(
        group_status(&applied, &a)["shared"],
        json!([SHARED]),
        "found it, needs it too"
    );

    patch_spec(&first, "first", json!({ "expiresAfter": "1s" })).await;
    let expired = wait_phase(&first, "first", "Expired").await;
    let message =
        crate::support::condition(&expired, "Expired").expect("Expired")["message"].clone();
    assert!(
        message.to_string().contains("needed by extension"),
        "{message}"
    );
    let rules = w.rules(&a).await;
    assert!(
        rules.contains(SHARED),
        "the second extension still needs it: {rules:?}"
    );
    assert!(rules.contains(BEFORE), "{rules:?}");

    assert!(operator.stop().success(), "{}", operator.log_tail());
    let _restarted = w.s.operator().await;
    patch_spec(&second, "second", json!({ "expiresAfter": "1s" })).await;
    wait_phase(&second, "second", "Expired").await;
    let rules = w.rules(&a).await;
    assert!(
        !rules.contains(SHARED),
        "the last holder expired: revoked: {rules:?}"
    );
    assert!(
        w.described(&a)
            .await
            .contains(&format!("{BEFORE} (office, before any extension)")),
        "a rule present before any extension is never revoked"
    );
}
