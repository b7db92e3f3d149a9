//! CLI layer: reading ahead on a second thread, so that one large file is read and inflated on
//! one core while the caller parses it on another (files in parallel cannot help a single file).

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Bytes per chunk handed from the reading thread to the parsing one.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight: enough to ride out a slow parse or read, 1 MiB in all.
const IN_FLIGHT: usize = 4;

/// Runs `consume` on a reader fed by a thread that reads `open()`'s reader ahead in chunks.
/// When `consume` returns early, the reading thread stops at its next chunk.
pub fn with_read_ahead<R, T>(
    open: impl FnOnce() -> io::Result<R> + Send,
    consume: impl FnOnce(&mut dyn BufRead) -> T,
) -> T
where
    R: Read,
{
    let (chunks, received) = sync_channel(IN_FLIGHT);
    let (recycle, spare) = sync_channel(IN_FLIGHT + 1);
    std::thread::scope(|scope| {
        scope.spawn(move || produce(open, &chunks, &spare));
        let mut reader = ChunkReader {
            received,
            recycle,
            chunk: Vec::new(),
            position: 0,
        };
        consume(&mut reader)
        // `reader` drops here, before the scope joins the reading thread: its next send fails.
    })
}

/// The reading thread: fills chunks (reusing the parser's spent ones) until end of input, an
/// error, or a closed channel.
fn produce<R: Read>(
    open: impl FnOnce() -> io::Result<R>,
    chunks: &SyncSender<io::Result<Vec<u8>>>,
    spare: &Receiver<Vec<u8>>,
) {
    let mut reader = match open() {
        Ok(reader) => reader,
        Err(error) => {
            let _ = chunks.send(Err(error));
            return;
        }
    };
    loop {
        let mut chunk = spare.try_recv().unwrap_or_default();
        chunk.resize(CHUNK, 0);
        let filled = fill(&mut reader, &mut chunk);
        let done = !matches!(filled, Ok(n) if n > 0);
        let sent = filled.map(|n| {
            chunk.truncate(n);
            chunk
        });
        if chunks.send(sent).is_err() || done {
            return;
        }
    }
}

/// Reads until `chunk` is full or the input ends; the byte count.
fn fill<R: Read>(reader: &mut R, chunk: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < chunk.len() {
        match reader.read(&mut chunk[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The parsing side: a `BufRead` over the chunks as they arrive.
struct ChunkReader {
    received: Receiver<io::Result<Vec<u8>>>,
    recycle: SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    position: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ChunkReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.position == self.chunk.len() {
            // A closed channel means the reading thread sent its last (empty) chunk: end of input.
            let next = self.received.recv().unwrap_or_else(|_| Ok(Vec::new()))?;
            let spent = std::mem::replace(&mut self.chunk, next);
            let _ = self.recycle.try_send(spent);
            self.position = 0;
        }
        Ok(&self.chunk[self.position..])
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.chunk.len());
    }
}

#[cfg(test)]
mod tests {
    use super::with_read_ahead;
    use std::io;

    #[test]
    fn every_byte_arrives_in_order() {
        let text: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let copy = text.clone();
        let read = with_read_ahead(
            move || Ok(io::Cursor::new(copy)),
            |reader| {
                let mut all = Vec::new();
                reader.read_to_end(&mut all).map(|_| all)
            },
        );
        assert_eq!(read.unwrap(), text);
    }

    #[test]
    fn an_error_opening_or_reading_reaches_the_parser() {
        let failed = with_read_ahead(
            || Err::<io::Empty, _>(io::Error::other("no such object")),
            |reader| reader.fill_buf().map(|b| b.len()),
        );
        assert_eq!(failed.unwrap_err().to_string(), "no such object");
    }

    #[test]
    fn a_parser_that_stops_early_does_not_hang_the_reader() {
        let endless = || Ok(io::repeat(b'x'));
        let first = with_read_ahead(endless, |reader| reader.fill_buf().map(|b| b[0]));
        assert_eq!(first.unwrap(), b'x');
    }
}
