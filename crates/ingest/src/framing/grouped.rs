//! Lines grouped into records: a line that starts a record (by the format's own test) opens
//! one, and the lines after it that do not are part of it, as a message's continuation lines,
//! a `DETAIL:` or a stack trace are. Optionally, records that a writer put on one line without
//! a line break between them (rsyslog's forward formats) are cut apart where the next starts.

use super::{Framer, Piece, skip_line};

/// Most lines one record may gather; a longer run of continuation lines starts new records
/// (which then fail to decode, and are reported), so one missing header cannot swallow a file.
pub const MAX_LINES: usize = 512;

/// A line-grouping framer; see the module documentation.
#[derive(Debug)]
pub struct GroupedLines {
    starts: fn(&[u8]) -> bool,
    inner: Option<fn(&[u8]) -> bool>,
    line: u64,
    dropping: bool,
    started: bool,
}

impl GroupedLines {
    /// Records start at lines for which `starts` is true.
    pub fn new(starts: fn(&[u8]) -> bool) -> GroupedLines {
        GroupedLines {
            starts,
            inner: None,
            line: 1,
            dropping: false,
            started: false,
        }
    }

    /// Also cut records inside a line, before every `<` at which `inner` is true of the text
    /// from there to the end of the record.
    pub fn cut_inside(mut self, inner: fn(&[u8]) -> bool) -> GroupedLines {
        self.inner = Some(inner);
        self
    }

    fn emit(&self, out: &mut Vec<Piece>, buf: &[u8], start: usize, end: usize, line: u64) {
        let mut end = end;
        while end > start && matches!(buf[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        if buf[start..end].iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let Some(inner) = self.inner else {
            out.push(Piece { start, end, line });
            return;
        };
        let (mut from, mut line_at, mut from_line) = (start, line, line);
        for k in start + 1..end {
            match buf[k] {
                b'\n' => line_at += 1,
                b'<' if inner(&buf[k..end]) => {
                    out.push(Piece {
                        start: from,
                        end: trim_end(buf, from, k),
                        line: from_line,
                    });
                    from = k;
                    from_line = line_at;
                }
                _ => {}
            }
        }
        out.push(Piece {
            start: from,
            end,
            line: from_line,
        });
    }
}

fn trim_end(buf: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && matches!(buf[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    end
}

impl Framer for GroupedLines {
    fn split(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Piece>) -> usize {
        let mut i = 0;
        if !self.started && !buf.is_empty() {
            if buf.len() < 3 && !eof && [0xEF, 0xBB, 0xBF].starts_with(buf) {
                return 0;
            }
            self.started = true;
            if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
                i = 3;
            }
        }
        if self.dropping {
            let (n, ended) = skip_line(&buf[i..]);
            i += n;
            if !ended {
                self.dropping = !eof;
                return buf.len();
            }
            self.dropping = false;
            self.line += 1;
        }
        // The record being gathered: where it starts, its first line, how many lines so far.
        let mut open: Option<(usize, u64, usize)> = None;
        let mut line = self.line;
        while i < buf.len() {
            let Some(k) = memchr::memchr(b'\n', &buf[i..]) else {
                if !eof {
                    break;
                }
                k_end(self, out, buf, &mut open, i, buf.len(), line);
                i = buf.len();
                line += 1;
                break;
            };
            k_end(self, out, buf, &mut open, i, i + k + 1, line);
            i += k + 1;
            line += 1;
        }
        match open {
            Some((start, first, _)) if !eof => {
                // The record may go on in the next buffer.
                self.line = first;
                start
            }
            Some((start, first, _)) => {
                self.emit(out, buf, start, buf.len(), first);
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

/// Takes the line `buf[start..end]` into the open record, or closes that and opens another.
fn k_end(
    f: &GroupedLines,
    out: &mut Vec<Piece>,
    buf: &[u8],
    open: &mut Option<(usize, u64, usize)>,
    start: usize,
    end: usize,
    line: u64,
) {
    let text = &buf[start..end];
    let blank = text.iter().all(u8::is_ascii_whitespace);
    match open {
        Some((_, _, n)) if !blank && !(f.starts)(text) && *n < MAX_LINES => *n += 1,
        Some(_) if blank => {}
        _ => {
            if let Some((s, first, _)) = open.take() {
                f.emit(out, buf, s, start, first);
            }
            if !blank {
                *open = Some((start, line, 1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(l: &[u8]) -> bool {
        l.first().is_some_and(u8::is_ascii_digit)
    }

    fn inner(l: &[u8]) -> bool {
        l.len() > 2 && l[1].is_ascii_digit()
    }

    fn frame(f: &mut GroupedLines, chunks: &[&[u8]]) -> Vec<(String, u64)> {
        let mut pending: Vec<u8> = Vec::new();
        let mut got = Vec::new();
        for (n, c) in chunks.iter().enumerate() {
            pending.extend_from_slice(c);
            let mut out = Vec::new();
            let used = f.split(&pending, n + 1 == chunks.len(), &mut out);
            for p in &out {
                got.push((
                    String::from_utf8_lossy(&pending[p.start..p.end]).into_owned(),
                    p.line,
                ));
            }
            pending.drain(..used);
        }
        assert!(pending.is_empty());
        got
    }

    #[test]
    fn continuation_lines_join_their_record_across_buffers() {
        let mut f = GroupedLines::new(starts);
        let got = frame(
            &mut f,
            &[b"1 a\n  more\n2 b", b"\n\tand\n\n3 c\n", b"x\n", b""],
        );
        assert_eq!(
            got,
            [
                ("1 a\n  more".to_string(), 1),
                ("2 b\n\tand".to_string(), 3),
                ("3 c\nx".to_string(), 6)
            ]
        );
    }

    #[test]
    fn a_leading_continuation_is_a_record_of_its_own() {
        let mut f = GroupedLines::new(starts);
        let got = frame(&mut f, &[b"orphan\n1 a\n"]);
        assert_eq!(got, [("orphan".to_string(), 1), ("1 a".to_string(), 2)]);
    }

    #[test]
    fn records_on_one_line_are_cut_apart() {
        let mut f = GroupedLines::new(|l| l.starts_with(b"<")).cut_inside(inner);
        let got = frame(&mut f, &[b"<1>a b<2>c\nd<3>e\n<x> f\n"]);
        assert_eq!(
            got,
            [
                ("<1>a b".to_string(), 1),
                ("<2>c\nd".to_string(), 1),
                ("<3>e".to_string(), 2),
                ("<x> f".to_string(), 3)
            ]
        );
    }
}
