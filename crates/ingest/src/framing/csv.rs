//! CSV rows: a row ends at a line break outside double quotes, so a quoted value may hold line
//! breaks (PostgreSQL's csvlog writes multi-line messages and statements that way).

use super::{Framer, Piece, skip_line};

/// CSV rows; see the module documentation.
#[derive(Debug)]
pub struct CsvRows {
    line: u64,
    dropping: bool,
}

impl Default for CsvRows {
    fn default() -> Self {
        CsvRows {
            line: 1,
            dropping: false,
        }
    }
}

impl Framer for CsvRows {
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
        if self.line == 1 && buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            i = i.max(3);
        }
        loop {
            // One row from `i`: quotes are balanced at its end.
            let (mut k, mut quoted, mut newlines) = (i, false, 0u64);
            let end = loop {
                match memchr::memchr2(b'"', b'\n', &buf[k..]) {
                    Some(d) => {
                        k += d;
                        if buf[k] == b'"' {
                            quoted = !quoted;
                        } else if quoted {
                            newlines += 1;
                        } else {
                            break Some(k);
                        }
                        k += 1;
                    }
                    None => break None,
                }
            };
            match end {
                Some(e) => {
                    push(out, buf, i, e, self.line);
                    self.line += newlines + 1;
                    i = e + 1;
                }
                None if eof => {
                    if i < buf.len() {
                        push(out, buf, i, buf.len(), self.line);
                        self.line += newlines;
                    }
                    return buf.len();
                }
                None => return i,
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

fn push(out: &mut Vec<Piece>, buf: &[u8], start: usize, mut end: usize, line: u64) {
    if end > start && buf[end - 1] == b'\r' {
        end -= 1;
    }
    if !buf[start..end].iter().all(u8::is_ascii_whitespace) {
        out.push(Piece { start, end, line });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_line_breaks_stay_in_their_row_across_buffers() {
        let text = b"a,\"x\ny\",1\r\n\nb,\"\"\"q\"\"\",2\nc,\"open";
        let mut f = CsvRows::default();
        let mut out = Vec::new();
        // Cut inside the quoted line break, then the rest.
        let used = f.split(&text[..5], false, &mut out);
        assert_eq!((used, out.len()), (0, 0));
        let used = f.split(text, false, &mut out);
        let rows: Vec<(&[u8], u64)> = out
            .iter()
            .map(|p| (&text[p.start..p.end], p.line))
            .collect();
        assert_eq!(
            rows,
            [(&b"a,\"x\ny\",1"[..], 1), (&b"b,\"\"\"q\"\"\",2"[..], 4)]
        );
        let mut rest = Vec::new();
        f.split(&text[used..], true, &mut rest);
        assert_eq!(&text[used + rest[0].start..used + rest[0].end], b"c,\"open");
        assert_eq!(rest[0].line, 5);
    }
}
