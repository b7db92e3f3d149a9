//! Benchmark: `sg-tightener analyse` of one large gzip flow-log file, run as a process, beside
//! `zcat` and a flate2 decode alone of the same file (issue 13: analyse to a file within 2× of
//! `zcat` alone).
//!
//! Two parts, both on deterministic synthetic data (`support/flowgen.rs`, gzip level 6, kept in
//! cargo's bench temp dir between runs):
//! - a side-by-side pass on 3 M records (~340 MB of text, as in the issue), printed as a table:
//!   the median of a few alternating rounds of `zcat > /dev/null`, the in-process decode,
//!   `analyse > file` (compact JSON, the default off a terminal), `--pretty` and `--format
//!   ndjson`, and the ratios to `zcat` (scripts/time-analyse.sh adds each one's peak RSS);
//! - criterion on 300 k records (~34 MB), small enough for stable samples in bench time.
//!
//! The binary is the one cargo builds for the bench (the bench profile: release settings for
//! everything on the analyse path).
//! `cargo test --benches` runs both parts on 1/64 of the data as a smoke test.

#[path = "support/flowgen.rs"]
mod flowgen;

use criterion::{Criterion, SamplingMode, Throughput};
use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Records of the side-by-side pass and of the criterion input under `cargo bench`.
const SIDE_BY_SIDE_RECORDS: usize = 3_000_000;
const CRITERION_RECORDS: usize = 300_000;
/// Rounds of the side-by-side pass (each runs every command once; the median is reported).
const ROUNDS: usize = 3;
/// The window holding every generated record (they start on 2024-03-01).
const WINDOW: [&str; 4] = ["--end", "2024-03-02T00:00:00Z", "--days", "1"];

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

fn work_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli_analyse");
    std::fs::create_dir_all(&dir).expect("bench temp dir");
    dir
}

/// The gzip file of `records` generated records, written once and kept for later runs.
fn input(records: usize) -> PathBuf {
    let path = work_dir().join(format!("flows-{records}.log.gz"));
    if !path.exists() {
        let started = Instant::now();
        let text = flowgen::generate_records(records);
        let partial = path.with_extension("partial");
        let file = std::fs::File::create(&partial).expect("create bench input");
        let mut gzip = flate2::write::GzEncoder::new(file, flate2::Compression::new(6));
        gzip.write_all(&text).expect("write bench input");
        gzip.finish().expect("write bench input");
        std::fs::rename(&partial, &path).expect("write bench input");
        println!(
            "generated {records} records ({} MB of text) in {:.1}s: {}",
            text.len() / 1_000_000,
            started.elapsed().as_secs_f64(),
            path.display()
        );
    }
    path
}

/// Runs `program args` with stdout into `stdout` and returns the wall time; panics on failure.
fn timed(program: &str, args: &[&str], stdout: &Path) -> Duration {
    let out = std::fs::File::create(stdout).expect("create output file");
    let started = Instant::now();
    let result = Command::new(program)
        .args(args)
        .stdout(out)
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (is it installed?): {e}"));
    let elapsed = started.elapsed();
    assert!(
        result.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    elapsed
}

/// Inflates `path` in this process, as `analyse` does (256 KiB buffers), discarding the text.
fn decode_only(path: &Path) -> usize {
    let file = std::fs::File::open(path).expect("open bench input");
    let gzip = flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(256 << 10, file));
    let mut text = BufReader::with_capacity(256 << 10, gzip);
    let mut total = 0;
    loop {
        let length = text.fill_buf().expect("inflate").len();
        if length == 0 {
            return total;
        }
        total += length;
        text.consume(length);
    }
}

fn analyse_args<'a>(input: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["analyse", "--flow-logs", input];
    args.extend(WINDOW);
    args.extend(extra);
    args
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// One command of the side-by-side pass: a process with its stdout into a file, or the decode.
enum Run {
    Process {
        program: String,
        args: Vec<String>,
        stdout: PathBuf,
    },
    DecodeOnly(PathBuf),
}

impl Run {
    fn time(&self) -> Duration {
        match self {
            Run::Process {
                program,
                args,
                stdout,
            } => {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                timed(program, &args, stdout)
            }
            Run::DecodeOnly(path) => {
                let started = Instant::now();
                black_box(decode_only(path));
                started.elapsed()
            }
        }
    }
}

fn process(program: &str, args: Vec<&str>, stdout: &Path) -> Run {
    Run::Process {
        program: program.to_string(),
        args: args.into_iter().map(String::from).collect(),
        stdout: stdout.to_path_buf(),
    }
}

fn side_by_side() {
    let records = SIDE_BY_SIDE_RECORDS / scale();
    let path = input(records);
    let input = input_str(&path);
    let binary = env!("CARGO_BIN_EXE_sg-tightener");
    let output = work_dir().join("evidence.out");
    let analyse = |extra: &[&'static str]| process(binary, analyse_args(input, extra), &output);
    let runs = [
        (
            "zcat > /dev/null",
            process("zcat", vec![input], Path::new("/dev/null")),
        ),
        (
            "flate2 decode only (in process)",
            Run::DecodeOnly(path.clone()),
        ),
        ("analyse > file (compact json)", analyse(&[])),
        ("analyse --pretty > file", analyse(&["--pretty"])),
        (
            "analyse --format ndjson > file",
            analyse(&["--format", "ndjson"]),
        ),
    ];
    let mut samples = vec![Vec::new(); runs.len()];
    for _ in 0..ROUNDS {
        for (run, samples) in runs.iter().zip(&mut samples) {
            samples.push(run.1.time());
        }
    }
    let medians = runs.iter().zip(samples).map(|(run, s)| (run.0, median(s)));
    report(records, &path, &output, medians.collect());
}

fn input_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

fn report(records: usize, input: &Path, output: &Path, medians: Vec<(&str, Duration)>) {
    let evidence = std::fs::read_to_string(output).expect("read the last output");
    let lines = evidence.lines().count();
    let header: serde_json::Value =
        serde_json::from_str(evidence.lines().next().unwrap_or("")).expect("an ndjson header");
    assert_eq!(
        header["flowCount"],
        lines - 1,
        "the header counts the flow lines"
    );
    assert_eq!(header["stats"]["records"], records, "every record was read");
    let compressed = std::fs::metadata(input).map_or(0, |m| m.len());
    println!(
        "side by side: {records} records, {} MB gzip, median of {ROUNDS} rounds; the last output (ndjson) has {} flows",
        compressed / 1_000_000,
        lines.saturating_sub(1)
    );
    let zcat = medians[0].1.as_secs_f64();
    for (name, time) in medians {
        let time = time.as_secs_f64();
        println!("  {name:<34} {time:>7.3}s  {:>5.2}× zcat", time / zcat);
    }
}

fn bench_analyse(c: &mut Criterion) {
    let records = CRITERION_RECORDS / scale();
    let path = input(records);
    let input = input_str(&path).to_string();
    let text_bytes = decode_only(&path) as u64;
    let binary = env!("CARGO_BIN_EXE_sg-tightener");
    let output = work_dir().join("criterion.out");
    let mut group = c.benchmark_group("cli_analyse");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Bytes(text_bytes));
    let null = Path::new("/dev/null");
    group.bench_function("zcat_to_devnull", |b| {
        b.iter(|| timed("zcat", &[&input], null))
    });
    group.bench_function("flate2_decode_only", |b| {
        b.iter(|| black_box(decode_only(&path)))
    });
    group.bench_function("analyse_json_to_file", |b| {
        b.iter(|| timed(binary, &analyse_args(&input, &[]), &output))
    });
    group.bench_function("analyse_ndjson_to_file", |b| {
        b.iter(|| {
            timed(
                binary,
                &analyse_args(&input, &["--format", "ndjson"]),
                &output,
            )
        })
    });
    group.finish();
}

fn main() {
    side_by_side();
    let mut criterion = Criterion::default().configure_from_args();
    bench_analyse(&mut criterion);
    criterion.final_summary();
}
