//! Finding inputs, recognising their format by content, and cutting them into batches that
//! worker threads decode into events.
//!
//! The reading side is sequential and cheap (file I/O, decompression, finding record
//! boundaries); the decoding side (EVTX rendering, JSON parsing) runs on the workers. A batch
//! carries whole records only, so any worker can decode any batch.

use crate::event::{Event, Gate, Resolver};
use crate::evtx::EvtxSource;
use crate::json::{self, Piece, Splitter};
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How an input's records are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Evtx,
    Json,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Evtx => "evtx",
            Format::Json => "json",
        }
    }
}

/// Compression wrapped around an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// A file recognised as a log.
#[derive(Debug, Clone)]
pub struct Input {
    pub path: PathBuf,
    /// The path as shown in output (`source`).
    pub display: String,
    /// Size on disk in bytes.
    pub size: u64,
    pub format: Format,
    pub compression: Compression,
}

/// A path that was not read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

const EVTX_MAGIC: &[u8] = b"ElfFile\0";
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// Walks `paths` (files and folders, recursively, in sorted order) and recognises each file.
pub fn discover(paths: &[PathBuf]) -> (Vec<Input>, Vec<Skipped>) {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut files, &mut skipped),
            Ok(_) => files.push(p.clone()),
            Err(e) => skipped.push(Skipped {
                path: p.display().to_string(),
                reason: io_reason(&e),
            }),
        }
    }
    let mut inputs = Vec::new();
    for f in files {
        match recognise(&f) {
            Ok(i) => inputs.push(i),
            Err(reason) => skipped.push(Skipped {
                path: f.display().to_string(),
                reason,
            }),
        }
    }
    (inputs, skipped)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, skipped: &mut Vec<Skipped>) {
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(e) => e.filter_map(Result::ok).collect(),
        Err(e) => {
            skipped.push(Skipped {
                path: dir.display().to_string(),
                reason: io_reason(&e),
            });
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&path, out, skipped),
            Ok(t) if t.is_symlink() && path.is_dir() => skipped.push(Skipped {
                path: path.display().to_string(),
                reason: "symbolic link to a folder (not followed)".into(),
            }),
            Ok(_) => out.push(path),
            Err(err) => skipped.push(Skipped {
                path: path.display().to_string(),
                reason: io_reason(&err),
            }),
        }
    }
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or folder".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Recognises one file by its content.
pub fn recognise(path: &Path) -> Result<Input, String> {
    let mut f = File::open(path).map_err(|e| io_reason(&e))?;
    let size = f.metadata().map_err(|e| io_reason(&e))?.len();
    let mut head = Vec::with_capacity(4096);
    (&mut f)
        .take(4096)
        .read_to_end(&mut head)
        .map_err(|e| io_reason(&e))?;
    if head.is_empty() {
        return Err("empty file".into());
    }
    let (compression, inner) = if head.starts_with(GZIP_MAGIC) {
        f.rewind().map_err(|e| io_reason(&e))?;
        (
            Compression::Gzip,
            peek(open_decoder(f, Compression::Gzip)?)?,
        )
    } else if head.starts_with(ZSTD_MAGIC) {
        f.rewind().map_err(|e| io_reason(&e))?;
        (
            Compression::Zstd,
            peek(open_decoder(f, Compression::Zstd)?)?,
        )
    } else {
        (Compression::None, head)
    };
    let format = sniff(&inner).ok_or_else(|| {
        let what = if inner.iter().take(512).any(|b| *b == 0) {
            "binary data"
        } else {
            "text that is neither EVTX nor JSON"
        };
        format!("not a log dwell reads: {what} (EVTX, JSON lines, JSON arrays and concatenated JSON objects are supported)")
    })?;
    Ok(Input {
        path: path.to_path_buf(),
        display: path.display().to_string(),
        size,
        format,
        compression,
    })
}

fn peek(mut r: Box<dyn Read + Send>) -> Result<Vec<u8>, String> {
    let mut head = Vec::with_capacity(4096);
    r.by_ref()
        .take(4096)
        .read_to_end(&mut head)
        .map_err(|e| format!("corrupt compressed data: {e}"))?;
    if head.is_empty() {
        return Err("empty after decompression".into());
    }
    Ok(head)
}

/// Recognises a format from the first bytes.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(EVTX_MAGIC) {
        return Some(Format::Evtx);
    }
    let body = head.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(head);
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    if (*first == b'{' || *first == b'[') && !body.iter().take(512).any(|b| *b == 0) {
        return Some(Format::Json);
    }
    None
}

fn open_decoder(f: File, c: Compression) -> Result<Box<dyn Read + Send>, String> {
    let r = io::BufReader::with_capacity(256 << 10, f);
    Ok(match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Compression::Zstd => Box::new(
            ruzstd::decoding::StreamingDecoder::new(r)
                .map_err(|e| format!("corrupt zstd data: {e}"))?,
        ),
    })
}

/// A unit of decoding work: whole records of one input.
pub enum Batch {
    /// Chunks `first..first + count` of an EVTX file.
    Evtx {
        input: u32,
        source: EvtxSource,
        first: u64,
        count: u64,
    },
    Json {
        input: u32,
        text: Vec<u8>,
        pieces: Vec<Piece>,
    },
}

impl Batch {
    pub fn input(&self) -> u32 {
        match self {
            Batch::Evtx { input, .. } | Batch::Json { input, .. } => *input,
        }
    }

    /// Approximate size in bytes, for progress reporting.
    pub fn bytes(&self) -> usize {
        match self {
            Batch::Evtx { count, .. } => *count as usize * 65536,
            Batch::Json { text, .. } => text.len(),
        }
    }
}

/// A problem inside an input that did not stop the rest of it from being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub input: u32,
    /// Where: `chunk 3`, `record 1234`, `line 17`.
    pub place: String,
    pub reason: String,
}

/// Target size of a JSON batch.
const JSON_BATCH_BYTES: usize = 512 << 10;
/// Largest single JSON event accepted.
pub const MAX_JSON_EVENT: usize = 16 << 20;

/// Reads one input, handing batches to `emit` (which returns false to stop early) and
/// problems to `problem`. An `Err` means the input could not be read at all.
pub fn read(
    input: &Input,
    id: u32,
    emit: &mut dyn FnMut(Batch) -> bool,
    problem: &mut dyn FnMut(Problem),
) -> Result<(), String> {
    let f = File::open(&input.path).map_err(|e| io_reason(&e))?;
    match input.format {
        Format::Evtx => {
            let source = if input.compression == Compression::None {
                EvtxSource::File(Arc::new(f))
            } else {
                // EVTX needs random access: inflate into an unnamed temporary file first.
                let mut tmp = tempfile::tempfile().map_err(|e| format!("temporary file: {e}"))?;
                let mut dec = open_decoder(f, input.compression)?;
                io::copy(&mut dec, &mut tmp)
                    .map_err(|e| format!("corrupt compressed data: {e}"))?;
                EvtxSource::File(Arc::new(tmp))
            };
            read_evtx_source(source, id, emit)
        }
        Format::Json => read_json(open_decoder(f, input.compression)?, id, emit, problem),
    }
}

/// Reads EVTX held in memory, like [`read`] (for tests and fuzzing).
pub fn read_evtx_bytes(
    bytes: Vec<u8>,
    id: u32,
    emit: &mut dyn FnMut(Batch) -> bool,
) -> Result<(), String> {
    read_evtx_source(EvtxSource::Memory(Arc::new(bytes)), id, emit)
}

fn read_evtx_source(
    source: EvtxSource,
    id: u32,
    emit: &mut dyn FnMut(Batch) -> bool,
) -> Result<(), String> {
    for (first, count) in crate::evtx::plan(&source)? {
        let batch = Batch::Evtx {
            input: id,
            source: source.clone(),
            first,
            count,
        };
        if !emit(batch) {
            break;
        }
    }
    Ok(())
}

fn read_json(
    mut r: Box<dyn Read + Send>,
    id: u32,
    emit: &mut dyn FnMut(Batch) -> bool,
    problem: &mut dyn FnMut(Problem),
) -> Result<(), String> {
    let mut splitter = Splitter::default();
    let mut buf: Vec<u8> = Vec::with_capacity(JSON_BATCH_BYTES * 2);
    let mut eof = false;
    while !eof {
        // Fill the buffer up to the batch size.
        let target = buf.len().max(JSON_BATCH_BYTES) + JSON_BATCH_BYTES;
        while buf.len() < target {
            let old = buf.len();
            buf.resize(target, 0);
            match r.read(&mut buf[old..]) {
                Ok(0) => {
                    buf.truncate(old);
                    eof = true;
                    break;
                }
                Ok(n) => buf.truncate(old + n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(old),
                Err(e) => {
                    buf.truncate(old);
                    problem(Problem {
                        input: id,
                        place: "read".into(),
                        reason: format!("stopped reading: {e}"),
                    });
                    eof = true;
                    break;
                }
            }
        }
        let mut pieces = Vec::new();
        let consumed = splitter.split(&buf, eof, &mut pieces);
        if consumed == 0 && !eof {
            if buf.len() > MAX_JSON_EVENT {
                // One event larger than the limit: report it and skip to the next line.
                let skip = memchr::memchr(b'\n', &buf[1..]).map_or(buf.len(), |k| k + 2);
                problem(Problem {
                    input: id,
                    place: format!("line {}", splitter.line()),
                    reason: format!("event larger than {MAX_JSON_EVENT} bytes, skipped"),
                });
                splitter.advance(&buf[..skip]);
                buf.drain(..skip);
            }
            continue;
        }
        let rest = buf[consumed..].to_vec();
        buf.truncate(consumed);
        let text = std::mem::replace(&mut buf, rest);
        if !pieces.is_empty()
            && !emit(Batch::Json {
                input: id,
                text,
                pieces,
            })
        {
            return Ok(());
        }
    }
    Ok(())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An error with its causes, on one line: `outer: inner: root cause`.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = one_line(&e.to_string());
    let mut cur = e.source();
    while let Some(c) = cur {
        let msg = one_line(&c.to_string());
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = c.source();
    }
    out
}

/// Decodes batches into events on a worker thread, reusing its buffers.
#[derive(Default)]
pub struct Decoder {
    ev: Event,
    scratch: json::Scratch,
}

impl Decoder {
    /// Record each value's full dotted path too (when rules name fields by path).
    pub fn keep_paths(&mut self, keep: bool) {
        self.scratch.keep_paths = keep;
    }

    /// Calls `on_event` for every record of the batch, in order, and `on_problem` for every
    /// record that cannot be decoded.
    pub fn decode(
        &mut self,
        batch: &mut Batch,
        on_event: &mut dyn FnMut(&Event),
        on_problem: &mut dyn FnMut(Problem),
    ) {
        self.decode_gated(
            batch,
            None,
            &mut |_, _| Gate::All,
            &mut |ev, _| on_event(ev),
            on_problem,
        )
    }

    /// Like [`Decoder::decode`], resolving field names and gating EVTX-shaped events after
    /// their System section (see [`crate::json::flatten_gated`]). `on_event` also gets the
    /// record's JSON text, to parse it again in full when it matters.
    pub fn decode_gated(
        &mut self,
        batch: &mut Batch,
        resolver: Option<&dyn Resolver>,
        gate: &mut dyn FnMut(&Event, &[u8]) -> Gate,
        on_event: &mut dyn FnMut(&Event, &[u8]),
        on_problem: &mut dyn FnMut(Problem),
    ) {
        match batch {
            Batch::Evtx {
                input,
                source,
                first,
                count,
            } => crate::evtx::decode(
                source,
                *input,
                (*first, *count),
                &mut self.ev,
                &mut self.scratch,
                &mut crate::evtx::Hooks {
                    resolver,
                    gate,
                    on_event,
                    on_problem,
                },
            ),
            Batch::Json {
                input,
                text,
                pieces,
            } => {
                for p in pieces.iter() {
                    self.ev.clear();
                    let bytes = &text[p.start..p.end];
                    if let Err(e) =
                        json::flatten_gated(bytes, &mut self.ev, &mut self.scratch, resolver, gate)
                    {
                        let line = p.line
                            + memchr::memchr_iter(b'\n', &bytes[..e.offset.min(bytes.len())])
                                .count() as u64;
                        on_problem(Problem {
                            input: *input,
                            place: format!("line {line}"),
                            reason: format!("malformed JSON: {}", e.message),
                        });
                        continue;
                    }
                    self.ev.line = p.line;
                    self.ev.timestamp = self.ev.find_timestamp();
                    self.ev.record_id = None;
                    on_event(&self.ev, bytes);
                }
            }
        }
    }
}
