//! JSON events: a flattening parser that writes leaves straight into an [`Event`], a splitter
//! that finds the events in JSON lines, arrays and concatenated pretty-printed objects, and
//! the small writers the outputs share.
//!
//! Field names follow the source's shape: evtx_dump/`evtx` JSON (`Event.System`,
//! `Event.EventData`, `Event.UserData`), Winlogbeat (`winlog.*`), and anything else by dotted
//! path. The same parser handles records from EVTX files, so both input paths agree.

use crate::event::{Event, Field, Gate, Kind, Known, NO_SYM, Resolver, Section, Span};
use std::fmt;

/// Deepest nesting accepted in one event.
pub const MAX_DEPTH: usize = 64;

/// Why a JSON event could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset in the event's text.
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

/// Parses one JSON object and appends its leaves to `ev` (which the caller clears).
pub fn flatten(input: &[u8], ev: &mut Event, scratch: &mut Scratch) -> Result<(), JsonError> {
    flatten_gated(input, ev, scratch, None, &mut |_, _| Gate::All)
}

/// Like [`flatten`], resolving field names with `resolver` (see [`crate::event::Field::sym`]),
/// and, once an EVTX `System` section is complete, asking `gate` what to do with the rest:
/// stop ([`Gate::Skip`]: the event is [`Event::partial`]), keep only fields the resolver knows
/// ([`Gate::Referenced`]: the event is [`Event::trimmed`]), or keep everything.
pub fn flatten_gated(
    input: &[u8],
    ev: &mut Event,
    scratch: &mut Scratch,
    resolver: Option<&dyn Resolver>,
    gate: &mut dyn FnMut(&Event, &[u8]) -> Gate,
) -> Result<(), JsonError> {
    let text = std::str::from_utf8(input).map_err(|e| JsonError {
        offset: e.valid_up_to(),
        message: "invalid UTF-8".into(),
    })?;
    scratch.prefix.clear();
    scratch.path.clear();
    ev.resolved = resolver.is_some();
    // Only EVTX-shaped events (a `System` section first) are gated; once one is recognised,
    // even System values no rule names are left out until the gate has spoken (see `child`).
    let mut p = Parser {
        s: text,
        b: input,
        i: 0,
        ev,
        sc: scratch,
        gate,
        resolver,
        mode: Gate::All,
        halted: false,
        restart: false,
        gated: false,
    };
    p.ws();
    if p.peek() != Some(b'{') {
        return Err(p.err("an event must be a JSON object"));
    }
    p.value(Ctx::Root, "", 0)?;
    if p.mode == Gate::Referenced && !p.gated {
        // Trimming started, but no System section came to decide on: keep everything.
        p.restart = true;
    }
    if p.restart {
        // The gate wants everything, but System values were left out: parse it all again.
        let Parser { ev, sc, .. } = p;
        ev.clear();
        ev.resolved = true;
        let mut all = |_: &Event, _: &[u8]| Gate::All;
        let mut p = Parser {
            s: text,
            b: input,
            i: 0,
            ev,
            sc,
            gate: &mut all,
            resolver,
            mode: Gate::All,
            halted: false,
            restart: false,
            gated: true,
        };
        p.value(Ctx::Root, "", 0)?;
        return p.end();
    }
    if p.halted {
        p.ev.partial = true;
        return Ok(());
    }
    p.end()
}

impl Parser<'_, '_> {
    fn end(&mut self) -> Result<(), JsonError> {
        self.ws();
        if self.i != self.b.len() {
            return Err(self.err("unexpected text after the end of the object"));
        }
        Ok(())
    }
}

/// Reusable buffers for [`flatten`].
#[derive(Debug, Default)]
pub struct Scratch {
    /// Name prefixes of the enclosing objects, used as a stack.
    prefix: String,
    /// The dotted path of the current value (only with `keep_paths`).
    path: String,
    name: String,
    key: String,
    /// Also record each value's full dotted path (needed only when rules use dotted names).
    pub keep_paths: bool,
}

/// How the members of the object being parsed are named. Computed once per object, so a
/// leaf's name costs a copy, not a walk over its path.
#[derive(Debug, Clone, Copy)]
enum Ctx {
    Root,
    /// Inside `{"Event": ...}` of the evtx rendering.
    Event,
    /// Direct members of `System`.
    System,
    /// Inside a System element; names are `Element_attribute` (prefix span).
    SysElem(u32, u32),
    /// Direct members of EventData/UserData/RenderingInfo.
    Part(Section, &'static str),
    /// Attributes of the EventData/UserData element itself.
    PartAttrs(Section, &'static str),
    /// Deeper inside a part; the span names the current element (for `#text`).
    Nested(Section, u32, u32),
    /// Attributes of an element deeper inside a part.
    NestedAttrs(Section),
    /// Winlogbeat's `winlog` object.
    Winlog,
    /// Anything else: names are the dotted path (prefix span; empty at the root).
    Generic(u32, u32),
    /// Dropped (namespace declarations).
    Drop,
}

fn part(key: &str) -> Option<(Section, &'static str)> {
    Some(match key {
        "System" => (Section::System, "System"),
        "EventData" => (Section::EventData, "EventData"),
        "UserData" => (Section::UserData, "UserData"),
        "RenderingInfo" => (Section::Other, "RenderingInfo"),
        "ProcessingErrorData" => (Section::Other, "ProcessingErrorData"),
        "DebugData" => (Section::Other, "DebugData"),
        _ => return None,
    })
}

struct Parser<'a, 'e> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    ev: &'e mut Event,
    sc: &'e mut Scratch,
    gate: &'e mut dyn FnMut(&Event, &[u8]) -> Gate,
    resolver: Option<&'e dyn Resolver>,
    mode: Gate,
    halted: bool,
    /// Stopped to start again in full (see `flatten_gated`).
    restart: bool,
    /// The gate has been asked.
    gated: bool,
}

/// A string token in the input: the text between the quotes, and whether it has escapes.
#[derive(Clone, Copy)]
struct Str {
    start: usize,
    end: usize,
    escaped: bool,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// A mask with the high bit set in each zero byte of `x` (and possibly in bytes above the
/// first zero, through borrows, which never matters since only the lowest flag is used).
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(LO) & !x & HI
}

impl<'a> Parser<'a, '_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline(always)]
    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn err(&self, msg: &str) -> JsonError {
        JsonError {
            offset: self.i,
            message: msg.to_string(),
        }
    }

    /// The context for the members of an object found under `key` in `ctx`.
    fn child(&mut self, ctx: Ctx, key: &str) -> Ctx {
        if matches!(ctx, Ctx::Root)
            && (key == "Event" || key == "System")
            && self.resolver.is_some()
            && self.mode == Gate::All
            && !self.gated
        {
            self.mode = Gate::Referenced;
        }
        let push =
            |sc: &mut Scratch, base: Option<(u32, u32)>, sep: char, key: &str| -> (u32, u32) {
                match base {
                    Some((s, l)) if l > 0 => {
                        sc.prefix.truncate((s + l) as usize);
                        sc.prefix.push(sep);
                        push_name(&mut sc.prefix, key);
                        (s, sc.prefix.len() as u32 - s)
                    }
                    _ => {
                        let s = sc.prefix.len() as u32;
                        push_name(&mut sc.prefix, key);
                        (s, sc.prefix.len() as u32 - s)
                    }
                }
            };
        let sc = &mut *self.sc;
        match ctx {
            Ctx::Root => match (key, part(key)) {
                ("Event", _) => Ctx::Event,
                (_, Some((Section::System, _))) => Ctx::System,
                (_, Some((sec, name))) => Ctx::Part(sec, name),
                ("winlog", _) => Ctx::Winlog,
                _ => {
                    let (s, l) = push_raw(sc, None, key);
                    Ctx::Generic(s, l)
                }
            },
            Ctx::Event => match part(key) {
                Some((Section::System, _)) => Ctx::System,
                Some((sec, name)) => Ctx::Part(sec, name),
                None if key == "#attributes" => Ctx::Drop,
                None => {
                    let (s, l) = push_raw(sc, None, "Event");
                    let (s, l) = push_raw(sc, Some((s, l)), key);
                    Ctx::Generic(s, l)
                }
            },
            Ctx::System => {
                let k = key.strip_suffix("_attributes").unwrap_or(key);
                let (s, l) = push(sc, None, '_', k);
                Ctx::SysElem(s, l)
            }
            Ctx::SysElem(s, l) => {
                if key == "#attributes" {
                    Ctx::SysElem(s, l)
                } else {
                    let k = key.strip_suffix("_attributes").unwrap_or(key);
                    let (s, l) = push(sc, Some((s, l)), '_', k);
                    Ctx::SysElem(s, l)
                }
            }
            Ctx::Part(sec, name) => {
                if key == "#attributes" {
                    Ctx::PartAttrs(sec, name)
                } else {
                    let (s, l) = push(sc, None, '_', key);
                    Ctx::Nested(sec, s, l)
                }
            }
            Ctx::Nested(sec, ..) => {
                if key == "#attributes" {
                    Ctx::NestedAttrs(sec)
                } else {
                    let (s, l) = push(sc, None, '_', key);
                    Ctx::Nested(sec, s, l)
                }
            }
            Ctx::Winlog => match key {
                "event_data" => Ctx::Part(Section::EventData, "EventData"),
                "user_data" => Ctx::Part(Section::UserData, "UserData"),
                _ => {
                    let (s, l) = push_raw(sc, None, "winlog");
                    let (s, l) = push_raw(sc, Some((s, l)), key);
                    Ctx::Generic(s, l)
                }
            },
            Ctx::Generic(s, l) => {
                let (s, l) = push_raw(sc, Some((s, l)), key);
                Ctx::Generic(s, l)
            }
            Ctx::PartAttrs(..) | Ctx::NestedAttrs(_) | Ctx::Drop => Ctx::Drop,
        }
    }

    /// The name and section of a scalar found under `key` in `ctx`, written to the scratch
    /// name buffer. `None` drops the value.
    fn leaf_name(&mut self, ctx: Ctx, key: &str) -> Option<Section> {
        let sc = &mut *self.sc;
        let name = &mut sc.name;
        name.clear();
        let pre = |s: u32, l: u32| &sc.prefix[s as usize..(s + l) as usize];
        Some(match ctx {
            Ctx::Root | Ctx::Generic(..) => {
                if let Ctx::Generic(s, l) = ctx {
                    let p = pre(s, l);
                    if p == "winlog.process" && key == "pid" {
                        name.push_str("Execution_ProcessID");
                        return Some(Section::System);
                    }
                    if p == "winlog.user" && key == "identifier" {
                        name.push_str("Security_UserID");
                        return Some(Section::System);
                    }
                    name.push_str(p);
                    name.push('.');
                }
                name.push_str(key);
                Section::Other
            }
            Ctx::Event => {
                if key == "#attributes" {
                    return None;
                }
                name.push_str("Event.");
                name.push_str(key);
                Section::Other
            }
            Ctx::System => {
                push_name(name, key);
                Section::System
            }
            Ctx::SysElem(s, l) => {
                name.push_str(pre(s, l));
                if key != "#text" {
                    name.push('_');
                    push_name(name, key);
                }
                Section::System
            }
            Ctx::Part(sec, part) => {
                if key == "#text" {
                    name.push_str(part);
                } else {
                    push_name(name, key);
                }
                sec
            }
            Ctx::PartAttrs(sec, part) => {
                if key == "xmlns" {
                    return None;
                }
                name.push_str(part);
                name.push('_');
                push_name(name, key);
                sec
            }
            Ctx::Nested(sec, s, l) => {
                if key == "#text" {
                    name.push_str(pre(s, l));
                } else {
                    push_name(name, key);
                }
                sec
            }
            Ctx::NestedAttrs(sec) => {
                if key == "xmlns" {
                    return None;
                }
                push_name(name, key);
                sec
            }
            Ctx::Winlog => {
                let mapped = match key {
                    "channel" => "Channel",
                    "event_id" => "EventID",
                    "computer_name" => "Computer",
                    "provider_name" => "Provider_Name",
                    "provider_guid" => "Provider_Guid",
                    "record_id" => "EventRecordID",
                    "task" => "Task",
                    "opcode" => "Opcode",
                    "version" => "Version",
                    _ => {
                        name.push_str("winlog.");
                        name.push_str(key);
                        return Some(Section::Other);
                    }
                };
                name.push_str(mapped);
                Section::System
            }
            Ctx::Drop => return None,
        })
    }

    /// Parses the value found under `key` (members of objects are parsed with the context
    /// `child(ctx, key)`; array elements keep the array's key).
    fn value(&mut self, ctx: Ctx, key: &str, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested deeper than 64 levels"));
        }
        self.ws();
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                let prefix_len = self.sc.prefix.len();
                let inner = if depth == 0 {
                    ctx
                } else {
                    self.child(ctx, key)
                };
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    self.sc.prefix.truncate(prefix_len);
                    return Ok(());
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected a key"));
                    }
                    let k = self.string()?;
                    let owned;
                    let member: &str = if k.escaped {
                        let mut buf = std::mem::take(&mut self.sc.key);
                        buf.clear();
                        unescape(&self.s[k.start..k.end], &mut buf);
                        owned = buf.clone();
                        self.sc.key = buf;
                        &owned
                    } else {
                        &self.s[k.start..k.end]
                    };
                    let path_len = self.sc.path.len();
                    if self.sc.keep_paths {
                        if path_len > 0 {
                            self.sc.path.push('.');
                        }
                        self.sc.path.push_str(member);
                    }
                    if self.peek() != Some(b':') {
                        self.ws();
                        if self.peek() != Some(b':') {
                            return Err(self.err("expected ':'"));
                        }
                    }
                    self.i += 1;
                    // Scalars are handled here; only containers recurse.
                    match self.peek() {
                        Some(b'"') => {
                            let v = self.string()?;
                            self.leaf(inner, member, v, Kind::Str);
                        }
                        Some(b'-' | b'0'..=b'9') => self.number(inner, member)?,
                        _ => self.value(inner, member, depth + 1)?,
                    }
                    if self.halted {
                        return Ok(());
                    }
                    self.sc.path.truncate(path_len);
                    if !matches!(self.peek(), Some(b',' | b'}')) {
                        self.ws();
                    }
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            self.sc.prefix.truncate(prefix_len);
                            if matches!(inner, Ctx::System) && !self.gated {
                                self.gated = true;
                                let was = self.mode;
                                self.mode = (self.gate)(self.ev, self.b);
                                match self.mode {
                                    Gate::Skip => self.halted = true,
                                    Gate::Referenced => self.ev.trimmed = true,
                                    Gate::All if was == Gate::Referenced => {
                                        self.halted = true;
                                        self.restart = true;
                                    }
                                    Gate::All => {}
                                }
                            }
                            return Ok(());
                        }
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            Some(b'[') => {
                if depth == 0 {
                    return Err(self.err("an event must be a JSON object"));
                }
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.value(ctx, key, depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
            }
            Some(b'"') => {
                let v = self.string()?;
                self.leaf(ctx, key, v, Kind::Str);
                Ok(())
            }
            Some(b't') => self.literal(ctx, key, "true", Kind::Bool),
            Some(b'f') => self.literal(ctx, key, "false", Kind::Bool),
            Some(b'n') => self.literal(ctx, key, "null", Kind::Null),
            Some(b'-' | b'0'..=b'9') => self.number(ctx, key),
            Some(_) => Err(self.err("unexpected character")),
            None => Err(self.err("unexpected end of input")),
        }
    }

    #[inline(always)]
    fn number(&mut self, ctx: Ctx, key: &str) -> Result<(), JsonError> {
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-') {
                self.i += 1;
            } else {
                break;
            }
        }
        if !is_json_number(&self.s[start..self.i]) {
            self.i = start;
            return Err(self.err("invalid number"));
        }
        let v = Str {
            start,
            end: self.i,
            escaped: false,
        };
        self.leaf(ctx, key, v, Kind::Num);
        Ok(())
    }

    fn literal(
        &mut self,
        ctx: Ctx,
        key: &str,
        word: &'static str,
        kind: Kind,
    ) -> Result<(), JsonError> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            let start = self.i;
            self.i += word.len();
            let end = if kind == Kind::Null { start } else { self.i };
            self.leaf(
                ctx,
                key,
                Str {
                    start,
                    end,
                    escaped: false,
                },
                kind,
            );
            Ok(())
        } else {
            Err(self.err("invalid literal"))
        }
    }

    /// Scans a string token (at its opening quote), checking its escapes.
    #[inline(always)]
    fn string(&mut self) -> Result<Str, JsonError> {
        let start = self.i + 1;
        let mut i = start;
        let b = self.b;
        let mut escaped = false;
        loop {
            // Eight bytes at a time: the lowest flagged byte is the first quote or backslash.
            loop {
                if i + 8 <= b.len() {
                    let x = u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
                    let m =
                        zero_bytes(x ^ (LO * b'"' as u64)) | zero_bytes(x ^ (LO * b'\\' as u64));
                    if m == 0 {
                        i += 8;
                        continue;
                    }
                    i += (m.trailing_zeros() / 8) as usize;
                } else {
                    while i < b.len() && b[i] != b'"' && b[i] != b'\\' {
                        i += 1;
                    }
                }
                break;
            }
            if i >= b.len() {
                self.i = b.len();
                return Err(self.err("unterminated string"));
            }
            if b[i] == b'"' {
                self.i = i + 1;
                return Ok(Str {
                    start,
                    end: i,
                    escaped,
                });
            }
            escaped = true;
            match b.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') => {
                    let ok = b
                        .get(i + 2..i + 6)
                        .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
                    if !ok {
                        self.i = i;
                        return Err(self.err("invalid \\u escape"));
                    }
                    i += 6;
                }
                _ => {
                    self.i = i;
                    return Err(self.err("invalid escape"));
                }
            }
        }
    }

    fn leaf(&mut self, ctx: Ctx, key: &str, v: Str, kind: Kind) {
        // EventData/UserData members are named by their key: no need to build the name.
        let direct = matches!(ctx, Ctx::Part(..) | Ctx::Nested(..))
            && key != "#text"
            && !key.bytes().any(|b| b == b' ');
        let section = if direct {
            match ctx {
                Ctx::Part(sec, _) | Ctx::Nested(sec, ..) => sec,
                _ => Section::Other,
            }
        } else {
            match self.leaf_name(ctx, key) {
                Some(sec) => sec,
                None => return,
            }
        };
        let name: &str = if direct { key } else { &self.sc.name };
        let sym = match self.resolver {
            Some(r) => r.sym(name).unwrap_or(NO_SYM),
            None => NO_SYM,
        };
        // EventData and UserData never provide the well-known System fields.
        let known = if direct || matches!(ctx, Ctx::Part(..) | Ctx::Nested(..)) {
            None
        } else {
            Known::of(name)
        };
        if sym == NO_SYM && known.is_none() && self.mode == Gate::Referenced {
            return;
        }
        let name_span = self.ev.push_text(name);
        let path_span = if self.sc.keep_paths {
            self.ev.push_text(&self.sc.path)
        } else {
            name_span
        };
        let raw = &self.s[v.start..v.end];
        let value = if v.escaped {
            let start = self.ev.text.len() as u32;
            unescape(raw, &mut self.ev.text);
            Span {
                start,
                len: self.ev.text.len() as u32 - start,
            }
        } else {
            self.ev.push_text(raw)
        };
        self.ev.fields.push(Field {
            name: name_span,
            path: path_span,
            value,
            kind,
            section,
            sym,
        });
        if let Some(k) = known {
            self.ev.set_known(k, self.ev.fields.len() - 1);
        }
    }
}

/// Appends `key` to the prefix stack after `base` joined with '.', keeping it verbatim.
fn push_raw(sc: &mut Scratch, base: Option<(u32, u32)>, key: &str) -> (u32, u32) {
    match base {
        Some((s, l)) => {
            sc.prefix.truncate((s + l) as usize);
            sc.prefix.push('.');
            sc.prefix.push_str(key);
            (s, sc.prefix.len() as u32 - s)
        }
        None => {
            let s = sc.prefix.len() as u32;
            sc.prefix.push_str(key);
            (s, sc.prefix.len() as u32 - s)
        }
    }
}

/// Decodes the escapes of a checked JSON string body.
fn unescape(raw: &str, out: &mut String) {
    let b = raw.as_bytes();
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        out.push_str(&raw[last..i]);
        let e = b.get(i + 1).copied().unwrap_or(b'\\');
        i += 2;
        match e {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let hex = |at: usize| {
                    raw.get(at..at + 4)
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                };
                let hi = hex(i).unwrap_or(0xFFFD);
                i += 4;
                let c = if (0xD800..0xDC00).contains(&hi) {
                    if b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u') {
                        match hex(i + 2) {
                            Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                i += 6;
                                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            }
                            _ => None,
                        }
                    } else {
                        None
                    }
                } else {
                    char::from_u32(hi)
                };
                out.push(c.unwrap_or('\u{FFFD}'));
            }
            _ => {}
        }
        last = i.min(b.len());
    }
    out.push_str(&raw[last.min(raw.len())..]);
}

/// Appends a name with its spaces removed (`Threat Name` is the field `ThreatName`).
fn push_name(out: &mut String, part: &str) {
    if part.bytes().any(|b| b == b' ') {
        out.extend(part.chars().filter(|c| *c != ' '));
    } else {
        out.push_str(part);
    }
}

/// True when `s` is a JSON number literal.
pub fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let s = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let s = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    i == b.len()
}

/// Appends `s` as a JSON string literal.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut last = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[last..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04x}", b);
            }
        }
        last = i + 1;
    }
    out.push_str(&s[last..]);
    out.push('"');
}

/// One top-level JSON value found by the [`Splitter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub start: usize,
    pub end: usize,
    /// 1-based line of the value's first byte.
    pub line: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Start,
    /// Values separated by whitespace: JSON lines or concatenated objects.
    Concat,
    /// Inside a top-level array: elements separated by commas.
    Array,
}

/// Finds top-level values in a stream of JSON text, chunk by chunk.
///
/// A new line that starts with `{` in column 0 always starts a new event, even if the previous
/// one is unbalanced: a truncated line in a JSON-lines file then costs only that line.
#[derive(Debug)]
pub struct Splitter {
    mode: Mode,
    /// Line number at the start of the unconsumed input.
    line: u64,
}

impl Default for Splitter {
    fn default() -> Self {
        Splitter {
            mode: Mode::Start,
            line: 1,
        }
    }
}

impl Splitter {
    /// The line number where the unconsumed input starts.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Accounts for bytes dropped without splitting (an oversized event).
    pub fn advance(&mut self, skipped: &[u8]) {
        self.line += memchr::memchr_iter(b'\n', skipped).count() as u64;
        if self.mode == Mode::Start {
            self.mode = Mode::Concat;
        }
    }

    /// Scans `buf`, pushing complete values to `out`; returns how many bytes were consumed.
    /// Unconsumed bytes (a value cut by the end of the buffer) must be passed again with more
    /// data. With `eof`, everything is consumed and a partial value is returned as is.
    pub fn split(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Piece>) -> usize {
        let mut i = 0;
        let mut line = self.line;
        loop {
            // Skip whitespace, BOM and (in arrays) separators.
            while i < buf.len() {
                match buf[i] {
                    b'\n' => {
                        line += 1;
                        i += 1;
                    }
                    b' ' | b'\r' | b'\t' => i += 1,
                    0xEF if buf[i..].starts_with(&[0xEF, 0xBB, 0xBF]) => i += 3,
                    b',' if self.mode == Mode::Array => i += 1,
                    b'[' if self.mode == Mode::Start => {
                        self.mode = Mode::Array;
                        i += 1;
                    }
                    b']' if self.mode == Mode::Array => {
                        self.mode = Mode::Concat;
                        i += 1;
                    }
                    _ => break,
                }
            }
            if i >= buf.len() {
                self.line = line;
                return buf.len();
            }
            if self.mode == Mode::Start {
                self.mode = Mode::Concat;
            }
            let start = i;
            let start_line = line;
            match scan_value(buf, start, self.mode == Mode::Concat) {
                Scan::Complete { end, newlines } => {
                    out.push(Piece {
                        start,
                        end,
                        line: start_line,
                    });
                    line += newlines;
                    i = end;
                }
                Scan::Cut { end, newlines } => {
                    out.push(Piece {
                        start,
                        end,
                        line: start_line,
                    });
                    line += newlines;
                    i = end;
                }
                Scan::Incomplete => {
                    if eof {
                        out.push(Piece {
                            start,
                            end: buf.len(),
                            line: start_line,
                        });
                        line += memchr::memchr_iter(b'\n', &buf[start..]).count() as u64;
                        self.line = line;
                        return buf.len();
                    }
                    self.line = line;
                    return start;
                }
            }
        }
    }
}

enum Scan {
    Complete {
        end: usize,
        newlines: u64,
    },
    /// Ended early at a line that starts a new event.
    Cut {
        end: usize,
        newlines: u64,
    },
    Incomplete,
}

fn scan_value(buf: &[u8], start: usize, resync: bool) -> Scan {
    let first = buf[start];
    let mut newlines = 0u64;
    if first != b'{' && first != b'[' {
        // A scalar or garbage: it runs to the end of the line.
        return match memchr::memchr(b'\n', &buf[start..]) {
            Some(k) => Scan::Complete {
                end: start + k,
                newlines: 0,
            },
            None => Scan::Incomplete,
        };
    }
    let mut depth = 0usize;
    let mut in_str = false;
    let mut i = start;
    while i < buf.len() {
        let c = buf[i];
        if in_str {
            match c {
                b'\\' => i += 1,
                b'"' => in_str = false,
                b'\n' => {
                    newlines += 1;
                    if resync && buf.get(i + 1) == Some(&b'{') {
                        return Scan::Cut {
                            end: i,
                            newlines: newlines - 1,
                        };
                    }
                }
                _ => {}
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Scan::Complete {
                            end: i + 1,
                            newlines,
                        };
                    }
                }
                b'\n' => {
                    newlines += 1;
                    if resync && buf.get(i + 1) == Some(&b'{') {
                        return Scan::Cut {
                            end: i,
                            newlines: newlines - 1,
                        };
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    Scan::Incomplete
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(json: &str) -> Event {
        let mut ev = Event::default();
        let mut sc = Scratch {
            keep_paths: true,
            ..Scratch::default()
        };
        flatten(json.as_bytes(), &mut ev, &mut sc).unwrap();
        ev
    }

    #[test]
    fn paths_are_kept_only_on_request() {
        let mut ev = Event::default();
        let json = br#"{"Event":{"EventData":{"CommandLine":"x"}},"a":{"b":1}}"#;
        flatten(json, &mut ev, &mut Scratch::default()).unwrap();
        let cl = ev
            .fields
            .iter()
            .find(|f| ev.name(f) == "CommandLine")
            .unwrap();
        assert_eq!(ev.path(cl), "CommandLine");
        assert_eq!(ev.get("a.b"), Some("1"));
    }

    #[test]
    fn evtx_shape_is_flattened_to_sigma_names() {
        let ev = flat(
            r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"G"}},
            "EventID":1,"TimeCreated":{"#attributes":{"SystemTime":"2025-11-27T07:40:10.165324Z"}},"Channel":"Microsoft-Windows-Sysmon/Operational",
            "Computer":"host1","Correlation":null,"Security":{"#attributes":{"UserID":"S-1-5-18"}}},
            "EventData":{"CommandLine":"cmd.exe /c \"x\\y\"","ProcessId":4460,"Threat Name":"Evil"}}}"##,
        );
        assert_eq!(ev.get("Provider_Name"), Some("Microsoft-Windows-Sysmon"));
        assert_eq!(ev.get("EventID"), Some("1"));
        assert_eq!(
            ev.get("TimeCreated_SystemTime"),
            Some("2025-11-27T07:40:10.165324Z")
        );
        assert_eq!(ev.get("Security_UserID"), Some("S-1-5-18"));
        assert_eq!(ev.get("CommandLine"), Some(r##"cmd.exe /c "x\y""##));
        assert_eq!(ev.get("ThreatName"), Some("Evil"));
        assert_eq!(ev.get("Correlation"), None);
        assert!(
            ev.fields
                .iter()
                .any(|f| ev.name(f) == "Correlation" && f.kind == Kind::Null)
        );
        let cl = ev
            .fields
            .iter()
            .find(|f| ev.name(f) == "CommandLine")
            .unwrap();
        assert_eq!(ev.path(cl), "Event.EventData.CommandLine");
        assert_eq!(cl.section, Section::EventData);
        let pid = ev
            .fields
            .iter()
            .find(|f| ev.name(f) == "ProcessId")
            .unwrap();
        assert_eq!(pid.kind, Kind::Num);
        assert!(!ev.fields.iter().any(|f| ev.name(f) == "xmlns"));
        assert_eq!(ev.event_id(), Some(1));
        assert_eq!(ev.channel(), Some("Microsoft-Windows-Sysmon/Operational"));
    }

    #[test]
    fn event_id_with_qualifiers_and_userdata() {
        let ev = flat(
            r##"{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7045}},
            "UserData":{"Operation_ClientFailure":{"#attributes":{"xmlns":"u"},"Operation":"Start"}}}}"##,
        );
        assert_eq!(ev.get("EventID"), Some("7045"));
        assert_eq!(ev.get("EventID_Qualifiers"), Some("16384"));
        assert_eq!(ev.get("Operation"), Some("Start"));
    }

    #[test]
    fn unnamed_data_array_keeps_every_element() {
        let ev = flat(r##"{"Event":{"EventData":{"Data":["a","b"]}}}"##);
        let data: Vec<&str> = ev
            .fields
            .iter()
            .filter(|f| ev.name(f) == "Data")
            .map(|f| ev.value(f))
            .collect();
        assert_eq!(data, vec!["a", "b"]);
    }

    #[test]
    fn winlogbeat_and_generic_shapes() {
        let ev = flat(
            r##"{"@timestamp":"2024-01-01T00:00:00Z","winlog":{"channel":"Security","event_id":4624,"computer_name":"dc1","event_data":{"LogonType":"3"}},"host":{"name":"dc1"}}"##,
        );
        assert_eq!(ev.get("Channel"), Some("Security"));
        assert_eq!(ev.get("EventID"), Some("4624"));
        assert_eq!(ev.get("LogonType"), Some("3"));
        assert_eq!(ev.get("host.name"), Some("dc1"));
        assert_eq!(ev.find_timestamp(), Some(1_704_067_200_000_000_000));
        let okta = flat(
            r##"{"eventType":"user.session.start","actor":{"alternateId":"j@x"},"a":[{"b":1},{"b":2}]}"##,
        );
        assert_eq!(okta.get("actor.alternateId"), Some("j@x"));
        assert_eq!(
            okta.fields.iter().filter(|f| okta.name(f) == "a.b").count(),
            2
        );
    }

    #[test]
    fn escapes_and_unicode() {
        let ev = flat(r##"{"a":"\u00e9\ud83d\ude00\n\t\/","b":"\ud800x"}"##);
        assert_eq!(ev.get("a"), Some("é😀\n\t/"));
        assert_eq!(ev.get("b"), Some("\u{FFFD}x"));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            "",
            "[1]",
            "{",
            "{\"a\"",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":tru}",
            "{\"a\":\"x}",
            "{\"a\":1} x",
            "{\"a\":-}",
            "{\"a\":01x}",
            "{\"a\":\"\\q\"}",
            "{\"a\":\"\\u12\"}",
        ] {
            let mut ev = Event::default();
            assert!(
                flatten(bad.as_bytes(), &mut ev, &mut Scratch::default()).is_err(),
                "{bad}"
            );
        }
        let deep = "{\"a\":".repeat(100) + "1" + &"}".repeat(100);
        let mut ev = Event::default();
        assert!(flatten(deep.as_bytes(), &mut ev, &mut Scratch::default()).is_err());
        let mut ev = Event::default();
        assert!(flatten(&[b'{', 0xff, b'}'], &mut ev, &mut Scratch::default()).is_err());
    }

    #[test]
    fn round_trip_to_json() {
        let ev = flat(r##"{"a":"x\"y","n":1.5,"b":true,"z":null,"l":[1,2]}"##);
        let out = ev.to_json_object();
        assert_eq!(out, r##"{"a":"x\"y","n":1.5,"b":true,"z":null,"l":[1,2]}"##);
    }

    fn pieces(text: &str) -> Vec<(String, u64)> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        let n = s.split(text.as_bytes(), true, &mut out);
        assert_eq!(n, text.len());
        out.iter()
            .map(|p| (text[p.start..p.end].to_string(), p.line))
            .collect()
    }

    #[test]
    fn splitter_handles_lines_arrays_and_pretty_objects() {
        assert_eq!(
            pieces("{\"a\":1}\n{\"a\":2}\n"),
            vec![("{\"a\":1}".into(), 1), ("{\"a\":2}".into(), 2)]
        );
        assert_eq!(
            pieces("[\n {\"a\":1},\n {\"a\":\"]\"}\n]\n"),
            vec![("{\"a\":1}".into(), 2), ("{\"a\":\"]\"}".into(), 3)]
        );
        assert_eq!(
            pieces("{\n  \"a\": {\n    \"b\": 1\n  }\n}\n{\n  \"c\": 2\n}\n"),
            vec![
                ("{\n  \"a\": {\n    \"b\": 1\n  }\n}".into(), 1),
                ("{\n  \"c\": 2\n}".into(), 6)
            ]
        );
    }

    #[test]
    fn splitter_recovers_after_a_truncated_line() {
        let p = pieces("{\"a\":1}\n{\"a\":\"trunc\n{\"a\":3}\n{\"a\":4\n{\"a\":5}");
        assert_eq!(p.len(), 5);
        assert_eq!(p[1], ("{\"a\":\"trunc".into(), 2));
        assert_eq!(p[2], ("{\"a\":3}".into(), 3));
        assert_eq!(p[3], ("{\"a\":4".into(), 4));
        assert_eq!(p[4], ("{\"a\":5}".into(), 5));
    }

    #[test]
    fn splitter_streams_across_buffers() {
        let text = b"{\"a\":1}\n{\"a\":22}\n{\"a\":3}";
        let mut s = Splitter::default();
        let mut out = Vec::new();
        let consumed = s.split(&text[..12], false, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(consumed, 8);
        out.clear();
        let rest = &text[consumed..];
        let n = s.split(rest, true, &mut out);
        assert_eq!(n, rest.len());
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].line, 2);
        assert_eq!(out[1].line, 3);
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[test]
    fn gate_stops_after_system() {
        let json = br##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Channel":"X","EventID":1},"EventData":{"A":"b"}}}"##;
        let mut ev = Event::default();
        let mut calls = 0;
        flatten_gated(json, &mut ev, &mut Scratch::default(), None, &mut |e, _| {
            calls += 1;
            assert_eq!(e.get("Channel"), Some("X"));
            Gate::Skip
        })
        .unwrap();
        assert_eq!(calls, 1);
        assert!(ev.partial);
        assert_eq!(ev.get("A"), None);
        let mut ev = Event::default();
        flatten_gated(json, &mut ev, &mut Scratch::default(), None, &mut |_, _| {
            Gate::All
        })
        .unwrap();
        assert!(!ev.partial);
        assert_eq!(ev.get("A"), Some("b"));
    }

    struct Known(Vec<&'static str>);
    impl Resolver for Known {
        fn sym(&self, name: &str) -> Option<u32> {
            self.0.iter().position(|n| *n == name).map(|p| p as u32)
        }
    }

    #[test]
    fn referenced_mode_keeps_named_fields_and_system() {
        let r = Known(vec!["EventID", "B"]);
        let mut sc = Scratch::default();
        for round in 0..3 {
            // The third round changes the template.
            let json: &[u8] = if round < 2 {
                br##"{"Event":{"System":{"Channel":"X","EventID":1},"EventData":{"A":"a","B":"b"}}}"##
            } else {
                br##"{"Event":{"System":{"Channel":"X","EventID":1},"EventData":{"B":"b2","C":"c"}}}"##
            };
            let mut ev = Event::default();
            flatten_gated(json, &mut ev, &mut sc, Some(&r), &mut |_, _| {
                Gate::Referenced
            })
            .unwrap();
            assert!(ev.trimmed && ev.resolved);
            assert_eq!(ev.get("Channel"), Some("X"), "System is always kept");
            assert_eq!(ev.get("A"), None);
            assert_eq!(ev.get("C"), None);
            let b = ev.fields.iter().find(|f| ev.name(f) == "B").unwrap();
            assert_eq!(b.sym, 1);
            assert_eq!(ev.value(b), if round < 2 { "b" } else { "b2" });
            let id = ev.fields.iter().find(|f| ev.name(f) == "EventID").unwrap();
            assert_eq!(id.sym, 0);
            let ch = ev.fields.iter().find(|f| ev.name(f) == "Channel").unwrap();
            assert_eq!(ch.sym, NO_SYM);
        }
    }
}

#[cfg(test)]
mod oracle_tests {
    use super::*;

    /// Strings of every length up to 40 with quotes, backslashes and non-ASCII at every
    /// position decode exactly as serde_json decodes them.
    #[test]
    fn string_scanning_matches_serde_json() {
        let pieces = ["a", "\"", "\\", "é", "\n", "/", "\u{1F600}", "x y"];
        let mut seed = 7u64;
        for len in 0..40 {
            for _ in 0..20 {
                let mut value = String::new();
                for _ in 0..len {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    value.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
                }
                let json = serde_json::json!({ "k": value, "after": 1 }).to_string();
                let mut ev = Event::default();
                flatten(json.as_bytes(), &mut ev, &mut Scratch::default()).unwrap();
                assert_eq!(ev.get("k"), Some(value.as_str()), "{json}");
                assert_eq!(ev.get("after"), Some("1"));
            }
        }
    }
}
