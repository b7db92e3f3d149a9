//! Benchmark: Parquet flow-log read throughput (MB/s of Parquet, one core) and peak memory.
//! Criterion's figure is wall-clock time, which on a shared machine includes time the thread
//! waited for a core; a pass before it measures the thread's CPU time (MB per CPU-second: the
//! per-core speed).
//!
//! Files are written with the parquet crate in AWS's flow-log schema (GZIP pages, dictionary
//! encoding, nullable columns: the fixture the tests use) from the same skewed record generator
//! as `flowlog_parse`. Before criterion runs, a pass reads a large file from disk (spooled, as
//! the S3 reader does for large objects) and prints the resident set before it and the peak
//! during it (VmHWM, reset before the read) and the aggregator's size: memory follows distinct
//! tuples, not file size.

use criterion::{Criterion, SamplingMode, Throughput};
use sg_tightener::domain::flowlog::{
    parse_parquet, ActionFilter, Aggregator, Selection, DEFAULT_V2_FIELDS,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "../src/domain/flowlog/parquet_file/fixture.rs"]
mod fixture;

/// Records in the criterion input and in the memory pass under `cargo bench`;
/// `cargo test --benches` uses 1/64.
const BENCH_RECORDS: usize = 2_000_000;
const STREAM_RECORDS: usize = 8_000_000;
/// Rows per row group (AWS writes files of one to a few row groups; the reader is per group).
const ROWS_PER_GROUP: usize = 250_000;
const SOURCES: u64 = 20_000;
const DESTINATIONS: u64 = 400;
const PORTS: [u16; 12] = [
    443, 80, 5432, 3306, 6379, 8080, 8443, 22, 53, 9200, 27017, 11211,
];

/// Deterministic xorshift records, skewed so a few tuples are hot like real traffic.
struct Records(u64);

impl Records {
    fn record(&mut self) -> String {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let r = self.0;
        let source = if !r.is_multiple_of(4) {
            (r >> 8) % 500
        } else {
            (r >> 8) % SOURCES
        };
        let destination =
            (source.wrapping_mul(2_654_435_761) + ((r >> 20) % 4) * 97) % DESTINATIONS;
        let port = if r.is_multiple_of(10) {
            PORTS[(r >> 48) as usize % PORTS.len()]
        } else {
            PORTS[destination as usize % PORTS.len()]
        };
        let action = if r.is_multiple_of(13) {
            "REJECT"
        } else {
            "ACCEPT"
        };
        let start = 1_709_251_200 + (r >> 40) % 86_400;
        format!(
            "2 123456789012 eni-{destination:017x} 10.{}.{}.{} 10.200.{}.{} {} {port} 6 {} {} {start} {} {action} OK",
            source >> 16,
            (source >> 8) & 255,
            source & 255,
            destination >> 8,
            destination & 255,
            32_768 + r % 28_000,
            1 + r % 50,
            40 + r % 90_000,
            start + 60,
        )
    }

    fn groups(records: usize) -> impl Iterator<Item = Vec<String>> {
        let mut generator = Records(0x9E37_79B9_7F4A_7C15);
        let mut left = records;
        std::iter::from_fn(move || {
            let rows = left.min(ROWS_PER_GROUP);
            left -= rows;
            (rows > 0).then(|| (0..rows).map(|_| generator.record()).collect())
        })
    }
}

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

/// `VmHWM` (peak resident set) or `VmRSS` (resident now) of this process, in KiB.
fn rss_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn peak_rss_kib() -> Option<u64> {
    rss_kib("VmHWM:")
}

/// Resets the peak to the resident set now (Linux: `5` to `/proc/self/clear_refs`), so that the
/// peak after a pass is the pass's own, not the file generation's before it; false if refused.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// CPU time of the calling thread, in seconds.
fn thread_cpu_seconds() -> f64 {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given and nothing else.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut time) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    time.tv_sec as f64 + time.tv_nsec as f64 / 1e9
}

fn accept() -> Selection {
    Selection {
        action: ActionFilter::Accept,
        window: None,
    }
}

fn memory_report() {
    let records = STREAM_RECORDS / scale();
    let file = tempfile::tempfile().expect("temporary file");
    let file = fixture::write_parquet(DEFAULT_V2_FIELDS, Records::groups(records), file);
    let size = file.metadata().map_or(0, |m| m.len());
    let reset = reset_peak_rss();
    let before = rss_kib("VmRSS:");
    let mut aggregator = Aggregator::new();
    let started = Instant::now();
    let stats = parse_parquet(file, &accept(), &mut aggregator).expect("parquet parses");
    let elapsed = started.elapsed().as_secs_f64();
    let kib = |k: Option<u64>| k.map_or("?".into(), |k| k.to_string());
    println!(
        "file pass: {:.1} MiB of Parquet ({} records) read from disk in {elapsed:.2}s ({:.0} MiB/s), {} distinct tuples, aggregator ≈ {:.1} MiB; resident {} KiB before the read, peak during it {} KiB{}",
        size as f64 / (1 << 20) as f64,
        stats.records,
        size as f64 / (1 << 20) as f64 / elapsed,
        aggregator.distinct(),
        aggregator.heap_bytes() as f64 / (1 << 20) as f64,
        kib(before),
        kib(peak_rss_kib()),
        if reset { "" } else { " (peak not reset: includes writing the file)" },
    );
}

fn bench_parquet(c: &mut Criterion) {
    let records = BENCH_RECORDS / scale();
    let file = bytes::Bytes::from(fixture::write_parquet(
        DEFAULT_V2_FIELDS,
        Records::groups(records),
        Vec::new(),
    ));
    let mut aggregator = Aggregator::new();
    parse_parquet(file.clone(), &accept(), &mut aggregator).expect("parquet parses");
    println!(
        "bench input: {:.1} MiB of Parquet, {records} records, {} distinct ACCEPT tuples",
        file.len() as f64 / (1 << 20) as f64,
        aggregator.distinct()
    );
    cpu_report(&file, records);
    let mut group = c.benchmark_group("parquet_read");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(if benchmarking() { 20 } else { 1 }));
    group.throughput(Throughput::Bytes(file.len() as u64));
    group.bench_function("aws_schema_gzip", |b| {
        b.iter(|| {
            let mut aggregator = Aggregator::new();
            parse_parquet(black_box(file.clone()), &accept(), &mut aggregator).expect("parses");
            black_box(aggregator.distinct())
        })
    });
    group.finish();
}

/// Reads `file` a few times and prints MB of Parquet per CPU-second of this thread.
fn cpu_report(file: &bytes::Bytes, records: usize) {
    let rounds = if benchmarking() { 10 } else { 1 };
    let (wall, cpu) = (Instant::now(), thread_cpu_seconds());
    for _ in 0..rounds {
        let mut aggregator = Aggregator::new();
        parse_parquet(file.clone(), &accept(), &mut aggregator).expect("parses");
        black_box(aggregator.distinct());
    }
    let cpu = thread_cpu_seconds() - cpu;
    let wall = wall.elapsed().as_secs_f64();
    let bytes = (file.len() * rounds) as f64;
    println!(
        "cpu pass: {rounds} reads of {:.1} MB: {:.0} MB of Parquet per CPU-second ({:.1} M records per CPU-second, {:.0} ns a record); wall clock {:.0} MB/s",
        file.len() as f64 / 1e6,
        bytes / 1e6 / cpu,
        (records * rounds) as f64 / 1e6 / cpu,
        cpu * 1e9 / (records * rounds) as f64,
        bytes / 1e6 / wall,
    );
}

fn main() {
    memory_report();
    let mut criterion = Criterion::default().configure_from_args();
    bench_parquet(&mut criterion);
    criterion.final_summary();
}
