//! One value of a detection item compiled into matchers: typed tests (null, exists, numbers,
//! date parts), the special kinds (CIDR, regular expression, field reference), and strings
//! through the modifier chain (wildcards, contains/startswith/endswith, windash, UTF-16,
//! base64), with `expand` placeholders.

use super::{Kind, MAX_ALTERNATIVES, Matcher, Placeholders, RefMode, Step};
use crate::pattern::{self, Cidr, P, StrMatcher, Utf16};
use crate::yaml::{Node, Yaml};
use regex::RegexBuilder;

/// The modifiers that change how a value is read.
#[derive(Clone, Copy)]
pub(super) struct Flags {
    pub(super) cased: bool,
    pub(super) expand: bool,
    pub(super) re_i: bool,
    pub(super) re_m: bool,
    pub(super) re_s: bool,
}

/// What a value is tested with, besides the value itself.
pub(super) struct ValueCx<'a> {
    pub(super) field: &'a Option<String>,
    pub(super) kind: Kind,
    pub(super) steps: &'a [Step],
    pub(super) flags: Flags,
    pub(super) placeholders: &'a Placeholders,
    /// The item's key, for messages.
    pub(super) key: &'a str,
}

/// Compiles one value into its alternatives (several after `windash`, `base64offset` or
/// `expand`; none when an `expand` placeholder has no value, with a warning).
pub(super) fn compile_value(
    node: &Node,
    cx: &ValueCx<'_>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Matcher>, String> {
    if let Some(typed) = typed_value(node, cx)? {
        return Ok(typed);
    }
    let text = node.scalar_text().unwrap_or_default();
    if let Some(special) = special_value(&text, cx)? {
        return Ok(special);
    }
    string_value(node, text, cx, warnings)
}

/// Values whose YAML type decides the test: null, `exists`, numeric comparisons, date parts.
fn typed_value(node: &Node, cx: &ValueCx<'_>) -> Result<Option<Vec<Matcher>>, String> {
    let key = cx.key;
    let not_a_number = |what: &str| {
        format!(
            "'{key}' compares {what}, but '{}' is not a number",
            node.scalar_text().unwrap_or_default()
        )
    };
    Ok(Some(match (&node.value, cx.kind) {
        (Yaml::Seq(_) | Yaml::Map(_), _) => {
            return Err(format!("'{key}' has a nested list or map as a value"));
        }
        (Yaml::Null, Kind::Plain) if cx.steps.is_empty() && !cx.flags.expand => {
            vec![Matcher::Null]
        }
        (Yaml::Null, _) => {
            return Err(format!("null cannot be used with the modifiers of '{key}'"));
        }
        (Yaml::Bool(b), Kind::Exists) => vec![Matcher::Exists(*b)],
        (_, Kind::Exists) => {
            return Err(format!(
                "'exists' takes true or false, not '{}'",
                node.scalar_text().unwrap_or_default()
            ));
        }
        (_, Kind::Cmp(op)) => {
            let value = numeric(node).ok_or_else(|| not_a_number("numbers"))?;
            vec![Matcher::Num { op, value }]
        }
        (_, Kind::Time(part, op)) => {
            let value = numeric(node).ok_or_else(|| not_a_number("a part of a date"))?;
            vec![Matcher::Time { part, op, value }]
        }
        _ => return Ok(None),
    }))
}

/// The kinds that are not strings: CIDR networks, regular expressions, field references.
fn special_value(text: &str, cx: &ValueCx<'_>) -> Result<Option<Vec<Matcher>>, String> {
    let (key, steps) = (cx.key, cx.steps);
    Ok(Some(match cx.kind {
        Kind::Cidr => {
            let c = Cidr::parse(text)
                .ok_or_else(|| format!("'{text}' is not a valid CIDR network ('{key}')"))?;
            vec![Matcher::Cidr(c)]
        }
        Kind::Re => {
            let mut pat = text.to_string();
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
                .case_insensitive(cx.flags.re_i)
                .multi_line(cx.flags.re_m)
                .dot_matches_new_line(cx.flags.re_s)
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
            vec![Matcher::Regex(re)]
        }
        Kind::FieldRef => {
            if cx.field.is_none() {
                return Err("'fieldref' needs a field name".into());
            }
            if pattern::has_wildcards(&pattern::parse_sigma_string(text)) {
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
            vec![Matcher::FieldRef {
                field: text.to_string(),
                mode,
                cased: cx.flags.cased,
            }]
        }
        _ => return Ok(None),
    }))
}

/// Plain strings, numbers and booleans: patterns, run through the modifier chain.
fn string_value(
    node: &Node,
    text: String,
    cx: &ValueCx<'_>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Matcher>, String> {
    let key = cx.key;
    let number = match node.value {
        Yaml::Int(i) => Some(i as f64),
        Yaml::Float(f) => Some(f),
        _ => None,
    };
    let raws = if cx.flags.expand {
        match expand_placeholders(&text, cx.placeholders).map_err(|e| format!("{e} ('{key}')"))? {
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
    let plain = cx.steps.is_empty() && !cx.flags.expand;
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
    for &step in cx.steps {
        let mut next = Vec::with_capacity(alts.len());
        for p in alts {
            apply_step(step, p, &mut encoded, &mut next, key)?;
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
    if cx.field.is_none() {
        // Keywords are searched anywhere in a value.
        alts = alts.into_iter().map(pattern::contains).collect();
    }
    Ok(alts
        .into_iter()
        .map(|p| {
            Matcher::Str(StrMatcher::new(
                p,
                cx.flags.cased,
                if plain { number } else { None },
            ))
        })
        .collect())
}

/// One modifier step applied to one pattern; the results are pushed to `next`.
fn apply_step(
    step: Step,
    p: Vec<P>,
    encoded: &mut bool,
    next: &mut Vec<Vec<P>>,
    key: &str,
) -> Result<(), String> {
    match step {
        Step::Contains => next.push(pattern::contains(p)),
        Step::StartsWith => next.push(pattern::startswith(p)),
        Step::EndsWith => next.push(pattern::endswith(p)),
        Step::Windash => next.push(pattern::windash(&p)),
        Step::Utf16(enc) => {
            let mut out = Vec::with_capacity(p.len() * 2 + 2);
            // The byte-order mark starts the value once; characters follow as LE.
            let per_char = if enc == Utf16::Bom {
                out.push(P::Char('\u{ff}'));
                out.push(P::Char('\u{fe}'));
                Utf16::Le
            } else {
                enc
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
            *encoded = true;
            next.push(out);
        }
        Step::Base64 | Step::Base64Offset => {
            let lit = pattern::literal_text(&p)
                .ok_or_else(|| format!("base64 cannot encode a value with wildcards ('{key}')"))?;
            let bytes: Vec<u8> = if *encoded {
                lit.chars().map(|c| c as u32 as u8).collect()
            } else {
                lit.into_bytes()
            };
            if step == Step::Base64 {
                next.push(pattern::literal(&pattern::base64(&bytes)));
            } else {
                for s in pattern::base64_offsets(&bytes) {
                    next.push(pattern::literal(&s));
                }
            }
        }
    }
    Ok(())
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
pub(super) enum Expanded {
    /// Every combination of the placeholders' values.
    Values(Vec<String>),
    /// These placeholders have no value.
    Missing(Vec<String>),
}

/// Replaces `%name%` placeholders by each configured value. A `%` after an odd run of
/// backslashes is escaped: it stays a literal `%` (its escaping backslash is removed).
pub(super) fn expand_placeholders(raw: &str, ph: &Placeholders) -> Result<Expanded, String> {
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
