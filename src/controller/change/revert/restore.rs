//! Controller layer: one group's revert calls and the verification of the whole revert against
//! what the manifest covers.

use super::super::apply::calls::{self, Op};
use super::super::apply::Failure;
use crate::aws::{AwsError, GroupSelector, SecurityGroups};
use crate::controller::leader::Fence;
use crate::controller::Error;
use crate::domain::tightening::{GroupManifest, Manifest};

/// How one group's restore ended.
#[derive(Debug)]
pub enum Restored {
    /// The calls succeeded (verification follows).
    Done,
    /// The group no longer exists in AWS.
    Deleted,
    /// A transient AWS error: try again after a backoff.
    Retry(AwsError),
    /// A permanent failure.
    Failed(String),
}

impl From<Failure> for Restored {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Retry(e) => Restored::Retry(e),
            Failure::Gone => Restored::Deleted,
            Failure::Halt(why) => Restored::Failed(why),
        }
    }
}

/// One group back to its pre-apply rules; idempotent. Additions are revoked first for a group
/// marked `interruption` (no room for both); otherwise the pre-apply rules come back first.
/// Outer error: stop (not the leader).
pub async fn restore(
    fence: &Fence,
    sg: &dyn SecurityGroups,
    entry: &GroupManifest,
) -> Result<Restored, Error> {
    let todo = match calls::fresh(sg, entry, true).await {
        Ok(todo) => todo,
        Err(failure) => return Ok(failure.into()),
    };
    let order = match entry.interruption {
        true => [Op::Revoke, Op::Authorise],
        false => [Op::Authorise, Op::Revoke],
    };
    for op in order {
        let perms = match op {
            Op::Authorise => &todo.authorise,
            Op::Revoke => &todo.revoke,
        };
        if let Err(failure) = calls::call(fence, sg, entry, op, perms, true).await? {
            return Ok(failure.into());
        }
    }
    Ok(Restored::Done)
}

/// What verification found.
#[derive(Debug)]
pub enum Verified {
    /// Every covered rule is as before the apply; `foreign` lists rules others added since.
    Exact { foreign: Vec<String> },
    /// Differences, prefixed by group id.
    Differs(Vec<String>),
    /// The re-read failed transiently.
    Retry(AwsError),
}

/// Re-reads the groups (except `deleted`) and compares them with what the manifest covers.
pub async fn verify(sg: &dyn SecurityGroups, manifest: &Manifest, deleted: &[String]) -> Verified {
    let ids: Vec<String> = manifest
        .groups
        .iter()
        .map(|g| g.group_id.clone())
        .filter(|id| !deleted.contains(id))
        .collect();
    if ids.is_empty() {
        return Verified::Exact {
            foreign: Vec::new(),
        };
    }
    let live = match sg.describe_groups(&GroupSelector::ids(ids)).await {
        Ok(live) => live,
        Err(error) if error.is_retryable() => return Verified::Retry(error),
        Err(error) => return Verified::Differs(vec![error.to_string()]),
    };
    let (mut differences, mut foreign) = (Vec::new(), Vec::new());
    for entry in manifest
        .groups
        .iter()
        .filter(|g| !deleted.contains(&g.group_id))
    {
        let id = &entry.group_id;
        let Some(group) = live.iter().find(|g| &g.group_id == id) else {
            differences.push(format!("{id}: the group no longer exists"));
            continue;
        };
        let found = entry
            .revert_differences(group)
            .and_then(|d| entry.foreign_rules(group).map(|f| (d, f)));
        match found {
            Ok((d, f)) => {
                differences.extend(d.into_iter().map(|d| format!("{id}: {d}")));
                foreign.extend(f.into_iter().map(|f| format!("{id}: {f}")));
            }
            Err(e) => differences.push(format!("{id}: failed to read the rules: {e}")),
        }
    }
    if differences.is_empty() {
        Verified::Exact { foreign }
    } else {
        Verified::Differs(differences)
    }
}
