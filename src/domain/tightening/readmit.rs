//! Domain layer (pure): re-planning after an apply (re-admission). The live rules are the
//! tightened ones, whose replacements are not eligible, so a plan computed from them could never
//! let a locked-out source back in. Instead the planner runs on the rules before the FIRST apply
//! of the chain (recorded in the live apply's manifest) plus rules others added since, and the
//! plan is then rebased onto the live rules: it revokes the live rules the new set no longer
//! holds (the tightened ones it replaces) and authorises what the live rules lack. Its snapshot
//! hash is the live rules' (stale-plan refusal, I6, compares with what AWS has now).

use super::manifest::Manifest;
use crate::domain::plan::{plan_hash, snapshot_hash, tighten::reduction_percent, Plan};
use crate::domain::rules::RuleError;
use crate::domain::rules::{ingress_rules, ipv4_addresses, parse_rule, to_permissions, Rule};
use crate::domain::snapshot::SecurityGroup;
use std::collections::BTreeMap;

/// The groups as the planner must see them after the apply recorded in `manifest`: each
/// group the chain changed has its rules from before the first apply, plus the live rules that
/// neither were original nor were authorised by the chain (added by someone else since, e.g.
/// break-glass). Groups the chain never changed are the live ones.
pub fn pre_apply_groups(
    live: &[SecurityGroup],
    manifest: &Manifest,
) -> Result<Vec<SecurityGroup>, RuleError> {
    live.iter()
        .map(|group| {
            let Some(entry) = manifest
                .groups
                .iter()
                .find(|e| e.group_id == group.group_id)
            else {
                return Ok(group.clone());
            };
            let original = entry.rules_original()?;
            let chain = entry.authorised_by_chain();
            let foreign: Vec<Rule> = ingress_rules(group)?
                .into_iter()
                .filter(|r| {
                    let text = r.to_string();
                    !original.contains_key(&text) && !chain.contains(&text)
                })
                .collect();
            let mut ip_permissions = entry.original().to_vec();
            ip_permissions.extend(to_permissions(&foreign));
            Ok(SecurityGroup {
                ip_permissions,
                ..group.clone()
            })
        })
        .collect()
}

/// Rebases `plan`, computed from `planned_from` ([`pre_apply_groups`]), onto the `live` groups:
/// per group the target rules are `planned_from − revoke + authorise`; the rebased plan revokes
/// the live rules outside the target and authorises the target rules AWS lacks. A refused group
/// stays as it is live. Totals, interruption (I7), snapshot hash and plan hash are recomputed.
pub fn rebase(
    mut plan: Plan,
    live: &[SecurityGroup],
    planned_from: &[SecurityGroup],
    max_rules: u32,
    manifest_name: &str,
) -> Result<Plan, RuleError> {
    let (mut before, mut after) = (0, 0);
    for group in plan.groups.iter_mut() {
        let id = group.group_id.clone();
        let (Some(now), Some(from)) = (find(live, &id), find(planned_from, &id)) else {
            continue;
        };
        let present = by_string(ingress_rules(now)?);
        if group.refused.is_some() {
            group.revoke.clear();
            group.authorise.clear();
            continue;
        }
        let mut target = by_string(ingress_rules(from)?);
        for text in &group.revoke {
            target.remove(text);
        }
        for text in &group.authorise {
            target.insert(text.clone(), parse_rule(text)?);
        }
        let revoke: Vec<Rule> = present
            .iter()
            .filter(|(k, _)| !target.contains_key(*k))
            .map(|(_, r)| r.clone())
            .collect();
        let authorise: Vec<Rule> = target
            .iter()
            .filter(|(k, _)| !present.contains_key(*k))
            .map(|(_, r)| r.clone())
            .collect();
        if from.ip_permissions != now.ip_permissions {
            group.warnings.push(format!(
                "planned from the rules before the first apply (recorded in ConfigMap {manifest_name}), then rebased onto the live rules: revokes the tightened rules it replaces and authorises only inside the original rules"
            ));
        }
        let current = present.len();
        group.interruption =
            !authorise.is_empty() && current + authorise.len() > max_rules as usize;
        before += ipv4_addresses(&revoke);
        after += ipv4_addresses(&authorise);
        group.revoke = revoke.iter().map(ToString::to_string).collect();
        group.authorise = authorise.iter().map(ToString::to_string).collect();
    }
    let s = &mut plan.summary;
    s.rules_revoked = plan.groups.iter().map(|g| g.revoke.len() as u32).sum();
    s.rules_authorised = plan.groups.iter().map(|g| g.authorise.len() as u32).sum();
    s.addresses_before = before;
    s.addresses_after = after;
    s.reduction_percent = reduction_percent(before, after);
    plan.snapshot_hash = snapshot_hash(live);
    plan.hash = plan_hash(&plan);
    Ok(plan)
}

fn find<'a>(groups: &'a [SecurityGroup], id: &str) -> Option<&'a SecurityGroup> {
    groups.iter().find(|g| g.group_id == id)
}

fn by_string(rules: Vec<Rule>) -> BTreeMap<String, Rule> {
    rules.into_iter().map(|r| (r.to_string(), r)).collect()
}
