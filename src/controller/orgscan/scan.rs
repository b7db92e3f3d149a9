//! Controller layer: one scan — every account × region pair through one concurrency bound
//! (`maxConcurrency` pairs, hence AWS calls, in flight), each account entered once with its role,
//! findings classified per region and streamed into the tally and the spool as pairs finish.
//! An account that cannot be entered, or a region that cannot be read, becomes a failure entry.

use crate::aws::{AwsPorts, Inventory, OrgAccount, Target};
use crate::controller::Error;
use crate::crd::orgscan::ScanFailure;
use crate::domain::risk::tally::Tally;
use crate::domain::risk::{classify_network_acl, classify_security_group, Finding, RiskPolicy};
use crate::error::chain;
use crate::report::{FindingRow, Spool, SpooledFindings};
use futures::{stream, StreamExt};
use std::collections::BTreeSet;
use tokio::sync::OnceCell;

/// What to scan and how.
pub struct ScanJob<'a> {
    /// The accounts, with their Organizations names.
    pub accounts: &'a [OrgAccount],
    /// The regions of every account.
    pub regions: &'a [String],
    /// `aws`, `aws-cn`, `aws-us-gov`: the partition of every role ARN.
    pub partition: &'a str,
    /// The role assumed in each account.
    pub role_name: &'a str,
    /// The external id of the assume-role call.
    pub external_id: Option<&'a str>,
    /// The STS session name.
    pub session: &'a str,
    /// The classification.
    pub policy: &'a RiskPolicy,
    /// Pairs in flight at once.
    pub max_concurrency: usize,
}

impl ScanJob<'_> {
    /// `arn:<partition>:iam::<account>:role/<roleName>`.
    pub fn role_arn(&self, account: &str) -> String {
        format!(
            "arn:{}:iam::{account}:role/{}",
            self.partition, self.role_name
        )
    }
}

/// What a scan found.
pub struct ScanOutcome {
    /// Findings per account (accounts entered, even without findings).
    pub tally: Tally,
    /// Accounts and regions that could not be scanned, sorted.
    pub failures: Vec<ScanFailure>,
    /// Every finding, spooled.
    pub findings: SpooledFindings,
    /// Accounts entered with the role.
    pub scanned_accounts: u32,
    /// Pairs not (fully) read.
    pub failed_pairs: u32,
}

/// One pair's result.
enum Pair {
    /// The account's role could not be assumed (every pair of the account says so).
    NotEntered { account: usize, reason: String },
    /// The region was read; `failure` names what could not be (its findings are still counted).
    Read {
        account: usize,
        region: usize,
        findings: Vec<Finding>,
        failure: Option<String>,
    },
}

/// Runs the scan.
pub async fn run(aws: &dyn AwsPorts, job: &ScanJob<'_>) -> Result<ScanOutcome, Error> {
    let entered: Vec<OnceCell<Result<(), String>>> =
        job.accounts.iter().map(|_| OnceCell::new()).collect();
    let pairs = (0..job.accounts.len())
        .flat_map(|a| (0..job.regions.len()).map(move |r| (a, r)))
        .map(|(a, r)| scan_pair(aws, job, &entered[a], a, r));
    let mut results = stream::iter(pairs).buffer_unordered(job.max_concurrency.max(1));
    let mut collector = Collector::new()?;
    while let Some(pair) = results.next().await {
        collector.take(job, pair)?;
    }
    collector.finish(job)
}

async fn scan_pair(
    aws: &dyn AwsPorts,
    job: &ScanJob<'_>,
    entered: &OnceCell<Result<(), String>>,
    a: usize,
    r: usize,
) -> Pair {
    let account = &job.accounts[a].id;
    let target = Target {
        region: job.regions[r].clone(),
        role_arn: Some(job.role_arn(account)),
        external_id: job.external_id.map(str::to_owned),
    };
    let inventory = aws.inventory(&target, job.session).await;
    let entry = entered
        .get_or_init(|| enter(inventory.as_ref(), job, account))
        .await;
    if let Err(reason) = entry {
        return Pair::NotEntered {
            account: a,
            reason: reason.clone(),
        };
    }
    let (findings, failure) = read_region(inventory.as_ref(), job.policy).await;
    Pair::Read {
        account: a,
        region: r,
        findings,
        failure,
    }
}

/// Assumes the account's role (the first call made with its credentials) and checks that the
/// credentials act in that account.
async fn enter(inventory: &dyn Inventory, job: &ScanJob<'_>, account: &str) -> Result<(), String> {
    let role = job.role_arn(account);
    let me = inventory
        .caller()
        .await
        .map_err(|e| format!("failed to assume {role}: {}", chain(&e)))?;
    if me.account != account {
        return Err(format!(
            "{role} acts in account {}, not {account}; not scanned",
            me.account
        ));
    }
    Ok(())
}

async fn read_region(
    inventory: &dyn Inventory,
    policy: &RiskPolicy,
) -> (Vec<Finding>, Option<String>) {
    let mut findings = Vec::new();
    let mut failures = Vec::new();
    match inventory.security_groups().await {
        Ok(groups) => findings.extend(
            groups
                .iter()
                .flat_map(|g| classify_security_group(g, policy)),
        ),
        Err(e) => failures.push(chain(&e)),
    }
    match inventory.network_acls().await {
        Ok(acls) => findings.extend(acls.iter().flat_map(|a| classify_network_acl(a, policy))),
        Err(e) => failures.push(chain(&e)),
    }
    let failure = (!failures.is_empty()).then(|| failures.join("; "));
    (findings, failure)
}

/// Takes pairs as they finish: counts, spools, records failures.
struct Collector {
    tally: Tally,
    spool: Spool,
    failures: Vec<ScanFailure>,
    entered: BTreeSet<usize>,
    not_entered: BTreeSet<usize>,
    failed_pairs: u32,
}

impl Collector {
    fn new() -> Result<Self, Error> {
        Ok(Collector {
            tally: Tally::default(),
            spool: Spool::new()?,
            failures: Vec::new(),
            entered: BTreeSet::new(),
            not_entered: BTreeSet::new(),
            failed_pairs: 0,
        })
    }

    fn take(&mut self, job: &ScanJob<'_>, pair: Pair) -> Result<(), Error> {
        match pair {
            Pair::NotEntered { account, reason } => {
                self.failed_pairs += 1;
                if self.not_entered.insert(account) {
                    self.failures.push(ScanFailure {
                        account_id: job.accounts[account].id.clone(),
                        region: String::new(),
                        reason,
                    });
                }
            }
            Pair::Read {
                account,
                region,
                findings,
                failure,
            } => {
                let OrgAccount { id, name } = &job.accounts[account];
                self.entered.insert(account);
                self.tally.account(id, name);
                for finding in findings {
                    self.tally.add(id, finding.severity);
                    self.spool
                        .push(&FindingRow::new(id, name, &job.regions[region], finding))?;
                }
                if let Some(reason) = failure {
                    self.failed_pairs += 1;
                    self.failures.push(ScanFailure {
                        account_id: id.clone(),
                        region: job.regions[region].clone(),
                        reason,
                    });
                }
            }
        }
        Ok(())
    }

    fn finish(mut self, _job: &ScanJob<'_>) -> Result<ScanOutcome, Error> {
        self.failures.sort_by(|a, b| {
            (a.account_id.as_str(), a.region.as_str())
                .cmp(&(b.account_id.as_str(), b.region.as_str()))
        });
        Ok(ScanOutcome {
            tally: self.tally,
            failures: self.failures,
            findings: self.spool.finish()?,
            scanned_accounts: self.entered.len() as u32,
            failed_pairs: self.failed_pairs,
        })
    }
}
