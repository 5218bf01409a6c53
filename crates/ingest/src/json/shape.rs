//! How JSON keys become field names: the naming context of each object (a Windows event's
//! `System`, `EventData`, `UserData` sections, Winlogbeat's `winlog`, or a plain dotted path),
//! computed once per object so that a leaf's name costs a copy, not a walk over its path.

use super::parser::Parser;
use super::{Naming, Scratch};
use dwell_core::{Gate, Section};

/// How the members of the object being parsed are named. Computed once per object, so a
/// leaf's name costs a copy, not a walk over its path.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ctx {
    Root,
    /// Inside `{"Event": ...}` of the evtx rendering.
    Event,
    /// Direct members of `System`.
    System,
    /// Inside a System element; names are `Element_attribute` (prefix span).
    SysElem(u32, u32),
    /// Direct members of EventData/UserData/RenderingInfo.
    Part(Section, &'static str),
    /// Attributes of the EventData/UserData element itself.
    PartAttrs(Section, &'static str),
    /// Deeper inside a part; the span names the current element (for `#text`).
    Nested(Section, u32, u32),
    /// Attributes of an element deeper inside a part.
    NestedAttrs(Section),
    /// Winlogbeat's `winlog` object.
    Winlog,
    /// Anything else: names are the dotted path (prefix span; empty at the root).
    Generic(u32, u32),
    /// Dropped (namespace declarations).
    Drop,
}

fn part(key: &str) -> Option<(Section, &'static str)> {
    Some(match key {
        "System" => (Section::Header, "System"),
        "EventData" => (Section::Data, "EventData"),
        "UserData" => (Section::Extra, "UserData"),
        "RenderingInfo" => (Section::Other, "RenderingInfo"),
        "ProcessingErrorData" => (Section::Other, "ProcessingErrorData"),
        "DebugData" => (Section::Other, "DebugData"),
        _ => return None,
    })
}

impl Parser<'_, '_> {
    /// The context for the members of an object found under `key` in `ctx`.
    pub(super) fn child(&mut self, ctx: Ctx, key: &str) -> Ctx {
        if let Naming::Dotted | Naming::Lifted(_) = self.sc.naming {
            let base = match ctx {
                Ctx::Generic(s, l) => Some((s, l)),
                _ => None,
            };
            if let (Naming::Lifted(keys), Ctx::Root) = (self.sc.naming, ctx)
                && keys.contains(&key)
            {
                return Ctx::Generic(self.sc.prefix.len() as u32, 0);
            }
            let (s, l) = push_raw(self.sc, base, key);
            return Ctx::Generic(s, l);
        }
        if matches!(ctx, Ctx::Root)
            && (key == "Event" || key == "System")
            && self.resolver.is_some()
            && self.mode == Gate::All
            && !self.gated
        {
            self.mode = Gate::Referenced;
        }
        let push =
            |sc: &mut Scratch, base: Option<(u32, u32)>, sep: char, key: &str| -> (u32, u32) {
                match base {
                    Some((s, l)) if l > 0 => {
                        sc.prefix.truncate((s + l) as usize);
                        sc.prefix.push(sep);
                        push_name(&mut sc.prefix, key);
                        (s, sc.prefix.len() as u32 - s)
                    }
                    _ => {
                        let s = sc.prefix.len() as u32;
                        push_name(&mut sc.prefix, key);
                        (s, sc.prefix.len() as u32 - s)
                    }
                }
            };
        let sc = &mut *self.sc;
        match ctx {
            Ctx::Root => match (key, part(key)) {
                ("Event", _) => Ctx::Event,
                (_, Some((Section::Header, _))) => Ctx::System,
                (_, Some((sec, name))) => Ctx::Part(sec, name),
                ("winlog", _) => Ctx::Winlog,
                _ => {
                    let (s, l) = push_raw(sc, None, key);
                    Ctx::Generic(s, l)
                }
            },
            Ctx::Event => match part(key) {
                Some((Section::Header, _)) => Ctx::System,
                Some((sec, name)) => Ctx::Part(sec, name),
                None if key == "#attributes" => Ctx::Drop,
                None => {
                    let (s, l) = push_raw(sc, None, "Event");
                    let (s, l) = push_raw(sc, Some((s, l)), key);
                    Ctx::Generic(s, l)
                }
            },
            Ctx::System => {
                let k = key.strip_suffix("_attributes").unwrap_or(key);
                let (s, l) = push(sc, None, '_', k);
                Ctx::SysElem(s, l)
            }
            Ctx::SysElem(s, l) => {
                if key == "#attributes" {
                    Ctx::SysElem(s, l)
                } else {
                    let k = key.strip_suffix("_attributes").unwrap_or(key);
                    let (s, l) = push(sc, Some((s, l)), '_', k);
                    Ctx::SysElem(s, l)
                }
            }
            Ctx::Part(sec, name) => {
                if key == "#attributes" {
                    Ctx::PartAttrs(sec, name)
                } else {
                    let (s, l) = push(sc, None, '_', key);
                    Ctx::Nested(sec, s, l)
                }
            }
            Ctx::Nested(sec, ..) => {
                if key == "#attributes" {
                    Ctx::NestedAttrs(sec)
                } else {
                    let (s, l) = push(sc, None, '_', key);
                    Ctx::Nested(sec, s, l)
                }
            }
            Ctx::Winlog => match key {
                "event_data" => Ctx::Part(Section::Data, "EventData"),
                "user_data" => Ctx::Part(Section::Extra, "UserData"),
                _ => {
                    let (s, l) = push_raw(sc, None, "winlog");
                    let (s, l) = push_raw(sc, Some((s, l)), key);
                    Ctx::Generic(s, l)
                }
            },
            Ctx::Generic(s, l) => {
                let (s, l) = push_raw(sc, Some((s, l)), key);
                Ctx::Generic(s, l)
            }
            Ctx::PartAttrs(..) | Ctx::NestedAttrs(_) | Ctx::Drop => Ctx::Drop,
        }
    }

    /// The name and section of a scalar found under `key` in `ctx`, written to the scratch
    /// name buffer. `None` drops the value.
    pub(super) fn leaf_name(&mut self, ctx: Ctx, key: &str) -> Option<Section> {
        let windows = self.sc.naming == Naming::Windows;
        let sc = &mut *self.sc;
        let name = &mut sc.name;
        name.clear();
        let pre = |s: u32, l: u32| &sc.prefix[s as usize..(s + l) as usize];
        Some(match ctx {
            Ctx::Root | Ctx::Generic(..) => {
                if let Ctx::Generic(s, l) = ctx
                    && l > 0
                {
                    let p = pre(s, l);
                    if windows && p == "winlog.process" && key == "pid" {
                        name.push_str("Execution_ProcessID");
                        return Some(Section::Header);
                    }
                    if windows && p == "winlog.user" && key == "identifier" {
                        name.push_str("Security_UserID");
                        return Some(Section::Header);
                    }
                    name.push_str(p);
                    name.push('.');
                }
                name.push_str(key);
                Section::Other
            }
            Ctx::Event => {
                if key == "#attributes" {
                    return None;
                }
                name.push_str("Event.");
                name.push_str(key);
                Section::Other
            }
            Ctx::System => {
                push_name(name, key);
                Section::Header
            }
            Ctx::SysElem(s, l) => {
                name.push_str(pre(s, l));
                // `#text` is the element's value in evtx_dump's rendering; `Value` in
                // Velociraptor's (and the Go parsers'): `"EventID": {"Value": 4624}`.
                if key != "#text" && key != "Value" {
                    name.push('_');
                    push_name(name, key);
                }
                Section::Header
            }
            Ctx::Part(sec, part) => {
                if key == "#text" {
                    name.push_str(part);
                } else {
                    push_name(name, key);
                }
                sec
            }
            Ctx::PartAttrs(sec, part) => {
                if key == "xmlns" {
                    return None;
                }
                name.push_str(part);
                name.push('_');
                push_name(name, key);
                sec
            }
            Ctx::Nested(sec, s, l) => {
                if key == "#text" {
                    name.push_str(pre(s, l));
                } else {
                    push_name(name, key);
                }
                sec
            }
            Ctx::NestedAttrs(sec) => {
                if key == "xmlns" {
                    return None;
                }
                push_name(name, key);
                sec
            }
            Ctx::Winlog => {
                let mapped = match key {
                    "channel" => "Channel",
                    "event_id" => "EventID",
                    "computer_name" => "Computer",
                    "provider_name" => "Provider_Name",
                    "provider_guid" => "Provider_Guid",
                    "record_id" => "EventRecordID",
                    "task" => "Task",
                    "opcode" => "Opcode",
                    "version" => "Version",
                    _ => {
                        name.push_str("winlog.");
                        name.push_str(key);
                        return Some(Section::Other);
                    }
                };
                name.push_str(mapped);
                Section::Header
            }
            Ctx::Drop => return None,
        })
    }
}

/// Appends `key` to the prefix stack after `base` joined with '.', keeping it verbatim.
pub(super) fn push_raw(sc: &mut Scratch, base: Option<(u32, u32)>, key: &str) -> (u32, u32) {
    match base {
        // A lifted object's members start a name of their own.
        Some((s, 0)) => {
            sc.prefix.truncate(s as usize);
            sc.prefix.push_str(key);
            (s, sc.prefix.len() as u32 - s)
        }
        Some((s, l)) => {
            sc.prefix.truncate((s + l) as usize);
            sc.prefix.push('.');
            sc.prefix.push_str(key);
            (s, sc.prefix.len() as u32 - s)
        }
        None => {
            let s = sc.prefix.len() as u32;
            sc.prefix.push_str(key);
            (s, sc.prefix.len() as u32 - s)
        }
    }
}

/// Appends a name with its spaces removed (`Threat Name` is the field `ThreatName`).
pub(super) fn push_name(out: &mut String, part: &str) {
    if part.bytes().any(|b| b == b' ') {
        out.extend(part.chars().filter(|c| *c != ' '));
    } else {
        out.push_str(part);
    }
}
