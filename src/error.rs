//! Cross-layer helper: how an error is reported. Each layer's messages say "failed to <verb>
//! <thing>" without repeating their source; whoever reports an error prints the whole chain.

use std::error::Error;

/// The error and its sources joined with ": ", skipping a source whose text the previous
/// message already ends with (errors that embed their source's text).
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("failed to read controller config x.yaml")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("failed to load: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn the_chain_names_every_cause_once() {
        let error = Outer(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "No such file",
        ));
        assert_eq!(
            chain(&error),
            "failed to read controller config x.yaml: No such file"
        );
        let repeated = Repeats(std::io::Error::other("disk gone"));
        assert_eq!(chain(&repeated), "failed to load: disk gone");
    }
}
