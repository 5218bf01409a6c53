//! JSON text as a stream of events.

use super::{Framer, Piece, skip_line};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Start,
    /// Values separated by whitespace: JSON lines or concatenated objects.
    Concat,
    /// Inside a top-level array: elements separated by commas.
    Array,
}

/// Finds top-level JSON values in a stream of text, chunk by chunk: JSON lines, a top-level
/// array of objects, or concatenated objects.
///
/// A new line that starts with `{` in column 0 always starts a new event, even if the previous
/// one is unbalanced: a truncated line in a JSON-lines file then costs only that line.
#[derive(Debug)]
pub struct JsonFramer {
    mode: Mode,
    /// Line number at the start of the unconsumed input.
    line: u64,
    /// Skipping a dropped record to the end of its line.
    dropping: bool,
    /// Keys of a wrapping object whose array holds the records (`{"Records": [...]}`).
    unwrap: &'static [&'static str],
    /// Inside such a wrapper: its closing `}` follows the array.
    wrapped: bool,
}

impl Default for JsonFramer {
    fn default() -> Self {
        JsonFramer {
            mode: Mode::Start,
            line: 1,
            dropping: false,
            unwrap: &[],
            wrapped: false,
        }
    }
}

impl JsonFramer {
    /// Also reads files that are one object whose first key is one of `keys` and whose value
    /// is the array of records, as CloudTrail (`{"Records": [...]}`) and Azure Monitor
    /// (`{"records": [...]}`) deliver them.
    pub fn unwrapping(keys: &'static [&'static str]) -> JsonFramer {
        JsonFramer {
            unwrap: keys,
            ..JsonFramer::default()
        }
    }
}

/// After a wrapper's array, at the `,` at `buf[i]`: the offset of the wrapper's closing `}`,
/// skipping its other members (`"NextToken": "..."`, `"@odata.nextLink": "..."`); `None` when
/// the buffer ends first.
fn skip_members(buf: &[u8], i: usize) -> Option<usize> {
    let (mut depth, mut k, mut quoted) = (0usize, i, false);
    while k < buf.len() {
        match buf[k] {
            b'\\' if quoted => k += 1,
            b'"' => quoted = !quoted,
            b'{' | b'[' if !quoted => depth += 1,
            b']' if !quoted => depth = depth.saturating_sub(1),
            b'}' if !quoted => {
                if depth == 0 {
                    return Some(k);
                }
                depth -= 1;
            }
            _ => {}
        }
        k += 1;
    }
    None
}

/// After `"key": scalar,` at `buf[j]` (a string, number, `true`, `false` or `null`): the
/// offset after the comma.
fn text_member(buf: &[u8], j: usize) -> Option<usize> {
    let string_end = |mut k: usize| -> Option<usize> {
        if buf.get(k) != Some(&b'"') {
            return None;
        }
        k += 1;
        while k < buf.len() {
            match buf[k] {
                b'\\' => k += 2,
                b'"' => return Some(k + 1),
                _ => k += 1,
            }
        }
        None
    };
    let skip = |mut k: usize| {
        while k < buf.len() && buf[k].is_ascii_whitespace() {
            k += 1;
        }
        k
    };
    let k = skip(string_end(j)?);
    (buf.get(k) == Some(&b':')).then_some(())?;
    let start = skip(k + 1);
    let end = match buf.get(start)? {
        b'"' => string_end(start)?,
        c if c.is_ascii_digit() || matches!(c, b'-' | b't' | b'f' | b'n') => {
            start
                + buf[start..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
                    .count()
        }
        _ => return None,
    };
    let v = skip(end);
    (buf.get(v) == Some(&b',')).then_some(v + 1)
}

/// After a `{` at `buf[i]`: the offset after `"key" : [` when `key` is one of `keys`;
/// `Err(())` when more input is needed to tell.
fn wrapper(buf: &[u8], i: usize, keys: &[&str], eof: bool) -> Result<Option<usize>, ()> {
    let skip = |mut j: usize| {
        while j < buf.len() && buf[j].is_ascii_whitespace() {
            j += 1;
        }
        j
    };
    let j = skip(i + 1);
    let Some(rest) = buf.get(j..) else {
        return if eof { Ok(None) } else { Err(()) };
    };
    if rest.len() < 64 && !eof && !rest.contains(&b'[') {
        return Err(());
    }
    // Members with text values may come first (`"@odata.context": "..."`); they are skipped.
    let mut j = j;
    for _ in 0..8 {
        let rest = &buf[j.min(buf.len())..];
        for k in keys {
            let quoted = [&b"\""[..], k.as_bytes(), &b"\""[..]].concat();
            if rest.starts_with(&quoted) {
                let c = skip(j + quoted.len());
                if buf.get(c) == Some(&b':') {
                    let a = skip(c + 1);
                    if buf.get(a) == Some(&b'[') {
                        return Ok(Some(a + 1));
                    }
                }
            }
        }
        match text_member(buf, j) {
            Some(next) => j = skip(next),
            None => break,
        }
    }
    Ok(None)
}

impl Framer for JsonFramer {
    fn position(&self) -> u64 {
        self.line
    }

    fn drop_record(&mut self) {
        self.dropping = true;
        if self.mode == Mode::Start {
            self.mode = Mode::Concat;
        }
    }

    fn split(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Piece>) -> usize {
        let mut i = 0;
        if self.dropping {
            let (n, ended) = skip_line(buf);
            if !ended {
                self.dropping = !eof;
                return buf.len();
            }
            self.dropping = false;
            self.line += 1;
            i = n;
        }
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
                    // After a wrapper's array: its other members, then its `}`; then another
                    // wrapper may follow (concatenated files, multi-member gzip).
                    b',' if self.wrapped && self.mode == Mode::Concat => {
                        match skip_members(buf, i) {
                            Some(end) => {
                                line += memchr::memchr_iter(b'\n', &buf[i..end]).count() as u64;
                                i = end;
                            }
                            None if !eof => {
                                self.line = line;
                                return i;
                            }
                            None => break,
                        }
                    }
                    b'}' if self.wrapped && self.mode == Mode::Concat => {
                        self.wrapped = false;
                        self.mode = Mode::Start;
                        i += 1;
                    }
                    b'{' if self.mode == Mode::Start && !self.unwrap.is_empty() => {
                        match wrapper(buf, i, self.unwrap, eof) {
                            Err(()) => {
                                self.line = line;
                                return i;
                            }
                            Ok(Some(after)) => {
                                line += memchr::memchr_iter(b'\n', &buf[i..after]).count() as u64;
                                self.mode = Mode::Array;
                                self.wrapped = true;
                                i = after;
                            }
                            Ok(None) => break,
                        }
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
                // A cut record is still handed on whole: decoding it reports the damage.
                Scan::Complete { end, newlines } | Scan::Cut { end, newlines } => {
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
        // A newline is the same inside a string or out: raw newlines are not valid in JSON
        // strings, so one followed by `{` may be where a damaged record ends.
        if c == b'\n' {
            newlines += 1;
            if resync && buf.get(i + 1) == Some(&b'{') {
                return Scan::Cut {
                    end: i,
                    newlines: newlines - 1,
                };
            }
        } else if in_str {
            match c {
                b'\\' => i += 1,
                b'"' => in_str = false,
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

    fn pieces(text: &str) -> Vec<(String, u64)> {
        let mut s = JsonFramer::default();
        let mut out = Vec::new();
        let n = s.split(text.as_bytes(), true, &mut out);
        assert_eq!(n, text.len());
        out.iter()
            .map(|p| (text[p.start..p.end].to_string(), p.line))
            .collect()
    }

    fn unwrapped(text: &str, chunk: usize) -> Vec<(String, u64)> {
        let mut f = JsonFramer::unwrapping(&["Records", "value", "Events"]);
        let (mut pending, mut got) = (Vec::new(), Vec::new());
        let bytes = text.as_bytes();
        let mut fed = 0;
        while fed < bytes.len() || !pending.is_empty() {
            let next = (fed + chunk).min(bytes.len());
            pending.extend_from_slice(&bytes[fed..next]);
            fed = next;
            let eof = fed == bytes.len();
            let mut out = Vec::new();
            let used = f.split(&pending, eof, &mut out);
            for p in &out {
                got.push((
                    String::from_utf8_lossy(&pending[p.start..p.end]).into_owned(),
                    p.line,
                ));
            }
            pending.drain(..used);
            if eof {
                break;
            }
        }
        got
    }

    #[test]
    fn wrappers_one_after_another_with_members_around_their_arrays() {
        // Two CloudTrail files concatenated (zcat *.json.gz), a lookup-events page with its
        // NextToken after the array, and a Graph page with a count before it.
        let text = concat!(
            "{\"Records\":[{\"a\":1},{\"a\":2}]}\n",
            "{\"Records\": [\n{\"a\":3}\n]}\n",
            "{\"Events\":[{\"a\":4}],\"NextToken\":\"x}y\",\"more\":{\"k\":[1]}}\n",
            "{\"@odata.context\":\"u\",\"@odata.count\":2,\"value\":[{\"a\":5}]}"
        );
        let want: Vec<(String, u64)> = vec![
            ("{\"a\":1}".into(), 1),
            ("{\"a\":2}".into(), 1),
            ("{\"a\":3}".into(), 3),
            ("{\"a\":4}".into(), 5),
            ("{\"a\":5}".into(), 6),
        ];
        for chunk in [1, 7, 64, 4096] {
            assert_eq!(unwrapped(text, chunk), want, "fed {chunk} bytes at a time");
        }
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
        let mut s = JsonFramer::default();
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

    #[test]
    fn a_dropped_record_is_skipped_to_the_end_of_its_line() {
        let mut s = JsonFramer::default();
        let mut out = Vec::new();
        s.drop_record();
        // The oversized record goes on across buffers.
        assert_eq!(s.split(b"{\"a\":\"xxxxxxxx", false, &mut out), 14);
        assert_eq!(s.split(b"xxxx", false, &mut out), 4);
        let rest = b"xx\"}\n{\"b\":1}\n";
        assert_eq!(s.split(rest, true, &mut out), rest.len());
        assert_eq!(out.len(), 1);
        assert_eq!(&rest[out[0].start..out[0].end], b"{\"b\":1}");
        assert_eq!(out[0].line, 2);
    }
}
