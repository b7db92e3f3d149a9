//! Domain layer (pure): the evidence document (`sg-tightener.evidence/v1`) that the flow-log
//! readers produce and the planner consumes, plus attribution and coverage (submodules).
//!
//! A [`Flow`] is one distinct (source, destination, interface, protocol, port) tuple with the number
//! of records that carried it: memory is bounded by distinct tuples, not by log volume.

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

pub mod attribution;
pub mod coverage;

/// The schema tag written into every evidence document.
pub const EVIDENCE_SCHEMA: &str = "sg-tightener.evidence/v1";

/// What `sg-tightener analyse` writes and `sg-tightener plan --evidence` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceDocument {
    /// Always [`EVIDENCE_SCHEMA`].
    pub schema: String,
    /// The observation window the flows were selected from.
    pub window: Window,
    /// Days without data, earliest record seen.
    #[serde(default)]
    pub coverage: Coverage,
    /// Parse counters (records read, malformed lines, NODATA/SKIPDATA).
    #[serde(default)]
    pub stats: ParseStats,
    /// Distinct flow tuples.
    #[serde(default)]
    pub flows: Vec<Flow>,
}

impl EvidenceDocument {
    /// About the heap bytes the document holds (its flows and their interface ids).
    pub fn heap_bytes(&self) -> usize {
        let ids: usize = self
            .flows
            .iter()
            .map(|f| f.interface_id.as_ref().map_or(0, String::capacity))
            .sum();
        let days = self.coverage.days_without_data.capacity()
            + self.coverage.days_with_skipped_records.capacity();
        self.flows.capacity() * std::mem::size_of::<Flow>()
            + ids
            + days * std::mem::size_of::<jiff::civil::Date>()
            + 512
    }
}

/// A half-open time window `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    /// First instant inside the window.
    pub start: jiff::Timestamp,
    /// First instant after the window.
    pub end: jiff::Timestamp,
}

impl Window {
    /// The `days` whole UTC days before the day that contains `now`: `[midnight − days, midnight)`.
    /// Today is left out because its logs are still being delivered; counting it would make
    /// coverage flap between complete and incomplete during the day.
    pub fn last_full_days(now: jiff::Timestamp, days: u32) -> Window {
        let midnight = utc_midnight(now);
        let length = jiff::SignedDuration::from_hours(24 * i64::from(days));
        let start = midnight.checked_sub(length).unwrap_or(jiff::Timestamp::MIN);
        Window {
            start,
            end: midnight,
        }
    }
}

/// The start of the UTC day containing `at`.
fn utc_midnight(at: jiff::Timestamp) -> jiff::Timestamp {
    let date = at.to_zoned(jiff::tz::TimeZone::UTC).date();
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|zoned| zoned.timestamp())
        .unwrap_or(at)
}

/// How completely the evidence covers its window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    /// UTC days inside the window with no record at all (or only SKIPDATA records).
    #[serde(default)]
    pub days_without_data: Vec<jiff::civil::Date>,
    /// The earliest record start seen, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_record: Option<jiff::Timestamp>,
    /// UTC days inside the window that had data but also `SKIPDATA` records (AWS lost some records
    /// that day): a partial gap, reported for review but not counted in `daysWithoutData`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_with_skipped_records: Vec<jiff::civil::Date>,
    /// Interfaces with at least one record inside the window (`OK` of any action, or `NODATA`:
    /// the flow log was capturing them), sorted. Absent when the source cannot tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interfaces_with_records: Option<Vec<String>>,
    /// `SKIPDATA` records in the window: AWS lost records, so flows may be missing (a gap).
    #[serde(default)]
    pub skipped_records: u64,
    /// Objects that could not be read: the flows in them are missing (a gap).
    #[serde(default)]
    pub unreadable_objects: u64,
}

/// Counters from parsing flow-log text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseStats {
    /// Lines that parsed into a flow record with data (`log-status OK`), selected or not.
    pub records: u64,
    /// Of `records`, those skipped because they did not match the selection (action, window).
    pub filtered: u64,
    /// `NODATA` records (no traffic in the capture window: not a gap).
    pub nodata: u64,
    /// `SKIPDATA` records (records lost by AWS: counted as a coverage gap).
    pub skipdata: u64,
    /// Lines that could not be parsed.
    pub malformed: u64,
    /// IPv6 records (skipped: the domain tightens IPv4 rules only).
    #[serde(default)]
    pub ipv6: u64,
    /// Objects read for the window (S3 readers; 0 for sources that are not objects).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub objects: u64,
    /// Of `objects`, those that could not be read (get failure, bad gzip, not flow-log text).
    /// Tolerated up to [`MAX_UNREADABLE_FRACTION`]; above it the reader refuses the source.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unreadable_objects: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl ParseStats {
    /// Adds `other`'s counters to these.
    pub fn add(&mut self, other: &ParseStats) {
        self.records += other.records;
        self.filtered += other.filtered;
        self.nodata += other.nodata;
        self.skipdata += other.skipdata;
        self.malformed += other.malformed;
        self.ipv6 += other.ipv6;
        self.objects += other.objects;
        self.unreadable_objects += other.unreadable_objects;
    }

    /// True when a stream had lines but not one flow-log record: not a flow-log object.
    pub fn has_no_records(&self) -> bool {
        self.malformed > 0 && self.records + self.nodata + self.skipdata + self.ipv6 == 0
    }
}

/// The share of unreadable objects above which evidence is refused rather than used (seed: 10%).
pub const MAX_UNREADABLE_FRACTION: f64 = 0.10;

/// True when more than [`MAX_UNREADABLE_FRACTION`] of `total` objects were unreadable: acting on
/// such a partial view could lock out sources whose logs were in the unread objects.
pub fn too_many_unreadable(total: u64, unreadable: u64) -> bool {
    total > 0 && unreadable as f64 > MAX_UNREADABLE_FRACTION * total as f64
}

/// One distinct flow tuple and the number of records that carried it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Flow {
    /// Original source address (`pkt-srcaddr` when the format has it, else `srcaddr`).
    pub source: Ipv4Addr,
    /// Original destination address (`pkt-dstaddr` when present, else `dstaddr`).
    pub destination: Ipv4Addr,
    /// The ENI the record was captured on, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_id: Option<String>,
    /// IANA protocol number (6 tcp, 17 udp, 1 icmp).
    pub protocol: u8,
    /// Destination port (0 for protocols without ports).
    pub port: u16,
    /// How many flow-log records carried this tuple.
    pub records: u64,
}

#[cfg(test)]
mod window_tests {
    use super::Window;

    #[test]
    fn last_full_days_ends_at_the_start_of_today_and_spans_whole_days() {
        let now: jiff::Timestamp = "2026-11-29T04:03:24.5Z".parse().unwrap();
        let window = Window::last_full_days(now, 90);
        assert_eq!(window.end.to_string(), "2026-11-29T00:00:00Z");
        assert_eq!(window.start.to_string(), "2026-08-31T00:00:00Z");
    }
}
