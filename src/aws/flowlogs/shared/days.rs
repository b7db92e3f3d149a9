//! AWS layer: S3 flow logs served by UTC day from the shared evidence store. The prefix is
//! listed on every request; the objects a direct read of the window would read are grouped by
//! the date in their key; each group is kept parsed by record day span (see
//! `domain::flowlog::SpanAggregate`) and served again only while its listing — keys, ETags and
//! sizes — is unchanged: objects added since (a late delivery, today's next objects) are read
//! alone and added to it, a changed or removed object makes its day read again, and a re-plan the
//! next day reads only the new day. The document of a window is assembled from its groups
//! and equals what the direct reader (`s3.rs`) returns for that window.

use super::memory::{Budgeted, Flights};
use super::{Key, StoreKey, Stored};
use crate::aws::flowlogs::s3::{read_object, too_unreadable, Bucket, Parse, Unreadable};
use crate::aws::flowlogs::{EvidenceObserver, EvidenceRequest, StoreEvent};
use crate::aws::AwsError;
use crate::domain::evidence::coverage::KeySelection;
use crate::domain::evidence::coverage::{s3_key_date, s3_key_delivered_by, select_s3_key};
use crate::domain::evidence::{too_many_unreadable, EvidenceDocument};
use crate::domain::flowlog::{evidence_of_days, ActionFilter, SpanAggregate};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

/// One listed object.
#[derive(Debug, Clone, Hash)]
pub(super) struct Listed {
    key: String,
    etag: String,
    size: i64,
}

/// The objects of one prefix as last listed.
pub(super) type Listing = Arc<Vec<Listed>>;

/// Which objects share a part: those with the same key date — plus, for keys without a date or
/// whose delivery stamp lies before their date, the stamp — so that every window reads all of
/// a part's objects or none of them (as `select_s3_key` decides object by object).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Group {
    date: Option<jiff::civil::Date>,
    stamp: Option<jiff::Timestamp>,
}

impl Group {
    fn of(key: &str) -> Group {
        let date = s3_key_date(key);
        let day_start = |d: jiff::civil::Date| {
            d.to_zoned(jiff::tz::TimeZone::UTC)
                .map(|z| z.timestamp())
                .ok()
        };
        let stamp = s3_key_delivered_by(key)
            .filter(|at| date.and_then(day_start).is_none_or(|start| *at < start));
        Group { date, stamp }
    }
}

/// One group's objects parsed by day span, and what identifies them.
#[derive(Debug)]
pub(super) struct Part {
    signature: u64,
    /// One hash per object (key, ETag, size), sorted: a later listing that only adds objects
    /// is served by reading the added ones.
    objects: Vec<u64>,
    spans: SpanAggregate,
    example: Option<(String, Unreadable)>,
}

impl Part {
    fn bytes(&self) -> usize {
        self.spans.heap_bytes() + self.objects.capacity() * 8 + 256
    }
}

/// The store's S3 side: listings and parts in flight.
#[derive(Debug, Default)]
pub(super) struct S3Flights {
    listings: Flights<(String, String, String), Result<Listing, AwsError>>,
    parts: Flights<(StoreKey, u64), Arc<Part>>,
    documents: Flights<(StoreKey, u64), Result<Arc<EvidenceDocument>, AwsError>>,
}

/// What a request needs from the store.
pub(super) struct Days<'a> {
    pub memory: &'a Budgeted<Key, Stored>,
    pub flights: &'a S3Flights,
    pub observer: Option<&'a Arc<dyn EvidenceObserver>>,
    /// Who reads (the target's identity): parts are shared only between readers with the
    /// same credentials, never across roles.
    pub owner: &'a str,
    pub at: Bucket<'a>,
}

impl Days<'_> {
    fn event(&self, event: StoreEvent) {
        if let Some(observer) = self.observer {
            observer.store_event(
                &format!("s3://{}/{}", self.at.bucket, self.at.prefix),
                event,
            );
        }
    }

    fn keep(&self, key: StoreKey, value: Stored, bytes: usize) {
        for _ in 0..self.memory.put(Key::Day(key), Arc::new(value), bytes) {
            self.event(StoreEvent::Evicted);
        }
        if let Some(observer) = self.observer {
            observer.store_bytes(self.memory.bytes() as u64);
        }
    }

    fn key(
        &self,
        action: ActionFilter,
        part: Option<Group>,
        window: Option<(i64, i64)>,
    ) -> StoreKey {
        StoreKey {
            owner: self.owner.to_owned(),
            source: format!("s3://{}/{}", self.at.bucket, self.at.prefix),
            action,
            group: part,
            window,
        }
    }

    /// The evidence of `request`'s whole-day window.
    pub(super) async fn collect(
        &self,
        request: &EvidenceRequest,
    ) -> Result<Arc<EvidenceDocument>, AwsError> {
        let at = &self.at;
        let started = std::time::Instant::now();
        let listing_key = (
            self.owner.to_owned(),
            at.bucket.to_owned(),
            at.prefix.to_owned(),
        );
        let listing = self.flights.listings.run(listing_key, list(at)).await?;
        let mut groups: BTreeMap<Group, Vec<Listed>> = BTreeMap::new();
        for listed in listing.iter() {
            if select_s3_key(&listed.key, &request.window) == KeySelection::Read {
                let group = groups.entry(Group::of(&listed.key)).or_default();
                group.push(listed.clone());
            }
        }
        let signed: Vec<(Group, u64, Vec<Listed>)> = groups
            .into_iter()
            .map(|(group, objects)| (group, signature(&objects), objects))
            .collect();
        let mut hasher = DefaultHasher::new();
        signed.iter().for_each(|(g, s, _)| (g, s).hash(&mut hasher));
        let window = (
            request.window.start.as_second(),
            request.window.end.as_second(),
        );
        let key = self.key(request.action, None, Some(window));
        let signature = hasher.finish();
        if let Some(Stored::Document(kept, document)) =
            self.memory.get(&Key::Day(key.clone())).as_deref()
        {
            if *kept == signature {
                return Ok(document.clone());
            }
        }
        let assemble = async {
            let reads: Vec<_> = signed
                .into_iter()
                .map(|(group, signature, objects)| {
                    self.part(request.action, group, signature, objects)
                })
                .collect();
            let parts: Vec<Arc<Part>> = futures::stream::iter(reads)
                .buffered(at.settings.concurrency.max(1))
                .collect()
                .await;
            let read = started.elapsed();
            let document = assemble(&parts, request)?;
            tracing::debug!(
                source = %request.source.describe(),
                parts = parts.len(),
                flows = document.flows.len(),
                read_ms = read.as_millis() as u64,
                assembled_ms = (started.elapsed() - read).as_millis() as u64,
                "evidence assembled from day parts"
            );
            // with an unreadable object the next request reads it again, as the direct reader does
            if parts.iter().all(|p| p.example.is_none()) {
                let bytes = document.heap_bytes();
                let value = Stored::Document(signature, document.clone());
                self.keep(key.clone(), value, bytes);
            }
            Ok(document)
        };
        self.flights
            .documents
            .run((key.clone(), signature), assemble)
            .await
    }

    /// One group's part: from memory while its objects are unchanged, else read once for every
    /// request waiting on it.
    async fn part(
        &self,
        action: ActionFilter,
        group: Group,
        signature: u64,
        objects: Vec<Listed>,
    ) -> Arc<Part> {
        let key = self.key(action, Some(group), None);
        let kept = match self.memory.get(&Key::Day(key.clone())).as_deref() {
            Some(Stored::Part(part)) => Some(part.clone()),
            _ => None,
        };
        if let Some(part) = kept.as_ref().filter(|p| p.signature == signature) {
            self.event(StoreEvent::Hit);
            return part.clone();
        }
        let read = async {
            self.event(StoreEvent::Miss);
            let part = Arc::new(self.read(action, signature, objects, kept).await);
            // an object that could not be read may be readable next time: not kept
            if part.example.is_none() {
                self.keep(key.clone(), Stored::Part(part.clone()), part.bytes());
            }
            part
        };
        self.flights.parts.run((key.clone(), signature), read).await
    }

    /// Reads a group's objects — only those added since `kept` was read when every object of
    /// `kept` is still listed unchanged (a late delivery, today's next objects), else all.
    async fn read(
        &self,
        action: ActionFilter,
        signature: u64,
        objects: Vec<Listed>,
        kept: Option<Arc<Part>>,
    ) -> Part {
        let mut hashes: Vec<u64> = objects.iter().map(object_hash).collect();
        hashes.sort_unstable();
        let base = kept.filter(|k| {
            k.example.is_none() && k.objects.iter().all(|h| hashes.binary_search(h).is_ok())
        });
        let (spans, to_read) = match &base {
            Some(base) => {
                let added = objects
                    .into_iter()
                    .filter(|o| base.objects.binary_search(&object_hash(o)).is_err())
                    .collect();
                (base.spans.clone(), added)
            }
            None => (SpanAggregate::new(), objects),
        };
        let mut objects = futures::stream::iter(to_read)
            .map(|listed| read_object(&self.at, listed.key, Parse::Spans(action)))
            .buffer_unordered(self.at.settings.concurrency.max(1));
        let mut part = Part {
            signature,
            objects: hashes,
            spans,
            example: None,
        };
        let (mut read, mut unreadable) = (0, 0);
        while let Some((key, parsed, failure)) = objects.next().await {
            // records parsed before a failure were really observed: keep them
            part.spans.merge(parsed.into_spans());
            read += 1;
            if let Some(failure) = failure {
                unreadable += 1;
                part.example.get_or_insert((key, failure));
            }
        }
        part.spans.count_objects(read, unreadable);
        part
    }
}

/// What identifies one object: its key, ETag and size.
fn object_hash(object: &Listed) -> u64 {
    let mut hasher = DefaultHasher::new();
    object.hash(&mut hasher);
    hasher.finish()
}

/// What identifies a group's objects: their keys, ETags and sizes.
fn signature(objects: &[Listed]) -> u64 {
    let mut hasher = DefaultHasher::new();
    objects.hash(&mut hasher);
    hasher.finish()
}

/// Lists the prefix, page by page.
async fn list(at: &Bucket<'_>) -> Result<Listing, AwsError> {
    let (bucket, prefix) = (at.bucket, at.prefix);
    let mut pages = at
        .client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    let mut listing = Vec::new();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::from_sdk(format!("list s3://{bucket}/{prefix}"), &e))?;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            listing.push(Listed {
                key: key.to_owned(),
                etag: object.e_tag().unwrap_or_default().to_owned(),
                size: object.size().unwrap_or_default(),
            });
        }
    }
    listing.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(Arc::new(listing))
}

/// The window's document from its parts, refused like the direct reader's when more than 10% of
/// the objects could not be read.
fn assemble(
    parts: &[Arc<Part>],
    request: &EvidenceRequest,
) -> Result<Arc<EvidenceDocument>, AwsError> {
    let document = evidence_of_days(parts.iter().map(|p| &p.spans), request.window);
    let (read, unreadable) = (document.stats.objects, document.stats.unreadable_objects);
    if too_many_unreadable(read, unreadable) {
        let example = parts.iter().find_map(|p| p.example.clone());
        return Err(too_unreadable(read, unreadable, example, request));
    }
    Ok(Arc::new(document))
}
