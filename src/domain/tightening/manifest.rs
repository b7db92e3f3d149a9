//! Domain layer (pure): the write-ahead manifest of an apply (DESIGN I8) — every group's exact
//! pre-change ingress permissions and the intent — and the arithmetic on it: which calls finish
//! an apply from any intermediate state, which calls restore the pre-apply rules (I9), and how
//! live rules differ from them.

use crate::domain::plan::GroupPlan;
use crate::domain::rules::{ingress_rules, parse_rule, to_permissions, Rule, RuleError};
use crate::domain::snapshot::{IpPermission, SecurityGroup};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The schema tag of a manifest.
pub const MANIFEST_SCHEMA: &str = "sg-tightener.manifest/v1";

/// What a ConfigMap's `manifest.json` holds: written before the first AWS mutation of an apply,
/// kept after the resource is deleted, read by revert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always [`MANIFEST_SCHEMA`].
    pub schema: String,
    /// `namespace/name` of the SecurityGroupTightening.
    pub resource: String,
    /// The plan applied.
    pub plan_hash: String,
    /// The snapshot the plan was computed from (equal to the live rules when the apply started).
    pub snapshot_hash: String,
    /// When the manifest was written (RFC 3339).
    pub created_at: String,
    /// One entry per group the plan changes.
    pub groups: Vec<GroupManifest>,
    /// When a revert of this apply was verified (RFC 3339). The manifest is the source of truth:
    /// `status.applied.revertedAt` follows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverted_at: Option<String>,
    /// The ConfigMap of the apply this one was made on top of (its rules were live, not
    /// reverted, when this apply started): the manifests form a chain. Every entry carries the
    /// chain's original rules forward, so a revert of the newest apply restores the state before
    /// the first one even when the older ConfigMaps were garbage-collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

/// One group's pre-change rules and intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupManifest {
    /// The security group id.
    pub group_id: String,
    /// True when the group revokes before it authorises (budget too tight for both at once).
    #[serde(default)]
    pub interruption: bool,
    /// Rule strings the apply revokes.
    #[serde(default)]
    pub revoke: Vec<String>,
    /// Rule strings the apply authorises.
    #[serde(default)]
    pub authorise: Vec<String>,
    /// Description put on every authorised rule, e.g. `sg-tightener 0123456789ab`.
    pub description: String,
    /// The group's ingress permissions before the apply, exactly as AWS described them
    /// (PascalCase, descriptions included).
    pub ip_permissions: Vec<IpPermission>,
    /// In a chained apply: the group's ingress permissions before the FIRST apply of the chain,
    /// exactly as AWS described them. A revert restores these (absent: `ipPermissions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_permissions: Option<Vec<IpPermission>>,
    /// In a chained apply: rule strings that earlier applies of the chain authorised. A revert
    /// removes those that are not original rules, like this apply's own `authorise`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorised_before: Vec<String>,
}

/// The AWS calls one group still needs: authorise these, revoke those (either may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupCalls {
    /// Permissions to add.
    pub authorise: Vec<IpPermission>,
    /// Permissions to remove.
    pub revoke: Vec<IpPermission>,
}

impl GroupCalls {
    /// True when the group needs no call.
    pub fn is_empty(&self) -> bool {
        self.authorise.is_empty() && self.revoke.is_empty()
    }
}

impl GroupManifest {
    /// The manifest entry for one planned group, from its live (pre-change) state.
    pub fn new(plan: &GroupPlan, live: &SecurityGroup, description: &str) -> Self {
        GroupManifest {
            group_id: plan.group_id.clone(),
            interruption: plan.interruption,
            revoke: plan.revoke.clone(),
            authorise: plan.authorise.clone(),
            description: description.to_owned(),
            ip_permissions: live.ip_permissions.clone(),
            original_permissions: None,
            authorised_before: Vec::new(),
        }
    }

    /// Chains this entry onto the same group's entry of the previous (live, unreverted) apply:
    /// the original rules and everything the chain authorised are carried forward.
    pub fn chain_onto(mut self, previous: &GroupManifest) -> Self {
        self.original_permissions = Some(previous.original().to_vec());
        let mut before: BTreeSet<String> = previous.authorised_before.iter().cloned().collect();
        before.extend(previous.authorise.iter().cloned());
        self.authorised_before = before.into_iter().collect();
        self
    }

    /// A group the previous apply changed and this one does not: no calls, but a revert of this
    /// apply must still restore it.
    pub fn carried(previous: &GroupManifest, live: &SecurityGroup) -> Self {
        GroupManifest {
            group_id: previous.group_id.clone(),
            interruption: false,
            revoke: Vec::new(),
            authorise: Vec::new(),
            description: previous.description.clone(),
            ip_permissions: live.ip_permissions.clone(),
            original_permissions: None,
            authorised_before: Vec::new(),
        }
        .chain_onto(previous)
    }

    /// The permissions a revert restores: before the first apply of the chain.
    pub fn original(&self) -> &[IpPermission] {
        self.original_permissions
            .as_deref()
            .unwrap_or(&self.ip_permissions)
    }

    /// Rule strings the chain (earlier applies and this one) authorised.
    pub fn authorised_by_chain(&self) -> BTreeSet<&String> {
        self.authorised_before
            .iter()
            .chain(self.authorise.iter())
            .collect()
    }

    /// The calls that take `live` to the applied state, whatever part of the apply already ran:
    /// planned rules not yet present are authorised (with the manifest's description), revoked
    /// rules still present are revoked (with the descriptions AWS has). Idempotent.
    pub fn apply_calls(&self, live: &SecurityGroup) -> Result<GroupCalls, RuleError> {
        let present = rules_by_string(live)?;
        let authorise_set: BTreeSet<&String> = self.authorise.iter().collect();
        let mut add = Vec::new();
        for text in self.authorise.iter().filter(|s| !present.contains_key(*s)) {
            let mut rule = parse_rule(text)?;
            rule.description = Some(self.description.clone());
            add.push(rule);
        }
        let remove: Vec<Rule> = self
            .revoke
            .iter()
            .filter(|s| !authorise_set.contains(s))
            .filter_map(|s| present.get(s).cloned())
            .collect();
        Ok(GroupCalls {
            authorise: to_permissions(&add),
            revoke: to_permissions(&remove),
        })
    }

    /// The calls that take `live` back to the pre-apply rules: every pre-apply rule missing is
    /// authorised with its original description; every rule the apply added that was not there
    /// before is revoked. Rules someone else added since are left alone (and show up in
    /// [`GroupManifest::differences`]).
    pub fn revert_calls(&self, live: &SecurityGroup) -> Result<GroupCalls, RuleError> {
        let present = rules_by_string(live)?;
        let before = self.rules_original()?;
        let add: Vec<Rule> = before
            .values()
            .filter(|r| !present.contains_key(&r.to_string()))
            .cloned()
            .collect();
        let remove: Vec<Rule> = self
            .authorised_by_chain()
            .into_iter()
            .filter(|s| !before.contains_key(*s))
            .filter_map(|s| present.get(s).cloned())
            .collect();
        Ok(GroupCalls {
            authorise: to_permissions(&add),
            revoke: to_permissions(&remove),
        })
    }

    /// How `live` differs from the pre-apply rules, descriptions included: `missing …`,
    /// `unexpected …`, `description of … is …, was …`. Empty when they are exactly equal.
    pub fn differences(&self, live: &SecurityGroup) -> Result<Vec<String>, RuleError> {
        let present = rules_by_string(live)?;
        let before = self.rules_original()?;
        let mut out = Vec::new();
        for (text, rule) in &before {
            match present.get(text) {
                None => out.push(format!("missing {text}")),
                Some(now) if now.description != rule.description => out.push(format!(
                    "description of {text} is {:?}, was {:?}",
                    now.description.as_deref().unwrap_or(""),
                    rule.description.as_deref().unwrap_or("")
                )),
                Some(_) => {}
            }
        }
        let extra = present.keys().filter(|k| !before.contains_key(*k));
        out.extend(extra.map(|text| format!("unexpected {text}")));
        Ok(out)
    }

    /// What a revert must have achieved, and nothing more (DESIGN I9): every pre-apply rule is
    /// present with its original description (`missing …`, `description of … is …, was …`) and
    /// no rule the apply authorised is left (`still present … (added by the apply)`). Rules
    /// someone else added since — a break-glass extension — are not differences: see
    /// [`GroupManifest::foreign_rules`].
    pub fn revert_differences(&self, live: &SecurityGroup) -> Result<Vec<String>, RuleError> {
        let present = rules_by_string(live)?;
        let before = self.rules_original()?;
        let mut out: Vec<String> = self
            .differences(live)?
            .into_iter()
            .filter(|d| !d.starts_with("unexpected "))
            .collect();
        let chain = self.authorised_by_chain();
        let added = chain.into_iter().filter(|s| !before.contains_key(*s));
        out.extend(
            added
                .filter(|s| present.contains_key(*s))
                .map(|s| format!("still present {s} (added by the apply)")),
        );
        Ok(out)
    }

    /// Live rules that are neither pre-apply rules nor rules the apply authorised: added by
    /// someone else after the apply. A revert leaves them alone.
    pub fn foreign_rules(&self, live: &SecurityGroup) -> Result<Vec<String>, RuleError> {
        let before = self.rules_original()?;
        let present = rules_by_string(live)?;
        let chain = self.authorised_by_chain();
        Ok(present
            .into_keys()
            .filter(|k| !before.contains_key(k) && !chain.contains(k))
            .collect())
    }

    /// The rules before the first apply of the chain, keyed by rule string.
    pub fn rules_original(&self) -> Result<BTreeMap<String, Rule>, RuleError> {
        rules_by_string(&self.group_with(self.original()))
    }

    /// The pre-apply rules, keyed by rule string.
    pub fn rules_before(&self) -> Result<BTreeMap<String, Rule>, RuleError> {
        rules_by_string(&self.group_with(&self.ip_permissions))
    }

    fn group_with(&self, permissions: &[IpPermission]) -> SecurityGroup {
        SecurityGroup {
            group_id: self.group_id.clone(),
            ip_permissions: permissions.to_vec(),
            ..SecurityGroup::default()
        }
    }
}

/// A group's ingress rules keyed by rule string (what AWS matches on: not the description).
fn rules_by_string(group: &SecurityGroup) -> Result<BTreeMap<String, Rule>, RuleError> {
    Ok(ingress_rules(group)?
        .into_iter()
        .map(|r| (r.to_string(), r))
        .collect())
}
