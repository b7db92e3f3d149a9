//! CLI layer: reading input files (or `-` for stdin) and printing JSON results.

use super::{output, CliError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Reads a whole file, or stdin when `path` is `-`.
pub fn read_text(path: &Path) -> Result<String, CliError> {
    let mut text = String::new();
    let result = if path == Path::new("-") {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text).map(|_| ()))
    };
    result.map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text)
}

/// Reads and parses a JSON file; a parse error names the file, line and column.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, CliError> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| invalid(path, e.to_string()))
}

/// An [`CliError::InvalidInput`] for `path`.
pub fn invalid(path: &Path, message: impl Into<String>) -> CliError {
    CliError::InvalidInput {
        path: PathBuf::from(path),
        message: message.into(),
    }
}

/// Prints `value` as pretty JSON followed by a newline (buffered: one write, not one per line).
pub fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let mut out = output::stdout();
    output::write_json(&mut out, value, true)?;
    output::finish(out)
}
