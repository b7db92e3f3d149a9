//! Domain layer (pure): Parquet's RLE / bit-packing hybrid encoding, decoded — the definition
//! levels and dictionary indices of a data page. The parquet crate's decoder is private (public
//! only with its `experimental` feature, which pulls in arrow), so the reader decodes it here.
//!
//! The data is a sequence of runs, each introduced by a ULEB128 header: an even header is a
//! repeated run (`header / 2` copies of one value stored in ⌈width / 8⌉ little-endian bytes), an
//! odd one a bit-packed run (`header / 2` groups of 8 values, `width` bits each, LSB first).

use super::super::FlowLogError;
use bytes::Bytes;

/// The values of one hybrid-encoded stream, read in order.
pub(super) struct Hybrid {
    data: Bytes,
    /// Byte offset of the next run header.
    next: usize,
    width: u32,
    run: Run,
}

enum Run {
    Repeated {
        value: u32,
        left: usize,
    },
    /// Values `index..count` of the bit-packed run starting at byte `start`.
    Packed {
        start: usize,
        index: usize,
        count: usize,
    },
}

fn corrupt(what: &str) -> FlowLogError {
    FlowLogError::Parquet(format!("corrupt page: {what}"))
}

impl Hybrid {
    /// A stream of `width`-bit values (at most 32) in `data`.
    pub(super) fn new(data: Bytes, width: u32) -> Result<Hybrid, FlowLogError> {
        if width > 32 {
            return Err(corrupt("a bit width above 32"));
        }
        Ok(Hybrid {
            data,
            next: 0,
            width,
            run: Run::Repeated { value: 0, left: 0 },
        })
    }

    /// Dictionary indices: one byte of bit width, then the hybrid stream.
    pub(super) fn indices(data: Bytes) -> Result<Hybrid, FlowLogError> {
        let width = *data.first().ok_or_else(|| corrupt("no index bit width"))?;
        Hybrid::new(data.slice(1..), u32::from(width))
    }

    /// Appends the next `n` values to `out`.
    pub(super) fn read(&mut self, mut n: usize, out: &mut Vec<u32>) -> Result<(), FlowLogError> {
        out.reserve(n);
        while n > 0 {
            match &mut self.run {
                Run::Repeated { value, left } if *left > 0 => {
                    let take = n.min(*left);
                    out.extend(std::iter::repeat_n(*value, take));
                    *left -= take;
                    n -= take;
                }
                Run::Packed {
                    start,
                    index,
                    count,
                } if *index < *count => {
                    let take = n.min(*count - *index);
                    unpack(&self.data[*start..], self.width, *index, take, out);
                    *index += take;
                    n -= take;
                }
                _ => self.run = self.next_run()?,
            }
        }
        Ok(())
    }

    fn next_run(&mut self) -> Result<Run, FlowLogError> {
        let header = self.uleb128()?;
        let count = usize::try_from(header >> 1).map_err(|_| corrupt("a run too long"))?;
        if header & 1 == 1 {
            let start = self.next;
            let bytes = count.saturating_mul(self.width as usize);
            let available = self.data.len() - start;
            // a last run may be cut short after its last value: read what is there
            let count = if self.width == 0 {
                count.saturating_mul(8)
            } else {
                (count.saturating_mul(8)).min(available * 8 / self.width as usize)
            };
            self.next = start + bytes.min(available);
            if count == 0 {
                return Err(corrupt("an empty bit-packed run"));
            }
            Ok(Run::Packed {
                start,
                index: 0,
                count,
            })
        } else {
            let size = self.width.div_ceil(8) as usize;
            let bytes = self
                .data
                .get(self.next..self.next + size)
                .ok_or_else(|| corrupt("the values end inside a run"))?;
            let value = bytes
                .iter()
                .rev()
                .fold(0u32, |value, byte| (value << 8) | u32::from(*byte));
            self.next += size;
            if count == 0 {
                return Err(corrupt("an empty repeated run"));
            }
            Ok(Run::Repeated { value, left: count })
        }
    }

    fn uleb128(&mut self) -> Result<u64, FlowLogError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .data
                .get(self.next)
                .ok_or_else(|| corrupt("the values end before the page's last value"))?;
            self.next += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(corrupt("a run header longer than 64 bits"))
    }
}

/// Appends values `first..first + n` of the `width`-bit values packed in `data`.
fn unpack(data: &[u8], width: u32, first: usize, n: usize, out: &mut Vec<u32>) {
    if width == 0 {
        out.extend(std::iter::repeat_n(0, n));
        return;
    }
    let mask = (1u64 << width) - 1;
    let width = width as usize;
    for index in first..first + n {
        let bit = index * width;
        let byte = bit / 8;
        let word = match data.get(byte..byte + 8) {
            Some(bytes) => u64::from_le_bytes(bytes.try_into().expect("8 bytes")),
            None => {
                let mut padded = [0u8; 8];
                let tail = &data[byte.min(data.len())..];
                padded[..tail.len().min(8)].copy_from_slice(&tail[..tail.len().min(8)]);
                u64::from_le_bytes(padded)
            }
        };
        out.push(((word >> (bit % 8)) & mask) as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Encodes `values` as the hybrid stream: runs of 8+ equal values repeated, the rest
    /// bit-packed (the reference for the decoder; the parquet writer's output is tested through
    /// the reader's round trips).
    fn encode(values: &[u32], width: u32) -> Vec<u8> {
        fn uleb(mut v: u64, out: &mut Vec<u8>) {
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    out.push(byte);
                    return;
                }
                out.push(byte | 0x80);
            }
        }
        let mut out = Vec::new();
        let mut at = 0;
        while at < values.len() {
            let same = values[at..]
                .iter()
                .take_while(|v| **v == values[at])
                .count();
            if same >= 8 {
                uleb((same as u64) << 1, &mut out);
                out.extend(&values[at].to_le_bytes()[..width.div_ceil(8) as usize]);
                at += same;
            } else {
                let group: Vec<u32> = values[at..].iter().take(8).copied().collect();
                uleb(3, &mut out);
                let mut bits = 0u64;
                let mut filled = 0;
                for value in group.iter().chain(std::iter::repeat(&0)).take(8) {
                    bits |= u64::from(*value) << filled;
                    filled += width;
                    while filled >= 8 {
                        out.push(bits as u8);
                        bits >>= 8;
                        filled -= 8;
                    }
                }
                at += group.len();
            }
        }
        out
    }

    proptest! {
        #[test]
        fn runs_of_any_kind_decode_to_the_values_encoded(
            width in 0u32..=32,
            raw in prop::collection::vec((any::<u32>(), 1usize..20), 0..40),
            reads in prop::collection::vec(1usize..50, 1..10),
        ) {
            let mask = if width == 32 { u32::MAX } else { (1u32 << width) - 1 };
            let values: Vec<u32> = raw
                .iter()
                .flat_map(|(v, n)| std::iter::repeat_n(v & mask, *n))
                .collect();
            let mut hybrid = Hybrid::new(Bytes::from(encode(&values, width)), width).unwrap();
            let mut decoded = Vec::new();
            let mut reads = reads.into_iter().cycle();
            while decoded.len() < values.len() {
                let n = reads.next().unwrap().min(values.len() - decoded.len());
                hybrid.read(n, &mut decoded).unwrap();
            }
            prop_assert_eq!(decoded, values);
        }
    }

    #[test]
    fn reading_past_the_end_is_an_error_not_a_panic() {
        let mut hybrid = Hybrid::new(Bytes::from(encode(&[1, 1, 1], 2)), 2).unwrap();
        let mut out = Vec::new();
        hybrid.read(3, &mut out).unwrap();
        assert!(hybrid.read(9, &mut out).is_err());
        let mut out = Vec::new();
        assert!(Hybrid::indices(Bytes::new()).is_err());
        assert!(Hybrid::new(Bytes::from_static(&[0x10]), 8)
            .unwrap()
            .read(1, &mut out)
            .is_err());
        assert!(Hybrid::new(Bytes::new(), 33).is_err());
    }
}
