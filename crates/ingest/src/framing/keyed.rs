//! Lines grouped by a key: consecutive lines with the same key are one record, as the records
//! of one audit event share `msg=audit(time:serial)`. A line without a key is a record alone.

use super::{Framer, Piece, skip_line};

/// Most lines one record may gather (a runaway key cannot make a record of a whole file).
const MAX_LINES: usize = 4096;

/// The record being gathered: its start, first line, the end of its last line, the range of
/// its key in the buffer, and how many lines it has.
type Group = (usize, u64, usize, Option<(usize, usize)>, usize);

/// A key-grouping framer; see the module documentation.
#[derive(Debug)]
pub struct KeyedLines {
    key: fn(&[u8]) -> Option<&[u8]>,
    line: u64,
    dropping: bool,
}

impl KeyedLines {
    /// Lines are grouped by `key`.
    pub fn new(key: fn(&[u8]) -> Option<&[u8]>) -> KeyedLines {
        KeyedLines {
            key,
            line: 1,
            dropping: false,
        }
    }
}

impl Framer for KeyedLines {
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
        let mut open: Option<Group> = None;
        let close = |out: &mut Vec<Piece>, o: Group| {
            out.push(Piece {
                start: o.0,
                end: o.2,
                line: o.1,
            })
        };
        while i < buf.len() {
            let (end, next) = match memchr::memchr(b'\n', &buf[i..]) {
                Some(k) => (i + k, i + k + 1),
                None if eof => (buf.len(), buf.len()),
                None => break,
            };
            let mut e = end;
            if e > i && buf[e - 1] == b'\r' {
                e -= 1;
            }
            let text = &buf[i..e];
            if text.iter().all(u8::is_ascii_whitespace) {
                if let Some(o) = open.take() {
                    close(out, o);
                }
            } else {
                let key = (self.key)(text).map(|k| {
                    let s = k.as_ptr() as usize - buf.as_ptr() as usize;
                    (s, s + k.len())
                });
                let same = match (&open, key) {
                    (Some((.., Some((a, b)), n)), Some((c, d))) => {
                        buf[*a..*b] == buf[c..d] && *n < MAX_LINES
                    }
                    _ => false,
                };
                if same {
                    if let Some(o) = open.as_mut() {
                        o.2 = e;
                        o.4 += 1;
                    }
                } else {
                    if let Some(o) = open.take() {
                        close(out, o);
                    }
                    open = Some((i, line, e, key, 1));
                }
            }
            i = next;
            line += 1;
        }
        match open {
            // The group may go on in the next buffer.
            Some((start, first, ..)) if !eof => {
                self.line = first;
                start
            }
            Some(o) => {
                close(out, o);
                self.line = line;
                buf.len()
            }
            None => {
                self.line = line;
                i
            }
        }
    }

    fn position(&self) -> u64 {
        self.line
    }

    fn drop_record(&mut self) {
        self.dropping = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(l: &[u8]) -> Option<&[u8]> {
        l.split(|b| *b == b' ').next().filter(|k| !k.is_empty())
    }

    #[test]
    fn consecutive_lines_with_one_key_are_one_record() {
        let mut f = KeyedLines::new(key);
        let text = b"a 1\na 2\nb 3\n\nb 4\na 5";
        let mut out = Vec::new();
        let used = f.split(text, false, &mut out);
        // The last group may continue: it is left for the next call.
        assert_eq!(used, 13);
        let used2 = f.split(&text[used..], true, &mut out);
        assert_eq!(used + used2, text.len());
        let got: Vec<(&str, u64)> = out
            .iter()
            .enumerate()
            .map(|(n, p)| {
                let base = if n < 2 { 0 } else { used };
                (
                    std::str::from_utf8(&text[base + p.start..base + p.end]).unwrap(),
                    p.line,
                )
            })
            .collect();
        assert_eq!(got, [("a 1\na 2", 1), ("b 3", 3), ("b 4", 5), ("a 5", 6)]);
    }
}
