//! Controller layer: label values from names. A Kubernetes name may be 253 characters, a label
//! value only 63, so long names are cut and suffixed with a hash; readers that select by such a
//! label confirm the full name from the object itself.

use sha2::{Digest, Sha256};

/// Longest label value Kubernetes accepts.
const MAX: usize = 63;

/// `text` as a valid label value: unchanged when it fits (names are DNS subdomains, already valid
/// label characters), else its first characters and 12 hex digits of its SHA-256.
pub fn label_value(text: &str) -> String {
    if text.len() <= MAX {
        return text.to_owned();
    }
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    let head: String = text.chars().take(MAX - 13).collect();
    let head = head.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    format!("{head}-{}", &digest[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept_and_long_ones_cut_with_a_hash() {
        assert_eq!(label_value("payments"), "payments");
        let long = format!("{}-x", "a".repeat(49));
        let value = label_value(&format!("{long}{}", "b".repeat(100)));
        assert!(value.len() <= MAX, "{value}");
        assert!(value.starts_with(&"a".repeat(49)), "{value}");
        assert!(!value.contains("--"), "no dangling separator: {value}");
        assert_ne!(label_value(&"c".repeat(80)), label_value(&"c".repeat(81)));
    }
}
