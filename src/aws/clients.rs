//! AWS layer: builds SDK configurations and clients for a target (region, optional role to
//! assume, optional external id), pointed at `aws.endpointUrl` when one is set (moto), with
//! retries from `aws.maxAttempts`, cached per target so credentials are reused. An assumed role's
//! credentials provider is shared by every region of the same role and session, so a role is
//! assumed once per account, not once per region.

use super::ec2::inventory::{Inventory, SdkInventory};
use super::ec2::{Ec2Network, Ec2SecurityGroups, Network, SecurityGroups};
use super::flowlogs::{EvidenceStore, FlowLogs, SdkFlowLogs, SharedFlowLogs};
use super::observe::{CallObserver, ObserveCalls};
use super::organizations::{Organization, SdkOrganization};
use super::reports::{ReportStore, S3ReportStore};
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
    /// VPCs, their interfaces and flow logs in the target (evidence checks).
    async fn network(&self, target: &Target) -> Arc<dyn Network>;
    /// Flow-log evidence readers in the target.
    async fn flow_logs(&self, target: &Target) -> Arc<dyn FlowLogs>;
    /// The organisation's structure, as the target's credentials see it (OrgRiskScan).
    async fn organization(&self, target: &Target) -> Arc<dyn Organization>;
    /// One account × region for a risk scan, the role assumed with the session name `session`
    /// (so CloudTrail shows which scan read the account).
    async fn inventory(&self, target: &Target, session: &str) -> Arc<dyn Inventory>;
    /// Report uploads to S3 in the target.
    async fn reports(&self, target: &Target) -> Arc<dyn ReportStore>;
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
    cache: Mutex<HashMap<(Target, String), SdkConfig>>,
    roles: Mutex<HashMap<RoleKey, SharedCredentialsProvider>>,
    evidence: Option<Arc<EvidenceStore>>,
}

/// An assumed role's identity: role ARN, external id, session name.
type RoleKey = (String, Option<String>, String);

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
            roles: Mutex::new(HashMap::new()),
            evidence: None,
        }
    }

    /// Flow-log readers share their reads through `store` (one read of a source for every
    /// resource that reads it with the same role).
    pub fn with_evidence_store(mut self, store: Arc<EvidenceStore>) -> Self {
        self.evidence = Some(store);
        self
    }

    /// The SDK configuration for a target: its region, and the assumed role's credentials
    /// (refreshed by the SDK before they expire) when the target names a role.
    pub async fn sdk_config(&self, target: &Target) -> SdkConfig {
        self.sdk_config_as(target, SESSION_NAME).await
    }

    /// [`Self::sdk_config`] with the role assumed under the session name `session`.
    pub async fn sdk_config_as(&self, target: &Target, session: &str) -> SdkConfig {
        let key = (target.clone(), session.to_owned());
        if let Some(config) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
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
                let role = (
                    role_arn.clone(),
                    target.external_id.clone(),
                    session.to_owned(),
                );
                let provider = self.role_credentials(role, &regional).await;
                regional
                    .into_builder()
                    .credentials_provider(provider)
                    .build()
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.entry(key).or_insert(config).clone()
    }

    /// The credentials of an assumed role, one provider per role and session whatever the
    /// region (they share the SDK's identity cache, so the role is assumed once).
    async fn role_credentials(
        &self,
        role: RoleKey,
        regional: &SdkConfig,
    ) -> SharedCredentialsProvider {
        if let Some(provider) = self
            .roles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&role)
        {
            return provider.clone();
        }
        let (role_arn, external_id, session) = &role;
        let mut builder = AssumeRoleProvider::builder(role_arn)
            .session_name(session)
            .configure(regional);
        if let Some(external_id) = external_id {
            builder = builder.external_id(external_id);
        }
        let provider = SharedCredentialsProvider::new(builder.build().await);
        let mut roles = self.roles.lock().unwrap_or_else(|p| p.into_inner());
        roles.entry(role).or_insert(provider).clone()
    }

    fn observe(&self) -> Option<ObserveCalls> {
        self.observer.clone().map(ObserveCalls::new)
    }

    /// An EC2 client for the target.
    pub async fn ec2(&self, target: &Target) -> aws_sdk_ec2::Client {
        self.ec2_with(&self.sdk_config(target).await)
    }

    fn ec2_with(&self, config: &SdkConfig) -> aws_sdk_ec2::Client {
        let mut builder = aws_sdk_ec2::config::Builder::from(config);
        if let Some(observe) = self.observe() {
            builder = builder.interceptor(observe);
        }
        aws_sdk_ec2::Client::from_conf(builder.build())
    }

    /// An STS client for the target.
    pub async fn sts(&self, target: &Target) -> aws_sdk_sts::Client {
        self.sts_with(&self.sdk_config(target).await)
    }

    fn sts_with(&self, config: &SdkConfig) -> aws_sdk_sts::Client {
        let mut builder = aws_sdk_sts::config::Builder::from(config);
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

    async fn network(&self, target: &Target) -> Arc<dyn Network> {
        Arc::new(Ec2Network::new(self.ec2(target).await))
    }

    async fn flow_logs(&self, target: &Target) -> Arc<dyn FlowLogs> {
        let mut reader = SdkFlowLogs::new(
            self.s3(target).await,
            self.logs(target).await,
            self.athena(target).await,
        );
        match &self.evidence {
            Some(store) => {
                reader.observer = store.observer();
                Arc::new(SharedFlowLogs::new(reader, store.clone(), target))
            }
            None => Arc::new(reader),
        }
    }

    async fn organization(&self, target: &Target) -> Arc<dyn Organization> {
        Arc::new(SdkOrganization::new(self.organizations(target).await))
    }

    async fn inventory(&self, target: &Target, session: &str) -> Arc<dyn Inventory> {
        let config = self.sdk_config_as(target, session).await;
        Arc::new(SdkInventory::new(
            self.ec2_with(&config),
            self.sts_with(&config),
        ))
    }

    async fn reports(&self, target: &Target) -> Arc<dyn ReportStore> {
        Arc::new(S3ReportStore::new(self.s3(target).await))
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
