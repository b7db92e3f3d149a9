//! Domain layer (pure): the flow aggregator — record counts keyed by (source, destination,
//! interface, protocol, port), so memory grows with distinct tuples, never with log volume.

use crate::domain::evidence::coverage::CoverageTracker;
use crate::domain::evidence::{EvidenceDocument, Flow, ParseStats, Window, EVIDENCE_SCHEMA};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::net::Ipv4Addr;

/// Interface index meaning "no interface id".
pub(super) const NO_INTERFACE: u32 = u32::MAX;

/// A compact aggregation key: 16 bytes, no heap. The interface is an index interned with
/// [`Aggregator::interface_index`] (or [`NO_INTERFACE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Key {
    pub(super) source: u32,
    pub(super) destination: u32,
    pub(super) interface: u32,
    pub(super) protocol: u8,
    pub(super) port: u16,
}

impl Hash for Key {
    /// Two words instead of five fields: two rounds of [`TupleHasher`].
    fn hash<H: Hasher>(&self, state: &mut H) {
        let interface = u64::from(self.interface) << 32;
        state.write_u64(u64::from(self.source) << 32 | u64::from(self.destination));
        state.write_u64(interface | u64::from(self.protocol) << 16 | u64::from(self.port));
    }
}

/// A small multiplicative hasher for the fixed-size keys above (SipHash's DoS resistance buys
/// nothing for flow tuples and costs a third of the parse time). `finish` folds the high half
/// of a full product into the low bits: the table picks buckets by the low bits, and those of a
/// plain product depend only on the inputs' low bits (many tuples in one bucket chain).
#[derive(Default)]
struct TupleHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for TupleHasher {
    fn finish(&self) -> u64 {
        let product = u128::from(self.0) * u128::from(SEED);
        (product as u64) ^ ((product >> 64) as u64)
    }
    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|b| self.write_u64(u64::from(*b)));
    }
    fn write_u8(&mut self, value: u8) {
        self.write_u64(u64::from(value));
    }
    fn write_u16(&mut self, value: u16) {
        self.write_u64(u64::from(value));
    }
    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(SEED);
    }
}

type TupleMap<V> = HashMap<Key, V, BuildHasherDefault<TupleHasher>>;

/// Accumulates flows and parse counters over any number of streams. Feed it with
/// [`super::parse_into`] (text) or [`Aggregator::add`] (already-aggregated rows from CloudWatch
/// Logs Insights or Athena); combine per-object aggregators with [`Aggregator::merge`].
#[derive(Debug, Default, Clone)]
pub struct Aggregator {
    counts: TupleMap<u64>,
    interfaces: Vec<Box<str>>,
    interface_index: HashMap<Box<str>, u32>,
    /// By interface index: whether the interface had a record inside the window.
    logged: Vec<bool>,
    pub(crate) stats: ParseStats,
    pub(crate) coverage: CoverageTracker,
    /// `SKIPDATA` records that overlap the window (`stats.skipdata` counts every one parsed).
    pub(crate) skipped_in_window: u64,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `records` records of one tuple.
    pub fn add(
        &mut self,
        source: Ipv4Addr,
        destination: Ipv4Addr,
        interface_id: Option<&str>,
        protocol: u8,
        port: u16,
        records: u64,
    ) {
        let key = Key {
            source: source.to_bits(),
            destination: destination.to_bits(),
            interface: self.interface_index(interface_id),
            protocol,
            port,
        };
        self.count(key, records);
    }

    /// Adds `records` records of a tuple whose interface is already interned.
    pub(super) fn count(&mut self, key: Key, records: u64) {
        *self.counts.entry(key).or_insert(0) += records;
    }

    /// Notes that `interface_id` had a record (any kind) inside the window.
    pub fn logged(&mut self, interface_id: &str) {
        let index = self.intern(interface_id);
        self.mark_logged(index);
    }

    /// Notes that the interface of `index` (interned here) had a record inside the window.
    /// (A day span's aggregator interns nothing itself: its indexes are those of the span
    /// aggregate's table, so its flags grow on demand.)
    pub(super) fn mark_logged(&mut self, index: u32) {
        if index >= NO_INTERFACE - 1 {
            return;
        }
        let index = index as usize;
        if index >= self.logged.len() {
            self.logged.resize(index + 1, false);
        }
        self.logged[index] = true;
    }

    /// The index of an interface id ([`NO_INTERFACE`] for none), interned on first sight.
    pub(super) fn interface_index(&mut self, id: Option<&str>) -> u32 {
        id.map_or(NO_INTERFACE, |id| self.intern(id))
    }

    fn intern(&mut self, id: &str) -> u32 {
        if let Some(index) = self.interface_index.get(id) {
            return *index;
        }
        let Ok(index) = u32::try_from(self.interfaces.len()) else {
            return NO_INTERFACE - 1;
        };
        self.interfaces.push(id.into());
        self.logged.push(false);
        self.interface_index.insert(id.into(), index);
        index
    }

    /// Adds everything `other` holds: flows, counters and coverage.
    pub fn merge(&mut self, other: Aggregator) {
        for (key, records) in &other.counts {
            let interface = other.interface_name(key.interface);
            self.add(
                Ipv4Addr::from_bits(key.source),
                Ipv4Addr::from_bits(key.destination),
                interface,
                key.protocol,
                key.port,
                *records,
            );
        }
        for (id, _) in other
            .interfaces
            .iter()
            .zip(&other.logged)
            .filter(|(_, l)| **l)
        {
            self.logged(id);
        }
        self.stats.add(&other.stats);
        self.coverage.merge(&other.coverage);
        self.skipped_in_window += other.skipped_in_window;
    }

    /// [`Aggregator::merge`] without consuming `other` (a shared, cached part).
    pub fn merge_from(&mut self, other: &Aggregator) {
        let translate = self.translation(other);
        self.add_translated(other, &translate);
    }

    /// This aggregator's index of each interface `names` has interned (interning them here).
    pub(super) fn translation(&mut self, names: &Aggregator) -> Vec<u32> {
        names.interfaces.iter().map(|id| self.intern(id)).collect()
    }

    /// Adds what `other` holds — flows, logged interfaces, counters, coverage — its interface
    /// indexes mapped through `translate` (from [`Aggregator::translation`] of the table they
    /// index: `other`'s own, or its span aggregate's).
    pub(super) fn add_translated(&mut self, other: &Aggregator, translate: &[u32]) {
        let mine = |index: u32| {
            translate
                .get(index as usize)
                .copied()
                .unwrap_or(NO_INTERFACE)
        };
        self.counts
            .reserve(other.counts.len().saturating_sub(self.counts.len()));
        for (key, records) in &other.counts {
            let key = Key {
                interface: mine(key.interface),
                ..*key
            };
            self.count(key, *records);
        }
        for (index, _) in other.logged.iter().enumerate().filter(|(_, l)| **l) {
            self.mark_logged(mine(index as u32));
        }
        self.stats.add(&other.stats);
        self.coverage.merge(&other.coverage);
        self.skipped_in_window += other.skipped_in_window;
    }

    fn interface_name(&self, index: u32) -> Option<&str> {
        self.interfaces.get(index as usize).map(|s| &**s)
    }

    /// Number of distinct tuples held.
    pub fn distinct(&self) -> usize {
        self.counts.len()
    }

    /// Sum of the record counts of all tuples.
    pub fn total_records(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Parse counters so far.
    pub fn stats(&self) -> &ParseStats {
        &self.stats
    }

    /// Days with data and the earliest record seen so far.
    pub fn coverage(&self) -> &CoverageTracker {
        &self.coverage
    }

    /// Approximate heap bytes held (table capacity and interned interface ids).
    pub fn heap_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(Key, u64)>() + 1;
        let ids: usize = self.interfaces.iter().map(|s| 2 * s.len() + 48).sum();
        self.counts.capacity() * entry + ids + self.logged.capacity()
    }

    /// The flows, sorted by (source, destination, interface, protocol, port).
    pub fn into_flows(self) -> Vec<Flow> {
        let mut keys: Vec<(Key, u64)> = self.counts.into_iter().collect();
        keys.sort_unstable_by(|a, b| {
            let order = |k: &Key| (k.source, k.destination);
            order(&a.0).cmp(&order(&b.0)).then_with(|| {
                let name = |k: &Key| self.interfaces.get(k.interface as usize);
                (name(&a.0), a.0.protocol, a.0.port).cmp(&(name(&b.0), b.0.protocol, b.0.port))
            })
        });
        keys.into_iter()
            .map(|(key, records)| Flow {
                source: Ipv4Addr::from_bits(key.source),
                destination: Ipv4Addr::from_bits(key.destination),
                interface_id: self
                    .interfaces
                    .get(key.interface as usize)
                    .map(|s| s.to_string()),
                protocol: key.protocol,
                port: key.port,
                records,
            })
            .collect()
    }

    /// The evidence document for `window`: flows, counters and the window's coverage.
    pub fn into_evidence(self, window: Window) -> EvidenceDocument {
        let mut coverage = self.coverage.coverage(&window);
        let mut logged: Vec<String> = self
            .interfaces
            .iter()
            .zip(&self.logged)
            .filter(|(_, logged)| **logged)
            .map(|(id, _)| id.to_string())
            .collect();
        logged.sort_unstable();
        coverage.interfaces_with_records = Some(logged);
        coverage.skipped_records = self.skipped_in_window;
        coverage.unreadable_objects = self.stats.unreadable_objects;
        let stats = self.stats;
        EvidenceDocument {
            schema: EVIDENCE_SCHEMA.to_string(),
            window,
            coverage,
            stats,
            flows: self.into_flows(),
        }
    }
}
