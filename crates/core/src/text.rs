//! Text on its way to a terminal. Log values, file names and rule fields are written by whoever
//! wrote the log or the rule; a control sequence among them could clear the screen, retitle
//! the window, write to the clipboard (OSC 52) or overwrite the line that says what was found.
//! Every piece of such text passes through [`terminal`] before it is printed.

use std::borrow::Cow;
use std::fmt::Write;

/// True for characters a terminal may act on instead of showing: C0 controls (tab and newline
/// included: a cell or a message is one line), DEL, C1 controls (8-bit CSI, OSC, DCS...), and
/// the Unicode bidirectional controls, which reorder what is shown around them.
fn acts(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every character a terminal could act on written as a visible escape (`\e` for
/// ESC, `\r`, `\n`, `\t`, `\b`, otherwise `\u{9b}`-style), so it shows as text.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(acts) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !acts(c) {
            out.push(c);
            continue;
        }
        match c {
            '\u{1b}' => out.push_str("\\e"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// `s` cut to at most `max` characters, with `…` and the number of characters left out when
/// it was longer: for echoing rule text (a 400 KB condition) in a message.
pub fn clip(s: &str, max: usize) -> Cow<'_, str> {
    let n = s.chars().count();
    if n <= max {
        return Cow::Borrowed(s);
    }
    let head: String = s.chars().take(max).collect();
    Cow::Owned(format!("{head}… ({} more characters)", n - max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_not_acted_on() {
        assert!(matches!(terminal("plain text é 日本"), Cow::Borrowed(_)));
        assert_eq!(
            terminal("\u{1b}[2J\u{1b}]0;title\u{7}"),
            "\\e[2J\\e]0;title\\u{7}"
        );
        assert_eq!(
            terminal("\u{1b}]52;c;ZXZpbA==\u{7}"),
            "\\e]52;c;ZXZpbA==\\u{7}"
        );
        assert_eq!(terminal("\u{1b}P1$r\u{1b}\\"), "\\eP1$r\\e\\");
        assert_eq!(terminal("a\u{9b}2Jb"), "a\\u{9b}2Jb");
        assert_eq!(terminal("found\rno detections"), "found\\rno detections");
        assert_eq!(terminal("abc\u{8}\u{8}\u{8}"), "abc\\b\\b\\b");
        assert_eq!(terminal("a\u{202e}cba"), "a\\u{202e}cba");
        assert_eq!(terminal("x\u{7f}"), "x\\u{7f}");
        assert_eq!(terminal("two\nlines\t"), "two\\nlines\\t");
    }

    #[test]
    fn clipping() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("abcdef", 3), "abc… (3 more characters)");
    }
}
