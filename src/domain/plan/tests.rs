//! Domain layer (pure): unit tests of the tightening plan.

use super::*;
use crate::domain::evidence::Flow;
use crate::domain::rules::{parse_rule, to_permissions, BREAK_GLASS_PREFIX};
use crate::domain::snapshot::{SecurityGroup, Tag};

/// A group from rule strings; a `#text` suffix becomes the rule's description.
pub(super) fn group(id: &str, rules: &[&str]) -> SecurityGroup {
    let rules: Vec<_> = rules
        .iter()
        .map(|text| {
            let (rule, description) = text
                .split_once('#')
                .map_or((*text, None), |(r, d)| (r, Some(d.to_string())));
            let mut rule = parse_rule(rule.trim()).unwrap();
            rule.description = description;
            rule
        })
        .collect();
    SecurityGroup {
        group_id: id.into(),
        vpc_id: Some("vpc-1".into()),
        ip_permissions: to_permissions(&rules),
        ..Default::default()
    }
}

fn flows(sources: &[&str], port: u16) -> Vec<Flow> {
    sources
        .iter()
        .map(|s| Flow {
            source: s.parse().unwrap(),
            destination: "10.100.0.10".parse().unwrap(),
            interface_id: None,
            protocol: 6,
            port,
            records: 1,
        })
        .collect()
}

fn range(base: &str, count: u32) -> Vec<String> {
    let start = u32::from(base.parse::<std::net::Ipv4Addr>().unwrap());
    (0..count)
        .map(|i| std::net::Ipv4Addr::from(start + i).to_string())
        .collect()
}

fn plan(groups: &[SecurityGroup], flows: &[Flow], options: &PlanOptions) -> Plan {
    build_plan(
        groups,
        &Evidence {
            flows,
            interfaces: None,
            vpcs: None,
        },
        options,
    )
    .unwrap()
    .plan
}

fn article_flows() -> Vec<Flow> {
    let mut web: Vec<String> = range("10.0.10.0", 32);
    web.extend(["10.0.20.10".into(), "10.0.20.11".into()]);
    let mut out = flows(&web.iter().map(String::as_str).collect::<Vec<_>>(), 443);
    out.extend(flows(
        &range("10.4.8.0", 8)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        5432,
    ));
    let mut api = range("10.8.2.0", 16);
    api.extend(range("10.8.16.0", 16));
    out.extend(flows(
        &api.iter().map(String::as_str).collect::<Vec<_>>(),
        8443,
    ));
    out
}

#[test]
fn the_articles_worked_example_shrinks_196608_addresses_to_74() {
    let sg = group(
        "sg-app",
        &[
            "tcp:443 10.0.0.0/16",
            "tcp:5432 10.4.0.0/16",
            "tcp:8443 10.8.0.0/16",
            "tcp:443 0.0.0.0/0",
            "tcp:22 sg-0bastion",
        ],
    );
    let plan = plan(&[sg], &article_flows(), &PlanOptions::default());
    let g = &plan.groups[0];
    assert_eq!(
        g.revoke,
        [
            "tcp:443 10.0.0.0/16",
            "tcp:5432 10.4.0.0/16",
            "tcp:8443 10.8.0.0/16"
        ]
    );
    assert_eq!(
        g.authorise,
        [
            "tcp:443 10.0.10.0/27",
            "tcp:443 10.0.20.10/31",
            "tcp:5432 10.4.8.0/29",
            "tcp:8443 10.8.2.0/28",
            "tcp:8443 10.8.16.0/28"
        ]
    );
    assert_eq!(
        (plan.summary.addresses_before, plan.summary.addresses_after),
        (196_608, 74)
    );
    assert_eq!(plan.summary.reduction_percent, 99.96);
    assert_eq!(
        (g.untouched_rules, g.budget, g.interruption),
        (2, 58, false)
    );
    assert_eq!(plan.hash.len(), 64);
}

#[test]
fn replacements_never_leave_their_rules_cidr_even_when_other_sources_were_seen() {
    // The seed built replacements from every source in the region: 172.16.5.5 would have been
    // authorised on a 10.0.0.0/16 rule. Invariant I1 forbids it.
    let sg = group("sg-1", &["tcp:443 10.0.0.0/16", "tcp:22 172.16.0.0/12"]);
    let mut evidence = flows(&["10.0.0.1", "172.16.5.5"], 443);
    evidence.extend(flows(&["172.16.9.9"], 22));
    let plan = plan(&[sg], &evidence, &PlanOptions::default());
    assert_eq!(
        plan.groups[0].authorise,
        ["tcp:22 172.16.9.9/32", "tcp:443 10.0.0.1/32"]
    );
}

#[test]
fn a_rule_whose_evidence_fills_it_is_left_alone_rather_than_revoked_and_re_added() {
    let sg = group("sg-1", &["tcp:443 10.0.0.0/16"]);
    let plan = plan(
        &[sg],
        &flows(&["10.0.0.1"], 443),
        &PlanOptions {
            tolerance: 1.0,
            ..Default::default()
        },
    );
    assert!(plan.groups[0].revoke.is_empty() && plan.groups[0].authorise.is_empty());
}

#[test]
fn rules_without_evidence_are_kept_by_default_and_revoked_on_request() {
    let sg = group("sg-1", &["tcp:443 10.0.0.0/16", "tcp:5432 10.4.0.0/16"]);
    let evidence = flows(&["10.0.0.1"], 443);
    let kept = plan(
        std::slice::from_ref(&sg),
        &evidence,
        &PlanOptions::default(),
    );
    assert_eq!(kept.groups[0].revoke, ["tcp:443 10.0.0.0/16"]);
    assert_eq!(kept.groups[0].untouched_rules, 1);
    assert!(
        kept.groups[0]
            .warnings
            .iter()
            .any(|w| w.contains("no evidence for tcp:5432 10.4.0.0/16: kept")),
        "{:?}",
        kept.groups[0].warnings
    );
    let revoked = plan(
        &[sg],
        &evidence,
        &PlanOptions {
            no_evidence: NoEvidence::Revoke,
            ..Default::default()
        },
    );
    assert_eq!(
        revoked.groups[0].revoke,
        ["tcp:443 10.0.0.0/16", "tcp:5432 10.4.0.0/16"]
    );
    assert_eq!(revoked.groups[0].authorise, ["tcp:443 10.0.0.1/32"]);
}

#[test]
fn a_small_budget_widens_the_tolerance_and_records_each_step() {
    let sg = group(
        "sg-1",
        &[
            "tcp:443 10.0.0.0/16",
            "tcp:80 0.0.0.0/0",
            "tcp:81 0.0.0.0/0",
        ],
    );
    let sources = ["10.0.0.0", "10.0.0.2", "10.0.0.8", "10.0.0.10"];
    let plan = plan(
        &[sg],
        &flows(&sources, 443),
        &PlanOptions {
            max_rules: 4,
            ..Default::default()
        },
    );
    let g = &plan.groups[0];
    assert_eq!(g.budget, 2);
    assert!(g.authorise.len() <= 2, "{:?}", g.authorise);
    assert_eq!(g.tolerance_steps, vec![0.35, 0.4, 0.45, 0.5]);
    assert!(
        g.warnings.iter().any(|w| w.contains("tolerance widened")),
        "{:?}",
        g.warnings
    );
}

#[test]
fn a_full_group_plans_an_interruption_and_names_the_ports() {
    let sg = group("sg-1", &["tcp:443 10.0.0.0/16", "tcp:80 0.0.0.0/0"]);
    let plan = plan(
        &[sg],
        &flows(&["10.0.0.1", "10.0.9.1"], 443),
        &PlanOptions {
            max_rules: 3,
            ..Default::default()
        },
    );
    let g = &plan.groups[0];
    assert_eq!(g.authorise.len(), 2);
    assert!(g.interruption);
    assert!(
        g.warnings
            .iter()
            .any(|w| w.contains("make-before-break") && w.contains("tcp:443")),
        "{:?}",
        g.warnings
    );
}

#[test]
fn break_glass_rules_are_superseded_once_evidence_covers_them_and_kept_otherwise() {
    let bg = format!("tcp:443 10.4.1.0/28#{BREAK_GLASS_PREFIX} INC-1");
    let other = format!("tcp:8443 10.9.0.0/28#{BREAK_GLASS_PREFIX} INC-2");
    let sg = group("sg-1", &[&bg, &other]);
    let plan = plan(
        &[sg],
        &flows(&["10.4.1.3"], 443),
        &PlanOptions {
            no_evidence: NoEvidence::Revoke,
            ..Default::default()
        },
    );
    let g = &plan.groups[0];
    assert_eq!(g.revoke, ["tcp:443 10.4.1.0/28"]);
    assert_eq!(g.authorise, ["tcp:443 10.4.1.3/32"]);
    assert!(g.warnings.iter().any(|w| w.contains("superseded")));
    assert!(
        g.warnings
            .iter()
            .any(|w| w.contains("tcp:8443 10.9.0.0/28 kept")),
        "{:?}",
        g.warnings
    );
}

#[test]
fn groups_owned_by_infrastructure_as_code_are_flagged() {
    let mut cfn = group("sg-1", &["tcp:443 10.0.0.0/16"]);
    cfn.tags.push(Tag {
        key: "aws:cloudformation:stack-name".into(),
        value: "payments".into(),
    });
    let mut tf = group("sg-2", &["tcp:443 10.0.0.0/16"]);
    tf.tags.push(Tag {
        key: "managed-by".into(),
        value: "terraform".into(),
    });
    let mut other = group("sg-3", &["tcp:443 10.0.0.0/16"]);
    other.tags.push(Tag {
        key: "managed-by".into(),
        value: "hand".into(),
    });
    let plan = plan(
        &[cfn, tf, other],
        &flows(&["10.0.0.1"], 443),
        &PlanOptions::default(),
    );
    let flagged: Vec<bool> = plan
        .groups
        .iter()
        .map(|g| {
            g.warnings
                .iter()
                .any(|w| w.contains("infrastructure as code"))
        })
        .collect();
    assert_eq!(flagged, [true, true, false]);
}

#[test]
fn adjacent_ports_that_end_with_the_same_blocks_merge_and_are_flagged() {
    let sg = group("sg-1", &["tcp:443 10.0.0.0/16", "tcp:444 10.0.0.0/16"]);
    let mut evidence = flows(&["10.0.0.1"], 443);
    evidence.extend(flows(&["10.0.0.1"], 444));
    let plan = plan(&[sg], &evidence, &PlanOptions::default());
    assert_eq!(plan.groups[0].authorise, ["tcp:443-444 10.0.0.1/32"]);
    assert!(plan.groups[0].ports_merged);
}

#[test]
fn a_replacement_the_group_already_has_is_not_authorised_twice() {
    let sg = group("sg-1", &["tcp:443 10.0.0.0/16", "tcp:443 10.0.0.1/32"]);
    let plan = plan(&[sg], &flows(&["10.0.0.1"], 443), &PlanOptions::default());
    assert_eq!(plan.groups[0].revoke, ["tcp:443 10.0.0.0/16"]);
    assert!(plan.groups[0].authorise.is_empty());
}

#[test]
fn vouched_sources_count_and_excluded_sources_do_not() {
    let sg = group("sg-1", &["tcp:443 10.0.0.0/16"]);
    let options = PlanOptions {
        additional_sources: vec!["10.0.9.0/29".parse().unwrap()],
        exclude_sources: vec!["10.0.99.0/24".parse().unwrap()],
        ..Default::default()
    };
    let plan = plan(&[sg], &flows(&["10.0.0.1", "10.0.99.4"], 443), &options);
    assert_eq!(
        plan.groups[0].authorise,
        ["tcp:443 10.0.0.1/32", "tcp:443 10.0.9.0/29"]
    );
}

#[test]
fn the_same_inputs_give_the_same_hash_whatever_their_order() {
    let a = group("sg-a", &["tcp:443 10.0.0.0/16", "tcp:5432 10.4.0.0/16"]);
    let b = group("sg-b", &["tcp:8443 10.8.0.0/16"]);
    let evidence = article_flows();
    let one = plan(&[a.clone(), b.clone()], &evidence, &PlanOptions::default());
    let mut reversed = evidence.clone();
    reversed.reverse();
    let two = plan(&[b, a.clone()], &reversed, &PlanOptions::default());
    assert_eq!(one, two);
    let three = plan(&[a], &evidence, &PlanOptions::default());
    assert_ne!(one.hash, three.hash);
    assert_ne!(one.snapshot_hash, three.snapshot_hash);
}

#[test]
fn a_malformed_snapshot_names_the_group() {
    let mut sg = group("sg-bad", &["tcp:443 10.0.0.0/16"]);
    sg.ip_permissions[0].ip_protocol = "gre".into();
    let error = build_plan(&[sg], &Evidence::default(), &PlanOptions::default()).unwrap_err();
    assert!(
        error.to_string().contains("sg-bad") && error.to_string().contains("gre"),
        "{error}"
    );
}

#[test]
fn a_group_whose_budget_cannot_hold_one_rule_per_replaced_rule_is_refused_not_overfilled() {
    // Two untouched rules and two rules to replace under maxRules 3: even one block per replaced
    // rule would leave four rules. The group is left alone and the plan says why.
    let sg = group(
        "sg-1",
        &[
            "tcp:443 10.0.0.0/16",
            "tcp:8443 10.8.0.0/16",
            "tcp:80 0.0.0.0/0",
            "tcp:22 10.9.0.0/28",
        ],
    );
    let mut evidence = flows(&["10.0.0.1", "10.0.9.1"], 443);
    evidence.extend(flows(&["10.8.1.1"], 8443));
    let options = PlanOptions {
        max_rules: 3,
        ..Default::default()
    };
    let plan = plan(std::slice::from_ref(&sg), &evidence, &options);
    let g = &plan.groups[0];
    assert!(g.revoke.is_empty() && g.authorise.is_empty(), "{g:?}");
    let why = g.refused.as_deref().expect("a refusal reason");
    assert!(
        why.contains("maxRules 3") && why.contains("2 untouched") && why.contains("2 replacement"),
        "{why}"
    );
    assert_eq!(plan.summary.rules_revoked, 0);
    let roomy = plan_with(&sg, &evidence, 4);
    assert!(roomy.groups[0].refused.is_none());
    assert!(!roomy.groups[0].revoke.is_empty());
}

fn plan_with(sg: &SecurityGroup, evidence: &[Flow], max_rules: u32) -> Plan {
    let options = PlanOptions {
        max_rules,
        ..Default::default()
    };
    plan(std::slice::from_ref(sg), evidence, &options)
}

#[test]
fn a_group_without_interfaces_today_keeps_what_flows_to_its_vanished_ones_show() {
    use crate::domain::network::{Vpc, VpcCidrBlock};
    use crate::domain::snapshot::{GroupIdentifier, NetworkInterface};
    // sg-asg's instances were replaced: its old interface is gone, the new one has no history
    let groups = [
        group("sg-asg", &["tcp:443 10.0.0.0/16"]),
        group("sg-live", &["tcp:443 10.0.0.0/16"]),
    ];
    let mut evidence = flows(&["10.0.10.0", "10.0.10.1"], 443);
    evidence.iter_mut().for_each(|f| {
        f.interface_id = Some("eni-replaced".into());
        f.destination = "10.100.0.77".parse().unwrap();
    });
    let live = NetworkInterface {
        network_interface_id: "eni-live".into(),
        private_ip_address: Some("10.100.0.10".into()),
        groups: vec![GroupIdentifier {
            group_id: "sg-live".into(),
            group_name: None,
        }],
        vpc_id: Some("vpc-1".into()),
        ..Default::default()
    };
    let vpcs = [Vpc {
        vpc_id: "vpc-1".into(),
        cidr_block: None,
        cidr_block_association_set: vec![VpcCidrBlock {
            cidr_block: "10.100.0.0/16".into(),
        }],
    }];
    let options = PlanOptions {
        no_evidence: NoEvidence::Revoke,
        ..PlanOptions::default()
    };
    let interfaces = [live];
    let evidence = Evidence {
        flows: &evidence,
        interfaces: Some(&interfaces),
        vpcs: Some(&vpcs),
    };
    let out = build_plan(&groups, &evidence, &options).unwrap();
    for g in &out.plan.groups {
        assert_eq!(g.revoke, ["tcp:443 10.0.0.0/16"], "{}", g.group_id);
        assert_eq!(
            g.authorise,
            ["tcp:443 10.0.10.0/31"],
            "{}: {g:?}",
            g.group_id
        );
        assert!(
            g.warnings
                .iter()
                .any(|w| w.starts_with("2 source(s) kept only because")),
            "{:?}",
            g.warnings
        );
    }
    assert_eq!(
        (
            out.vanished_flows,
            out.vanished_interfaces,
            out.vanished_sources
        ),
        (2, 1, 4)
    );
}
