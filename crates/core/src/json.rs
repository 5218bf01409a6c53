//! The two JSON writing helpers every output shares: string literals and number checks.

use std::fmt::Write;

/// Appends `s` as a JSON string literal. Besides what JSON requires (quotes, backslashes and
/// C0 controls), DEL, the C1 controls (U+0080 to U+009F), the Unicode bidirectional controls
/// and the line and paragraph separators are written as `\u` escapes too: valid JSON either
/// way, and escaped they cannot act on, or reorder, a terminal that shows the output.
pub fn write_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Most bytes need nothing: skip them a run at a time.
        if !SPECIAL[bytes[i] as usize] {
            i += 1;
            continue;
        }
        let b = bytes[i];
        let (esc, width): (Option<&str>, usize) = match b {
            b'"' => (Some("\\\""), 1),
            b'\\' => (Some("\\\\"), 1),
            b'\n' => (Some("\\n"), 1),
            b'\r' => (Some("\\r"), 1),
            b'\t' => (Some("\\t"), 1),
            0..=0x1f | 0x7f => (None, 1),
            0xC2 if matches!(bytes.get(i + 1), Some(0x80..=0x9F)) => (None, 2),
            // U+200E, U+200F, U+2028 to U+202E, U+2066 to U+2069.
            0xE2 if matches!(
                (bytes.get(i + 1), bytes.get(i + 2)),
                (Some(0x80), Some(0x8E | 0x8F | 0xA8..=0xAE)) | (Some(0x81), Some(0xA6..=0xA9))
            ) =>
            {
                (None, 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[last..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let c = s[i..i + width].chars().next().unwrap_or('\u{FFFD}');
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        i += width;
        last = i;
    }
    out.push_str(&s[last..]);
    out.push('"');
}

/// Bytes that may need escaping: C0 controls, `"`, `\`, DEL, and the lead bytes of the
/// escaped C1 and Unicode controls.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[0x7f] = true;
    t[0xC2] = true;
    t[0xE2] = true;
    t
};

/// True when `s` is a JSON number literal.
pub fn is_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(b, i),
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        let end = digits(b, i + 1);
        if end == i + 1 {
            return false;
        }
        i = end;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits(b, i);
        if end == i {
            return false;
        }
        i = end;
    }
    i == b.len()
}

/// Where the run of ASCII digits starting at `i` ends.
fn digits(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> String {
        let mut out = String::new();
        write_string(&mut out, s);
        out
    }

    #[test]
    fn strings() {
        assert_eq!(lit("a\"b\\c\n\t"), r#""a\"b\\c\n\t""#);
        assert_eq!(lit("\u{1b}[2J"), r#""\u001b[2J""#);
        assert_eq!(lit("x\u{9b}31m\u{7f}é"), r#""x\u009b31m\u007fé""#);
        assert_eq!(lit("\u{a0}"), "\"\u{a0}\"", "U+00A0 is not a control");
        assert_eq!(
            lit("a\u{202e}b\u{2066}\u{2028}"),
            r#""a\u202eb\u2066\u2028""#
        );
        assert_eq!(lit("\u{2030}\u{2010}"), "\"\u{2030}\u{2010}\"");
    }

    #[test]
    fn numbers() {
        for ok in ["0", "-1", "1.5", "1e9", "-0.25E-3"] {
            assert!(is_number(ok), "{ok}");
        }
        for bad in [
            "", "-", "01", "1.", "1.e5", ".5", "1e", "1e+", "+1", "0x10", "NaN", "1 ",
        ] {
            assert!(!is_number(bad), "{bad}");
        }
    }
}
