//! Domain layer (pure): one column chunk of a flat flow-log schema read page by page into cells
//! ([`Cell`]). The dictionary page's values become cells once; a dictionary-encoded data page
//! is then a stream of indices into them; a PLAIN page's values are made cells one by one.
//! Definition levels say which rows are null. Pages come decompressed from the parquet crate's
//! page reader.

use super::super::{Aggregator, FlowLogError};
use super::cells::Cell;
use super::hybrid::Hybrid;
use bytes::Bytes;
use parquet::basic::{Encoding, Type as PhysicalType};
use parquet::column::page::{Page, PageReader};

/// The value encodings (and level encoding, RLE) this reader decodes.
pub(super) const ENCODINGS: [Encoding; 4] = [
    Encoding::PLAIN,
    Encoding::PLAIN_DICTIONARY,
    Encoding::RLE_DICTIONARY,
    Encoding::RLE,
];

fn unsupported(what: String) -> FlowLogError {
    FlowLogError::Parquet(what)
}

/// The reading position in the current data page.
struct DataPage {
    /// Rows (levels) not yet read.
    left: usize,
    /// Definition levels (nullable columns).
    levels: Option<Hybrid>,
    values: Values,
}

enum Values {
    Dictionary(Hybrid),
    Plain { data: Bytes, at: usize },
}

/// One column chunk and the cells of its current batch of rows.
pub(super) struct Column<C: Cell> {
    pages: Box<dyn PageReader>,
    physical: PhysicalType,
    nullable: bool,
    dictionary: Vec<C>,
    page: Option<DataPage>,
    levels: Vec<u32>,
    indices: Vec<u32>,
    present: Vec<C>,
    /// The current batch: one cell per row.
    pub(super) cells: Vec<C>,
}

impl<C: Cell> Column<C> {
    /// `nullable`: the column is optional (definition levels 0 and 1), not required.
    pub(super) fn new(pages: Box<dyn PageReader>, physical: PhysicalType, nullable: bool) -> Self {
        Column {
            pages,
            physical,
            nullable,
            dictionary: Vec::new(),
            page: None,
            levels: Vec::new(),
            indices: Vec::new(),
            present: Vec::new(),
            cells: Vec::new(),
        }
    }

    /// Reads the next `rows` rows into [`Column::cells`] (fewer at the chunk's end); returns how many.
    pub(super) fn read(
        &mut self,
        rows: usize,
        aggregator: &mut Aggregator,
    ) -> Result<usize, FlowLogError> {
        self.cells.clear();
        while self.cells.len() < rows {
            let page = match &mut self.page {
                Some(page) if page.left > 0 => page,
                _ => match self.next_data_page(aggregator)? {
                    Some(page) => self.page.insert(page),
                    None => break,
                },
            };
            let take = page.left.min(rows - self.cells.len());
            page.left -= take;
            read_rows(
                page,
                take,
                self.physical,
                &self.dictionary,
                Scratch {
                    levels: self.nullable.then_some(&mut self.levels),
                    indices: &mut self.indices,
                    present: &mut self.present,
                    cells: &mut self.cells,
                },
                aggregator,
            )?;
        }
        Ok(self.cells.len())
    }

    /// The next data page, reading the dictionary page if it comes first.
    fn next_data_page(
        &mut self,
        aggregator: &mut Aggregator,
    ) -> Result<Option<DataPage>, FlowLogError> {
        loop {
            let Some(page) = self.pages.get_next_page()? else {
                return Ok(None);
            };
            match page {
                Page::DictionaryPage {
                    buf, num_values, ..
                } => {
                    self.dictionary.clear();
                    let mut at = 0;
                    for _ in 0..num_values {
                        let cell = plain::<C>(self.physical, &buf, &mut at, aggregator)?;
                        self.dictionary.push(cell);
                    }
                }
                Page::DataPage {
                    buf,
                    num_values,
                    encoding,
                    def_level_encoding,
                    ..
                } => {
                    let (levels, values) = if self.nullable {
                        if def_level_encoding != Encoding::RLE {
                            return Err(unsupported(format!(
                                "definition levels encoded {def_level_encoding}"
                            )));
                        }
                        let length = buf.get(..4).ok_or_else(|| {
                            unsupported("a data page ends inside its levels".into())
                        })?;
                        let length = u32::from_le_bytes(length.try_into().expect("4")) as usize;
                        let end = 4usize.saturating_add(length);
                        if end > buf.len() {
                            return Err(unsupported("a data page ends inside its levels".into()));
                        }
                        (Some(Hybrid::new(buf.slice(4..end), 1)?), buf.slice(end..))
                    } else {
                        (None, buf)
                    };
                    return self
                        .data_page(num_values, levels, encoding, values)
                        .map(Some);
                }
                Page::DataPageV2 {
                    buf,
                    num_values,
                    encoding,
                    def_levels_byte_len,
                    rep_levels_byte_len,
                    ..
                } => {
                    let levels_end = rep_levels_byte_len as usize + def_levels_byte_len as usize;
                    if levels_end > buf.len() {
                        return Err(unsupported("a data page ends inside its levels".into()));
                    }
                    let levels = self
                        .nullable
                        .then(|| {
                            Hybrid::new(buf.slice(rep_levels_byte_len as usize..levels_end), 1)
                        })
                        .transpose()?;
                    let values = buf.slice(levels_end..);
                    return self
                        .data_page(num_values, levels, encoding, values)
                        .map(Some);
                }
            }
        }
    }

    fn data_page(
        &self,
        num_values: u32,
        levels: Option<Hybrid>,
        encoding: Encoding,
        data: Bytes,
    ) -> Result<DataPage, FlowLogError> {
        let values = match encoding {
            Encoding::PLAIN => Values::Plain { data, at: 0 },
            Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY => {
                Values::Dictionary(Hybrid::indices(data)?)
            }
            other => return Err(unsupported(format!("a data page encoded {other}"))),
        };
        Ok(DataPage {
            left: num_values as usize,
            levels,
            values,
        })
    }
}

/// Buffers reused from batch to batch.
struct Scratch<'a, C> {
    /// `Some` for a nullable column.
    levels: Option<&'a mut Vec<u32>>,
    indices: &'a mut Vec<u32>,
    present: &'a mut Vec<C>,
    cells: &'a mut Vec<C>,
}

/// Appends `rows` rows of `page` to `scratch.cells`.
fn read_rows<C: Cell>(
    page: &mut DataPage,
    rows: usize,
    physical: PhysicalType,
    dictionary: &[C],
    scratch: Scratch<'_, C>,
    aggregator: &mut Aggregator,
) -> Result<(), FlowLogError> {
    let present = match (&mut page.levels, scratch.levels) {
        (Some(decoder), Some(levels)) => {
            levels.clear();
            decoder.read(rows, levels)?;
            let present = levels.iter().filter(|level| **level == 1).count();
            (present < rows).then_some((present, levels.as_slice()))
        }
        _ => None,
    };
    let count = present.map_or(rows, |(present, _)| present);
    let levels = present.map(|(_, levels)| levels);
    match &mut page.values {
        Values::Dictionary(decoder) => {
            scratch.indices.clear();
            decoder.read(count, scratch.indices)?;
            if scratch
                .indices
                .iter()
                .max()
                .is_some_and(|max| *max as usize >= dictionary.len())
            {
                return Err(unsupported(
                    "a dictionary index beyond the dictionary".into(),
                ));
            }
            let cells = scratch
                .indices
                .iter()
                .map(|index| dictionary[*index as usize]);
            place(levels, cells, scratch.cells);
        }
        Values::Plain { data, at } => {
            let values = scratch.present;
            values.clear();
            for _ in 0..count {
                values.push(plain::<C>(physical, data, at, aggregator)?);
            }
            place(levels, values.iter().copied(), scratch.cells);
        }
    }
    Ok(())
}

/// Appends the cells of rows: `values` in order, or, with definition levels, a value for each
/// level 1 and a null for each 0.
fn place<C: Cell>(levels: Option<&[u32]>, values: impl Iterator<Item = C>, cells: &mut Vec<C>) {
    match levels {
        None => cells.extend(values),
        Some(levels) => {
            let mut values = values;
            cells.extend(levels.iter().map(|level| match level {
                1 => values.next().unwrap_or(C::NULL),
                _ => C::NULL,
            }));
        }
    }
}

/// The PLAIN-encoded value at `*at` in `data`, as a cell; moves `at` past it.
fn plain<C: Cell>(
    physical: PhysicalType,
    data: &[u8],
    at: &mut usize,
    aggregator: &mut Aggregator,
) -> Result<C, FlowLogError> {
    Ok(match physical {
        PhysicalType::INT32 => C::int(i64::from(i32::from_le_bytes(
            take(data, at, 4)?.try_into().expect("4 bytes"),
        ))),
        PhysicalType::INT64 => C::int(i64::from_le_bytes(
            take(data, at, 8)?.try_into().expect("8 bytes"),
        )),
        PhysicalType::BYTE_ARRAY => {
            let length = u32::from_le_bytes(take(data, at, 4)?.try_into().expect("4 bytes"));
            C::text(take(data, at, length as usize)?, aggregator)
        }
        other => return Err(unsupported(format!("a column of type {other}"))),
    })
}

/// The next `n` bytes of `data` at `*at`; moves `at` past them.
fn take<'d>(data: &'d [u8], at: &mut usize, n: usize) -> Result<&'d [u8], FlowLogError> {
    let bytes = data
        .get(*at..at.saturating_add(n))
        .ok_or_else(|| unsupported("a page ends inside a value".into()))?;
    *at += n;
    Ok(bytes)
}
