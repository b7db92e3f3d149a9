//! Domain layer (pure): per-day coverage of an observation window and its gaps, and the S3 key
//! helpers (date in the key, Parquet detection) that let the S3 adapter select objects by date.
//!
//! Days are UTC calendar days. A day of the window is covered when at least one record with data
//! (`OK` or `NODATA` — NODATA proves the logs were flowing) started or ended on it; a day with only
//! `SKIPDATA` records, or none at all, is a gap.

use super::{Coverage, EvidenceDocument, Window};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use std::collections::BTreeSet;

pub mod interfaces;
mod s3_key;
pub use s3_key::{is_parquet_key, s3_key_date, s3_key_delivered_by, select_s3_key, KeySelection};

const SECONDS_PER_DAY: i64 = 86_400;

/// Whether a record carried data or reported lost records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// `OK` or `NODATA`: the logs were flowing.
    Data,
    /// `SKIPDATA`: AWS lost records in the capture window.
    Skipped,
}

/// Collects, record by record, which UTC days had data and the earliest record seen. Cheap per
/// record: consecutive records of the same day touch no set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoverageTracker {
    data_days: BTreeSet<i64>,
    skipped_days: BTreeSet<i64>,
    earliest: Option<i64>,
    last_data_day: Option<i64>,
}

impl CoverageTracker {
    /// Records one record's capture window (`start`, optional `end`, Unix seconds): its days
    /// and its start as a candidate for the earliest record.
    pub fn observe(&mut self, start: i64, end: Option<i64>, kind: RecordKind) {
        self.first_seen(start);
        self.mark_days(start, end, kind);
    }

    /// Takes `start` as a candidate for the earliest record (the parsers pass only records
    /// inside the window, so a record of a neighbouring day in an edge object does not count).
    pub fn first_seen(&mut self, start: i64) {
        self.earliest = Some(self.earliest.map_or(start, |e| e.min(start)));
    }

    /// Marks the days of one record's capture window, without touching the earliest record.
    pub fn mark_days(&mut self, start: i64, end: Option<i64>, kind: RecordKind) {
        let first = start.div_euclid(SECONDS_PER_DAY);
        let last = end.unwrap_or(start).max(start).div_euclid(SECONDS_PER_DAY);
        for day in [first, last] {
            match kind {
                RecordKind::Data if self.last_data_day != Some(day) => {
                    self.data_days.insert(day);
                    self.last_data_day = Some(day);
                }
                RecordKind::Data => {}
                RecordKind::Skipped => {
                    self.skipped_days.insert(day);
                }
            }
        }
    }

    /// Marks a whole UTC day as having data (for sources that aggregate on the server and know
    /// only which days returned rows, such as Logs Insights or Athena).
    pub fn observe_day(&mut self, day: Date) {
        let seconds = day_start(day);
        self.observe(seconds, None, RecordKind::Data);
    }

    /// Adds what `other` saw.
    pub fn merge(&mut self, other: &CoverageTracker) {
        self.data_days.extend(&other.data_days);
        self.skipped_days.extend(&other.skipped_days);
        self.earliest = match (self.earliest, other.earliest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// The earliest record start seen.
    pub fn earliest(&self) -> Option<jiff::Timestamp> {
        self.earliest
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
    }

    /// The coverage of `window`: days without data, days with skipped records, earliest record.
    pub fn coverage(&self, window: &Window) -> Coverage {
        let days = window_days(window);
        Coverage {
            days_without_data: days
                .iter()
                .copied()
                .filter(|d| !self.data_days.contains(&day_number(*d)))
                .collect(),
            earliest_record: self.earliest(),
            days_with_skipped_records: days
                .iter()
                .copied()
                .filter(|d| {
                    self.skipped_days.contains(&day_number(*d))
                        && self.data_days.contains(&day_number(*d))
                })
                .collect(),
            interfaces_with_records: None,
            skipped_records: 0,
            unreadable_objects: 0,
        }
    }
}

/// The UTC days that overlap the half-open window `[start, end)`, in order.
pub fn window_days(window: &Window) -> Vec<Date> {
    if window.end <= window.start {
        return Vec::new();
    }
    let first = utc_date(window.start);
    let last = utc_date(window.end - jiff::SignedDuration::from_nanos(1));
    let mut days = Vec::new();
    let mut day = first;
    while day <= last {
        days.push(day);
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    days
}

/// Coverage from a set of days that had data (for adapters that know days, not records).
pub fn coverage_from_days(
    window: &Window,
    days_with_data: impl IntoIterator<Item = Date>,
    earliest: Option<jiff::Timestamp>,
) -> Coverage {
    let mut tracker = CoverageTracker::default();
    days_with_data
        .into_iter()
        .for_each(|d| tracker.observe_day(d));
    let mut coverage = tracker.coverage(window);
    coverage.earliest_record = earliest.or(coverage.earliest_record);
    coverage
}

/// True when the flow logs start after the window's first day (or there is no record at all):
/// the evidence cannot speak for the beginning of the window.
pub fn younger_than_window(coverage: &Coverage, window: &Window) -> bool {
    coverage
        .earliest_record
        .is_none_or(|earliest| utc_date(earliest) > utc_date(window.start))
}

/// True when every day of the window has data and the logs are at least as old as the window —
/// the condition for `EvidenceComplete=True`.
pub fn is_complete(coverage: &Coverage, window: &Window) -> bool {
    coverage.days_without_data.is_empty() && !younger_than_window(coverage, window)
}

/// Why `document` cannot speak for its whole window, one reason per entry; empty when it can
/// (`EvidenceComplete=True`). Besides missing days and logs younger than the window, lost
/// evidence is a gap: objects that could not be read (unreadable, or Parquet) and `SKIPDATA`
/// records (AWS lost records) may hold flows, and a plan without them could lock those sources
/// out (I3). Gaps of the interfaces themselves are [`interfaces::interface_gaps`].
pub fn evidence_gaps(document: &EvidenceDocument) -> Vec<String> {
    let coverage = &document.coverage;
    let mut gaps = Vec::new();
    if !coverage.days_without_data.is_empty() {
        let days: Vec<String> = coverage
            .days_without_data
            .iter()
            .map(|d| d.to_string())
            .collect();
        gaps.push(format!(
            "{} day(s) without data: {}",
            days.len(),
            days.join(", ")
        ));
    }
    if younger_than_window(coverage, &document.window) {
        let earliest = coverage
            .earliest_record
            .map_or("no record at all".to_string(), |e| {
                format!("the earliest record is {e}")
            });
        gaps.push(format!(
            "the flow logs start after the window's first day {} ({earliest})",
            utc_date(document.window.start)
        ));
    }
    if coverage.unreadable_objects > 0 {
        gaps.push(format!(
            "{} flow-log object(s) could not be read: the flows in them are missing",
            coverage.unreadable_objects
        ));
    }
    if coverage.skipped_records > 0 {
        let days: Vec<String> = coverage
            .days_with_skipped_records
            .iter()
            .map(|d| d.to_string())
            .collect();
        let on = match days.is_empty() {
            true => String::new(),
            false => format!(" (on {})", days.join(", ")),
        };
        gaps.push(format!(
            "{} SKIPDATA record(s){on}: AWS lost flow-log records, so flows may be missing",
            coverage.skipped_records
        ));
    }
    gaps
}

/// The UTC calendar date of a timestamp.
pub fn utc_date(at: jiff::Timestamp) -> Date {
    at.to_zoned(TimeZone::UTC).date()
}

fn day_number(day: Date) -> i64 {
    day_start(day).div_euclid(SECONDS_PER_DAY)
}

fn day_start(day: Date) -> i64 {
    day.to_zoned(TimeZone::UTC)
        .map_or(0, |z| z.timestamp().as_second())
}

#[cfg(test)]
mod tests;
