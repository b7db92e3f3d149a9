//! e2e: bounded polling for what has no watch — a CLI's output, AWS state in moto, an HTTP
//! endpoint. Kubernetes objects are waited on with `cluster::wait_for` (a watch) instead.

use std::future::Future;
use std::time::{Duration, Instant};

/// Time between two probes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Calls `probe` every [`POLL_INTERVAL`] until it returns `Ok`, for at most `timeout`; then
/// panics with `what` and the last `Err` (say what was seen, e.g. the rules found so far).
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match probe().await {
            Ok(value) => return value,
            Err(last) => last,
        };
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}; last seen:\n{last}");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
