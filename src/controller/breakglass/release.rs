//! Controller layer: releasing an extension's references — at expiry or deletion with `Revoke`,
//! or the rules a changed spec no longer asks for — revoking only what the domain's
//! `revocation` allows: break-glass rules still in AWS that no other live extension holds and
//! no applied tightening owns. Callers hold the break-glass lock.

use super::observe;
use super::report::Report;
use super::Deps;
use crate::aws::{RevokeOutcome, SecurityGroups, Target};
use crate::controller::Error;
use crate::crd::BreakGlassGroupStatus;
use crate::domain::breakglass::{owners, revocation, Holders, Kept, Owners};
use crate::domain::conditions::format_time;
use crate::domain::rules::{ingress_rules, to_permissions, Rule};
use crate::domain::snapshot::SecurityGroup;
use std::collections::{BTreeMap, BTreeSet};

/// What releasing did on one group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Released {
    /// Rules revoked.
    pub revoked: Vec<String>,
    /// Rules that stay, and why.
    pub kept: Vec<Kept>,
}

impl Released {
    /// A one-line account for status, e.g. `revoked 2; kept tcp:443 10.4.0.0/16 (needed by …)`.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("revoked {}", self.revoked.len())];
        parts.extend(
            self.kept
                .iter()
                .map(|k| format!("kept {} ({})", k.rule, k.why)),
        );
        parts.join("; ")
    }
}

fn rules_of(group: &SecurityGroup) -> Result<Vec<Rule>, Error> {
    ingress_rules(group).map_err(|e| Error::Plan(format!("{}: {e}", group.group_id)))
}

/// Revokes what may go of `candidates` on `group` (described just before); a revoke AWS refuses
/// because a rule vanished meanwhile is decided again once on a fresh description.
pub async fn revoke(
    sg: &dyn SecurityGroups,
    group: &SecurityGroup,
    candidates: &BTreeSet<String>,
    others: &Holders,
    owners: &Owners,
) -> Result<Released, Error> {
    let mut live = group.clone();
    for _attempt in 0..2 {
        let decision = revocation(candidates, &rules_of(&live)?, others, owners);
        let released = Released {
            revoked: decision.revoke.iter().map(Rule::to_string).collect(),
            kept: decision.kept.clone(),
        };
        if decision.revoke.is_empty() {
            return Ok(released);
        }
        let permissions = to_permissions(&decision.revoke);
        match sg.revoke_ingress(&group.group_id, &permissions).await? {
            RevokeOutcome::Revoked { .. } => return Ok(released),
            RevokeOutcome::AlreadyAbsent => {
                let fresh = observe::groups(sg, std::slice::from_ref(&group.group_id)).await?;
                match fresh.into_values().next() {
                    Some(again) => live = again,
                    None => return Ok(Released::default()),
                }
            }
        }
    }
    Err(Error::Plan(format!(
        "{}: break-glass rules kept changing while they were revoked; retrying",
        group.group_id
    )))
}

/// Every rule of a group entry the extension holds a reference to (pending ones only when they
/// are in AWS with a break-glass description: else they were never added).
fn held(entry: &BreakGlassGroupStatus, live: Option<&SecurityGroup>) -> BTreeSet<String> {
    let present_break_glass: BTreeSet<String> = live
        .and_then(|g| ingress_rules(g).ok())
        .unwrap_or_default()
        .iter()
        .filter(|r| r.is_break_glass())
        .map(Rule::to_string)
        .collect();
    let pending = entry
        .pending
        .iter()
        .filter(|p| present_break_glass.contains(*p));
    entry
        .added
        .iter()
        .chain(&entry.shared)
        .chain(pending)
        .cloned()
        .collect()
}

/// At expiry or deletion: with `revoke`, revokes every held rule that may go; either way the
/// extension drops its references (`releasedAt`). Returns the revoked count and what stayed.
pub async fn release_all(
    report: &mut Report<'_>,
    deps: &Deps<'_>,
    target: &Target,
    revoke_rules: bool,
) -> Result<(usize, Vec<Kept>), Error> {
    let _guard = deps.lock.lock().await;
    let mut kept_all = Vec::new();
    let mut revoked_all = 0;
    if revoke_rules {
        let sg = deps.aws.security_groups(target).await;
        let all = deps.store.extensions().await?;
        let settings = &deps.config.break_glass;
        let others = observe::holders(&all, report.object, deps.now, settings);
        let changes = deps.store.tightening_changes().await?;
        let ids = report.group_ids();
        let live = observe::groups(sg.as_ref(), &ids).await?;
        let none = Holders::new();
        for id in &ids {
            let Some(entry) = report.group(id).cloned() else {
                continue;
            };
            let Some(group) = live.get(id) else {
                continue;
            };
            let candidates = held(&entry, Some(group));
            let owned = owners(&changes, id);
            let others = others.get(id).unwrap_or(&none);
            let released = revoke(sg.as_ref(), group, &candidates, others, &owned).await?;
            revoked_all += released.revoked.len();
            kept_all.extend(released.kept.iter().cloned());
            report.put_group(record_release(entry, &released));
            super::lifecycle::set_gauge(deps, target, group, -(released.revoked.len() as i64));
        }
    }
    for entry in report.status.groups.clone() {
        report.put_group(BreakGlassGroupStatus {
            shared: Vec::new(),
            pending: Vec::new(),
            ..entry
        });
    }
    report.status.released_at = Some(format_time(deps.now));
    report.checkpoint().await?;
    Ok((revoked_all, kept_all))
}

/// The group entry after a release: revoked rules recorded, the account in the message.
pub fn record_release(entry: BreakGlassGroupStatus, released: &Released) -> BreakGlassGroupStatus {
    let mut revoked: BTreeSet<String> = entry.revoked.iter().cloned().collect();
    revoked.extend(released.revoked.iter().cloned());
    BreakGlassGroupStatus {
        revoked: revoked.into_iter().collect(),
        message: Some(released.describe()),
        ..entry
    }
}

/// Group id → the rules it held, for the domain's supersession check.
pub fn added_by_group(groups: &[BreakGlassGroupStatus]) -> BTreeMap<String, BTreeSet<String>> {
    groups
        .iter()
        .map(|g| (g.group_id.clone(), g.added.iter().cloned().collect()))
        .collect()
}
