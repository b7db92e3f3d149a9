//! Config layer (pure): tenancy — which namespaces may act on which AWS accounts, and the role
//! the controller assumes there (`roleArnTemplate` with `{partition}` and `{account}`).

use super::ControllerConfig;
use serde::{Deserialize, Serialize};

/// One `tenancy:` entry. Patterns are literal names or globs where `*` matches any run of
/// characters (`team-*`, `*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenancyRule {
    /// Namespace patterns this rule covers.
    pub namespaces: Vec<String>,
    /// Account-id patterns those namespaces may act on.
    pub accounts: Vec<String>,
    /// Role assumed in the account, e.g. `arn:{partition}:iam::{account}:role/sg-tightener`;
    /// empty = the controller's own credentials.
    #[serde(default)]
    pub role_arn_template: RoleArnTemplate,
}

impl TenancyRule {
    /// The rule used when the configuration has no `tenancy:` section.
    pub fn allow_all() -> Self {
        TenancyRule {
            namespaces: vec!["*".to_owned()],
            accounts: vec!["*".to_owned()],
            role_arn_template: RoleArnTemplate::default(),
        }
    }

    /// Whether this rule covers `namespace` acting on `account`.
    pub fn matches(&self, namespace: &str, account: &str) -> bool {
        self.namespaces.iter().any(|p| glob_match(p, namespace))
            && self.accounts.iter().any(|p| glob_match(p, account))
    }
}

/// A role ARN with `{partition}` and `{account}` placeholders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoleArnTemplate(pub String);

impl RoleArnTemplate {
    /// Placeholders a template may use.
    pub const PLACEHOLDERS: [&'static str; 2] = ["{partition}", "{account}"];

    /// Whether no role is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ARN for one account in one partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn expand(&self, partition: &str, account: &str) -> String {
        self.0
            .replace("{partition}", partition)
            .replace("{account}", account)
    }

    /// The first `{…}` that is not a known placeholder, if any.
    pub fn unknown_placeholder(&self) -> Option<&str> {
        let mut rest = self.0.as_str();
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}').map(|c| open + c + 1)?;
            let token = &rest[open..close];
            if !Self::PLACEHOLDERS.contains(&token) {
                return Some(token);
            }
            rest = &rest[close..];
        }
        None
    }
}

/// A namespace asked to act on an account that the tenancy rules do not allow it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to authorise namespace {namespace:?} for account {account:?}: {detail}")]
pub struct Forbidden {
    /// The resource's namespace.
    pub namespace: String,
    /// The account it asked for.
    pub account: String,
    /// Which check refused it.
    pub detail: &'static str,
}

impl ControllerConfig {
    /// Whether `namespace` may act on `account` (the effective account id: the resource's
    /// `accountId`, else the controller's own). On success, the first matching rule's role
    /// template, `None` when that rule names no role.
    pub fn authorise(
        &self,
        namespace: &str,
        account: &str,
    ) -> Result<Option<&RoleArnTemplate>, Forbidden> {
        let rule = self
            .tenancy
            .iter()
            .find(|rule| rule.matches(namespace, account))
            .ok_or_else(|| Forbidden {
                namespace: namespace.to_owned(),
                account: account.to_owned(),
                detail: "no tenancy rule allows it",
            })?;
        Ok(Some(&rule.role_arn_template).filter(|t| !t.is_empty()))
    }

    /// The role to assume for a resource: its explicit `roleArn` (whose account must be the
    /// resource's account and allowed for the namespace — a namespace cannot escape its accounts
    /// by naming a role elsewhere), else the tenancy template expanded for `account`, else none.
    pub fn resolve_role(
        &self,
        namespace: &str,
        account: &str,
        explicit_role_arn: Option<&str>,
        partition: &str,
    ) -> Result<Option<String>, Forbidden> {
        let template = self.authorise(namespace, account)?;
        let Some(explicit) = explicit_role_arn.filter(|arn| !arn.is_empty()) else {
            return Ok(template.map(|t| t.expand(partition, account)));
        };
        match account_of_arn(explicit) {
            Some(role_account) if role_account == account => Ok(Some(explicit.to_owned())),
            _ => Err(Forbidden {
                namespace: namespace.to_owned(),
                account: account.to_owned(),
                detail: "roleArn is not a role in that account",
            }),
        }
    }
}

/// The account id field of an ARN (`arn:aws:iam::123456789012:role/x` → `123456789012`).
pub fn account_of_arn(arn: &str) -> Option<&str> {
    let mut fields = arn.splitn(6, ':');
    (fields.next()? == "arn").then_some(())?;
    let account = fields.nth(3)?;
    fields.next()?;
    Some(account).filter(|a| !a.is_empty())
}

/// Glob matching where `*` matches any run of characters (including none); nothing else is special.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty(); // no `*` at all: exact match
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}
