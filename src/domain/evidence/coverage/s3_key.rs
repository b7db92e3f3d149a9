//! Domain layer (pure): what an S3 flow-log object key says — its delivery date (`…/yyyy/mm/dd/…`
//! or Hive-style `year=/month=/day=`), its delivery hour when the key has one (an hourly partition
//! or the file name's stamp), and whether it is Parquet (read by the Parquet reader) — so the S3 adapter selects objects by the
//! key rather than by LastModified, to the hour for windows of hours.

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
/// from inside the window; objects dated before its first day cannot. Text and Parquet objects
/// are selected alike.
pub fn select_s3_key(key: &str, window: &Window) -> KeySelection {
    if key.ends_with('/') {
        return KeySelection::Folder;
    }
    if s3_key_date(key).is_some_and(|date| !in_delivery_range(date, window)) {
        return KeySelection::OutsideWindow;
    }
    if s3_key_delivered_by(key).is_some_and(|at| delivered_before(at, window)) {
        return KeySelection::OutsideWindow;
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

/// Slack for hour-granular selection: records reach S3 minutes after they end; an hour more
/// than that is allowed before an object is taken to be too old for the window.
const DELIVERY_SLACK: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

/// True when an object delivered by `at` cannot hold a record that ends inside `window`.
fn delivered_before(at: jiff::Timestamp, window: &Window) -> bool {
    at.checked_add(DELIVERY_SLACK)
        .is_ok_and(|latest| latest < window.start)
}

/// The latest time the object can have been delivered, when its key says it to the hour: the
/// end of an hourly partition (`…/yyyy/mm/dd/HH/…`, Hive `hour=HH`), else the delivery stamp in
/// AWS's file name (`…_20240301T1005Z_….log.gz`). `None` for keys that only carry a date.
pub fn s3_key_delivered_by(key: &str) -> Option<jiff::Timestamp> {
    partition_hour(key)
        .map(|hour| hour + jiff::SignedDuration::from_hours(1))
        .or_else(|| file_stamp(key))
}

fn at_utc(date: Date, hour: i8, minute: i8) -> Option<jiff::Timestamp> {
    let time = jiff::civil::Time::new(hour, minute, 0, 0).ok()?;
    date.to_datetime(time)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

fn partition_hour(key: &str) -> Option<jiff::Timestamp> {
    let date = s3_key_date(key)?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    let segments: Vec<&str> = key.split('/').collect();
    let hive = segments
        .iter()
        .find_map(|s| s.strip_prefix("hour=").filter(|h| two_digits(h)));
    let path = segments.windows(5).find_map(|w| {
        let dated = w[0].len() == 4 && w[..3].iter().all(|s| s.bytes().all(|b| b.is_ascii_digit()));
        (dated && two_digits(w[3]) && !w[4].is_empty()).then_some(w[3])
    });
    let hour: i8 = hive.or(path)?.parse().ok()?;
    at_utc(date, hour, 0)
}

fn file_stamp(key: &str) -> Option<jiff::Timestamp> {
    let name = key.rsplit('/').next()?;
    name.split('_').find_map(|part| {
        let b = part.as_bytes();
        let shaped = b.len() == 14
            && b[8] == b'T'
            && b[13] == b'Z'
            && b[..8].iter().chain(&b[9..13]).all(u8::is_ascii_digit);
        if !shaped {
            return None;
        }
        let number = |from: usize, to: usize| part[from..to].parse::<i16>().ok();
        let date = Date::new(number(0, 4)?, number(4, 6)? as i8, number(6, 8)? as i8).ok()?;
        at_utc(date, number(9, 11)? as i8, number(11, 13)? as i8)
    })
}
