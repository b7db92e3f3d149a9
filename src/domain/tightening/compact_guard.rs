//! Domain layer (pure): the last check before a compaction's apply touches AWS — the compaction's
//! counterpart of [`super::guard`]. Compaction widens by design, so instead of "never widen" it
//! re-checks, against the pre-apply rules just recorded, what a compaction plan may ever do: it
//! revokes only strict RFC 1918 CIDR rules the group has (never break-glass rules, SG references
//! or prefix lists), it authorises only blocks inside one RFC 1918 block that merge at least one
//! revoked rule of the same traffic and whose never-granted share is at most `ratio`, and every
//! revoked CIDR stays covered by a rule of the same traffic.

use super::manifest::GroupManifest;
use crate::domain::plan::compact::{compactable_cidr, never_granted};
use crate::domain::rules::{parse_rule, Rule};
use ipnet::Ipv4Net;

/// `Ok` when the group's compaction intent is safe to apply with `ratio`; else why not, naming
/// the rule.
pub fn check_compaction(entry: &GroupManifest, ratio: f64) -> Result<(), String> {
    let id = &entry.group_id;
    let before = entry
        .rules_before()
        .map_err(|e| format!("{id}: cannot read the pre-apply rules: {e}"))?;
    let mut revoked = Vec::new();
    for text in &entry.revoke {
        let rule = parse(id, text)?;
        let Some(old) = before.get(&rule.to_string()) else {
            return Err(format!(
                "{id}: the plan revokes {text}, which the group does not have"
            ));
        };
        let Some(cidr) = compactable_cidr(old) else {
            return Err(format!(
                "{id}: the plan revokes {text}, which compaction never touches (only RFC 1918 CIDR rules that are not break-glass)"
            ));
        };
        revoked.push((old.clone(), cidr));
    }
    let mut authorised = Vec::new();
    for text in &entry.authorise {
        let rule = parse(id, text)?;
        let Some(block) = compactable_cidr(&rule) else {
            return Err(format!(
                "{id}: the plan authorises {text}, which is not a block inside one RFC 1918 block"
            ));
        };
        check_block(id, text, &rule, block, &before, &revoked, ratio)?;
        authorised.push((rule, block));
    }
    let kept = before
        .iter()
        .filter(|(text, _)| !entry.revoke.contains(text))
        .filter_map(|(_, r)| r.v4_cidr().map(|c| (r.clone(), c.trunc())));
    let after: Vec<(Rule, Ipv4Net)> = kept.chain(authorised).collect();
    for (old, cidr) in &revoked {
        let covered = after
            .iter()
            .any(|(r, c)| r.traffic == old.traffic && c.contains(cidr));
        if !covered {
            return Err(format!(
                "{id}: the plan revokes {old} and no rule of the same traffic covers it afterwards"
            ));
        }
    }
    Ok(())
}

/// One authorised block: it merges a revoked rule, and at most `ratio` of it was never granted
/// by the group's compactable rules of the same traffic.
fn check_block(
    id: &str,
    text: &str,
    rule: &Rule,
    block: Ipv4Net,
    before: &std::collections::BTreeMap<String, Rule>,
    revoked: &[(Rule, Ipv4Net)],
    ratio: f64,
) -> Result<(), String> {
    let merges = revoked
        .iter()
        .any(|(r, c)| r.traffic == rule.traffic && block.contains(c));
    if !merges {
        return Err(format!(
            "{id}: the plan authorises {text}, which merges no revoked rule"
        ));
    }
    let granted: Vec<Ipv4Net> = before
        .values()
        .filter(|r| r.traffic == rule.traffic)
        .filter_map(compactable_cidr)
        .filter(|c| block.contains(c))
        .collect();
    let size = 1u64 << (32 - u32::from(block.prefix_len()));
    let added = never_granted(&granted, [&block]);
    if added as f64 > ratio * size as f64 {
        return Err(format!(
            "{id}: the plan authorises {text}, of which {added} of {size} addresses were never granted: more than ratio {ratio}"
        ));
    }
    Ok(())
}

fn parse(group_id: &str, text: &str) -> Result<Rule, String> {
    parse_rule(text).map_err(|e| format!("{group_id}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::permissions_from_strings;

    fn entry(
        before: &[(&str, Option<&str>)],
        revoke: &[&str],
        authorise: &[&str],
    ) -> GroupManifest {
        let ip_permissions = before
            .iter()
            .flat_map(|(text, d)| {
                permissions_from_strings(&[text.to_string()], |_| d.map(String::from)).unwrap()
            })
            .collect();
        GroupManifest {
            group_id: "sg-1".into(),
            interruption: false,
            revoke: revoke.iter().map(|s| s.to_string()).collect(),
            authorise: authorise.iter().map(|s| s.to_string()).collect(),
            description: "sg-tightener abc".into(),
            ip_permissions,
            original_permissions: None,
            authorised_before: Vec::new(),
        }
    }

    #[test]
    fn a_merge_within_the_ratio_passes() {
        let e = entry(
            &[("tcp:443 10.0.0.0/24", None), ("tcp:443 10.0.2.0/24", None)],
            &["tcp:443 10.0.0.0/24", "tcp:443 10.0.2.0/24"],
            &["tcp:443 10.0.0.0/22"],
        );
        assert_eq!(check_compaction(&e, 0.5), Ok(()));
        assert!(check_compaction(&e, 0.4)
            .unwrap_err()
            .contains("never granted"));
    }

    #[test]
    fn break_glass_rules_sg_references_and_public_blocks_are_refused() {
        let glass = entry(
            &[
                (
                    "tcp:443 10.0.0.0/25",
                    Some("sg-tightener break-glass INC-1"),
                ),
                ("tcp:443 10.0.0.128/25", None),
            ],
            &["tcp:443 10.0.0.0/25", "tcp:443 10.0.0.128/25"],
            &["tcp:443 10.0.0.0/24"],
        );
        assert!(check_compaction(&glass, 0.0)
            .unwrap_err()
            .contains("never touches"));
        let reference = entry(
            &[("tcp:443 sg-12345678", None)],
            &["tcp:443 sg-12345678"],
            &[],
        );
        assert!(check_compaction(&reference, 1.0)
            .unwrap_err()
            .contains("never touches"));
        let public = entry(
            &[("tcp:443 10.0.0.0/24", None)],
            &["tcp:443 10.0.0.0/24"],
            &["tcp:443 0.0.0.0/0"],
        );
        assert!(check_compaction(&public, 1.0)
            .unwrap_err()
            .contains("RFC 1918"));
    }

    #[test]
    fn an_uncovered_revoke_or_an_unrelated_block_is_refused() {
        let dropped = entry(
            &[("tcp:443 10.0.0.0/24", None), ("tcp:443 10.0.2.0/24", None)],
            &["tcp:443 10.0.0.0/24", "tcp:443 10.0.2.0/24"],
            &["tcp:443 10.0.0.0/23"],
        );
        assert!(check_compaction(&dropped, 1.0)
            .unwrap_err()
            .contains("10.0.2.0/24"));
        let other_port = entry(
            &[
                ("tcp:443 10.0.0.0/25", None),
                ("tcp:443 10.0.0.128/25", None),
            ],
            &["tcp:443 10.0.0.0/25", "tcp:443 10.0.0.128/25"],
            &["tcp:22 10.0.0.0/24"],
        );
        assert!(check_compaction(&other_port, 1.0)
            .unwrap_err()
            .contains("merges no revoked rule"));
    }
}
