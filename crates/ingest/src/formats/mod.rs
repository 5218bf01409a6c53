//! Log formats as plug-ins. A format is one type implementing [`Format`]: it recognises its
//! inputs by their content, says how records are framed, decodes a record into an [`Event`]
//! (field names and the [`dwell_core::Role`]s its fields play), reads the event's time, names
//! the Sigma log sources it feeds (as mapping data) and the entities an investigation follows.
//! [`Registry::builtin`] lists the formats dwell ships, one line each; a program embedding the
//! pipeline can [`Registry::register`] its own.

mod access;
mod auditd;
mod evtx;
mod evtx_json;
mod families;
mod family;
mod json;
pub(crate) mod postgres;
mod squid;
mod syslog;
mod text;
mod w3c;
mod web_error;
pub(crate) mod windows;

pub use access::Access;
pub use auditd::Auditd;
pub use evtx::Evtx;
pub use evtx_json::EvtxJson;
pub use family::JsonFamily;
pub use json::Json;
pub use postgres::Postgres;
pub use squid::{LogFormat, Squid};
pub use syslog::Syslog;
pub use w3c::W3c;
pub use web_error::WebError;

use crate::error::ReadError;
use crate::framing::Framer;
use crate::json::{JsonError, Scratch};
use crate::unit::{Blocks, Unit};
use dwell_core::time::TimeError;
use dwell_core::{Entities, Event, Gate, Problem, Record, Resolver};
use std::fmt;
use std::sync::Arc;

/// How strongly a format claims an input, from its first bytes; the strongest claim wins, and
/// among equal claims the format registered first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fit {
    /// The format reads any input of this kind (generic JSON).
    Fallback = 1,
    /// The content has this format's shape (the keys its records have).
    Shape = 2,
    /// A magic number or signature says so.
    Signature = 3,
}

/// The first bytes of an input (after decompression), for [`Format::recognise`].
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    /// Up to 64 KiB.
    pub bytes: &'a [u8],
    /// True when `bytes` is the whole input.
    pub complete: bool,
}

/// How much of an input recognition sees.
pub const HEAD_BYTES: usize = 64 << 10;

/// How a format's records are laid out in its input.
pub enum Layout {
    /// A byte stream cut into records by a framer (read sequentially; pipes are fine).
    Stream(fn() -> Box<dyn Framer>),
    /// Fixed-size blocks read at random offsets, which the format plans into work units itself
    /// ([`Format::plan`]); a pipe or a compressed input is first copied to a temporary file.
    Blocks,
}

/// What a format's time field said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stamp {
    /// The event has no time field.
    Missing,
    /// The event's time, nanoseconds since the Unix epoch.
    At(i64),
    /// The time field holds `value`, which is not a usable time: reported, and the event is
    /// kept without a time.
    Bad {
        /// The field's name.
        field: String,
        /// Its value, as written.
        value: String,
        /// Why it is not usable.
        why: TimeError,
    },
}

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset in the record where the problem is.
    pub offset: usize,
    /// What is wrong, for people (`malformed JSON: expected ':'`).
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for DecodeError {}

impl From<JsonError> for DecodeError {
    fn from(e: JsonError) -> Self {
        DecodeError {
            offset: e.offset,
            message: format!("malformed JSON: {}", e.message),
        }
    }
}

/// What a format needs to decode one record.
pub struct RecordCx<'a> {
    /// Parser buffers and naming settings, reused across records.
    pub json: &'a mut Scratch,
    /// Field symbols of the rules, to resolve names while parsing.
    pub resolver: Option<&'a dyn Resolver>,
    /// Asked once the record's header is known; see [`Gate`].
    pub gate: &'a mut dyn FnMut(&Event, &[u8]) -> Gate,
}

/// The callbacks a format reports decoded records to.
pub struct Hooks<'a> {
    /// Called for every decoded record with its event and its raw bytes (a record the gate
    /// trimmed can be decoded again in full from them, by [`Format::redecode`]).
    pub on_event: &'a mut dyn FnMut(&Event, &[u8]),
    /// Called for every record that cannot be decoded, and every unusable time.
    pub on_problem: &'a mut dyn FnMut(Problem),
}

/// A log format. See the module documentation; `crates/ingest/src/formats/json.rs` is a
/// complete small example.
pub trait Format: Send + Sync {
    /// A short, stable name (`evtx`, `json`): shown in `--coverage` and in messages.
    fn name(&self) -> &'static str;

    /// What it reads, for people (`Windows event log files (EVTX)`).
    fn describe(&self) -> &'static str;

    /// Whether `head` is this format's, and how sure.
    fn recognise(&self, head: &Head<'_>) -> Option<Fit>;

    /// How records are laid out.
    fn layout(&self) -> Layout;

    /// For [`Layout::Blocks`] formats: checks the input and cuts it into work units. Damage
    /// found on the way (a truncated file, a missing range of records) goes to `problem`;
    /// an `Err` means the input cannot be read at all.
    fn plan(
        &self,
        data: &Blocks,
        problem: &mut dyn FnMut(String, String),
    ) -> Result<Vec<Unit>, ReadError> {
        let _ = (data, problem);
        Err(ReadError::Unsupported(self.name()))
    }

    /// Decodes one record into `ev` (which the caller has cleared).
    fn decode_record(
        &self,
        raw: &[u8],
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
    ) -> Result<(), DecodeError>;

    /// Decodes again, in full, a record this format decoded with the gate's trimming
    /// ([`Event::trimmed`]), from the raw bytes it handed on with it. The default decodes
    /// `raw` as one record; a format that hands on something else says how to read it.
    fn redecode(
        &self,
        raw: &[u8],
        full: &mut Event,
        cx: &mut RecordCx<'_>,
    ) -> Result<(), DecodeError> {
        self.decode_record(raw, full, cx)
    }

    /// Decodes a work unit: every record, in order. The default serves [`Layout::Stream`]
    /// formats: each framed record through [`Format::decode_record`], then its time.
    fn decode(
        &self,
        unit: &Unit,
        input: u32,
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
        hooks: &mut Hooks<'_>,
    ) {
        let Unit::Records {
            text,
            pieces,
            unit: counted,
            ..
        } = unit
        else {
            return;
        };
        let lines = *counted == "line";
        for p in pieces {
            ev.clear();
            let bytes = &text[p.start..p.end];
            if let Err(e) = self.decode_record(bytes, ev, cx) {
                cx.json.notes.clear();
                // In a line-framed record, the line of the fault itself; a frame is one place.
                let at = if lines {
                    let before = &bytes[..e.offset.min(bytes.len())];
                    p.line + memchr::memchr_iter(b'\n', before).count() as u64
                } else {
                    p.line
                };
                (hooks.on_problem)(Problem {
                    input,
                    place: format!("{counted} {at}"),
                    reason: e.message,
                });
                continue;
            }
            ev.line = p.line;
            for note in cx.json.notes.drain(..) {
                (hooks.on_problem)(Problem {
                    input,
                    place: format!("{counted} {}", p.line),
                    reason: note,
                });
            }
            finish_event(self, ev, input, || format!("{counted} {}", p.line), hooks);
            (hooks.on_event)(ev, bytes);
        }
    }

    /// The event's time.
    fn timestamp(&self, ev: &Event) -> Stamp;

    /// Called once per input, after recognition: a format whose decoding depends on the input
    /// (the variant it recognised, the year its undated times fall in, the time zone of times
    /// without an offset) returns a copy of itself set up for it; `None` reads it as it is. An
    /// `Err` refuses the input, saying which variant it looked like and why it is not read.
    fn open(&self, opening: &Opening<'_>) -> Result<Option<Arc<dyn Format>>, String> {
        let _ = opening;
        Ok(None)
    }

    /// The variant of the format this instance reads (`rfc3164`, `csvlog`), once opened; empty
    /// when the format has none.
    fn variant(&self) -> &str {
        ""
    }

    /// The Sigma log sources this format's events feed, as mapping data (see docs/mapping.md);
    /// formats that share one mapping return the same text.
    fn mapping(&self) -> &'static str;

    /// The entities a detection on this format's event names, for investigation. `host` is the
    /// event's host as the detection reports it.
    fn entities(&self, record: &Record, host: &str, out: &mut Entities) {
        let _ = record;
        out.host = dwell_core::entity::host(host);
        out.add(dwell_core::EntityKind::Host, out.host.clone());
    }
}

/// Settings every input is opened with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The zone of times written without an offset (`--timezone`); UTC by default.
    pub timezone: jiff::tz::TimeZone,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timezone: jiff::tz::TimeZone::UTC,
        }
    }
}

/// What a format is told when it opens one input ([`Format::open`]).
#[derive(Debug, Clone, Copy)]
pub struct Opening<'a> {
    /// The input's first bytes.
    pub head: Head<'a>,
    /// When the input was last written, in nanoseconds since the epoch (now, for a pipe): the
    /// reference for logs whose times carry no year.
    pub modified: i64,
    /// The run's settings.
    pub settings: &'a Settings,
}

/// Sets the event's time from its format, reporting an unusable one at `place` (built only
/// then: this runs for every record).
pub(crate) fn finish_event(
    format: &(impl Format + ?Sized),
    ev: &mut Event,
    input: u32,
    place: impl FnOnce() -> String,
    hooks: &mut Hooks<'_>,
) {
    ev.timestamp = match format.timestamp(ev) {
        Stamp::At(t) => Some(t),
        Stamp::Missing => None,
        Stamp::Bad { field, value, why } => {
            (hooks.on_problem)(Problem {
                input,
                place: place(),
                reason: format!(
                    "time field {field} '{}' {why}; the event is read without a time",
                    dwell_core::text::clip(&value, 64)
                ),
            });
            None
        }
    };
}

/// The formats an input can be read as.
#[derive(Clone, Default)]
pub struct Registry {
    formats: Vec<Arc<dyn Format>>,
    settings: Settings,
    /// Inputs under a path read as a named format, whatever their content says.
    overrides: Vec<(std::path::PathBuf, Arc<dyn Format>)>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.formats.iter().map(|x| x.name()))
            .finish()
    }
}

impl Registry {
    /// No format at all.
    pub fn empty() -> Registry {
        Registry::default()
    }

    /// The formats dwell ships. Adding one is a new file in this folder, its `mod` line above,
    /// and one line here.
    pub fn builtin() -> Registry {
        Registry::empty()
            .with(Evtx::default())
            .with(EvtxJson)
            .with(Json)
            .with(families::okta::OKTA)
            .with(families::azure::AZURE)
            .with(families::cloudtrail::CLOUDTRAIL)
            .with(families::gcp::GCP)
            .with(families::m365::M365)
            .with(families::github::GITHUB)
            .with(families::kubernetes::KUBERNETES)
            .with(families::zeek::ZEEK)
            .with(families::servicenow::SERVICENOW)
            .with(families::ecs::ECS)
            .with(Auditd)
            .with(Postgres::default())
            .with(Access)
            .with(Squid::default())
            .with(W3c::default())
            .with(WebError::default())
            .with(Syslog::default())
    }

    /// Adds a format (builder style).
    pub fn with(mut self, f: impl Format + 'static) -> Registry {
        self.register(f);
        self
    }

    /// Puts `f` in the place of the format of the same name (a configured copy of a built-in
    /// one), or adds it when there is none.
    pub fn replace(&mut self, f: impl Format + 'static) {
        let f: Arc<dyn Format> = Arc::new(f);
        match self.formats.iter().position(|x| x.name() == f.name()) {
            Some(i) => self.formats[i] = f,
            None => self.formats.push(f),
        }
    }

    /// Adds a format; among formats that claim an input equally, the earlier one wins.
    pub fn register(&mut self, f: impl Format + 'static) {
        self.formats.push(Arc::new(f));
    }

    /// Sets the zone of times written without an offset.
    pub fn timezone(mut self, tz: jiff::tz::TimeZone) -> Registry {
        self.settings.timezone = tz;
        self
    }

    /// The settings inputs are opened with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Reads every input at or under `path` as the format `name`, for logs whose content
    /// cannot tell them apart. Fails when no format has that name.
    pub fn read_as(&mut self, path: &std::path::Path, name: &str) -> Result<(), String> {
        let f = self.get(name).cloned().ok_or_else(|| {
            let names: Vec<&str> = self.formats.iter().map(|f| f.name()).collect();
            format!("no format named '{name}' (formats: {})", names.join(", "))
        })?;
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.overrides.push((abs, f));
        Ok(())
    }

    /// The format an input at `path` must be read as, if one was set with [`Registry::read_as`].
    pub fn override_for(&self, path: &std::path::Path) -> Option<&Arc<dyn Format>> {
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.overrides
            .iter()
            .rev()
            .find(|(p, _)| abs.starts_with(p))
            .map(|(_, f)| f)
    }

    /// Every format, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Format>> {
        self.formats.iter()
    }

    /// The format named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Format>> {
        self.formats.iter().find(|f| f.name() == name)
    }

    /// The format that claims `head` most strongly.
    pub fn recognise(&self, head: &Head<'_>) -> Option<&Arc<dyn Format>> {
        let mut best: Option<(Fit, &Arc<dyn Format>)> = None;
        for f in &self.formats {
            if let Some(fit) = f.recognise(head)
                && best.is_none_or(|(b, _)| fit > b)
            {
                best = Some((fit, f));
                // Nothing claims more strongly, and the first of equals wins: the formats
                // after it (some of which parse the head's lines) need not look.
                if fit == Fit::Signature {
                    break;
                }
            }
        }
        best.map(|(_, f)| f)
    }

    /// The distinct mapping texts of all formats, in registration order.
    pub fn mappings(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for f in &self.formats {
            let m = f.mapping();
            if !m.trim().is_empty() && !out.iter().any(|x| std::ptr::eq(*x, m) || *x == m) {
                out.push(m);
            }
        }
        out
    }

    /// What the registered formats read, for messages: `EVTX, JSON, ...`.
    pub fn summary(&self) -> String {
        self.formats
            .iter()
            .map(|f| f.describe())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Decodes one record with `format`, keeping every field: what format tests check.
#[cfg(test)]
pub(crate) fn decoded(format: &dyn Format, raw: &str) -> Result<Event, DecodeError> {
    let mut ev = Event::default();
    let mut sc = crate::json::Scratch::default();
    let mut gate = |_: &Event, _: &[u8]| dwell_core::Gate::All;
    let mut cx = RecordCx {
        json: &mut sc,
        resolver: None,
        gate: &mut gate,
    };
    format.decode_record(raw.as_bytes(), &mut ev, &mut cx)?;
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::OctetFramer;
    use crate::{Decoder, FileSource, Found, Gather, Source};
    use dwell_core::{Entities, Kind, Record, Section};

    /// Octet-counted records; one that starts with `bad` cannot be decoded.
    struct Octets;

    impl Format for Octets {
        fn name(&self) -> &'static str {
            "octets"
        }
        fn describe(&self) -> &'static str {
            "octet-counted test records"
        }
        fn recognise(&self, _: &Head<'_>) -> Option<Fit> {
            Some(Fit::Shape)
        }
        fn layout(&self) -> Layout {
            Layout::Stream(|| Box::new(OctetFramer::default()) as Box<dyn Framer>)
        }
        fn decode_record(
            &self,
            raw: &[u8],
            ev: &mut Event,
            _: &mut RecordCx<'_>,
        ) -> Result<(), DecodeError> {
            if raw.starts_with(b"bad") {
                return Err(DecodeError {
                    offset: 1,
                    message: "bad record".into(),
                });
            }
            let text = String::from_utf8_lossy(raw);
            ev.push("msg", "msg", &text, Kind::Str, Section::Data);
            Ok(())
        }
        fn timestamp(&self, _: &Event) -> Stamp {
            Stamp::Missing
        }
        fn mapping(&self) -> &'static str {
            ""
        }
        fn entities(&self, _: &Record, _: &str, _: &mut Entities) {}
        fn open(&self, o: &Opening<'_>) -> Result<Option<Arc<dyn Format>>, String> {
            assert!(
                !o.head.bytes.starts_with(b"4 boom"),
                "a defect in the format"
            );
            Ok(None)
        }
    }

    #[test]
    fn a_format_that_panics_costs_its_input_not_the_ones_after() {
        let found = vec![
            Found::memory("first", &b"4 boom"[..]),
            Found::memory("second", &b"5 hello"[..]),
        ];
        let mut feed = Gather::default();
        FileSource::new(found, Registry::empty().with(Octets)).run(&mut feed);
        assert_eq!(feed.failures.len(), 1);
        assert_eq!(feed.failures[0].0, 0);
        let why = feed.failures[0].1.to_string();
        assert!(
            why.contains("internal error while reading it (a defect in the format)"),
            "{why}"
        );
        assert_eq!(feed.formats, [(1, "octets")]);
        assert_eq!(feed.batches.len(), 1);
    }

    #[test]
    fn problems_in_framed_records_are_named_by_the_framers_unit() {
        let found = vec![Found::memory("octets", &b"5 hello3 bad5 world"[..])];
        let mut feed = Gather::default();
        FileSource::new(found, Registry::empty().with(Octets)).run(&mut feed);
        assert!(feed.problems.is_empty() && feed.failures.is_empty());
        let (mut events, mut problems) = (Vec::new(), Vec::new());
        let mut decoder = Decoder::default();
        for b in &feed.batches {
            decoder.decode(
                b,
                &mut |ev| events.push(ev.get("msg").unwrap_or("").to_string()),
                &mut |p| problems.push(p.place),
            );
        }
        assert_eq!(events, ["hello", "world"]);
        assert_eq!(problems, ["frame 2"]);
    }
}
