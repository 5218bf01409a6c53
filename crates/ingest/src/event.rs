//! One log event as a flat list of named values, stored in a single reusable text buffer.
//!
//! Every source (EVTX, evtx_dump JSON, Winlogbeat, flat JSON) is flattened to the same shape:
//! Sigma field names such as `CommandLine`, `EventID` or `Provider_Name`, plus the full dotted
//! path each value came from. Buffers are reused from event to event, so building an event
//! does not allocate once they have grown.

/// A byte range in [`Event::text`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub len: u32,
}

impl Span {
    #[inline]
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

/// The JSON type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Num,
    Bool,
    Null,
}

/// Which part of the event a field comes from. When two fields flatten to the same name the
/// lower section wins, so an EventData field can never hide `EventID` or `Channel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    System = 0,
    EventData = 1,
    UserData = 2,
    Other = 3,
}

/// One flattened value.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The Sigma field name (`CommandLine`, `Provider_Name`, `actor.alternateId`).
    pub name: Span,
    /// The full dotted path in the source document (`Event.EventData.CommandLine`).
    pub path: Span,
    pub value: Span,
    pub kind: Kind,
    pub section: Section,
    /// The field's symbol from the [`Resolver`] used while parsing, or [`NO_SYM`].
    pub sym: u32,
}

/// No symbol: the field was not resolved, or no rule names it.
pub const NO_SYM: u32 = u32::MAX;

/// Gives field names the small integers a rule engine knows them by.
pub trait Resolver {
    fn sym(&self, name: &str) -> Option<u32>;
}

/// What to do with the rest of an event once its System section is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// No rule applies: stop parsing (the event is [`Event::partial`]).
    Skip,
    /// Keep only the fields some rule names (and the System section).
    Referenced,
    /// Keep everything.
    All,
}

/// A flattened event. Reuse one per thread with [`Event::clear`].
#[derive(Debug, Default, Clone)]
pub struct Event {
    pub text: String,
    pub fields: Vec<Field>,
    /// EVTX record number, if the event has one.
    pub record_id: Option<u64>,
    /// Event time, nanoseconds since the Unix epoch (UTC).
    pub timestamp: Option<i64>,
    /// For JSON inputs: the line the event starts on (1-based).
    pub line: u64,
    /// Only the System section was parsed (no rule can match this event; see
    /// [`crate::json::flatten_gated`]).
    pub partial: bool,
    /// Index + 1 of the well-known fields (see [`Known`]), 0 when absent: read for every
    /// event, so they are found once, while parsing.
    pub known: [u32; 5],
    /// Field symbols were resolved while parsing (see [`Field::sym`]).
    pub resolved: bool,
    /// Fields no rule names were left out (see [`Gate::Referenced`]).
    pub trimmed: bool,
}

/// Fields every event is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    Channel = 0,
    EventId = 1,
    Computer = 2,
    Provider = 3,
    Time = 4,
}

impl Known {
    /// Which well-known field `name` is (ASCII case-insensitively).
    #[inline]
    pub fn of(name: &str) -> Option<Known> {
        let k = match name.len() {
            7 if name.eq_ignore_ascii_case("Channel") => Known::Channel,
            7 if name.eq_ignore_ascii_case("EventID") => Known::EventId,
            8 if name.eq_ignore_ascii_case("Computer") => Known::Computer,
            13 if name.eq_ignore_ascii_case("Provider_Name") => Known::Provider,
            22 if name.eq_ignore_ascii_case("TimeCreated_SystemTime") => Known::Time,
            _ => return None,
        };
        Some(k)
    }

    pub fn name(self) -> &'static str {
        match self {
            Known::Channel => "Channel",
            Known::EventId => "EventID",
            Known::Computer => "Computer",
            Known::Provider => "Provider_Name",
            Known::Time => "TimeCreated_SystemTime",
        }
    }
}

impl Event {
    pub fn clear(&mut self) {
        self.text.clear();
        self.fields.clear();
        self.record_id = None;
        self.timestamp = None;
        self.line = 0;
        self.partial = false;
        self.known = [0; 5];
        self.resolved = false;
        self.trimmed = false;
    }

    /// The value of a well-known field (null values count as absent).
    #[inline]
    pub fn known(&self, k: Known) -> Option<&str> {
        match self.known[k as usize] {
            0 => self.get(k.name()),
            i => {
                let f = &self.fields[i as usize - 1];
                (f.kind != Kind::Null).then(|| self.value(f))
            }
        }
    }

    /// Records field `index` as a well-known field if it is one and outranks what was seen.
    #[inline]
    pub(crate) fn note_known(&mut self, index: usize) {
        let f = &self.fields[index];
        if let Some(k) = Known::of(&self.text[f.name.range()]) {
            self.set_known(k, index);
        }
    }

    /// Records field `index` as well-known field `k` unless a higher-ranking one was seen.
    #[inline]
    pub(crate) fn set_known(&mut self, k: Known, index: usize) {
        let section = self.fields[index].section;
        let slot = &mut self.known[k as usize];
        if *slot == 0 || self.fields[*slot as usize - 1].section > section {
            *slot = index as u32 + 1;
        }
    }

    #[inline]
    pub fn name(&self, f: &Field) -> &str {
        &self.text[f.name.range()]
    }

    #[inline]
    pub fn path(&self, f: &Field) -> &str {
        &self.text[f.path.range()]
    }

    #[inline]
    pub fn value(&self, f: &Field) -> &str {
        &self.text[f.value.range()]
    }

    /// The first value named `name` (exact, case-sensitive), searching sections in priority
    /// order. For metadata; the engine has its own indexed lookup.
    pub fn get(&self, name: &str) -> Option<&str> {
        let mut best: Option<&Field> = None;
        for f in &self.fields {
            if self.name(f) == name && best.is_none_or(|b| f.section < b.section) {
                best = Some(f);
            }
        }
        best.filter(|f| f.kind != Kind::Null).map(|f| self.value(f))
    }

    /// Like [`Event::get`], with the name compared ASCII-case-insensitively, as rules do.
    pub fn get_ci(&self, name: &str) -> Option<&str> {
        let mut best: Option<&Field> = None;
        for f in &self.fields {
            if self.name(f).eq_ignore_ascii_case(name) && best.is_none_or(|b| f.section < b.section)
            {
                best = Some(f);
            }
        }
        best.filter(|f| f.kind != Kind::Null).map(|f| self.value(f))
    }

    pub fn channel(&self) -> Option<&str> {
        self.known(Known::Channel)
    }

    pub fn computer(&self) -> Option<&str> {
        self.known(Known::Computer)
    }

    pub fn provider(&self) -> Option<&str> {
        self.known(Known::Provider)
    }

    pub fn event_id(&self) -> Option<u32> {
        self.known(Known::EventId)
            .and_then(|s| s.trim().parse().ok())
    }

    /// Appends a field; `name` and `path` may be equal, in which case the text is shared.
    pub fn push(&mut self, name: &str, path: &str, value: &str, kind: Kind, section: Section) {
        let path_span = self.push_text(path);
        let name_span = if name == path {
            path_span
        } else {
            self.push_text(name)
        };
        let value = self.push_text(value);
        self.fields.push(Field {
            name: name_span,
            path: path_span,
            value,
            kind,
            section,
            sym: NO_SYM,
        });
        self.note_known(self.fields.len() - 1);
    }

    #[inline]
    pub(crate) fn push_text(&mut self, s: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        Span {
            start,
            len: s.len() as u32,
        }
    }

    /// Finds the event time among the usual timestamp fields of the supported sources.
    pub fn find_timestamp(&self) -> Option<i64> {
        if let Some(t) = self.known(Known::Time).and_then(crate::time::parse) {
            return Some(t);
        }
        const CANDIDATES: [&str; 10] = [
            "TimeCreated_SystemTime",
            "@timestamp",
            "timestamp",
            "published",
            "eventTime",
            "time",
            "createdDateTime",
            "activityDateTime",
            "UtcTime",
            "EventTime",
        ];
        for c in CANDIDATES {
            if let Some(v) = self.get(c)
                && let Some(t) = crate::time::parse(v)
            {
                return Some(t);
            }
        }
        None
    }

    /// The event's fields as a JSON object (names to typed values; repeated names become
    /// arrays), for output.
    pub fn to_json_object(&self) -> String {
        // Group repeated names, keeping the order names first appear in.
        let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, f) in self.fields.iter().enumerate() {
            let name = self.name(f);
            match index.get(name) {
                Some(&g) => groups[g].1.push(i),
                None => {
                    index.insert(name, groups.len());
                    groups.push((name, vec![i]));
                }
            }
        }
        let mut out = String::with_capacity(self.text.len() + self.fields.len() * 8);
        out.push('{');
        for (n, (name, members)) in groups.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            crate::json::write_string(&mut out, name);
            out.push(':');
            if let [only] = members.as_slice() {
                self.write_value(&mut out, &self.fields[*only]);
            } else {
                out.push('[');
                for (k, &j) in members.iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    self.write_value(&mut out, &self.fields[j]);
                }
                out.push(']');
            }
        }
        out.push('}');
        out
    }

    fn write_value(&self, out: &mut String, f: &Field) {
        let v = self.value(f);
        match f.kind {
            Kind::Null => out.push_str("null"),
            Kind::Bool => out.push_str(v),
            Kind::Num if crate::json::is_json_number(v) => out.push_str(v),
            _ => crate::json::write_string(out, v),
        }
    }
}
