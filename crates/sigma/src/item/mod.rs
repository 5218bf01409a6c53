//! Detection items: one `field|modifiers: values` entry, compiled into value matchers.
//!
//! The modifier chain is applied in the order written. Expansions (`windash`, `base64offset`,
//! `expand`) turn one value into alternatives that stay grouped, so `all` ANDs the values and
//! never the variants of one value.

mod value;

use crate::pattern::{self, Cidr, NumOp, StrMatcher, TimePart, Utf16};
use crate::yaml::{Node, Yaml};
use regex::Regex;
use std::collections::HashMap;
use value::{Flags, ValueCx, compile_value};

/// One compiled value test.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// A string pattern (plain, wildcards, contains, startswith, endswith, encodings).
    Str(StrMatcher),
    /// `gt`, `gte`, `lt`, `lte`.
    Num {
        /// The comparison.
        op: NumOp,
        /// The number compared with.
        value: f64,
    },
    /// `re`: a regular expression.
    Regex(Regex),
    /// `cidr`: an IP network.
    Cidr(Cidr),
    /// `exists: true|false`.
    Exists(bool),
    /// `field: null`: absent, or present with a null value.
    Null,
    /// `fieldref`: compare with another field of the same event.
    FieldRef {
        /// The other field.
        field: String,
        /// How the values compare.
        mode: RefMode,
        /// Compared case-sensitively (`cased`).
        cased: bool,
    },
    /// `minute`, `hour`, ... with an optional comparison.
    Time {
        /// Which part of the date.
        part: TimePart,
        /// The comparison.
        op: NumOp,
        /// The number compared with.
        value: f64,
    },
}

/// How a field reference compares the two values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefMode {
    /// The values are equal.
    Equal,
    /// This value contains the other.
    Contains,
    /// This value starts with the other.
    Prefix,
    /// This value ends with the other.
    Suffix,
}

/// What kind of event value is being tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Text.
    Str,
    /// A number.
    Num,
    /// A boolean.
    Bool,
    /// Null.
    Null,
}

/// An event value as the matchers see it.
#[derive(Debug, Clone, Copy)]
pub struct Value<'a> {
    /// The value's text (numbers in the form they were written).
    pub raw: &'a str,
    /// The case-folded text (see [`pattern::fold`]).
    pub folded: &'a str,
    /// The value's type.
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
    /// The 1-based line it starts on.
    pub line: u32,
}

/// Values for `%placeholder%` names used with `expand`.
#[derive(Debug, Clone, Default)]
pub struct Placeholders {
    /// Values by placeholder name (without the `%`).
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

/// The modifiers of one item, parsed and checked.
struct Mods {
    kind: Kind,
    steps: Vec<Step>,
    all: bool,
    negate: bool,
    flags: Flags,
}

/// Parses and checks the modifiers of `key` (`field|mod|mod`).
fn parse_modifiers(
    key: &str,
    field: &Option<String>,
    modifiers: &[String],
) -> Result<Mods, String> {
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
    for m in modifiers {
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
    Ok(Mods {
        kind,
        steps,
        all,
        negate,
        flags: Flags {
            cased,
            expand,
            re_i,
            re_m,
            re_s,
        },
    })
}

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
    let mods = parse_modifiers(key, &field, &modifiers)?;
    let raw_values: Vec<&Node> = match &value.value {
        Yaml::Seq(items) => items.iter().collect(),
        Yaml::Map(_) => {
            return Err(format!(
                "the value of '{key}' is a map; a field takes a value or a list of values"
            ));
        }
        _ => vec![value],
    };
    if mods.all && raw_values.len() == 1 {
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
    let cx = ValueCx {
        field: &field,
        kind: mods.kind,
        steps: &mods.steps,
        flags: mods.flags,
        placeholders,
        key,
    };
    let mut values = Vec::with_capacity(raw_values.len());
    for node in raw_values {
        values.push(compile_value(node, &cx, warnings)?);
    }
    Ok(Item {
        field,
        values,
        all: mods.all,
        negate: mods.negate,
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

#[cfg(test)]
mod tests;
