//! Test support (unit tests, benches, e2e — included by path, never in the operator): writes
//! flow-log records as Parquet the way S3 delivery with `FileFormat=parquet` does — AWS's column
//! names (the log format's field names with underscores), AWS's physical types (INT32 for
//! `version`/ports/`protocol`, INT64 for counters and times, UTF-8 strings otherwise), nullable
//! columns, GZIP pages, dictionary encoding — from text records, so one fixture feeds both the
//! text and the Parquet readers.

#![allow(dead_code)] // each including target (unit tests, benches, e2e) uses part of it

use parquet::basic::{Compression, GzipLevel};
use parquet::column::writer::ColumnWriter;
use parquet::data_type::ByteArray;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::sync::Arc;

/// Parquet physical type AWS uses for a flow-log field.
enum Kind {
    Int32,
    Int64,
    Text,
}

fn kind(field: &str) -> Kind {
    match field {
        "version" | "srcport" | "dstport" | "protocol" | "tcp-flags" | "traffic-path" => {
            Kind::Int32
        }
        "packets" | "bytes" | "start" | "end" => Kind::Int64,
        _ => Kind::Text,
    }
}

/// The Parquet schema for `fields` (log-format names, in order).
fn schema(fields: &[&str]) -> String {
    let columns: Vec<String> = fields
        .iter()
        .map(|field| {
            let name = field.replace('-', "_");
            match kind(field) {
                Kind::Int32 => format!("optional int32 {name};"),
                Kind::Int64 => format!("optional int64 {name};"),
                Kind::Text => format!("optional binary {name} (STRING);"),
            }
        })
        .collect();
    format!("message flow_logs {{ {} }}", columns.join(" "))
}

/// Parquet bytes holding `records` (space-separated values in `fields` order, `-` for a missing
/// value), `rows_per_group` rows to a row group.
pub fn parquet_from_records(fields: &[&str], records: &[String], rows_per_group: usize) -> Vec<u8> {
    let groups = records
        .chunks(rows_per_group.max(1))
        .map(<[String]>::to_vec);
    write_parquet(fields, groups, Vec::new())
}

/// Writes one row group per item of `groups` to `out` and returns it, finished.
pub fn write_parquet<W: std::io::Write + Send>(
    fields: &[&str],
    groups: impl Iterator<Item = Vec<String>>,
    out: W,
) -> W {
    write_parquet_with(fields, groups, out, aws_properties())
}

/// AWS's writer settings: GZIP pages; the rest (dictionary encoding, PLAIN when a dictionary
/// grows too large, version 1 data pages) the parquet writer's defaults.
pub fn aws_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::GZIP(GzipLevel::default()))
        .build()
}

/// [`write_parquet`] with other writer settings (encodings, page sizes, page versions).
pub fn write_parquet_with<W: std::io::Write + Send>(
    fields: &[&str],
    groups: impl Iterator<Item = Vec<String>>,
    out: W,
    properties: WriterProperties,
) -> W {
    let schema = Arc::new(parse_message_type(&schema(fields)).expect("flow-log schema"));
    let mut writer = SerializedFileWriter::new(out, schema, Arc::new(properties)).expect("writer");
    for group in groups {
        let rows: Vec<Vec<&str>> = group
            .iter()
            .map(|r| r.split_ascii_whitespace().collect())
            .collect();
        let mut row_group = writer.next_row_group().expect("row group");
        let mut column = 0;
        while let Some(mut writer) = row_group.next_column().expect("column") {
            let cells: Vec<&str> = rows.iter().map(|row| row[column]).collect();
            write_column(writer.untyped(), &cells);
            writer.close().expect("close column");
            column += 1;
        }
        row_group.close().expect("close row group");
    }
    writer.into_inner().expect("finish file")
}

fn write_column(writer: &mut ColumnWriter<'_>, cells: &[&str]) {
    let levels: Vec<i16> = cells.iter().map(|c| i16::from(*c != "-")).collect();
    let present = cells.iter().filter(|c| **c != "-");
    let written = match writer {
        ColumnWriter::Int32ColumnWriter(w) => {
            let values: Vec<i32> = present.map(|c| c.parse().expect("int32 cell")).collect();
            w.write_batch(&values, Some(&levels), None)
        }
        ColumnWriter::Int64ColumnWriter(w) => {
            let values: Vec<i64> = present.map(|c| c.parse().expect("int64 cell")).collect();
            w.write_batch(&values, Some(&levels), None)
        }
        ColumnWriter::ByteArrayColumnWriter(w) => {
            let values: Vec<ByteArray> = present.map(|c| ByteArray::from(*c)).collect();
            w.write_batch(&values, Some(&levels), None)
        }
        _ => unreachable!("the schema has int32, int64 and string columns only"),
    };
    written.expect("write column");
}
