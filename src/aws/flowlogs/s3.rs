//! AWS layer: flow-log evidence from S3 objects. Lists the prefix page by page, selects objects
//! by the date in their key (path or Hive-compatible, daily or hourly), streams each selected
//! object — plain or gzip text through the domain's parser, Parquet through its Parquet reader
//! (see `s3_parquet.rs`) — with bounded memory, a few objects at a time, and refuses sources that
//! are too unreadable (more than 10% of objects).

use super::rows::{reading, refuse};
use super::{EvidenceObserver, EvidenceRequest, ReaderSettings};
use crate::aws::{AwsError, Failure};
use crate::domain::evidence::coverage::{is_parquet_key, select_s3_key, KeySelection};
use crate::domain::evidence::{too_many_unreadable, EvidenceDocument, MAX_UNREADABLE_FRACTION};
use crate::domain::flowlog::{
    decode, parse_into, parse_spans, ActionFilter, Aggregator, Selection, SpanAggregate,
};
use aws_sdk_s3::Client;
use futures::StreamExt;
use std::io::Read;
use std::sync::Arc;
use tokio_util::io::SyncIoBridge;

/// Why one object could not be used.
#[derive(Debug, Clone)]
pub(super) enum Unreadable {
    /// GetObject failed (after the SDK's retries).
    Get(AwsError),
    /// The body was not gzip, Parquet or flow-log text the parsers could use.
    Parse(String),
}

impl Unreadable {
    fn describe(&self) -> String {
        match self {
            Unreadable::Get(error) => error.to_string(),
            Unreadable::Parse(message) => message.clone(),
        }
    }
}

/// What happened to the objects of one request.
#[derive(Debug, Default)]
struct Tally {
    aggregator: Aggregator,
    read: u64,
    unreadable: u64,
    example: Option<(String, Unreadable)>,
}

impl Tally {
    fn object(&mut self, key: String, aggregator: Aggregator, failure: Option<Unreadable>) {
        // records parsed before a failure were really observed: keep them
        self.aggregator.merge(aggregator);
        self.read += 1;
        if let Some(failure) = failure {
            self.unreadable += 1;
            self.example.get_or_insert((key, failure));
        }
    }
}

/// Where the objects are, how many to read at once, and who counts what is read.
pub(super) struct Bucket<'a> {
    pub client: &'a Client,
    pub settings: &'a ReaderSettings,
    pub bucket: &'a str,
    pub prefix: &'a str,
    pub observer: Option<&'a Arc<dyn EvidenceObserver>>,
}

/// Reads the flows of `request.window` from `s3://bucket/prefix`.
pub(super) async fn collect(
    at: &Bucket<'_>,
    request: &EvidenceRequest,
) -> Result<EvidenceDocument, AwsError> {
    let (client, settings, bucket, prefix) = (at.client, at.settings, at.bucket, at.prefix);
    let selection = Selection {
        action: request.action,
        window: Some(request.window),
    };
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    let mut tally = Tally::default();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::from_sdk(format!("list s3://{bucket}/{prefix}"), &e))?;
        let mut keys = Vec::new();
        for key in page.contents().iter().filter_map(|o| o.key()) {
            match select_s3_key(key, &request.window) {
                KeySelection::Read => keys.push(key.to_owned()),
                KeySelection::OutsideWindow | KeySelection::Folder => {}
            }
        }
        let mut objects = futures::stream::iter(keys)
            .map(|key| read_object(at, key, Parse::Window(selection)))
            .buffer_unordered(settings.concurrency.max(1));
        while let Some((key, parsed, failure)) = objects.next().await {
            tally.object(key, parsed.into_window(), failure);
        }
    }
    finish(tally, request)
}

/// Applies the refusal rules and builds the document.
fn finish(tally: Tally, request: &EvidenceRequest) -> Result<EvidenceDocument, AwsError> {
    if too_many_unreadable(tally.read, tally.unreadable) {
        let example = tally.example.clone();
        return Err(too_unreadable(
            tally.read,
            tally.unreadable,
            example,
            request,
        ));
    }
    let mut aggregator = tally.aggregator;
    aggregator.stats.objects += tally.read;
    aggregator.stats.unreadable_objects += tally.unreadable;
    Ok(aggregator.into_evidence(request.window))
}

/// The refusal for more than 10% unreadable objects. When the example failure was an AWS error,
/// its kind is kept (throttling stays retryable, access denied stays access denied).
pub(super) fn too_unreadable(
    read: u64,
    unreadable: u64,
    example: Option<(String, Unreadable)>,
    request: &EvidenceRequest,
) -> AwsError {
    let (key, failure) =
        example.unwrap_or_else(|| (String::new(), Unreadable::Parse(String::new())));
    let message = format!(
        "{unreadable} of {read} objects unreadable (more than {:.0}% allowed), e.g. {key}: {}",
        MAX_UNREADABLE_FRACTION * 100.0,
        failure.describe()
    );
    match failure {
        Unreadable::Get(error) => {
            let kind = error.clone();
            let failure = Failure::new(reading(request), error.code(), &message);
            match kind {
                AwsError::Throttled(_) => AwsError::Throttled(failure),
                AwsError::Transient(_) => AwsError::Transient(failure),
                AwsError::AccessDenied(_) => AwsError::AccessDenied(failure),
                AwsError::NotFound(_) => AwsError::NotFound(failure),
                _ => AwsError::Other(failure),
            }
        }
        Unreadable::Parse(_) => refuse(request, "UnreadableFlowLogs", &message),
    }
}

/// How to parse an object: for one window, or by record day span (the shared store).
#[derive(Debug, Clone, Copy)]
pub(super) enum Parse {
    Window(Selection),
    Spans(ActionFilter),
}

/// What parsing one object gave.
#[derive(Debug)]
pub(super) enum Parsed {
    Window(Aggregator),
    Spans(SpanAggregate),
}

impl Parsed {
    fn empty(parse: Parse) -> Parsed {
        match parse {
            Parse::Window(_) => Parsed::Window(Aggregator::new()),
            Parse::Spans(_) => Parsed::Spans(SpanAggregate::new()),
        }
    }

    fn into_window(self) -> Aggregator {
        match self {
            Parsed::Window(aggregator) => aggregator,
            Parsed::Spans(_) => Aggregator::new(),
        }
    }

    /// The day-span aggregate (empty when parsed for a window).
    pub(super) fn into_spans(self) -> SpanAggregate {
        match self {
            Parsed::Spans(spans) => spans,
            Parsed::Window(_) => SpanAggregate::new(),
        }
    }
}

/// Gets one object and parses it on a blocking thread, streaming the body: memory is the
/// parser's buffers plus the object's distinct tuples, whatever the object's size.
pub(super) async fn read_object(
    at: &Bucket<'_>,
    key: String,
    parse: Parse,
) -> (String, Parsed, Option<Unreadable>) {
    let (client, bucket) = (at.client, at.bucket);
    let output = match client.get_object().bucket(bucket).key(&key).send().await {
        Ok(output) => output,
        Err(error) => {
            let error = AwsError::from_sdk(format!("get s3://{bucket}/{key}"), &error);
            return (key, Parsed::empty(parse), Some(Unreadable::Get(error)));
        }
    };
    let length = output.content_length().and_then(|l| u64::try_from(l).ok());
    if let Some(observer) = at.observer {
        let source = format!("s3://{bucket}/{}", at.prefix);
        observer.object_read(&source, length.unwrap_or(0));
    }
    let body = SyncIoBridge::new(Box::pin(output.body.into_async_read()));
    let parquet = is_parquet_key(&key);
    let run = move || match parse {
        Parse::Window(selection) => {
            let (aggregator, failure) = match parquet {
                true => super::s3_parquet::parse_object(body, length, &selection),
                false => parse_object(body, &selection),
            };
            (Parsed::Window(aggregator), failure)
        }
        Parse::Spans(action) => {
            let (spans, failure) = parse_object_spans(body, length, parquet, action);
            (Parsed::Spans(spans), failure)
        }
    };
    match tokio::task::spawn_blocking(run).await {
        Ok((parsed, failure)) => (key, parsed, failure.map(Unreadable::Parse)),
        Err(join) => {
            let failure = Unreadable::Parse(format!("parser stopped: {join}"));
            (key, Parsed::empty(parse), Some(failure))
        }
    }
}

/// Decodes (gzip or plain) and parses one object; the failure, if any, in words.
fn parse_object(body: impl Read, selection: &Selection) -> (Aggregator, Option<String>) {
    let mut aggregator = Aggregator::new();
    let failure = match decode(body) {
        Err(error) => Some(format!("failed to read: {error}")),
        Ok(mut lines) => text_failure(parse_into(&mut lines, selection, &mut aggregator)),
    };
    (aggregator, failure)
}

/// The failure of a text parse, in words: an error, or lines without one flow-log record.
fn text_failure(
    parsed: Result<crate::domain::evidence::ParseStats, crate::domain::flowlog::FlowLogError>,
) -> Option<String> {
    match parsed {
        Ok(stats) if stats.has_no_records() => {
            Some("not flow-log text: no line parsed as a flow-log record".to_owned())
        }
        Ok(_) => None,
        Err(error) => Some(error.to_string()),
    }
}

/// [`parse_object`] (or the Parquet reader's) into a day-span aggregate.
fn parse_object_spans(
    body: impl Read,
    length: Option<u64>,
    parquet: bool,
    action: ActionFilter,
) -> (SpanAggregate, Option<String>) {
    if parquet {
        return super::s3_parquet::parse_object_spans(body, length, action);
    }
    let mut spans = SpanAggregate::new();
    let failure = match decode(body) {
        Err(error) => Some(format!("failed to read: {error}")),
        Ok(mut lines) => text_failure(parse_spans(&mut lines, action, &mut spans)),
    };
    (spans, failure)
}
