//! AWS layer: what the flow-log readers share — server-aggregated rows (Logs Insights, Athena)
//! added to the domain's aggregator (packet-level addresses preferred), the bounded poll of a
//! running query, the interfaces a coverage query asks about, and the error a reader returns
//! when it refuses a source.

use super::{EvidenceRequest, ReaderSettings};
use crate::aws::{AwsError, Failure};
use crate::domain::flowlog::{ActionFilter, Aggregator};
use std::future::Future;
use std::net::Ipv4Addr;

/// Most interface ids in one coverage query, so query strings stay far below AWS's limits.
const MAX_IDS_PER_QUERY: usize = 100;

/// One aggregated row as text, the way Insights and Athena return it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct FlowRow<'a> {
    pub source: &'a str,
    pub destination: &'a str,
    /// `pkt-srcaddr` when the source has it (empty otherwise): preferred over `source` unless
    /// empty or `-`, as the packet source behind a NAT or transit gateway is the real client.
    pub packet_source: &'a str,
    /// `pkt-dstaddr`, likewise.
    pub packet_destination: &'a str,
    pub interface_id: &'a str,
    pub protocol: &'a str,
    pub port: &'a str,
    pub records: &'a str,
}

/// Adds one row to `aggregator`: IPv6 rows are counted as such, rows that do not parse are
/// counted as malformed (never fatal), the rest become flows with their record counts.
pub(super) fn add_row(aggregator: &mut Aggregator, row: &FlowRow<'_>) {
    let Ok(records) = row.records.trim().parse::<u64>() else {
        aggregator.stats.malformed += 1;
        return;
    };
    let source = packet_or(row.packet_source, row.source);
    let destination = packet_or(row.packet_destination, row.destination);
    if source.contains(':') || destination.contains(':') {
        aggregator.stats.ipv6 += records;
        return;
    }
    let parsed = (|| {
        Some((
            source.parse::<Ipv4Addr>().ok()?,
            destination.parse::<Ipv4Addr>().ok()?,
            row.protocol.trim().parse::<u8>().ok()?,
            port(row.port)?,
        ))
    })();
    let Some((source, destination, protocol, port)) = parsed else {
        aggregator.stats.malformed += 1;
        return;
    };
    aggregator.stats.records += records;
    let interface = match row.interface_id.trim() {
        "" | "-" => None,
        id => Some(id),
    };
    aggregator.add(source, destination, interface, protocol, port, records);
}

/// The packet-level address when present and not `-`, else the interface-level one.
fn packet_or<'a>(packet: &'a str, interface: &'a str) -> &'a str {
    match packet.trim() {
        "" | "-" => interface.trim(),
        packet => packet,
    }
}

/// A destination port; missing (`-` or empty, as for ICMP) is 0 like the text parser's.
fn port(text: &str) -> Option<u16> {
    match text.trim() {
        "" | "-" => Some(0),
        digits => digits.parse().ok(),
    }
}

/// The request's coverage interfaces that look like ENI ids (so they can be quoted into a query
/// safely), in chunks small enough for one query each.
pub(super) fn coverage_chunks(request: &EvidenceRequest) -> Vec<Vec<&str>> {
    let plausible = |id: &&String| {
        id.strip_prefix("eni-")
            .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_alphanumeric()))
    };
    let ids: Vec<&str> = request
        .coverage_interfaces
        .iter()
        .filter(plausible)
        .map(String::as_str)
        .collect();
    ids.chunks(MAX_IDS_PER_QUERY)
        .map(<[&str]>::to_vec)
        .collect()
}

/// The actions a query keeps, as upper-case literals.
pub(super) fn actions(filter: ActionFilter) -> &'static [&'static str] {
    match filter {
        ActionFilter::Accept => &["ACCEPT"],
        ActionFilter::Reject => &["REJECT"],
        ActionFilter::Any => &["ACCEPT", "REJECT"],
    }
}

/// "read flow logs from <source>": the action of every reader error.
pub(super) fn reading(request: &EvidenceRequest) -> String {
    format!("read flow logs from {}", request.source.describe())
}

/// A reader's refusal (a source too incomplete or too large to trust), as an `Other` error.
pub(super) fn refuse(request: &EvidenceRequest, code: &str, message: &str) -> AwsError {
    AwsError::Other(Failure::new(reading(request), code, message))
}

/// One look at a running query.
pub(super) enum Poll<T> {
    /// Finished with this result.
    Done(T),
    /// Still queued or running.
    Running,
}

/// Calls `check` until it reports [`Poll::Done`] or fails, pausing `poll_interval` between
/// calls; `None` after `max_polls` calls without an answer.
pub(super) async fn poll<T, F, Fut>(
    settings: &ReaderSettings,
    mut check: F,
) -> Result<Option<T>, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, AwsError>>,
{
    for attempt in 0..settings.max_polls {
        if attempt > 0 {
            tokio::time::sleep(settings.poll_interval).await;
        }
        if let Poll::Done(value) = check().await? {
            return Ok(Some(value));
        }
    }
    Ok(None)
}

/// A UTC date from text that starts with `yyyy-mm-dd` (Insights' `bin(1d)` values).
pub(super) fn day_of(text: &str) -> Option<jiff::civil::Date> {
    text.get(..10)?.parse().ok()
}

/// A timestamp from Unix seconds as text (`min(start)`).
pub(super) fn timestamp_of(text: &str) -> Option<jiff::Timestamp> {
    let seconds: f64 = text.trim().parse().ok()?;
    jiff::Timestamp::from_second(seconds as i64).ok()
}
