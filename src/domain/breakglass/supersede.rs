//! Domain layer (pure): break-glass rules and applied tightenings. An applied (not reverted)
//! SecurityGroupTightening owns the rules its plan authorised — an extension never revokes them —
//! and supersedes an extension when its plan revoked (removed or replaced) a rule the extension
//! added.

use super::ledger::Owners;
use crate::domain::rules::parse_rule;
use std::collections::{BTreeMap, BTreeSet};

/// What one applied tightening changed on one group (from its plan or write-ahead manifest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TighteningChange {
    /// `namespace/name` of the SecurityGroupTightening.
    pub resource: String,
    /// The applied plan's hash.
    pub plan_hash: String,
    /// The group.
    pub group_id: String,
    /// Rule strings the apply revoked.
    pub revoke: Vec<String>,
    /// Rule strings the apply authorised.
    pub authorise: Vec<String>,
}

impl TighteningChange {
    fn who(&self) -> String {
        let short: String = self.plan_hash.chars().take(12).collect();
        format!("SecurityGroupTightening {} (plan {short})", self.resource)
    }
}

/// The rule string as rule strings print (`TCP:443 10.0.0.0/16` → `tcp:443 10.0.0.0/16`);
/// text that is not a rule string is kept as it is.
pub fn canonical(rule: &str) -> String {
    parse_rule(rule)
        .map(|r| r.to_string())
        .unwrap_or_else(|_| rule.to_string())
}

/// The rules applied tightenings own on `group_id`.
pub fn owners(changes: &[TighteningChange], group_id: &str) -> Owners {
    let mut out = Owners::new();
    for change in changes.iter().filter(|c| c.group_id == group_id) {
        for rule in &change.authorise {
            out.entry(canonical(rule)).or_insert_with(|| change.who());
        }
    }
    out
}

/// A tightening that superseded an extension: who, which plan, which of its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supersession {
    /// `namespace/name` of the tightening.
    pub resource: String,
    /// Its applied plan's hash.
    pub plan_hash: String,
    /// `group: rule` pairs the plan revoked.
    pub rules: Vec<String>,
}

/// The tightenings whose applied plans revoked rules the extension added (`group → rules`),
/// one entry per tightening and plan, in order.
pub fn superseded_by(
    added: &BTreeMap<String, BTreeSet<String>>,
    changes: &[TighteningChange],
) -> Vec<Supersession> {
    let mut found: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for change in changes {
        let Some(ours) = added.get(&change.group_id) else {
            continue;
        };
        for rule in change.revoke.iter().map(|r| canonical(r)) {
            if ours.contains(&rule) {
                let key = (change.resource.clone(), change.plan_hash.clone());
                found
                    .entry(key)
                    .or_default()
                    .push(format!("{}: {rule}", change.group_id));
            }
        }
    }
    found
        .into_iter()
        .map(|((resource, plan_hash), rules)| Supersession {
            resource,
            plan_hash,
            rules,
        })
        .collect()
}
