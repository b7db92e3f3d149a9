//! Domain layer (pure): tests for flow-log streams: gzip, buffering, early stop and unreadable objects.

use super::*;

/// A reader that counts the bytes handed out.
struct Counting<R>(R, std::rc::Rc<std::cell::Cell<u64>>);

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1.set(self.1.get() + n as u64);
        Ok(n)
    }
}

#[test]
fn parsing_stops_reading_as_soon_as_the_format_is_known_to_be_unusable() {
    let read = std::rc::Rc::new(std::cell::Cell::new(0));
    let endless =
        Cursor::new("srcaddr dstaddr action\n").chain(std::io::repeat(b'x').take(1 << 30));
    let mut reader = std::io::BufReader::new(Counting(endless, read.clone()));
    let error = parse_into(&mut reader, &everything(), &mut Aggregator::new()).unwrap_err();
    assert!(
        matches!(error, FlowLogError::MissingFields { .. }),
        "{error}"
    );
    assert!(
        read.get() < 1 << 20,
        "read {} bytes after the bad header",
        read.get()
    );
}

#[test]
fn gzip_is_detected_by_magic_bytes_including_multiple_members() {
    let member = |line: String| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(format!("{line}\n").as_bytes()).unwrap();
        encoder.finish().unwrap()
    };
    let mut bytes = member(format!(
        "{HEADER}\n{}",
        v2("10.0.0.1", "10.0.0.9", 443, "ACCEPT", T)
    ));
    bytes.extend(member(v2("10.0.0.2", "10.0.0.9", 443, "ACCEPT", T)));
    let mut reader = decode(Cursor::new(bytes)).unwrap();
    let mut aggregator = Aggregator::new();
    let stats = parse_into(&mut reader, &Selection::default(), &mut aggregator).unwrap();
    assert_eq!(stats.records, 2);
    let mut plain = decode(Cursor::new(
        v2("10.0.0.1", "10.0.0.9", 443, "ACCEPT", T).into_bytes(),
    ))
    .unwrap();
    assert_eq!(
        parse_into(&mut plain, &Selection::default(), &mut aggregator)
            .unwrap()
            .records,
        1
    );
}

#[test]
fn a_truncated_gzip_object_is_an_error_but_keeps_counts_consistent() {
    let text: String = (0..5000)
        .map(|i| {
            v2(
                &format!("10.0.{}.{}", i / 250, i % 250),
                "10.9.0.1",
                443,
                "ACCEPT",
                T,
            ) + "\n"
        })
        .collect();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    let bytes = encoder.finish().unwrap();
    let truncated = &bytes[..bytes.len() / 2];
    let mut aggregator = Aggregator::new();
    let error = parse_into(
        &mut decode(Cursor::new(truncated)).unwrap(),
        &everything(),
        &mut aggregator,
    )
    .unwrap_err();
    assert!(matches!(error, FlowLogError::Io(_)), "{error}");
    let stats = aggregator.stats();
    assert!(stats.records > 0, "records before the cut are kept");
    assert_eq!(aggregator.total_records(), stats.records - stats.filtered);
}

#[test]
fn an_overlong_line_is_one_malformed_line_and_memory_stays_bounded() {
    let text = format!(
        "{}\n{}\n",
        "x".repeat(MAX_LINE * 3),
        v2("10.0.0.1", "10.0.0.9", 443, "ACCEPT", T)
    );
    let mut reader = std::io::BufReader::with_capacity(1024, Cursor::new(text));
    let mut aggregator = Aggregator::new();
    let stats = parse_into(&mut reader, &everything(), &mut aggregator).unwrap();
    assert_eq!((stats.malformed, stats.records), (1, 1));
}

#[test]
fn lines_split_across_buffer_fills_parse_whole() {
    let text: String = (0..200)
        .map(|i| {
            v2(
                &format!("10.0.{}.{}", i / 250, i % 250),
                "10.9.0.1",
                443,
                "ACCEPT",
                T,
            ) + "\r\n"
        })
        .collect();
    let mut reader = std::io::BufReader::with_capacity(7, Cursor::new(text));
    let mut aggregator = Aggregator::new();
    let stats = parse_into(&mut reader, &everything(), &mut aggregator).unwrap();
    assert_eq!(
        (stats.records, stats.malformed, aggregator.distinct()),
        (200, 0, 200)
    );
}

#[test]
fn more_than_ten_percent_unreadable_objects_is_too_many() {
    use crate::domain::evidence::too_many_unreadable;
    let cases = [
        (0, 0, false),
        (10, 1, false),
        (100, 10, false),
        (10, 2, true),
        (9, 1, true),
        (1, 1, true),
    ];
    for (total, unreadable, expected) in cases {
        assert_eq!(
            too_many_unreadable(total, unreadable),
            expected,
            "{unreadable}/{total}"
        );
    }
}

#[test]
fn a_stream_of_only_garbage_has_no_records_but_an_empty_or_nodata_one_does_not_count() {
    let (_, garbage) = parse("junk\nmore junk\n", everything());
    assert!(garbage.has_no_records());
    let (_, empty) = parse("", everything());
    assert!(!empty.has_no_records());
    let nodata = format!(
        "{HEADER}\n2 1 eni-1 - - - - - - - {T} {} - NODATA\njunk\n",
        T + 60
    );
    assert!(!parse(&nodata, everything()).1.has_no_records());
}
