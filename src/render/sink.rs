//! Where rendering writes, and how the kept bytes are read back.
//!
//! [`Sink`]: a small text buffer drained into a gzip encoder as it fills, so the whole text never
//! sits in memory at once. [`TextChunks`]: the text inflated again piece by piece for a plain-text
//! scrape, so that a scrape holds one chunk, never a buffer the size of the exposition.

use std::io::Write as _;

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::{Compression, Decompress, FlushDecompress, Status};

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
            // Level 2. The exposition repeats its label names on every line: level 1 already
            // compresses it 10:1, level 2 14:1 for a quarter more deflate time (at 10,000
            // customers 2.3 MB instead of 3.2 MB, 44 ms instead of 36). A run is deflated once
            // and its gzip served to every scrape until the next run, so the smaller body wins:
            // less memory kept, fewer bytes per scrape, and faster inflation for plain scrapes
            // (longer matches; 10.3 ms instead of 11.6). Level 3 and up save little more.
            encoder: GzEncoder::new(Vec::new(), Compression::new(2)),
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
///
/// The members are raw-inflated straight into each chunk's spare capacity: no zeroing of the
/// chunk first, no intermediate read buffer, and no CRC-32 of the text. A plain scrape of 20,000
/// customers inflates about 60 MB, and those three passes cost about a third as much again as the
/// inflating itself. The CRC guards against corruption in transit or on disk; these members were
/// written by this process into its own memory, and a member that fails to inflate still ends
/// the text (see [`TextChunks::next`]).
pub struct TextChunks {
    gzip: Bytes,
    /// Where the next unread byte of `gzip` is.
    pos: usize,
    inflate: Decompress,
    /// Whether `pos` is inside a member's deflate data (past its header).
    in_member: bool,
    done: bool,
}

impl TextChunks {
    /// Bytes of text per chunk: large enough that the per-chunk costs vanish, small enough that
    /// many concurrent plain scrapes hold little (each holds about three chunks at a time).
    pub const CHUNK: usize = 128 * 1024;

    /// Inflate `gzip` (one or more members).
    pub fn new(gzip: Bytes) -> Self {
        Self {
            gzip,
            pos: 0,
            inflate: Decompress::new(false),
            in_member: false,
            done: false,
        }
    }

    /// Step past the gzip header at `pos` (RFC 1952 §2.3); `None` if there is none.
    fn skip_header(&mut self) -> Option<()> {
        const FHCRC: u8 = 2;
        const FEXTRA: u8 = 4;
        const FNAME: u8 = 8;
        const FCOMMENT: u8 = 16;
        let rest = self.gzip.get(self.pos..)?;
        let (&[0x1f, 0x8b, 8, flags], _) = rest.split_first_chunk::<4>()? else {
            return None;
        };
        let mut at = 10;
        if flags & FEXTRA != 0 {
            let xlen = rest.get(at..at + 2)?;
            at += 2 + usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
        }
        for flag in [FNAME, FCOMMENT] {
            if flags & flag != 0 {
                at += rest.get(at..)?.iter().position(|&b| b == 0)? + 1;
            }
        }
        if flags & FHCRC != 0 {
            at += 2;
        }
        (at <= rest.len()).then(|| self.pos += at)
    }

    /// Inflate into `chunk` until it is full or the members end.
    fn fill(&mut self, chunk: &mut Vec<u8>) {
        while chunk.len() < chunk.capacity() {
            if !self.in_member {
                if self.pos >= self.gzip.len() || self.skip_header().is_none() {
                    self.done = true;
                    return;
                }
                self.inflate.reset(false);
                self.in_member = true;
            }
            let (read, written) = (self.inflate.total_in(), chunk.len());
            let status = self
                .inflate
                .decompress_vec(&self.gzip[self.pos..], chunk, FlushDecompress::None);
            // total_in grows by at most what was passed in: the cast cannot truncate.
            self.pos += (self.inflate.total_in() - read) as usize;
            match status {
                Ok(Status::StreamEnd) => {
                    // CRC-32 and ISIZE (RFC 1952 §2.3.1).
                    self.pos += 8;
                    self.in_member = false;
                }
                Ok(_) if chunk.len() > written || self.inflate.total_in() > read => {}
                // No progress with room left, or data that does not inflate: the members were
                // written by this process into memory, so this does not happen; were one ever
                // cut, ending the text early beats failing the scrape.
                Ok(_) | Err(_) => {
                    self.done = true;
                    return;
                }
            }
        }
    }
}

impl Iterator for TextChunks {
    type Item = Bytes;

    /// The next chunk of text: [`TextChunks::CHUNK`] bytes, or fewer at the end.
    fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let mut chunk = Vec::with_capacity(Self::CHUNK);
        self.fill(&mut chunk);
        (!chunk.is_empty()).then(|| Bytes::from(chunk))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use flate2::read::MultiGzDecoder;

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

    fn deflated(text: &str) -> Bytes {
        let mut sink = Sink::new();
        sink.buf.push_str(text);
        sink.finish().1
    }

    #[test]
    fn text_chunks_read_across_members_of_every_kind_and_fill_each_chunk() {
        let big: String = (0..50_000).map(|i| format!("series_{i} {i}\n")).collect();
        let mut flagged = flate2::GzBuilder::new()
            .filename("name")
            .comment("comment")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), Compression::default());
        flagged.write_all(b"flagged\n").unwrap();
        let flagged = flagged.finish().unwrap();
        let members: [&[u8]; 6] = [
            &gzip_member(b"stored\n"),
            &deflated(&big),
            &gzip_member(b""),
            &flagged,
            &deflated(""),
            &deflated(&big),
        ];
        let all: Vec<u8> = members.concat();
        let chunks: Vec<Bytes> = TextChunks::new(Bytes::from(all)).collect();
        let expected = format!("stored\n{big}flagged\n{big}");
        assert_eq!(String::from_utf8(chunks.concat()).unwrap(), expected);
        let (last, full) = chunks.split_last().unwrap();
        assert!(full.iter().all(|c| c.len() == TextChunks::CHUNK));
        assert!(!last.is_empty() && last.len() <= TextChunks::CHUNK);
    }

    #[test]
    fn a_cut_member_ends_the_text_early_without_failing() {
        let text: String = (0..50_000).map(|i| format!("line {i}\n")).collect();
        let whole = deflated(&text);
        for cut in [0, 5, 10, whole.len() / 2, whole.len() - 8, whole.len() - 1] {
            let chunks: Vec<Bytes> = TextChunks::new(whole.slice(..cut)).collect();
            let got = chunks.concat();
            assert!(text.as_bytes().starts_with(&got), "cut at {cut}");
        }
        let garbage = Bytes::from_static(b"\x1f\x8b\x08\x00\0\0\0\0\0\xff\xff\xff\xff\xff");
        assert_eq!(TextChunks::new(garbage).count(), 0);
        assert_eq!(TextChunks::new(Bytes::from_static(b"not gzip")).count(), 0);
    }
}
