//! CLI layer: the offline commands' error — one line, naming the file and the value; exit 2.

use std::path::PathBuf;

/// Everything an offline command can fail with. Each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A file could not be read.
    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file was read but its content is not what the command expects.
    #[error("invalid {path}: {message}")]
    InvalidInput { path: PathBuf, message: String },
    /// A flag has a value out of range or malformed.
    #[error("invalid --{flag} {value:?}: {message}")]
    InvalidFlag {
        flag: &'static str,
        value: String,
        message: String,
    },
    /// Writing the result failed.
    #[error("failed to write output: {0}")]
    Write(#[from] std::io::Error),
    /// An operation on AWS or the file system failed (not bad input): the message says what.
    #[error("{0}")]
    Failed(String),
    /// `classify --fail-on`: findings at or above the gate's severity exist (the report was
    /// written; exit status 1, as the seed's report tool).
    #[error("{found} finding(s) at {severity} or worse (--fail-on)")]
    Gate { found: u64, severity: String },
}

impl CliError {
    /// True when stdout was closed by the reader (`… | head`): not worth a message.
    pub fn is_closed_pipe(&self) -> bool {
        matches!(self, CliError::Write(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The process exit status for this error: 2 for bad input, 1 for output failures.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Write(_) | CliError::Failed(_) | CliError::Gate { .. } => 1,
            _ => 2,
        }
    }
}
