//! What a format decodes: framed records of a stream, or a range of blocks of an input read at
//! random offsets (EVTX chunks), planned by the format itself.

use crate::framing::Piece;
use std::fs::File;
use std::io;
use std::sync::Arc;

/// An input read at random offsets: a file on disk, a temporary copy, or memory.
#[derive(Clone)]
pub enum Blocks {
    /// A file (or an unnamed temporary copy of a pipe or compressed input).
    File(Arc<File>),
    /// Bytes in memory.
    Memory(Arc<[u8]>),
}

impl Blocks {
    /// Total length in bytes.
    pub fn len(&self) -> io::Result<u64> {
        match self {
            Blocks::File(f) => Ok(f.metadata()?.len()),
            Blocks::Memory(v) => Ok(v.len() as u64),
        }
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Reads up to `buf.len()` bytes at `offset`; fewer only at the end.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        match self {
            Blocks::File(f) => {
                let mut done = 0;
                while done < buf.len() {
                    let n = read_at(f, &mut buf[done..], offset + done as u64)?;
                    if n == 0 {
                        break;
                    }
                    done += n;
                }
                Ok(done)
            }
            Blocks::Memory(v) => {
                let start = (offset.min(v.len() as u64)) as usize;
                let n = buf.len().min(v.len() - start);
                buf[..n].copy_from_slice(&v[start..start + n]);
                Ok(n)
            }
        }
    }
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(f, buf, offset)
}

#[cfg(windows)]
fn read_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(f, buf, offset)
}

/// What a batch holds.
pub enum Unit {
    /// Framed records: `text[p.start..p.end]` for each piece.
    Records {
        /// The bytes the pieces index.
        text: Vec<u8>,
        /// The records, in order.
        pieces: Vec<Piece>,
        /// What [`Piece::line`] counts (`line`, `frame`), for naming places.
        unit: &'static str,
        /// What the framer said these records depend on from before them
        /// ([`crate::framing::Framer::header`]).
        header: Option<Arc<[u8]>>,
    },
    /// Blocks `first..first + count` of a random-access input.
    Blocks {
        /// The input.
        data: Blocks,
        /// The first block.
        first: u64,
        /// How many blocks.
        count: u64,
        /// Bytes covered, for progress.
        bytes: u64,
    },
}
