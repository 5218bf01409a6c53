//! The flattening parser itself: one pass over the bytes, scalars written straight into the
//! event, containers recursing with the naming context that [`super::shape`] computes.

use super::shape::Ctx;
use super::{JsonError, MAX_DEPTH, Scratch};
use dwell_core::{Event, Field, Gate, Kind, NO_SYM, Resolver, Section, Span};

pub(super) struct Parser<'a, 'e> {
    pub(super) s: &'a str,
    pub(super) b: &'a [u8],
    pub(super) i: usize,
    pub(super) ev: &'e mut Event,
    pub(super) sc: &'e mut Scratch,
    gate: &'e mut dyn FnMut(&Event, &[u8]) -> Gate,
    pub(super) resolver: Option<&'e dyn Resolver>,
    pub(super) mode: Gate,
    pub(super) halted: bool,
    /// Stopped to start again in full (see `flatten_gated`).
    pub(super) restart: bool,
    /// The gate has been asked.
    pub(super) gated: bool,
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

impl<'a, 'e> Parser<'a, 'e> {
    pub(super) fn new(
        s: &'a str,
        b: &'a [u8],
        ev: &'e mut Event,
        sc: &'e mut Scratch,
        gate: &'e mut dyn FnMut(&Event, &[u8]) -> Gate,
        resolver: Option<&'e dyn Resolver>,
        gated: bool,
    ) -> Self {
        Parser {
            s,
            b,
            i: 0,
            ev,
            sc,
            gate,
            resolver,
            mode: Gate::All,
            halted: false,
            restart: false,
            gated,
        }
    }

    /// Gives back the event and scratch (to parse again).
    pub(super) fn into_parts(self) -> (&'e mut Event, &'e mut Scratch) {
        (self.ev, self.sc)
    }

    #[inline]
    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline(always)]
    pub(super) fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    pub(super) fn err(&self, msg: &str) -> JsonError {
        JsonError {
            offset: self.i,
            message: msg.to_string(),
        }
    }

    /// Parses the value found under `key` (members of objects are parsed with the context
    /// `child(ctx, key)`; array elements keep the array's key).
    pub(super) fn value(&mut self, ctx: Ctx, key: &str, depth: usize) -> Result<(), JsonError> {
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
        if !dwell_core::json::is_number(&self.s[start..self.i]) {
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
        // EventData and UserData never play a role: a value there cannot pose as the stream.
        let role = if direct || matches!(ctx, Ctx::Part(..) | Ctx::Nested(..)) {
            None
        } else {
            self.sc.roles.of(name)
        };
        if sym == NO_SYM && role.is_none() && self.mode == Gate::Referenced {
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
        if let Some(r) = role {
            self.ev.set_role(r, self.ev.fields.len() - 1);
        }
    }
}

impl Parser<'_, '_> {
    pub(super) fn end(&mut self) -> Result<(), JsonError> {
        self.ws();
        if self.i != self.b.len() {
            return Err(self.err("unexpected text after the end of the object"));
        }
        Ok(())
    }
}

/// Decodes the escapes of a checked JSON string body.
pub(super) fn unescape(raw: &str, out: &mut String) {
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
