//! Domain layer (pure): the last check before an apply touches AWS. `status.plan` can be patched
//! by anyone with status RBAC, so the apply re-checks each group's intent against the
//! pre-apply rules it just recorded: it revokes only rules the group has, and it never widens
//! access (DESIGN I1) — every authorised rule is an IPv4 block inside a revoked rule of the same
//! protocol, and its ports are covered by revoked rules that contain the block. In a chained
//! apply (a re-plan after an apply) the rules before the FIRST apply count too: a source the
//! first apply locked out may be re-admitted inside the original rule that allowed it, and
//! never beyond it.

use super::manifest::GroupManifest;
use crate::domain::rules::{parse_rule, PortRange, Rule, Traffic};

/// `Ok` when the group's intent is safe to apply; else why not, naming the rule.
pub fn check_group(entry: &GroupManifest) -> Result<(), String> {
    let id = &entry.group_id;
    let before = entry
        .rules_before()
        .map_err(|e| format!("{id}: cannot read the pre-apply rules: {e}"))?;
    let mut revoked = Vec::new();
    for text in &entry.revoke {
        let rule = parse(id, text)?;
        if !before.contains_key(&rule.to_string()) {
            return Err(format!(
                "{id}: the plan revokes {text}, which the group does not have"
            ));
        }
        revoked.push(rule);
    }
    if entry.original_permissions.is_some() {
        let original = entry
            .rules_original()
            .map_err(|e| format!("{id}: cannot read the rules before the first apply: {e}"))?;
        revoked.extend(original.into_values());
    }
    for text in &entry.authorise {
        let rule = parse(id, text)?;
        if !covered(&rule, &revoked) {
            return Err(format!(
                "{id}: the plan authorises {text}, which no revoked rule allowed (a plan never widens access)"
            ));
        }
    }
    Ok(())
}

fn parse(group_id: &str, text: &str) -> Result<Rule, String> {
    parse_rule(text).map_err(|e| format!("{group_id}: {e}"))
}

/// True when the revoked rules together allowed everything `new` allows.
fn covered(new: &Rule, revoked: &[Rule]) -> bool {
    let Some(cidr) = new.v4_cidr() else {
        return false;
    };
    let containing = revoked
        .iter()
        .filter(|old| old.v4_cidr().is_some_and(|c| c.trunc().contains(&cidr)));
    match new.traffic.port_range() {
        Some((protocol, range)) => {
            let mut ranges: Vec<PortRange> = containing
                .filter_map(|old| match old.traffic {
                    Traffic::All => Some(PortRange::ALL),
                    t => t
                        .port_range()
                        .filter(|(p, _)| *p == protocol)
                        .map(|(_, r)| r),
                })
                .collect();
            ranges.sort();
            spans(&ranges, range)
        }
        None => containing
            .into_iter()
            .any(|old| old.traffic == new.traffic || old.traffic == Traffic::All),
    }
}

/// True when the union of sorted `ranges` contains every port of `wanted`.
fn spans(ranges: &[PortRange], wanted: PortRange) -> bool {
    let mut next = u32::from(wanted.from);
    for r in ranges {
        if u32::from(r.from) > next {
            break;
        }
        next = next.max(u32::from(r.to) + 1);
        if next > u32::from(wanted.to) {
            return true;
        }
    }
    next > u32::from(wanted.to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::permissions_from_strings;

    fn entry(before: &[&str], revoke: &[&str], authorise: &[&str]) -> GroupManifest {
        let texts: Vec<String> = before.iter().map(|s| s.to_string()).collect();
        GroupManifest {
            group_id: "sg-1".into(),
            interruption: false,
            revoke: revoke.iter().map(|s| s.to_string()).collect(),
            authorise: authorise.iter().map(|s| s.to_string()).collect(),
            description: "sg-tightener abc".into(),
            ip_permissions: permissions_from_strings(&texts, |_| None).unwrap(),
            original_permissions: None,
            authorised_before: Vec::new(),
        }
    }

    #[test]
    fn a_narrowing_plan_passes() {
        let e = entry(
            &["tcp:443 10.0.0.0/16", "tcp:8000-8100 10.1.0.0/16"],
            &["tcp:443 10.0.0.0/16", "tcp:8000-8100 10.1.0.0/16"],
            &["tcp:443 10.0.10.0/27", "tcp:8000-8050 10.1.2.0/24"],
        );
        assert_eq!(check_group(&e), Ok(()));
    }

    #[test]
    fn ports_may_be_covered_by_adjacent_revoked_rules() {
        let e = entry(
            &["tcp:80 10.0.0.0/16", "tcp:81 10.0.0.0/16"],
            &["tcp:80 10.0.0.0/16", "tcp:81 10.0.0.0/16"],
            &["tcp:80-81 10.0.1.0/24"],
        );
        assert_eq!(check_group(&e), Ok(()));
    }

    #[test]
    fn a_wider_block_another_port_or_a_missing_rule_is_refused() {
        let wider = entry(
            &["tcp:443 10.0.0.0/16"],
            &["tcp:443 10.0.0.0/16"],
            &["tcp:443 10.0.0.0/8"],
        );
        assert!(check_group(&wider).unwrap_err().contains("never widens"));
        let port = entry(
            &["tcp:443 10.0.0.0/16"],
            &["tcp:443 10.0.0.0/16"],
            &["tcp:22 10.0.1.0/24"],
        );
        assert!(check_group(&port)
            .unwrap_err()
            .contains("tcp:22 10.0.1.0/24"));
        let public = entry(
            &["tcp:443 10.0.0.0/16"],
            &["tcp:443 10.0.0.0/16"],
            &["tcp:443 0.0.0.0/0"],
        );
        assert!(check_group(&public).is_err());
        let missing = entry(
            &["tcp:443 10.0.0.0/16"],
            &["tcp:443 10.9.0.0/16"],
            &["tcp:443 10.9.1.0/24"],
        );
        assert!(check_group(&missing).unwrap_err().contains("does not have"));
    }

    #[test]
    fn an_all_traffic_rule_covers_any_protocol() {
        let e = entry(
            &["all 10.0.0.0/16"],
            &["all 10.0.0.0/16"],
            &[
                "tcp:443 10.0.1.0/24",
                "udp:53 10.0.2.0/24",
                "all 10.0.3.0/24",
            ],
        );
        assert_eq!(check_group(&e), Ok(()));
    }
}
