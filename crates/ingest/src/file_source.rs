//! The source of files, folders and standard input: found inputs are read one after the
//! other, each opened and read exactly once. Its first bytes are kept while the format is
//! recognised, then read again from memory in front of the rest, so standard input, pipes and
//! FIFOs lose nothing.

use crate::batch::Batch;
use crate::error::ReadError;
use crate::files::{Found, Location};
use crate::formats::{HEAD_BYTES, Head, Layout, Opening, Registry};
use crate::source::{Compression, Feed, InputInfo, Source};
use crate::stream;
use crate::unit::Blocks;
use dwell_core::{InputId, Problem};
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::sync::Arc;

/// Reads found inputs in order.
pub struct FileSource {
    found: Vec<Found>,
    registry: Registry,
}

impl FileSource {
    /// A source over `found`, recognised with `registry`'s formats.
    pub fn new(found: Vec<Found>, registry: Registry) -> FileSource {
        FileSource { found, registry }
    }
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

fn stable_id(f: &Found) -> InputId {
    match &f.location {
        Location::Path(p) => {
            let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            InputId::of("file", &abs.to_string_lossy())
        }
        Location::Stdin => InputId::of("stdin", ""),
        Location::Memory(_) => InputId::of("memory", &f.display),
    }
}

impl Source for FileSource {
    fn inputs(&self) -> Vec<InputInfo> {
        self.found
            .iter()
            .map(|f| InputInfo {
                id: stable_id(f),
                display: f.display.clone(),
                size: f.size,
                format: None,
                compression: Compression::None,
            })
            .collect()
    }

    fn run(&mut self, feed: &mut dyn Feed) {
        for (i, f) in self.found.iter().enumerate() {
            let input = i as u32;
            // A defect in a format (a panic while recognising, opening or framing an input)
            // costs that input, reported, not the inputs after it.
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                read_one(f, input, &self.registry, feed)
            }));
            match read {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => return,
                Ok(Err(e)) => feed.failed(input, e),
                Err(panic) => {
                    let why = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    feed.failed(
                        input,
                        ReadError::Invalid(format!(
                            "internal error while reading it ({why}); the rest of it is not read; please report this"
                        )),
                    );
                }
            }
        }
    }
}

/// Reads up to `HEAD_BYTES` from `r`.
fn head_of(r: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(HEAD_BYTES.min(1 << 16));
    r.take(HEAD_BYTES as u64).read_to_end(&mut head)?;
    Ok(head)
}

fn decoder(raw: Box<dyn Read + Send>, c: Compression) -> Result<Box<dyn Read + Send>, ReadError> {
    let r = io::BufReader::with_capacity(256 << 10, raw);
    Ok(match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Compression::Zstd => Box::new(
            ruzstd::decoding::StreamingDecoder::new(r)
                .map_err(|e| ReadError::Compression(e.to_string()))?,
        ),
    })
}

/// Opens, recognises and reads one input; `Ok(false)` when the feed said stop.
fn read_one(
    f: &Found,
    input: u32,
    registry: &Registry,
    feed: &mut dyn Feed,
) -> Result<bool, ReadError> {
    let (file, mut raw): (Option<Arc<File>>, Box<dyn Read + Send>) = match &f.location {
        Location::Path(p) => {
            let file = Arc::new(File::open(p)?);
            (Some(file.clone()), Box::new(ArcFile(file)))
        }
        Location::Stdin => (None, Box::new(io::stdin())),
        Location::Memory(m) => (None, Box::new(Cursor::new(m.clone()))),
    };
    let raw_head = head_of(&mut raw)?;
    if raw_head.is_empty() {
        return Err(ReadError::Empty { compressed: false });
    }
    let compression = if raw_head.starts_with(GZIP_MAGIC) {
        Compression::Gzip
    } else if raw_head.starts_with(ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    };
    // `rest` is what follows `head`: the raw stream itself, or the decoder's output after the
    // decompressed head.
    let (head, rest): (Vec<u8>, Box<dyn Read + Send>) = if compression == Compression::None {
        (raw_head, raw)
    } else {
        let rejoined: Box<dyn Read + Send> = Box::new(Cursor::new(raw_head).chain(raw));
        let mut dec = decoder(rejoined, compression)?;
        let head = head_of(&mut dec).map_err(|e| ReadError::Compression(e.to_string()))?;
        if head.is_empty() {
            return Err(ReadError::Empty { compressed: true });
        }
        (head, dec)
    };
    let h = Head {
        bytes: &head,
        complete: head.len() < HEAD_BYTES,
    };
    let chosen = match &f.location {
        Location::Path(p) => registry.override_for(p).or_else(|| registry.recognise(&h)),
        _ => registry.recognise(&h),
    };
    let Some(format) = chosen.cloned() else {
        let what = if head.iter().take(512).any(|b| *b == 0) {
            "binary data"
        } else {
            "text in no format dwell reads"
        };
        return Err(ReadError::NotALog {
            what,
            formats: registry.summary(),
        });
    };
    let opening = Opening {
        head: h,
        modified: modified(file.as_deref()),
        settings: registry.settings(),
    };
    let format = match format.open(&opening) {
        Ok(Some(configured)) => configured,
        Ok(None) => format,
        Err(reason) => {
            return Err(ReadError::Refused {
                format: format.name(),
                reason,
            });
        }
    };
    feed.opened(input, &format, compression);
    let all: Box<dyn Read + Send> = Box::new(Cursor::new(head.clone()).chain(rest));
    match format.layout() {
        Layout::Stream(framer) => {
            let counted = compression == Compression::None;
            let go = stream::read(all, framer(), input, &format, feed, counted);
            if !counted {
                feed.progress(f.size.unwrap_or(0));
            }
            Ok(go)
        }
        Layout::Blocks => {
            let data = match (&f.location, file, compression) {
                // A regular file is read where it is, at random offsets.
                (Location::Path(_), Some(file), Compression::None)
                    if file.metadata().is_ok_and(|m| m.is_file()) =>
                {
                    Blocks::File(file)
                }
                (Location::Memory(m), _, Compression::None) => Blocks::Memory(m.clone()),
                // A pipe or a compressed file: copied once to an unnamed temporary file.
                _ => {
                    let mut tmp = tempfile::tempfile()?;
                    let mut all = all;
                    io::copy(&mut all, &mut tmp).map_err(|e| match compression {
                        Compression::None => ReadError::Io(e),
                        _ => ReadError::Compression(e.to_string()),
                    })?;
                    Blocks::File(Arc::new(tmp))
                }
            };
            let units = format.plan(&data, &mut |place, reason| {
                feed.problem(Problem {
                    input,
                    place,
                    reason,
                })
            })?;
            for unit in units {
                let batch = Batch {
                    input,
                    format: format.clone(),
                    unit,
                };
                let bytes = batch.bytes();
                if !feed.batch(batch) {
                    return Ok(false);
                }
                feed.progress(bytes);
            }
            Ok(true)
        }
    }
}

/// When `file` was last modified (now, for a pipe or memory), in nanoseconds since the epoch.
fn modified(file: Option<&File>) -> i64 {
    let at = file
        .and_then(|f| f.metadata().ok())
        .filter(|m| m.is_file())
        .and_then(|m| m.modified().ok())
        .unwrap_or_else(std::time::SystemTime::now);
    at.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
        .unwrap_or(0)
}

/// A shared file read sequentially (its handle is also kept for random access).
struct ArcFile(Arc<File>);

impl Read for ArcFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}
