//! AWS layer: the `Organization` port — the ACTIVE accounts under an Organizations root or OU,
//! the whole subtree — on `aws-sdk-organizations` ([`SdkOrganization`]) and in memory
//! ([`FakeOrganization`]) for reconciler tests.

use super::{AwsError, Failure};
use aws_sdk_organizations::types::{Account, AccountState, AccountStatus};
use aws_sdk_organizations::Client;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// One member account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrgAccount {
    /// Twelve-digit id.
    pub id: String,
    /// Its name in Organizations.
    pub name: String,
}

/// Reads the organisation's structure.
#[async_trait::async_trait]
pub trait Organization: Send + Sync {
    /// Every ACTIVE account under `parent_id` (`r-…` or `ou-…`), nested OUs included, sorted by
    /// id. Suspended and closing accounts are left out.
    async fn active_accounts_under(&self, parent_id: &str) -> Result<Vec<OrgAccount>, AwsError>;
}

/// [`Organization`] on `aws-sdk-organizations`: per OU, ListAccountsForParent and
/// ListOrganizationalUnitsForParent, every page.
#[derive(Debug, Clone)]
pub struct SdkOrganization {
    client: Client,
}

impl SdkOrganization {
    /// Wraps a configured client.
    pub fn new(client: Client) -> Self {
        SdkOrganization { client }
    }

    async fn accounts_of(&self, parent: &str) -> Result<Vec<OrgAccount>, AwsError> {
        let action = format!("list the accounts of {parent}");
        let mut pages = self
            .client
            .list_accounts_for_parent()
            .parent_id(parent)
            .into_paginator()
            .send();
        let mut accounts = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk(action.as_str(), &e))?;
            accounts.extend(page.accounts().iter().filter_map(active));
        }
        Ok(accounts)
    }

    async fn children_of(&self, parent: &str) -> Result<Vec<String>, AwsError> {
        let action = format!("list the organizational units of {parent}");
        let mut pages = self
            .client
            .list_organizational_units_for_parent()
            .parent_id(parent)
            .into_paginator()
            .send();
        let mut children = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk(action.as_str(), &e))?;
            let ids = page.organizational_units().iter().filter_map(|ou| ou.id());
            children.extend(ids.map(str::to_owned));
        }
        Ok(children)
    }
}

/// The account when it is ACTIVE: `State` first (it replaces `Status` in 2026), else `Status`.
fn active(account: &Account) -> Option<OrgAccount> {
    let is_active = match (account.state(), account.status()) {
        (Some(state), _) => *state == AccountState::Active,
        (None, Some(status)) => *status == AccountStatus::Active,
        (None, None) => false,
    };
    is_active.then(|| OrgAccount {
        id: account.id().unwrap_or_default().to_owned(),
        name: account.name().unwrap_or_default().to_owned(),
    })
}

#[async_trait::async_trait]
impl Organization for SdkOrganization {
    async fn active_accounts_under(&self, parent_id: &str) -> Result<Vec<OrgAccount>, AwsError> {
        let mut queue = vec![parent_id.to_owned()];
        let mut seen = BTreeSet::new();
        let mut accounts = BTreeSet::new();
        while let Some(parent) = queue.pop() {
            if !seen.insert(parent.clone()) {
                continue;
            }
            accounts.extend(self.accounts_of(&parent).await?);
            queue.extend(self.children_of(&parent).await?);
        }
        Ok(accounts.into_iter().collect())
    }
}

/// One parent's child OUs, and its accounts with an ACTIVE flag.
type Children = (Vec<String>, Vec<(OrgAccount, bool)>);

/// An in-memory organisation: OUs by parent, accounts by parent, an ACTIVE flag per account.
#[derive(Debug, Default)]
pub struct FakeOrganization {
    tree: Mutex<BTreeMap<String, Children>>,
}

impl FakeOrganization {
    /// Adds an OU (or the root, with no parent) under `parent`.
    pub fn ou(&self, parent: &str, id: &str) {
        let mut tree = self.tree.lock().unwrap_or_else(|p| p.into_inner());
        tree.entry(id.to_owned()).or_default();
        tree.entry(parent.to_owned())
            .or_default()
            .0
            .push(id.to_owned());
    }

    /// Adds an account under `parent`; `active: false` is a suspended account.
    pub fn account(&self, parent: &str, id: &str, name: &str, active: bool) {
        let account = OrgAccount {
            id: id.to_owned(),
            name: name.to_owned(),
        };
        let mut tree = self.tree.lock().unwrap_or_else(|p| p.into_inner());
        tree.entry(parent.to_owned())
            .or_default()
            .1
            .push((account, active));
    }
}

#[async_trait::async_trait]
impl Organization for FakeOrganization {
    async fn active_accounts_under(&self, parent_id: &str) -> Result<Vec<OrgAccount>, AwsError> {
        let tree = self.tree.lock().unwrap_or_else(|p| p.into_inner());
        if !tree.contains_key(parent_id) {
            return Err(AwsError::NotFound(Failure::new(
                format!("list the accounts of {parent_id}"),
                "ParentNotFoundException",
                "You specified parent that doesn't exist.",
            )));
        }
        let (mut queue, mut found) = (vec![parent_id.to_owned()], BTreeSet::new());
        while let Some(parent) = queue.pop() {
            let Some((children, accounts)) = tree.get(&parent) else {
                continue;
            };
            found.extend(accounts.iter().filter(|(_, a)| *a).map(|(a, _)| a.clone()));
            queue.extend(children.iter().cloned());
        }
        Ok(found.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_organizations::operation::list_accounts_for_parent::ListAccountsForParentOutput;
    use aws_sdk_organizations::operation::list_organizational_units_for_parent::ListOrganizationalUnitsForParentOutput;
    use aws_sdk_organizations::types::OrganizationalUnit;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn account(id: &str, status: AccountStatus, state: Option<AccountState>) -> Account {
        Account::builder()
            .id(id)
            .name(format!("acct-{id}"))
            .status(status)
            .set_state(state)
            .build()
    }

    #[tokio::test]
    async fn a_subtree_is_walked_page_by_page_and_only_active_accounts_are_kept() {
        let root_accounts = mock!(Client::list_accounts_for_parent)
            .match_requests(|r| r.parent_id() == Some("ou-root-1") && r.next_token().is_none())
            .then_output(|| {
                ListAccountsForParentOutput::builder()
                    .accounts(account("111111111111", AccountStatus::Active, None))
                    .next_token("page-2")
                    .build()
            });
        let root_page_two = mock!(Client::list_accounts_for_parent)
            .match_requests(|r| r.next_token() == Some("page-2"))
            .then_output(|| {
                ListAccountsForParentOutput::builder()
                    .accounts(account("222222222222", AccountStatus::Suspended, None))
                    .accounts(account(
                        "333333333333",
                        AccountStatus::Active,
                        Some(AccountState::Closed),
                    ))
                    .build()
            });
        let nested_accounts = mock!(Client::list_accounts_for_parent)
            .match_requests(|r| r.parent_id() == Some("ou-root-2"))
            .then_output(|| {
                ListAccountsForParentOutput::builder()
                    .accounts(account(
                        "444444444444",
                        AccountStatus::Active,
                        Some(AccountState::Active),
                    ))
                    .build()
            });
        let root_children = mock!(Client::list_organizational_units_for_parent)
            .match_requests(|r| r.parent_id() == Some("ou-root-1"))
            .then_output(|| {
                ListOrganizationalUnitsForParentOutput::builder()
                    .organizational_units(OrganizationalUnit::builder().id("ou-root-2").build())
                    .build()
            });
        let leaf = mock!(Client::list_organizational_units_for_parent)
            .match_requests(|r| r.parent_id() == Some("ou-root-2"))
            .then_output(|| ListOrganizationalUnitsForParentOutput::builder().build());
        let client = mock_client!(
            aws_sdk_organizations,
            RuleMode::MatchAny,
            [
                &root_accounts,
                &root_page_two,
                &nested_accounts,
                &root_children,
                &leaf
            ]
        );
        let accounts = SdkOrganization::new(client)
            .active_accounts_under("ou-root-1")
            .await
            .unwrap();
        let ids: Vec<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["111111111111", "444444444444"]);
        assert_eq!(accounts[0].name, "acct-111111111111");
        assert_eq!(root_page_two.num_calls(), 1, "every page is read");
    }

    #[tokio::test]
    async fn the_fake_walks_only_the_subtree_asked_for() {
        let org = FakeOrganization::default();
        org.ou("", "r-1");
        org.ou("r-1", "ou-a");
        org.ou("ou-a", "ou-b");
        org.account("r-1", "111111111111", "mgmt", true);
        org.account("ou-a", "222222222222", "a", true);
        org.account("ou-b", "333333333333", "b", true);
        org.account("ou-b", "444444444444", "closed", false);
        let ids =
            |accounts: Vec<OrgAccount>| accounts.into_iter().map(|a| a.id).collect::<Vec<_>>();
        assert_eq!(
            ids(org.active_accounts_under("ou-a").await.unwrap()),
            ["222222222222", "333333333333"]
        );
        assert_eq!(
            ids(org.active_accounts_under("r-1").await.unwrap()).len(),
            3
        );
        assert!(org.active_accounts_under("ou-zz").await.is_err());
    }
}
