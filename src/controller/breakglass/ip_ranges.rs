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
