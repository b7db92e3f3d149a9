//! CLI layer: the evidence document as NDJSON (`analyse --format ndjson`, read back by `plan
//! --evidence`): a header line with the schema, window, coverage, counters and the number of
//! flows, then one flow per line — for `grep`, `jq -c` and line-oriented tools, and for a
//! reader that does not want a few hundred MB of JSON in one value.

use super::input::invalid;
use super::CliError;
use crate::domain::evidence::{Coverage, EvidenceDocument, Flow, ParseStats, Window};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// The first line. `flowCount` is required, so a (compact, one-line) JSON document is never
/// mistaken for it; it also tells a complete stream from a truncated one.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header<'a> {
    schema: std::borrow::Cow<'a, str>,
    window: Window,
    #[serde(default)]
    coverage: std::borrow::Cow<'a, Coverage>,
    #[serde(default)]
    stats: ParseStats,
    flow_count: u64,
}

/// Writes `document` as NDJSON.
pub fn write<W: Write>(out: &mut W, document: &EvidenceDocument) -> Result<(), CliError> {
    let header = Header {
        schema: document.schema.as_str().into(),
        window: document.window,
        coverage: std::borrow::Cow::Borrowed(&document.coverage),
        stats: document.stats,
        flow_count: document.flows.len() as u64,
    };
    super::output::write_json(out, &header, false)?;
    for flow in &document.flows {
        super::output::write_json(out, flow, false)?;
    }
    Ok(())
}

/// Reads `text` as NDJSON evidence: `None` when its first line is not an NDJSON header (the
/// caller then reads it as one JSON document).
pub fn read(path: &Path, text: &str) -> Result<Option<EvidenceDocument>, CliError> {
    let mut lines = text.lines().enumerate();
    let Some((_, first)) = lines.next() else {
        return Ok(None);
    };
    let Ok(header) = serde_json::from_str::<Header>(first) else {
        return Ok(None);
    };
    let mut flows = Vec::with_capacity(header.flow_count.min(1 << 20) as usize);
    for (index, line) in lines.filter(|(_, line)| !line.trim().is_empty()) {
        let flow: Flow = serde_json::from_str(line)
            .map_err(|e| invalid(path, format!("line {}: {e}", index + 1)))?;
        flows.push(flow);
    }
    if flows.len() as u64 != header.flow_count {
        let message = format!(
            "{} flow line(s), but the header says flowCount {} (a truncated file?)",
            flows.len(),
            header.flow_count
        );
        return Err(invalid(path, message));
    }
    Ok(Some(EvidenceDocument {
        schema: header.schema.into_owned(),
        window: header.window,
        coverage: header.coverage.into_owned(),
        stats: header.stats,
        flows,
    }))
}

#[cfg(test)]
mod tests {
    use super::{read, write};
    use crate::domain::evidence::{
        Coverage, EvidenceDocument, Flow, ParseStats, Window, EVIDENCE_SCHEMA,
    };
    use std::path::Path;

    fn document() -> EvidenceDocument {
        let flow = |source: &str, port| Flow {
            source: source.parse().unwrap(),
            destination: "10.1.0.10".parse().unwrap(),
            interface_id: Some("eni-1".into()),
            protocol: 6,
            port,
            records: 3,
        };
        EvidenceDocument {
            schema: EVIDENCE_SCHEMA.into(),
            window: Window {
                start: "2024-03-01T00:00:00Z".parse().unwrap(),
                end: "2024-03-04T00:00:00Z".parse().unwrap(),
            },
            coverage: Coverage {
                days_without_data: vec!["2024-03-02".parse().unwrap()],
                ..Coverage::default()
            },
            stats: ParseStats {
                records: 7,
                ..ParseStats::default()
            },
            flows: vec![flow("10.0.1.5", 443), flow("10.0.1.6", 5432)],
        }
    }

    fn written(document: &EvidenceDocument) -> String {
        let mut out = Vec::new();
        write(&mut out, document).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_written_document_reads_back_unchanged() {
        let text = written(&document());
        assert_eq!(text.lines().count(), 3);
        assert!(text.lines().next().unwrap().contains("\"flowCount\":2"));
        assert_eq!(read(Path::new("e"), &text).unwrap(), Some(document()));
    }

    #[test]
    fn a_json_document_is_not_taken_for_ndjson() {
        let compact = serde_json::to_string(&document()).unwrap();
        assert_eq!(read(Path::new("e"), &compact).unwrap(), None);
        let pretty = serde_json::to_string_pretty(&document()).unwrap();
        assert_eq!(read(Path::new("e"), &pretty).unwrap(), None);
        assert_eq!(read(Path::new("e"), "").unwrap(), None);
    }

    #[test]
    fn a_bad_flow_line_is_refused_naming_its_line() {
        let text = written(&document()).replace("\"port\":5432", "\"port\":\"x\"");
        let error = read(Path::new("e.ndjson"), &text).unwrap_err().to_string();
        assert!(error.starts_with("invalid e.ndjson: line 3:"), "{error}");
    }
}
