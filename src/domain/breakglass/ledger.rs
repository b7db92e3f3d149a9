//! Domain layer (pure): break-glass reference counting (DESIGN I10). Each extension's record says,
//! per group, which rules it `added` (absent before it), which it `shared` (added by another
//! extension, found present and needed too) and which it is about to add (`pending`, written
//! before the AWS call). A rule is revoked only when the extension holds it, it is still a
//! break-glass rule in AWS, no other live extension holds it and no tightening owns it; a rule
//! present before any extension is never held, so never revoked.

use crate::domain::rules::{ingress_rules, rule_count, Rule, RuleError, Traffic};
use crate::domain::snapshot::SecurityGroup;
use std::collections::{BTreeMap, BTreeSet};

/// One extension's references on one group (rule strings, `tcp:443 10.4.0.0/16`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holding {
    /// Rules it added: absent when it decided to add them.
    pub added: BTreeSet<String>,
    /// Rules another extension added that it needs too.
    pub shared: BTreeSet<String>,
    /// Rules it is adding right now (write-ahead); present afterwards with a break-glass
    /// description, they are its own.
    pub pending: BTreeSet<String>,
}

impl Holding {
    /// Every rule it holds a reference to.
    pub fn held(&self) -> BTreeSet<String> {
        let all = self.added.iter().chain(&self.shared).chain(&self.pending);
        all.cloned().collect()
    }
}

/// The references other live extensions hold on one group: rule string → `namespace/name`s.
pub type Holders = BTreeMap<String, BTreeSet<String>>;

/// Rules an applied SecurityGroupTightening owns on one group: rule string → who, for messages.
pub type Owners = BTreeMap<String, String>;

/// What the request means for one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// Rules to add, within the budget.
    Add,
    /// Everything wanted is already allowed.
    AlreadyPresent,
    /// Adding would exceed `maxRules`: nothing is added to this group.
    SkippedBudget,
    /// The group does not exist.
    NotFound,
    /// Nothing is wanted for this group (no rejected flow reached it).
    NoFlowsForGroup,
}

/// The decision for one group and the record that follows from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPlan {
    /// What happens to the group.
    pub state: GroupState,
    /// The absent wanted rules to authorise (empty unless `state` is `Add`).
    pub to_add: Vec<Rule>,
    /// Rules the extension added before and still needs (present in AWS).
    pub added: BTreeSet<String>,
    /// Rules another extension added that this one now needs.
    pub shared: BTreeSet<String>,
    /// Rules it held that are still in AWS but no longer wanted (candidates for revocation).
    pub unwanted: BTreeSet<String>,
    /// Rules in the group now (AWS counting).
    pub existing: usize,
    /// Rules the request would add.
    pub would_add: usize,
}

/// True when `outer` lets through all the traffic `inner` does.
pub fn traffic_covers(outer: &Traffic, inner: &Traffic) -> bool {
    match (outer, inner) {
        (Traffic::All, _) => true,
        (Traffic::Tcp(a), Traffic::Tcp(b)) | (Traffic::Udp(a), Traffic::Udp(b)) => {
            a.from <= b.from && b.to <= a.to
        }
        (
            Traffic::Icmp {
                icmp_type: t,
                code: c,
            },
            Traffic::Icmp {
                icmp_type: wt,
                code: wc,
            },
        ) => (t.is_none() || t == wt) && (c.is_none() || c == wc),
        (a, b) => a == b,
    }
}

/// True when the IPv4 rule `outer` allows everything the IPv4 rule `inner` allows.
pub fn covers(outer: &Rule, inner: &Rule) -> bool {
    match (outer.v4_cidr(), inner.v4_cidr()) {
        (Some(o), Some(i)) => traffic_covers(&outer.traffic, &inner.traffic) && o.contains(&i),
        _ => false,
    }
}

/// Plans one group: `live` is the group as AWS describes it (`None`: not found), `wanted` the
/// rules the request asks for (described), `own` this extension's record, `others` the
/// references of the other live extensions.
pub fn plan_group(
    live: Option<&SecurityGroup>,
    wanted: &[Rule],
    own: &Holding,
    others: &Holders,
    max_rules: usize,
) -> Result<GroupPlan, RuleError> {
    let Some(group) = live else {
        return Ok(empty_plan(GroupState::NotFound, 0));
    };
    let existing = rule_count(&group.ip_permissions);
    let rules = ingress_rules(group)?;
    let mut plan = classify(wanted, &rules, own, others);
    plan.existing = existing;
    plan.would_add = plan.to_add.len();
    plan.state = match () {
        _ if wanted.is_empty() => GroupState::NoFlowsForGroup,
        _ if plan.to_add.is_empty() => GroupState::AlreadyPresent,
        _ if existing + plan.to_add.len() > max_rules => GroupState::SkippedBudget,
        _ => GroupState::Add,
    };
    if plan.state == GroupState::SkippedBudget {
        plan.to_add.clear();
    }
    Ok(plan)
}

fn empty_plan(state: GroupState, existing: usize) -> GroupPlan {
    GroupPlan {
        state,
        to_add: Vec::new(),
        added: BTreeSet::new(),
        shared: BTreeSet::new(),
        unwanted: BTreeSet::new(),
        existing,
        would_add: 0,
    }
}

/// Sorts each wanted rule into: still ours (`added`), another extension's (`shared`),
/// allowed by a rule no extension holds (no reference), or absent (`to_add`). Rules this
/// extension holds never count as covering a wanted rule: a narrowed request replaces them.
fn classify(wanted: &[Rule], live: &[Rule], own: &Holding, others: &Holders) -> GroupPlan {
    let by_string: BTreeMap<String, &Rule> = live.iter().map(|r| (r.to_string(), r)).collect();
    let is_break_glass = |s: &String| by_string.get(s).is_some_and(|r| r.is_break_glass());
    let mine: BTreeSet<String> = own
        .added
        .iter()
        .chain(own.pending.iter().filter(|s| is_break_glass(s)))
        .cloned()
        .collect();
    let extension_held =
        |s: &String| others.contains_key(s) || own.shared.contains(s) || mine.contains(s);
    let mut plan = empty_plan(GroupState::Add, 0);
    let mut seen = BTreeSet::new();
    for rule in wanted {
        let text = rule.to_string();
        if !seen.insert(text.clone()) {
            continue;
        }
        if by_string.contains_key(&text) && mine.contains(&text) {
            plan.added.insert(text);
            continue;
        }
        let covering: Vec<String> = live
            .iter()
            .filter(|r| covers(r, rule))
            .map(Rule::to_string)
            .filter(|s| !mine.contains(s) || others.contains_key(s))
            .collect();
        if covering.is_empty() {
            plan.to_add.push(rule.clone());
        } else if covering.iter().all(&extension_held) {
            plan.shared.extend(covering);
        }
    }
    plan.unwanted = mine
        .iter()
        .chain(&own.shared)
        .filter(|s| by_string.contains_key(*s))
        .filter(|s| !plan.added.contains(*s) && !plan.shared.contains(*s))
        .cloned()
        .collect();
    plan
}

/// One rule an extension held but does not revoke, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The rule string.
    pub rule: String,
    /// Why it stays: `needed by payments/other`, `owned by …`, `no longer a break-glass rule`.
    pub why: String,
}

/// What releasing references on one group does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocation {
    /// Live rules to revoke (with the descriptions AWS has).
    pub revoke: Vec<Rule>,
    /// Held rules already gone from AWS.
    pub gone: Vec<String>,
    /// Held rules that stay.
    pub kept: Vec<Kept>,
}

/// Which of `candidates` (rules this extension held) may go: only break-glass rules still in
/// AWS that no other live extension holds and no applied tightening owns.
pub fn revocation(
    candidates: &BTreeSet<String>,
    live: &[Rule],
    others: &Holders,
    owners: &Owners,
) -> Revocation {
    let by_string: BTreeMap<String, &Rule> = live.iter().map(|r| (r.to_string(), r)).collect();
    let mut out = Revocation::default();
    for rule in candidates {
        let keep = |why: String| Kept {
            rule: rule.clone(),
            why,
        };
        let Some(present) = by_string.get(rule) else {
            out.gone.push(rule.clone());
            continue;
        };
        if let Some(holders) = others.get(rule).filter(|h| !h.is_empty()) {
            let names: Vec<&str> = holders.iter().map(String::as_str).collect();
            out.kept
                .push(keep(format!("needed by extension {}", names.join(", "))));
        } else if let Some(owner) = owners.get(rule) {
            out.kept.push(keep(format!("owned by {owner}")));
        } else if !present.is_break_glass() {
            out.kept.push(keep(
                "no longer a break-glass rule (its description changed)".into(),
            ));
        } else {
            out.revoke.push((*present).clone());
        }
    }
    out
}
