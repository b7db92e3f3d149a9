//! Domain layer (pure): what an S3 flow-log object key says — its delivery date (`…/yyyy/mm/dd/…`
//! or Hive-style `year=/month=/day=`) and whether it is Parquet — so the S3 adapter selects objects
//! by the date in the key rather than by LastModified.

use super::window_days;
use crate::domain::evidence::Window;
use jiff::civil::Date;

/// What the S3 adapter should do with one object key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySelection {
    /// Read it (its date is in the window, or it has no date and records decide).
    Read,
    /// Its key date is outside the window (plus one day of delivery lag after the end).
    OutsideWindow,
    /// A "folder" placeholder key ending in `/`: nothing to read.
    Folder,
    /// A format the parser cannot read yet: report it, never skip it silently.
    Unsupported {
        /// The format's name.
        format: &'static str,
    },
}

/// The date in a flow-log object key: the first `yyyy/mm/dd` run of path segments, or the
/// Hive-style `year=`/`month=`/`day=` segments. `None` when the key carries no valid date.
pub fn s3_key_date(key: &str) -> Option<Date> {
    hive_date(key).or_else(|| path_date(key))
}

fn hive_date(key: &str) -> Option<Date> {
    let (mut year, mut month, mut day) = (None, None, None);
    for segment in key.split('/') {
        match segment.split_once('=') {
            Some(("year", v)) if v.len() == 4 => year = v.parse::<i16>().ok(),
            Some(("month", v)) if (1..=2).contains(&v.len()) => month = v.parse::<i8>().ok(),
            Some(("day", v)) if (1..=2).contains(&v.len()) => day = v.parse::<i8>().ok(),
            _ => {}
        }
    }
    Date::new(year?, month?, day?).ok()
}

fn path_date(key: &str) -> Option<Date> {
    let segments: Vec<&str> = key.split('/').collect();
    segments.windows(3).find_map(|w| {
        let digits = |s: &str, lengths: std::ops::RangeInclusive<usize>| {
            lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !(digits(w[0], 4..=4) && digits(w[1], 1..=2) && digits(w[2], 1..=2)) {
            return None;
        }
        Date::new(w[0].parse().ok()?, w[1].parse().ok()?, w[2].parse().ok()?).ok()
    })
}

/// True when the key names a Parquet object (flow logs delivered with `FileFormat=parquet`).
pub fn is_parquet_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    lower.ends_with(".parquet") || lower.ends_with(".parquet.gz")
}

/// Decides whether to read `key` for `window`. Objects are delivered after their records were
/// captured, so an object dated up to one day after the window's last day may still hold records
/// from inside the window; objects dated before its first day cannot. The date is checked before
/// the format, so only Parquet objects that may hold the window's records are reported.
pub fn select_s3_key(key: &str, window: &Window) -> KeySelection {
    if key.ends_with('/') {
        return KeySelection::Folder;
    }
    if s3_key_date(key).is_some_and(|date| !in_delivery_range(date, window)) {
        return KeySelection::OutsideWindow;
    }
    if is_parquet_key(key) {
        return KeySelection::Unsupported { format: "parquet" };
    }
    KeySelection::Read
}

/// True when an object delivered on `date` may hold records from `window`.
fn in_delivery_range(date: Date, window: &Window) -> bool {
    let days = window_days(window);
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return false;
    };
    let last_delivery = last.tomorrow().unwrap_or(*last);
    *first <= date && date <= last_delivery
}
