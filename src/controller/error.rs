//! Controller layer: the reconcile error — every failure a reconciler can return, each with a
//! fixed `reason()` (condition reason, event reason, metric label) and a retry policy.

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
    /// An object could not be turned into or read from JSON.
    #[error("failed to serialize {what}")]
    Serialize {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
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
        }
    }

    /// How the controller retries after this failure.
    pub fn retry(&self) -> Retry {
        match self {
            Error::Aws(aws) if aws.is_retryable() => Retry::Backoff,
            Error::Aws(AwsError::AccessDenied(_) | AwsError::LimitExceeded(_)) => Retry::Slowly,
            Error::Aws(_) => Retry::Backoff,
            Error::Forbidden(_)
            | Error::InvalidSpec(_)
            | Error::TooManyGroups(_)
            | Error::Serialize { .. } => Retry::AwaitChange,
            Error::Kube { .. } => Retry::Backoff,
            Error::Plan(_) => Retry::Slowly,
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
