//! Benchmark support: deterministic synthetic VPC flow-log text (v2 default format with a header
//! line, ~110 bytes a record) with a realistic spread of distinct (source, destination, interface,
//! protocol, port) tuples, skewed so a few tuples are hot like real traffic. Shared by the
//! flow-log parse and CLI benchmarks (`#[path]`-included: benches have no common crate).

#![allow(dead_code)] // each bench uses a different part

use std::io::Write;

/// The header line naming the v2 default fields.
pub const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n";
/// Distinct sources, destinations (one ENI each) and ports: tens of thousands of distinct tuples.
const SOURCES: u32 = 20_000;
const DESTINATIONS: u32 = 400;
const PORTS: [u16; 12] = [
    443, 80, 5432, 3306, 6379, 8080, 8443, 22, 53, 9200, 27017, 11211,
];
/// Record start times fall in the day starting here (2024-03-01T00:00:00Z).
pub const DAY_START: i64 = 1_709_251_200;

/// Deterministic record generator (xorshift).
pub struct Records {
    state: u64,
}

impl Default for Records {
    fn default() -> Self {
        Records::new()
    }
}

impl Records {
    /// The generator at its fixed seed: every run writes the same records.
    pub fn new() -> Self {
        Records {
            state: 0x9E37_79B9_7F4A_7C15,
        }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    /// Appends one record line to `out`.
    pub fn line(&mut self, out: &mut Vec<u8>) {
        let r = self.next();
        let hot = !r.is_multiple_of(4);
        let source = if hot {
            (r >> 8) as u32 % 500
        } else {
            (r >> 8) as u32 % SOURCES
        };
        // Each source talks to a few destinations; each destination serves one port mostly.
        let fan_out = ((r >> 20) % 4) as u32;
        let destination = source
            .wrapping_mul(2_654_435_761)
            .wrapping_add(fan_out * 97)
            % DESTINATIONS;
        let port = if r.is_multiple_of(10) {
            PORTS[(r >> 48) as usize % PORTS.len()]
        } else {
            PORTS[destination as usize % PORTS.len()]
        };
        let (protocol, action) = if port == 53 {
            (17, "ACCEPT")
        } else if r.is_multiple_of(13) {
            (6, "REJECT")
        } else {
            (6, "ACCEPT")
        };
        let start = DAY_START + ((r >> 40) % 86_400) as i64;
        let _ = writeln!(
            out,
            "2 123456789012 eni-{destination:08x}{:09x} 10.{}.{}.{} 10.200.{}.{} {} {port} {protocol} {} {} {start} {} {action} OK",
            destination,
            source >> 16,
            (source >> 8) & 255,
            source & 255,
            destination >> 8,
            destination & 255,
            32_768 + r % 28_000,
            1 + r % 50,
            40 + r % 90_000,
            start + 60,
        );
    }
}

/// At least `bytes` of flow-log text: the header, then whole records.
pub fn generate(bytes: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity(bytes + 256);
    text.extend_from_slice(HEADER.as_bytes());
    let mut records = Records::new();
    while text.len() < bytes {
        records.line(&mut text);
    }
    text
}

/// The header and exactly `count` records.
pub fn generate_records(count: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity(count * 112 + 256);
    text.extend_from_slice(HEADER.as_bytes());
    let mut records = Records::new();
    for _ in 0..count {
        records.line(&mut text);
    }
    text
}
