//! AWS layer (pure functions, no SDK): the SQL the Athena reader runs, and the table's shape it is
//! written for. One query per window ([`evidence_sql`]) scans the window's partitions once and
//! answers the flows (aggregated by source, destination, interface, protocol, port; packet-level
//! addresses when the table has them), the records and SKIPDATA records per UTC day, and the
//! interfaces with records, with GROUPING SETS; [`EvidenceRows`] reads its answer. It reads only
//! the partitions that can hold the window (delivery days from the window's first day to one day
//! after its last, as the S3 reader selects keys): a 90-day plan scans 91 days of partitions, a
//! one-day window two, never the table; with an `hour` partition a window of hours also skips
//! its first day's hours before it (as the S3 reader). Nothing in it depends on the resource asking, so one
//! answer serves every resource that reads the table for the same window and action.
//!
//! The SQL is plain ANSI that Athena (Trino) and DuckDB run alike: the tests execute it with
//! DuckDB over the same flow logs the S3 reader reads.

use super::rows::actions;
use super::EvidenceRequest;
use crate::domain::evidence::coverage::window_days;
use jiff::civil::Date;
use std::collections::HashMap;

mod answer;

pub use answer::EvidenceRows;

/// The columns of [`evidence_sql`]'s answer, in order: the header row Athena returns first.
pub const ANSWER_COLUMNS: [&str; 13] = [
    "set",
    "source",
    "destination",
    "interface",
    "protocol",
    "port",
    "kept",
    "utc_day",
    "logged",
    "records",
    "data",
    "skipped",
    "earliest",
];

/// The table to query, and the shape its metadata reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Glue database.
    pub database: String,
    /// Table name.
    pub table: String,
    /// Partition columns and the packet-address columns.
    pub shape: TableShape,
}

/// What the SQL depends on in a table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableShape {
    /// How the table is partitioned by delivery day.
    pub partitions: Partitions,
    /// The table has `pkt_srcaddr` (the packet source behind a NAT or transit gateway).
    pub packet_source: bool,
    /// The table has `pkt_dstaddr`.
    pub packet_destination: bool,
    /// An `hour` partition column below the day (hourly prefixes): a window that starts late in
    /// a day reads only that day's hours that can hold it.
    pub hour: Option<HourColumn>,
}

/// An `hour` partition column (`00`–`23` as text, or integers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourColumn {
    /// Its name.
    pub column: String,
    /// Integers rather than text.
    pub numeric: bool,
}

/// Partitioning by delivery day, as AWS's examples and generated tables do it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Partitions {
    /// Not partitioned by day (or in a way not understood): every query reads the table.
    #[default]
    None,
    /// One column of type DATE (`date`).
    Date { column: String },
    /// One text column (`day`, `date`, `dt`) holding the day in one of `formats` (from partition
    /// projection's `projection.<column>.format`, else the usual `yyyy/MM/dd`, `yyyy-MM-dd`,
    /// `yyyyMMdd`), as strftime patterns.
    DayText {
        column: String,
        formats: Vec<String>,
    },
    /// `year`, `month` and `day` columns (Hive-compatible prefixes, the VPC console's Athena
    /// integration), text or integers (an `hour` below them: [`TableShape::hour`]).
    YearMonthDay { numeric: bool },
}

/// Partition column names that hold a whole day.
const DAY_COLUMNS: &[&str] = &["day", "date", "dt"];

impl TableShape {
    /// The shape from Athena's table metadata: columns and partition keys as (name, type), and
    /// the table parameters (partition projection's `projection.*` among them).
    pub fn from_metadata(
        columns: &[(String, String)],
        partition_keys: &[(String, String)],
        parameters: &HashMap<String, String>,
    ) -> TableShape {
        let has = |name: &str| columns.iter().any(|(c, _)| c.eq_ignore_ascii_case(name));
        let partitions = partitions(partition_keys, parameters);
        let hour = partition_keys
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("hour"))
            .filter(|_| partitions != Partitions::None)
            .map(|(column, kind)| HourColumn {
                column: column.clone(),
                numeric: is_numeric(&kind.to_ascii_lowercase()),
            });
        TableShape {
            partitions,
            packet_source: has("pkt_srcaddr"),
            packet_destination: has("pkt_dstaddr"),
            hour,
        }
    }
}

fn is_numeric(kind: &str) -> bool {
    ["int", "integer", "bigint", "smallint", "tinyint"].contains(&kind)
}

fn partitions(keys: &[(String, String)], parameters: &HashMap<String, String>) -> Partitions {
    let key = |name: &str| {
        keys.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(k, t)| (k.clone(), t.to_ascii_lowercase()))
    };
    if let (Some(year), Some(_), Some(_)) = (key("year"), key("month"), key("day")) {
        return Partitions::YearMonthDay {
            numeric: is_numeric(&year.1),
        };
    }
    for name in DAY_COLUMNS {
        let Some((column, kind)) = key(name) else {
            continue;
        };
        if kind == "date" {
            return Partitions::Date { column };
        }
        if kind == "string" || kind.starts_with("varchar") {
            let projected = parameters
                .get(&format!("projection.{column}.format"))
                .and_then(|f| strftime(f));
            let formats = match projected {
                Some(format) => vec![format],
                None => ["%Y/%m/%d", "%Y-%m-%d", "%Y%m%d"]
                    .map(str::to_owned)
                    .to_vec(),
            };
            return Partitions::DayText { column, formats };
        }
    }
    Partitions::None
}

/// A Java date pattern made of `yyyy`, `MM`, `dd` and separators, as strftime; `None` for
/// anything else (hours, names of months…), which is then not used for pruning.
fn strftime(java: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = java;
    while !rest.is_empty() {
        if let Some(tail) = rest.strip_prefix("yyyy") {
            out.push_str("%Y");
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix("MM") {
            out.push_str("%m");
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix("dd") {
            out.push_str("%d");
            rest = tail;
        } else {
            let c = rest.chars().next()?;
            if c.is_ascii_alphanumeric() || c == '%' || c == '\'' {
                return None;
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out.contains("%Y").then_some(out)
}

/// A double-quoted SQL identifier (embedded quotes doubled).
fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A single-quoted SQL string literal (embedded quotes doubled).
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn list(values: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let quoted: Vec<String> = values.into_iter().map(|v| literal(v.as_ref())).collect();
    quoted.join(", ")
}

/// Delivery days that may hold the window's records, the only partitions a query reads: the
/// window's days and the day after (objects are delivered after their records end).
pub fn delivery_days(request: &EvidenceRequest) -> Vec<Date> {
    let mut days = window_days(&request.window);
    if let Some(next) = days.last().and_then(|d| d.tomorrow().ok()) {
        days.push(next);
    }
    days
}

/// The partition predicate (with a leading ` AND `), empty for an unpartitioned table.
fn partition_filter(shape: &TableShape, request: &EvidenceRequest) -> String {
    let days = delivery_days(request);
    let Some(all) = day_predicate(&shape.partitions, &days) else {
        return String::new();
    };
    let hours = shape
        .hour
        .as_ref()
        .and_then(|hour| first_day_hours(hour, &shape.partitions, &days, request));
    format!(" AND {all}{}", hours.unwrap_or_default())
}

/// Delivery slack of the hours selection, as the S3 reader's: an object of the hourly partition
/// `H` was delivered by `H + 1h` and holds records that ended at most an hour before that.
const HOUR_SLACK: jiff::SignedDuration = jiff::SignedDuration::from_hours(2);

/// For a window that starts late in its first day (diagnose's last 24 hours): ` AND (<the other
/// days> OR <hour> IN (the first day's hours from two hours before the start))`, so the first
/// day's earlier hourly partitions are not read. `None` when every hour may hold the window.
fn first_day_hours(
    hour: &HourColumn,
    partitions: &Partitions,
    days: &[Date],
    request: &EvidenceRequest,
) -> Option<String> {
    let earliest = request.window.start.checked_sub(HOUR_SLACK).ok()?;
    let zoned = earliest.to_zoned(jiff::tz::TimeZone::UTC);
    let (first, rest) = days.split_first()?;
    if zoned.date() != *first || zoned.hour() == 0 {
        return None;
    }
    let others = day_predicate(partitions, rest)?;
    let values: Vec<String> = (zoned.hour()..24)
        .flat_map(|h| {
            let padded = format!("{h:02}");
            match (hour.numeric, h < 10) {
                (true, _) => vec![h.to_string()],
                (false, true) => vec![literal(&padded), literal(&h.to_string())],
                (false, false) => vec![literal(&padded)],
            }
        })
        .collect();
    Some(format!(
        " AND ({others} OR {} IN ({}))",
        identifier(&hour.column),
        values.join(", ")
    ))
}

/// The predicate on the day partitions that selects `days`; `None` for an unpartitioned table.
fn day_predicate(partitions: &Partitions, days: &[Date]) -> Option<String> {
    let (first, last) = (days.first()?, days.last()?);
    match partitions {
        Partitions::None => None,
        Partitions::Date { column } => Some(format!(
            "{} BETWEEN DATE '{first}' AND DATE '{last}'",
            identifier(column)
        )),
        Partitions::DayText { column, formats } => {
            let values = days
                .iter()
                .flat_map(|d| formats.iter().map(move |f| d.strftime(f).to_string()));
            Some(format!("{} IN ({})", identifier(column), list(values)))
        }
        Partitions::YearMonthDay { numeric } => {
            Some(format!("({})", year_month_day(days, *numeric)))
        }
    }
}

/// One `year AND month AND day IN (…)` term per month of `days`, OR-ed. Text values are given
/// with and without a leading zero (`03`, `3`), since tables differ.
fn year_month_day(days: &[Date], numeric: bool) -> String {
    let value = |n: i64, width: usize| -> Vec<String> {
        if numeric {
            return vec![n.to_string()];
        }
        let padded = format!("{n:0width$}");
        let plain = n.to_string();
        let mut values = vec![literal(&padded)];
        if plain != padded {
            values.push(literal(&plain));
        }
        values
    };
    let mut months: Vec<((i16, i8), Vec<i8>)> = Vec::new();
    for day in days {
        let month = (day.year(), day.month());
        match months.last_mut() {
            Some((m, list)) if *m == month => list.push(day.day()),
            _ => months.push((month, vec![day.day()])),
        }
    }
    let terms: Vec<String> = months
        .iter()
        .map(|((year, month), list)| {
            let days: Vec<String> = list.iter().flat_map(|d| value(i64::from(*d), 2)).collect();
            format!(
                "(\"year\" IN ({}) AND \"month\" IN ({}) AND \"day\" IN ({}))",
                value(i64::from(*year), 4).join(", "),
                value(i64::from(*month), 2).join(", "),
                days.join(", ")
            )
        })
        .collect();
    terms.join(" OR ")
}

/// `FROM … WHERE` records overlapping the window (`start`/`end` in Unix seconds), in the
/// partitions that can hold them.
fn source_and_window(table: &Table, request: &EvidenceRequest) -> String {
    format!(
        "FROM {}.{} WHERE \"start\" < {} AND \"end\" >= {}{}",
        identifier(&table.database),
        identifier(&table.table),
        request.window.end.as_second(),
        request.window.start.as_second(),
        partition_filter(&table.shape, request)
    )
}

/// The packet-level address when the table has it and it is not `-`, else the interface one.
fn address(packet: bool, packet_column: &str, column: &str) -> String {
    if packet {
        format!("coalesce(nullif(\"{packet_column}\", '-'), \"{column}\")")
    } else {
        format!("\"{column}\"")
    }
}

/// The one query per window: a single scan of the window's partitions answers three questions
/// at once, told apart by the `set` column (`grouping("utc_day", "logged")`):
/// - [`FLOWS`]: records of the request's actions aggregated by (source, destination, interface,
///   protocol, port), packet-level addresses preferred; records of other actions fall into one
///   row with `kept = 0`, which the reader skips;
/// - [`DAYS`]: per UTC day of `start` (the day's first second) the records with data (OK,
///   NODATA), the SKIPDATA records and the earliest start of a record with data;
/// - [`INTERFACES`]: every interface with a record that is not SKIPDATA.
///
/// Nothing in it depends on the resource asking (never narrowed to its interfaces): one answer
/// serves every resource reading this table for this window and action, each attributing the
/// flows to its own groups and checking its own interfaces' coverage in Rust. Columns: set,
/// source, destination, interface, protocol, port, kept, utc_day, logged, records, data,
/// skipped, earliest. GROUPING SETS group by the subquery's plain columns, as Presto-era
/// engines require.
pub fn evidence_sql(table: &Table, request: &EvidenceRequest) -> String {
    let shape = &table.shape;
    let kept = format!("\"action\" IN ({})", list(actions(request.action)));
    let flow = |expression: &str, name: &str| {
        format!("CASE WHEN \"kept\" = 1 THEN {expression} END AS \"{name}\"")
    };
    let record = format!(
        "SELECT {}, {}, {}, {}, {}, \"kept\", \"start\" - \"start\" % 86400 AS \"utc_day\", \
         CASE WHEN \"data\" = 1 THEN \"interface_id\" END AS \"logged\", \"data\", \"start\" \
         FROM (SELECT *, CASE WHEN {kept} THEN 1 ELSE 0 END AS \"kept\", \
         CASE WHEN \"log_status\" = 'SKIPDATA' THEN 0 ELSE 1 END AS \"data\" {}) AS \"w\"",
        flow(
            &address(shape.packet_source, "pkt_srcaddr", "srcaddr"),
            "source"
        ),
        flow(
            &address(shape.packet_destination, "pkt_dstaddr", "dstaddr"),
            "destination"
        ),
        flow("\"interface_id\"", "interface"),
        flow("\"protocol\"", "protocol"),
        flow("\"dstport\"", "port"),
        source_and_window(table, request),
    );
    format!(
        "SELECT grouping(\"utc_day\", \"logged\") AS \"set\", \"source\", \"destination\", \
         \"interface\", \"protocol\", \"port\", \"kept\", \"utc_day\", \"logged\", \
         count(*) AS \"records\", sum(\"data\") AS \"data\", sum(1 - \"data\") AS \"skipped\", \
         min(CASE WHEN \"data\" = 1 THEN \"start\" END) AS \"earliest\" FROM ({record}) AS \"r\" \
         GROUP BY GROUPING SETS ((\"source\", \"destination\", \"interface\", \"protocol\", \
         \"port\", \"kept\"), (\"utc_day\"), (\"logged\"))"
    )
}

/// `set` of a flow row of [`evidence_sql`] (neither `utc_day` nor `logged` grouped).
pub const FLOWS: u8 = 3;
/// `set` of a per-day coverage row (`utc_day` grouped).
pub const DAYS: u8 = 1;
/// `set` of an interface-with-records row (`logged` grouped).
pub const INTERFACES: u8 = 2;
