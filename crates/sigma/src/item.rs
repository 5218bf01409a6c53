//! Detection items: one `field|modifiers: values` entry, compiled into value matchers.
//!
//! The modifier chain is applied in the order written. Expansions (`windash`, `base64offset`,
//! `expand`) turn one value into alternatives that stay grouped, so `all` ANDs the values and
//! never the variants of one value.

use crate::pattern::{self, Cidr, NumOp, P, StrMatcher, TimePart, Utf16};
use crate::yaml::{Node, Yaml};
use regex::{Regex, RegexBuilder};
use std::collections::HashMap;

/// One compiled value test.
#[derive(Debug, Clone)]
pub enum Matcher {
    Str(StrMatcher),
    /// `gt`, `gte`, `lt`, `lte`.
    Num {
        op: NumOp,
        value: f64,
    },
    Regex(Regex),
    Cidr(Cidr),
    /// `exists: true|false`.
    Exists(bool),
    /// `field: null`: absent, or present with a null value.
    Null,
    /// `fieldref`: compare with another field of the same event.
    FieldRef {
        field: String,
        mode: RefMode,
        cased: bool,
    },
    /// `minute`, `hour`, ... with an optional comparison.
    Time {
        part: TimePart,
        op: NumOp,
        value: f64,
    },
}

/// How a field reference compares the two values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefMode {
    Equal,
    Contains,
    Prefix,
    Suffix,
}

/// What kind of event value is being tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Str,
    Num,
    Bool,
    Null,
}

/// An event value as the matchers see it.
#[derive(Debug, Clone, Copy)]
pub struct Value<'a> {
    /// The value's text (numbers in the form they were written).
    pub raw: &'a str,
    /// The case-folded text (see [`pattern::fold`]).
    pub folded: &'a str,
    pub kind: ValueKind,
}

impl Matcher {
    /// Tests a present value. Field references are resolved by the caller, which sees the
    /// whole event; here they never match.
    #[inline]
    pub fn is_match(&self, v: &Value<'_>) -> bool {
        match self {
            Matcher::Str(m) => {
                if v.kind == ValueKind::Null {
                    return false;
                }
                // Integers in canonical form compare as text; other numeric forms (1.0,
                // 1e3) by value.
                if let (Some(n), ValueKind::Num) = (m.number, v.kind)
                    && v.raw.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
                    && let Ok(x) = v.raw.trim().parse::<f64>()
                {
                    return x == n;
                }
                m.is_match(if m.cased { v.raw } else { v.folded })
            }
            Matcher::Num { op, value } => {
                v.kind != ValueKind::Null
                    && v.raw
                        .trim()
                        .parse::<f64>()
                        .is_ok_and(|x| !x.is_nan() && op.test(x, *value))
            }
            Matcher::Regex(r) => v.kind != ValueKind::Null && r.is_match(v.raw),
            Matcher::Cidr(c) => v.kind != ValueKind::Null && c.contains(v.raw),
            Matcher::Exists(b) => *b,
            Matcher::Null => v.kind == ValueKind::Null,
            Matcher::FieldRef { .. } => false,
            Matcher::Time { part, op, value } => {
                pattern::time_part(v.raw, *part).is_some_and(|x| op.test(x as f64, *value))
            }
        }
    }

    /// The result when the field is absent from the event.
    #[inline]
    pub fn on_absent(&self) -> bool {
        match self {
            Matcher::Null => true,
            Matcher::Exists(b) => !*b,
            _ => false,
        }
    }
}

/// A compiled detection item.
#[derive(Debug, Clone)]
pub struct Item {
    /// The field, or `None` for a keyword search across the whole event.
    pub field: Option<String>,
    /// The values; each value is a group of alternatives, any of which may match.
    pub values: Vec<Vec<Matcher>>,
    /// AND over values instead of OR.
    pub all: bool,
    /// `neq`: the item's result is negated.
    pub negate: bool,
    /// The modifiers as written, for messages.
    pub modifiers: Vec<String>,
    pub line: u32,
}

/// Values for `%placeholder%` names used with `expand`.
#[derive(Debug, Clone, Default)]
pub struct Placeholders {
    pub values: HashMap<String, Vec<String>>,
    /// Replace unknown placeholders by `*` instead of rejecting the rule.
    pub wildcard_unknown: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Re,
    Cidr,
    Exists,
    FieldRef,
    Cmp(NumOp),
    Time(TimePart, NumOp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Contains,
    StartsWith,
    EndsWith,
    Windash,
    Base64,
    Base64Offset,
    Utf16(Utf16),
}

/// Most alternatives a single value may expand to.
const MAX_ALTERNATIVES: usize = 4096;

/// Compiles one `field|mods: values` entry.
pub fn compile_item(
    key: &str,
    value: &Node,
    placeholders: &Placeholders,
    warnings: &mut Vec<String>,
) -> Result<Item, String> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or("");
    let field = if field.is_empty() {
        None
    } else {
        Some(field.to_string())
    };
    let modifiers: Vec<String> = parts.map(|s| s.to_string()).collect();

    let mut kind = Kind::Plain;
    let mut steps = Vec::new();
    let (mut all, mut negate, mut cased, mut expand) = (false, false, false, false);
    let (mut re_i, mut re_m, mut re_s) = (false, false, false);
    let mut set_kind = |k: Kind, name: &str| -> Result<(), String> {
        match (kind, k) {
            (Kind::Plain, _) => {
                kind = k;
                Ok(())
            }
            (Kind::Time(p, NumOp::Eq), Kind::Cmp(op))
            | (Kind::Cmp(op), Kind::Time(p, NumOp::Eq)) => {
                kind = Kind::Time(p, op);
                Ok(())
            }
            _ => Err(format!(
                "modifier '{name}' cannot be combined with the other modifiers of '{key}'"
            )),
        }
    };
    for m in &modifiers {
        match m.as_str() {
            "" => return Err(format!("empty modifier in '{key}'")),
            "contains" => steps.push(Step::Contains),
            "startswith" => steps.push(Step::StartsWith),
            "endswith" => steps.push(Step::EndsWith),
            "windash" => steps.push(Step::Windash),
            "base64" => steps.push(Step::Base64),
            "base64offset" => steps.push(Step::Base64Offset),
            "utf16le" | "wide" => steps.push(Step::Utf16(Utf16::Le)),
            "utf16be" => steps.push(Step::Utf16(Utf16::Be)),
            "utf16" => steps.push(Step::Utf16(Utf16::Bom)),
            "all" => all = true,
            "neq" => negate = true,
            "cased" => cased = true,
            "expand" => expand = true,
            "i" | "ignorecase" => re_i = true,
            "m" | "multiline" => re_m = true,
            "s" | "dotall" => re_s = true,
            "re" => set_kind(Kind::Re, m)?,
            "cidr" => set_kind(Kind::Cidr, m)?,
            "exists" => set_kind(Kind::Exists, m)?,
            "fieldref" => set_kind(Kind::FieldRef, m)?,
            "gt" => set_kind(Kind::Cmp(NumOp::Gt), m)?,
            "gte" => set_kind(Kind::Cmp(NumOp::Gte), m)?,
            "lt" => set_kind(Kind::Cmp(NumOp::Lt), m)?,
            "lte" => set_kind(Kind::Cmp(NumOp::Lte), m)?,
            "minute" => set_kind(Kind::Time(TimePart::Minute, NumOp::Eq), m)?,
            "hour" => set_kind(Kind::Time(TimePart::Hour, NumOp::Eq), m)?,
            "day" => set_kind(Kind::Time(TimePart::Day, NumOp::Eq), m)?,
            "week" => set_kind(Kind::Time(TimePart::Week, NumOp::Eq), m)?,
            "month" => set_kind(Kind::Time(TimePart::Month, NumOp::Eq), m)?,
            "year" => set_kind(Kind::Time(TimePart::Year, NumOp::Eq), m)?,
            other => return Err(format!("unknown modifier '{other}' in '{key}'")),
        }
    }
    if (re_i || re_m || re_s) && kind != Kind::Re {
        return Err(format!(
            "the regular-expression flags i, m and s need the 're' modifier ('{key}')"
        ));
    }
    let encodes = steps
        .iter()
        .any(|s| !matches!(s, Step::Contains | Step::StartsWith | Step::EndsWith));
    let anchors = steps
        .iter()
        .any(|s| matches!(s, Step::Contains | Step::StartsWith | Step::EndsWith));
    match kind {
        Kind::Plain => {}
        Kind::Re | Kind::FieldRef if encodes => {
            return Err(format!(
                "encoding modifiers cannot be combined with '{}' in '{key}'",
                if kind == Kind::Re { "re" } else { "fieldref" }
            ));
        }
        Kind::Re | Kind::FieldRef => {}
        _ if !steps.is_empty() || expand => {
            return Err(format!(
                "string modifiers cannot be combined with a {} test in '{key}'",
                kind_name(kind)
            ));
        }
        _ => {}
    }
    if cased
        && matches!(
            kind,
            Kind::Cidr | Kind::Exists | Kind::Cmp(_) | Kind::Time(..)
        )
    {
        return Err(format!(
            "'cased' applies to string values only, not to a {} test in '{key}'",
            kind_name(kind)
        ));
    }
    if kind == Kind::Exists {
        if field.is_none() {
            return Err("'exists' needs a field name".into());
        }
        if all || negate {
            return Err(format!("'exists' takes no other modifiers ('{key}')"));
        }
    }
    if kind == Kind::Re && anchors {
        // `re` already searches anywhere; anchors only make sense as regex anchors.
    }

    let raw_values: Vec<&Node> = match &value.value {
        Yaml::Seq(items) => items.iter().collect(),
        Yaml::Map(_) => {
            return Err(format!(
                "the value of '{key}' is a map; a field takes a value or a list of values"
            ));
        }
        _ => vec![value],
    };
    if all && raw_values.len() == 1 {
        warnings.push(format!(
            "'all' on a single value in '{key}' (the specification forbids it; it is read as that one value)"
        ));
    }
    let has_null = raw_values.iter().any(|n| n.value == Yaml::Null);
    if has_null && raw_values.len() > 1 {
        warnings.push(format!(
            "null mixed with other values in '{key}' is read as one more alternative"
        ));
    }

    let mut values = Vec::with_capacity(raw_values.len());
    for node in raw_values {
        let alts = compile_value(
            node,
            &field,
            kind,
            &steps,
            Flags {
                cased,
                expand,
                re_i,
                re_m,
                re_s,
            },
            placeholders,
            key,
            warnings,
        )?;
        values.push(alts);
    }
    Ok(Item {
        field,
        values,
        all,
        negate,
        modifiers,
        line: value.line,
    })
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Plain => "string",
        Kind::Re => "regular-expression",
        Kind::Cidr => "cidr",
        Kind::Exists => "exists",
        Kind::FieldRef => "field-reference",
        Kind::Cmp(_) => "numeric",
        Kind::Time(..) => "time",
    }
}

#[derive(Clone, Copy)]
struct Flags {
    cased: bool,
    expand: bool,
    re_i: bool,
    re_m: bool,
    re_s: bool,
}

#[allow(clippy::too_many_arguments)]
fn compile_value(
    node: &Node,
    field: &Option<String>,
    kind: Kind,
    steps: &[Step],
    flags: Flags,
    placeholders: &Placeholders,
    key: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Matcher>, String> {
    let number = match node.value {
        Yaml::Int(i) => Some(i as f64),
        Yaml::Float(f) => Some(f),
        _ => None,
    };
    match (&node.value, kind) {
        (Yaml::Seq(_) | Yaml::Map(_), _) => {
            return Err(format!("'{key}' has a nested list or map as a value"));
        }
        (Yaml::Null, Kind::Plain) if steps.is_empty() && !flags.expand => {
            return Ok(vec![Matcher::Null]);
        }
        (Yaml::Null, _) => {
            return Err(format!("null cannot be used with the modifiers of '{key}'"));
        }
        (Yaml::Bool(b), Kind::Exists) => return Ok(vec![Matcher::Exists(*b)]),
        (_, Kind::Exists) => {
            return Err(format!(
                "'exists' takes true or false, not '{}'",
                node.scalar_text().unwrap_or_default()
            ));
        }
        (_, Kind::Cmp(op)) => {
            let value = numeric(node).ok_or_else(|| {
                format!(
                    "'{key}' compares numbers, but '{}' is not a number",
                    node.scalar_text().unwrap_or_default()
                )
            })?;
            return Ok(vec![Matcher::Num { op, value }]);
        }
        (_, Kind::Time(part, op)) => {
            let value = numeric(node).ok_or_else(|| {
                format!(
                    "'{key}' compares a part of a date, but '{}' is not a number",
                    node.scalar_text().unwrap_or_default()
                )
            })?;
            return Ok(vec![Matcher::Time { part, op, value }]);
        }
        _ => {}
    }
    let text = node.scalar_text().unwrap_or_default();
    match kind {
        Kind::Cidr => {
            let c = Cidr::parse(&text)
                .ok_or_else(|| format!("'{text}' is not a valid CIDR network ('{key}')"))?;
            return Ok(vec![Matcher::Cidr(c)]);
        }
        Kind::Re => {
            let mut pat = text.clone();
            let starts = steps.contains(&Step::StartsWith);
            let ends = steps.contains(&Step::EndsWith);
            if starts || ends {
                pat = format!(
                    "{}(?:{pat}){}",
                    if starts { "^" } else { "" },
                    if ends { "$" } else { "" }
                );
            }
            let re = RegexBuilder::new(&pat)
                .case_insensitive(flags.re_i)
                .multi_line(flags.re_m)
                .dot_matches_new_line(flags.re_s)
                .size_limit(10 << 20)
                .dfa_size_limit(2 << 20)
                .nest_limit(100)
                .build()
                .map_err(|e| {
                    format!(
                        "invalid regular expression in '{key}': {}",
                        one_line(&e.to_string())
                    )
                })?;
            return Ok(vec![Matcher::Regex(re)]);
        }
        Kind::FieldRef => {
            if field.is_none() {
                return Err("'fieldref' needs a field name".into());
            }
            if pattern::has_wildcards(&pattern::parse_sigma_string(&text)) {
                return Err(format!("a field reference cannot have wildcards ('{key}')"));
            }
            let mode = if steps.contains(&Step::Contains) {
                RefMode::Contains
            } else if steps.contains(&Step::StartsWith) {
                RefMode::Prefix
            } else if steps.contains(&Step::EndsWith) {
                RefMode::Suffix
            } else {
                RefMode::Equal
            };
            return Ok(vec![Matcher::FieldRef {
                field: text,
                mode,
                cased: flags.cased,
            }]);
        }
        _ => {}
    }

    // Plain strings, numbers and booleans: build patterns and run the chain.
    let raws = if flags.expand {
        match expand_placeholders(&text, placeholders).map_err(|e| format!("{e} ('{key}')"))? {
            Expanded::Values(v) => v,
            Expanded::Missing(names) => {
                // No value to expand to: the value has no alternatives and matches nothing,
                // so a filter using it excludes nothing and a selection needing it cannot
                // fire. The rule still loads, with a warning that says so.
                for name in names {
                    warnings.push(format!(
                        "unresolved placeholder %{name}% in '{key}' matches nothing (give it a value with --placeholder {name}=VALUE)"
                    ));
                }
                return Ok(Vec::new());
            }
        }
    } else {
        vec![text]
    };
    let plain = steps.is_empty() && !flags.expand;
    let mut alts: Vec<Vec<P>> = raws
        .iter()
        .map(|r| {
            if number.is_some() || matches!(node.value, Yaml::Bool(_)) {
                pattern::literal(r)
            } else {
                pattern::parse_sigma_string(r)
            }
        })
        .collect();
    // `encoded` marks patterns whose chars are bytes (after a UTF-16 step).
    let mut encoded = false;
    for step in steps {
        let mut next = Vec::with_capacity(alts.len());
        for p in alts {
            match step {
                Step::Contains => next.push(pattern::contains(p)),
                Step::StartsWith => next.push(pattern::startswith(p)),
                Step::EndsWith => next.push(pattern::endswith(p)),
                Step::Windash => next.push(pattern::windash(&p)),
                Step::Utf16(enc) => {
                    let mut out = Vec::with_capacity(p.len() * 2 + 2);
                    // The byte-order mark starts the value once; characters follow as LE.
                    let per_char = if *enc == Utf16::Bom {
                        out.push(P::Char('\u{ff}'));
                        out.push(P::Char('\u{fe}'));
                        Utf16::Le
                    } else {
                        *enc
                    };
                    for x in p {
                        match x {
                            P::Char(c) => {
                                let mut buf = [0u8; 4];
                                for b in pattern::utf16(c.encode_utf8(&mut buf), per_char) {
                                    out.push(P::Char(b as char));
                                }
                            }
                            other => out.push(other),
                        }
                    }
                    encoded = true;
                    next.push(out);
                }
                Step::Base64 | Step::Base64Offset => {
                    let lit = pattern::literal_text(&p).ok_or_else(|| {
                        format!("base64 cannot encode a value with wildcards ('{key}')")
                    })?;
                    let bytes: Vec<u8> = if encoded {
                        lit.chars().map(|c| c as u32 as u8).collect()
                    } else {
                        lit.into_bytes()
                    };
                    if *step == Step::Base64 {
                        next.push(pattern::literal(&pattern::base64(&bytes)));
                    } else {
                        for s in pattern::base64_offsets(&bytes) {
                            next.push(pattern::literal(&s));
                        }
                    }
                }
            }
            if next.len() > MAX_ALTERNATIVES {
                return Err(format!(
                    "'{key}' expands to more than {MAX_ALTERNATIVES} alternatives"
                ));
            }
        }
        if matches!(step, Step::Base64 | Step::Base64Offset) {
            encoded = false;
        }
        alts = next;
    }
    if field.is_none() {
        // Keywords are searched anywhere in a value.
        alts = alts.into_iter().map(pattern::contains).collect();
    }
    Ok(alts
        .into_iter()
        .map(|p| {
            Matcher::Str(StrMatcher::new(
                p,
                flags.cased,
                if plain { number } else { None },
            ))
        })
        .collect())
}

fn numeric(node: &Node) -> Option<f64> {
    match &node.value {
        Yaml::Int(i) => Some(*i as f64),
        Yaml::Float(f) if !f.is_nan() => Some(*f),
        Yaml::Str(s) => s.trim().parse::<f64>().ok().filter(|f| !f.is_nan()),
        _ => None,
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What expanding a value's placeholders gives.
#[derive(Debug, PartialEq, Eq)]
enum Expanded {
    /// Every combination of the placeholders' values.
    Values(Vec<String>),
    /// These placeholders have no value.
    Missing(Vec<String>),
}

/// Replaces `%name%` placeholders by each configured value. A `%` after an odd run of
/// backslashes is escaped: it stays a literal `%` (its escaping backslash is removed).
fn expand_placeholders(raw: &str, ph: &Placeholders) -> Result<Expanded, String> {
    let mut missing: Vec<String> = Vec::new();
    let mut out = vec![String::new()];
    let mut lit = String::new();
    let mut backslashes = 0usize;
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '%' {
            if backslashes % 2 == 1 {
                lit.pop();
                lit.push('%');
                backslashes = 0;
                continue;
            }
            let rest = &raw[i + 1..];
            let name_len = rest
                .find(|x: char| !(x.is_alphanumeric() || x == '_'))
                .unwrap_or(rest.len());
            if name_len > 0 && rest[name_len..].starts_with('%') {
                let name = &rest[..name_len];
                let subs: Vec<String> = match ph.values.get(name) {
                    Some(v) if !v.is_empty() => v.clone(),
                    _ if ph.wildcard_unknown => vec!["*".into()],
                    _ => {
                        if !missing.iter().any(|m| m == name) {
                            missing.push(name.to_string());
                        }
                        vec![String::new()]
                    }
                };
                let mut next = Vec::with_capacity(out.len() * subs.len());
                for prefix in &out {
                    for sub in &subs {
                        next.push(format!("{prefix}{lit}{sub}"));
                    }
                }
                if next.len() > MAX_ALTERNATIVES {
                    return Err("placeholders expand to too many alternatives".into());
                }
                out = next;
                lit.clear();
                // Skip the name and its closing '%'.
                let end = i + 1 + name_len + 1;
                while chars.next_if(|&(j, _)| j < end).is_some() {}
                backslashes = 0;
                continue;
            }
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        lit.push(c);
    }
    if !missing.is_empty() {
        return Ok(Expanded::Missing(missing));
    }
    for s in &mut out {
        s.push_str(&lit);
    }
    Ok(Expanded::Values(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, load_all};

    fn item(yaml: &str) -> Result<Item, String> {
        let doc = load_all(yaml, Limits::default()).unwrap().remove(0);
        let Yaml::Map(entries) = &doc.value else {
            panic!()
        };
        let (k, v) = &entries[0];
        compile_item(
            k.as_str().unwrap(),
            v,
            &Placeholders::default(),
            &mut Vec::new(),
        )
    }

    fn val(raw: &str) -> (String, String) {
        (raw.to_string(), pattern::fold(raw).into_owned())
    }

    /// Item semantics over a single present string value.
    fn hit(it: &Item, raw: &str) -> bool {
        let (r, f) = val(raw);
        let v = Value {
            raw: &r,
            folded: &f,
            kind: ValueKind::Str,
        };
        let one = |alts: &Vec<Matcher>| alts.iter().any(|m| m.is_match(&v));
        let res = if it.all {
            it.values.iter().all(one)
        } else {
            it.values.iter().any(one)
        };
        res != it.negate
    }

    #[test]
    fn contains_all_windash_group_variants_per_value() {
        let it = item("CommandLine|contains|all|windash: [' -a ', ' -b ']").unwrap();
        assert!(hit(&it, "x /a  -b y"));
        assert!(hit(&it, "x -a  /b y"));
        assert!(!hit(&it, "x -a y"));
    }

    #[test]
    fn base64offset_contains() {
        let it = item("CommandLine|base64offset|contains: 'calc'").unwrap();
        assert_eq!(it.values[0].len(), 3);
        // "xcalc" base64 -> eGNhbGM= ; contains the offset-1 fragment
        assert!(hit(&it, &pattern::base64(b"xcalc")));
        assert!(hit(&it, &pattern::base64(b"calc")));
        assert!(hit(&it, &pattern::base64(b"xxcalcxx")));
        assert!(!hit(&it, &pattern::base64(b"notepad")));
    }

    #[test]
    fn wide_base64offset() {
        let it = item("CommandLine|wide|base64offset|contains: 'whoami'").unwrap();
        let enc = pattern::base64(&pattern::utf16("powershell whoami /all", Utf16::Le));
        assert!(hit(&it, &enc));
    }

    #[test]
    fn base64_rejects_wildcards() {
        assert!(item("a|base64: 'x*'").unwrap_err().contains("wildcards"));
        assert!(item("a|base64|contains: 'http://'").is_ok());
    }

    #[test]
    fn unknown_and_conflicting_modifiers() {
        assert!(
            item("a|foo: x")
                .unwrap_err()
                .contains("unknown modifier 'foo'")
        );
        assert!(item("a|re|cidr: x").is_err());
        assert!(item("a|i: x").unwrap_err().contains("need the 're'"));
        assert!(item("a|gt: abc").unwrap_err().contains("not a number"));
        assert!(item("a|exists: yes").unwrap_err().contains("true or false"));
        assert!(item("a|cidr: 300.0.0.0/8").is_err());
        assert!(
            item("a|re: '(unclosed'")
                .unwrap_err()
                .contains("invalid regular")
        );
        assert!(item("a|contains|gt: 5").is_err());
        assert!(item("a|cased|gt: 5").is_err());
        assert!(item("a: {b: c}").is_err());
    }

    #[test]
    fn regex_is_cased_unless_i() {
        let it = item(r"a|re: '\s-H\s'").unwrap();
        assert!(hit(&it, "curl -H x"));
        assert!(!hit(&it, "curl -h x"));
        let it = item(r"a|re|i: '^CMD'").unwrap();
        assert!(hit(&it, "cmd.exe"));
        let it = item("a|re|s: 'a.b'").unwrap();
        assert!(hit(&it, "a\nb"));
        let it = item("a|re: 'a.b'").unwrap();
        assert!(!hit(&it, "a\nb"));
        let it = item("a|re|m: '^b$'").unwrap();
        assert!(hit(&it, "a\nb\nc"));
    }

    #[test]
    fn neq_negates_the_item() {
        let it = item("a|neq: [x, y]").unwrap();
        assert!(!hit(&it, "X"));
        assert!(!hit(&it, "y"));
        assert!(hit(&it, "z"));
    }

    #[test]
    fn numbers_and_strings() {
        let it = item("EventID: 4688").unwrap();
        let v = Value {
            raw: "4688",
            folded: "4688",
            kind: ValueKind::Num,
        };
        assert!(it.values[0][0].is_match(&v));
        let v = Value {
            raw: "4688.0",
            folded: "4688.0",
            kind: ValueKind::Num,
        };
        assert!(it.values[0][0].is_match(&v));
        assert!(hit(&it, "4688"));
        let gt = item("n|gt: 9").unwrap();
        assert!(hit(&gt, "10"));
        assert!(!hit(&gt, "9"));
        assert!(!hit(&gt, "abc"));
        let s = item("p|startswith: '44'").unwrap();
        let v = Value {
            raw: "443",
            folded: "443",
            kind: ValueKind::Num,
        };
        assert!(s.values[0][0].is_match(&v));
    }

    #[test]
    fn booleans_compare_as_text() {
        let it = item("Signed: true").unwrap();
        assert!(hit(&it, "true"));
        assert!(hit(&it, "True"));
        assert!(!hit(&it, "false"));
    }

    #[test]
    fn null_and_exists() {
        let it = item("a: null").unwrap();
        assert!(it.values[0][0].on_absent());
        assert!(!hit(&it, ""));
        let e = item("a|exists: true").unwrap();
        assert!(!e.values[0][0].on_absent());
        assert!(hit(&e, ""));
        let ne = item("a|exists: false").unwrap();
        assert!(ne.values[0][0].on_absent());
        let empty = item("a: ''").unwrap();
        assert!(hit(&empty, ""));
        assert!(!hit(&empty, "x"));
        assert!(!empty.values[0][0].on_absent());
    }

    #[test]
    fn placeholders() {
        let mut ph = Placeholders::default();
        ph.values
            .insert("Admins".into(), vec!["alice".into(), "bob*".into()]);
        let doc = load_all(r"u|expand: 'CORP\\%Admins%'", Limits::default())
            .unwrap()
            .remove(0);
        let Yaml::Map(entries) = &doc.value else {
            panic!()
        };
        let it = compile_item("u|expand", &entries[0].1, &ph, &mut Vec::new()).unwrap();
        assert_eq!(it.values[0].len(), 2);
        assert!(hit(&it, "corp\\alice"));
        assert!(hit(&it, "corp\\bobby"));
        assert!(!hit(&it, "corp\\carol"));
        // An escaped placeholder stays literal, without its backslash.
        let lit = item(r"u|expand: '100\%Admins%'").unwrap();
        assert!(hit(&lit, "100%admins%"));
        assert!(!hit(&lit, "100\\%admins%"));
        // Long runs of backslashes are handled in one pass.
        let long = format!("u|expand: '{}'", "\\".repeat(200_000));
        assert!(item(&long).is_ok());
        let mut ph = Placeholders::default();
        ph.values.insert("Grüße".into(), vec!["x".into()]);
        let doc = load_all("u|expand: 'a%Grüße%b'", Limits::default())
            .unwrap()
            .remove(0);
        let Yaml::Map(entries) = &doc.value else {
            panic!()
        };
        let it = compile_item("u|expand", &entries[0].1, &ph, &mut Vec::new()).unwrap();
        assert!(hit(&it, "axb"));
        // A placeholder without a value loads, with a warning, and matches nothing.
        let doc = load_all("u|expand: 'x%Unknown%'", Limits::default())
            .unwrap()
            .remove(0);
        let Yaml::Map(entries) = &doc.value else {
            panic!()
        };
        let mut warnings = Vec::new();
        let it = compile_item(
            "u|expand",
            &entries[0].1,
            &Placeholders::default(),
            &mut warnings,
        )
        .unwrap();
        assert_eq!(it.values.len(), 1);
        assert!(it.values.iter().all(Vec::is_empty));
        assert!(!hit(&it, "x"));
        assert!(!hit(&it, "x%unknown%"));
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("unresolved placeholder %Unknown%"),
            "{warnings:?}"
        );
        // Without expand the text is literal.
        let lit = item("u: '%Admins%'").unwrap();
        assert!(hit(&lit, "%admins%"));
    }

    #[test]
    fn keywords_are_substring_searches() {
        let doc = load_all("x: ['Evil', 'a*b']", Limits::default())
            .unwrap()
            .remove(0);
        let v = doc.get("x").unwrap();
        let it = compile_item("", v, &Placeholders::default(), &mut Vec::new()).unwrap();
        assert!(it.field.is_none());
        assert!(hit(&it, "very EVIL thing"));
        assert!(hit(&it, "xxaZZbxx"));
        assert!(!hit(&it, "good"));
    }

    #[test]
    fn all_on_single_value_warns() {
        let doc = load_all("a|contains|all: x", Limits::default())
            .unwrap()
            .remove(0);
        let Yaml::Map(entries) = &doc.value else {
            panic!()
        };
        let mut w = Vec::new();
        compile_item(
            "a|contains|all",
            &entries[0].1,
            &Placeholders::default(),
            &mut w,
        )
        .unwrap();
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn numeric_comparisons() {
        for (m, yes, no) in [
            ("lt", "4", "5"),
            ("lte", "5", "6"),
            ("gt", "6", "5"),
            ("gte", "5", "4"),
        ] {
            let it = item(&format!("n|{m}: 5")).unwrap();
            assert!(hit(&it, yes), "{m} {yes}");
            assert!(!hit(&it, no), "{m} {no}");
            assert!(!hit(&it, "five"), "{m}: text is not a number");
        }
        let f = item("n|gte: 1.5").unwrap();
        assert!(hit(&f, "1.5"));
        assert!(hit(&f, "2"));
        assert!(!hit(&f, "1.49"));
    }

    #[test]
    fn utf16_variants_with_base64() {
        let be = item("c|utf16be|base64offset|contains: 'cmd'").unwrap();
        let enc = pattern::base64(&pattern::utf16("run cmd now", Utf16::Be));
        assert!(hit(&be, &enc));
        let bom = item("c|utf16|base64|contains: 'cmd'").unwrap();
        assert!(hit(
            &bom,
            &format!("x{}y", pattern::base64(&pattern::utf16("cmd", Utf16::Bom)))
        ));
        // Without base64, wide values are matched as their UTF-16 code units.
        let wide = item("c|wide|contains: 'ab'").unwrap();
        assert!(hit(&wide, "xa\0b\0y".replace("\\0", "\0").as_str()));
    }

    #[test]
    fn cased_and_keyword_modifiers() {
        let c = item("a|cased|contains: 'Evil'").unwrap();
        assert!(hit(&c, "so Evil"));
        assert!(!hit(&c, "so evil"));
        let doc = load_all("x: {'|re': 'ab+c'}", Limits::default())
            .unwrap()
            .remove(0);
        let Yaml::Map(entries) = &doc.get("x").unwrap().value else {
            panic!()
        };
        let kw = compile_item(
            "|re",
            &entries[0].1,
            &Placeholders::default(),
            &mut Vec::new(),
        )
        .unwrap();
        assert!(kw.field.is_none());
        assert!(hit(&kw, "xxabbbcxx"));
    }

    #[test]
    fn time_modifiers() {
        let it = item("t|hour|gte: 22").unwrap();
        assert!(hit(&it, "2024-01-01T23:10:00Z"));
        assert!(!hit(&it, "2024-01-01T21:10:00Z"));
        let it = item("t|month: 2").unwrap();
        assert!(hit(&it, "2024-02-01 00:00:00"));
    }
}
