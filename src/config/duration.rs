//! Config layer (pure): Go-style durations as Kubernetes users write them (`72h`, `15m`, `1h30m`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A duration written as whole numbers with units `h`, `m`, `s` or `ms`, e.g. `72h` or `1h30m`
/// (the subset of Go's `time.ParseDuration` that configuration needs; no fractions, no sign).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration(pub Duration);

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to parse duration {text:?}: {reason}")]
pub struct DurationError {
    /// The text as written.
    pub text: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

impl GoDuration {
    /// A duration of whole hours.
    pub const fn hours(hours: u64) -> Self {
        GoDuration(Duration::from_secs(hours * 3600))
    }

    /// A duration of whole seconds.
    pub const fn seconds(seconds: u64) -> Self {
        GoDuration(Duration::from_secs(seconds))
    }

    /// The std duration.
    pub fn as_std(self) -> Duration {
        self.0
    }
}

impl FromStr for GoDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason| DurationError {
            text: text.to_owned(),
            reason,
        };
        if text.is_empty() {
            return Err(fail("it is empty"));
        }
        let mut total = Duration::ZERO;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(fail("expected a whole number before each unit"));
            }
            let value: u64 = rest[..digits]
                .parse()
                .map_err(|_| fail("number too large"))?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let part = match &rest[..unit_len] {
                "h" => value.checked_mul(3600).map(Duration::from_secs),
                "m" => value.checked_mul(60).map(Duration::from_secs),
                "s" => Some(Duration::from_secs(value)),
                "ms" => Some(Duration::from_millis(value)),
                "" => return Err(fail("missing unit (use h, m, s or ms)")),
                _ => return Err(fail("unknown unit (use h, m, s or ms)")),
            };
            total = part
                .and_then(|p| total.checked_add(p))
                .ok_or_else(|| fail("number too large"))?;
            rest = &rest[unit_len..];
        }
        Ok(GoDuration(total))
    }
}

impl fmt::Display for GoDuration {
    /// Writes the shortest form with units h, m, s (and ms for sub-second rests): `72h`, `1h30m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let millis = self.0.subsec_millis();
        if secs == 0 && millis == 0 {
            return f.write_str("0s");
        }
        let parts = [(secs / 3600, "h"), (secs / 60 % 60, "m"), (secs % 60, "s")];
        for (value, unit) in parts {
            if value > 0 {
                write!(f, "{value}{unit}")?;
            }
        }
        if millis > 0 {
            write!(f, "{millis}ms")?;
        }
        Ok(())
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Duration, DurationError> {
        text.parse::<GoDuration>().map(GoDuration::as_std)
    }

    #[test]
    fn parses_single_and_combined_units() {
        assert_eq!(parse("72h").unwrap(), Duration::from_secs(72 * 3600));
        assert_eq!(parse("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse("1h30m10s").unwrap(), Duration::from_secs(5410));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
    }

    #[test]
    fn refuses_text_without_units_or_numbers() {
        assert_eq!(
            parse("72").unwrap_err().reason,
            "missing unit (use h, m, s or ms)"
        );
        assert_eq!(
            parse("3d").unwrap_err().reason,
            "unknown unit (use h, m, s or ms)"
        );
        assert!(parse("h").is_err());
        assert!(parse("").is_err());
        assert!(parse("-5m").is_err());
        assert!(parse("1.5h").is_err());
        assert!(parse("99999999999999999999h").is_err());
    }

    #[test]
    fn display_round_trips() {
        for text in ["72h", "1h30m", "45s", "2m500ms", "0s"] {
            assert_eq!(text.parse::<GoDuration>().unwrap().to_string(), text);
        }
    }
}
