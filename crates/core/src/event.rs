//! One log event as a flat list of named values, stored in a single reusable text buffer.
//!
//! Every source is flattened to this shape by its format: field names as Sigma rules write them
//! (`CommandLine`, `EventID`, `actor.alternateId`), each with the full dotted path it came from.
//! A format also says which fields play the [`Role`]s every event is asked about (its stream,
//! its event code, its host...), so nothing here knows any particular source. Buffers are reused
//! from event to event, so building an event does not allocate once they have grown.

/// A byte range in [`Event::text`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Span {
    /// The range as indexes into the text.
    #[inline]
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

/// The JSON type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Str,
    /// A number, in the form it was written.
    Num,
    /// `true` or `false`.
    Bool,
    /// A null value (present, but without a value).
    Null,
}

/// Which part of the event a field comes from. When two fields flatten to the same name the
/// lower section wins, so a field from the event's body can never hide one of its header (for
/// Windows: EventData can never hide `EventID` or `Channel` from System).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// The envelope the source writes around every event (Windows: `System`).
    Header = 0,
    /// The event's own data (Windows: `EventData`).
    Data = 1,
    /// Data an application added (Windows: `UserData`).
    Extra = 2,
    /// Anything else.
    Other = 3,
}

/// One flattened value.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The Sigma field name (`CommandLine`, `Provider_Name`, `actor.alternateId`).
    pub name: Span,
    /// The full dotted path in the source document (`Event.EventData.CommandLine`).
    pub path: Span,
    /// The value's text.
    pub value: Span,
    /// The value's type.
    pub kind: Kind,
    /// Where in the event the value came from.
    pub section: Section,
    /// The field's symbol from the [`Resolver`] used while parsing, or [`NO_SYM`].
    pub sym: u32,
}

/// No symbol: the field was not resolved, or no rule names it.
pub const NO_SYM: u32 = u32::MAX;

/// Gives field names the small integers a rule engine knows them by.
pub trait Resolver {
    /// The symbol of `name`, if any rule uses it.
    fn sym(&self, name: &str) -> Option<u32>;

    /// A number no other resolver of this process has, so that a format may keep the symbols it
    /// resolved from one batch to the next; `None` (the default) asks it not to.
    fn identity(&self) -> Option<u64> {
        None
    }
}

/// What to do with the rest of an event once its header is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// No rule applies: stop parsing (the event is [`Event::partial`]).
    Skip,
    /// Keep only the fields some rule names (and the header).
    Referenced,
    /// Keep everything.
    All,
}

/// The questions every event is asked, whatever its source: which of its fields answers each
/// is the format's business (see [`RoleNames`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The log stream within the source, which rules are routed by (Windows: `Channel`).
    Stream = 0,
    /// A numeric event type within the stream (Windows: `EventID`).
    Code = 1,
    /// The host that logged the event (Windows: `Computer`).
    Host = 2,
    /// The component that wrote it (Windows: `Provider_Name`).
    Provider = 3,
    /// When it happened, as the source writes it (Windows: `TimeCreated_SystemTime`).
    Time = 4,
    /// The source's own identifier of the record (Windows: `EventRecordID`; elsewhere often
    /// an event UUID), which makes the same record recognisable in two copies of a log.
    RecordId = 5,
}

/// How many roles there are.
pub const ROLES: usize = 6;

/// A format's answer to "which field plays which role": field names (compared
/// ASCII-case-insensitively) and their roles. Build it with [`RoleNames::new`].
#[derive(Debug, Clone, Copy)]
pub struct RoleNames {
    names: &'static [(&'static str, Role)],
    /// Bit `n` set when some name is `n` bytes long (names of 64 bytes or more set bit 63).
    lengths: u64,
    /// Bit `c` set when some name starts with the ASCII byte `c`, either case (bit 127 for a
    /// name starting with a non-ASCII byte).
    firsts: u128,
}

impl Default for RoleNames {
    fn default() -> Self {
        RoleNames::NONE
    }
}

impl RoleNames {
    /// No field plays any role.
    pub const NONE: RoleNames = RoleNames::new(&[]);

    /// The names and the roles they play.
    pub const fn new(names: &'static [(&'static str, Role)]) -> RoleNames {
        let (mut lengths, mut firsts) = (0u64, 0u128);
        let mut i = 0;
        while i < names.len() {
            let n = names[i].0.as_bytes();
            lengths |= 1 << Self::length_bit(n.len());
            if !n.is_empty() {
                firsts |= 1 << Self::first_bit(n[0].to_ascii_lowercase());
                firsts |= 1 << Self::first_bit(n[0].to_ascii_uppercase());
            }
            i += 1;
        }
        RoleNames {
            names,
            lengths,
            firsts,
        }
    }

    const fn length_bit(len: usize) -> u32 {
        if len < 63 { len as u32 } else { 63 }
    }

    const fn first_bit(b: u8) -> u32 {
        if b < 127 { b as u32 } else { 127 }
    }

    /// The role the field `name` plays, if any. Runs for every field of a flat record, so two
    /// bit tests (the name's length, its first byte) turn away most names before any is
    /// compared.
    #[inline]
    pub fn of(&self, name: &str) -> Option<Role> {
        let b = name.as_bytes();
        let first = *b.first()?;
        if self.lengths & (1 << Self::length_bit(b.len())) == 0
            || self.firsts & (1 << Self::first_bit(first)) == 0
        {
            return None;
        }
        self.names
            .iter()
            .find(|(n, _)| {
                let n = n.as_bytes();
                n.len() == b.len() && (n == b || n.eq_ignore_ascii_case(b))
            })
            .map(|(_, r)| *r)
    }

    /// The field name that plays `role`, if any.
    pub fn name(&self, role: Role) -> Option<&'static str> {
        self.names.iter().find(|(_, r)| *r == role).map(|(n, _)| *n)
    }
}

/// A flattened event. Reuse one per thread with [`Event::clear`].
#[derive(Debug, Default, Clone)]
pub struct Event {
    /// Every name, path and value, one after the other.
    pub text: String,
    /// The fields, in the order the source wrote them.
    pub fields: Vec<Field>,
    /// The record's own number in its source (EVTX: the record id), if it has one.
    pub record_id: Option<u64>,
    /// Event time, nanoseconds since the Unix epoch (UTC), once the format has read it.
    pub timestamp: Option<i64>,
    /// For text inputs: the line the event starts on (1-based).
    pub line: u64,
    /// Only the header was parsed (no rule can match this event; see [`Gate::Skip`]).
    pub partial: bool,
    /// Index + 1 of the field playing each [`Role`], 0 when none does.
    pub roles: [u32; ROLES],
    /// Field symbols were resolved while parsing (see [`Field::sym`]).
    pub resolved: bool,
    /// Fields no rule names were left out (see [`Gate::Referenced`]).
    pub trimmed: bool,
    /// The name of the format that decoded the event. Set by the decoder for each batch and
    /// kept by [`Event::clear`], which formats call between records.
    pub format: &'static str,
    /// The symbol of each field's path, when the format resolved those too (one per field);
    /// otherwise empty, and paths are looked up by their text.
    pub path_syms: Vec<u32>,
}

impl Event {
    /// Empties the event, keeping its buffers (and [`Event::format`]).
    pub fn clear(&mut self) {
        self.text.clear();
        self.fields.clear();
        self.record_id = None;
        self.timestamp = None;
        self.line = 0;
        self.partial = false;
        self.roles = [0; ROLES];
        self.resolved = false;
        self.trimmed = false;
        self.path_syms.clear();
    }

    /// The value of the field playing `role` (null values count as absent).
    #[inline]
    pub fn role(&self, role: Role) -> Option<&str> {
        match self.roles[role as usize] {
            0 => None,
            i => {
                let f = &self.fields[i as usize - 1];
                (f.kind != Kind::Null).then(|| self.value(f))
            }
        }
    }

    /// Records field `index` as playing `role` unless a field of a higher-ranking section
    /// already does.
    #[inline]
    pub fn set_role(&mut self, role: Role, index: usize) {
        let section = self.fields[index].section;
        let slot = &mut self.roles[role as usize];
        if *slot == 0 || self.fields[*slot as usize - 1].section > section {
            *slot = index as u32 + 1;
        }
    }

    /// The field's name.
    #[inline]
    pub fn name(&self, f: &Field) -> &str {
        &self.text[f.name.range()]
    }

    /// The field's full dotted path.
    #[inline]
    pub fn path(&self, f: &Field) -> &str {
        &self.text[f.path.range()]
    }

    /// The field's value.
    #[inline]
    pub fn value(&self, f: &Field) -> &str {
        &self.text[f.value.range()]
    }

    /// The first value named `name` (exact, case-sensitive), searching sections in priority
    /// order. For metadata; the engine has its own indexed lookup.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.best(|n| n == name)
    }

    /// Like [`Event::get`], with the name compared ASCII-case-insensitively, as rules do.
    pub fn get_ci(&self, name: &str) -> Option<&str> {
        self.best(|n| n.eq_ignore_ascii_case(name))
    }

    fn best(&self, wanted: impl Fn(&str) -> bool) -> Option<&str> {
        let mut best: Option<&Field> = None;
        for f in &self.fields {
            if wanted(self.name(f)) && best.is_none_or(|b| f.section < b.section) {
                best = Some(f);
            }
        }
        best.filter(|f| f.kind != Kind::Null).map(|f| self.value(f))
    }

    /// The stream the event belongs to (see [`Role::Stream`]).
    pub fn stream(&self) -> Option<&str> {
        self.role(Role::Stream)
    }

    /// The event's numeric code (see [`Role::Code`]), when it is a number.
    pub fn code(&self) -> Option<u32> {
        self.role(Role::Code).and_then(|s| s.trim().parse().ok())
    }

    /// The host that logged the event (see [`Role::Host`]).
    pub fn host(&self) -> Option<&str> {
        self.role(Role::Host)
    }

    /// The component that wrote the event (see [`Role::Provider`]).
    pub fn provider(&self) -> Option<&str> {
        self.role(Role::Provider)
    }

    /// Appends a field; `name` and `path` may be equal, in which case the text is shared.
    /// Returns its index, for [`Event::set_role`].
    pub fn push(
        &mut self,
        name: &str,
        path: &str,
        value: &str,
        kind: Kind,
        section: Section,
    ) -> usize {
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
            sym: crate::event::NO_SYM,
        });
        self.fields.len() - 1
    }

    /// Appends `s` to the text buffer.
    #[inline]
    pub fn push_text(&mut self, s: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        Span {
            start,
            len: s.len() as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_section_rank() {
        let mut ev = Event::default();
        let body = ev.push("Computer", "Computer", "fake", Kind::Str, Section::Data);
        ev.set_role(Role::Host, body);
        assert_eq!(ev.host(), Some("fake"));
        let header = ev.push("Computer", "Computer", "real", Kind::Str, Section::Header);
        ev.set_role(Role::Host, header);
        // A later body field cannot take the role back.
        let again = ev.push("Computer", "Computer", "fake2", Kind::Str, Section::Data);
        ev.set_role(Role::Host, again);
        assert_eq!(ev.host(), Some("real"));
        assert_eq!(ev.get("Computer"), Some("real"));
        let code = ev.push("EventID", "EventID", " 4624 ", Kind::Str, Section::Header);
        ev.set_role(Role::Code, code);
        assert_eq!(ev.code(), Some(4624));
        assert_eq!(ev.stream(), None);
        ev.clear();
        assert_eq!(ev.host(), None);
        assert!(ev.fields.is_empty());
    }

    #[test]
    fn role_names_are_case_insensitive() {
        const R: RoleNames = RoleNames::new(&[("Channel", Role::Stream), ("EventID", Role::Code)]);
        assert_eq!(R.of("channel"), Some(Role::Stream));
        assert_eq!(R.of("EVENTID"), Some(Role::Code));
        assert_eq!(R.of("EventIDs"), None);
        assert_eq!(R.name(Role::Code), Some("EventID"));
        assert_eq!(RoleNames::NONE.of("Channel"), None);
        assert_eq!(R.of(""), None);
        assert_eq!(R.of("Dhannel"), None, "same length, other first letter");
        assert_eq!(R.of("Channex"), None, "same first letter and length");
        assert_eq!(
            R.of("cHANNEL"),
            Some(Role::Stream),
            "either case of the first letter"
        );
        const LONG: RoleNames = RoleNames::new(&[(
            "A_field_name_longer_than_sixty_four_bytes_which_formats_might_have",
            Role::Time,
        )]);
        assert_eq!(
            LONG.of("a_FIELD_name_longer_than_sixty_four_bytes_which_formats_might_have"),
            Some(Role::Time)
        );
        assert_eq!(
            LONG.of("A_field_name_longer_than_sixty_four_bytes_but_another_one_entirely"),
            None
        );
        const ODD: RoleNames = RoleNames::new(&[("Ärger", Role::Host), ("", Role::Code)]);
        assert_eq!(ODD.of("Ärger"), Some(Role::Host));
        assert_eq!(ODD.of(""), None);
    }
}
