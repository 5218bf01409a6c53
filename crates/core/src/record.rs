//! An event's names and values as a detection keeps them: an owned copy of an [`Event`]'s
//! fields, read by name (investigation, correlation) and written as a JSON object (outputs).

use crate::event::{Event, Kind, Section, Span};
use crate::json;

/// One field of a [`Record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    name: Span,
    value: Span,
    kind: Kind,
    section: Section,
}

/// The fields of one event, owned. Field order is the source's; repeated names stay repeated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    text: String,
    entries: Vec<Entry>,
}

impl Event {
    /// An owned copy of the event's names and values (without paths or symbols), as a
    /// detection keeps it.
    pub fn to_record(&self) -> Record {
        Record::from_event(self)
    }
}

impl Record {
    /// Copies the names and values of `ev`.
    pub fn from_event(ev: &Event) -> Record {
        let mut r = Record {
            text: String::with_capacity(
                ev.fields
                    .iter()
                    .map(|f| f.name.len + f.value.len)
                    .sum::<u32>() as usize,
            ),
            entries: Vec::with_capacity(ev.fields.len()),
        };
        for f in &ev.fields {
            r.push(ev.name(f), ev.value(f), f.kind, f.section);
        }
        r
    }

    /// Appends a field.
    pub fn push(&mut self, name: &str, value: &str, kind: Kind, section: Section) {
        let name = self.text_span(name);
        let value = self.text_span(value);
        self.entries.push(Entry {
            name,
            value,
            kind,
            section,
        });
    }

    fn text_span(&mut self, s: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        Span {
            start,
            len: s.len() as u32,
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the record has no field.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of text held (for memory budgets).
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// The fields as (name, value, kind), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, Kind)> {
        self.entries.iter().map(|e| {
            (
                &self.text[e.name.range()],
                &self.text[e.value.range()],
                e.kind,
            )
        })
    }

    /// The fields with their sections, in order (for encoders that keep everything).
    pub fn iter_sections(&self) -> impl Iterator<Item = (&str, &str, Kind, Section)> {
        self.entries.iter().map(|e| {
            (
                &self.text[e.name.range()],
                &self.text[e.value.range()],
                e.kind,
                e.section,
            )
        })
    }

    /// The value named `name` (exact), from the highest-ranking section; the first of
    /// repeated names. Null values count as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.best(|n| n == name)
    }

    /// Like [`Record::get`], with names compared ASCII-case-insensitively, as rules do.
    pub fn get_ci(&self, name: &str) -> Option<&str> {
        self.best(|n| n.eq_ignore_ascii_case(name))
    }

    fn best(&self, wanted: impl Fn(&str) -> bool) -> Option<&str> {
        let mut best: Option<&Entry> = None;
        for e in &self.entries {
            if wanted(&self.text[e.name.range()]) && best.is_none_or(|b| e.section < b.section) {
                best = Some(e);
            }
        }
        best.filter(|e| e.kind != Kind::Null)
            .map(|e| &self.text[e.value.range()])
    }

    /// Appends the fields as one JSON object: names to typed values, repeated names as arrays
    /// (in the order names first appear).
    pub fn write_json(&self, out: &mut String) {
        // Group repeated names, keeping first-appearance order. Most events repeat no name and
        // have a few dozen fields: a linear search beats hashing there.
        let name = |e: &Entry| &self.text[e.name.range()];
        let mut groups: Vec<(&str, Vec<usize>)> = Vec::with_capacity(self.entries.len());
        if self.entries.len() <= 32 {
            for (i, e) in self.entries.iter().enumerate() {
                let n = name(e);
                match groups.iter_mut().find(|(g, _)| *g == n) {
                    Some((_, members)) => members.push(i),
                    None => groups.push((n, vec![i])),
                }
            }
        } else {
            let mut index: std::collections::HashMap<&str, usize> =
                std::collections::HashMap::with_capacity(self.entries.len());
            for (i, e) in self.entries.iter().enumerate() {
                let n = name(e);
                match index.get(n) {
                    Some(&g) => groups[g].1.push(i),
                    None => {
                        index.insert(n, groups.len());
                        groups.push((n, vec![i]));
                    }
                }
            }
        }
        out.reserve(self.text.len() + self.entries.len() * 8);
        out.push('{');
        for (n, (name, members)) in groups.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            json::write_string(out, name);
            out.push(':');
            if let [only] = members.as_slice() {
                self.write_value(out, &self.entries[*only]);
            } else {
                out.push('[');
                for (k, &j) in members.iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    self.write_value(out, &self.entries[j]);
                }
                out.push(']');
            }
        }
        out.push('}');
    }

    /// The fields as a JSON object (see [`Record::write_json`]).
    pub fn to_json(&self) -> String {
        let mut s = String::new();
        self.write_json(&mut s);
        s
    }

    fn write_value(&self, out: &mut String, e: &Entry) {
        let v = &self.text[e.value.range()];
        match e.kind {
            Kind::Null => out.push_str("null"),
            Kind::Bool => out.push_str(v),
            Kind::Num if json::is_number(v) => out.push_str(v),
            _ => json::write_string(out, v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_json() {
        let mut ev = Event::default();
        ev.push("a", "a", "x\"y", Kind::Str, Section::Other);
        ev.push("n", "n", "1.5", Kind::Num, Section::Other);
        ev.push("b", "b", "true", Kind::Bool, Section::Other);
        ev.push("z", "z", "", Kind::Null, Section::Other);
        ev.push("l", "l", "1", Kind::Num, Section::Other);
        ev.push("l", "l", "2", Kind::Num, Section::Other);
        ev.push("bad", "bad", "01", Kind::Num, Section::Other);
        let r = ev.to_record();
        assert_eq!(
            r.to_json(),
            r#"{"a":"x\"y","n":1.5,"b":true,"z":null,"l":[1,2],"bad":"01"}"#
        );
        assert_eq!(r.get("l"), Some("1"));
        assert_eq!(r.get("z"), None);
        assert_eq!(r.get_ci("A"), Some("x\"y"));
        assert_eq!(r.len(), 7);
        assert_eq!(Record::default().to_json(), "{}");
    }

    #[test]
    fn header_fields_win() {
        let mut r = Record::default();
        r.push("EventID", "99", Kind::Num, Section::Data);
        r.push("EventID", "4624", Kind::Num, Section::Header);
        assert_eq!(r.get("EventID"), Some("4624"));
    }
}
