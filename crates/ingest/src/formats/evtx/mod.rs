//! Windows event log files (EVTX), through the `evtx` crate.
//!
//! An EVTX file is a 4 KiB header followed by self-contained 64 KiB chunks. A work unit is a
//! range of chunks: the worker presents "header + those chunks" to the `evtx` crate as a small
//! virtual file, which yields its chunks in record order, so one big file keeps every core
//! busy. Before that, the file's structure is checked against what its header
//! and chunk headers promise: a truncated file, a zeroed chunk or a range of missing records is
//! reported, since an intruder who wipes the chunk holding their events must not go unnoticed
//! (the `evtx` crate skips an all-zero chunk silently, as free space).
//!
//! Records are read from their template substitutions where they can be ([`fast`]), so most
//! are never rendered as text; the rest are rendered as JSON by the crate and read back.

use super::{
    DecodeError, Fit, Format, Head, Hooks, Layout, RecordCx, Stamp, finish_event, windows,
};
use crate::error::{ReadError, chain};
use crate::unit::{Blocks, Unit};
use dwell_core::{Entities, Event, Problem, Record};
use evtx::err::EvtxError;
use evtx::{EvtxChunk, EvtxChunkHeader, EvtxFileHeader, ParserSettings};
use std::io;
use std::sync::Arc;

mod fast;
mod template;

const MAGIC: &[u8] = b"ElfFile\0";
const CHUNK_MAGIC: &[u8] = b"ElfChnk\0";
const HEADER: u64 = 4096;
const CHUNK: u64 = 65536;
/// Chunks per work unit (1 MiB of log).
pub const CHUNKS_PER_UNIT: u64 = 16;

/// The EVTX format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evtx {
    /// Every record through the crate's JSON rendering (see [`Evtx::through_json`]).
    json: bool,
}

impl Evtx {
    /// Reads every record through the `evtx` crate's JSON rendering, never the direct path:
    /// what the direct path is checked against. `DWELL_EVTX_DECODER=json` does the same for a
    /// whole run.
    pub fn through_json() -> Evtx {
        Evtx { json: true }
    }
}

impl Format for Evtx {
    fn name(&self) -> &'static str {
        "evtx"
    }

    fn describe(&self) -> &'static str {
        "Windows event logs (EVTX)"
    }

    fn recognise(&self, head: &Head<'_>) -> Option<Fit> {
        head.bytes.starts_with(MAGIC).then_some(Fit::Signature)
    }

    fn layout(&self) -> Layout {
        Layout::Blocks
    }

    fn plan(
        &self,
        data: &Blocks,
        problem: &mut dyn FnMut(String, String),
    ) -> Result<Vec<Unit>, ReadError> {
        let survey = survey(data)?;
        survey.report(problem);
        let mut out = Vec::new();
        let mut first = 0;
        while first < survey.whole {
            let count = CHUNKS_PER_UNIT.min(survey.whole - first);
            out.push(Unit::Blocks {
                data: data.clone(),
                first,
                count,
                bytes: count * CHUNK,
            });
            first += count;
        }
        Ok(out)
    }

    fn decode_record(
        &self,
        raw: &[u8],
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
    ) -> Result<(), DecodeError> {
        windows::decode_json(raw, ev, cx)
    }

    /// Records the direct path read come with their chunk, cut after them: read the last
    /// record of it again; others are JSON renderings.
    fn redecode(
        &self,
        raw: &[u8],
        full: &mut Event,
        cx: &mut RecordCx<'_>,
    ) -> Result<(), DecodeError> {
        if !raw.starts_with(CHUNK_MAGIC) {
            return self.decode_record(raw, full, cx);
        }
        if FULL.with_borrow_mut(|c| c.redecode(raw, full, cx)) {
            Ok(())
        } else {
            Err(DecodeError {
                offset: 0,
                message: "the record could not be read again".into(),
            })
        }
    }

    fn decode(
        &self,
        unit: &Unit,
        input: u32,
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
        hooks: &mut Hooks<'_>,
    ) {
        let Unit::Blocks {
            data, first, count, ..
        } = unit
        else {
            return;
        };
        decode_chunks(self, data, input, (*first, *count), ev, cx, hooks);
    }

    fn timestamp(&self, ev: &Event) -> Stamp {
        windows::timestamp(ev, &[])
    }

    fn mapping(&self) -> &'static str {
        windows::MAPPING
    }

    fn entities(&self, record: &Record, host: &str, out: &mut Entities) {
        windows::entities(record, host, out);
    }
}

/// One chunk slot of the file, as its header describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// A chunk holding records `first..=last` (by record id).
    Records { first: u64, last: u64 },
    /// All zero bytes: free space, or wiped.
    Zeroed,
    /// Something that is not a chunk.
    Damaged,
}

/// What the file holds against what its header says.
struct Survey {
    len: u64,
    whole: u64,
    tail: u64,
    promised_chunks: u64,
    next_record: u64,
    slots: Vec<Slot>,
}

fn read_exact_at(data: &Blocks, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
    let n = data.read_at(buf, offset)?;
    if n < buf.len() {
        return Err(ReadError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "file ended while reading it",
        )));
    }
    Ok(())
}

fn survey(data: &Blocks) -> Result<Survey, ReadError> {
    let len = data.len()?;
    if len < HEADER {
        return Err(ReadError::Invalid(
            "not a valid EVTX file: shorter than its 4096-byte header".into(),
        ));
    }
    let mut head = vec![0u8; HEADER as usize];
    read_exact_at(data, &mut head, 0)?;
    let header = EvtxFileHeader::from_stream(&mut io::Cursor::new(head))
        .map_err(|e| ReadError::Invalid(format!("not a valid EVTX file: {}", chain(&e))))?;
    let whole = (len - HEADER) / CHUNK;
    let mut slots = Vec::with_capacity(whole as usize);
    let mut head = [0u8; 40];
    let mut chunk = Vec::new();
    for i in 0..whole {
        let at = HEADER + i * CHUNK;
        read_exact_at(data, &mut head, at)?;
        let u64_at = |o: usize| u64::from_le_bytes(head[o..o + 8].try_into().unwrap_or([0; 8]));
        let slot = if head.starts_with(CHUNK_MAGIC) {
            Slot::Records {
                first: u64_at(24),
                last: u64_at(32),
            }
        } else if head.iter().all(|b| *b == 0) {
            chunk.resize(CHUNK as usize, 0);
            read_exact_at(data, &mut chunk, at)?;
            if all_zero(&chunk) {
                Slot::Zeroed
            } else {
                Slot::Damaged
            }
        } else {
            Slot::Damaged
        };
        slots.push(slot);
    }
    Ok(Survey {
        len,
        whole,
        tail: (len - HEADER) % CHUNK,
        promised_chunks: header.chunk_count as u64,
        next_record: header.next_record_id,
        slots,
    })
}

/// True when every byte is zero. Logs are preallocated with empty chunks, so this runs on many
/// 64 KiB chunks: OR-folding blocks lets the compiler use vector instructions, where a
/// byte-by-byte `all` stops to test every byte.
fn all_zero(b: &[u8]) -> bool {
    b.chunks(4096)
        .all(|block| block.iter().fold(0u8, |acc, &x| acc | x) == 0)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Survey {
    /// Reports every way the file holds less than it says: a cut chunk, chunks the header
    /// counts that are not there or are zeroed, records missing between chunks or at the end.
    fn report(&self, problem: &mut dyn FnMut(String, String)) {
        self.report_truncation(problem);
        let mut held: Vec<(u64, u64, usize)> = Vec::new();
        for (i, s) in self.slots.iter().enumerate() {
            if let Slot::Records { first, last } = *s
                && first <= last
            {
                held.push((first, last, i));
            }
        }
        held.sort_unstable();
        let explained = self.report_gaps(&held, problem);
        self.report_zeroed(&explained, problem);
        if let Some(&(_, newest, _)) = held.iter().max_by_key(|h| h.1)
            && self.next_record > newest.saturating_add(1)
        {
            let (from, to) = (newest + 1, self.next_record - 1);
            problem(
                "end of file".into(),
                format!(
                    "{} the file header counts after the newest chunk's are missing (records {from} to {to})",
                    plural(to - from + 1, "record", "records")
                ),
            );
        }
    }

    /// A file shorter than its chunks, or than its header says.
    fn report_truncation(&self, problem: &mut dyn FnMut(String, String)) {
        if self.tail > 0 || self.promised_chunks > self.whole {
            let mut why = String::from("the file is truncated: ");
            if self.tail > 0 {
                why.push_str(&format!(
                    "it ends {} bytes into chunk {} (a chunk is 65536 bytes), whose records are not read",
                    self.tail, self.whole
                ));
            }
            if self.promised_chunks > self.whole {
                if self.tail > 0 {
                    why.push_str("; ");
                }
                why.push_str(&format!(
                    "its header counts {} and the file holds {} whole",
                    plural(self.promised_chunks, "chunk", "chunks"),
                    self.whole
                ));
            }
            problem(format!("byte {}", self.len), why);
        }
    }

    /// Jumps in the record numbers between chunks `held` (first, last, chunk), sorted by
    /// record number: each one that wiped or damaged chunks explain is said with its cause;
    /// the rest are said together, once. Returns which chunks explained a gap.
    fn report_gaps(
        &self,
        held: &[(u64, u64, usize)],
        problem: &mut dyn FnMut(String, String),
    ) -> Vec<bool> {
        let mut explained = vec![false; self.slots.len()];
        // Gaps no wiped or damaged chunk explains (chunks written at different times, as in a
        // shadow copy of a log being overwritten) are told together, once.
        let mut unexplained: Vec<String> = Vec::new();
        let mut unexplained_records = 0u64;
        for w in held.windows(2) {
            let (_, a_last, a) = w[0];
            let (b_first, _, b) = w[1];
            if b_first <= a_last.saturating_add(1) {
                continue;
            }
            // The chunks between the two in file order (not across a wrap-around) that hold
            // no records are where the missing ones were.
            let between: Vec<usize> = if a < b {
                (a + 1..b)
                    .filter(|&k| !matches!(self.slots[k], Slot::Records { .. }))
                    .collect()
            } else {
                Vec::new()
            };
            let (from, to) = (a_last + 1, b_first - 1);
            let missing = to - from + 1;
            if between.is_empty() {
                unexplained_records += missing;
                unexplained.push(format!(
                    "between chunk {a} and chunk {b} (records {from} to {to})"
                ));
                continue;
            }
            let place = match between.as_slice() {
                [k] => format!("chunk {k}"),
                ks => format!("chunks {}-{}", ks[0], ks[ks.len() - 1]),
            };
            let cause = between
                .iter()
                .map(|&k| {
                    explained[k] = true;
                    match self.slots[k] {
                        Slot::Zeroed => format!("chunk {k} is zeroed"),
                        _ => format!("chunk {k} is damaged"),
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            problem(
                place,
                format!(
                    "{cause}: {} between chunk {a} and chunk {b} are missing (records {from} to {to})",
                    plural(missing, "record", "records")
                ),
            );
        }
        if !unexplained.is_empty() {
            let n = unexplained.len();
            let shown: Vec<String> = unexplained.into_iter().take(3).collect();
            problem(
                "chunk record numbers".into(),
                format!(
                    "{} are missing: the chunks' record numbers jump in {} ({}{})",
                    plural(unexplained_records, "record", "records"),
                    plural(n as u64, "place", "places"),
                    shown.join("; "),
                    if n > 3 { "; ..." } else { "" }
                ),
            );
        }
        explained
    }

    /// Zeroed chunks the header counts as in use, that no gap already named.
    fn report_zeroed(&self, explained: &[bool], problem: &mut dyn FnMut(String, String)) {
        for (k, s) in self.slots.iter().enumerate() {
            if *s == Slot::Zeroed && !explained[k] && (k as u64) < self.promised_chunks {
                problem(
                    format!("chunk {k}"),
                    format!(
                        "chunk {k} is zeroed, though the file header counts it as in use: its records are gone"
                    ),
                );
            }
        }
    }
}

fn settings() -> ParserSettings {
    ParserSettings::new()
        .num_threads(1)
        .separate_json_attributes(false)
        .indent(false)
}

/// `DWELL_EVTX_DECODER=json` reads every record through the `evtx` crate's JSON rendering
/// instead of the direct path: for comparing the two, and as a way around a defect in either.
fn json_only() -> bool {
    static JSON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *JSON.get_or_init(|| std::env::var("DWELL_EVTX_DECODER").is_ok_and(|v| v == "json"))
}

thread_local! {
    /// Each decoding thread's buffers for the direct path.
    static CACHE: std::cell::RefCell<fast::Cache> = Default::default();
    /// And for reading a record again in full (`Format::redecode`), which happens while the
    /// first is in use.
    static FULL: std::cell::RefCell<fast::Cache> = Default::default();
}

/// Reads chunks `first..first + count` and hands each record to the hooks: through the direct
/// path where it fits ([`fast`]), else through the `evtx` crate's JSON rendering.
fn decode_chunks(
    format: &Evtx,
    data: &Blocks,
    input: u32,
    (first, count): (u64, u64),
    ev: &mut Event,
    cx: &mut RecordCx<'_>,
    hooks: &mut Hooks<'_>,
) {
    let shared = Arc::new(settings());
    let direct = !format.json && !json_only();
    // One chunk buffer per thread, reused: a fresh 64 KiB for every chunk costs the kernel a
    // page fault and a zeroed page for each 4 KiB of it.
    let mut buf = CACHE.with_borrow_mut(|c| std::mem::take(&mut c.chunk));
    buf.resize(CHUNK as usize, 0);
    let problem = |place: String, reason: String, hooks: &mut Hooks<'_>| {
        (hooks.on_problem)(Problem {
            input,
            place,
            reason,
        })
    };
    for k in record_order(data, first, count) {
        let number = first + k;
        if let Err(e) = read_exact_at(data, &mut buf, HEADER + number * CHUNK) {
            problem(format!("chunk {number}"), chain(&e), hooks);
            continue;
        }
        // Free space, or wiped: the survey has said which.
        if all_zero(&buf) {
            continue;
        }
        let header = match EvtxChunkHeader::from_bytes(&buf) {
            Ok(h) => h,
            Err(_) => {
                // The crate's own words for it, as its parser reports a chunk.
                let why = evtx::EvtxChunkData::new(buf.clone(), false)
                    .err()
                    .map_or_else(|| "not a chunk".to_string(), |e| chain(&e));
                problem(
                    format!("chunk {number}"),
                    format!("damaged chunk: {why}"),
                    hooks,
                );
                continue;
            }
        };
        let mut parsed = match EvtxChunk::new(&buf, &header, Arc::clone(&shared)) {
            Ok(p) => p,
            Err(e) => {
                problem(
                    format!("chunk {number}"),
                    format!("damaged chunk: {}", chain(&e)),
                    hooks,
                );
                continue;
            }
        };
        let at = (first, number);
        let bytes = parsed.data;
        if !direct {
            json_records(format, &mut parsed, at, input, ev, cx, hooks);
            continue;
        }
        let whole = CACHE.with_borrow_mut(|c| c.begin(bytes));
        let recs = CACHE.with_borrow_mut(|c| c.records());
        if recs.is_empty() && !whole {
            json_records(format, &mut parsed, at, input, ev, cx, hooks);
        } else if CACHE.with_borrow_mut(|c| c.plan(bytes, &recs, cx)) && whole {
            for (i, &rec) in recs.iter().enumerate() {
                CACHE.with_borrow_mut(|c| c.decode(format, bytes, (i, rec), input, ev, cx, hooks));
            }
        } else {
            // The crate renders the records that do not fit, from its own pass over the chunk
            // (which builds the records before each on its way: a copy of the chunk without
            // their headers would be cheaper, but a crafted definition may lie across a
            // header, and then the copy would not read as the file does).
            let mut it = parsed.iter().peekable();
            for (i, &rec) in recs.iter().enumerate() {
                let done = CACHE
                    .with_borrow_mut(|c| c.decode(format, bytes, (i, rec), input, ev, cx, hooks));
                if !done {
                    json_record(format, &mut it, rec, at, input, ev, cx, hooks);
                }
            }
            if !whole {
                json_rest(format, &mut it, &recs, at, input, ev, cx, hooks);
            }
        }
        CACHE.with_borrow_mut(|c| c.give_back(recs));
    }
    CACHE.with_borrow_mut(|c| c.chunk = buf);
}

/// The chunks `0..count` of the range starting at chunk `first`, in the order the `evtx`
/// crate reads them: from the one holding the oldest records to the end, then from the start,
/// as Windows reads a log that has wrapped around.
fn record_order(data: &Blocks, first: u64, count: u64) -> impl Iterator<Item = u64> {
    let mut oldest = (u64::MAX, 0);
    let mut head = [0u8; 512];
    for k in 0..count {
        if read_exact_at(data, &mut head, HEADER + (first + k) * CHUNK).is_err() {
            break;
        }
        if let Ok(h) = EvtxChunkHeader::from_bytes(&head)
            && h.first_event_record_id <= h.last_event_record_id
            && h.first_event_record_id < oldest.0
        {
            oldest = (h.first_event_record_id, k);
        }
    }
    (oldest.1..count).chain(0..oldest.1)
}

/// Renders record `rec` with the crate's iterator `it` (which yields the chunk's records in
/// order, so the ones before it that the direct path read are passed over) and reads it back.
#[allow(clippy::too_many_arguments)]
fn json_record(
    format: &Evtx,
    it: &mut std::iter::Peekable<evtx::IterChunkRecords<'_>>,
    rec: fast::Rec,
    at: (u64, u64),
    input: u32,
    ev: &mut Event,
    cx: &mut RecordCx<'_>,
    hooks: &mut Hooks<'_>,
) {
    let lost = |why: &str, hooks: &mut Hooks<'_>| {
        (hooks.on_problem)(Problem {
            input,
            place: format!("record {}", rec.id),
            reason: format!("damaged record: {why}"),
        })
    };
    loop {
        let offset = match it.peek() {
            None => return lost("the crate's reader did not reach it", hooks),
            Some(Ok(r)) => r.binxml_offset as usize,
            Some(Err(_)) => 0,
        };
        // A record after this one is for a later call: this one was passed over.
        if offset > rec.start {
            return lost("the crate's reader passed over it", hooks);
        }
        match it.next() {
            Some(Ok(r)) if offset == rec.start => {
                json_one(format, r, at, input, ev, cx, hooks);
                return;
            }
            // Errors about records the direct path read whole are not this record's.
            Some(Err(e @ EvtxError::FailedToParseRecord { record_id, .. }))
                if record_id == rec.id =>
            {
                crate_problem(hooks, input, &e, at);
                return;
            }
            _ => continue,
        }
    }
}

/// The records of a chunk after those its walk read (`read`, before a frame that did not
/// check out), and the crate's errors about them, from the crate's iterator `it`.
#[allow(clippy::too_many_arguments)]
fn json_rest(
    format: &Evtx,
    it: &mut std::iter::Peekable<evtx::IterChunkRecords<'_>>,
    read: &[fast::Rec],
    at: (u64, u64),
    input: u32,
    ev: &mut Event,
    cx: &mut RecordCx<'_>,
    hooks: &mut Hooks<'_>,
) {
    let last = read.last().map_or(0, |r| r.start);
    for record in it {
        match record {
            // Read already, by either path.
            Ok(r) if (r.binxml_offset as usize) <= last => {}
            Ok(r) => json_one(format, r, at, input, ev, cx, hooks),
            // Errors about records the direct path read whole are not the rest's.
            Err(EvtxError::FailedToParseRecord { record_id, .. })
                if read.iter().any(|r| r.id == record_id) => {}
            Err(e) => crate_problem(hooks, input, &e, at),
        }
    }
}

/// Every record of the chunk, rendered as JSON by the `evtx` crate and read back.
fn json_records(
    format: &Evtx,
    chunk: &mut evtx::EvtxChunk<'_>,
    at: (u64, u64),
    input: u32,
    ev: &mut Event,
    cx: &mut RecordCx<'_>,
    hooks: &mut Hooks<'_>,
) {
    for record in chunk.iter() {
        match record {
            Ok(r) => json_one(format, r, at, input, ev, cx, hooks),
            Err(e) => {
                crate_problem(hooks, input, &e, at);
            }
        }
    }
}

/// One record rendered as JSON by the crate and read back.
fn json_one(
    format: &Evtx,
    record: evtx::EvtxRecord<'_>,
    at: (u64, u64),
    input: u32,
    ev: &mut Event,
    cx: &mut RecordCx<'_>,
    hooks: &mut Hooks<'_>,
) {
    let id = record.event_record_id;
    let json = match record.into_json_bytes() {
        Ok(j) => j,
        Err(e) => {
            crate_problem(hooks, input, &e, at);
            return;
        }
    };
    let bytes = &json.data[..];
    ev.clear();
    if let Err(e) = format.decode_record(bytes, ev, cx) {
        (hooks.on_problem)(Problem {
            input,
            place: format!("record {id}"),
            reason: format!("unreadable record rendering: {e}"),
        });
        return;
    }
    ev.record_id = Some(id);
    finish_event(format, ev, input, || format!("record {id}"), hooks);
    (hooks.on_event)(ev, bytes);
}

/// Reports an error of the crate's at the place [`describe`] names.
fn crate_problem(hooks: &mut Hooks<'_>, input: u32, e: &EvtxError, at: (u64, u64)) {
    let (place, reason) = describe(e, at);
    (hooks.on_problem)(Problem {
        input,
        place,
        reason,
    });
}

/// Names a rendering failure with file-level chunk numbers: `at` is the first chunk of the
/// range and the chunk being read (the crate counts from the start of the range, or not at
/// all for a chunk it did not read itself).
fn describe(e: &EvtxError, (first, number): (u64, u64)) -> (String, String) {
    let inner = |s: Option<&(dyn std::error::Error + 'static)>| s.map(chain).unwrap_or_default();
    use std::error::Error;
    match e {
        EvtxError::FailedToParseChunk { chunk_id, .. } => (
            format!("chunk {}", first + chunk_id),
            format!("damaged chunk: {}", inner(e.source())),
        ),
        EvtxError::FailedToReadRecordAt { chunk, offset, .. } => (
            format!(
                "chunk {}, offset {offset:#x}",
                chunk.map_or(number, |c| first + c)
            ),
            format!("damaged record: {}", inner(e.source())),
        ),
        EvtxError::FailedToParseRecord { record_id, .. } => (
            format!("record {record_id}"),
            format!("damaged record: {}", inner(e.source())),
        ),
        other => (format!("chunks {first}-"), chain(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn survey_of(slots: Vec<Slot>, tail: u64, promised: u64, next: u64) -> Vec<(String, String)> {
        let s = Survey {
            len: HEADER + slots.len() as u64 * CHUNK + tail,
            whole: slots.len() as u64,
            tail,
            promised_chunks: promised,
            next_record: next,
            slots,
        };
        let mut out = Vec::new();
        s.report(&mut |p, r| out.push((p, r)));
        out
    }

    const fn held(first: u64, last: u64) -> Slot {
        Slot::Records { first, last }
    }

    #[test]
    fn zeroed_means_every_byte() {
        let mut chunk = vec![0u8; CHUNK as usize];
        assert!(all_zero(&chunk));
        for at in [0, 4095, 4096, 30_000, CHUNK as usize - 1] {
            chunk[at] = 1;
            assert!(!all_zero(&chunk), "byte {at}");
            chunk[at] = 0;
        }
        assert!(all_zero(&[]));
    }

    #[test]
    fn a_whole_file_reports_nothing() {
        let ok = survey_of(vec![held(1, 100), held(101, 200), Slot::Zeroed], 0, 2, 201);
        assert!(ok.is_empty(), "{ok:?}");
        // A log that wrapped around: the oldest chunk is in the middle.
        let wrapped = survey_of(
            vec![held(301, 400), held(101, 200), held(201, 300)],
            0,
            3,
            401,
        );
        assert!(wrapped.is_empty(), "{wrapped:?}");
    }

    #[test]
    fn a_zeroed_chunk_and_its_records_are_reported() {
        let got = survey_of(
            vec![held(1, 139), held(140, 200), Slot::Zeroed, held(284, 300)],
            0,
            4,
            301,
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "chunk 2");
        assert!(
            got[0].1.contains("chunk 2 is zeroed: 83 records"),
            "{}",
            got[0].1
        );
        assert!(got[0].1.contains("records 201 to 283"));
        // The newest chunk wiped: the header still counts it and its records.
        let got = survey_of(vec![held(1, 100), Slot::Zeroed], 0, 2, 150);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].1.contains("chunk 1 is zeroed"));
        assert!(got[1].1.contains("49 records"));
    }

    #[test]
    fn truncation_is_reported() {
        let got = survey_of(vec![held(1, 100)], 368, 3, 300);
        assert!(got[0].1.contains("ends 368 bytes into chunk 1"), "{got:?}");
        assert!(got[0].1.contains("header counts 3 chunks"));
        assert!(got[1].1.contains("199 records"));
    }
}
