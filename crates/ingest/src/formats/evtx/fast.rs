//! The direct path: a chunk's records read from their template substitutions, typed, into
//! events, with no text rendered and none parsed back. Records walk as the `evtx` crate walks
//! them; one is read here when it is a template instance whose definition [`super::template`]
//! compiled, with values of the types written here as the crate writes them in JSON. The others
//! are left to the crate's JSON rendering, record by record (see `decode_chunks`).

use super::template::{self, Attr, Name, Op, Program, Root, Use};
use crate::formats::{Format, Hooks, RecordCx, finish_event};
use dwell_core::{Event, Field, Gate, Kind, Span};
use std::collections::HashMap;
use std::rc::Rc;

/// Little-endian reads that say `None` past the end instead of panicking.
pub(super) trait Bytes {
    fn u16_at(&self, at: usize) -> Option<u16>;
    fn u32_at(&self, at: usize) -> Option<u32>;
    fn u64_at(&self, at: usize) -> Option<u64>;
}

impl Bytes for [u8] {
    #[inline]
    fn u16_at(&self, at: usize) -> Option<u16> {
        let b = self.get(at..at.checked_add(2)?)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
    #[inline]
    fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }
    #[inline]
    fn u64_at(&self, at: usize) -> Option<u64> {
        let b = self.get(at..at.checked_add(8)?)?;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    }
}

const CHUNK_HEADER: usize = 512;
const RECORD_HEADER: usize = 24;

/// Where a record's BinXML is in its chunk.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rec {
    pub id: u64,
    pub start: usize,
    pub end: usize,
}

/// The chunk's live records, walked as the `evtx` crate walks them: from the chunk header to
/// the free space, or to the record the header names as the last, into `out`. False when a
/// record's frame does not check out: `out` holds the records before it, and the crate walks
/// the rest of the chunk, to report it as it always has.
pub(super) fn walk(chunk: &[u8], out: &mut Vec<Rec>) -> bool {
    out.clear();
    let (Some(last), Some(free)) = (chunk.u64_at(32), chunk.u32_at(48)) else {
        return false;
    };
    let live_end = (free as usize).min(chunk.len());
    let mut at = CHUNK_HEADER;
    while at < live_end {
        if chunk.get(at..at + 4) != Some(b"**\0\0") {
            return false;
        }
        let (Some(size), Some(id)) = (chunk.u32_at(at + 4), chunk.u64_at(at + 8)) else {
            return false;
        };
        let size = size as usize;
        let Some(end) = at.checked_add(size) else {
            return false;
        };
        if size < RECORD_HEADER + 4 || end > live_end || chunk.u32_at(end - 4) != Some(size as u32)
        {
            return false;
        }
        out.push(Rec {
            id,
            start: at + RECORD_HEADER,
            end: end - 4,
        });
        if id == last {
            break;
        }
        at = end;
    }
    true
}

/// A substitution value: its type and where its bytes are in the chunk.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    ty: u8,
    start: u32,
    len: u32,
}

mod ty {
    pub const NULL: u8 = 0x00;
    pub const STRING: u8 = 0x01;
    pub const ANSI: u8 = 0x02;
    pub const INT8: u8 = 0x03;
    pub const UINT64: u8 = 0x0a;
    pub const BOOL: u8 = 0x0d;
    pub const BINARY: u8 = 0x0e;
    pub const GUID: u8 = 0x0f;
    pub const SIZE_T: u8 = 0x10;
    pub const FILETIME: u8 = 0x11;
    pub const SID: u8 = 0x13;
    pub const HEX32: u8 = 0x14;
    pub const HEX64: u8 = 0x15;
    pub const BIN_XML: u8 = 0x21;
    pub const STRING_ARRAY: u8 = 0x81;
}

/// Whether this path renders values of type `t` sized `len` (others keep the JSON path).
fn supported(t: u8, len: usize) -> bool {
    match t {
        ty::NULL | ty::STRING | ty::ANSI | ty::BINARY | ty::SID => true,
        // NUL-terminated strings, at least one; where they may stand is checked by `fits`.
        ty::STRING_ARRAY => len >= 2 && len.is_multiple_of(2),
        ty::INT8..=ty::UINT64 => len == [1, 1, 2, 2, 4, 4, 8, 8][(t - ty::INT8) as usize],
        ty::BOOL | ty::HEX32 => len == 4,
        ty::GUID => len == 16,
        ty::SIZE_T => len == 4 || len == 8,
        ty::FILETIME | ty::HEX64 => len == 8,
        _ => false,
    }
}

/// A template instance in `chunk[start..end]` (a record's BinXML, or a BinXML value): its
/// definition's offset, with its values appended to `slots`. `None` unless it is exactly one
/// instance (an optional fragment header, the instance, EOF) whose values all have types this
/// path renders; BinXML values (nested instances) only where `nesting`.
fn instance(
    chunk: &[u8],
    start: usize,
    end: usize,
    nesting: bool,
    slots: &mut Vec<Slot>,
) -> Option<usize> {
    let b = chunk.get(start..end)?;
    let token = match b {
        [0x0f, _, _, _, 0x0c, _, ..] => start + 4,
        [0x0c, ..] => start,
        _ => return None,
    };
    // Token, a byte, the template id, then the definition's offset.
    let mut pos = token + 6;
    let def = chunk.u32_at(pos)? as usize;
    pos += 4;
    if def == pos {
        // The definition is stored here, the first time the chunk uses it: skip it.
        let size = chunk.u32_at(pos + 20)? as usize;
        pos = pos.checked_add(24 + size)?;
    }
    let n = chunk.u32_at(pos)? as usize;
    pos += 4;
    let values = pos.checked_add(n.checked_mul(4)?)?;
    if values > end {
        return None;
    }
    let mut at = values;
    for d in chunk[pos..values].chunks_exact(4) {
        let len = u16::from_le_bytes([d[0], d[1]]) as usize;
        let t = d[2];
        if !(supported(t, len) || nesting && t == ty::BIN_XML) {
            return None;
        }
        // ANSI text is read as ASCII only: other bytes depend on the code page.
        if t == ty::ANSI && !chunk.get(at..at + len)?.is_ascii() {
            return None;
        }
        slots.push(Slot {
            ty: t,
            start: at as u32,
            len: len as u32,
        });
        at += len;
    }
    // Nothing but EOF may follow the instance.
    if at > end || (at < end && chunk[at] != 0x00) {
        return None;
    }
    Some(def)
}

/// A record read for the direct path: its program, its values and its nested instances (as
/// ranges of the chunk's).
#[derive(Debug, Clone, Copy)]
struct Prepared {
    program: usize,
    values: (usize, usize),
    nests: (usize, usize),
    /// Only the System section fits: it is read for the gate, and when the gate wants more
    /// than that, the crate renders the record.
    head_only: bool,
}

/// A nested instance of a record: the substitution holding it, its program, its values.
#[derive(Debug, Clone, Copy)]
struct Nest {
    slot: u16,
    program: usize,
    values: (usize, usize),
}

/// A definition (by chunk offset and what it stands for), compiled or not.
type Compiled = ((usize, Root), Option<Rc<Program>>);

/// The largest plain BinXML value read directly (bytes).
const MAX_FRAGMENT: usize = 1024;

/// The most definitions kept compiled across chunks.
const MAX_KNOWN: usize = 4096;
/// The most bytes of fingerprints and shapes kept as their keys (a crafted file's definitions
/// and values can each be most of a chunk).
const MAX_KNOWN_BYTES: usize = 16 << 20;

/// The definitions compiled for one chunk (offsets are chunk-relative), and buffers reused
/// from chunk to chunk.
#[derive(Default)]
pub(crate) struct Cache {
    /// This chunk's definitions (by offset), compiled or not.
    programs: Vec<Compiled>,
    /// Definitions compiled in earlier chunks, by [`template::fingerprint`] (and root), for
    /// the resolver `owner` (their symbols are its).
    known: HashMap<Vec<u8>, Option<Rc<Program>>>,
    owner: Option<u64>,
    /// Programs of plain BinXML values, by [`template::shape_print`] (and root), for the
    /// resolver `shapes_owner`.
    shapes: HashMap<Vec<u8>, Option<Rc<Program>>>,
    shapes_owner: Option<u64>,
    /// The bytes of the keys of `known` and of `shapes`.
    known_bytes: usize,
    shapes_bytes: usize,
    texts: Vec<(u32, u32)>,
    print: Vec<u8>,
    recs: Vec<Rec>,
    slots: Vec<Slot>,
    nests: Vec<Nest>,
    /// The chunk being read.
    pub(super) chunk: Vec<u8>,
    /// The chunk's records as [`Cache::plan`] read them.
    prepared: Vec<Option<Prepared>>,
}

impl Cache {
    fn program(
        &mut self,
        chunk: &[u8],
        def: usize,
        root: Root,
        cx: &RecordCx<'_>,
    ) -> Option<usize> {
        let key = (def, root);
        if let Some(i) = self.programs.iter().position(|(k, _)| *k == key) {
            return self.programs[i].1.is_some().then_some(i);
        }
        let program = self.compiled(chunk, def, root, cx);
        let fits = program.is_some();
        self.programs.push((key, program));
        fits.then_some(self.programs.len() - 1)
    }

    /// The program of the definition at `def`: compiled in an earlier chunk when it was
    /// stored there too, else now.
    fn compiled(
        &mut self,
        chunk: &[u8],
        def: usize,
        root: Root,
        cx: &RecordCx<'_>,
    ) -> Option<Rc<Program>> {
        let compile = || template::compile(chunk, def, root, cx.resolver).map(Rc::new);
        // Symbols are the resolver's: programs are kept across chunks for one resolver only.
        let owner = match cx.resolver {
            None => Some(0),
            Some(r) => r.identity(),
        };
        if owner.is_none() {
            return compile();
        }
        if owner != self.owner {
            self.known.clear();
            self.known_bytes = 0;
            self.owner = owner;
        }
        if !template::fingerprint(chunk, def, &mut self.print) {
            return compile();
        }
        self.print.push(root as u8);
        if let Some(p) = self.known.get(self.print.as_slice()) {
            return p.clone();
        }
        let p = compile();
        // A bound on what a file of ever-new definitions can make it hold.
        if self.known.len() >= MAX_KNOWN || self.known_bytes > MAX_KNOWN_BYTES {
            self.known.clear();
            self.known_bytes = 0;
        }
        self.known_bytes += self.print.len();
        self.known.insert(self.print.clone(), p.clone());
        p
    }

    /// The program of plain BinXML `chunk[start..end]` standing for `root`, by its shape (see
    /// [`template::shape`]), compiled once per run; its texts appended to `slots` as strings.
    /// `None` when it has no such program, or a text is empty or holds a NUL.
    fn shaped(
        &mut self,
        chunk: &[u8],
        range: (usize, usize),
        root: Root,
        cx: &RecordCx<'_>,
    ) -> Option<Rc<Program>> {
        let owner = match cx.resolver {
            None => Some(0),
            Some(r) => r.identity(),
        };
        if owner != self.shapes_owner || owner.is_none() {
            self.shapes.clear();
            self.shapes_bytes = 0;
            self.shapes_owner = owner;
        }
        self.texts.clear();
        if !template::shape_print(chunk, range, &mut self.print, &mut self.texts) {
            return None;
        }
        for &(start, len) in &self.texts {
            let b = &chunk[start as usize..(start + len) as usize];
            if b.is_empty() || b.chunks_exact(2).any(|u| u == [0, 0]) {
                return None;
            }
            self.slots.push(Slot {
                ty: ty::STRING,
                start,
                len,
            });
        }
        self.print.push(root as u8);
        if let Some(p) = self.shapes.get(self.print.as_slice()) {
            return p.clone();
        }
        let p = template::shape(chunk, range, root, cx.resolver).map(Rc::new);
        // Symbols are the resolver's: with none that says who it is, nothing is kept.
        if owner.is_some() {
            if self.shapes.len() >= MAX_KNOWN || self.shapes_bytes > MAX_KNOWN_BYTES {
                self.shapes.clear();
                self.shapes_bytes = 0;
            }
            self.shapes_bytes += self.print.len();
            self.shapes.insert(self.print.clone(), p.clone());
        }
        p
    }

    /// Reads the record's instance, and the instances nested in its values, and checks that
    /// each value is of the class its program puts it in. The record's program, or `None`.
    /// When only its System section fits, the record is prepared for the gate alone
    /// ([`Prepared::head_only`]).
    fn prepare(&mut self, chunk: &[u8], rec: Rec, cx: &RecordCx<'_>) -> Option<Prepared> {
        let (slots0, nests0) = (self.slots.len(), self.nests.len());
        let def = instance(chunk, rec.start, rec.end, true, &mut self.slots);
        let outer = def.and_then(|def| self.program(chunk, def, Root::Event, cx));
        let Some(outer) = outer else {
            self.slots.truncate(slots0);
            return None;
        };
        let n = self.slots.len();
        if let Some(p) = self.prepare_rest(chunk, outer, (slots0, n), cx) {
            return Some(p);
        }
        self.slots.truncate(n);
        self.nests.truncate(nests0);
        let program = self.programs[outer].1.as_ref()?;
        if !fits(
            chunk,
            &program.uses[..program.head],
            &self.slots[slots0..n],
            &[],
        ) {
            self.slots.truncate(slots0);
            return None;
        }
        Some(Prepared {
            program: outer,
            values: (slots0, n),
            nests: (nests0, nests0),
            head_only: true,
        })
    }

    /// The rest of [`Cache::prepare`]: the instances nested in the values `values` of the
    /// record's instance, whose program is `outer`, and the check of all of them.
    fn prepare_rest(
        &mut self,
        chunk: &[u8],
        outer: usize,
        (slots0, n): (usize, usize),
        cx: &RecordCx<'_>,
    ) -> Option<Prepared> {
        let nests0 = self.nests.len();
        for i in slots0..n {
            let s = self.slots[i];
            if s.ty != ty::BIN_XML || s.len == 0 {
                continue;
            }
            // What the value stands for is where the outer program puts it.
            let uses = &self.programs[outer].1.as_ref()?.uses;
            let root = uses.iter().find_map(|(id, u)| match u {
                Use::Nested(root) if *id as usize == i - slots0 => Some(*root),
                _ => None,
            })?;
            let from = self.slots.len();
            let (start, end) = (s.start as usize, (s.start + s.len) as usize);
            let program = match instance(chunk, start, end, false, &mut self.slots) {
                Some(def) => self.program(chunk, def, root, cx)?,
                // Plain BinXML, not a template instance: read by the program of its shape,
                // else (a small one) by its own program, for this record.
                None => {
                    self.slots.truncate(from);
                    let program = match self.shaped(chunk, (start, end), root, cx) {
                        Some(p) => p,
                        None if end - start <= MAX_FRAGMENT => {
                            self.slots.truncate(from);
                            Rc::new(template::fragment(chunk, (start, end), root, cx.resolver)?)
                        }
                        None => return None,
                    };
                    self.programs.push(((start, Root::Fragment), Some(program)));
                    self.programs.len() - 1
                }
            };
            self.nests.push(Nest {
                slot: (i - slots0) as u16,
                program,
                values: (from, self.slots.len()),
            });
        }
        let outer_slots = &self.slots[slots0..n];
        let nests = &self.nests[nests0..];
        if !fits(
            chunk,
            &self.programs[outer].1.as_ref()?.uses,
            outer_slots,
            nests,
        ) {
            return None;
        }
        for nest in nests {
            let p = self.programs[nest.program].1.as_ref()?;
            // A nested program holds no nested instance of its own.
            if !fits(
                chunk,
                &p.uses,
                &self.slots[nest.values.0..nest.values.1],
                &[],
            ) {
                return None;
            }
        }
        Some(Prepared {
            program: outer,
            values: (slots0, n),
            nests: (nests0, self.nests.len()),
            head_only: false,
        })
    }
}

/// Whether the values `slots` (and instances `nests` nested in them) are of the classes the
/// `uses` of a program put them in.
fn fits(chunk: &[u8], uses: &[(u16, Use)], slots: &[Slot], nests: &[Nest]) -> bool {
    // What an unnamed Data is read from here: NUL-terminated strings, or one value that is
    // not empty; an empty or a nested one takes the crate's path.
    let items = |s: &Slot| match s.ty {
        ty::STRING_ARRAY => {
            let end = (s.start + s.len) as usize;
            chunk[end - 2] == 0 && chunk[end - 1] == 0
        }
        ty::NULL | ty::BIN_XML | ty::ANSI => false,
        ty::STRING => s.len >= 2 && chunk[s.start as usize..s.start as usize + 2] != [0, 0],
        ty::BINARY => s.len > 0,
        _ => true,
    };
    uses.iter().all(|(id, u)| {
        let slot = slots.get(*id as usize);
        match (u, slot) {
            (Use::Value, None) => true,
            (Use::Value, Some(s)) => {
                (s.ty != ty::BIN_XML || s.len == 0) && s.ty != ty::STRING_ARRAY
            }
            (Use::Items, s) => s.is_some_and(items),
            (Use::ItemsOrNull, s) => s.is_some_and(|s| s.ty == ty::NULL || items(s)),
            (Use::Nested(_), None) => true,
            (Use::Nested(_), Some(s)) => match s.ty {
                ty::NULL => true,
                ty::BIN_XML => s.len == 0 || nests.iter().any(|n| n.slot == *id),
                _ => false,
            },
        }
    })
}

impl Cache {
    /// Starts a chunk: walks its records into [`Cache::records`]. False when the walk does
    /// not check out: then the records are those before the first that does not (see
    /// [`walk`]), and the crate reads the rest.
    pub(super) fn begin(&mut self, chunk: &[u8]) -> bool {
        self.programs.clear();
        self.slots.clear();
        self.nests.clear();
        self.prepared.clear();
        walk(chunk, &mut self.recs)
    }

    /// The records [`Cache::begin`] found, taken out to walk them (give them back with
    /// [`Cache::give_back`]).
    pub(super) fn records(&mut self) -> Vec<Rec> {
        std::mem::take(&mut self.recs)
    }

    pub(super) fn give_back(&mut self, recs: Vec<Rec>) {
        self.recs = recs;
    }

    /// Reads the instances of the chunk's records `recs` (see [`Cache::records`]) for
    /// [`Cache::decode`]. True when every one fits.
    pub(super) fn plan(&mut self, chunk: &[u8], recs: &[Rec], cx: &RecordCx<'_>) -> bool {
        let mut all = true;
        for &rec in recs {
            let p = self.prepare(chunk, rec, cx);
            all &= p.is_some_and(|p| !p.head_only);
            self.prepared.push(p);
        }
        all
    }

    /// Decodes one record into `ev` and hands it on; false when it does not fit this path
    /// (nothing was handed on).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn decode(
        &mut self,
        format: &dyn Format,
        chunk: &[u8],
        (i, rec): (usize, Rec),
        input: u32,
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
        hooks: &mut Hooks<'_>,
    ) -> bool {
        let Some(Some(p)) = self.prepared.get(i).copied() else {
            return false;
        };
        ev.clear();
        ev.resolved = cx.resolver.is_some();
        let record = Values {
            chunk,
            programs: &self.programs,
            slots: &self.slots,
            nests: &self.nests[p.nests.0..p.nests.1],
            paths: cx.json.keep_paths,
            head_only: p.head_only,
        };
        if record.run(p.program, p.values, ev, cx) == Flow::Rest {
            return false;
        }
        ev.record_id = Some(rec.id);
        let id = rec.id;
        finish_event(format, ev, input, || format!("record {id}"), hooks);
        // The chunk up to the record's end: enough to read the record again (`redecode`).
        (hooks.on_event)(ev, &chunk[..rec.end + 4]);
        true
    }

    /// Reads again, in full, the last record of `raw` (a chunk cut after a record, as
    /// [`Cache::decode`] hands records on). False when it cannot.
    pub(super) fn redecode(&mut self, raw: &[u8], full: &mut Event, cx: &mut RecordCx<'_>) -> bool {
        let mut recs = std::mem::take(&mut self.recs);
        // The record was read from a chunk whose every frame checked out before it.
        let ok = self.begin(raw) && {
            recs.clear();
            recs.extend(self.recs.last().copied());
            !recs.is_empty() && self.plan(raw, &recs, cx)
        };
        let ok = ok && self.prepared[0].is_some_and(|p| !p.head_only);
        if ok {
            let p = self.prepared[0].expect("planned");
            full.resolved = cx.resolver.is_some();
            let record = Values {
                chunk: raw,
                programs: &self.programs,
                slots: &self.slots,
                nests: &self.nests[p.nests.0..p.nests.1],
                paths: cx.json.keep_paths,
                head_only: false,
            };
            record.run(p.program, p.values, full, cx);
        }
        self.recs = recs;
        ok
    }
}

/// One record's values and the programs that place them.
struct Values<'a> {
    chunk: &'a [u8],
    programs: &'a [Compiled],
    slots: &'a [Slot],
    nests: &'a [Nest],
    /// Fields keep their paths (rules name fields by dotted path).
    paths: bool,
    /// Only the System section is read (see [`Prepared::head_only`]).
    head_only: bool,
}

/// How far [`Values::run`] read a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// To the end.
    Done,
    /// The gate said to stop after System.
    Stop,
    /// The gate wants more than the System section of a record prepared for it alone.
    Rest,
}

impl Values<'_> {
    /// Fills `ev` by program `p` from the values `range` of `slots`, as far as the gate says.
    fn run(&self, p: usize, range: (usize, usize), ev: &mut Event, cx: &mut RecordCx<'_>) -> Flow {
        let Some(program) = self.programs[p].1.as_ref() else {
            return Flow::Done;
        };
        let chunk = self.chunk;
        // The program's names go in once; its fields point into them.
        let mut at = At {
            base: ev.text.len() as u32,
            paths: self.paths,
            trim: ev.trimmed,
        };
        ev.text.push_str(&program.names);
        let slots = &self.slots[range.0..range.1];
        let slot = |id: u16| slots.get(id as usize);
        let empty = |s: &Slot| match s.ty {
            ty::NULL => true,
            ty::STRING => {
                s.len < 2 || chunk[s.start as usize] == 0 && chunk[s.start as usize + 1] == 0
            }
            ty::ANSI => chunk[s.start as usize..(s.start + s.len) as usize]
                .iter()
                .all(|&x| x == 0),
            ty::BINARY | ty::BIN_XML => s.len == 0,
            _ => false,
        };
        let null = |s: &Slot| s.ty == ty::NULL || s.ty == ty::BIN_XML && s.len == 0;
        let mut ops = program.ops.iter();
        while let Some(op) = ops.next() {
            match op {
                Op::Leaf(name, id, kind) => match slot(*id).filter(|s| !empty(s)) {
                    Some(s) => scalar(ev, name, chunk, s, at),
                    None => push(ev, name, "", *kind, at),
                },
                Op::Const(name, text, kind) => push(ev, name, text, *kind, at),
                Op::Items(name, id) => {
                    let Some(s) = slot(*id) else { continue };
                    if at.trim && !name.wanted {
                        continue;
                    }
                    if s.ty != ty::STRING_ARRAY {
                        scalar(ev, name, chunk, s, at);
                        continue;
                    }
                    let b = &chunk[s.start as usize..(s.start + s.len) as usize];
                    let mut from = 0;
                    for (k, unit) in b.chunks_exact(2).enumerate() {
                        if unit == [0, 0] {
                            let start = ev.text.len() as u32;
                            utf16_until_nul(&b[from..k * 2], &mut ev.text);
                            let v = Span {
                                start,
                                len: ev.text.len() as u32 - start,
                            };
                            add(ev, name, v, Kind::Str, at);
                            from = k * 2 + 2;
                        }
                    }
                }
                Op::Elem {
                    whole,
                    text,
                    attrs,
                    content,
                } => {
                    let present = |a: &Attr| match a {
                        Attr::Lit(..) => true,
                        Attr::Sub(_, id) => slot(*id).is_some_and(|s| !empty(s)),
                    };
                    let body = content.and_then(|c| slot(c).filter(|s| !empty(s)));
                    if !attrs.iter().any(present) {
                        match body {
                            Some(s) => scalar(ev, whole, chunk, s, at),
                            None => push(ev, whole, "", Kind::Null, at),
                        }
                        continue;
                    }
                    for a in attrs.iter() {
                        match a {
                            Attr::Lit(n, t) => push(ev, n, t, Kind::Str, at),
                            Attr::Sub(n, id) => {
                                if let Some(s) = slot(*id).filter(|s| !empty(s)) {
                                    scalar(ev, n, chunk, s, at);
                                }
                            }
                        }
                    }
                    if let Some(s) = body {
                        scalar(ev, text, chunk, s, at);
                    }
                }
                Op::LeftOut {
                    slots: ids,
                    len,
                    name,
                } => {
                    if ids.iter().all(|id| slot(*id).is_some_and(null)) {
                        push(ev, name, "", Kind::Null, at);
                        for _ in 0..*len {
                            ops.next();
                        }
                    }
                }
                Op::Depends { slot: id, len } => {
                    if slot(*id).is_some_and(null) {
                        for _ in 0..*len {
                            ops.next();
                        }
                    }
                }
                // There is no text to show the gate: it sees an empty one.
                Op::Gate => match (cx.gate)(ev, &[]) {
                    Gate::Skip => {
                        ev.partial = true;
                        return Flow::Stop;
                    }
                    _ if self.head_only => return Flow::Rest,
                    Gate::Referenced => {
                        ev.trimmed = true;
                        at.trim = true;
                    }
                    Gate::All => {}
                },
                Op::Nested(id, _) => {
                    if let Some(n) = self.nests.iter().find(|n| n.slot == *id) {
                        let flow = self.run(n.program, n.values, ev, cx);
                        if flow != Flow::Done {
                            return flow;
                        }
                    }
                }
            }
        }
        Flow::Done
    }
}

/// Appends a field of constant text.
#[inline]
fn push(ev: &mut Event, name: &Name, value: &str, kind: Kind, at: At) {
    if at.trim && !name.wanted {
        return;
    }
    let v = ev.push_text(value);
    add(ev, name, v, kind, at);
}

/// Where a program's names are in the event's text, and whether fields keep their paths.
#[derive(Clone, Copy)]
struct At {
    base: u32,
    paths: bool,
    /// The gate trimmed the event: fields no rule names are left out.
    trim: bool,
}

#[inline]
fn add(ev: &mut Event, name: &Name, value: Span, kind: Kind, at: At) {
    let n = Span {
        start: at.base + name.at,
        len: name.len,
    };
    // Without paths the name stands for the path, as in the JSON reader.
    let path = if at.paths {
        ev.path_syms.push(name.path_sym);
        Span {
            start: at.base + name.path_at,
            len: name.path_len,
        }
    } else {
        n
    };
    ev.fields.push(Field {
        name: n,
        path,
        value,
        kind,
        section: name.section,
        sym: name.sym,
    });
    if let Some(r) = name.role {
        ev.set_role(r, ev.fields.len() - 1);
    }
}

/// Appends a field holding value `s`, written as the `evtx` crate writes it in JSON (and as
/// dwell's JSON reader then reads it back).
fn scalar(ev: &mut Event, name: &Name, chunk: &[u8], s: &Slot, at: At) {
    if at.trim && !name.wanted {
        return;
    }
    let start = ev.text.len() as u32;
    let b = &chunk[s.start as usize..(s.start + s.len) as usize];
    let out = &mut ev.text;
    let kind = match s.ty {
        ty::STRING => {
            utf16_until_nul(b, out);
            Kind::Str
        }
        // NULs are dropped, as the crate drops them.
        ty::ANSI => {
            for part in b.split(|&x| x == 0) {
                ascii(out, part);
            }
            Kind::Str
        }
        0x03 => int(out, b[0] as i8 as i64),
        0x04 => uint(out, b[0] as u64),
        0x05 => int(out, i16::from_le_bytes([b[0], b[1]]) as i64),
        0x06 => uint(out, u16::from_le_bytes([b[0], b[1]]) as u64),
        0x07 => int(out, le32(b) as i32 as i64),
        0x08 => uint(out, le32(b) as u64),
        0x09 => int(out, le64(b) as i64),
        0x0a => uint(out, le64(b)),
        ty::BOOL => match le32(b) as i32 {
            0 => {
                out.push_str("false");
                Kind::Bool
            }
            1 => {
                out.push_str("true");
                Kind::Bool
            }
            v => int(out, v as i64),
        },
        ty::BINARY => {
            let mut buf = [0u8; 128];
            for part in b.chunks(64) {
                for (i, &x) in part.iter().enumerate() {
                    buf[2 * i] = HEX_UPPER[(x >> 4) as usize];
                    buf[2 * i + 1] = HEX_UPPER[(x & 15) as usize];
                }
                ascii(out, &buf[..2 * part.len()]);
            }
            Kind::Str
        }
        ty::GUID => {
            guid(out, b);
            Kind::Str
        }
        ty::SIZE_T if b.len() == 4 => hex(out, le32(b) as u64),
        ty::SIZE_T | ty::HEX64 => hex(out, le64(b)),
        ty::HEX32 => hex(out, le32(b) as u64),
        ty::FILETIME => {
            filetime(out, le64(b));
            Kind::Str
        }
        ty::SID => {
            sid(out, b);
            Kind::Str
        }
        // `instance` admits no other type.
        _ => Kind::Null,
    };
    let v = Span {
        start,
        len: ev.text.len() as u32 - start,
    };
    add(ev, name, v, kind, at);
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

fn uint(out: &mut String, v: u64) -> Kind {
    out.push_str(itoa::Buffer::new().format(v));
    Kind::Num
}

/// Appends ASCII bytes (digits, hex) in one copy.
#[inline]
fn ascii(out: &mut String, b: &[u8]) {
    out.push_str(std::str::from_utf8(b).unwrap_or_default());
}

fn int(out: &mut String, v: i64) -> Kind {
    out.push_str(itoa::Buffer::new().format(v));
    Kind::Num
}

/// `0x` and lowercase hex digits without leading zeros, as the crate writes hex integers.
fn hex(out: &mut String, v: u64) -> Kind {
    let mut buf = [0u8; 18];
    buf[..2].copy_from_slice(b"0x");
    let digits = ((64 - v.leading_zeros()).div_ceil(4)).max(1) as usize;
    for k in 0..digits {
        buf[2 + k] = HEX_LOWER[((v >> ((digits - 1 - k) * 4)) & 15) as usize];
    }
    ascii(out, &buf[..2 + digits]);
    Kind::Str
}

/// `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` in lowercase, the first three groups little-endian.
fn guid(out: &mut String, b: &[u8]) {
    const ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    let mut buf = [b'-'; 38];
    buf[0] = b'{';
    buf[37] = b'}';
    let mut n = 1;
    for (i, &k) in ORDER.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            n += 1;
        }
        buf[n] = HEX_LOWER[(b[k] >> 4) as usize];
        buf[n + 1] = HEX_LOWER[(b[k] & 15) as usize];
        n += 2;
    }
    ascii(out, &buf);
}

/// `S-revision-authority-sub...`, or `S-?` when too short to be one.
fn sid(out: &mut String, b: &[u8]) {
    let &[revision, count, a0, a1, a2, a3, a4, a5, ref subs @ ..] = b else {
        out.push_str("S-?");
        return;
    };
    out.push_str("S-");
    uint(out, revision as u64);
    out.push('-');
    uint(out, u64::from_be_bytes([0, 0, a0, a1, a2, a3, a4, a5]));
    for c in subs.chunks_exact(4).take(count as usize) {
        out.push('-');
        uint(out, le32(c) as u64);
    }
}

/// A FILETIME as `YYYY-MM-DDTHH:MM:SS.fffffffZ` (seven digits: the 100 ns it counts), years
/// past 9999 keeping their last four digits and values past `i64::MAX` as zeros, as the crate
/// renders it.
fn filetime(out: &mut String, t: u64) {
    const TICKS_PER_SEC: u64 = 10_000_000;
    const TICKS_PER_DAY: u64 = 86_400 * TICKS_PER_SEC;
    let mut f = [0u32; 7];
    if t <= i64::MAX as u64 {
        let (days, ticks) = (t / TICKS_PER_DAY, t % TICKS_PER_DAY);
        // Howard Hinnant's civil_from_days, counted from 0000-03-01 (584,694 days before
        // 1601-01-01) in 400-year eras.
        let z = days + 584_694;
        let (era, doe) = (z / 146_097, z % 146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = era * 400 + yoe + u64::from(month <= 2);
        let secs = ticks / TICKS_PER_SEC;
        f = [
            (year % 10_000) as u32,
            month as u32,
            day as u32,
            (secs / 3_600) as u32,
            (secs / 60 % 60) as u32,
            (secs % 60) as u32,
            (ticks % TICKS_PER_SEC) as u32,
        ];
    }
    let mut buf = *b"0000-00-00T00:00:00.0000000Z";
    for (v, (at, width)) in
        f.iter()
            .zip([(0, 4), (5, 2), (8, 2), (11, 2), (14, 2), (17, 2), (20, 7)])
    {
        let mut v = *v;
        for k in (at..at + width).rev() {
            buf[k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
}

/// UTF-16LE, all of it (NULs too), unpaired surrogates as U+FFFD.
pub(super) fn utf16(b: &[u8], out: &mut String) {
    if b.chunks_exact(2).any(|c| c == [0, 0]) {
        let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
        out.extend(char::decode_utf16(units).map(|c| c.unwrap_or('\u{FFFD}')));
    } else {
        utf16_until_nul(b, out);
    }
}

/// UTF-16LE up to its first NUL, unpaired surrogates as U+FFFD.
fn utf16_until_nul(b: &[u8], out: &mut String) {
    let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    // Most text is ASCII: copy it a block at a time, eight units per step, decoding only
    // what is not.
    let mut done = 0;
    let mut buf = [0u8; 256];
    let total = b.len() / 2;
    loop {
        let mut n = 0;
        while n + 8 <= buf.len() && done + n + 8 <= total {
            let at = 2 * (done + n);
            let x = u128::from_le_bytes(b[at..at + 16].try_into().unwrap_or([0; 16]));
            // Each unit 0x01..=0x7f: its high nine bits clear, and adding 0x7f to it (which
            // cannot carry into the next) sets bit 7 unless it is zero.
            const HIGH: u128 = 0xff80_ff80_ff80_ff80_ff80_ff80_ff80_ff80;
            const ADD: u128 = 0x007f_007f_007f_007f_007f_007f_007f_007f;
            const BIT: u128 = 0x0080_0080_0080_0080_0080_0080_0080_0080;
            if x & HIGH != 0 || (x + ADD) & BIT != BIT {
                break;
            }
            // The eight low bytes, packed: pairs, then fours, then all eight.
            let x = x | (x >> 8);
            let x = x & 0x0000_ffff_0000_ffff_0000_ffff_0000_ffff;
            let x = x | (x >> 16);
            let x = x & 0x0000_0000_ffff_ffff_0000_0000_ffff_ffff;
            let x = x | (x >> 32);
            buf[n..n + 8].copy_from_slice(&(x as u64).to_le_bytes());
            n += 8;
        }
        while n < buf.len() && done + n < total {
            let (lo, hi) = (b[2 * (done + n)], b[2 * (done + n) + 1]);
            if hi != 0 || lo == 0 || lo >= 0x80 {
                break;
            }
            buf[n] = lo;
            n += 1;
        }
        ascii(out, &buf[..n]);
        done += n;
        if n < buf.len() || done == total {
            break;
        }
    }
    if done == total || b[2 * done] == 0 && b[2 * done + 1] == 0 {
        return;
    }
    for c in char::decode_utf16(units.skip(done).take_while(|u| *u != 0)) {
        out.push(c.unwrap_or('\u{FFFD}'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_as_the_crate_writes_them() {
        let mut s = String::new();
        hex(&mut s, 0);
        hex(&mut s, 0x8020_0000_0000_0000);
        hex(&mut s, 0x1f);
        assert_eq!(s, "0x00x80200000000000000x1f");
        s.clear();
        filetime(&mut s, 131_975_096_447_415_451);
        assert_eq!(s, "2019-03-19T22:54:04.7415451Z");
        s.clear();
        filetime(&mut s, u64::MAX);
        assert_eq!(s, "0000-00-00T00:00:00.0000000Z");
        s.clear();
        sid(&mut s, &[1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]);
        assert_eq!(s, "S-1-5-18");
        s.clear();
        sid(&mut s, &[1, 1]);
        assert_eq!(s, "S-?");
        s.clear();
        int(&mut s, i64::MIN);
        assert_eq!(s, "-9223372036854775808");
        s.clear();
        let text: Vec<u8> = "héllo\u{1F600}\0after"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        utf16_until_nul(&text, &mut s);
        assert_eq!(s, "héllo\u{1F600}");
        s.clear();
        utf16_until_nul(&[0x00, 0xd8, b'a', 0], &mut s);
        assert_eq!(s, "\u{FFFD}a");
        // ASCII is copied in blocks: across block ends, into text that is not ASCII.
        for n in [0, 1, 3, 4, 5, 63, 64, 65, 255, 256, 257, 600] {
            let want = format!("{}é{}", "a".repeat(n), "b".repeat(n));
            let mut bytes: Vec<u8> = want.encode_utf16().flat_map(u16::to_le_bytes).collect();
            s.clear();
            utf16_until_nul(&bytes, &mut s);
            assert_eq!(s, want);
            bytes.truncate(2 * n);
            bytes.extend([0, 0, b'x', 0]);
            s.clear();
            utf16_until_nul(&bytes, &mut s);
            assert_eq!(s, "a".repeat(n));
        }
        // Units at the edges of the ASCII test, in every place of a block, against the
        // standard decoder.
        for unit in [
            0x01u16, 0x20, 0x7f, 0x80, 0xff, 0x100, 0x17f, 0x7f7f, 0xd800, 0xfeff,
        ] {
            for at in 0..24 {
                let mut units = [u16::from(b'q'); 24];
                units[at] = unit;
                let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
                let want: String = char::decode_utf16(units.iter().copied())
                    .map(|c| c.unwrap_or('\u{FFFD}'))
                    .collect();
                s.clear();
                utf16_until_nul(&bytes, &mut s);
                assert_eq!(s, want, "unit {unit:#x} at {at}");
            }
        }
    }
}
