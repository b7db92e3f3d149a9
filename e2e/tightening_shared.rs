//! e2e: one read for all (issue 13) — three tightenings of three groups, all reading one central
//! bucket of 30 daily objects, get their plans from one read of each object, and the same
//! evidence; the operator's metrics count the objects and bytes read for the source.

use crate::support::fleet;
use crate::support::tightening::plan_rules;

#[tokio::test]
async fn tightenings_on_one_bucket_read_each_object_once_for_all() {
    let n = fleet::measure("sgt-shared", 3, None).await;
    eprintln!(
        "fleet of {}: {} GetObject for {} objects, {} lists, {:.1} s, peak RSS {} KiB",
        n.resources, n.get_objects, n.objects, n.lists, n.seconds, n.rss_peak_kib
    );
    assert_eq!(
        n.get_objects, n.objects,
        "each object read once for the three resources"
    );
    let counted = |e: &serde_json::Value| (e["records"].clone(), e["flows"].clone());
    assert!(
        n.evidence
            .iter()
            .all(|e| counted(e) == counted(&n.evidence[0])),
        "one document for all: {:#?}",
        n.evidence
    );
    assert!(n.evidence[0]["records"].as_u64().unwrap_or(0) > 0);
    for plan in &n.plans {
        let group = plan["groups"][0]["groupId"]
            .as_str()
            .expect("a planned group");
        assert_eq!(plan_rules(plan, group, "revoke"), ["tcp:443 10.0.0.0/16"]);
    }
    let source = "sgtightener_evidence_objects_read_total{source=\"s3://";
    let (_, metrics) = n.operator.get("/metrics").await;
    let read: f64 = metrics
        .lines()
        .filter(|l| l.starts_with(source))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(read as usize, n.objects, "objects read, per the metrics");
}
