//! JSON events: a flattening parser that writes leaves straight into an [`Event`].
//!
//! Field names follow one of two [`Naming`]s. `Windows` knows the shapes Windows events take
//! in JSON: the `evtx` crate's and evtx_dump's rendering (`Event.System`, `Event.EventData`,
//! `Event.UserData`) and Winlogbeat's (`winlog.*`), named as Sigma's Windows rules name them;
//! anything else is named by its dotted path. `Dotted` names every value by its dotted path, for
//! formats whose own keys could look like a Windows shape. The same parser reads the records of
//! EVTX files, so EVTX and its JSON renderings agree.

mod parser;
mod shape;

use dwell_core::{Event, Gate, Resolver, RoleNames};
use parser::Parser;
use shape::Ctx;
use std::fmt;

/// Deepest nesting accepted in one event.
pub const MAX_DEPTH: usize = 64;

/// Why a JSON event could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset in the event's text.
    pub offset: usize,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for JsonError {}

/// How JSON keys become field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Naming {
    /// Windows event shapes get Sigma's Windows names; everything else its dotted path.
    #[default]
    Windows,
    /// Every value is named by its dotted path.
    Dotted,
    /// Named by dotted path, except that the members of these top-level objects are named
    /// without the object's key (`properties.status` is `status`; its path keeps the key, so a
    /// rule may name either). For sources that wrap a record's body in an envelope.
    Lifted(&'static [&'static str]),
}

/// Reusable buffers and settings for [`flatten`].
#[derive(Debug, Default)]
pub struct Scratch {
    /// Name prefixes of the enclosing objects, used as a stack.
    prefix: String,
    /// The dotted path of the current value (only with `keep_paths`).
    path: String,
    name: String,
    key: String,
    /// Also record each value's full dotted path (needed only when rules use dotted names).
    pub keep_paths: bool,
    /// How keys become names.
    pub naming: Naming,
    /// Which fields play which role (outside a Windows event's data sections).
    pub roles: RoleNames,
    /// Problems a format found in a record it could still decode (invalid UTF-8 replaced):
    /// the caller reports them at the record's place.
    pub notes: Vec<String>,
}

/// Parses one JSON object and appends its leaves to `ev` (which the caller clears).
pub fn flatten(input: &[u8], ev: &mut Event, scratch: &mut Scratch) -> Result<(), JsonError> {
    flatten_gated(input, ev, scratch, None, &mut |_, _| Gate::All)
}

/// Like [`flatten`], resolving field names with `resolver` (see [`dwell_core::Field::sym`]),
/// and, once a Windows event's `System` section is complete, asking `gate` what to do with
/// the rest: stop ([`Gate::Skip`]: the event is [`Event::partial`]), keep only fields the
/// resolver knows ([`Gate::Referenced`]: the event is [`Event::trimmed`]), or keep everything.
pub fn flatten_gated(
    input: &[u8],
    ev: &mut Event,
    scratch: &mut Scratch,
    resolver: Option<&dyn Resolver>,
    gate: &mut dyn FnMut(&Event, &[u8]) -> Gate,
) -> Result<(), JsonError> {
    let text = std::str::from_utf8(input).map_err(|e| JsonError {
        offset: e.valid_up_to(),
        message: "invalid UTF-8".into(),
    })?;
    scratch.prefix.clear();
    scratch.path.clear();
    ev.resolved = resolver.is_some();
    // Only Windows-shaped events (a `System` section first) are gated; once one is recognised,
    // even System values no rule names are left out until the gate has spoken (see `child`).
    let mut p = Parser::new(text, input, ev, scratch, gate, resolver, false);
    p.ws();
    if p.peek() != Some(b'{') {
        return Err(p.err("an event must be a JSON object"));
    }
    p.value(Ctx::Root, "", 0)?;
    if p.mode == Gate::Referenced && !p.gated {
        // Trimming started, but no System section came to decide on: keep everything.
        p.restart = true;
    }
    if p.restart {
        // The gate wants everything, but System values were left out: parse it all again.
        let (ev, sc) = p.into_parts();
        ev.clear();
        ev.resolved = true;
        let mut all = |_: &Event, _: &[u8]| Gate::All;
        let mut p = Parser::new(text, input, ev, sc, &mut all, resolver, true);
        p.value(Ctx::Root, "", 0)?;
        return p.end();
    }
    if p.halted {
        p.ev.partial = true;
        return Ok(());
    }
    p.end()
}

#[cfg(test)]
mod tests;
