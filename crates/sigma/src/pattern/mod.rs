//! Compiled value matchers: what one Sigma value becomes after its modifiers, and how it is
//! tested against one event value.
//!
//! String matching is done on case-folded text (both sides folded the same way, character by
//! character, so that "contains" survives folding); `cased` and `re` look at the original text.

use memchr::memmem;
use std::borrow::Cow;
use std::net::IpAddr;

/// The five characters `windash` treats as interchangeable.
pub const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Folds case character by character, one character to one character: each character becomes
/// its lowercase form when that is a single character, and stays as it is otherwise (`İ`).
/// Unlike `str::to_lowercase` it ignores context (Greek final sigma). Both keep "a contains b"
/// and "`?` is one character" true after folding.
#[inline]
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// Folds a string with [`fold_char`].
pub fn fold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        let mut out = String::with_capacity(s.len());
        fold_into(s, &mut out);
        Cow::Owned(out)
    }
}

/// Appends the folded form of `s` to `out`.
pub fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        // SAFETY-free: ASCII lowercasing keeps UTF-8 valid.
        out[start..].make_ascii_lowercase();
    } else {
        out.extend(s.chars().map(fold_char));
    }
}

/// One element of a parsed Sigma string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum P {
    /// One character.
    Char(char),
    /// `*`: any run of characters, newlines included.
    Star,
    /// `?`: exactly one character.
    One,
    /// One of [`DASHES`] (from `windash`).
    Dash,
}

/// Parses a Sigma string: `*` and `?` are wildcards, `\*`, `\?` and `\\` are their literals, and
/// a backslash before anything else is itself literal (so `C:\Windows` needs no escaping).
pub fn parse_sigma_string(raw: &str) -> Vec<P> {
    let mut out = Vec::with_capacity(raw.len());
    let mut escaped = false;
    for c in raw.chars() {
        if escaped {
            match c {
                '*' | '?' | '\\' => out.push(P::Char(c)),
                _ => {
                    out.push(P::Char('\\'));
                    out.push(P::Char(c));
                }
            }
            escaped = false;
        } else {
            match c {
                '\\' => escaped = true,
                '*' => out.push(P::Star),
                '?' => out.push(P::One),
                _ => out.push(P::Char(c)),
            }
        }
    }
    if escaped {
        out.push(P::Char('\\'));
    }
    out
}

/// A literal string as pattern elements (no wildcard interpretation).
pub fn literal(s: &str) -> Vec<P> {
    s.chars().map(P::Char).collect()
}

/// True when the pattern has wildcards or dash classes.
pub fn has_wildcards(p: &[P]) -> bool {
    p.iter().any(|x| !matches!(x, P::Char(_)))
}

/// The literal text of a pattern with no wildcards.
pub fn literal_text(p: &[P]) -> Option<String> {
    p.iter()
        .map(|x| match x {
            P::Char(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// Replaces command-line flag dashes by the dash class: a `-`, `/` or other dash that is not
/// preceded by a word character and is followed by one (`\B[-/]\b`), so `ms-settings` stays.
pub fn windash(p: &[P]) -> Vec<P> {
    let is_word = |x: Option<&P>| matches!(x, Some(P::Char(c)) if c.is_alphanumeric() || *c == '_');
    let mut out = p.to_vec();
    for i in 0..p.len() {
        if let P::Char(c) = p[i]
            && DASHES.contains(&c)
            && !is_word(if i == 0 { None } else { p.get(i - 1) })
            && is_word(p.get(i + 1))
        {
            out[i] = P::Dash;
        }
    }
    out
}

/// Adds a leading and trailing `*` unless already there.
pub fn contains(mut p: Vec<P>) -> Vec<P> {
    if p.first() != Some(&P::Star) {
        p.insert(0, P::Star);
    }
    if p.last() != Some(&P::Star) {
        p.push(P::Star);
    }
    p
}

/// The pattern followed by anything (`startswith`).
pub fn startswith(mut p: Vec<P>) -> Vec<P> {
    if p.last() != Some(&P::Star) {
        p.push(P::Star);
    }
    p
}

/// Anything followed by the pattern (`endswith`).
pub fn endswith(mut p: Vec<P>) -> Vec<P> {
    if p.first() != Some(&P::Star) {
        p.insert(0, P::Star);
    }
    p
}

/// Standard Base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// The three Base64 fragments that appear when `data` sits at offset 0, 1 or 2 (mod 3) of a
/// longer encoded text: the stable middle of each encoding, without the characters that depend
/// on the neighbouring bytes.
pub fn base64_offsets(data: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|i| {
            let mut padded = vec![b' '; i];
            padded.extend_from_slice(data);
            let enc = base64(&padded);
            let cut_end = END[(data.len() + i) % 3];
            let end = enc.len().saturating_sub(cut_end);
            enc.get(START[i]..end.max(START[i]))
                .unwrap_or("")
                .to_string()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// UTF-16 encodings for the `wide`/`utf16*` modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utf16 {
    /// Little-endian (`utf16le`, `wide`).
    Le,
    /// Big-endian (`utf16be`).
    Be,
    /// Byte-order mark then little-endian.
    Bom,
}

/// The UTF-16 encoding of `s`.
pub fn utf16(s: &str, enc: Utf16) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 2 + 2);
    if enc == Utf16::Bom {
        out.extend_from_slice(&[0xFF, 0xFE]);
    }
    for u in s.encode_utf16() {
        match enc {
            Utf16::Be => out.extend_from_slice(&u.to_be_bytes()),
            _ => out.extend_from_slice(&u.to_le_bytes()),
        }
    }
    out
}

/// How a string pattern is tested.
#[derive(Debug, Clone)]
pub enum StrKind {
    /// The whole value.
    Exact(String),
    /// Anywhere in the value.
    Contains(Box<memmem::Finder<'static>>),
    /// At the start.
    Prefix(String),
    /// At the end.
    Suffix(String),
    /// `*`: any string.
    Any,
    /// A pattern with wildcards.
    Glob(Glob),
}

/// A string or wildcard pattern.
#[derive(Debug, Clone)]
pub struct StrMatcher {
    /// How the value is compared.
    pub kind: StrKind,
    /// Compare against the original text instead of the folded one.
    pub cased: bool,
    /// Set when the rule value was a number: numeric event values then compare as numbers.
    pub number: Option<f64>,
    /// The pattern as folded text, for the prefilter and explanations.
    pub source: Vec<P>,
}

impl StrMatcher {
    /// Builds a matcher from pattern elements; folds them unless `cased`.
    pub fn new(p: Vec<P>, cased: bool, number: Option<f64>) -> StrMatcher {
        let p = if cased { p } else { fold_pattern(&p) };
        // Runs of stars are one star.
        let mut norm: Vec<P> = Vec::with_capacity(p.len());
        for x in p {
            if x == P::Star && norm.last() == Some(&P::Star) {
                continue;
            }
            norm.push(x);
        }
        let kind = classify(&norm);
        StrMatcher {
            kind,
            cased,
            number,
            source: norm,
        }
    }

    /// Tests `text`, which must be the folded text unless the matcher is cased.
    #[inline]
    pub fn is_match(&self, text: &str) -> bool {
        match &self.kind {
            StrKind::Exact(s) => text == s,
            StrKind::Contains(f) => f.find(text.as_bytes()).is_some(),
            StrKind::Prefix(s) => text.starts_with(s.as_str()),
            StrKind::Suffix(s) => text.ends_with(s.as_str()),
            StrKind::Any => true,
            StrKind::Glob(g) => g.is_match(text),
        }
    }

    /// The longest literal run, a substring every matching (folded) text must contain.
    pub fn longest_literal(&self) -> String {
        let mut best = String::new();
        let mut cur = String::new();
        for x in &self.source {
            match x {
                P::Char(c) => cur.push(*c),
                _ => {
                    if cur.len() > best.len() {
                        best = std::mem::take(&mut cur);
                    }
                    cur.clear();
                }
            }
        }
        if cur.len() > best.len() {
            best = cur;
        }
        if self.cased {
            fold(&best).into_owned()
        } else {
            best
        }
    }
}

fn fold_pattern(p: &[P]) -> Vec<P> {
    let mut out = Vec::with_capacity(p.len());
    for x in p {
        match x {
            P::Char(c) => out.push(P::Char(fold_char(*c))),
            other => out.push(*other),
        }
    }
    out
}

fn classify(p: &[P]) -> StrKind {
    let lits: Vec<usize> = p
        .iter()
        .enumerate()
        .filter(|(_, x)| !matches!(x, P::Char(_)))
        .map(|(i, _)| i)
        .collect();
    let text = |range: &[P]| -> String {
        range
            .iter()
            .map(|x| match x {
                P::Char(c) => *c,
                _ => unreachable!(),
            })
            .collect()
    };
    let n = p.len();
    let only_stars = lits.iter().all(|&i| p[i] == P::Star);
    if lits.is_empty() {
        return StrKind::Exact(text(p));
    }
    if only_stars {
        match lits.as_slice() {
            [0] if n == 1 => return StrKind::Any,
            [0] => return StrKind::Suffix(text(&p[1..])),
            [i] if *i == n - 1 => return StrKind::Prefix(text(&p[..n - 1])),
            [0, j] if *j == n - 1 => {
                let t = text(&p[1..n - 1]);
                return StrKind::Contains(Box::new(memmem::Finder::new(t.as_bytes()).into_owned()));
            }
            _ => {}
        }
    }
    StrKind::Glob(Glob::new(p))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Lit(String),
    One,
    Dash,
}

/// A wildcard pattern, matched without backtracking blow-up: segments between stars are
/// placed leftmost-first, which is exact because each segment has a fixed length in characters.
#[derive(Debug, Clone)]
pub struct Glob {
    segs: Vec<Vec<Atom>>,
    anchored_start: bool,
    anchored_end: bool,
}

impl Glob {
    fn new(p: &[P]) -> Glob {
        let mut segs: Vec<Vec<Atom>> = vec![Vec::new()];
        for x in p {
            match x {
                P::Star => segs.push(Vec::new()),
                P::One => segs.last_mut().unwrap().push(Atom::One),
                P::Dash => segs.last_mut().unwrap().push(Atom::Dash),
                P::Char(c) => {
                    let seg = segs.last_mut().unwrap();
                    if let Some(Atom::Lit(s)) = seg.last_mut() {
                        s.push(*c);
                    } else {
                        seg.push(Atom::Lit(c.to_string()));
                    }
                }
            }
        }
        Glob {
            anchored_start: p.first() != Some(&P::Star),
            anchored_end: p.last() != Some(&P::Star),
            segs,
        }
    }

    fn match_at(seg: &[Atom], text: &str, mut i: usize) -> Option<usize> {
        for a in seg {
            match a {
                Atom::Lit(s) => {
                    if text.get(i..)?.starts_with(s.as_str()) {
                        i += s.len();
                    } else {
                        return None;
                    }
                }
                Atom::One => {
                    let c = text.get(i..)?.chars().next()?;
                    i += c.len_utf8();
                }
                Atom::Dash => {
                    let c = text.get(i..)?.chars().next()?;
                    if !DASHES.contains(&c) {
                        return None;
                    }
                    i += c.len_utf8();
                }
            }
        }
        Some(i)
    }

    fn char_len(seg: &[Atom]) -> usize {
        seg.iter()
            .map(|a| match a {
                Atom::Lit(s) => s.chars().count(),
                _ => 1,
            })
            .sum()
    }

    /// Leftmost position at or after `from` where `seg` matches; returns its end.
    fn find(seg: &[Atom], text: &str, from: usize) -> Option<usize> {
        if seg.is_empty() {
            return Some(from);
        }
        if let Some(Atom::Lit(first)) = seg.first() {
            let mut start = from;
            while let Some(off) = memmem::find(text.as_bytes().get(start..)?, first.as_bytes()) {
                let at = start + off;
                if let Some(end) = Self::match_at(seg, text, at) {
                    return Some(end);
                }
                start = at + text[at..].chars().next().map_or(1, |c| c.len_utf8());
            }
            return None;
        }
        let mut at = from;
        loop {
            if let Some(end) = Self::match_at(seg, text, at) {
                return Some(end);
            }
            let c = text.get(at..)?.chars().next()?;
            at += c.len_utf8();
        }
    }

    /// Whether `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        let n = self.segs.len();
        if n == 1 {
            return Self::match_at(&self.segs[0], text, 0) == Some(text.len());
        }
        let mut pos = 0;
        let mut middle = &self.segs[..];
        if self.anchored_start {
            match Self::match_at(&self.segs[0], text, 0) {
                Some(end) => pos = end,
                None => return false,
            }
            middle = &middle[1..];
        }
        let last = if self.anchored_end {
            let l = &self.segs[n - 1];
            middle = &middle[..middle.len() - 1];
            Some(l)
        } else {
            None
        };
        for seg in middle {
            match Self::find(seg, text, pos) {
                Some(end) => pos = end,
                None => return false,
            }
        }
        match last {
            None => true,
            Some(seg) => {
                // Step back over the segment's characters from the end of the text.
                let k = Self::char_len(seg);
                let mut start = text.len();
                for _ in 0..k {
                    match text[..start].chars().next_back() {
                        Some(c) => start -= c.len_utf8(),
                        None => return false,
                    }
                }
                start >= pos && Self::match_at(seg, text, start) == Some(text.len())
            }
        }
    }
}

/// A network for the `cidr` modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8` or `fe80::/10`.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Cidr { addr, prefix })
    }

    /// True when `text` is an address inside the network. IPv4-mapped IPv6 addresses
    /// (`::ffff:10.1.2.3`, common in Sysmon) count as their IPv4 address.
    pub fn contains(&self, text: &str) -> bool {
        let t = text.trim();
        let t = t
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(t);
        // Zone ids (`fe80::1%12`) are not part of the address.
        let t = t.split('%').next().unwrap_or(t);
        let Ok(ip) = t.parse::<IpAddr>() else {
            return false;
        };
        let ip = match ip {
            IpAddr::V6(v6) if self.addr.is_ipv4() => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            other => other,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix)
                };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix)
                };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Numeric comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumOp {
    /// Equal.
    Eq,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
}

impl NumOp {
    /// Whether `a op b` holds.
    pub fn test(self, a: f64, b: f64) -> bool {
        match self {
            NumOp::Eq => a == b,
            NumOp::Gt => a > b,
            NumOp::Gte => a >= b,
            NumOp::Lt => a < b,
            NumOp::Lte => a <= b,
        }
    }
}

/// Parts of a timestamp for the time modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePart {
    /// Minute of the hour.
    Minute,
    /// Hour of the day.
    Hour,
    /// Day of the month.
    Day,
    /// Week of the year.
    Week,
    /// Month of the year.
    Month,
    /// The year.
    Year,
}

/// Extracts a part of a timestamp written as `YYYY-MM-DD[T ]HH:MM[:SS...]`; no time-zone
/// conversion, as the specification says.
pub fn time_part(text: &str, part: TimePart) -> Option<i64> {
    let b = text.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = b.get(r)?;
        if !s.iter().all(|c| c.is_ascii_digit()) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let time = || -> Option<(i64, i64)> {
        if b.len() < 16 || !(b[10] == b'T' || b[10] == b' ') || b[13] != b':' {
            return None;
        }
        Some((num(11..13)?, num(14..16)?))
    };
    match part {
        TimePart::Year => Some(y),
        TimePart::Month => Some(m),
        TimePart::Day => Some(d),
        TimePart::Hour => time().map(|t| t.0),
        TimePart::Minute => time().map(|t| t.1),
        TimePart::Week => {
            let date = jiff_free_iso_week(y, m, d)?;
            Some(date)
        }
    }
}

/// ISO 8601 week number of a calendar date.
fn jiff_free_iso_week(y: i64, m: i64, d: i64) -> Option<i64> {
    let days_before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let ordinal = days_before[(m - 1) as usize] + d + if m > 2 && leap(y) { 1 } else { 0 };
    // Day of week, Monday = 1 ... Sunday = 7 (Zeller-free: days since 0001-01-01 was Monday).
    let days_from_civil = |y: i64, m: i64, d: i64| -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468
    };
    let wd = (days_from_civil(y, m, d) + 3).rem_euclid(7) + 1; // 1970-01-01 was a Thursday
    let week = (ordinal - wd + 10) / 7;
    let weeks_in = |y: i64| {
        let p = |y: i64| (y + y / 4 - y / 100 + y / 400) % 7;
        if p(y) == 4 || p(y - 1) == 3 { 53 } else { 52 }
    };
    Some(if week < 1 {
        weeks_in(y - 1)
    } else if week > weeks_in(y) {
        1
    } else {
        week
    })
}

#[cfg(test)]
mod tests;
