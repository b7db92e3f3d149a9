//! Controller layer: AWS's `ip-ranges.json` for `summariseAwsServices`, from the ConfigMap or URL
//! the configuration names (`breakGlass.awsIpRanges`), parsed once per `syncToken` and kept in
//! memory. A URL is fetched again at most every [`URL_REFRESH`]; a ConfigMap is read on each use
//! (one GET) and re-parsed only when its document's `syncToken` changes.

use super::store::Store;
use crate::config::IpRangesSource;
use crate::domain::breakglass::AwsIpRanges;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The ConfigMap key holding the document.
pub const CONFIG_MAP_KEY: &str = "ip-ranges.json";

/// How long a document fetched from a URL is used before it is fetched again.
pub const URL_REFRESH: Duration = Duration::from_secs(3600);

/// Gets a document over HTTP(S).
#[async_trait::async_trait]
pub trait Fetch: Send + Sync {
    /// The body of `url`, or why it could not be had.
    async fn get(&self, url: &str) -> Result<String, String>;
}

#[derive(Deserialize)]
struct Token {
    #[serde(rename = "syncToken", default)]
    sync_token: String,
}

#[derive(Debug, Clone)]
struct Cached {
    source: String,
    sync_token: String,
    fetched: jiff::Timestamp,
    ranges: Arc<AwsIpRanges>,
}

/// The parsed document of the configured source, cached by its `syncToken`.
#[derive(Debug, Default)]
pub struct RangesCache {
    cached: Mutex<Option<Cached>>,
}

/// Why no document could be used: a message for status.
fn unusable(source: &str, why: impl std::fmt::Display) -> String {
    format!("breakGlass.awsIpRanges: {source} is not a usable ip-ranges.json: {why}")
}

impl RangesCache {
    fn get(&self, source: &str) -> Option<Cached> {
        let cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        cached.clone().filter(|c| c.source == source)
    }

    fn put(&self, entry: Cached) {
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some(entry);
    }

    /// The ranges of the configured source; `None` when no source is configured; `Err` says
    /// why the configured source could not be used (the caller goes on without summaries).
    pub async fn ranges(
        &self,
        source: &IpRangesSource,
        store: &dyn Store,
        fetch: &dyn Fetch,
        now: jiff::Timestamp,
    ) -> Result<Option<Arc<AwsIpRanges>>, String> {
        if !source.config_map.is_empty() {
            let name = format!("ConfigMap {}", source.config_map);
            let (namespace, map) = source.config_map.split_once('/').unwrap_or_default();
            let text = store
                .config_map_value(namespace, map, CONFIG_MAP_KEY)
                .await
                .map_err(|e| unusable(&name, crate::error::chain(&e)))?
                .ok_or_else(|| unusable(&name, format!("it has no key {CONFIG_MAP_KEY}")))?;
            return self.parsed(&name, &text, now).map(Some);
        }
        if source.url.is_empty() {
            return Ok(None);
        }
        let fresh = |c: &Cached| {
            let age = now.duration_since(c.fetched);
            age.unsigned_abs() < URL_REFRESH
        };
        if let Some(hit) = self.get(&source.url).filter(fresh) {
            return Ok(Some(hit.ranges));
        }
        let text = fetch
            .get(&source.url)
            .await
            .map_err(|why| unusable(&source.url, why))?;
        self.parsed(&source.url, &text, now).map(Some)
    }

    /// Parses `text` unless the cache already holds the document with the same `syncToken`.
    fn parsed(
        &self,
        source: &str,
        text: &str,
        now: jiff::Timestamp,
    ) -> Result<Arc<AwsIpRanges>, String> {
        let token: Token = serde_json::from_str(text).map_err(|e| unusable(source, e))?;
        if let Some(hit) = self
            .get(source)
            .filter(|c| c.sync_token == token.sync_token)
        {
            self.put(Cached {
                fetched: now,
                ..hit.clone()
            });
            return Ok(hit.ranges);
        }
        let ranges = Arc::new(AwsIpRanges::from_json(text).map_err(|e| unusable(source, e))?);
        self.put(Cached {
            source: source.to_owned(),
            sync_token: token.sync_token,
            fetched: now,
            ranges: ranges.clone(),
        });
        Ok(ranges)
    }
}

/// Fetches over HTTP(S) with the system's root certificates, 30 s at most.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpFetch;

#[async_trait::async_trait]
impl Fetch for HttpFetch {
    async fn get(&self, url: &str) -> Result<String, String> {
        use http_body_util::{BodyExt, Empty};
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("no root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build::<_, Empty<bytes::Bytes>>(connector);
        let uri: http::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
        let request = async {
            let response = client.get(uri).await.map_err(|e| e.to_string())?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("HTTP {status}"));
            }
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            String::from_utf8(body.to_bytes().to_vec()).map_err(|e| e.to_string())
        };
        tokio::time::timeout(Duration::from_secs(30), request)
            .await
            .map_err(|_| "timed out after 30 s".to_owned())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::breakglass::store::MemoryStore;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Serves `document(token)` and counts the fetches.
    struct Counting {
        token: std::sync::Mutex<&'static str>,
        fetches: AtomicUsize,
    }

    fn document(token: &str) -> String {
        format!(
            r#"{{"syncToken": "{token}", "prefixes": [{{"ip_prefix": "3.5.140.0/22", "region": "af-south-1", "service": "S3"}}]}}"#
        )
    }

    #[async_trait::async_trait]
    impl Fetch for Counting {
        async fn get(&self, _url: &str) -> Result<String, String> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            Ok(document(&self.token.lock().unwrap()))
        }
    }

    #[tokio::test]
    async fn a_url_is_fetched_again_only_after_an_hour_and_parsed_once_per_sync_token() {
        let cache = RangesCache::default();
        let store = MemoryStore::default();
        let fetch = Counting {
            token: std::sync::Mutex::new("1"),
            fetches: AtomicUsize::new(0),
        };
        let source = IpRangesSource {
            config_map: String::new(),
            url: "https://ip-ranges.example/ip-ranges.json".into(),
        };
        let t0 = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let first = cache
            .ranges(&source, &store, &fetch, t0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.len(), 1);
        let minute = t0 + jiff::SignedDuration::from_secs(60);
        let again = cache
            .ranges(&source, &store, &fetch, minute)
            .await
            .unwrap()
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(
            fetch.fetches.load(Ordering::SeqCst),
            1,
            "cached for an hour"
        );
        let later = t0 + jiff::SignedDuration::from_hours(2);
        let same = cache
            .ranges(&source, &store, &fetch, later)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(fetch.fetches.load(Ordering::SeqCst), 2);
        assert!(
            Arc::ptr_eq(&first, &same),
            "same syncToken: not parsed again"
        );
        *fetch.token.lock().unwrap() = "2";
        let much_later = t0 + jiff::SignedDuration::from_hours(4);
        let new = cache
            .ranges(&source, &store, &fetch, much_later)
            .await
            .unwrap()
            .unwrap();
        assert!(!Arc::ptr_eq(&first, &new), "a new syncToken is parsed");
    }

    #[tokio::test]
    async fn no_source_gives_none_and_a_broken_config_map_says_why() {
        let cache = RangesCache::default();
        let store = MemoryStore::default();
        let fetch = Counting {
            token: std::sync::Mutex::new("1"),
            fetches: AtomicUsize::new(0),
        };
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let none = IpRangesSource::default();
        assert!(cache
            .ranges(&none, &store, &fetch, now)
            .await
            .unwrap()
            .is_none());
        let map = IpRangesSource {
            config_map: "sg-tightener/ip-ranges".into(),
            url: String::new(),
        };
        let missing = cache.ranges(&map, &store, &fetch, now).await.unwrap_err();
        assert!(missing.contains("no key ip-ranges.json"), "{missing}");
        store.config_maps.lock().unwrap().insert(
            "sg-tightener/ip-ranges/ip-ranges.json".into(),
            "not json".into(),
        );
        let broken = cache.ranges(&map, &store, &fetch, now).await.unwrap_err();
        assert!(
            broken.contains("ConfigMap sg-tightener/ip-ranges"),
            "{broken}"
        );
        assert_eq!(fetch.fetches.load(Ordering::SeqCst), 0);
    }
}
