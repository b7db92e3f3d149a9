//! Controller layer: the AWS calls of one group's apply or revert — authorise and revoke from the
//! manifest's arithmetic, recovering from duplicates and already-absent rules by re-reading the
//! group — with every failure classified: transient (throttling, 5xx, timeouts) resumes later
//! from the manifest, a group deleted in AWS is skipped, anything else halts. The fence is
//! checked before every mutation.

use crate::aws::{AuthoriseOutcome, AwsError, GroupSelector, RevokeOutcome, SecurityGroups};
use crate::controller::leader::Fence;
use crate::controller::Error;
use crate::domain::snapshot::IpPermission;
use crate::domain::tightening::manifest::GroupCalls;
use crate::domain::tightening::GroupManifest;

/// Why a group's calls stopped.
#[derive(Debug)]
pub enum Failure {
    /// Throttling, an outage or a timeout: resume from the manifest after a backoff.
    Retry(AwsError),
    /// The group no longer exists in AWS.
    Gone,
    /// A permanent failure (access denied, invalid request, limit exceeded…): halt.
    Halt(String),
}

/// Outer error: this replica must stop (not the leader, Kubernetes failed). Inner: the group.
pub type Outcome = Result<Result<(), Failure>, Error>;

/// Classifies an AWS error of a group call.
pub fn classify(error: AwsError) -> Failure {
    if error.is_retryable() {
        Failure::Retry(error)
    } else if error.code() == "InvalidGroup.NotFound" {
        Failure::Gone
    } else {
        Failure::Halt(error.to_string())
    }
}

/// The calls that still take the live group to `target` (apply or revert arithmetic).
pub async fn fresh(
    sg: &dyn SecurityGroups,
    entry: &GroupManifest,
    revert: bool,
) -> Result<GroupCalls, Failure> {
    let groups = sg
        .describe_groups(&GroupSelector::ids([entry.group_id.clone()]))
        .await
        .map_err(classify)?;
    let group = groups.into_iter().next().ok_or(Failure::Gone)?;
    let calls = if revert {
        entry.revert_calls(&group)
    } else {
        entry.apply_calls(&group)
    };
    calls.map_err(|e| Failure::Halt(format!("failed to read the group's rules: {e}")))
}

/// An ingress mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Add permissions.
    Authorise,
    /// Remove permissions.
    Revoke,
}

/// Does `op` with `perms`. When AWS reports a duplicate (authorise) or an absent rule (revoke),
/// nothing was changed (AWS is atomic here): the group is read again and what remains is done.
pub async fn call(
    fence: &Fence,
    sg: &dyn SecurityGroups,
    entry: &GroupManifest,
    op: Op,
    perms: &[IpPermission],
    revert: bool,
) -> Outcome {
    match once(fence, sg, &entry.group_id, op, perms).await? {
        Ok(true) => return Ok(Ok(())),
        Ok(false) => {}
        Err(failure) => return Ok(Err(failure)),
    }
    let rest = match fresh(sg, entry, revert).await {
        Ok(calls) if op == Op::Authorise => calls.authorise,
        Ok(calls) => calls.revoke,
        Err(failure) => return Ok(Err(failure)),
    };
    Ok(match once(fence, sg, &entry.group_id, op, &rest).await? {
        Ok(true) => Ok(()),
        Ok(false) => Err(Failure::Halt(match op {
            Op::Authorise => "failed to authorise ingress: AWS keeps reporting duplicates".into(),
            Op::Revoke => "failed to revoke ingress: AWS keeps reporting missing rules".into(),
        })),
        Err(failure) => Err(failure),
    })
}

/// One call, after the fence: `Ok(true)` done, `Ok(false)` duplicate / already absent.
async fn once(
    fence: &Fence,
    sg: &dyn SecurityGroups,
    group_id: &str,
    op: Op,
    perms: &[IpPermission],
) -> Result<Result<bool, Failure>, Error> {
    if perms.is_empty() {
        return Ok(Ok(true));
    }
    fence.check()?;
    let done = match op {
        Op::Authorise => sg
            .authorise_ingress(group_id, perms)
            .await
            .map(|o| o == AuthoriseOutcome::Authorised),
        Op::Revoke => sg
            .revoke_ingress(group_id, perms)
            .await
            .map(|o| matches!(o, RevokeOutcome::Revoked { .. })),
    };
    Ok(done.map_err(classify))
}
