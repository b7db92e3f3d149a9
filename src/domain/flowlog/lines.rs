//! Domain layer (pure): splitting a `BufRead` into lines without a per-line allocation, with a
//! bound on line length so a file without newlines cannot grow memory without limit.

use std::io::{self, BufRead};

/// Lines longer than this are reported as overlong (and counted as malformed by the parser).
pub const MAX_LINE: usize = 64 * 1024;

/// One item of the stream.
pub enum Chunk<'a> {
    /// A line without its newline.
    Line(&'a [u8]),
    /// A line longer than the bound; its bytes were dropped.
    Overlong,
}

/// Calls `each` for every line of `reader` until it returns `false`. Lines inside the reader's
/// buffer are passed in place; only a line that straddles two buffer fills is copied (into one
/// reused buffer).
pub fn for_each_line<R: BufRead + ?Sized>(
    reader: &mut R,
    max_line: usize,
    mut each: impl FnMut(Chunk<'_>) -> bool,
) -> io::Result<()> {
    let mut pending: Vec<u8> = Vec::new();
    let mut overlong = false;
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buffer.is_empty() {
            break;
        }
        let length = buffer.len();
        let mut rest = buffer;
        while let Some(at) = memchr::memchr(b'\n', rest) {
            let (line, tail) = (&rest[..at], &rest[at + 1..]);
            let go_on = if overlong || pending.len() + line.len() > max_line {
                each(Chunk::Overlong)
            } else if pending.is_empty() {
                each(Chunk::Line(line))
            } else {
                pending.extend_from_slice(line);
                each(Chunk::Line(&pending))
            };
            if !go_on {
                return Ok(());
            }
            pending.clear();
            overlong = false;
            rest = tail;
        }
        if !overlong {
            if pending.len() + rest.len() > max_line {
                overlong = true;
                pending.clear();
            } else {
                pending.extend_from_slice(rest);
            }
        }
        reader.consume(length);
    }
    if overlong {
        each(Chunk::Overlong);
    } else if !pending.is_empty() {
        each(Chunk::Line(&pending));
    }
    Ok(())
}
