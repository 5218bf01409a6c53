//! How a detection's values are written in every output: JSON literals and objects, CSV
//! cells (safe to open in a spreadsheet), times and numbers, the one-line message, and the
//! rule's key in alert ids.

use dwell_detect::{Detection, RuleInfo};

/// What identifies a rule in alert ids: its id, or its title when it has none.
pub fn rule_key(r: &RuleInfo) -> &str {
    if r.id.is_empty() { &r.title } else { &r.id }
}

/// The `matched` pairs as text, and the one-line message timelines show.
pub(crate) fn message(d: &Detection, r: &RuleInfo) -> (String, String) {
    let level = r.level_str();
    let mut matched = d
        .matched
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" | ");
    if let Some(c) = &d.correlation {
        let n = c.members.len() + c.more_members;
        matched = if matched.is_empty() {
            format!("{n} matches in the window")
        } else {
            format!("{matched} | {n} matches in the window")
        };
    }
    let message = if matched.is_empty() {
        format!("[{level}] {} on {}", r.title, d.host)
    } else {
        format!("[{level}] {} on {}: {matched}", r.title, d.host)
    };
    (matched, message)
}

/// A time as RFC 3339 text, or `null`.
pub(crate) fn push_time(out: &mut String, t: Option<i64>) {
    match t {
        Some(t) => push_json(out, &dwell_core::time::format(t)),
        None => out.push_str("null"),
    }
}

/// A number, or `null`.
pub(crate) fn push_num(out: &mut String, v: Option<impl std::fmt::Display>) {
    match v {
        Some(v) => out.push_str(&v.to_string()),
        None => out.push_str("null"),
    }
}

/// A number as JSON: integers without a fraction.
pub(crate) fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.is_finite() {
        format!("{v}")
    } else {
        "null".into()
    }
}

/// Appends `s` as a JSON string literal.
pub fn push_json(out: &mut String, s: &str) {
    dwell_core::json::write_string(out, s);
}

/// Writes `{"k":"v",…}`; a `None` value is written as `null`.
pub(crate) fn push_json_object<'a>(
    out: &mut String,
    pairs: impl Iterator<Item = (&'a String, Option<&'a String>)>,
) {
    out.push('{');
    for (i, (k, v)) in pairs.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json(out, k);
        out.push(':');
        match v {
            Some(v) => push_json(out, v),
            None => out.push_str("null"),
        }
    }
    out.push('}');
}

/// Appends `s` as a CSV field, quoted when it must be. A cell a spreadsheet would run as a
/// formula (one starting with `=`, `+`, `-`, `@`, a tab or a carriage return, unless it is a
/// plain number) gets a leading `'`: log values are written by the attacker, and a timeline is
/// opened in Excel.
pub(crate) fn csv_field(out: &mut String, s: &str) {
    csv_field_as(out, s, true);
}

/// [`csv_field`], with the formula guard on or off (`--csv-formulas` turns it off, for a
/// reader that is no spreadsheet).
pub(crate) fn csv_field_as(out: &mut String, s: &str, guard: bool) {
    let s = &if guard { neutralise(s) } else { s.into() };
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// `s` as one CSV cell: quoted when it must be, and neutralised when a spreadsheet would run it
/// as a formula.
pub fn csv_cell(s: &str) -> String {
    let mut out = String::new();
    csv_field(&mut out, s);
    out
}

/// `s`, or `s` behind a `'` when a spreadsheet would take it for a formula.
fn neutralise(s: &str) -> std::borrow::Cow<'_, str> {
    let risky = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !dwell_core::json::is_number(s) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_cannot_be_formulas() {
        let cell = |s: &str| {
            let mut out = String::new();
            csv_field(&mut out, s);
            out
        };
        assert_eq!(
            cell("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(cell("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("\t=1"), "'\t=1");
        assert_eq!(cell("\r=1"), "\"'\r=1\"");
        // Numbers and ordinary text stay as they are.
        assert_eq!(cell("-5"), "-5");
        assert_eq!(cell("4624"), "4624");
        assert_eq!(cell("a=b"), "a=b");
        assert_eq!(cell("x, y"), "\"x, y\"");
    }
}
