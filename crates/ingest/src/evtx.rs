//! EVTX inputs, cut into chunk ranges that workers render independently.
//!
//! An EVTX file is a 4 KiB header followed by self-contained 64 KiB chunks. A work unit is a
//! range of chunks; the worker presents "header + those chunks" to the `evtx` crate as a small
//! virtual file and lets it render the whole range with its fastest renderer (whole chunks into
//! one buffer), so one big file keeps every core busy and no thread but the worker touches the
//! records.

use crate::event::{Event, Gate, Resolver};
use crate::input::Problem;
use crate::json::{self, Scratch};
use evtx::err::EvtxError;
use evtx::{EvtxFileHeader, EvtxParser, ParserSettings, RenderedChunkItem};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

const HEADER: u64 = 4096;
const CHUNK: u64 = 65536;
/// Chunks per work unit (1 MiB of log).
pub const CHUNKS_PER_UNIT: u64 = 16;

/// Where an EVTX file's bytes are: a file on disk (or an inflated temporary copy) or memory.
#[derive(Clone)]
pub enum EvtxSource {
    File(Arc<File>),
    Memory(Arc<Vec<u8>>),
}

impl EvtxSource {
    fn len(&self) -> io::Result<u64> {
        match self {
            EvtxSource::File(f) => Ok(f.metadata()?.len()),
            EvtxSource::Memory(v) => Ok(v.len() as u64),
        }
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        match self {
            EvtxSource::File(f) => read_at(f, buf, offset),
            EvtxSource::Memory(v) => {
                let start = (offset as usize).min(v.len());
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

/// Checks the file header and returns the chunk ranges to render.
pub fn plan(source: &EvtxSource) -> Result<Vec<(u64, u64)>, String> {
    let len = source.len().map_err(|e| e.to_string())?;
    let mut view = ChunkView::new(source.clone(), 0, 0);
    EvtxFileHeader::from_stream(&mut view)
        .map_err(|e| format!("not a valid EVTX file: {}", crate::input::chain(&e)))?;
    if len < HEADER {
        return Err("not a valid EVTX file: shorter than its 4096-byte header".into());
    }
    let chunks = (len - HEADER) / CHUNK;
    let mut out = Vec::new();
    let mut first = 0;
    while first < chunks {
        let count = CHUNKS_PER_UNIT.min(chunks - first);
        out.push((first, count));
        first += count;
    }
    Ok(out)
}

/// The file header followed by chunks `first..first + count`, as a seekable stream.
struct ChunkView {
    source: EvtxSource,
    first: u64,
    count: u64,
    pos: u64,
}

impl ChunkView {
    fn new(source: EvtxSource, first: u64, count: u64) -> Self {
        ChunkView {
            source,
            first,
            count,
            pos: 0,
        }
    }

    fn len(&self) -> u64 {
        HEADER + self.count * CHUNK
    }
}

impl Read for ChunkView {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let end = if self.count == 0 {
            // Before planning: the header alone.
            HEADER
        } else {
            self.len()
        };
        if self.pos >= end {
            return Ok(0);
        }
        let want = buf.len().min((end - self.pos) as usize);
        let offset = if self.pos < HEADER {
            // Never read across the header's end: the chunks are elsewhere in the file.
            self.pos
        } else {
            HEADER + self.first * CHUNK + (self.pos - HEADER)
        };
        let limit = if self.pos < HEADER {
            want.min((HEADER - self.pos) as usize)
        } else {
            want
        };
        let n = self.source.read_at(&mut buf[..limit], offset)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ChunkView {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => p as i128,
            SeekFrom::End(d) => self.len() as i128 + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if new < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before start",
            ));
        }
        self.pos = new as u64;
        Ok(self.pos)
    }
}

fn settings() -> ParserSettings {
    ParserSettings::new()
        .num_threads(1)
        .separate_json_attributes(false)
        .indent(false)
}

/// The callbacks a decoder reports to (see [`crate::input::Decoder::decode_gated`]).
pub struct Hooks<'a> {
    pub resolver: Option<&'a dyn Resolver>,
    pub gate: &'a mut dyn FnMut(&Event, &[u8]) -> Gate,
    pub on_event: &'a mut dyn FnMut(&Event, &[u8]),
    pub on_problem: &'a mut dyn FnMut(Problem),
}

/// Renders chunks `first..first + count` and hands each record to the hooks.
pub fn decode(
    source: &EvtxSource,
    input: u32,
    (first, count): (u64, u64),
    ev: &mut Event,
    scratch: &mut Scratch,
    hooks: &mut Hooks<'_>,
) {
    let Hooks {
        resolver,
        gate,
        on_event,
        on_problem,
    } = hooks;
    let resolver = *resolver;
    let view = ChunkView::new(source.clone(), first, count);
    let parser = match EvtxParser::from_read_seek(view) {
        Ok(p) => p,
        Err(e) => {
            on_problem(Problem {
                input,
                place: format!("chunks {first}-{}", first + count - 1),
                reason: crate::input::chain(&e),
            });
            return;
        }
    };
    let mut parser = parser.with_configuration(settings());
    // The crate's chunk renderer (the one `evtx_dump` uses) writes a whole chunk's records into
    // one buffer; it is public but hidden, so the `evtx` version is pinned in Cargo.toml.
    for chunk in parser.chunks_json_bytes(false) {
        let mut start = 0;
        for item in &chunk.items {
            match item {
                RenderedChunkItem::Record {
                    event_record_id,
                    end,
                } => {
                    let bytes = &chunk.data[start..end - 1];
                    start = *end;
                    ev.clear();
                    if let Err(e) = json::flatten_gated(bytes, ev, scratch, resolver, gate) {
                        on_problem(Problem {
                            input,
                            place: format!("record {event_record_id}"),
                            reason: format!("unreadable record rendering: {e}"),
                        });
                        continue;
                    }
                    ev.record_id = Some(*event_record_id);
                    ev.timestamp = ev
                        .known(crate::event::Known::Time)
                        .and_then(crate::time::parse);
                    on_event(ev, bytes);
                }
                RenderedChunkItem::Failed(e) => {
                    let (place, reason) = describe(e, first);
                    on_problem(Problem {
                        input,
                        place,
                        reason,
                    });
                }
            }
        }
    }
}

/// Names a rendering failure with file-level chunk numbers (the crate counts from the start
/// of the view).
fn describe(e: &EvtxError, first: u64) -> (String, String) {
    let inner = |s: Option<&(dyn std::error::Error + 'static)>| {
        s.map(crate::input::chain).unwrap_or_default()
    };
    use std::error::Error;
    match e {
        EvtxError::FailedToParseChunk { chunk_id, .. } => (
            format!("chunk {}", first + chunk_id),
            format!("damaged chunk: {}", inner(e.source())),
        ),
        EvtxError::FailedToReadRecordAt {
            chunk: Some(c),
            offset,
            ..
        } => (
            format!("chunk {}, offset {offset:#x}", first + c),
            format!("damaged record: {}", inner(e.source())),
        ),
        EvtxError::FailedToParseRecord { record_id, .. } => (
            format!("record {record_id}"),
            format!("damaged record: {}", inner(e.source())),
        ),
        other => (format!("chunks {first}-"), crate::input::chain(other)),
    }
}
