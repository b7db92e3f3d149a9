//! e2e: unique names, so tests running at once (and runs sharing one environment) never
//! meet — one namespace, one moto account, one set of tags per test.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// 64 bits no other call in this or any other process returns (pid, time, counter, random seed).
pub fn unique_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hasher.write_u128(now);
    hasher.finish()
}

/// `<prefix>-<8 hex digits>`, a valid DNS-1123 label (namespace, object and lease names):
/// lowercase, `-` for anything else, at most 63 characters.
pub fn unique_name(prefix: &str) -> String {
    let mut clean: String = prefix
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    clean.truncate(50);
    let clean = clean.trim_matches('-');
    let suffix = unique_u64() as u32;
    if clean.is_empty() {
        format!("e2e-{suffix:08x}")
    } else {
        format!("{clean}-{suffix:08x}")
    }
}

/// A 12-digit AWS account id, never moto's default `123456789012`.
pub fn unique_account_id() -> String {
    loop {
        let id = format!("{:012}", unique_u64() % 1_000_000_000_000);
        if id != "123456789012" {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_labels_and_differ() {
        let a = unique_name("Valid_Samples: all");
        let b = unique_name("Valid_Samples: all");
        assert_ne!(a, b);
        assert!(a.starts_with("valid-samples--all-"), "{a}");
        assert!(a.len() <= 63);
        assert_eq!(unique_account_id().len(), 12);
    }
}
