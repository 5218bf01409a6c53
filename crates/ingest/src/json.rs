//! JSON events: a flattening parser that writes leaves straight into an [`Event`], a splitter
//! that finds the events in JSON lines, arrays and concatenated pretty-printed objects, and
//! the small writers the outputs share.
//!
//! Field names follow the source's shape: evtx_dump/`evtx` JSON (`Event.System`,
//! `Event.EventData`, `Event.UserData`), Winlogbeat (`winlog.*`), and anything else by dotted
//! path. The same parser handles records from EVTX files, so both input paths agree.

use crate::event::{Event, Kind, Section};
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
    let text = std::str::from_utf8(input).map_err(|e| JsonError {
        offset: e.valid_up_to(),
        message: "invalid UTF-8".into(),
    })?;
    scratch.path.clear();
    scratch.comps.clear();
    let mut p = Parser {
        s: text,
        b: input,
        i: 0,
        ev,
        sc: scratch,
    };
    p.ws();
    if p.peek() != Some(b'{') {
        return Err(p.err("an event must be a JSON object"));
    }
    p.value(0)?;
    p.ws();
    if p.i != p.b.len() {
        return Err(p.err("unexpected text after the end of the object"));
    }
    Ok(())
}

/// Reusable buffers for [`flatten`].
#[derive(Debug, Default)]
pub struct Scratch {
    path: String,
    /// (start, len) of each path component inside `path`.
    comps: Vec<(u32, u32)>,
    name: String,
    value: String,
}

struct Parser<'a, 'e> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    ev: &'e mut Event,
    sc: &'e mut Scratch,
}

impl Parser<'_, '_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
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

    fn expect(&mut self, c: u8) -> Result<(), JsonError> {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested deeper than 64 levels"));
        }
        self.ws();
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected a key"));
                    }
                    let path_len = self.sc.path.len();
                    if !self.sc.comps.is_empty() {
                        self.sc.path.push('.');
                    }
                    let start = self.sc.path.len();
                    self.string_into_path()?;
                    let len = self.sc.path.len() - start;
                    self.sc.comps.push((start as u32, len as u32));
                    self.expect(b':')?;
                    self.value(depth + 1)?;
                    self.sc.comps.pop();
                    self.sc.path.truncate(path_len);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.value(depth + 1)?;
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
                let mut v = std::mem::take(&mut self.sc.value);
                v.clear();
                let r = self.string_into(&mut v);
                if r.is_ok() {
                    self.leaf(&v, Kind::Str);
                }
                self.sc.value = v;
                r
            }
            Some(b't') => self.literal("true", Kind::Bool),
            Some(b'f') => self.literal("false", Kind::Bool),
            Some(b'n') => self.literal("null", Kind::Null),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                self.i += 1;
                while let Some(c) = self.peek() {
                    if c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-') {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                let num = &self.s[start..self.i];
                if !is_json_number(num) {
                    self.i = start;
                    return Err(self.err("invalid number"));
                }
                self.leaf(num, Kind::Num);
                Ok(())
            }
            Some(_) => Err(self.err("unexpected character")),
            None => Err(self.err("unexpected end of input")),
        }
    }

    fn literal(&mut self, word: &'static str, kind: Kind) -> Result<(), JsonError> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            self.leaf(if kind == Kind::Null { "" } else { word }, kind);
            Ok(())
        } else {
            Err(self.err("invalid literal"))
        }
    }

    /// Reads a string (at `"`) and appends its unescaped text to the path buffer.
    fn string_into_path(&mut self) -> Result<(), JsonError> {
        let mut p = std::mem::take(&mut self.sc.path);
        let r = self.string_into(&mut p);
        self.sc.path = p;
        r
    }

    fn string_into(&mut self, out: &mut String) -> Result<(), JsonError> {
        self.i += 1; // opening quote
        loop {
            let rest = &self.b[self.i..];
            let Some(k) = memchr::memchr2(b'"', b'\\', rest) else {
                return Err(self.err("unterminated string"));
            };
            out.push_str(&self.s[self.i..self.i + k]);
            self.i += k;
            if self.b[self.i] == b'"' {
                self.i += 1;
                return Ok(());
            }
            // backslash escape
            let Some(&e) = self.b.get(self.i + 1) else {
                return Err(self.err("unterminated escape"));
            };
            self.i += 2;
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
                    let hi = self.hex4()?;
                    let c = if (0xD800..0xDC00).contains(&hi) {
                        if self.b.get(self.i) == Some(&b'\\') && self.b.get(self.i + 1) == Some(&b'u')
                        {
                            self.i += 2;
                            let lo = self.hex4()?;
                            if (0xDC00..0xE000).contains(&lo) {
                                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            } else {
                                None
                            }
                        } else {
                            None
                        }
                    } else {
                        char::from_u32(hi)
                    };
                    out.push(c.unwrap_or('\u{FFFD}'));
                }
                _ => return Err(self.err("invalid escape")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.err("invalid \\u escape"))?;
        self.i += 4;
        Ok(h)
    }

    fn leaf(&mut self, value: &str, kind: Kind) {
        let sc = &mut *self.sc;
        let comps: smallvec_free::Comps = smallvec_free::Comps::new(&sc.path, &sc.comps);
        sc.name.clear();
        let section = match name_for(&comps, &mut sc.name) {
            Some(s) => s,
            None => return,
        };
        let path = sc.path.as_str();
        if sc.name.is_empty() {
            self.ev.push(path, path, value, kind, section);
        } else {
            self.ev.push(&sc.name, path, value, kind, section);
        }
    }
}

/// Path components without allocation: slices of the path buffer.
mod smallvec_free {
    pub struct Comps<'a> {
        path: &'a str,
        spans: &'a [(u32, u32)],
    }
    impl<'a> Comps<'a> {
        pub fn new(path: &'a str, spans: &'a [(u32, u32)]) -> Self {
            Comps { path, spans }
        }
        #[inline]
        pub fn len(&self) -> usize {
            self.spans.len()
        }
        #[inline]
        pub fn get(&self, i: usize) -> &'a str {
            let (s, l) = self.spans[i];
            &self.path[s as usize..(s + l) as usize]
        }
    }
}

fn push_name(out: &mut String, part: &str) {
    if part.contains(' ') {
        out.extend(part.chars().filter(|c| *c != ' '));
    } else {
        out.push_str(part);
    }
}

/// Computes the Sigma name of a leaf into `out` (left empty when the name is the dotted path
/// itself). `None` drops the leaf (XML namespace declarations).
fn name_for(c: &smallvec_free::Comps<'_>, out: &mut String) -> Option<Section> {
    let n = c.len();
    if n == 0 {
        return Some(Section::Other);
    }
    let is_part = |s: &str| {
        matches!(
            s,
            "System" | "EventData" | "UserData" | "RenderingInfo" | "ProcessingErrorData" | "DebugData"
        )
    };
    let base = if n >= 2 && c.get(0) == "Event" && is_part(c.get(1)) {
        1
    } else if is_part(c.get(0)) {
        0
    } else if c.get(0) == "winlog" {
        return winlog_name(c, out);
    } else {
        return Some(Section::Other);
    };
    let part = c.get(base);
    let rest = base + 1;
    match part {
        "System" => {
            // Provider.#attributes.Name -> Provider_Name; EventID.#text -> EventID
            for i in rest..n {
                let p = c.get(i);
                if p == "#text" || p == "#attributes" {
                    continue;
                }
                let p = p.strip_suffix("_attributes").unwrap_or(p);
                if !out.is_empty() {
                    out.push('_');
                }
                push_name(out, p);
            }
            if out.is_empty() {
                out.push_str("System");
            }
            Some(Section::System)
        }
        _ => {
            let section = match part {
                "EventData" => Section::EventData,
                "UserData" => Section::UserData,
                _ => Section::Other,
            };
            let mut last = None;
            let mut attr = false;
            for i in rest..n {
                let p = c.get(i);
                if p == "#text" {
                    continue;
                }
                if p == "#attributes" {
                    attr = true;
                    continue;
                }
                last = Some((i, p));
            }
            match last {
                None => out.push_str(part),
                Some((i, p)) => {
                    if attr && p == "xmlns" {
                        return None;
                    }
                    if attr && i == rest + 1 && c.get(rest) == "#attributes" {
                        // An attribute of the EventData/UserData element itself.
                        out.push_str(part);
                        out.push('_');
                    }
                    push_name(out, p.strip_suffix("_attributes").unwrap_or(p));
                }
            }
            Some(section)
        }
    }
}

/// Winlogbeat/Elastic Agent: `winlog.event_data.X` and the `winlog` metadata named as the
/// EVTX System fields they are.
fn winlog_name(c: &smallvec_free::Comps<'_>, out: &mut String) -> Option<Section> {
    let n = c.len();
    if n >= 3 && (c.get(1) == "event_data" || c.get(1) == "user_data") {
        push_name(out, c.get(n - 1));
        return Some(if c.get(1) == "event_data" {
            Section::EventData
        } else {
            Section::UserData
        });
    }
    let mapped = match (n, c.get(1)) {
        (2, "channel") => "Channel",
        (2, "event_id") => "EventID",
        (2, "computer_name") => "Computer",
        (2, "provider_name") => "Provider_Name",
        (2, "provider_guid") => "Provider_Guid",
        (2, "record_id") => "EventRecordID",
        (2, "task") => "Task",
        (2, "opcode") => "Opcode",
        (2, "version") => "Version",
        (3, "process") if c.get(2) == "pid" => "Execution_ProcessID",
        (3, "user") if c.get(2) == "identifier" => "Security_UserID",
        _ => return Some(Section::Other),
    };
    out.push_str(mapped);
    Some(Section::System)
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
    Complete { end: usize, newlines: u64 },
    /// Ended early at a line that starts a new event.
    Cut { end: usize, newlines: u64 },
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
                        return Scan::Cut { end: i, newlines: newlines - 1 };
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
                        return Scan::Cut { end: i, newlines: newlines - 1 };
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
        flatten(json.as_bytes(), &mut ev, &mut Scratch::default()).unwrap();
        ev
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
        assert_eq!(ev.get("TimeCreated_SystemTime"), Some("2025-11-27T07:40:10.165324Z"));
        assert_eq!(ev.get("Security_UserID"), Some("S-1-5-18"));
        assert_eq!(ev.get("CommandLine"), Some(r##"cmd.exe /c "x\y""##));
        assert_eq!(ev.get("ThreatName"), Some("Evil"));
        assert_eq!(ev.get("Correlation"), None);
        assert!(ev.fields.iter().any(|f| ev.name(f) == "Correlation" && f.kind == Kind::Null));
        let cl = ev.fields.iter().find(|f| ev.name(f) == "CommandLine").unwrap();
        assert_eq!(ev.path(cl), "Event.EventData.CommandLine");
        assert_eq!(cl.section, Section::EventData);
        let pid = ev.fields.iter().find(|f| ev.name(f) == "ProcessId").unwrap();
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
        let okta = flat(r##"{"eventType":"user.session.start","actor":{"alternateId":"j@x"},"a":[{"b":1},{"b":2}]}"##);
        assert_eq!(okta.get("actor.alternateId"), Some("j@x"));
        assert_eq!(okta.fields.iter().filter(|f| okta.name(f) == "a.b").count(), 2);
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
            "", "[1]", "{", "{\"a\"", "{\"a\":}", "{\"a\":1,}", "{\"a\":tru}", "{\"a\":\"x}",
            "{\"a\":1} x", "{\"a\":-}", "{\"a\":01x}", "{\"a\":\"\\q\"}", "{\"a\":\"\\u12\"}",
        ] {
            let mut ev = Event::default();
            assert!(flatten(bad.as_bytes(), &mut ev, &mut Scratch::default()).is_err(), "{bad}");
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
