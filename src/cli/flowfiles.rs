//! CLI layer: local flow-log files (plain or gzip text, or Parquet; `-` is stdin) → one
//! aggregate. Directories are walked in a stable order; the files are parsed on all cores, one
//! file per task, and their aggregates merged — the result does not depend on which thread read
//! what, and an error is the one a sequential read would have stopped at (the first failing file
//! in order). With fewer files than cores, each text file is also read and inflated ahead on a
//! thread of its own.

use super::input::invalid;
use super::readahead::with_read_ahead;
use super::CliError;
use crate::domain::evidence::coverage::is_parquet_key;
use crate::domain::evidence::ParseStats;
use crate::domain::flowlog::{self, Aggregator, FlowLogError, Selection};
use rayon::prelude::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Files to read, in a stable order: each argument, directories walked recursively (sorted by
/// name, hidden entries skipped).
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" || !path.is_dir() {
            files.push(path.clone());
        } else {
            walk(path, &mut files)?;
        }
    }
    Ok(files)
}

fn walk(directory: &Path, files: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let read_error = |source| CliError::Read {
        path: directory.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(directory)
        .map_err(read_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    entries.sort();
    for entry in entries {
        let hidden = entry
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if entry.is_dir() {
            walk(&entry, files)?;
        } else {
            files.push(entry);
        }
    }
    Ok(())
}

/// A failed file and its position in the list: the earliest position wins.
type Failure = (usize, CliError);

/// Reads every file into one aggregator, files in parallel. Once a file has failed, files after
/// it are not read (their result could not matter); files before it still are, since one of
/// them may fail too and must then be the error reported.
pub fn read_all(files: &[PathBuf], selection: &Selection) -> Result<Aggregator, CliError> {
    let first_failure = AtomicUsize::new(usize::MAX);
    let read_ahead = files.len() < rayon::current_num_threads();
    let read_one = |(index, file): (usize, &PathBuf)| -> Result<Aggregator, Failure> {
        let mut aggregator = Aggregator::new();
        if index > first_failure.load(Ordering::Relaxed) {
            return Ok(aggregator);
        }
        read_file(file, selection, read_ahead, &mut aggregator).map_err(|error| {
            first_failure.fetch_min(index, Ordering::Relaxed);
            (index, error)
        })?;
        Ok(aggregator)
    };
    files
        .par_iter()
        .enumerate()
        .map(read_one)
        .reduce(|| Ok(Aggregator::new()), combine)
        .map_err(|(_, error)| error)
}

/// Merges two partial results: the larger aggregate absorbs the smaller; of two failures the
/// earlier file's wins.
fn combine(
    left: Result<Aggregator, Failure>,
    right: Result<Aggregator, Failure>,
) -> Result<Aggregator, Failure> {
    match (left, right) {
        (Ok(mut left), Ok(mut right)) => {
            if left.distinct() < right.distinct() {
                std::mem::swap(&mut left, &mut right);
            }
            left.merge(right);
            Ok(left)
        }
        (Err(left), Err(right)) => Err(if left.0 <= right.0 { left } else { right }),
        (Err(failure), Ok(_)) | (Ok(_), Err(failure)) => Err(failure),
    }
}

/// Reads one file into `aggregator`; with `read_ahead`, a second thread reads and inflates it
/// while this one parses (for when there are fewer files than cores).
fn read_file(
    path: &Path,
    selection: &Selection,
    read_ahead: bool,
    aggregator: &mut Aggregator,
) -> Result<(), CliError> {
    let read_error = |source| CliError::Read {
        path: path.to_path_buf(),
        source,
    };
    if is_parquet_key(&path.to_string_lossy()) {
        let file = std::fs::File::open(path).map_err(read_error)?;
        let stats = flowlog::parse_parquet(file, selection, aggregator)
            .map_err(|error| flowlog_error(path, error))?;
        return check_stats(path, &stats);
    }
    let stats = if read_ahead {
        with_read_ahead(
            || open(path),
            |reader| parse(path, reader, selection, aggregator),
        )?
    } else {
        let mut reader = open(path).map_err(read_error)?;
        parse(path, &mut reader, selection, aggregator)?
    };
    check_stats(path, &stats)
}

/// The file (or stdin for `-`), gunzipped when it is gzip.
fn open(path: &Path) -> std::io::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        flowlog::decode(std::io::stdin().lock())
    } else {
        flowlog::decode(std::fs::File::open(path)?)
    }
}

fn parse(
    path: &Path,
    reader: &mut dyn BufRead,
    selection: &Selection,
    aggregator: &mut Aggregator,
) -> Result<ParseStats, CliError> {
    flowlog::parse_into(reader, selection, aggregator).map_err(|error| flowlog_error(path, error))
}

fn flowlog_error(path: &Path, error: FlowLogError) -> CliError {
    match error {
        FlowLogError::Io(source) => CliError::Read {
            path: path.to_path_buf(),
            source,
        },
        other => invalid(path, other.to_string()),
    }
}

/// A file that has lines but not one flow-log record is not a flow-log file.
fn check_stats(path: &Path, stats: &ParseStats) -> Result<(), CliError> {
    if stats.has_no_records() {
        let message = format!(
            "no flow-log record in {} line(s); is this a VPC flow-log file?",
            stats.malformed
        );
        return Err(invalid(path, message));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{combine, Failure};
    use crate::cli::CliError;
    use crate::domain::flowlog::Aggregator;

    fn failed(index: usize) -> Result<Aggregator, Failure> {
        Err((index, CliError::Failed(format!("file {index}"))))
    }

    fn one_flow(port: u16) -> Result<Aggregator, Failure> {
        let mut aggregator = Aggregator::new();
        let (source, destination) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        aggregator.add(source, destination, Some("eni-1"), 6, port, 2);
        Ok(aggregator)
    }

    fn error_of(result: Result<Aggregator, Failure>) -> String {
        result.err().map(|(_, e)| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn of_two_failures_the_earlier_file_wins_whichever_side_it_is_on() {
        assert_eq!(error_of(combine(failed(3), failed(9))), "file 3");
        assert_eq!(error_of(combine(failed(9), failed(3))), "file 3");
    }

    #[test]
    fn a_failure_wins_over_any_aggregate() {
        assert_eq!(error_of(combine(one_flow(443), failed(7))), "file 7");
        assert_eq!(error_of(combine(failed(7), one_flow(443))), "file 7");
    }

    #[test]
    fn two_aggregates_merge_into_one() {
        let merged = combine(one_flow(443), combine(one_flow(80), one_flow(443)));
        let merged = merged.ok().unwrap();
        assert_eq!((merged.distinct(), merged.total_records()), (2, 6));
    }
}
