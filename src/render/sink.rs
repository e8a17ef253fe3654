//! Where rendering writes, and how the kept bytes are read back.
//!
//! [`Sink`]: a small text buffer drained into a gzip encoder as it fills, so the whole text never
//! sits in memory at once. [`TextChunks`]: the text inflated again piece by piece for a plain-text
//! scrape, so that a scrape holds one chunk, never a buffer the size of the exposition.

use std::io::{Read as _, Write as _};

use bytes::{Buf as _, Bytes, BytesMut};
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

/// How much text is buffered before it goes to the encoder.
const FLUSH_AT: usize = 64 * 1024;

/// Text in, one gzip member out.
pub(crate) struct Sink {
    pub(crate) buf: String,
    encoder: GzEncoder<Vec<u8>>,
    written: usize,
}

impl Sink {
    pub(crate) fn new() -> Self {
        Self {
            buf: String::with_capacity(FLUSH_AT + 4096),
            // Level 1: the exposition repeats its label names on every line, so even the fastest
            // level compresses it about 12:1, at several hundred MB/s.
            encoder: GzEncoder::new(Vec::new(), Compression::fast()),
            written: 0,
        }
    }

    /// Hand the buffered text to the encoder once there is enough of it.
    pub(crate) fn maybe_flush(&mut self) {
        if self.buf.len() >= FLUSH_AT {
            self.flush();
        }
    }

    fn flush(&mut self) {
        // Writing into a Vec cannot fail.
        let _ = self.encoder.write_all(self.buf.as_bytes());
        self.written += self.buf.len();
        self.buf.clear();
    }

    /// The length of the text and the gzip member holding it.
    pub(crate) fn finish(mut self) -> (usize, Bytes) {
        self.flush();
        // Finishing an encoder that writes into a Vec cannot fail.
        let mut gzip = self.encoder.finish().unwrap_or_default();
        // The Vec grew by doubling: give the spare half back, this is kept until the next run.
        gzip.shrink_to_fit();
        (self.written, Bytes::from(gzip))
    }
}

/// `data` as one gzip member, in stored (uncompressed) deflate blocks (RFC 1951 §3.2.4). Members
/// can be concatenated: RFC 1952 §2.2 defines a gzip file as a series of members, and Go's
/// (Prometheus') reader reads them as one stream.
///
/// For the self-metrics, made on every scrape: they are a few kilobytes, and a deflate encoder
/// would allocate and clear a quarter of a megabyte of state per scrape to save those few
/// kilobytes of a body of megabytes.
pub fn gzip_member(data: &[u8]) -> Bytes {
    const BLOCK: usize = 65_535;
    let mut out = Vec::with_capacity(data.len() + data.len() / BLOCK * 5 + 32);
    // ID1 ID2, CM = deflate, no flags, no MTIME, no XFL, OS unknown.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut blocks = data.chunks(BLOCK).peekable();
    if data.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        // BFINAL on the last block, BTYPE 00 (stored), padded to the byte: then LEN and NLEN.
        out.push(u8::from(blocks.peek().is_none()));
        // A block is at most 65,535 bytes, so its length fits.
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE is the length modulo 2^32 (RFC 1952 §2.3.1).
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Bytes::from(out)
}

/// The text of gzip members, inflated [`TextChunks::CHUNK`] bytes at a time.
pub struct TextChunks {
    decoder: MultiGzDecoder<bytes::buf::Reader<Bytes>>,
    done: bool,
}

impl TextChunks {
    /// Bytes of text per chunk: large enough that the per-chunk costs vanish, small enough that
    /// many concurrent plain scrapes hold little (each holds about three chunks at a time).
    pub const CHUNK: usize = 128 * 1024;

    /// Inflate `gzip` (one or more members).
    pub fn new(gzip: Bytes) -> Self {
        Self {
            decoder: MultiGzDecoder::new(gzip.reader()),
            done: false,
        }
    }
}

impl Iterator for TextChunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let mut chunk = BytesMut::zeroed(Self::CHUNK);
        let mut filled = 0;
        while filled < chunk.len() {
            match self.decoder.read(&mut chunk[filled..]) {
                Ok(0) => {
                    self.done = true;
                    break;
                }
                Ok(n) => filled += n,
                // The members were written by this process into memory, so they inflate without
                // error; were one ever cut, ending the text early beats failing the scrape.
                Err(_) => {
                    self.done = true;
                    break;
                }
            }
        }
        chunk.truncate(filled);
        (filled > 0).then(|| chunk.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_members_of_any_size_inflate_to_their_data() {
        for len in [0usize, 1, 65_534, 65_535, 65_536, 200_000] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let member = gzip_member(&data);
            let mut back = Vec::new();
            MultiGzDecoder::new(&member[..]).read_to_end(&mut back).unwrap();
            assert_eq!(back, data, "{len} bytes");
        }
    }

    #[test]
    fn gzip_members_concatenate_into_one_readable_stream() {
        let mut both = gzip_member(b"first\n").to_vec();
        both.extend_from_slice(&gzip_member(b"second\n"));
        let mut text = String::new();
        MultiGzDecoder::new(&both[..]).read_to_string(&mut text).unwrap();
        assert_eq!(text, "first\nsecond\n");
    }

    #[test]
    fn text_chunks_inflate_to_the_whole_text_in_bounded_pieces() {
        let text: String = (0..60_000).map(|i| format!("line {i}\n")).collect();
        let mut sink = Sink::new();
        for line in text.lines() {
            sink.buf.push_str(line);
            sink.buf.push('\n');
            sink.maybe_flush();
        }
        let (len, gzip) = sink.finish();
        assert_eq!(len, text.len());
        let chunks: Vec<Bytes> = TextChunks::new(gzip).collect();
        assert!(chunks.len() > 2, "{} chunks", chunks.len());
        assert!(
            chunks
                .iter()
                .all(|c| c.len() <= TextChunks::CHUNK && !c.is_empty())
        );
        assert_eq!(chunks.concat(), text.as_bytes());
    }

    #[test]
    fn an_empty_member_has_no_chunks() {
        let (len, gzip) = Sink::new().finish();
        assert_eq!(len, 0);
        assert_eq!(TextChunks::new(gzip).count(), 0);
    }
}
