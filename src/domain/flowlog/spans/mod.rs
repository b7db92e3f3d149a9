//! Domain layer (pure): flow-log aggregates kept by the UTC days each record spans, so that the
//! evidence of any whole-day window can be assembled later from parts read once (the shared
//! evidence store, `aws::flowlogs::shared`) — exactly the document a direct read of that window
//! gives: the same flows, record counts, logged interfaces, coverage and counters.
//!
//! A record `[start, end]` overlaps the whole-day window `[d₁ 00:00, dₙ₊₁ 00:00)` exactly when its
//! day span `[day(start), day(max(start, end))]` meets `[d₁, dₙ]`, so records are kept per span;
//! what does not depend on the window (parse counters, days with data, earliest record, objects)
//! is kept once.

use super::{parse_with, ActionFilter, Aggregator, FlowLogError, Selection, Sink};
use crate::domain::evidence::{EvidenceDocument, ParseStats, Window};
use std::io::BufRead;

const SECONDS_PER_DAY: i64 = 86_400;

/// Inclusive UTC day numbers (days since 1970-01-01).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DayRange {
    /// The first day.
    pub first: i64,
    /// The last day (inclusive).
    pub last: i64,
}

impl DayRange {
    /// The days of a window of whole UTC days (both ends at midnight, not empty); `None` for
    /// any other window.
    pub fn of_window(window: &Window) -> Option<DayRange> {
        let (start, end) = (window.start.as_second(), window.end.as_second());
        let whole = |t: &jiff::Timestamp| t.subsec_nanosecond() == 0;
        let aligned = start % SECONDS_PER_DAY == 0 && end % SECONDS_PER_DAY == 0;
        (aligned && whole(&window.start) && whole(&window.end) && end > start).then(|| DayRange {
            first: start.div_euclid(SECONDS_PER_DAY),
            last: end.div_euclid(SECONDS_PER_DAY) - 1,
        })
    }

    /// The days a record `[start, end]` (Unix seconds, `end` defaulting to `start`) touches.
    pub fn of_record(start: i64, end: Option<i64>) -> DayRange {
        DayRange {
            first: start.div_euclid(SECONDS_PER_DAY),
            last: end.unwrap_or(start).max(start).div_euclid(SECONDS_PER_DAY),
        }
    }

    /// True when the two ranges share a day.
    pub fn overlaps(&self, other: &DayRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

/// Flows and logged interfaces by record day span; their interface indexes are those of the
/// [`SpanAggregate`]'s base aggregator. Few per object or day (a record spans one or two
/// days): a list, the last used first.
#[derive(Debug, Default, Clone)]
pub(super) struct Spans(Vec<(DayRange, Aggregator)>);

impl Spans {
    /// The aggregator of the records spanning these days.
    pub(super) fn span(&mut self, start: i64, end: Option<i64>) -> &mut Aggregator {
        let span = DayRange::of_record(start, end);
        let list = &mut self.0;
        match list.iter().position(|(s, _)| *s == span) {
            Some(0) => {}
            Some(at) => list.swap(0, at),
            None => {
                list.push((span, Aggregator::new()));
                let last = list.len() - 1;
                list.swap(0, last);
            }
        }
        &mut list[0].1
    }
}

/// Parse results that can serve any whole-day window: window-independent counters and coverage
/// once, flows and logged interfaces per record day span.
#[derive(Debug, Default, Clone)]
pub struct SpanAggregate {
    /// Interfaces, counters (all records, `filtered` aside), coverage days, objects; no flows.
    pub(crate) base: Aggregator,
    spans: Spans,
}

impl SpanAggregate {
    /// An empty aggregate.
    pub fn new() -> Self {
        Self::default()
    }

    /// The base aggregator and the spans, for a sink to fill.
    pub(super) fn parts(&mut self) -> (&mut Aggregator, &mut Spans) {
        (&mut self.base, &mut self.spans)
    }

    /// Adds everything `other` holds.
    pub fn merge(&mut self, other: SpanAggregate) {
        let translate = self.base.translation(&other.base);
        self.base.add_translated(&other.base, &translate);
        for (span, aggregator) in &other.spans.0 {
            let at = match self.spans.0.iter().position(|(s, _)| s == span) {
                Some(at) => at,
                None => {
                    self.spans.0.push((*span, Aggregator::new()));
                    self.spans.0.len() - 1
                }
            };
            self.spans.0[at].1.add_translated(aggregator, &translate);
        }
    }

    /// Counts objects read, and of them unreadable, into the counters.
    pub fn count_objects(&mut self, read: u64, unreadable: u64) {
        self.base.stats.objects += read;
        self.base.stats.unreadable_objects += unreadable;
    }

    /// The window-independent counters (`filtered` is only known for a window).
    pub fn stats(&self) -> &ParseStats {
        &self.base.stats
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        let node = std::mem::size_of::<(DayRange, Aggregator)>();
        self.base.heap_bytes()
            + self
                .spans
                .0
                .iter()
                .map(|(_, a)| a.heap_bytes() + node)
                .sum::<usize>()
    }
}

/// The selection a span parse checks formats with: the action, and a window so that a format
/// without `start` is refused exactly as a direct read of any window refuses it.
pub(super) fn selection(action: ActionFilter) -> Selection {
    Selection {
        action,
        window: Some(Window {
            start: jiff::Timestamp::UNIX_EPOCH,
            end: jiff::Timestamp::UNIX_EPOCH,
        }),
    }
}

/// [`super::parse_into`] into a [`SpanAggregate`]: the records `action` admits, kept by day span.
pub fn parse_spans<R: BufRead + ?Sized>(
    reader: &mut R,
    action: ActionFilter,
    spans: &mut SpanAggregate,
) -> Result<ParseStats, FlowLogError> {
    let selection = selection(action);
    parse_with(reader, Sink::spanning(&selection, spans))
}

/// The evidence of the whole-day window `days` from the parts read for it (the objects a direct
/// read of the window reads): equal to what that direct read returns.
pub fn evidence_of_days<'a>(
    parts: impl IntoIterator<Item = &'a SpanAggregate>,
    window: Window,
) -> EvidenceDocument {
    let days = DayRange::of_window(&window);
    let mut out = Aggregator::new();
    for part in parts {
        let translate = out.translation(&part.base);
        out.add_translated(&part.base, &translate);
        let inside = part
            .spans
            .0
            .iter()
            .filter(|(span, _)| days.is_some_and(|days| span.overlaps(&days)));
        for (_, aggregator) in inside {
            out.add_translated(aggregator, &translate);
        }
    }
    // every record is either evidence of this window or filtered out
    out.stats.filtered = out.stats.records.saturating_sub(out.total_records());
    out.into_evidence(window)
}

#[cfg(test)]
mod tests;
