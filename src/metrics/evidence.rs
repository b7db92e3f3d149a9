//! Telemetry layer: what the evidence readers read, per flow-log source — objects and bytes
//! fetched, and what the shared evidence store served from memory, read or dropped — and the
//! bytes the store holds. Fed by the AWS layer through [`EvidenceObserver`].

use crate::aws::flowlogs::{EvidenceObserver, StoreEvent};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Labels: one flow-log source (`s3://bucket/prefix`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub source: String,
}

/// Labels: one source and what the store did with a day of it (`hit`, `miss`, `evicted`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    pub source: String,
    pub event: &'static str,
}

/// The evidence read metrics.
#[derive(Debug, Default)]
pub struct EvidenceMetrics {
    /// Flow-log objects fetched, per source.
    pub objects_read: Family<SourceLabels, Counter>,
    /// Bytes of flow-log objects fetched, per source.
    pub bytes_read: Family<SourceLabels, Counter>,
    /// Days of a source the shared store served from memory (`hit`), read (`miss`) or dropped
    /// to stay within its budget (`evicted`).
    pub store_days: Family<StoreLabels, Counter>,
    /// Kept whole-window answers (Athena) the shared store served (`hit`), read (`miss`) or
    /// dropped values for (`evicted`).
    pub store_answers: Family<StoreLabels, Counter>,
    /// Bytes of parsed evidence the shared store holds.
    pub store_bytes: Gauge,
}

impl EvidenceMetrics {
    /// Registers the families (names without the registry's `sgtightener_` prefix).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "evidence_objects_read",
            "Flow-log objects fetched, per source",
            self.objects_read.clone(),
        );
        registry.register(
            "evidence_bytes_read",
            "Bytes of flow-log objects fetched, per source",
            self.bytes_read.clone(),
        );
        registry.register(
            "evidence_store_days",
            "Days of a flow-log source the shared evidence store served (hit), read (miss) or dropped (evicted)",
            self.store_days.clone(),
        );
        registry.register(
            "evidence_store_answers",
            "Whole-window answers (Athena) the shared evidence store served (hit), read (miss) or dropped values for (evicted)",
            self.store_answers.clone(),
        );
        registry.register(
            "evidence_store_bytes",
            "Bytes of parsed flow-log evidence the shared store holds",
            self.store_bytes.clone(),
        );
    }
}

impl EvidenceObserver for EvidenceMetrics {
    fn object_read(&self, source: &str, bytes: u64) {
        let labels = SourceLabels {
            source: source.to_owned(),
        };
        self.objects_read.get_or_create(&labels).inc();
        self.bytes_read.get_or_create(&labels).inc_by(bytes);
    }

    fn store_event(&self, source: &str, event: StoreEvent) {
        let labels = StoreLabels {
            source: source.to_owned(),
            event: event.as_str(),
        };
        self.store_days.get_or_create(&labels).inc();
    }

    fn answer_event(&self, source: &str, event: StoreEvent) {
        let labels = StoreLabels {
            source: source.to_owned(),
            event: event.as_str(),
        };
        self.store_answers.get_or_create(&labels).inc();
    }

    fn store_bytes(&self, bytes: u64) {
        self.store_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_store_events_are_counted_per_source() {
        let metrics = crate::metrics::Metrics::new();
        let observer: &dyn EvidenceObserver = metrics.evidence.as_ref();
        observer.object_read("s3://b/p/", 100);
        observer.object_read("s3://b/p/", 50);
        observer.store_event("s3://b/p/", StoreEvent::Hit);
        observer.answer_event("athena:d.t", StoreEvent::Miss);
        observer.store_bytes(4096);
        let text = metrics.encode();
        for line in [
            "sgtightener_evidence_objects_read_total{source=\"s3://b/p/\"} 2",
            "sgtightener_evidence_bytes_read_total{source=\"s3://b/p/\"} 150",
            "sgtightener_evidence_store_days_total{source=\"s3://b/p/\",event=\"hit\"} 1",
            "sgtightener_evidence_store_answers_total{source=\"athena:d.t\",event=\"miss\"} 1",
            "sgtightener_evidence_store_bytes 4096",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
