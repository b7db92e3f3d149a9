//! Controller layer: the reconcile error — every failure a reconciler can return, each with a
//! fixed `reason()` (condition reason, event reason, metric label) and a retry policy.

use super::leader::NotLeader;
use crate::aws::AwsError;
use crate::config::Forbidden;
use std::time::Duration;

/// A failed reconcile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An AWS call failed (already classified).
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The tenancy rules do not allow this namespace on this account.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// The spec is wrong in a way only the controller can see (DESIGN I12).
    #[error("failed to validate spec: {0}")]
    InvalidSpec(String),
    /// Break-glass auto-discovery found more groups than `autoDiscover.maxGroups`.
    #[error("{0}")]
    TooManyGroups(String),
    /// A Kubernetes API call failed.
    #[error("failed to {action}")]
    Kube {
        /// What was being done: `patch status of sgt/ns/name`.
        action: String,
        #[source]
        source: kube::Error,
    },
    /// No plan could be computed from the live rules (a rule the model cannot read).
    #[error("failed to plan: {0}")]
    Plan(String),
    /// A report file (CSV, XLSX, JSON, the findings spool) could not be written or read.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// An object could not be turned into or read from JSON.
    #[error("failed to serialize {what}")]
    Serialize {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// This replica lost (or never had) the leader Lease: it changes nothing, in AWS or Kubernetes.
    #[error(transparent)]
    NotLeader(#[from] NotLeader),
    /// A revert ran but the groups do not yet hold the pre-apply rules (deletion waits for it).
    #[error("failed to revert: {0}")]
    RevertUnverified(String),
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Try again soon, backing off exponentially per object.
    Backoff,
    /// Try again much later: a person must fix something outside Kubernetes (IAM, quotas).
    Slowly,
    /// Only a change to the object can help.
    AwaitChange,
}

/// How long [`Retry::Slowly`] waits.
pub const SLOW_RETRY: Duration = Duration::from_secs(600);

impl Error {
    /// A Kubernetes failure while doing `action`.
    pub fn kube(action: impl Into<String>, source: kube::Error) -> Self {
        Error::Kube {
            action: action.into(),
            source,
        }
    }

    /// A fixed CamelCase name for the failure.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Aws(aws) => aws.reason(),
            Error::Forbidden(_) => "Forbidden",
            Error::InvalidSpec(_) => "InvalidSpec",
            Error::TooManyGroups(_) => "TooManyGroups",
            Error::Kube { .. } => "KubernetesApiError",
            Error::Plan(_) => "PlanFailed",
            Error::Serialize { .. } => "SerializationError",
            Error::NotLeader(_) => "NotLeader",
            Error::RevertUnverified(_) => "RevertFailed",
            Error::Report(_) => "ReportFailed",
        }
    }

    /// True for a write refused because the object changed since it was read (HTTP 409): the
    /// decision was made on stale data and must be made again from a fresh read.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Kube { source: kube::Error::Api(status), .. } if status.is_conflict())
    }

    /// How the controller retries after this failure.
    pub fn retry(&self) -> Retry {
        match self {
            Error::Aws(aws) if aws.is_retryable() => Retry::Backoff,
            // Deterministic evidence refusals would only re-run the same expensive queries.
            Error::Aws(aws) if aws.is_refusal() => Retry::AwaitChange,
            Error::Aws(AwsError::AccessDenied(_) | AwsError::LimitExceeded(_)) => Retry::Slowly,
            Error::Aws(_) => Retry::Backoff,
            Error::Forbidden(_)
            | Error::InvalidSpec(_)
            | Error::TooManyGroups(_)
            | Error::Serialize { .. } => Retry::AwaitChange,
            Error::Kube { .. } => Retry::Backoff,
            Error::Plan(_) | Error::RevertUnverified(_) => Retry::Slowly,
            Error::NotLeader(_) => Retry::AwaitChange,
            Error::Report(_) => Retry::Backoff,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::Failure;

    fn aws(code: &str) -> Error {
        Error::Aws(AwsError::from_code(
            "describe security groups",
            code,
            "",
            Some(400),
        ))
    }

    #[test]
    fn reasons_and_retries_follow_the_failure() {
        assert_eq!(
            (
                aws("RequestLimitExceeded").reason(),
                aws("RequestLimitExceeded").retry()
            ),
            ("AwsThrottled", Retry::Backoff)
        );
        assert_eq!(aws("UnauthorizedOperation").retry(), Retry::Slowly);
        assert_eq!(
            aws("RulesPerSecurityGroupLimitExceeded").retry(),
            Retry::Slowly
        );
        let invalid = Error::InvalidSpec("groups: at least one of ids, tags, vpcIds".into());
        assert_eq!(
            (invalid.reason(), invalid.retry()),
            ("InvalidSpec", Retry::AwaitChange)
        );
        let forbidden = Error::from(Forbidden {
            namespace: "a".into(),
            account: "1".into(),
            detail: "no tenancy rule allows it",
        });
        assert_eq!(
            (forbidden.reason(), forbidden.retry()),
            ("Forbidden", Retry::AwaitChange)
        );
    }

    #[test]
    fn deterministic_evidence_refusals_wait_for_a_change_instead_of_re_querying() {
        for code in ["InsightsRowLimit", "UnreadableFlowLogs"] {
            let refusal = Error::Aws(AwsError::Other(Failure::new("read flow logs", code, "x")));
            assert_eq!(refusal.retry(), Retry::AwaitChange, "{code}");
            assert_eq!(refusal.reason(), code);
        }
        assert_eq!(aws("InternalError").retry(), Retry::Backoff);
    }

    #[test]
    fn a_conflict_is_recognised_and_not_leading_changes_nothing() {
        let status = kube::core::Status::failure("changed", "Conflict").with_code(409);
        let conflict = Error::kube("patch status", kube::Error::Api(Box::new(status)));
        assert!(conflict.is_conflict());
        assert!(!aws("RequestLimitExceeded").is_conflict());
        let not_leader = Error::from(NotLeader);
        assert_eq!(
            (not_leader.reason(), not_leader.retry()),
            ("NotLeader", Retry::AwaitChange)
        );
    }

    #[test]
    fn messages_say_what_failed() {
        let error = Error::Aws(AwsError::Throttled(Failure::new(
            "describe security groups",
            "RequestLimitExceeded",
            "slow",
        )));
        assert_eq!(
            error.to_string(),
            "failed to describe security groups: throttled by AWS (RequestLimitExceeded: slow)"
        );
        assert_eq!(
            Error::InvalidSpec("x".into()).to_string(),
            "failed to validate spec: x"
        );
    }
}
