//! CLI layer: writing a command's result to stdout — through one buffer (a write per 1 MiB, not
//! one per line: stdout alone is line-buffered), as compact JSON when stdout is a file or a pipe,
//! pretty on a terminal or with `--pretty`.

use super::CliError;
use serde::Serialize;
use std::io::{BufWriter, IsTerminal, StdoutLock, Write};

/// Bytes buffered before a write to stdout.
const BUFFER: usize = 1 << 20;

/// Locked, buffered stdout. Call [`finish`] at the end: it flushes and reports a write error
/// (dropping the writer would flush too, but silently).
pub fn stdout() -> BufWriter<StdoutLock<'static>> {
    BufWriter::with_capacity(BUFFER, std::io::stdout().lock())
}

/// True when stdout is a terminal: JSON for a person to read is pretty-printed by default.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Writes `value` as JSON (pretty or compact) followed by a newline.
pub fn write_json<W: Write, T: Serialize + ?Sized>(
    out: &mut W,
    value: &T,
    pretty: bool,
) -> Result<(), CliError> {
    let written = if pretty {
        serde_json::to_writer_pretty(&mut *out, value)
    } else {
        serde_json::to_writer(&mut *out, value)
    };
    written.map_err(io_error)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Flushes the buffer into stdout.
pub fn finish<W: Write>(mut out: W) -> Result<(), CliError> {
    out.flush()?;
    Ok(())
}

/// serde_json wraps I/O errors; unwrap them so a closed pipe is still recognised as one.
fn io_error(error: serde_json::Error) -> std::io::Error {
    match error.io_error_kind() {
        Some(kind) => std::io::Error::new(kind, error),
        None => std::io::Error::other(error),
    }
}
