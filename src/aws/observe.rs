//! AWS layer: an SDK interceptor that reports every attempted call (retries included) with its
//! service, operation and outcome, and every finished call with its duration (retries and
//! backoff included), so metrics can count calls and throttles and time them per operation
//! without the AWS layer depending on the metrics registry.

use super::error::THROTTLING_CODES;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attempt {
    /// A 2xx response.
    Succeeded,
    /// AWS rate-limited the attempt (HTTP 429 or a throttling error code).
    Throttled,
    /// Any other error response, or no response at all.
    Failed,
}

impl Attempt {
    /// Metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Attempt::Succeeded => "success",
            Attempt::Throttled => "throttled",
            Attempt::Failed => "error",
        }
    }
}

/// Receives one report per attempt. Implemented by the metrics registry.
pub trait CallObserver: Send + Sync + Debug {
    /// `service` and `operation` are the SDK's names (`EC2`, `DescribeSecurityGroups`).
    fn attempt(&self, service: &str, operation: &str, outcome: Attempt);

    /// A call finished, successfully or not, after `elapsed` (every attempt and backoff).
    fn finished(&self, service: &str, operation: &str, elapsed: Duration) {
        let _ = (service, operation, elapsed);
    }
}

/// When the call started, kept in the call's config bag between the two hooks.
#[derive(Debug, Clone, Copy)]
struct CallStarted(Instant);

impl Storable for CallStarted {
    type Storer = StoreReplace<Self>;
}

fn names(cfg: &ConfigBag) -> (String, String) {
    cfg.load::<Metadata>()
        .map(|m| (m.service().to_owned(), m.name().to_owned()))
        .unwrap_or_else(|| ("unknown".to_owned(), "unknown".to_owned()))
}

/// The interceptor added to every client the factory builds.
#[derive(Debug, Clone)]
pub struct ObserveCalls {
    observer: Arc<dyn CallObserver>,
}

impl ObserveCalls {
    /// Reports to `observer`.
    pub fn new(observer: Arc<dyn CallObserver>) -> Self {
        ObserveCalls { observer }
    }
}

impl Intercept for ObserveCalls {
    fn name(&self) -> &'static str {
        "ObserveCalls"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state()
            .store_put(CallStarted(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(CallStarted(started)) = cfg.load::<CallStarted>().copied() {
            let (service, operation) = names(cfg);
            self.observer
                .finished(&service, &operation, started.elapsed());
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = names(cfg);
        let succeeded = matches!(context.output_or_error(), Some(Ok(_)));
        let outcome = if succeeded {
            Attempt::Succeeded
        } else {
            outcome(context.response())
        };
        self.observer.attempt(&service, &operation, outcome);
        Ok(())
    }
}

/// Classifies an attempt from its HTTP response (used when the attempt did not produce an
/// output); the body of an error response is buffered by then, so its error code can be read
/// without parsing the protocol.
pub fn outcome(response: Option<&HttpResponse>) -> Attempt {
    let Some(response) = response else {
        return Attempt::Failed;
    };
    let status = response.status();
    if status.is_success() {
        return Attempt::Succeeded;
    }
    let header_code = response
        .headers()
        .get("x-amzn-errortype")
        .unwrap_or_default();
    let body = response.body().bytes().unwrap_or_default();
    let throttled = status.as_u16() == 429
        || THROTTLING_CODES
            .iter()
            .any(|code| header_code.starts_with(code) || body_names_code(body, code));
    if throttled {
        Attempt::Throttled
    } else {
        Attempt::Failed
    }
}

/// Whether `body` names `code` as a whole token: `<Code>X</Code>` (XML), `"X"` or `#X"` (JSON).
fn body_names_code(body: &[u8], code: &str) -> bool {
    let code = code.as_bytes();
    body.windows(code.len()).enumerate().any(|(at, window)| {
        let before = at.checked_sub(1).map(|i| body[i]);
        let after = body.get(at + code.len()).copied();
        window == code
            && matches!(before, Some(b'>' | b'"' | b'#'))
            && matches!(after, Some(b'<' | b'"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn response(status: u16, body: &'static str) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
    }

    #[test]
    fn classifies_success_throttling_and_other_errors() {
        let ec2 = "<Response><Errors><Error><Code>RequestLimitExceeded</Code></Error></Errors></Response>";
        let json = r#"{"__type":"com.amazonaws.logs#ThrottlingException","message":"slow down"}"#;
        let other = "<Response><Errors><Error><Code>InvalidGroup.NotFound</Code></Error></Errors></Response>";
        assert_eq!(outcome(Some(&response(200, ""))), Attempt::Succeeded);
        assert_eq!(outcome(Some(&response(503, ec2))), Attempt::Throttled);
        assert_eq!(outcome(Some(&response(400, json))), Attempt::Throttled);
        assert_eq!(outcome(Some(&response(429, ""))), Attempt::Throttled);
        assert_eq!(outcome(Some(&response(400, other))), Attempt::Failed);
        assert_eq!(outcome(None), Attempt::Failed);
    }

    #[test]
    fn a_code_inside_a_longer_word_is_not_a_throttle() {
        let body = "<Message>NotThrottlingExceptional</Message>";
        assert_eq!(outcome(Some(&response(400, body))), Attempt::Failed);
    }
}
