//! Controller layer: the AWS calls of one group's apply — authorise and revoke from the
//! manifest's arithmetic, recovering from duplicates and already-absent rules by re-reading the
//! group — with every failure classified: transient (throttling, 5xx, timeouts) resumes later
//! from the manifest, a group deleted in AWS is skipped, anything else halts. The fence is
//! checked before every mutation.

use super::super::Deps;
use crate::aws::{AuthoriseOutcome, AwsError, GroupSelector, RevokeOutcome, SecurityGroups};
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

/// Authorises `perms`; on a duplicate (nothing was added: AWS is atomic here) re-reads the group
/// and authorises what is still missing.
pub async fn authorise(
    deps: &Deps<'_>,
    sg: &dyn SecurityGroups,
    entry: &GroupManifest,
    perms: &[IpPermission],
    revert: bool,
) -> Outcome {
    match call_authorise(deps, sg, &entry.group_id, perms).await? {
        Ok(AuthoriseOutcome::Authorised) => return Ok(Ok(())),
        Ok(AuthoriseOutcome::AlreadyPresent) => {}
        Err(failure) => return Ok(Err(failure)),
    }
    let rest = match fresh(sg, entry, revert).await {
        Ok(calls) => calls.authorise,
        Err(failure) => return Ok(Err(failure)),
    };
    Ok(
        match call_authorise(deps, sg, &entry.group_id, &rest).await? {
            Ok(AuthoriseOutcome::Authorised) => Ok(()),
            Ok(AuthoriseOutcome::AlreadyPresent) => Err(Failure::Halt(
                "failed to authorise ingress: AWS keeps reporting duplicates".into(),
            )),
            Err(failure) => Err(failure),
        },
    )
}

async fn call_authorise(
    deps: &Deps<'_>,
    sg: &dyn SecurityGroups,
    group_id: &str,
    perms: &[IpPermission],
) -> Result<Result<AuthoriseOutcome, Failure>, Error> {
    if perms.is_empty() {
        return Ok(Ok(AuthoriseOutcome::Authorised));
    }
    deps.fence.check()?;
    Ok(sg
        .authorise_ingress(group_id, perms)
        .await
        .map_err(classify))
}

/// Revokes `perms`; when AWS says one is already absent, re-reads and revokes what remains.
pub async fn revoke(
    deps: &Deps<'_>,
    sg: &dyn SecurityGroups,
    entry: &GroupManifest,
    perms: &[IpPermission],
    revert: bool,
) -> Outcome {
    match call_revoke(deps, sg, &entry.group_id, perms).await? {
        Ok(RevokeOutcome::Revoked { .. }) => return Ok(Ok(())),
        Ok(RevokeOutcome::AlreadyAbsent) => {}
        Err(failure) => return Ok(Err(failure)),
    }
    let rest = match fresh(sg, entry, revert).await {
        Ok(calls) => calls.revoke,
        Err(failure) => return Ok(Err(failure)),
    };
    Ok(match call_revoke(deps, sg, &entry.group_id, &rest).await? {
        Ok(RevokeOutcome::Revoked { .. }) => Ok(()),
        Ok(RevokeOutcome::AlreadyAbsent) => Err(Failure::Halt(
            "failed to revoke ingress: AWS keeps reporting missing rules".into(),
        )),
        Err(failure) => Err(failure),
    })
}

async fn call_revoke(
    deps: &Deps<'_>,
    sg: &dyn SecurityGroups,
    group_id: &str,
    perms: &[IpPermission],
) -> Result<Result<RevokeOutcome, Failure>, Error> {
    if perms.is_empty() {
        return Ok(Ok(RevokeOutcome::Revoked {
            unknown: Vec::new(),
        }));
    }
    deps.fence.check()?;
    Ok(sg.revoke_ingress(group_id, perms).await.map_err(classify))
}
