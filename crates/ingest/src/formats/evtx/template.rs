//! Template definitions compiled into field programs. A record of the common shape is one
//! template instance: a definition (the XML skeleton, stored once per chunk) plus typed
//! substitution values. Reading a definition once says, for each substitution, which dwell field
//! it fills, so the records of that template are read without rendering any text.
//!
//! The reader accepts only the shapes whose JSON rendering by the `evtx` crate, as dwell's JSON
//! reader names it, it mirrors exactly (System elements; named and unnamed `Data` and leaf
//! elements in EventData; the element inside UserData, at any depth); anything else is `None`,
//! and such records keep the JSON path.

use super::fast::Bytes;
use crate::formats::windows::ROLES;
use dwell_core::{Kind, NO_SYM, Resolver, Role, Section};

/// Deepest element nesting read in a definition; the shapes compiled are three levels deep.
const MAX_DEPTH: usize = 8;
/// Most tokens read in one definition (a 64 KiB chunk cannot hold many more).
const MAX_TOKENS: usize = 16_384;

/// A field name a program writes, resolved once per definition.
#[derive(Debug, Clone)]
pub(super) struct Name {
    /// Where the name is in its program's [`Program::names`], and how long.
    pub at: u32,
    pub len: u32,
    /// The same for the dotted path of its JSON rendering's keys
    /// (`Event.System.Provider.#attributes.Name`), kept when rules name fields by path.
    pub path_at: u32,
    pub path_len: u32,
    pub sym: u32,
    /// The symbol of the path.
    pub path_sym: u32,
    /// A rule names it, or it plays a role: kept when the gate trims the event.
    pub wanted: bool,
    pub role: Option<Role>,
    pub section: Section,
}

/// An attribute member of a System element.
#[derive(Debug, Clone)]
pub(super) enum Attr {
    /// Literal text: always a member.
    Lit(Name, Box<str>),
    /// A substitution: a member unless its value is empty.
    Sub(Name, u16),
}

/// One step of a program.
#[derive(Debug, Clone)]
pub(super) enum Op {
    /// An element whose content is one substitution: the value, or when it is empty, an empty
    /// value of the kind given (null; an empty string for a named `Data`).
    Leaf(Name, u16, Kind),
    /// An unnamed `Data`: a string array is one `Data` field per item, another value one.
    Items(Name, u16),
    /// A field of constant text (a template's literal content), or null.
    Const(Name, Box<str>, Kind),
    /// A System element with attributes: the attributes present as `Element_Attribute`
    /// fields and the content as `Element`, or `Element` null when nothing is present.
    Elem {
        whole: Name,
        /// `whole` as the content beside attributes (its path ends in `#text`).
        text: Name,
        attrs: Box<[Attr]>,
        content: Option<u16>,
    },
    /// The next `len` ops belong to an element that is left out when substitution `slot` is
    /// NULL (the element's DependencyId).
    Depends { slot: u16, len: u32 },
    /// The next `len` ops are the members of a section whose every member depends on a
    /// value: when all of `slots` are NULL the section is `name`, null, instead.
    LeftOut {
        slots: Box<[u16]>,
        len: u32,
        name: Name,
    },
    /// The System section is complete: ask the gate what to keep.
    Gate,
    /// A substitution holding a nested template instance (a section, or the element inside
    /// UserData), read by that instance's own program; nothing when the value is empty.
    Nested(u16, Root),
}

/// A compiled definition.
#[derive(Debug, Clone, Default)]
pub(super) struct Program {
    pub ops: Vec<Op>,
    /// Every name and path the ops write, one after the other: copied into an event once,
    /// for its fields to point into.
    pub names: String,
    /// Each substitution the ops read and as what, to check a record's values against before
    /// reading them.
    pub uses: Vec<(u16, Use)>,
    /// How many of `uses` the ops before [`Op::Gate`] make: what reading the System section
    /// needs.
    pub head: usize,
}

/// What a program makes of a substitution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Use {
    /// A scalar value.
    Value,
    /// An unnamed Data: a string array, or a scalar.
    Items,
    /// The same, left out when the value is NULL.
    ItemsOrNull,
    /// A nested instance standing for this.
    Nested(Root),
}

impl Program {
    fn indexed(mut self) -> Program {
        let mut uses = Vec::new();
        let mut head = None;
        let mut guard = None;
        for op in &self.ops {
            // An unnamed Data that depends on its own value is left out when it is NULL.
            let guarded = std::mem::take(&mut guard);
            match op {
                Op::Depends { slot, len: 1 } => guard = Some(*slot),
                Op::Items(_, id) if guarded == Some(*id) => uses.push((*id, Use::ItemsOrNull)),
                Op::Leaf(_, id, _) => uses.push((*id, Use::Value)),
                Op::Items(_, id) => uses.push((*id, Use::Items)),
                Op::Elem { attrs, content, .. } => {
                    uses.extend(content.map(|c| (c, Use::Value)));
                    for a in attrs.iter() {
                        if let Attr::Sub(_, id) = a {
                            uses.push((*id, Use::Value));
                        }
                    }
                }
                Op::Nested(id, root) => uses.push((*id, Use::Nested(*root))),
                Op::Gate => head = Some(uses.len()),
                Op::Const(..) | Op::Depends { .. } | Op::LeftOut { .. } => {}
            }
        }
        self.head = head.unwrap_or(uses.len());
        self.uses = uses;
        self
    }
}

/// A node of a definition's XML tree.
#[derive(Debug)]
enum Node {
    Element(Element),
    Text(String),
    Sub(u16),
}

#[derive(Debug, Default)]
struct Element {
    name: String,
    dependency: Option<u16>,
    attrs: Vec<(String, Vec<Node>)>,
    children: Vec<Node>,
}

/// Reads and compiles the definition at chunk offset `at`. `None` when the definition cannot
/// be read or has a shape this reader does not mirror.
pub(super) fn compile(
    chunk: &[u8],
    at: usize,
    root: Root,
    resolver: Option<&dyn Resolver>,
) -> Option<Program> {
    let el = parse(chunk, at)?;
    let c = Compiler {
        resolver,
        names: Default::default(),
        plain: false,
        texts: false,
    };
    let mut p = Program::default();
    if root != Root::Event && el.dependency.is_some() {
        return None;
    }
    match (root, el.name.as_str()) {
        (Root::Event, _) => {
            let mut p = c.event(&el)?;
            p.names = c.names.take();
            return Some(p.indexed());
        }
        (Root::Section, "EventData") => c.event_data(&el, &mut p)?,
        (Root::Section, "UserData") => c.user_data(&el, &mut p)?,
        (Root::InUserData, _) => c.user_inner(&el, &mut p)?,
        _ => return None,
    }
    p.names = c.names.take();
    Some(p.indexed())
}

/// What a definition's root element is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    /// A record's `Event`.
    Event,
    /// A nested instance standing for the Event's `EventData` or `UserData`.
    Section,
    /// A nested instance inside a literal `UserData`: its one element.
    InUserData,
    /// Plain BinXML inside a literal `UserData`, read for one record.
    Fragment,
}

/// The definition's element tree: a 24-byte header (next definition, GUID, data size), then a
/// BinXML fragment holding one element.
fn parse(chunk: &[u8], at: usize) -> Option<Element> {
    let size = chunk.u32_at(at.checked_add(20)?)? as usize;
    let start = at + 24;
    let end = start.checked_add(size)?.min(chunk.len());
    let mut r = Reader {
        b: chunk,
        pos: start,
        end,
        tokens: 0,
        deps: true,
        texts: None,
    };
    if r.u8()? != 0x0f {
        return None;
    }
    r.pos += 3;
    let token = r.u8()?;
    let root = r.element(token, 0)?;
    // The fragment ends with EOF.
    (r.u8()? == 0x00).then_some(root)
}

/// Compiles a BinXML value that holds plain BinXML (no template: the values are in the
/// elements, as some providers write a section or the element inside UserData) into a
/// program for this one record, standing for `root`. `None` when it is not one element of
/// the shapes this reader reads.
pub(super) fn fragment(
    chunk: &[u8],
    range: (usize, usize),
    root: Root,
    resolver: Option<&dyn Resolver>,
) -> Option<Program> {
    plain(chunk, range, root, resolver, false)
}

/// [`fragment`] and [`shape`]: plain BinXML compiled with its texts as constants, or as the
/// record's values (`texts`).
fn plain(
    chunk: &[u8],
    (start, end): (usize, usize),
    root: Root,
    resolver: Option<&dyn Resolver>,
    texts: bool,
) -> Option<Program> {
    let mut r = Reader {
        b: chunk,
        pos: start,
        end,
        tokens: 0,
        deps: false,
        texts: texts.then_some(0),
    };
    if r.peek()? == 0x0f {
        r.pos += 4;
    }
    let token = r.u8()?;
    let el = r.element(token, 0)?;
    // Nothing but EOF may follow.
    if r.pos < end && r.u8()? != 0x00 {
        return None;
    }
    let c = Compiler {
        resolver,
        names: Default::default(),
        plain: true,
        texts,
    };
    let mut p = Program::default();
    match (root, el.name.as_str()) {
        // A section's `Data` are read from constants only.
        (Root::Section, "EventData") if !texts => c.event_data(&el, &mut p)?,
        (Root::Section, "UserData") => c.user_data(&el, &mut p)?,
        (Root::InUserData, _) => c.user_inner(&el, &mut p)?,
        _ => return None,
    }
    p.names = c.names.take();
    Some(p.indexed())
}

/// The definition at chunk offset `at` as the bytes that decide what it compiles to, into
/// `out`: its tokens, dependency ids, literal text and substitutions, with each name reference
/// replaced by the name itself and sizes left out. The same definition stored in another chunk
/// (other offsets, names stored elsewhere) gives the same bytes, so a program compiled once
/// serves every chunk. False when the definition's tokens cannot be walked.
pub(super) fn fingerprint(chunk: &[u8], at: usize, out: &mut Vec<u8>) -> bool {
    out.clear();
    let mut walk = || -> Option<()> {
        let size = chunk.u32_at(at.checked_add(20)?)? as usize;
        let start = at + 24;
        let end = start.checked_add(size)?.min(chunk.len());
        let mut p = Print {
            r: Reader {
                b: chunk,
                pos: start,
                end,
                tokens: 0,
                deps: true,
                texts: None,
            },
            out: &mut *out,
            texts: None,
        };
        if p.r.u8()? != 0x0f {
            return None;
        }
        p.r.pos += 3;
        let token = p.r.u8()?;
        p.element(token, 0)?;
        (p.r.u8()? == 0x00).then_some(())
    };
    walk().is_some()
}

/// Plain BinXML in `chunk[start..end]` (a value inside UserData) as its shape, into `out`:
/// what [`fingerprint`] writes of a definition, with the place of each text node pushed to
/// `texts` (as chunk offset and byte length) instead of the text. Records whose values have the
/// same shape are read by one program ([`shape`]), each with its own texts. False when it is
/// not one element of tokens this reader walks.
pub(super) fn shape_print(
    chunk: &[u8],
    (start, end): (usize, usize),
    out: &mut Vec<u8>,
    texts: &mut Vec<(u32, u32)>,
) -> bool {
    out.clear();
    let mut walk = || -> Option<()> {
        let mut p = Print {
            r: Reader {
                b: chunk,
                pos: start,
                end,
                tokens: 0,
                deps: false,
                texts: Some(0),
            },
            out: &mut *out,
            texts: Some(&mut *texts),
        };
        if p.r.peek()? == 0x0f {
            p.r.pos += 4;
        }
        let token = p.r.u8()?;
        p.element(token, 0)?;
        // Nothing but EOF may follow.
        if p.r.pos < end && p.r.u8()? != 0x00 {
            return None;
        }
        Some(())
    };
    walk().is_some()
}

/// Compiles plain BinXML in `chunk[start..end]` (a value standing for `root`, UserData or the
/// element inside it) by its shape: each text node is read from the record's texts (see
/// [`shape_print`]), in order, as a string that is neither empty nor holds a NUL (which the
/// caller checks of each record).
pub(super) fn shape(
    chunk: &[u8],
    range: (usize, usize),
    root: Root,
    resolver: Option<&dyn Resolver>,
) -> Option<Program> {
    plain(chunk, range, root, resolver, true)
}

/// The walk [`Reader`] makes, written down instead of built (see [`fingerprint`]).
struct Print<'a> {
    r: Reader<'a>,
    out: &'a mut Vec<u8>,
    /// Where each text node is, when the texts are not part of the print ([`shape_print`]).
    texts: Option<&'a mut Vec<(u32, u32)>>,
}

impl Print<'_> {
    fn name(&mut self) -> Option<()> {
        let offset = self.r.u32()? as usize;
        let count = self.r.b.u16_at(offset.checked_add(6)?)? as usize;
        let chars = self
            .r
            .b
            .get(offset + 8..(offset + 8).checked_add(count * 2)?)?;
        self.out.extend_from_slice(&(count as u16).to_le_bytes());
        self.out.extend_from_slice(chars);
        if offset == self.r.pos {
            self.r.pos += 10 + count * 2;
            if self.r.pos > self.r.end {
                return None;
            }
        }
        Some(())
    }

    fn element(&mut self, token: u8, depth: usize) -> Option<()> {
        if token & !0x40 != 0x01 || depth > MAX_DEPTH {
            return None;
        }
        self.out.push(token);
        if self.r.deps {
            let dependency = self.r.u16()?;
            self.out.extend_from_slice(&dependency.to_le_bytes());
        }
        let _size = self.r.u32()?;
        self.name()?;
        if token & 0x40 != 0 {
            let _attr_size = self.r.u32()?;
            loop {
                let t = self.r.u8()?;
                if t & !0x40 != 0x06 {
                    return None;
                }
                self.out.push(t);
                self.name()?;
                self.attr_value()?;
                if t & 0x40 == 0 {
                    break;
                }
            }
        }
        let t = self.r.u8()?;
        self.out.push(t);
        match t {
            0x03 => return Some(()),
            0x02 => {}
            _ => return None,
        }
        loop {
            let t = self.r.u8()?;
            self.out.push(t);
            match t {
                0x04 => return Some(()),
                0x01 | 0x41 => {
                    self.out.pop();
                    self.element(t, depth + 1)?;
                }
                0x05 | 0x45 => self.text()?,
                0x0d | 0x0e => self.sub()?,
                _ => return None,
            }
        }
    }

    fn attr_value(&mut self) -> Option<()> {
        loop {
            match self.r.peek()? {
                t @ (0x05 | 0x45) => {
                    self.r.pos += 1;
                    self.out.push(t);
                    self.text()?;
                }
                t @ (0x0d | 0x0e) => {
                    self.r.pos += 1;
                    self.out.push(t);
                    self.sub()?;
                }
                _ => {
                    // Where the value ends is part of the walk.
                    self.out.push(0xff);
                    return Some(());
                }
            }
        }
    }

    fn text(&mut self) -> Option<()> {
        let ty = self.r.u8()?;
        self.out.push(ty);
        if ty != 0x01 {
            return None;
        }
        let count = self.r.u16()? as usize;
        let end = self.r.pos.checked_add(count * 2)?;
        if end > self.r.end {
            return None;
        }
        if let Some(texts) = &mut self.texts {
            texts.push((self.r.pos as u32, (count * 2) as u32));
        } else {
            self.out.extend_from_slice(&(count as u16).to_le_bytes());
            self.out.extend_from_slice(&self.r.b[self.r.pos..end]);
        }
        self.r.pos = end;
        Some(())
    }

    fn sub(&mut self) -> Option<()> {
        if self.texts.is_some() {
            return None;
        }
        let id = self.r.u16()?;
        let ty = self.r.u8()?;
        self.out.extend_from_slice(&id.to_le_bytes());
        self.out.push(ty);
        Some(())
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    end: usize,
    tokens: usize,
    /// Element starts carry a DependencyId (template definitions do; plain BinXML does not).
    deps: bool,
    /// Plain BinXML read as a shape: each text node is a slot (`Node::Sub`, numbered in
    /// order) whose value each record supplies, and substitutions are not accepted.
    texts: Option<u16>,
}

impl Reader<'_> {
    fn u8(&mut self) -> Option<u8> {
        if self.pos >= self.end {
            return None;
        }
        self.tokens += 1;
        if self.tokens > MAX_TOKENS {
            return None;
        }
        let v = self.b[self.pos];
        self.pos += 1;
        Some(v)
    }

    fn u16(&mut self) -> Option<u16> {
        let v = self
            .b
            .u16_at(self.pos)
            .filter(|_| self.pos + 2 <= self.end)?;
        self.pos += 2;
        Some(v)
    }

    fn u32(&mut self) -> Option<u32> {
        let v = self
            .b
            .u32_at(self.pos)
            .filter(|_| self.pos + 4 <= self.end)?;
        self.pos += 4;
        Some(v)
    }

    fn peek(&self) -> Option<u8> {
        (self.pos < self.end).then(|| self.b[self.pos])
    }

    /// A name reference: a chunk offset, with the name stored right here the first time.
    fn name(&mut self) -> Option<String> {
        let offset = self.u32()? as usize;
        let name = read_name(self.b, offset)?;
        if offset == self.pos {
            // next (4), hash (2), count (2), the characters, NUL (2).
            let count = self.b.u16_at(offset + 6)? as usize;
            self.pos += 10 + count * 2;
            if self.pos > self.end {
                return None;
            }
        }
        Some(name)
    }

    /// An element, from its start token (0x01, or 0x41 with attributes).
    fn element(&mut self, token: u8, depth: usize) -> Option<Element> {
        if token & !0x40 != 0x01 || depth > MAX_DEPTH {
            return None;
        }
        let dependency = if self.deps { self.u16()? } else { 0xffff };
        let _size = self.u32()?;
        let name = self.name()?;
        let mut el = Element {
            name,
            dependency: (dependency != 0xffff).then_some(dependency),
            ..Element::default()
        };
        if token & 0x40 != 0 {
            let _attr_size = self.u32()?;
            loop {
                let t = self.u8()?;
                if t & !0x40 != 0x06 {
                    return None;
                }
                let name = self.name()?;
                let value = self.attr_value()?;
                el.attrs.push((name, value));
                if t & 0x40 == 0 {
                    break;
                }
            }
        }
        match self.u8()? {
            0x03 => return Some(el),
            0x02 => {}
            _ => return None,
        }
        loop {
            let t = self.u8()?;
            match t {
                0x04 => return Some(el),
                0x01 | 0x41 => {
                    let child = self.element(t, depth + 1)?;
                    el.children.push(Node::Element(child));
                }
                0x05 | 0x45 => el.children.push(self.text()?),
                0x0d | 0x0e => el.children.push(self.sub()?),
                _ => return None,
            }
        }
    }

    /// The nodes of an attribute's value: text and substitutions, up to the next token.
    fn attr_value(&mut self) -> Option<Vec<Node>> {
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                0x05 | 0x45 => {
                    self.pos += 1;
                    out.push(self.text()?);
                }
                0x0d | 0x0e => {
                    self.pos += 1;
                    out.push(self.sub()?);
                }
                _ => return Some(out),
            }
        }
    }

    /// A literal value (after its token): a string, as templates hold them.
    fn text(&mut self) -> Option<Node> {
        if self.u8()? != 0x01 {
            return None;
        }
        let count = self.u16()? as usize;
        let end = self.pos.checked_add(count * 2)?;
        if end > self.end {
            return None;
        }
        if let Some(n) = &mut self.texts {
            self.pos = end;
            *n = n.checked_add(1)?;
            return Some(Node::Sub(*n - 1));
        }
        let s = utf16(&self.b[self.pos..end]);
        self.pos = end;
        Some(Node::Text(s))
    }

    /// A substitution (after its token): its index and declared type.
    fn sub(&mut self) -> Option<Node> {
        if self.texts.is_some() {
            return None;
        }
        let id = self.u16()?;
        let _ty = self.u8()?;
        Some(Node::Sub(id))
    }
}

/// The name stored at chunk offset `at`: next (4), hash (2), count (2), UTF-16 characters.
fn read_name(chunk: &[u8], at: usize) -> Option<String> {
    let count = chunk.u16_at(at.checked_add(6)?)? as usize;
    let start = at + 8;
    let bytes = chunk.get(start..start.checked_add(count * 2)?)?;
    let s = utf16(bytes);
    // Names in definitions are plain XML names; anything unusual keeps the JSON path.
    (!s.is_empty() && !s.contains('\u{FFFD}') && !s.contains(['\0', '"', '\\'])).then_some(s)
}

fn utf16(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() / 2);
    super::fast::utf16(bytes, &mut s);
    s
}

/// Removes spaces, as dwell's JSON reader does with keys (`Threat Name` is `ThreatName`).
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| *c != ' ').collect()
}

/// What the content of a leaf element is.
enum Content<'a> {
    Empty,
    Sub(u16),
    Text(&'a str),
}

fn content(el: &Element) -> Option<Content<'_>> {
    match el.children.as_slice() {
        [] => Some(Content::Empty),
        [Node::Sub(id)] => Some(Content::Sub(*id)),
        [Node::Text(t)] => Some(Content::Text(t)),
        _ => None,
    }
}

/// Literal text the JSON rendering would write as a number, a boolean or null, or cut at a
/// NUL, keeps the JSON path: only plain strings are constants here.
fn plain_string(t: &str) -> bool {
    !t.is_empty()
        && !t.contains('\0')
        && !dwell_core::json::is_number(t)
        && !matches!(t, "true" | "false" | "null")
}

struct Compiler<'r> {
    resolver: Option<&'r dyn Resolver>,
    names: std::cell::RefCell<String>,
    /// Reading plain BinXML, whose literal text the crate writes as strings, numbers too.
    plain: bool,
    /// Reading plain BinXML by its shape: `Node::Sub` is a text node, read from the record
    /// (see [`shape`]).
    texts: bool,
}

impl Compiler<'_> {
    fn name(&self, text: String, path: String, section: Section) -> Name {
        let sym = self.resolver.and_then(|r| r.sym(&text)).unwrap_or(NO_SYM);
        let path_sym = self.resolver.and_then(|r| r.sym(&path)).unwrap_or(NO_SYM);
        let mut names = self.names.borrow_mut();
        let at = names.len() as u32;
        names.push_str(&text);
        let path_at = names.len() as u32;
        names.push_str(&path);
        // EventData and UserData never play a role (as in the JSON reader).
        let role = match section {
            Section::Header => ROLES.of(&text),
            _ => None,
        };
        Name {
            at,
            len: text.len() as u32,
            path_at,
            path_len: path.len() as u32,
            sym,
            path_sym,
            wanted: sym != NO_SYM || path_sym != NO_SYM || role.is_some(),
            role,
            section,
        }
    }

    fn event(&self, root: &Element) -> Option<Program> {
        if root.name != "Event" {
            return None;
        }
        // The root's attributes (xmlns) are not fields; substitutions there are unusual.
        if root
            .attrs
            .iter()
            .any(|(_, v)| v.iter().any(|n| matches!(n, Node::Sub(_))))
        {
            return None;
        }
        let mut p = Program::default();
        let mut seen: Vec<&str> = Vec::new();
        let mut nested = false;
        for (i, child) in root.children.iter().enumerate() {
            let el = match child {
                Node::Element(el) => el,
                // The section a nested instance holds (the crate allows one per object).
                Node::Sub(id) if i > 0 && !nested => {
                    nested = true;
                    p.ops.push(Op::Nested(*id, Root::Section));
                    continue;
                }
                _ => return None,
            };
            let nested_user_data =
                el.name == "UserData" && matches!(el.children.as_slice(), [Node::Sub(_)]);
            if seen.contains(&el.name.as_str()) || el.dependency.is_some() && !nested_user_data {
                return None;
            }
            seen.push(&el.name);
            match (i, el.name.as_str()) {
                (0, "System") => {
                    self.system(el, &mut p)?;
                    p.ops.push(Op::Gate);
                }
                (_, "EventData") if i > 0 => self.event_data(el, &mut p)?,
                // `<UserData>%n</UserData>`: the value is the element inside.
                (_, "UserData") if i > 0 && matches!(el.children.as_slice(), [Node::Sub(_)]) => {
                    let [Node::Sub(id)] = el.children.as_slice() else {
                        return None;
                    };
                    if !el.attrs.is_empty() {
                        return None;
                    }
                    if let Some(slot) = el.dependency {
                        p.ops.push(Op::Depends { slot, len: 1 });
                    }
                    p.ops.push(Op::Nested(*id, Root::InUserData));
                }
                (_, "UserData") if i > 0 => self.user_data(el, &mut p)?,
                _ => return None,
            }
        }
        // A nested section named like a literal one would be keyed `EventData_1`.
        if nested && seen.iter().any(|n| matches!(*n, "EventData" | "UserData")) {
            return None;
        }
        p.ops.iter().any(|o| matches!(o, Op::Gate)).then_some(p)
    }

    fn system(&self, sys: &Element, p: &mut Program) -> Option<()> {
        if !sys.attrs.is_empty() {
            return None;
        }
        let mut seen: Vec<&str> = Vec::new();
        for child in &sys.children {
            let Node::Element(el) = child else {
                return None;
            };
            if seen.contains(&el.name.as_str()) || el.name.contains('.') {
                return None;
            }
            seen.push(&el.name);
            let at = p.ops.len();
            self.system_element(el, p)?;
            if let Some(slot) = el.dependency {
                let len = (p.ops.len() - at) as u32;
                p.ops.insert(at, Op::Depends { slot, len });
            }
        }
        Some(())
    }

    fn system_element(&self, el: &Element, p: &mut Program) -> Option<()> {
        let key = squeeze(&el.name);
        let base = format!("Event.System.{}", el.name);
        let body = content(el)?;
        let mut attrs = Vec::new();
        let (mut subs, mut texts) = (false, false);
        for (name, value) in &el.attrs {
            let field = format!("{key}_{}", squeeze(name));
            let path = format!("{base}.#attributes.{name}");
            match value.as_slice() {
                // Statically empty: never a member.
                [] => {}
                [Node::Text(t)] if t.is_empty() => {}
                [Node::Text(t)] if plain_string(t) => {
                    texts = true;
                    attrs.push(Attr::Lit(
                        self.name(field, path, Section::Header),
                        t.clone().into_boxed_str(),
                    ));
                }
                [Node::Sub(id)] => {
                    subs = true;
                    attrs.push(Attr::Sub(self.name(field, path, Section::Header), *id));
                }
                _ => return None,
            }
        }
        let text = self.name(key.clone(), format!("{base}.#text"), Section::Header);
        let whole = self.name(key, base, Section::Header);
        match (subs || texts, body) {
            (false, Content::Sub(id)) => p.ops.push(Op::Leaf(whole, id, Kind::Null)),
            (false, Content::Empty) => p.ops.push(Op::Const(whole, "".into(), Kind::Null)),
            (false, Content::Text(t)) if plain_string(t) => {
                p.ops.push(Op::Const(whole, t.into(), Kind::Str))
            }
            (false, Content::Text(_)) => return None,
            // Literal text beside substituted attributes: the crate takes another path.
            (true, Content::Text(_)) if subs => return None,
            (true, Content::Text(t)) => {
                if !plain_string(t) {
                    return None;
                }
                for a in attrs {
                    if let Attr::Lit(n, t) = a {
                        p.ops.push(Op::Const(n, t, Kind::Str));
                    }
                }
                p.ops.push(Op::Const(text, t.into(), Kind::Str));
            }
            (true, Content::Empty) if !subs => {
                for a in attrs {
                    if let Attr::Lit(n, t) = a {
                        p.ops.push(Op::Const(n, t, Kind::Str));
                    }
                }
            }
            (true, c) => p.ops.push(Op::Elem {
                whole,
                text,
                attrs: attrs.into_boxed_slice(),
                content: match c {
                    Content::Sub(id) => Some(id),
                    _ => None,
                },
            }),
        }
        Some(())
    }

    /// `<EventData>`: `<Data Name="X">%n</Data>` is the field X; another leaf element is the
    /// field of its own name.
    fn event_data(&self, ed: &Element, p: &mut Program) -> Option<()> {
        if ed.children.is_empty() {
            if !ed.attrs.is_empty() {
                return None;
            }
            return self.empty_part(ed, p);
        }
        // Its own attributes come first, as `EventData_Attribute`; xmlns is not a field.
        for (n, v) in &ed.attrs {
            match v.as_slice() {
                _ if n == "xmlns" => {}
                [Node::Text(t)] if plain_string(t) => p.ops.push(Op::Const(
                    self.name(
                        format!("EventData_{}", squeeze(n)),
                        format!("Event.EventData.#attributes.{n}"),
                        Section::Data,
                    ),
                    t.clone().into_boxed_str(),
                    Kind::Str,
                )),
                _ => return None,
            }
        }
        let start = p.ops.len();
        let mut seen: Vec<String> = Vec::new();
        let mut named: Vec<String> = Vec::new();
        let unnamed = ed
            .children
            .iter()
            .filter(|c| matches!(c, Node::Element(e) if e.name == "Data" && e.attrs.is_empty()))
            .count();
        // The Name of a named Data, to tell the ones that follow one of their name.
        let name_of = |e: &Element| -> Option<String> {
            match (e.name.as_str(), e.attrs.as_slice()) {
                ("Data", [(n, v)]) if n == "Name" => match v.as_slice() {
                    [Node::Text(t)] => Some(t.clone()),
                    _ => None,
                },
                _ => None,
            }
        };
        let mut previous: Option<String> = None;
        for child in &ed.children {
            let Node::Element(el) = child else {
                return None;
            };
            let previous = std::mem::replace(&mut previous, name_of(el));
            let at = p.ops.len();
            if el.name == "Data" && el.attrs.is_empty() {
                // One unnamed Data holding the event's strings, as classic event sources write
                // them; several would be aggregated by the crate.
                let ([Node::Sub(id)], 1) = (el.children.as_slice(), unnamed) else {
                    return None;
                };
                if seen.iter().any(|k| k == "Data") {
                    return None;
                }
                seen.push("Data".into());
                let name = self.name(
                    "Data".into(),
                    "Event.EventData.Data.#text".into(),
                    Section::Data,
                );
                p.ops.push(Op::Items(name, *id));
            } else {
                let raw = if el.name == "Data" {
                    match el.attrs.as_slice() {
                        [(n, v)] if n == "Name" => match v.as_slice() {
                            [Node::Text(t)] if plain_string(t) && !t.contains('.') => t,
                            _ => return None,
                        },
                        _ => return None,
                    }
                } else {
                    if !el.attrs.is_empty() || el.name.contains('.') {
                        return None;
                    }
                    &el.name
                };
                // A Data name written again is keyed `Name_1`, `Name_2`... as the crate keys
                // it, unless it follows a Data of its name: the crate makes those an array.
                let data = el.name == "Data";
                if data && previous.as_deref() == Some(raw.as_str()) {
                    return None;
                }
                let again = named.iter().filter(|n| *n == raw).count();
                if data {
                    named.push(raw.clone());
                }
                let raw = if again > 0 && data {
                    format!("{raw}_{again}")
                } else {
                    raw.clone()
                };
                let key = squeeze(&raw);
                let path = format!("Event.EventData.{raw}");
                if key.is_empty() || key == "EventData" || seen.contains(&key) {
                    return None;
                }
                seen.push(key.clone());
                // The crate writes an empty named Data as "", other empty leaves as null.
                let empty = if el.name == "Data" {
                    Kind::Str
                } else {
                    Kind::Null
                };
                self.leaf(el, key, path, Section::Data, empty, p)?;
            }
            if let Some(slot) = el.dependency {
                let len = (p.ops.len() - at) as u32;
                p.ops.insert(at, Op::Depends { slot, len });
            }
        }
        // Members that all depend on values can all be left out, which leaves the section
        // null (its own attributes, when it has any, keep it an object).
        let deps: Vec<u16> = ed
            .children
            .iter()
            .filter_map(|c| match c {
                Node::Element(e) => e.dependency,
                _ => None,
            })
            .collect();
        if deps.len() == ed.children.len() && ed.attrs.iter().all(|(n, _)| n == "xmlns") {
            let len = (p.ops.len() - start) as u32;
            let path = "Event.EventData".to_string();
            let name = self.name(path.clone(), path, Section::Other);
            p.ops.insert(
                start,
                Op::LeftOut {
                    slots: deps.into_boxed_slice(),
                    len,
                    name,
                },
            );
        }
        Some(())
    }

    /// `<UserData>`: one element (its xmlns dropped) whose leaf children are fields by name.
    fn user_data(&self, ud: &Element, p: &mut Program) -> Option<()> {
        if ud.children.is_empty() && ud.attrs.is_empty() {
            return self.empty_part(ud, p);
        }
        let [Node::Element(inner)] = ud.children.as_slice() else {
            return None;
        };
        if !ud.attrs.is_empty() || inner.dependency.is_some() {
            return None;
        }
        self.user_inner(inner, p)
    }

    /// The element inside UserData: its attributes (xmlns dropped) and its children are fields
    /// by their own names, at any depth (dwell's JSON reader names them so).
    fn user_inner(&self, inner: &Element, p: &mut Program) -> Option<()> {
        let elements = inner.children.iter().any(|n| matches!(n, Node::Element(_)));
        let attrs = inner.attrs.iter().any(|(n, _)| n != "xmlns");
        // Text alone, or nothing but xmlns, makes no object of members; a `Data` in UserData
        // (a data container) the crate reads by other rules.
        if !(elements || attrs && inner.children.is_empty())
            || inner.name.contains('.')
            || matches!(inner.name.as_str(), "Data" | "EventData" | "UserData")
        {
            return None;
        }
        self.members(inner, &format!("Event.UserData.{}", inner.name), 0, p)
    }

    /// Literal text this reader writes as a string constant.
    fn literal(&self, t: &str) -> bool {
        if self.plain {
            !t.is_empty() && !t.contains('\0')
        } else {
            plain_string(t)
        }
    }

    /// The members of an element's JSON object inside UserData: its attributes, then its
    /// children (leaves by name, objects by their members).
    fn members(&self, el: &Element, path: &str, depth: usize, p: &mut Program) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        for (n, v) in &el.attrs {
            let attr = || {
                self.name(
                    squeeze(n),
                    format!("{path}.#attributes.{n}"),
                    Section::Extra,
                )
            };
            match v.as_slice() {
                _ if n == "xmlns" => {}
                _ if n.contains('.') => return None,
                [Node::Text(t)] if self.literal(t) => {
                    p.ops
                        .push(Op::Const(attr(), t.clone().into_boxed_str(), Kind::Str))
                }
                [Node::Sub(id)] if self.texts => p.ops.push(Op::Leaf(attr(), *id, Kind::Str)),
                _ => return None,
            }
        }
        let elements = el.children.iter().any(|n| matches!(n, Node::Element(_)));
        let mut seen: Vec<String> = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for child in &el.children {
            let c = match child {
                Node::Element(c) => c,
                // Text beside attributes is the caller's (`#text`); beside elements, mixed
                // content, which this reader leaves to the crate.
                Node::Text(_) if !elements => continue,
                Node::Sub(_) if self.texts && !elements => continue,
                _ => return None,
            };
            // A name repeated among siblings is keyed `Name_1`, `Name_2`... as the crate
            // keys it; the crate reads the `Data` in a container by other rules.
            if c.dependency.is_some()
                || c.name.contains('.')
                || matches!(c.name.as_str(), "EventData" | "UserData")
            {
                return None;
            }
            let again = names.iter().filter(|n| **n == c.name).count();
            names.push(&c.name);
            let raw = if again > 0 {
                format!("{}_{again}", c.name)
            } else {
                c.name.clone()
            };
            let key = squeeze(&raw);
            if key.is_empty() || seen.contains(&key) {
                return None;
            }
            seen.push(key.clone());
            let here = format!("{path}.{raw}");
            let nested = c.children.iter().any(|n| matches!(n, Node::Element(_)));
            if c.attrs.is_empty() && !nested {
                self.leaf(c, key, here, Section::Extra, Kind::Null, p)?;
                continue;
            }
            if !nested {
                // Attributes and text: the text is `#text`, named after the element.
                self.members(c, &here, depth + 1, p)?;
                let text = || self.name(key, format!("{here}.#text"), Section::Extra);
                match content(c)? {
                    Content::Empty => {}
                    Content::Text(t) if self.literal(t) => {
                        p.ops.push(Op::Const(text(), t.into(), Kind::Str))
                    }
                    Content::Sub(id) if self.texts => p.ops.push(Op::Leaf(text(), id, Kind::Str)),
                    _ => return None,
                }
                continue;
            }
            self.members(c, &here, depth + 1, p)?;
        }
        Some(())
    }

    /// An empty section is a null member of `Event`, which dwell's JSON reader names by its
    /// path.
    fn empty_part(&self, el: &Element, p: &mut Program) -> Option<()> {
        let path = format!("Event.{}", el.name);
        let name = self.name(path.clone(), path, Section::Other);
        p.ops.push(Op::Const(name, "".into(), Kind::Null));
        Some(())
    }

    fn leaf(
        &self,
        el: &Element,
        key: String,
        path: String,
        section: Section,
        empty: Kind,
        p: &mut Program,
    ) -> Option<()> {
        let name = self.name(key, path, section);
        match content(el)? {
            Content::Sub(id) => p.ops.push(Op::Leaf(name, id, empty)),
            Content::Empty => p.ops.push(Op::Const(name, "".into(), empty)),
            Content::Text(t) if self.literal(t) => p.ops.push(Op::Const(name, t.into(), Kind::Str)),
            Content::Text(_) => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes BinXML as a template definition holds it, names stored inline.
    #[derive(Default)]
    struct Def {
        b: Vec<u8>,
    }

    impl Def {
        fn name(&mut self, n: &str) {
            // Its offset (right after it), next (4), hash (2), count (2), characters, NUL.
            let at = self.b.len() as u32 + 4;
            self.b.extend(at.to_le_bytes());
            self.b.extend([0; 6]);
            let units: Vec<u16> = n.encode_utf16().collect();
            self.b.extend((units.len() as u16).to_le_bytes());
            self.b.extend(units.iter().flat_map(|u| u.to_le_bytes()));
            self.b.extend([0, 0]);
        }

        /// `<name attr="text"...>`, then its children by `body`, then its end.
        fn element(&mut self, name: &str, attrs: &[(&str, &str)], body: impl FnOnce(&mut Def)) {
            self.b.push(if attrs.is_empty() { 0x01 } else { 0x41 });
            self.b.extend(0xffffu16.to_le_bytes());
            self.b.extend(0u32.to_le_bytes());
            self.name(name);
            if !attrs.is_empty() {
                self.b.extend(0u32.to_le_bytes());
                for (k, (n, v)) in attrs.iter().enumerate() {
                    self.b.push(if k + 1 < attrs.len() { 0x46 } else { 0x06 });
                    self.name(n);
                    self.text(v);
                }
            }
            self.b.push(0x02);
            body(self);
            self.b.push(0x04);
        }

        fn text(&mut self, t: &str) {
            let units: Vec<u16> = t.encode_utf16().collect();
            self.b.extend([0x05, 0x01]);
            self.b.extend((units.len() as u16).to_le_bytes());
            self.b.extend(units.iter().flat_map(|u| u.to_le_bytes()));
        }

        fn sub(&mut self, id: u16) {
            self.b.push(0x0e);
            self.b.extend(id.to_le_bytes());
            self.b.push(0x01);
        }

        /// The definition (24-byte header, fragment header, the element, EOF) at offset 0.
        fn finish(body: impl FnOnce(&mut Def)) -> Vec<u8> {
            let mut d = Def { b: vec![0; 24] };
            d.b.extend([0x0f, 0x01, 0x01, 0x00]);
            body(&mut d);
            d.b.push(0x00);
            let size = (d.b.len() - 24) as u32;
            d.b[20..24].copy_from_slice(&size.to_le_bytes());
            d.b
        }
    }

    fn names(p: &Program) -> Vec<String> {
        p.ops
            .iter()
            .filter_map(|o| match o {
                Op::Leaf(n, ..) | Op::Const(n, ..) => {
                    Some(p.names[n.at as usize..][..n.len as usize].to_string())
                }
                _ => None,
            })
            .collect()
    }

    fn event_data(data: &[&str]) -> Option<Program> {
        let def = Def::finish(|d| {
            d.element("EventData", &[], |d| {
                for (i, n) in data.iter().enumerate() {
                    d.element("Data", &[("Name", n)], |d| d.sub(i as u16));
                }
            })
        });
        compile(&def, 0, Root::Section, None)
    }

    #[test]
    fn a_data_name_written_again_is_numbered_unless_it_follows_its_like() {
        let p = event_data(&["A", "B", "A", "C", "A"]).expect("compiles");
        assert_eq!(names(&p), ["A", "B", "A_1", "C", "A_2"]);
        // The crate makes Data of one name in a row an array: not read here.
        assert!(event_data(&["A", "A"]).is_none());
        assert!(event_data(&["B", "A", "A"]).is_none());
    }

    #[test]
    fn siblings_of_one_name_in_user_data_are_numbered() {
        let def = Def::finish(|d| {
            d.element("Inner", &[], |d| {
                d.element("Header", &[], |d| d.sub(0));
                d.element("Action", &[("name", "x")], |_| {});
                d.element("Header", &[], |d| d.sub(1));
                d.element("Action", &[("name", "y")], |_| {});
            })
        });
        let p = compile(&def, 0, Root::InUserData, None).expect("compiles");
        assert_eq!(names(&p), ["Header", "name", "Header_1", "name"]);
        let paths: Vec<&str> = p
            .ops
            .iter()
            .filter_map(|o| match o {
                Op::Leaf(n, ..) | Op::Const(n, ..) => {
                    Some(&p.names[n.path_at as usize..][..n.path_len as usize])
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            paths,
            [
                "Event.UserData.Inner.Header",
                "Event.UserData.Inner.Action.#attributes.name",
                "Event.UserData.Inner.Header_1",
                "Event.UserData.Inner.Action_1.#attributes.name",
            ]
        );
        // A `Data` as the element inside UserData is read by the crate's other rules.
        let def = Def::finish(|d| d.element("Data", &[], |d| d.element("X", &[], |d| d.sub(0))));
        assert!(compile(&def, 0, Root::InUserData, None).is_none());
    }

    #[test]
    fn a_shape_reads_text_from_each_record() {
        // Plain BinXML (no dependency ids): texts are the record's, in order.
        let mut d = Def::default();
        d.b.extend([0x0f, 0x01, 0x01, 0x00]);
        let at = d.b.len();
        let mut el = Def::finish(|e| {
            e.element("Inner", &[("kind", "k1")], |e| {
                e.element("Header", &[], |e| e.text("first"));
                e.element("Header", &[], |e| e.text("second"));
            })
        });
        // The same tree without dependency ids, as plain BinXML writes elements.
        el.drain(..28);
        strip_dependencies(&mut el);
        d.b.extend(el);
        let range = (at - 4, d.b.len());
        let (mut print, mut texts) = (Vec::new(), Vec::new());
        assert!(shape_print(&d.b, range, &mut print, &mut texts));
        assert_eq!(texts.len(), 3, "{texts:?}");
        let p = shape(&d.b, range, Root::InUserData, None).expect("compiles");
        assert_eq!(names(&p), ["kind", "Header", "Header_1"]);
        assert!(p.ops.iter().all(|o| matches!(o, Op::Leaf(..))));
        // Other text, the same shape: the same print, other texts.
        let mut other = d.b.clone();
        let (start, _) = texts[2];
        other[start as usize] = b'S';
        let (mut print2, mut texts2) = (Vec::new(), Vec::new());
        assert!(shape_print(&other, range, &mut print2, &mut texts2));
        assert_eq!(print, print2);
        assert_eq!(texts, texts2);
    }

    /// Removes the DependencyId after each element start token of a definition's fragment,
    /// fixing the inline name offsets that move with it.
    fn strip_dependencies(b: &mut Vec<u8>) {
        let mut out = Vec::new();
        let mut i = 0;
        let mut removed = 0u32;
        let base = 28u32;
        while i < b.len() {
            let t = b[i];
            out.push(t);
            i += 1;
            match t {
                0x01 | 0x41 => {
                    i += 2;
                    removed += 2;
                    out.extend_from_slice(&b[i..i + 4]);
                    i += 4;
                    i = copy_name(b, i, &mut out, removed, base);
                    if t == 0x41 {
                        out.extend_from_slice(&b[i..i + 4]);
                        i += 4;
                    }
                }
                0x06 | 0x46 => i = copy_name(b, i, &mut out, removed, base),
                0x05 | 0x45 => {
                    let n = u16::from_le_bytes([b[i + 1], b[i + 2]]) as usize;
                    out.extend_from_slice(&b[i..i + 3 + 2 * n]);
                    i += 3 + 2 * n;
                }
                0x0d | 0x0e => {
                    out.extend_from_slice(&b[i..i + 3]);
                    i += 3;
                }
                _ => {}
            }
        }
        *b = out;
    }

    /// Copies an inline name (offset, then the name) at `i`, its offset moved back by
    /// `removed` bytes and by the `base` the fragment was cut from.
    fn copy_name(b: &[u8], i: usize, out: &mut Vec<u8>, removed: u32, base: u32) -> usize {
        let at = u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
        out.extend_from_slice(&(at - removed - base + 4).to_le_bytes());
        let n = u16::from_le_bytes([b[i + 10], b[i + 11]]) as usize;
        out.extend_from_slice(&b[i + 4..i + 4 + 8 + 2 * n + 2]);
        i + 4 + 8 + 2 * n + 2
    }
}
