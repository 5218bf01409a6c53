//! A detection's details: a short, per-log-source summary of its event (a process's command
//! line, user and parent; a logon's account, type and address; a statement's role and SQL),
//! from templates kept as data (`data/details.yml`, docs/output.md#details), so that a
//! timeline row says what happened without the whole event.

use dwell_detect::Detection;
use dwell_sigma::yaml::{Limits, Node, Yaml, load_all};
use std::sync::OnceLock;

/// The longest value shown in details; longer ones are clipped with `…`.
pub const MAX_VALUE: usize = 300;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    /// The first of these fields the event has.
    Field(Vec<String>),
}

/// Which events an entry is for.
#[derive(Debug, Clone, Default, PartialEq)]
struct When {
    channels: Vec<String>,
    event_ids: Vec<u32>,
    has: Vec<String>,
    any: Vec<String>,
    equals: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    when: When,
    /// The template's parts (between ` ¦ `), each a list of pieces.
    parts: Vec<Vec<Piece>>,
}

/// The details templates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    entries: Vec<Entry>,
}

/// The separator between the parts of details.
pub const SEPARATOR: &str = " ¦ ";

fn strings(n: &Node) -> Result<Vec<String>, String> {
    match &n.value {
        Yaml::Seq(v) => v
            .iter()
            .map(|x| {
                x.scalar_text()
                    .ok_or_else(|| format!("line {}: expected text", x.line))
            })
            .collect(),
        _ => n
            .scalar_text()
            .map(|s| vec![s])
            .ok_or_else(|| format!("line {}: expected text or a list", n.line)),
    }
}

fn template(text: &str) -> Result<Vec<Vec<Piece>>, String> {
    let mut parts = Vec::new();
    for part in text.split(SEPARATOR) {
        let mut pieces = Vec::new();
        let mut rest = part;
        while let Some(start) = rest.find('%') {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 1..];
            let end = after
                .find('%')
                .ok_or_else(|| format!("`{part}`: a `%` is not closed"))?;
            let names: Vec<String> = after[..end].split('|').map(str::to_string).collect();
            if names.iter().any(|n| n.trim().is_empty()) {
                return Err(format!("`{part}`: an empty field name"));
            }
            pieces.push(Piece::Field(names));
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        parts.push(pieces);
    }
    Ok(parts)
}

impl Details {
    /// dwell's own templates.
    pub fn builtin() -> &'static Details {
        static D: OnceLock<Details> = OnceLock::new();
        D.get_or_init(|| {
            Details::parse(include_str!("../data/details.yml"))
                .expect("the built-in details parse (a unit test checks them)")
        })
    }

    /// Reads templates; errors name the line.
    pub fn parse(text: &str) -> Result<Details, String> {
        let docs = load_all(text, Limits::default()).map_err(|e| e.to_string())?;
        let [doc] = docs.as_slice() else {
            return Err("expected one YAML document".into());
        };
        let Some(Node {
            value: Yaml::Seq(items),
            ..
        }) = doc.get("details")
        else {
            return Err("expected a `details:` list".into());
        };
        let mut entries = Vec::new();
        for it in items {
            let at = |e: String| format!("line {}: {e}", it.line);
            let text = it
                .get("text")
                .and_then(Node::as_str)
                .ok_or_else(|| at("an entry needs `text`".into()))?;
            let mut when = When::default();
            if let Some(Node {
                value: Yaml::Map(conds),
                ..
            }) = it.get("when")
            {
                for (k, v) in conds {
                    let k = k.scalar_text().unwrap_or_default();
                    match k.as_str() {
                        "channel" => when.channels = strings(v)?,
                        "event_id" => {
                            for s in strings(v)? {
                                when.event_ids
                                    .push(s.parse().map_err(|_| {
                                        at(format!("event_id {s} is not a number"))
                                    })?);
                            }
                        }
                        "has" => when.has = strings(v)?,
                        "any" => when.any = strings(v)?,
                        field => {
                            let v = v
                                .scalar_text()
                                .ok_or_else(|| at(format!("{field}: expected a value")))?;
                            when.equals.push((field.to_string(), v));
                        }
                    }
                }
            }
            entries.push(Entry {
                when,
                parts: template(text).map_err(at)?,
            });
        }
        Ok(Details { entries })
    }

    /// The first entry that fits the detection's event.
    fn entry(&self, d: &Detection) -> Option<&Entry> {
        let get = |name: &str| d.event.get(name).filter(|v| !v.is_empty());
        let fits = |w: &When| {
            (w.channels.is_empty() || w.channels.iter().any(|c| c.eq_ignore_ascii_case(&d.stream)))
                && (w.event_ids.is_empty() || d.code.is_some_and(|c| w.event_ids.contains(&c)))
                && w.has.iter().all(|f| get(f).is_some())
                && (w.any.is_empty() || w.any.iter().any(|f| get(f).is_some()))
                && w.equals
                    .iter()
                    .all(|(f, v)| get(f).is_some_and(|x| x.eq_ignore_ascii_case(v)))
        };
        self.entries.iter().find(|e| fits(&e.when))
    }

    /// The fields the details of this detection show (its template's), for `extra` to leave
    /// out; the matched fields when no template fits.
    pub fn fields(&self, d: &Detection) -> Vec<String> {
        match self.entry(d) {
            Some(e) => e
                .parts
                .iter()
                .flatten()
                .filter_map(|p| match p {
                    Piece::Field(n) => Some(n.clone()),
                    Piece::Text(_) => None,
                })
                .flatten()
                .collect(),
            None => d.matched.iter().map(|(k, _)| k.clone()).collect(),
        }
    }

    /// The details of a detection's event: the first entry that fits, else the fields its
    /// rule matched.
    pub fn render(&self, d: &Detection) -> String {
        let get = |name: &str| d.event.get(name).filter(|v| !v.is_empty());
        let Some(e) = self.entry(d) else {
            return d
                .matched
                .iter()
                .map(|(k, v)| format!("{k}: {}", clean(v)))
                .collect::<Vec<_>>()
                .join(SEPARATOR);
        };
        let mut out: Vec<String> = Vec::new();
        for part in &e.parts {
            let values: Vec<Option<String>> = part
                .iter()
                .map(|p| match p {
                    Piece::Text(_) => None,
                    Piece::Field(names) => names.iter().find_map(|n| get(n)).map(clean),
                })
                .collect();
            if !part
                .iter()
                .zip(&values)
                .any(|(p, v)| matches!(p, Piece::Field(_)) && v.is_some())
            {
                continue;
            }
            // Text between two fields (`\\`, `:`) is left out when either is empty, so that
            // `%Domain%\\%User%` with no domain shows the user alone.
            let mut s = String::new();
            for (k, p) in part.iter().enumerate() {
                match p {
                    Piece::Field(_) => s.push_str(values[k].as_deref().unwrap_or("")),
                    Piece::Text(t) => {
                        let field = |j: Option<usize>| {
                            j.and_then(|j| part.get(j))
                                .is_some_and(|p| matches!(p, Piece::Field(_)))
                        };
                        let between = k > 0 && field(Some(k - 1)) && field(Some(k + 1));
                        if between && (values[k - 1].is_none() || values[k + 1].is_none()) {
                            continue;
                        }
                        s.push_str(t);
                    }
                }
            }
            out.push(s);
        }
        out.join(SEPARATOR)
    }
}

/// A value on one line, clipped.
fn clean(v: &str) -> String {
    let one: String = v.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > MAX_VALUE {
        let mut c: String = one.chars().take(MAX_VALUE - 1).collect();
        c.push('…');
        c
    } else {
        one
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::tests::sample;
    use dwell_core::{Kind, Record, Section};
    use std::sync::Arc;

    #[test]
    fn the_builtin_templates_parse() {
        assert!(Details::builtin().entries.len() > 40);
    }

    #[test]
    fn details_fill_the_template_and_leave_out_what_is_absent() {
        let (_, _, mut d) = sample();
        let mut e = Record::default();
        for (k, v) in [
            ("CommandLine", "cmd.exe  /c\n whoami"),
            ("Image", "C:\\Windows\\System32\\cmd.exe"),
            ("ParentCommandLine", ""),
        ] {
            e.push(k, v, Kind::Str, Section::Data);
        }
        d.event = Arc::new(e);
        let s = Details::builtin().render(&d);
        assert_eq!(
            s,
            "Cmd: cmd.exe /c whoami ¦ Proc: C:\\Windows\\System32\\cmd.exe"
        );
        // A logon without a domain: the user alone.
        d.stream = "Security".into();
        d.code = Some(4624);
        let mut e = Record::default();
        e.push("TargetUserName", "alice", Kind::Str, Section::Data);
        e.push("LogonType", "3", Kind::Str, Section::Data);
        d.event = Arc::new(e);
        assert_eq!(Details::builtin().render(&d), "Type: 3 ¦ User: alice");
        // No template: the matched fields.
        d.stream = "Nowhere".into();
        assert_eq!(
            Details::builtin().render(&d),
            "CommandLine: cmd /c \"x\" next"
        );
        let e = Details::parse("details:\n  - {text: 'a %b'}\n").unwrap_err();
        assert!(e.starts_with("line 2") && e.contains("not closed"), "{e}");
    }
}
