//! AWS layer: the classified error every port returns. SDK errors are mapped here, by error
//! code and HTTP status, into a few kinds the reconcilers act on; they never see SDK types.

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::error::Error as StdError;

/// What failed: the action in words, and AWS's error code and message (credentials redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What was being done, as "failed to …" continues it: `describe security groups`.
    pub action: String,
    /// AWS's error code (`RequestLimitExceeded`), empty when the failure had none.
    pub code: String,
    /// AWS's or the transport's message.
    pub message: String,
}

impl Failure {
    /// A failure with the message passed through [`redact`].
    pub fn new(action: impl Into<String>, code: impl Into<String>, message: &str) -> Self {
        Failure {
            action: action.into(),
            code: code.into(),
            message: redact(message),
        }
    }

    fn cause(&self) -> String {
        match (self.code.is_empty(), self.message.is_empty()) {
            (true, _) => self.message.clone(),
            (false, true) => self.code.clone(),
            (false, false) => format!("{}: {}", self.code, self.message),
        }
    }
}

/// A failed AWS call, classified. Messages read "failed to <action>: <kind> (<code>: <message>)".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// AWS rate-limited the call (after the SDK's own retries).
    #[error("failed to {}: throttled by AWS ({})", .0.action, .0.cause())]
    Throttled(Failure),
    /// A network, timeout or 5xx failure that may succeed later.
    #[error("failed to {}: AWS unavailable ({})", .0.action, .0.cause())]
    Transient(Failure),
    /// The credentials or role may not do this, or no credentials could be obtained.
    #[error("failed to {}: access denied ({})", .0.action, .0.cause())]
    AccessDenied(Failure),
    /// The group, permission, bucket or other resource does not exist.
    #[error("failed to {}: not found ({})", .0.action, .0.cause())]
    NotFound(Failure),
    /// AWS refused the request as malformed.
    #[error("failed to {}: invalid request ({})", .0.action, .0.cause())]
    Invalid(Failure),
    /// The thing being created already exists (`InvalidPermission.Duplicate`).
    #[error("failed to {}: already exists ({})", .0.action, .0.cause())]
    Duplicate(Failure),
    /// A quota was hit (`RulesPerSecurityGroupLimitExceeded`): retrying will not help.
    #[error("failed to {}: AWS limit exceeded ({})", .0.action, .0.cause())]
    LimitExceeded(Failure),
    /// Anything else.
    #[error("failed to {}: {}", .0.action, .0.cause())]
    Other(Failure),
}

impl AwsError {
    /// The failure's details.
    pub fn failure(&self) -> &Failure {
        match self {
            AwsError::Throttled(f)
            | AwsError::Transient(f)
            | AwsError::AccessDenied(f)
            | AwsError::NotFound(f)
            | AwsError::Invalid(f)
            | AwsError::Duplicate(f)
            | AwsError::LimitExceeded(f)
            | AwsError::Other(f) => f,
        }
    }

    /// AWS's error code, empty when there was none.
    pub fn code(&self) -> &str {
        &self.failure().code
    }

    /// Whether the same call may succeed later without any change (throttling, outages).
    pub fn is_retryable(&self) -> bool {
        matches!(self, AwsError::Throttled(_) | AwsError::Transient(_))
    }

    /// Whether this is a deterministic refusal of an evidence read ([`REFUSAL_CODES`]): the same
    /// query would be refused again, so it is not retried until something changes.
    pub fn is_refusal(&self) -> bool {
        matches!(self, AwsError::Other(f) if REFUSAL_CODES.contains(&f.code.as_str()))
    }

    /// A fixed CamelCase name: condition reason, event reason and metric label.
    pub fn reason(&self) -> &'static str {
        if let Some(code) = REFUSAL_CODES
            .iter()
            .find(|c| self.is_refusal() && **c == self.code())
        {
            return code;
        }
        match self {
            AwsError::Throttled(_) => "AwsThrottled",
            AwsError::Transient(_) => "AwsUnavailable",
            AwsError::AccessDenied(_) => "AwsAccessDenied",
            AwsError::NotFound(_) => "AwsNotFound",
            AwsError::Invalid(_) => "AwsInvalidRequest",
            AwsError::Duplicate(_) => "AwsDuplicate",
            AwsError::LimitExceeded(_) => "AwsLimitExceeded",
            AwsError::Other(_) => "AwsError",
        }
    }

    /// Classifies an error code (and the HTTP status when the code says nothing).
    pub fn from_code(
        action: impl Into<String>,
        code: &str,
        message: &str,
        status: Option<u16>,
    ) -> Self {
        classify(code, status)(Failure::new(action, code, message))
    }

    /// Classifies any SDK error. `action` completes "failed to …".
    pub fn from_sdk<E>(action: impl Into<String>, error: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let action = action.into();
        match error {
            SdkError::ServiceError(context) => {
                let service = context.err();
                let status = context.raw().status().as_u16();
                let message = service.message().unwrap_or_default();
                AwsError::from_code(
                    action,
                    service.code().unwrap_or_default(),
                    message,
                    Some(status),
                )
            }
            SdkError::ConstructionFailure(_) => AwsError::Invalid(chain_failure(action, error)),
            SdkError::DispatchFailure(dispatch) if dispatch.is_user() => {
                AwsError::Invalid(chain_failure(action, error))
            }
            SdkError::DispatchFailure(_) => from_credentials_chain(&action, error)
                .unwrap_or_else(|| AwsError::Transient(chain_failure(action, error))),
            _ => AwsError::Transient(chain_failure(action, error)),
        }
    }
}

fn chain_failure(action: String, error: &dyn StdError) -> Failure {
    Failure::new(action, "", &DisplayErrorContext(error).to_string())
}

/// An error whose chain holds a credentials failure: assuming a role was refused, or no
/// credentials could be found. Returns `None` for plain transport failures.
fn from_credentials_chain(action: &str, error: &(dyn StdError + 'static)) -> Option<AwsError> {
    let mut current = Some(error);
    while let Some(err) = current {
        if let Some(credentials) = err.downcast_ref::<CredentialsError>() {
            return Some(from_credentials(action, credentials));
        }
        current = err.source();
    }
    None
}

fn from_credentials(action: &str, error: &CredentialsError) -> AwsError {
    let action = format!("{action} (obtaining credentials)");
    if let Some(sts) = error
        .source()
        .and_then(|s| s.downcast_ref::<aws_sdk_sts::error::SdkError<aws_sdk_sts::operation::assume_role::AssumeRoleError>>())
    {
        return AwsError::from_sdk(action, sts);
    }
    let failure = chain_failure(action, error);
    match error {
        CredentialsError::ProviderTimedOut(_) => AwsError::Transient(failure),
        _ => AwsError::AccessDenied(failure),
    }
}

/// Codes of the evidence readers' own deterministic refusals: a Logs Insights window that still
/// hits the row limit at its smallest split, and more than 10% unreadable flow-log objects.
pub const REFUSAL_CODES: &[&str] = &["InsightsRowLimit", "UnreadableFlowLogs"];

/// Error codes AWS uses for rate limiting (the SDK's own list, so both agree on retries).
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

const TRANSIENT_CODES: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "Unavailable",
    "IDPCommunicationError",
];

const ACCESS_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthFailure",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "OptInRequired",
    "InvalidAccessKeyId",
];

const NOT_FOUND_CODES: &[&str] = &[
    "NotFound",
    "NoSuchBucket",
    "NoSuchKey",
    "ResourceNotFoundException",
    "NoSuchEntity",
];

const INVALID_CODES: &[&str] = &[
    "MissingParameter",
    "ValidationError",
    "ValidationException",
    "MalformedQueryException",
    "InvalidRequestException",
];

type Constructor = fn(Failure) -> AwsError;

/// The kind for an error code; order matters (`RequestLimitExceeded` throttles, other
/// `…LimitExceeded` codes are quotas; `….NotFound` and `….Duplicate` beat the `Invalid…` prefix).
fn classify(code: &str, status: Option<u16>) -> Constructor {
    let any = |list: &[&str]| list.contains(&code);
    if any(THROTTLING_CODES) {
        AwsError::Throttled
    } else if any(TRANSIENT_CODES) {
        AwsError::Transient
    } else if any(ACCESS_CODES) {
        AwsError::AccessDenied
    } else if code.ends_with(".NotFound")
        || code.ends_with("NotFoundException")
        || any(NOT_FOUND_CODES)
    {
        AwsError::NotFound
    } else if code.ends_with(".Duplicate")
        || code.contains("AlreadyExists")
        || code.starts_with("Duplicate")
    {
        AwsError::Duplicate
    } else if code.ends_with("LimitExceeded") || code.ends_with("QuotaExceeded") {
        AwsError::LimitExceeded
    } else if code.starts_with("Invalid") || any(INVALID_CODES) {
        AwsError::Invalid
    } else if code.is_empty() {
        classify_status(status)
    } else {
        AwsError::Other
    }
}

fn classify_status(status: Option<u16>) -> Constructor {
    match status {
        Some(429) => AwsError::Throttled,
        Some(401 | 403) => AwsError::AccessDenied,
        Some(404) => AwsError::NotFound,
        Some(500..=599) => AwsError::Transient,
        _ => AwsError::Other,
    }
}

/// Replaces anything shaped like an AWS access key id (`AKIA…`, `ASIA…`) so no message carries
/// one into a log, event or status (invariant I13).
pub fn redact(message: &str) -> String {
    let bytes = message.as_bytes();
    let mut out = String::with_capacity(message.len());
    let mut i = 0;
    while i < bytes.len() {
        let candidate = &bytes[i..bytes.len().min(i + 20)];
        let is_key = candidate.len() == 20
            && (candidate.starts_with(b"AKIA") || candidate.starts_with(b"ASIA"))
            && candidate[4..]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if is_key {
            out.push_str("<redacted>");
            i += 20;
        } else {
            let ch = message[i..].chars().next().unwrap_or_default();
            out.push(ch);
            i += ch.len_utf8().max(1);
        }
    }
    out
}

#[cfg(test)]
mod tests;
