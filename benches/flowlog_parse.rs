//! Benchmark: flow-log parse throughput (MB/s of decompressed text) and peak memory.
//!
//! Data is generated (v2 default format, a header line, ~110 bytes a record; `support/flowgen.rs`)
//! with a realistic spread of distinct (source, destination, interface, protocol, port) tuples.
//! Before criterion runs, a streaming pass parses 1 GiB generated on the fly and prints the process's peak RSS
//! (VmHWM) and the aggregator's size, showing that memory follows distinct tuples, not volume.

#[path = "support/flowgen.rs"]
mod flowgen;

use criterion::{Criterion, SamplingMode, Throughput};
use flowgen::{generate, Records, HEADER};
use sg_tightener::domain::flowlog::{self, ActionFilter, Aggregator, Selection};
use std::hint::black_box;
use std::io::{Cursor, Read, Write};
use std::time::{Duration, Instant};

/// Bench input size and streamed volume under `cargo bench`; `cargo test --benches` uses 1/64.
const TEXT_BYTES: usize = 64 << 20;
const STREAM_BYTES: u64 = 1 << 30;

/// A `Read` that generates records on the fly, so no input buffer inflates peak memory.
struct Stream {
    records: Records,
    pending: Vec<u8>,
    offset: usize,
    remaining: u64,
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.offset == self.pending.len() {
            if self.remaining == 0 {
                return Ok(0);
            }
            self.pending.clear();
            self.offset = 0;
            while self.pending.len() < 64 * 1024 {
                self.records.line(&mut self.pending);
            }
            self.remaining = self.remaining.saturating_sub(self.pending.len() as u64);
        }
        let n = buf.len().min(self.pending.len() - self.offset);
        buf[..n].copy_from_slice(&self.pending[self.offset..self.offset + n]);
        self.offset += n;
        Ok(n)
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// True under `cargo bench` (criterion's benchmark mode), false under `cargo test --benches`.
fn benchmarking() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}

fn scale() -> usize {
    if benchmarking() {
        1
    } else {
        64
    }
}

fn memory_report() {
    let before = peak_rss_kib();
    let volume = STREAM_BYTES / scale() as u64;
    let mut stream = Stream {
        records: Records::new(),
        pending: HEADER.as_bytes().to_vec(),
        offset: 0,
        remaining: volume,
    };
    let mut reader = flowlog::decode(&mut stream).expect("generated stream");
    let mut aggregator = Aggregator::new();
    let selection = Selection {
        action: ActionFilter::Any,
        window: None,
    };
    let started = Instant::now();
    let stats = flowlog::parse_into(&mut reader, &selection, &mut aggregator).expect("parse");
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "streaming pass: {} MiB generated+parsed in {elapsed:.2}s ({:.0} MiB/s incl. generation), {} records, {} distinct tuples, aggregator ≈ {:.1} MiB, peak RSS (VmHWM) {} KiB before, {} KiB after",
        volume >> 20,
        (volume >> 20) as f64 / elapsed,
        stats.records,
        aggregator.distinct(),
        aggregator.heap_bytes() as f64 / (1 << 20) as f64,
        before.map_or("?".into(), |k| k.to_string()),
        peak_rss_kib().map_or("?".into(), |k| k.to_string()),
    );
}

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text).expect("in-memory gzip");
    encoder.finish().expect("in-memory gzip")
}

fn parse(bytes: &[u8], selection: &Selection) -> Aggregator {
    let mut reader = flowlog::decode(Cursor::new(bytes)).expect("in-memory input");
    let mut aggregator = Aggregator::new();
    flowlog::parse_into(&mut reader, selection, &mut aggregator).expect("parse");
    aggregator
}

fn bench_parse(c: &mut Criterion) {
    let text = generate(TEXT_BYTES / scale());
    let compressed = gzip(&text);
    let accept = Selection {
        action: ActionFilter::Accept,
        window: None,
    };
    let distinct = parse(&text, &accept).distinct();
    println!(
        "bench input: {} MiB text, {} MiB gzip, {} distinct ACCEPT tuples",
        text.len() >> 20,
        compressed.len() >> 20,
        distinct
    );
    let mut group = c.benchmark_group("flowlog_parse");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("plain_v2", |b| {
        b.iter(|| black_box(parse(black_box(&text), &accept).distinct()))
    });
    group.bench_function("gzip_v2", |b| {
        b.iter(|| black_box(parse(black_box(&compressed), &accept).distinct()))
    });
    group.finish();
}

fn main() {
    memory_report();
    let mut criterion = Criterion::default().configure_from_args();
    bench_parse(&mut criterion);
    criterion.final_summary();
}
