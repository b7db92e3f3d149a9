//! e2e: AWS on moto. Tests run at once against one moto, so none resets it: each test
//! works in its own moto account ([`TestAccount`], reached by assuming a role, as the operator
//! does for a resource's `roleArn`), where only its own VPCs and groups exist.

use super::env::env;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use sg_tightener::aws::{ClientFactory, Target};
use sg_tightener::config::AwsSettings;

/// moto's account for the environment's `testing` credentials.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// The SDK configuration for moto with the environment's test credentials, ignoring the host's
/// AWS variables and profiles.
pub async fn moto_config() -> SdkConfig {
    let env = env();
    let credentials = Credentials::new(
        env.var("AWS_ACCESS_KEY_ID"),
        env.var("AWS_SECRET_ACCESS_KEY"),
        None,
        None,
        "sg-tightener-e2e",
    );
    aws_config::defaults(BehaviorVersion::latest())
        .empty_test_environment()
        .region(Region::new(env.region.clone()))
        .endpoint_url(&env.moto_url)
        .credentials_provider(credentials)
        .load()
        .await
}

/// The operator's AWS layer (`ClientFactory`) as `sg-tightener run` builds it, pointed at moto.
pub async fn operator_aws_layer() -> ClientFactory {
    let settings = AwsSettings {
        endpoint_url: env().moto_url.clone(),
        max_attempts: 3,
    };
    ClientFactory::with_base(moto_config().await, &settings, None)
}

/// A moto account of one's own: a unique id, its role ARN, and SDK clients acting in it.
#[derive(Debug, Clone)]
pub struct TestAccount {
    /// 12 digits, unique to this test.
    pub id: String,
    /// `arn:aws:iam::<id>:role/sg-tightener-e2e`: what a resource's `roleArn` names to act here.
    pub role_arn: String,
    config: SdkConfig,
}

impl TestAccount {
    /// A fresh account: assumes its role from moto's default account (moto needs no IAM setup
    /// and routes every call made with the returned credentials to that account's data).
    pub async fn new() -> TestAccount {
        let id = super::names::unique_account_id();
        TestAccount::enter(&id, "sg-tightener-e2e").await
    }

    /// An account that exists already (e.g. created by Organizations), entered through its role
    /// `role_name` from moto's default account.
    pub async fn enter(id: &str, role_name: &str) -> TestAccount {
        let id = id.to_owned();
        let role_arn = format!("arn:aws:iam::{id}:role/{role_name}");
        let base = moto_config().await;
        let assumed = aws_sdk_sts::Client::new(&base)
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name("sg-tightener-e2e")
            .send()
            .await
            .unwrap_or_else(|e| panic!("moto refused to assume {role_arn}: {e:?}"));
        let c = assumed
            .credentials()
            .expect("assume_role returns credentials");
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "sg-tightener-e2e-assumed",
        );
        let config = base
            .into_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
            )
            .build();
        TestAccount {
            id,
            role_arn,
            config,
        }
    }

    /// The SDK configuration acting in this account.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` of this account's
    /// credentials: give them to an operator that must act *as* this account (e.g. the
    /// management account of an organisation).
    pub async fn credentials_env(&self) -> Vec<(&'static str, String)> {
        use aws_credential_types::provider::ProvideCredentials;
        let provider = self
            .config
            .credentials_provider()
            .expect("the account has credentials");
        let c = provider
            .provide_credentials()
            .await
            .expect("credentials of the account");
        vec![
            ("AWS_ACCESS_KEY_ID", c.access_key_id().to_owned()),
            ("AWS_SECRET_ACCESS_KEY", c.secret_access_key().to_owned()),
            (
                "AWS_SESSION_TOKEN",
                c.session_token().unwrap_or_default().to_owned(),
            ),
        ]
    }

    /// An EC2 client acting in this account.
    pub fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.config)
    }

    /// How the operator's AWS layer reaches this account: assume [`Self::role_arn`] in the
    /// environment's region.
    pub fn target(&self) -> Target {
        Target::role(env().region.clone(), self.role_arn.clone())
    }

    /// Creates a VPC; returns its id.
    pub async fn create_vpc(&self, cidr: &str) -> String {
        let vpc = self
            .ec2()
            .create_vpc()
            .cidr_block(cidr)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create_vpc {cidr}: {e:?}"));
        vpc.vpc()
            .and_then(|v| v.vpc_id())
            .expect("create_vpc returns an id")
            .to_owned()
    }

    /// Creates a security group with these tags in `vpc_id`; returns its id. It starts with no
    /// ingress rule (and moto's default allow-all egress).
    pub async fn create_group(&self, vpc_id: &str, name: &str, tags: &[(&str, &str)]) -> String {
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::SecurityGroup)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                    .collect(),
            ))
            .build();
        let group = self
            .ec2()
            .create_security_group()
            .vpc_id(vpc_id)
            .group_name(name)
            .description(format!("sg-tightener e2e: {name}"))
            .tag_specifications(tags)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create_security_group {name}: {e:?}"));
        group
            .group_id()
            .expect("create_security_group returns an id")
            .to_owned()
    }
}
