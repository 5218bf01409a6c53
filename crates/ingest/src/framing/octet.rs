//! RFC 6587 octet counting, with LF-terminated frames accepted where no length is given.

use super::{Framer, Piece, skip_line};

/// Frames `LEN SP MSG` (LEN: decimal, no leading zero), back to back or separated by line
/// breaks; a frame that does not start with a length runs to the end of its line
/// (non-transparent framing), as syslog receivers accept both on one connection.
#[derive(Debug)]
pub struct OctetFramer {
    frame: u64,
    /// Bytes of a dropped octet-counted frame still to skip.
    skip: u64,
    /// Dropping an LF-terminated frame.
    dropping_line: bool,
    /// Length of the frame at the start of the unconsumed input, when it has one.
    pending_len: Option<u64>,
}

impl Default for OctetFramer {
    fn default() -> Self {
        OctetFramer {
            frame: 1,
            skip: 0,
            dropping_line: false,
            pending_len: None,
        }
    }
}

/// The length prefix at the start of `buf`: `Some(Ok((len, header bytes)))`, `Some(Err(()))`
/// when `buf` does not start with one, `None` when more bytes are needed to tell.
fn length(buf: &[u8]) -> Option<Result<(u64, usize), ()>> {
    match buf.first() {
        None => return None,
        Some(b'1'..=b'9') => {}
        Some(_) => return Some(Err(())),
    }
    let mut len: u64 = 0;
    for (i, &c) in buf.iter().enumerate() {
        match c {
            b'0'..=b'9' if i < 19 => len = len * 10 + (c - b'0') as u64,
            b' ' => return Some(Ok((len, i + 1))),
            _ => return Some(Err(())),
        }
    }
    None
}

impl Framer for OctetFramer {
    fn split(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Piece>) -> usize {
        let mut i = 0;
        if self.skip > 0 {
            let n = (self.skip.min((buf.len()) as u64)) as usize;
            self.skip -= n as u64;
            i += n;
            if self.skip > 0 {
                return buf.len();
            }
            self.frame += 1;
        }
        if self.dropping_line {
            let (n, ended) = skip_line(&buf[i..]);
            i += n;
            if !ended && !eof {
                return buf.len();
            }
            self.dropping_line = false;
            self.frame += 1;
        }
        self.pending_len = None;
        loop {
            while i < buf.len() && matches!(buf[i], b'\n' | b'\r' | b' ' | b'\t') {
                i += 1;
            }
            if i >= buf.len() {
                return buf.len();
            }
            match length(&buf[i..]) {
                None if !eof => return i,
                Some(Ok((len, head))) => {
                    let start = i + head;
                    let avail = (buf.len() - start) as u64;
                    if avail < len {
                        if eof {
                            out.push(Piece {
                                start,
                                end: buf.len(),
                                line: self.frame,
                            });
                            self.frame += 1;
                            return buf.len();
                        }
                        self.pending_len = Some(len + head as u64);
                        return i;
                    }
                    let end = start + len as usize;
                    out.push(Piece {
                        start,
                        end,
                        line: self.frame,
                    });
                    self.frame += 1;
                    i = end;
                }
                _ => match memchr::memchr(b'\n', &buf[i..]) {
                    Some(k) => {
                        let mut end = i + k;
                        if end > i && buf[end - 1] == b'\r' {
                            end -= 1;
                        }
                        out.push(Piece {
                            start: i,
                            end,
                            line: self.frame,
                        });
                        self.frame += 1;
                        i += k + 1;
                    }
                    None if eof => {
                        out.push(Piece {
                            start: i,
                            end: buf.len(),
                            line: self.frame,
                        });
                        self.frame += 1;
                        return buf.len();
                    }
                    None => return i,
                },
            }
        }
    }

    fn position(&self) -> u64 {
        self.frame
    }

    fn drop_record(&mut self) {
        match self.pending_len.take() {
            Some(total) => self.skip = total,
            None => self.dropping_line = true,
        }
    }

    fn unit(&self) -> &'static str {
        "frame"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(text: &[u8], cut: usize) -> Vec<(Vec<u8>, u64)> {
        let mut f = OctetFramer::default();
        let mut out = Vec::new();
        let used = f.split(&text[..cut], false, &mut out);
        let mut got: Vec<(Vec<u8>, u64)> = out
            .iter()
            .map(|p| (text[p.start..p.end].to_vec(), p.line))
            .collect();
        out.clear();
        let rest = &text[used..];
        assert_eq!(f.split(rest, true, &mut out), rest.len());
        got.extend(out.iter().map(|p| (rest[p.start..p.end].to_vec(), p.line)));
        got
    }

    #[test]
    fn counted_and_lf_frames_mix() {
        let counted = |m: &str| format!("{} {m}", m.len());
        let text = format!(
            "{}{}\n<14>plain line\r\n{}",
            counted("<13>hello\nx"),
            counted("<13>a\nb\ncd\n"),
            counted("ab\ncd")
        );
        let text = text.as_bytes();
        for cut in 0..text.len() {
            let got = frames(text, cut);
            let want: Vec<(Vec<u8>, u64)> = vec![
                (b"<13>hello\nx".to_vec(), 1),
                (b"<13>a\nb\ncd\n".to_vec(), 2),
                (b"<14>plain line".to_vec(), 3),
                (b"ab\ncd".to_vec(), 4),
            ];
            assert_eq!(got, want, "cut at {cut}");
        }
    }

    #[test]
    fn a_dropped_counted_frame_is_skipped_exactly() {
        let mut f = OctetFramer::default();
        let mut out = Vec::new();
        assert_eq!(f.split(b"20 0123456789", false, &mut out), 0);
        f.drop_record();
        assert_eq!(f.split(b"20 0123456789", false, &mut out), 13);
        assert_eq!(f.split(b"01234567893 abc", true, &mut out), 15);
        assert_eq!(
            out,
            vec![Piece {
                start: 12,
                end: 15,
                line: 2
            }]
        );
    }
}
