//! Telemetry layer: structured logs. JSON lines on stderr by default (`SG_TIGHTENER_LOG_FORMAT=text`
//! for humans), filtered by `RUST_LOG` (default `info`). Nothing logged here or elsewhere carries
//! credentials (DESIGN I13): the SDK's own debug logs stay below the default level.

use tracing_subscriber::EnvFilter;

/// The filter used when `RUST_LOG` is unset or invalid.
pub const DEFAULT_FILTER: &str = "info";

/// Installs the global subscriber. Calling it twice (e.g. from tests) is harmless.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let text = std::env::var("SG_TIGHTENER_LOG_FORMAT").is_ok_and(|f| f == "text");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // `try_init` fails only when a subscriber is already installed; that one keeps working.
    let _ = if text {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    };
}
