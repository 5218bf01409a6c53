//! One record per line.

use super::{Framer, Piece, skip_line};

/// Lines ending in LF or CRLF; blank lines are not records. A UTF-8 byte-order mark before the
/// first line is dropped.
#[derive(Debug)]
pub struct LineFramer {
    line: u64,
    dropping: bool,
    started: bool,
}

impl Default for LineFramer {
    fn default() -> Self {
        LineFramer {
            line: 1,
            dropping: false,
            started: false,
        }
    }
}

impl Framer for LineFramer {
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
            if ended {
                self.dropping = false;
                self.line += 1;
            } else {
                if eof {
                    self.dropping = false;
                }
                return buf.len();
            }
        }
        while i < buf.len() {
            let Some(k) = memchr::memchr(b'\n', &buf[i..]) else {
                if eof {
                    push(out, buf, i, buf.len(), self.line);
                    return buf.len();
                }
                return i;
            };
            push(out, buf, i, i + k, self.line);
            self.line += 1;
            i += k + 1;
        }
        i
    }

    fn position(&self) -> u64 {
        self.line
    }

    fn drop_record(&mut self) {
        self.dropping = true;
    }
}

fn push(out: &mut Vec<Piece>, buf: &[u8], start: usize, mut end: usize, line: u64) {
    if end > start && buf[end - 1] == b'\r' {
        end -= 1;
    }
    if buf[start..end].iter().all(u8::is_ascii_whitespace) {
        return;
    }
    out.push(Piece { start, end, line });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<(String, u64)> {
        let mut f = LineFramer::default();
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
    fn lines_across_buffers() {
        let got = lines(&[b"\xEF\xBB\xBFa 1\r\nb", b" 2\n\n  \nc 3", b""]);
        assert_eq!(
            got,
            vec![("a 1".into(), 1), ("b 2".into(), 2), ("c 3".into(), 5)]
        );
    }

    #[test]
    fn dropping_skips_to_the_next_line() {
        let mut f = LineFramer::default();
        let mut out = Vec::new();
        f.drop_record();
        assert_eq!(f.split(b"xxxxxxxx", false, &mut out), 8);
        assert_eq!(f.split(b"xx\nok\n", false, &mut out), 6);
        assert_eq!(
            out,
            vec![Piece {
                start: 3,
                end: 5,
                line: 2
            }]
        );
    }
}
