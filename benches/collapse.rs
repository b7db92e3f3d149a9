//! Benchmarks of the collapse (DESIGN §4, §10): time to collapse 10³, 10⁵ and 10⁶ distinct
//! sources inside a 10.0.0.0/8 rule, from unsorted addresses to blocks.
//!
//! - `uniform-budget-60`: sources spread uniformly; 60 rules (widening, and force-fit where the
//!   sources are too sparse for tolerance 0.95).
//! - `uniform-unbounded`: the same sources with no budget — step 1 alone, one block per source
//!   or so, the widest output.
//! - `clustered-budget-60`: sources filling random /24s at 50–100 %, like real datacentre evidence.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use sg_tightener::domain::cidr::{collapse, Observed};
use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Duration;

const RULE: &str = "10.0.0.0/8";
const BASE: u32 = 0x0A00_0000;

/// A small deterministic generator (xorshift), so every run measures the same input.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
}

fn uniform(n: usize) -> Vec<u32> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut set = BTreeSet::new();
    while set.len() < n {
        set.insert(BASE | (rng.next() & 0x00FF_FFFF));
    }
    shuffle(set.into_iter().collect(), &mut rng)
}

fn clustered(n: usize) -> Vec<u32> {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut set = BTreeSet::new();
    while set.len() < n {
        let subnet = BASE | (rng.next() & 0x00FF_FF00);
        let fill = 128 + rng.next() % 128;
        for host in 0..fill {
            if set.len() < n && rng.next() % 256 < fill {
                set.insert(subnet | host);
            }
        }
    }
    shuffle(set.into_iter().collect(), &mut rng)
}

fn shuffle(mut v: Vec<u32>, rng: &mut Rng) -> Vec<u32> {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.next() as usize % (i + 1));
    }
    v
}

/// A named input generator and the rule budget to collapse it into.
type Scenario = (&'static str, fn(usize) -> Vec<u32>, usize);

fn bench(c: &mut Criterion) {
    let rule = RULE.parse().unwrap();
    let scenarios: [Scenario; 3] = [
        ("uniform-budget-60", uniform, 60),
        ("uniform-unbounded", uniform, usize::MAX),
        ("clustered-budget-60", clustered, 60),
    ];
    for (name, make, budget) in scenarios {
        let mut group = c.benchmark_group(format!("collapse/{name}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
        for n in [1_000usize, 100_000, 1_000_000] {
            let sources = make(n);
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), &sources, |b, sources| {
                b.iter_batched(
                    || sources.clone(),
                    |s| black_box(collapse(&Observed::from_addresses(s), rule, budget, 0.30)),
                    BatchSize::LargeInput,
                )
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
