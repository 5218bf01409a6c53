//! JSON log families: identity, cloud, SaaS and network sources whose records are JSON objects
//! of a known shape (Okta, CloudTrail, Azure, GCP, Microsoft 365, GitHub, Kubernetes, Zeek,
//! ServiceNow). One [`JsonFamily`] value describes a source: the keys that recognise it, the
//! fields that play the event roles, where its time is, its mapping and its entities; each
//! source is one file in this folder that defines such a value, and one registration line.

use super::json::looks_like_json;
use super::text::set_host;
use super::{DecodeError, Fit, Format, Head, Layout, RecordCx, Stamp};
use crate::framing::{Framer, JsonFramer, Piece};
use crate::json::{Naming, Scratch, flatten, flatten_gated};
use dwell_core::entity::{account, host, ip};
use dwell_core::{Entities, EntityKind, Event, Kind, Record, Role, RoleNames};

/// A JSON log family; see the module documentation.
pub struct JsonFamily {
    /// The format's name (`okta`).
    pub name: &'static str,
    /// What it reads, for people.
    pub describe: &'static str,
    /// Recognition: the first record has every field of one of these lists (dotted names).
    pub shapes: &'static [&'static [&'static str]],
    /// Keys of a wrapping object that holds the records in an array (`Records`).
    pub unwrap: &'static [&'static str],
    /// How keys become names.
    pub naming: Naming,
    /// Which fields play which role.
    pub roles: RoleNames,
    /// Fields that may hold the time, in order (after the Time role).
    pub time: &'static [&'static str],
    /// The mapping text.
    pub mapping: &'static str,
    /// Fields naming the acting account, in order.
    pub accounts: &'static [&'static str],
    /// Fields holding addresses.
    pub ips: &'static [&'static str],
    /// Fields naming hosts other than the event's.
    pub hosts: &'static [&'static str],
    /// What the family adds after flattening (aliases, an embedded record, a derived stream).
    pub finish: Option<fn(&mut Event, &mut Scratch)>,
}

impl JsonFamily {
    fn framer(&self) -> JsonFramer {
        JsonFramer::unwrapping(self.unwrap)
    }

    /// The dotted names of the first record in `head`, or `None` when it cannot be parsed.
    fn first_names(&self, head: &[u8]) -> Option<Vec<String>> {
        let mut f = self.framer();
        let mut out: Vec<Piece> = Vec::new();
        f.split(head, true, &mut out);
        let p = out.first()?;
        let mut ev = Event::default();
        let mut sc = Scratch::default();
        sc.naming = Naming::Dotted;
        flatten(&head[p.start..p.end], &mut ev, &mut sc).ok()?;
        Some(ev.fields.iter().map(|x| ev.name(x).to_string()).collect())
    }
}

impl Format for JsonFamily {
    fn name(&self) -> &'static str {
        self.name
    }

    fn describe(&self) -> &'static str {
        self.describe
    }

    fn recognise(&self, head: &Head<'_>) -> Option<Fit> {
        if !looks_like_json(head.bytes) {
            return None;
        }
        let names = self.first_names(head.bytes)?;
        let has = |k: &str| {
            names
                .iter()
                .any(|n| n == k || (n.starts_with(k) && n.as_bytes().get(k.len()) == Some(&b'.')))
        };
        self.shapes
            .iter()
            .any(|shape| shape.iter().all(|k| has(k)))
            .then_some(Fit::Shape)
    }

    fn layout(&self) -> Layout {
        // A family's wrapper keys are static, but `Layout` wants a plain function: the
        // families that unwrap share one framer that knows every family's wrapper keys.
        if self.unwrap.is_empty() {
            Layout::Stream(|| Box::new(JsonFramer::default()) as Box<dyn Framer>)
        } else {
            Layout::Stream(|| Box::new(JsonFramer::unwrapping(WRAPPERS)) as Box<dyn Framer>)
        }
    }

    fn decode_record(
        &self,
        raw: &[u8],
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
    ) -> Result<(), DecodeError> {
        cx.json.naming = self.naming;
        cx.json.roles = self.roles;
        flatten_gated(raw, ev, cx.json, cx.resolver, cx.gate)?;
        if let Some(finish) = self.finish {
            let before = ev.fields.len();
            finish(ev, cx.json);
            if ev.fields.len() != before {
                // The added fields carry no symbols: rules must find fields by name.
                ev.resolved = false;
            }
        }
        Ok(())
    }

    fn timestamp(&self, ev: &Event) -> Stamp {
        super::windows::timestamp(ev, self.time)
    }

    fn mapping(&self) -> &'static str {
        self.mapping
    }

    fn entities(&self, r: &Record, computer: &str, out: &mut Entities) {
        set_host(computer, out);
        out.account = self.accounts.iter().find_map(|f| account(r.get(f)?, None));
        for f in self.accounts {
            out.add(EntityKind::Account, r.get(f).and_then(|u| account(u, None)));
        }
        for f in self.ips {
            out.add(EntityKind::Ip, r.get(f).and_then(ip));
        }
        for f in self.hosts {
            out.add(EntityKind::Host, r.get(f).and_then(host));
        }
    }
}

/// Every wrapper key the families unwrap (see [`JsonFamily::layout`]).
const WRAPPERS: &[&str] = &["Records", "records", "value", "Events", "result"];

/// Adds a field `name` with the value of the field at index `i` (an alias).
pub(crate) fn alias(ev: &mut Event, i: usize, name: &str) {
    let f = ev.fields[i];
    let value = ev.value(&f).to_string();
    let path = ev.path(&f).to_string();
    ev.push(name, &path, &value, f.kind, f.section);
}

/// Parses the JSON text in field `name` (a record embedded as a string, as CloudTrail's
/// `lookup-events` output has it) into the event as if it were its own record.
pub(crate) fn embedded(ev: &mut Event, sc: &mut Scratch, name: &str) {
    let Some(i) = ev
        .fields
        .iter()
        .position(|f| ev.name(f) == name && f.kind == Kind::Str)
    else {
        return;
    };
    let inner = ev.value(&ev.fields[i]).to_string();
    if !inner.trim_start().starts_with('{') {
        return;
    }
    let roles = sc.roles;
    if flatten(inner.as_bytes(), ev, sc).is_err() {
        sc.notes.push(format!(
            "{name} holds malformed JSON; its fields are not read"
        ));
    }
    sc.roles = roles;
}

/// Sets the stream role to a new field `name` holding `value`.
pub(crate) fn set_stream(ev: &mut Event, name: &str, value: &str) {
    let i = ev.push(name, name, value, Kind::Str, dwell_core::Section::Header);
    ev.set_role(Role::Stream, i);
}
