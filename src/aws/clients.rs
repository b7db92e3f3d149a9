//! AWS layer: builds SDK configurations and clients for a target (region, optional role to
//! assume, optional external id), pointed at `aws.endpointUrl` when one is set (moto), with
//! retries from `aws.maxAttempts`, cached per target so credentials are reused.

use super::ec2::{Ec2SecurityGroups, SecurityGroups};
use super::flowlogs::{FlowLogs, SdkFlowLogs};
use super::observe::{CallObserver, ObserveCalls};
use super::sts::{Identity, StsIdentity};
use crate::config::AwsSettings;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Session name on every assumed role, so CloudTrail shows who acted.
pub const SESSION_NAME: &str = "sg-tightener";

/// Where and as whom to call AWS.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// AWS region, e.g. `af-south-1`.
    pub region: String,
    /// Role to assume first; `None` = the controller's own credentials.
    pub role_arn: Option<String>,
    /// External id for the assume-role call (OrgRiskScan).
    pub external_id: Option<String>,
}

impl Target {
    /// The controller's own credentials in `region`.
    pub fn region(region: impl Into<String>) -> Self {
        Target {
            region: region.into(),
            role_arn: None,
            external_id: None,
        }
    }

    /// A role to assume in `region`.
    pub fn role(region: impl Into<String>, role_arn: impl Into<String>) -> Self {
        Target {
            region: region.into(),
            role_arn: Some(role_arn.into()),
            external_id: None,
        }
    }
}

/// The ports the reconcilers use, per target. [`ClientFactory`] implements it on the SDK;
/// tests implement it with fakes.
#[async_trait::async_trait]
pub trait AwsPorts: Send + Sync {
    /// Security-group operations in the target.
    async fn security_groups(&self, target: &Target) -> Arc<dyn SecurityGroups>;
    /// The caller identity in the target.
    async fn identity(&self, target: &Target) -> Arc<dyn Identity>;
    /// Flow-log evidence readers in the target.
    async fn flow_logs(&self, target: &Target) -> Arc<dyn FlowLogs>;
}

/// The retry policy for `max_attempts`: the SDK's standard mode (exponential backoff with
/// jitter, throttling codes such as `RequestLimitExceeded` retried).
pub fn retry_config(max_attempts: u32) -> RetryConfig {
    RetryConfig::standard().with_max_attempts(max_attempts)
}

/// Builds and caches SDK configurations and clients.
#[derive(Debug)]
pub struct ClientFactory {
    base: SdkConfig,
    endpoint: Option<String>,
    observer: Option<Arc<dyn CallObserver>>,
    cache: Mutex<HashMap<Target, SdkConfig>>,
}

impl ClientFactory {
    /// Loads the default credential chain (environment, web identity, container, instance
    /// metadata) once; nothing is called until a client is used.
    pub async fn from_env(settings: &AwsSettings, observer: Option<Arc<dyn CallObserver>>) -> Self {
        let base = aws_config::defaults(BehaviorVersion::latest()).load().await;
        ClientFactory::with_base(base, settings, observer)
    }

    /// Uses `base` for credentials, HTTP client and sleep; `settings` for endpoint and retries.
    pub fn with_base(
        base: SdkConfig,
        settings: &AwsSettings,
        observer: Option<Arc<dyn CallObserver>>,
    ) -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(60))
            .build();
        let mut builder = base
            .into_builder()
            .retry_config(retry_config(settings.max_attempts))
            .timeout_config(timeouts);
        if let Some(url) = settings.endpoint() {
            builder = builder.endpoint_url(url);
        }
        ClientFactory {
            base: builder.build(),
            endpoint: settings.endpoint().map(str::to_owned),
            observer,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The SDK configuration for a target: its region, and the assumed role's credentials
    /// (refreshed by the SDK before they expire) when the target names a role.
    pub async fn sdk_config(&self, target: &Target) -> SdkConfig {
        if let Some(config) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(target)
        {
            return config.clone();
        }
        let regional = self
            .base
            .to_builder()
            .region(Region::new(target.region.clone()))
            .build();
        let config = match &target.role_arn {
            None => regional,
            Some(role_arn) => {
                let mut provider = AssumeRoleProvider::builder(role_arn)
                    .session_name(SESSION_NAME)
                    .configure(&regional);
                if let Some(external_id) = &target.external_id {
                    provider = provider.external_id(external_id);
                }
                let provider = provider.build().await;
                regional
                    .into_builder()
                    .credentials_provider(SharedCredentialsProvider::new(provider))
                    .build()
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.entry(target.clone()).or_insert(config).clone()
    }

    fn observe(&self) -> Option<ObserveCalls> {
        self.observer.clone().map(ObserveCalls::new)
    }

    /// An EC2 client for the target.
    pub async fn ec2(&self, target: &Target) -> aws_sdk_ec2::Client {
        let mut builder = aws_sdk_ec2::config::Builder::from(&self.sdk_config(target).await);
        if let Some(observe) = self.observe() {
            builder = builder.interceptor(observe);
        }
        aws_sdk_ec2::Client::from_conf(builder.build())
    }

    /// An STS client for the target.
    pub async fn sts(&self, target: &Target) -> aws_sdk_sts::Client {
        let mut builder = aws_sdk_sts::config::Builder::from(&self.sdk_config(target).await);
        if let Some(observe) = self.observe() {
            builder = builder.interceptor(observe);
        }
        aws_sdk_sts::Client::from_conf(builder.build())
    }

    /// An S3 client for the target; path-style addressing when an endpoint is set (emulators
    /// do not serve virtual-hosted buckets).
    pub async fn s3(&self, target: &Target) -> aws_sdk_s3::Client {
        let mut builder = aws_sdk_s3::config::Builder::from(&self.sdk_config(target).await)
            .force_path_style(self.endpoint.is_some());
        if let Some(observe) = self.observe() {
            builder = builder.interceptor(observe);
        }
        aws_sdk_s3::Client::from_conf(builder.build())
    }

    /// A CloudWatch Logs client for the target.
    pub async fn logs(&self, target: &Target) -> aws_sdk_cloudwatchlogs::Client {
        let mut builder =
            aws_sdk_cloudwatchlogs::config::Builder::from(&self.sdk_config(target).await);
        if let Some(observe) = self.observe() {
            builder = builder.interceptor(observe);
        }
        aws_sdk_cloudwatchlogs::Client::from_conf(builder.build())
    }

    /// An Athena client for the target.
    pub async fn athena(&self, target: &Target) -> aws_sdk_athena::Client {
        let mut builder = aws_sdk_athena::config::Builder::from(&self.sdk_config(target).await);
        if let Some(observe) = self.observe() {
            builder = builder.interceptor(observe);
        }
        aws_sdk_athena::Client::from_conf(builder.build())
    }

    /// An Organizations client for the target.
    pub async fn organizations(&self, target: &Target) -> aws_sdk_organizations::Client {
        let mut builder =
            aws_sdk_organizations::config::Builder::from(&self.sdk_config(target).await);
        if let Some(observe) = self.observe() {
            builder = builder.interceptor(observe);
        }
        aws_sdk_organizations::Client::from_conf(builder.build())
    }
}

#[async_trait::async_trait]
impl AwsPorts for ClientFactory {
    async fn security_groups(&self, target: &Target) -> Arc<dyn SecurityGroups> {
        Arc::new(Ec2SecurityGroups::new(self.ec2(target).await))
    }

    async fn identity(&self, target: &Target) -> Arc<dyn Identity> {
        Arc::new(StsIdentity::new(self.sts(target).await))
    }

    async fn flow_logs(&self, target: &Target) -> Arc<dyn FlowLogs> {
        Arc::new(SdkFlowLogs::new(
            self.s3(target).await,
            self.logs(target).await,
            self.athena(target).await,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn factory(endpoint: &str) -> ClientFactory {
        let base = aws_config::defaults(BehaviorVersion::latest())
            .empty_test_environment()
            .test_credentials()
            .region(Region::new("us-east-1"))
            .load()
            .await;
        let settings = AwsSettings {
            endpoint_url: endpoint.to_owned(),
            max_attempts: 4,
        };
        ClientFactory::with_base(base, &settings, None)
    }

    #[tokio::test]
    async fn a_target_gets_its_region_endpoint_and_retry_policy() {
        let config = factory("http://127.0.0.1:5000")
            .await
            .sdk_config(&Target::region("af-south-1"))
            .await;
        assert_eq!(config.region().map(|r| r.as_ref()), Some("af-south-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5000"));
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(4));
    }

    #[tokio::test]
    async fn without_an_endpoint_real_aws_is_used() {
        let config = factory("")
            .await
            .sdk_config(&Target::region("eu-west-1"))
            .await;
        assert_eq!(config.endpoint_url(), None);
    }

    #[tokio::test]
    async fn configurations_are_cached_per_region_and_role() {
        let factory = factory("").await;
        let role = Target::role("eu-west-1", "arn:aws:iam::111111111111:role/x");
        factory.sdk_config(&role).await;
        factory.sdk_config(&role).await;
        factory.sdk_config(&Target::region("eu-west-1")).await;
        factory.sdk_config(&Target::region("af-south-1")).await;
        assert_eq!(factory.cache.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn an_assumed_role_replaces_the_base_credentials() {
        let factory = factory("").await;
        let base = factory.sdk_config(&Target::region("eu-west-1")).await;
        let role = factory
            .sdk_config(&Target::role(
                "eu-west-1",
                "arn:aws:iam::111111111111:role/x",
            ))
            .await;
        let debug = |c: &SdkConfig| format!("{:?}", c.credentials_provider());
        assert!(debug(&role).contains("AssumeRole"), "{}", debug(&role));
        assert!(!debug(&base).contains("AssumeRole"));
    }
}
