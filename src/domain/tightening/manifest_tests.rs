//! Domain layer (pure): the manifest's apply and revert arithmetic from every intermediate state.

use super::manifest::GroupManifest;
use crate::domain::plan::GroupPlan;
use crate::domain::rules::{ingress_rules, permissions_from_strings};
use crate::domain::snapshot::{IpPermission, IpRange, SecurityGroup};

fn group(rules: &[(&str, Option<&str>)]) -> SecurityGroup {
    let perms: Vec<IpPermission> = rules
        .iter()
        .flat_map(|(text, description)| {
            permissions_from_strings(&[text.to_string()], |_| description.map(String::from))
                .unwrap()
        })
        .collect();
    SecurityGroup {
        group_id: "sg-1".into(),
        ip_permissions: perms,
        ..SecurityGroup::default()
    }
}

fn manifest() -> GroupManifest {
    let plan = GroupPlan {
        group_id: "sg-1".into(),
        revoke: vec!["tcp:443 10.0.0.0/16".into()],
        authorise: vec!["tcp:443 10.0.10.0/27".into(), "tcp:443 10.0.20.0/28".into()],
        ..GroupPlan::default()
    };
    let before = group(&[
        ("tcp:443 10.0.0.0/16", Some("office")),
        ("tcp:22 10.9.0.0/16", None),
    ]);
    GroupManifest::new(&plan, &before, "sg-tightener abc")
}

fn strings(perms: &[IpPermission]) -> Vec<String> {
    let g = SecurityGroup {
        ip_permissions: perms.to_vec(),
        ..SecurityGroup::default()
    };
    ingress_rules(&g)
        .unwrap()
        .iter()
        .map(|r| r.to_string())
        .collect()
}

#[test]
fn a_fresh_apply_authorises_every_new_rule_with_the_description_and_revokes_the_old() {
    let m = manifest();
    let live = group(&[
        ("tcp:443 10.0.0.0/16", Some("office")),
        ("tcp:22 10.9.0.0/16", None),
    ]);
    let calls = m.apply_calls(&live).unwrap();
    assert_eq!(
        strings(&calls.authorise),
        ["tcp:443 10.0.10.0/27", "tcp:443 10.0.20.0/28"]
    );
    assert!(calls.authorise[0]
        .ip_ranges
        .iter()
        .all(|r| r.description.as_deref() == Some("sg-tightener abc")));
    assert_eq!(strings(&calls.revoke), ["tcp:443 10.0.0.0/16"]);
    assert_eq!(
        calls.revoke[0].ip_ranges[0].description.as_deref(),
        Some("office")
    );
}

#[test]
fn an_apply_interrupted_after_part_of_the_authorise_finishes_without_repeating_it() {
    let m = manifest();
    let live = group(&[
        ("tcp:443 10.0.0.0/16", Some("office")),
        ("tcp:22 10.9.0.0/16", None),
        ("tcp:443 10.0.10.0/27", Some("sg-tightener abc")),
    ]);
    let calls = m.apply_calls(&live).unwrap();
    assert_eq!(strings(&calls.authorise), ["tcp:443 10.0.20.0/28"]);
    assert_eq!(strings(&calls.revoke), ["tcp:443 10.0.0.0/16"]);
}

#[test]
fn a_finished_apply_needs_no_call_and_its_revert_restores_exactly() {
    let m = manifest();
    let after = group(&[
        ("tcp:22 10.9.0.0/16", None),
        ("tcp:443 10.0.10.0/27", Some("sg-tightener abc")),
        ("tcp:443 10.0.20.0/28", Some("sg-tightener abc")),
    ]);
    assert!(m.apply_calls(&after).unwrap().is_empty());
    let revert = m.revert_calls(&after).unwrap();
    assert_eq!(strings(&revert.authorise), ["tcp:443 10.0.0.0/16"]);
    assert_eq!(
        revert.authorise[0].ip_ranges[0].description.as_deref(),
        Some("office")
    );
    assert_eq!(
        strings(&revert.revoke),
        ["tcp:443 10.0.10.0/27", "tcp:443 10.0.20.0/28"]
    );
    let restored = group(&[
        ("tcp:443 10.0.0.0/16", Some("office")),
        ("tcp:22 10.9.0.0/16", None),
    ]);
    assert!(m.differences(&restored).unwrap().is_empty());
    assert!(m.revert_calls(&restored).unwrap().is_empty());
}

#[test]
fn differences_name_missing_unexpected_and_changed_descriptions() {
    let m = manifest();
    let mut live = group(&[
        ("tcp:443 10.0.0.0/16", Some("edited")),
        ("udp:53 10.1.0.0/16", None),
    ]);
    live.ip_permissions.push(IpPermission {
        ip_protocol: "tcp".into(),
        from_port: Some(80),
        to_port: Some(80),
        ip_ranges: vec![IpRange {
            cidr_ip: "10.2.0.0/16".into(),
            description: None,
        }],
        ..IpPermission::default()
    });
    let diff = m.differences(&live).unwrap();
    assert_eq!(
        diff,
        [
            "missing tcp:22 10.9.0.0/16",
            "description of tcp:443 10.0.0.0/16 is \"edited\", was \"office\"",
            "unexpected tcp:80 10.2.0.0/16",
            "unexpected udp:53 10.1.0.0/16",
        ]
    );
}

#[test]
fn revert_leaves_rules_someone_else_added_alone() {
    let m = manifest();
    let live = group(&[("tcp:22 10.9.0.0/16", None), ("tcp:8080 10.3.0.0/16", None)]);
    let calls = m.revert_calls(&live).unwrap();
    assert!(calls.revoke.is_empty());
    assert_eq!(strings(&calls.authorise), ["tcp:443 10.0.0.0/16"]);
}
