//! Controller layer tests: claim names and contents, all-or-nothing and kind-agnostic claims.

use super::*;

fn key(group: &str) -> GroupKey {
    GroupKey {
        account: "123456789012".into(),
        region: "af-south-1".into(),
        group_id: group.into(),
    }
}

fn holder(kind: &str, name: &str) -> Holder {
    Holder {
        kind: kind.into(),
        namespace: "payments".into(),
        name: name.into(),
    }
}

#[test]
fn a_claim_is_named_from_account_region_and_group() {
    assert_eq!(
        key("sg-0123456789abcdef0").object_name(),
        "sgt-claim-123456789012-af-south-1-sg-0123456789abcdef0"
    );
    let cm = KubeClaims::config_map(&key("sg-1"), &holder("SecurityGroupTightening", "web"));
    assert_eq!(holder_of(&cm), holder("SecurityGroupTightening", "web"));
    let labels = cm.metadata.labels.unwrap();
    assert_eq!(labels["sgtightener.io/holder-name"], "web");
}

#[tokio::test]
async fn claims_are_all_or_nothing_and_kind_agnostic() {
    let claims = MemoryClaims::default();
    let compaction = holder("SecurityGroupCompaction", "compact");
    let web = holder("SecurityGroupTightening", "web");
    assert_eq!(
        claims.claim(&[key("sg-2")], &compaction).await.unwrap(),
        None
    );
    let refused = claims
        .claim(&[key("sg-1"), key("sg-2")], &web)
        .await
        .unwrap()
        .expect("sg-2 is held");
    assert_eq!(refused.holder, compaction);
    assert!(
        claims
            .held_by_other(&[key("sg-1")], &compaction)
            .await
            .unwrap()
            .is_none(),
        "nothing of the refused claim is left behind"
    );
    claims.release_all(&compaction).await.unwrap();
    assert_eq!(
        claims
            .claim(&[key("sg-1"), key("sg-2")], &web)
            .await
            .unwrap(),
        None
    );
    claims.gone.lock().unwrap().push(web.clone());
    assert_eq!(
        claims.claim(&[key("sg-1")], &compaction).await.unwrap(),
        None,
        "the claim of a deleted resource is taken over"
    );
}
