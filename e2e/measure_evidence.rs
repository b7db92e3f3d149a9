//! e2e measurement (not part of `make test`; `make measure-evidence`, which `make bench` runs):
//! N = 1, 20, 100 tightenings of one group each on one central bucket of 30 daily objects —
//! prints the time until every resource has a plan, the GetObject and ListObjectsV2 calls that
//! reached moto (a recording proxy) and the operator's peak RSS. Numbers, not timed assertions;
//! it asserts only that each object was read once. `SGT_MEASURE_FLEETS=1,20` picks the sizes;
//! `SGT_MEASURE_SOURCES=10000` puts that many distinct sources into each day (larger documents)
//! instead of the estate's 74.

// The e2e crate's support, shared; this target uses only part of what it re-exports.
#[allow(unused_imports)]
#[path = "support/mod.rs"]
mod support;

use support::fleet;

#[tokio::test]
async fn measure_fleets_on_one_central_bucket() {
    let sizes: Vec<usize> = std::env::var("SGT_MEASURE_FLEETS")
        .unwrap_or_else(|_| "1,20,100".into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("SGT_MEASURE_FLEETS: sizes like 1,20,100")
        })
        .collect();
    let sources: Option<u32> = std::env::var("SGT_MEASURE_SOURCES").ok().map(|n| {
        n.trim()
            .parse()
            .expect("SGT_MEASURE_SOURCES: a number of sources")
    });
    let mut rows = Vec::new();
    for n in sizes {
        let numbers = fleet::measure(&format!("sgt-fleet-{n}"), n, sources).await;
        let flows = numbers.evidence[0]["flows"].as_u64().unwrap_or_default();
        // absent from operators without the shared store (a "before" build)
        let store = numbers
            .operator
            .metric("sgtightener_evidence_store_bytes")
            .await;
        let store = store.map_or("-".into(), |b| format!("{:.1}", b / 1048576.0));
        let row = format!(
            "| {n} | {flows} | {} | {} | {} | {:.1} | {:.2} | {} | {} | {store} |",
            numbers.objects,
            numbers.get_objects,
            numbers.lists,
            numbers.seconds,
            numbers.seconds / n as f64,
            numbers.rss_ready_kib / 1024,
            numbers.rss_peak_kib / 1024,
        );
        eprintln!("measure: {row}");
        assert_eq!(numbers.get_objects, numbers.objects, "{row}");
        rows.push(row);
        drop(numbers);
    }
    eprintln!(
        "measure: | tightenings | flows per document | objects | GetObject | ListObjectsV2 | s until all planned | s per plan | RSS ready MiB | peak RSS MiB | store MiB |"
    );
    eprintln!("measure: |---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        eprintln!("measure: {row}");
    }
}
