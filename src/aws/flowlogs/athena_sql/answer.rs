//! AWS layer (pure, no SDK): reading the answer of [`super::evidence_sql`] row by row into the
//! domain's evidence document — flow rows into the aggregator (memory bounded by distinct
//! tuples), day rows into coverage, interface rows into the interfaces with records.

use super::{DAYS, FLOWS, INTERFACES};
use crate::aws::flowlogs::rows::{add_row, timestamp_of, FlowRow};
use crate::domain::evidence::coverage::{utc_date, CoverageTracker, RecordKind};
use crate::domain::evidence::{EvidenceDocument, Window};
use crate::domain::flowlog::Aggregator;
use std::collections::BTreeSet;

/// Column positions in [`super::evidence_sql`]'s answer.
mod column {
    pub const SET: usize = 0;
    pub const SOURCE: usize = 1;
    pub const DESTINATION: usize = 2;
    pub const INTERFACE: usize = 3;
    pub const PROTOCOL: usize = 4;
    pub const PORT: usize = 5;
    pub const KEPT: usize = 6;
    pub const UTC_DAY: usize = 7;
    pub const LOGGED: usize = 8;
    pub const RECORDS: usize = 9;
    pub const DATA: usize = 10;
    pub const SKIPPED: usize = 11;
    pub const EARLIEST: usize = 12;
}

/// What the answer says so far.
#[derive(Debug, Default)]
pub struct EvidenceRows {
    aggregator: Aggregator,
    tracker: CoverageTracker,
    earliest: Option<jiff::Timestamp>,
    skipped: u64,
    interfaces: BTreeSet<String>,
    /// Rows whose `set` is none of the three (an engine answering differently): counted as
    /// malformed so they show in the document instead of vanishing.
    unknown: u64,
}

impl EvidenceRows {
    /// Adds one data row (cells as text, NULL as empty, in the query's column order).
    pub fn add(&mut self, cells: &[&str]) {
        let cell = |index: usize| cells.get(index).copied().unwrap_or_default().trim();
        match cell(column::SET).parse::<u8>() {
            Ok(FLOWS) => self.add_flow(&cell),
            Ok(DAYS) => self.add_day(&cell),
            Ok(INTERFACES) => match cell(column::LOGGED) {
                "" | "-" => {}
                id => {
                    self.interfaces.insert(id.to_owned());
                }
            },
            _ => self.unknown += 1,
        }
    }

    fn add_flow<'c>(&mut self, cell: &impl Fn(usize) -> &'c str) {
        if cell(column::KEPT) != "1" {
            return; // the records of the actions not asked for, in one row
        }
        let row = FlowRow {
            source: cell(column::SOURCE),
            destination: cell(column::DESTINATION),
            interface_id: cell(column::INTERFACE),
            protocol: cell(column::PROTOCOL),
            port: cell(column::PORT),
            records: cell(column::RECORDS),
            ..FlowRow::default()
        };
        add_row(&mut self.aggregator, &row);
    }

    fn add_day<'c>(&mut self, cell: &impl Fn(usize) -> &'c str) {
        let Some(day) = timestamp_of(cell(column::UTC_DAY)) else {
            self.unknown += 1;
            return;
        };
        let count = |index: usize| cell(index).parse::<f64>().map_or(0, |n| n as u64);
        if count(column::DATA) > 0 {
            self.tracker.observe_day(utc_date(day));
        }
        let skipped = count(column::SKIPPED);
        if skipped > 0 {
            self.tracker
                .observe(day.as_second(), None, RecordKind::Skipped);
            self.skipped += skipped;
        }
        let first = timestamp_of(cell(column::EARLIEST));
        self.earliest = self.earliest.into_iter().chain(first).min();
    }

    /// The evidence document of `window` from every row added.
    pub fn evidence(self, window: Window) -> EvidenceDocument {
        let mut aggregator = self.aggregator;
        aggregator.stats.skipdata += self.skipped;
        aggregator.stats.malformed += self.unknown;
        let mut document = aggregator.into_evidence(window);
        let mut days = self.tracker.coverage(&window);
        days.earliest_record = self.earliest;
        days.skipped_records = self.skipped;
        days.interfaces_with_records = Some(self.interfaces.into_iter().collect());
        document.coverage = days;
        document
    }
}

#[cfg(test)]
mod column_tests {
    use super::column;
    use crate::aws::flowlogs::athena_sql::ANSWER_COLUMNS;

    #[test]
    fn each_column_position_names_its_column_of_the_answer() {
        let positions = [
            (column::SET, "set"),
            (column::SOURCE, "source"),
            (column::DESTINATION, "destination"),
            (column::INTERFACE, "interface"),
            (column::PROTOCOL, "protocol"),
            (column::PORT, "port"),
            (column::KEPT, "kept"),
            (column::UTC_DAY, "utc_day"),
            (column::LOGGED, "logged"),
            (column::RECORDS, "records"),
            (column::DATA, "data"),
            (column::SKIPPED, "skipped"),
            (column::EARLIEST, "earliest"),
        ];
        for (position, name) in positions {
            assert_eq!(ANSWER_COLUMNS[position], name);
        }
    }
}
