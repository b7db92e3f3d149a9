//! Domain layer (pure): flow-log record parsing (v2 default and custom header formats), streaming and aggregating.
//!
//! Entry points:
//! - [`decode`] wraps any reader, gunzipping it transparently when it starts with the gzip magic bytes
//!   (multi-member gzip included).
//! - [`parse_into`] streams one object's text into an [`Aggregator`], honouring a [`Selection`]
//!   (action and time window). A header line names a custom format; without one the v2 default
//!   applies; a later header line (concatenated files) switches format. `NODATA`/`SKIPDATA` are
//!   counted, malformed lines are counted, never fatal.
//! - [`parse_parquet`] does the same for a Parquet file (S3 delivery with `FileFormat=parquet`),
//!   row group by row group, reading only the columns evidence needs.
//! - [`Aggregator`] keeps one counter per distinct (source, destination, interface, protocol,
//!   port): memory is bounded by distinct tuples, not by log volume.

use crate::domain::evidence::Window;
use std::io::{self, BufRead, BufReader, Read};

mod aggregate;
pub(crate) mod format;
mod lines;
mod parquet_file;
mod record;
mod spans;

pub use aggregate::Aggregator;
use aggregate::Key;
pub use format::{log_format_fields, Format, DEFAULT_V2_FIELDS};
pub use lines::MAX_LINE;
#[cfg(test)]
pub(crate) use parquet_file::fixture as parquet_fixture;
pub use parquet_file::{parse_parquet, parse_parquet_spans};
pub use record::{parse_line, Action, Line, Record};
pub use spans::{evidence_of_days, parse_spans, DayRange, SpanAggregate};

use crate::domain::evidence::coverage::RecordKind;
use crate::domain::evidence::ParseStats;

/// Why a stream could not be parsed at all (individual bad lines are only counted).
#[derive(Debug, thiserror::Error)]
pub enum FlowLogError {
    /// Reading or decompressing failed.
    #[error("failed to read flow-log text: {0}")]
    Io(#[from] io::Error),
    /// The header names a format without fields the parser needs.
    #[error("flow-log format lacks required field(s): {}", missing.join(", "))]
    MissingFields {
        /// The missing field names.
        missing: Vec<&'static str>,
    },
    /// A Parquet file could not be decoded (footer, pages, codec) or has unusable columns.
    #[error("failed to read Parquet flow logs: {0}")]
    Parquet(String),
    /// The selection needs a field the format does not have.
    #[error("flow-log format has no `{field}` field, so records cannot be selected by {purpose}")]
    CannotSelect {
        /// The missing field.
        field: &'static str,
        /// What the field was needed for.
        purpose: &'static str,
    },
}

impl From<::parquet::errors::ParquetError> for FlowLogError {
    fn from(error: ::parquet::errors::ParquetError) -> Self {
        FlowLogError::Parquet(error.to_string())
    }
}

/// Which records count as evidence, by action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ActionFilter {
    /// ACCEPT records only (evidence for tightening).
    #[default]
    Accept,
    /// REJECT records only (diagnose, break-glass).
    Reject,
    /// Every record.
    Any,
}

impl ActionFilter {
    fn admits(self, action: Option<Action>) -> bool {
        match self {
            ActionFilter::Any => true,
            ActionFilter::Accept => action == Some(Action::Accept),
            ActionFilter::Reject => action == Some(Action::Reject),
        }
    }
}

/// Which records to keep: by action, and by capture time overlapping a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Selection {
    /// ACCEPT, REJECT or any.
    pub action: ActionFilter,
    /// Keep records whose `[start, end]` overlaps this window; `None` keeps every record.
    pub window: Option<Window>,
}

impl Selection {
    /// Fails when the selection needs a field `format` does not have (`action` to select
    /// ACCEPT or REJECT, `start` to select a time window).
    pub fn check(&self, format: &Format) -> Result<(), FlowLogError> {
        if self.action != ActionFilter::Any && !format.has_action() {
            return Err(FlowLogError::CannotSelect {
                field: "action",
                purpose: "ACCEPT/REJECT",
            });
        }
        if self.window.is_some() && !format.has_start() {
            return Err(FlowLogError::CannotSelect {
                field: "start",
                purpose: "time window",
            });
        }
        Ok(())
    }

    fn in_window(&self, start: Option<i64>, end: Option<i64>) -> bool {
        let Some(window) = self.window else {
            return true;
        };
        let Some(start) = start else { return false };
        let end = end.unwrap_or(start).max(start);
        end >= window.start.as_second() && start < window.end.as_second()
    }
}

/// Checks a flow log's custom `LogFormat` (`${srcaddr} ${dstaddr} …`) for what a reader that
/// selects `action` needs: the addresses, `dstport`, `protocol`, and `action` unless any will do.
pub fn check_log_format(text: &str, action: ActionFilter) -> Result<(), FlowLogError> {
    let format = Format::from_log_format(text)?;
    Selection {
        action,
        window: None,
    }
    .check(&format)
}

/// Wraps `reader` so that gzip input (detected by its magic bytes, not its name) is decompressed.
pub fn decode<'r, R: Read + 'r>(reader: R) -> io::Result<Box<dyn BufRead + 'r>> {
    const CAPACITY: usize = 256 * 1024;
    let mut buffered = BufReader::with_capacity(CAPACITY, reader);
    let head = loop {
        match buffered.fill_buf() {
            Ok(head) => break head,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    if head.starts_with(&[0x1f, 0x8b]) {
        let gunzip = flate2::bufread::MultiGzDecoder::new(buffered);
        Ok(Box::new(BufReader::with_capacity(CAPACITY, gunzip)))
    } else {
        Ok(Box::new(buffered))
    }
}

/// Parses one stream (one object or file) into `aggregator` and returns this stream's counters.
/// The first line may be a header naming the format; otherwise the v2 default applies. On an
/// error, what was parsed before it stays in the aggregator (counters included): those records
/// were really observed; the caller decides whether the stream counts as unreadable.
pub fn parse_into<R: BufRead + ?Sized>(
    reader: &mut R,
    selection: &Selection,
    aggregator: &mut Aggregator,
) -> Result<ParseStats, FlowLogError> {
    parse_with(reader, Sink::new(selection, aggregator))
}

/// Streams `reader` into `sink`; the stream's counters, or the error that stopped it.
fn parse_with<R: BufRead + ?Sized>(
    reader: &mut R,
    sink: Sink<'_>,
) -> Result<ParseStats, FlowLogError> {
    let mut parser = StreamParser {
        format: None,
        sink,
        failure: None,
    };
    let read = lines::for_each_line(reader, MAX_LINE, |chunk| {
        match chunk {
            lines::Chunk::Line(line) => parser.line(line),
            lines::Chunk::Overlong => parser.sink.stats.malformed += 1,
        }
        parser.failure.is_none()
    });
    let stats = parser.sink.finish();
    read?;
    match parser.failure {
        Some(error) => Err(error),
        None => Ok(stats),
    }
}

struct StreamParser<'s> {
    format: Option<Format>,
    sink: Sink<'s>,
    failure: Option<FlowLogError>,
}

impl StreamParser<'_> {
    fn line(&mut self, line: &[u8]) {
        if self.format.is_none() {
            if Format::is_header(line) {
                return self.switch_format(line);
            }
            self.use_format(Format::default_v2());
        }
        let Some(format) = &self.format else { return };
        match parse_line(format, line) {
            Line::Malformed if Format::is_header(line) => self.switch_format(line),
            parsed => self.sink.line(parsed),
        }
    }

    fn use_format(&mut self, format: Format) {
        if let Err(error) = self.sink.selection.check(&format) {
            self.failure = Some(error);
        }
        self.format = Some(format);
    }

    fn switch_format(&mut self, header: &[u8]) {
        match Format::from_header(&String::from_utf8_lossy(header)) {
            Ok(format) => self.use_format(format),
            Err(error) => self.failure = Some(error),
        }
    }
}

/// Where parsed records go, whatever the file format (text lines, Parquet rows): the selection
/// decides which records are evidence, the aggregator keeps them, and this stream's counters
/// and coverage are kept as they come.
struct Sink<'s> {
    selection: &'s Selection,
    /// Interfaces, counters and coverage — and, for one window, its flows.
    aggregator: &'s mut Aggregator,
    /// When set, flows and logged interfaces go by record day span instead (interfaces interned
    /// in `aggregator`), so any whole-day window can be served later.
    spans: Option<&'s mut spans::Spans>,
    stats: ParseStats,
}

impl<'s> Sink<'s> {
    fn new(selection: &'s Selection, aggregator: &'s mut Aggregator) -> Self {
        Sink {
            selection,
            aggregator,
            spans: None,
            stats: ParseStats::default(),
        }
    }

    /// A sink that keeps flows by record day span (see [`SpanAggregate`]).
    fn spanning(selection: &'s Selection, spans: &'s mut SpanAggregate) -> Self {
        let (base, spans) = spans.parts();
        Sink {
            selection,
            aggregator: base,
            spans: Some(spans),
            stats: ParseStats::default(),
        }
    }

    /// The aggregator that keeps a record's flows and logged interface: the window's when the
    /// record overlaps it, or its day span's (any record with a `start`); `None` when neither.
    fn flows(&mut self, start: Option<i64>, end: Option<i64>) -> Option<&mut Aggregator> {
        match &mut self.spans {
            None => self
                .selection
                .in_window(start, end)
                .then_some(&mut *self.aggregator),
            Some(spans) => start.map(|start| spans.span(start, end)),
        }
    }

    /// Adds this stream's counters to the aggregator's and returns them.
    fn finish(self) -> ParseStats {
        self.aggregator.stats.add(&self.stats);
        self.stats
    }

    fn line(&mut self, line: Line<'_>) {
        let entry = match line {
            Line::Record(record) => Entry::Record {
                key: Key {
                    source: record.source.to_bits(),
                    destination: record.destination.to_bits(),
                    interface: self.aggregator.interface_index(record.interface_id),
                    protocol: record.protocol,
                    port: record.port,
                },
                start: record.start,
                end: record.end,
                action: record.action,
            },
            Line::NoData {
                start,
                end,
                interface_id,
            } => Entry::NoData {
                start,
                end,
                interface: self.aggregator.interface_index(interface_id),
            },
            Line::SkipData { start, end } => Entry::SkipData { start, end },
            Line::Ipv6 => Entry::Ipv6,
            Line::Blank => return,
            Line::Malformed => Entry::Malformed,
        };
        self.entry(entry);
    }

    fn entry(&mut self, entry: Entry) {
        match entry {
            Entry::Record {
                key,
                start,
                end,
                action,
            } => self.record(key, start, end, action),
            Entry::NoData {
                start,
                end,
                interface,
            } => {
                self.stats.nodata += 1;
                self.observe(start, end, RecordKind::Data);
                if let Some(inside) = self.flows(start, end) {
                    inside.mark_logged(interface);
                }
            }
            Entry::SkipData { start, end } => {
                self.stats.skipdata += 1;
                self.observe(start, end, RecordKind::Skipped);
            }
            Entry::Ipv6 => self.stats.ipv6 += 1,
            Entry::Malformed => self.stats.malformed += 1,
        }
    }

    /// A record's days (whatever the window: `coverage` keeps the window's days only); a record
    /// with data as the earliest record, and a `SKIPDATA` record as lost evidence, only when it
    /// overlaps the window — as the Athena query counts them (a neighbouring day's records in an
    /// edge object never make the window incomplete).
    fn observe(&mut self, start: Option<i64>, end: Option<i64>, kind: RecordKind) {
        let Some(start) = start else { return };
        self.aggregator.coverage.mark_days(start, end, kind);
        if let Some(inside) = self.flows(Some(start), end) {
            match kind {
                RecordKind::Data => inside.coverage.first_seen(start),
                RecordKind::Skipped => inside.skipped_in_window += 1,
            }
        }
    }

    /// A record: it marks its interface as logged when inside the window (any action), and is
    /// evidence when the selection admits it.
    fn record(&mut self, key: Key, start: Option<i64>, end: Option<i64>, action: Option<Action>) {
        self.observe(start, end, RecordKind::Data);
        self.stats.records += 1;
        let admitted = self.selection.action.admits(action);
        let counted = match self.flows(start, end) {
            Some(inside) => {
                inside.mark_logged(key.interface);
                if admitted {
                    inside.count(key, 1);
                }
                admitted
            }
            None => false,
        };
        if !counted {
            self.stats.filtered += 1;
        }
    }
}

/// A line or a row whose interface is interned in the aggregator: what a [`Sink`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Record {
        key: Key,
        start: Option<i64>,
        end: Option<i64>,
        action: Option<Action>,
    },
    NoData {
        start: Option<i64>,
        end: Option<i64>,
        interface: u32,
    },
    SkipData {
        start: Option<i64>,
        end: Option<i64>,
    },
    Ipv6,
    Malformed,
}

#[cfg(test)]
mod tests;
