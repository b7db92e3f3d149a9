//! Report layer: a JSON array serialised from an iterator as it is consumed, so a report's
//! findings go from the spool file to the JSON output without ever being collected.

use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};
use std::cell::RefCell;
use std::fmt::Display;

/// Serialises as a JSON array of the iterator's items; an `Err` item fails the serialisation.
/// Serialisable once (the iterator is consumed).
pub struct Streamed<I>(RefCell<Option<I>>);

impl<I> Streamed<I> {
    /// Wraps `items`.
    pub fn new(items: I) -> Self {
        Streamed(RefCell::new(Some(items)))
    }
}

impl<I, T, E> Serialize for Streamed<I>
where
    I: Iterator<Item = Result<T, E>>,
    T: Serialize,
    E: Display,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let items = self
            .0
            .borrow_mut()
            .take()
            .ok_or_else(|| S::Error::custom("a streamed array can be serialised only once"))?;
        let mut seq = serializer.serialize_seq(None)?;
        for item in items {
            seq.serialize_element(&item.map_err(S::Error::custom)?)?;
        }
        seq.end()
    }
}
