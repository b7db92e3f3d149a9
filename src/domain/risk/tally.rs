//! Domain layer (pure): an org scan's aggregation — findings are counted one at a time as they
//! arrive (never collected), per account and in total, and ranked at the end; plus when the next
//! scan is due.

use super::{top_accounts, AccountRisk, Severity, SeverityCounts};
use jiff::Timestamp;
use std::collections::BTreeMap;

/// Per-account severity counts of one scan. Memory grows with accounts, not findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    accounts: BTreeMap<String, (String, SeverityCounts)>,
    totals: SeverityCounts,
}

impl Tally {
    /// Records a scanned account (so an account without findings still ranks, with score 0).
    pub fn account(&mut self, account_id: &str, account_name: &str) {
        self.accounts
            .entry(account_id.to_owned())
            .or_insert_with(|| (account_name.to_owned(), SeverityCounts::default()));
    }

    /// Counts one finding of `account_id`.
    pub fn add(&mut self, account_id: &str, severity: Severity) {
        let entry = self
            .accounts
            .entry(account_id.to_owned())
            .or_insert_with(|| (String::new(), SeverityCounts::default()));
        entry.1.add(severity);
        self.totals.add(severity);
    }

    /// Findings per severity over every account.
    pub fn totals(&self) -> SeverityCounts {
        self.totals
    }

    /// Accounts recorded.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether no account was recorded.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Every account with its counts, in account-id order.
    pub fn counts(&self) -> impl Iterator<Item = (&str, &SeverityCounts)> {
        self.accounts.iter().map(|(id, (_, c))| (id.as_str(), c))
    }

    /// The `limit` riskiest accounts, highest score first (ties by account id).
    pub fn ranked(&self, limit: usize) -> Vec<AccountRisk> {
        let rows = self
            .accounts
            .iter()
            .map(|(id, (name, counts))| (id.clone(), name.clone(), *counts));
        top_accounts(rows, limit)
    }
}

/// Why a scan starts now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanReason {
    /// No scan was attempted yet.
    First,
    /// The spec or the rescan annotation changed since the last attempt.
    InputsChanged,
    /// The next scan is due (`interval` after the last scan, or the retry after a failure).
    Due,
}

/// What the schedule says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanDue {
    /// Scan now.
    Now(ScanReason),
    /// The next scan is due at this time.
    At(Timestamp),
}

/// The last scan attempt, as the schedule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastAttempt<'a> {
    /// The inputs hash it ran for.
    pub inputs_hash: &'a str,
    /// When the next one is due.
    pub next_scan_at: Timestamp,
}

/// A change of inputs scans at once; otherwise the next scan waits for its time. Scans are
/// never due on anything else — in particular not on the controller's own status writes.
pub fn scan_due(last: Option<LastAttempt<'_>>, inputs_hash: &str, now: Timestamp) -> ScanDue {
    let Some(last) = last else {
        return ScanDue::Now(ScanReason::First);
    };
    if last.inputs_hash != inputs_hash {
        return ScanDue::Now(ScanReason::InputsChanged);
    }
    if last.next_scan_at <= now {
        ScanDue::Now(ScanReason::Due)
    } else {
        ScanDue::At(last.next_scan_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_are_counted_per_account_and_ranked() {
        let mut tally = Tally::default();
        tally.account("111111111111", "quiet");
        tally.account("222222222222", "loud");
        tally.add("222222222222", Severity::High);
        tally.add("222222222222", Severity::Low);
        tally.add("333333333333", Severity::Critical);
        let ranked = tally.ranked(20);
        let order: Vec<&str> = ranked.iter().map(|a| a.account_id.as_str()).collect();
        assert_eq!(order, ["333333333333", "222222222222", "111111111111"]);
        assert_eq!(ranked[1].account_name, "loud");
        assert_eq!(ranked[1].risk_score, 10_001);
        assert_eq!(ranked[2].risk_score, 0, "a clean account still ranks");
        assert_eq!(
            (tally.totals().critical, tally.totals().high, tally.len()),
            (1, 1, 3)
        );
        assert_eq!(tally.ranked(1).len(), 1);
    }

    #[test]
    fn a_scan_is_due_first_on_input_change_and_at_its_time() {
        let at = |s: i64| Timestamp::from_second(1_800_000_000 + s).unwrap();
        assert_eq!(scan_due(None, "h", at(0)), ScanDue::Now(ScanReason::First));
        let last = Some(LastAttempt {
            inputs_hash: "h",
            next_scan_at: at(86_400),
        });
        assert_eq!(
            scan_due(last, "other", at(1)),
            ScanDue::Now(ScanReason::InputsChanged)
        );
        assert_eq!(scan_due(last, "h", at(60)), ScanDue::At(at(86_400)));
        assert_eq!(
            scan_due(last, "h", at(86_400)),
            ScanDue::Now(ScanReason::Due)
        );
    }
}
