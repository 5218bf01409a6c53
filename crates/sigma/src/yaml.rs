//! A small YAML 1.2 tree loader built on `saphyr-parser`'s event stream.
//!
//! Rules come from strangers, so loading is bounded: a cap on nodes (aliases count their whole
//! expanded subtree, which defeats "billion laughs" bombs), on nesting depth and on input size.
//! Duplicate mapping keys are rejected because YAML forbids them and a silent last-wins would
//! change what a rule means.

use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;
use std::fmt;

/// Limits applied while loading one YAML stream.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most nodes a stream may expand to, aliases included.
    pub max_nodes: usize,
    /// Deepest nesting of sequences and mappings.
    pub max_depth: usize,
    /// Largest input accepted, in bytes.
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nodes: 200_000,
            max_depth: 64,
            max_bytes: 4 << 20,
        }
    }
}

/// A YAML value with the line it started on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Yaml,
    /// 1-based line in the source text.
    pub line: u32,
}

/// A resolved YAML value (core schema).
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    /// Null (or an empty value).
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// Mapping in source order; keys are unique.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value as a string if it is a scalar string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Looks a key up in a mapping whose keys are strings.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Yaml::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short name for the node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Yaml::Null => "null",
            Yaml::Bool(_) => "boolean",
            Yaml::Int(_) => "integer",
            Yaml::Float(_) => "number",
            Yaml::Str(_) => "string",
            Yaml::Seq(_) => "list",
            Yaml::Map(_) => "map",
        }
    }

    /// A scalar rendered as text (numbers in canonical form), `None` for collections.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Yaml::Null => Some("null".into()),
            Yaml::Bool(b) => Some(b.to_string()),
            Yaml::Int(i) => Some(i.to_string()),
            Yaml::Float(f) => Some(format_float(*f)),
            Yaml::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
}

/// Renders a float in its shortest round-trip form, without a trailing `.0` for integers.
pub fn format_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Why a YAML stream could not be loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    /// The 1-based line.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for YamlError {}

enum Frame {
    Seq {
        items: Vec<Node>,
        line: u32,
        anchor: usize,
        start_count: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        /// Key texts, once the map is large enough that a linear duplicate check would hurt.
        keys: Option<std::collections::HashSet<String>>,
        pending_key: Option<Node>,
        line: u32,
        anchor: usize,
        start_count: usize,
    },
}

/// Loads every document of a YAML stream. Empty documents are returned as `Null` nodes.
pub fn load_all(text: &str, limits: Limits) -> Result<Vec<Node>, YamlError> {
    if text.len() > limits.max_bytes {
        return Err(YamlError {
            line: 0,
            message: format!(
                "file is {} bytes, more than the {} bytes a rule file may have",
                text.len(),
                limits.max_bytes
            ),
        });
    }
    let mut loader = Loader {
        limits,
        docs: Vec::new(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_bytes: 0,
        count: 0,
        root: None,
    };
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| YamlError {
            line: e.marker().line() as u32,
            message: e.info().to_string(),
        })?;
        let line = span.start.line() as u32;
        if let Some((node, anchor, size)) = loader.event(event, line)? {
            loader.attach(node, anchor, size)?;
        }
    }
    Ok(loader.docs)
}

/// The tree being built from the parser's events, with the budgets spent so far.
struct Loader {
    limits: Limits,
    docs: Vec<Node>,
    stack: Vec<Frame>,
    /// Anchored subtrees with the nodes and text bytes each expands to.
    anchors: HashMap<usize, (Node, usize, usize)>,
    alias_bytes: usize,
    count: usize,
    root: Option<Node>,
}

/// A finished node with its anchor (0 for none) and the nodes it expands to.
type Finished = Option<(Node, usize, usize)>;

impl Loader {
    /// Takes one parser event; returns the node it finished, if any.
    fn event(&mut self, event: Event<'_>, line: u32) -> Result<Finished, YamlError> {
        Ok(match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
            Event::DocumentStart(_) => {
                self.root = None;
                self.anchors.clear();
                None
            }
            Event::DocumentEnd => {
                let root = self.root.take();
                self.docs.push(root.unwrap_or(Node {
                    value: Yaml::Null,
                    line,
                }));
                None
            }
            Event::Alias(id) => Some(self.alias(id, line)?),
            Event::Scalar(value, style, anchor, tag) => {
                self.spend(line)?;
                let tag = tag
                    .filter(|t| t.is_yaml_core_schema())
                    .map(|t| t.suffix.clone());
                let value = resolve_scalar(&value, style, tag.as_deref(), line)?;
                Some((Node { value, line }, anchor, 1))
            }
            Event::SequenceStart(anchor, _) => {
                self.open(line)?;
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    line,
                    anchor,
                    start_count: self.count,
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                self.open(line)?;
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    keys: None,
                    pending_key: None,
                    line,
                    anchor,
                    start_count: self.count,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => Some(self.close(line)?),
        })
    }

    /// Counts one node against the budget.
    fn spend(&mut self, line: u32) -> Result<(), YamlError> {
        self.count += 1;
        if self.count > self.limits.max_nodes {
            return Err(too_many(line, self.limits));
        }
        Ok(())
    }

    /// An alias costs the whole subtree it expands to, in nodes and in bytes.
    fn alias(&mut self, id: usize, line: u32) -> Result<(Node, usize, usize), YamlError> {
        let (node, size, bytes) = self.anchors.get(&id).cloned().ok_or_else(|| YamlError {
            line,
            message: "alias refers to an unknown anchor".into(),
        })?;
        self.count = self.count.saturating_add(size);
        self.alias_bytes = self.alias_bytes.saturating_add(bytes);
        if self.count > self.limits.max_nodes || self.alias_bytes > self.limits.max_bytes {
            return Err(too_many(line, self.limits));
        }
        Ok((node, 0, 0))
    }

    /// Starts a sequence or mapping, refusing nesting past the limit.
    fn open(&mut self, line: u32) -> Result<(), YamlError> {
        self.spend(line)?;
        if self.stack.len() >= self.limits.max_depth {
            return Err(YamlError {
                line,
                message: format!("nesting deeper than {} levels", self.limits.max_depth),
            });
        }
        Ok(())
    }

    /// Ends the innermost sequence or mapping; the parser guarantees the kinds pair up.
    fn close(&mut self, at: u32) -> Result<(Node, usize, usize), YamlError> {
        let (value, line, anchor, start_count) = match self.stack.pop() {
            Some(Frame::Seq {
                items,
                line,
                anchor,
                start_count,
            }) => (Yaml::Seq(items), line, anchor, start_count),
            Some(Frame::Map {
                entries,
                line,
                anchor,
                start_count,
                ..
            }) => (Yaml::Map(entries), line, anchor, start_count),
            None => {
                return Err(YamlError {
                    line: at,
                    message: "unbalanced end of a sequence or mapping".into(),
                });
            }
        };
        Ok((Node { value, line }, anchor, self.count - start_count + 1))
    }

    /// Places a finished node in its parent (or as the document root), remembering anchors.
    fn attach(&mut self, node: Node, anchor: usize, size: usize) -> Result<(), YamlError> {
        if anchor > 0 {
            let bytes = text_bytes(&node);
            self.anchors
                .insert(anchor, (node.clone(), size.max(1), bytes));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                keys,
                pending_key,
                ..
            }) => match pending_key.take() {
                Some(key) => entries.push((key, node)),
                None => {
                    check_key(&node, entries, keys)?;
                    *pending_key = Some(node);
                }
            },
        }
        Ok(())
    }
}

/// Refuses a key that is a collection or repeats an earlier key of the same mapping.
fn check_key(
    node: &Node,
    entries: &[(Node, Node)],
    keys: &mut Option<std::collections::HashSet<String>>,
) -> Result<(), YamlError> {
    if matches!(node.value, Yaml::Seq(_) | Yaml::Map(_)) {
        return Err(YamlError {
            line: node.line,
            message: "a list or map cannot be used as a mapping key".into(),
        });
    }
    // A linear scan is cheapest for the small maps rules have; big maps switch to a set.
    if entries.len() >= 16 && keys.is_none() {
        *keys = Some(entries.iter().map(|(k, _)| key_text(k)).collect());
    }
    let duplicate = match keys {
        Some(set) => !set.insert(key_text(node)),
        None => entries.iter().any(|(k, _)| k.value == node.value),
    };
    if duplicate {
        return Err(YamlError {
            line: node.line,
            message: format!(
                "duplicate key '{}' in a mapping",
                node.scalar_text().unwrap_or_default()
            ),
        });
    }
    Ok(())
}

/// A scalar key's identity (type and text) for the duplicate check.
fn key_text(n: &Node) -> String {
    format!("{}:{}", n.type_name(), n.scalar_text().unwrap_or_default())
}

/// The text a subtree holds, in bytes (what cloning it for an alias costs).
fn text_bytes(n: &Node) -> usize {
    match &n.value {
        Yaml::Str(s) => s.len(),
        Yaml::Seq(items) => items.iter().map(text_bytes).sum(),
        Yaml::Map(entries) => entries
            .iter()
            .map(|(k, v)| text_bytes(k) + text_bytes(v))
            .sum(),
        _ => 8,
    }
}

fn too_many(line: u32, limits: Limits) -> YamlError {
    YamlError {
        line,
        message: format!(
            "document expands to more than {} nodes or {} bytes (an alias bomb or a runaway file)",
            limits.max_nodes, limits.max_bytes
        ),
    }
}

/// Resolves a scalar by the YAML 1.2 core schema: only plain scalars are typed, so `yes`, `on`
/// and `2019-10-23` stay strings, unlike YAML 1.1.
fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&str>,
    line: u32,
) -> Result<Yaml, YamlError> {
    if let Some(tag) = tag {
        return match tag {
            "str" => Ok(Yaml::Str(text.to_string())),
            "null" => Ok(Yaml::Null),
            "bool" => parse_bool(text)
                .map(Yaml::Bool)
                .ok_or_else(|| bad(line, text, tag)),
            "int" => parse_int(text)
                .map(Yaml::Int)
                .ok_or_else(|| bad(line, text, tag)),
            "float" => parse_float(text)
                .or_else(|| parse_int(text).map(|i| i as f64))
                .map(Yaml::Float)
                .ok_or_else(|| bad(line, text, tag)),
            _ => Ok(Yaml::Str(text.to_string())),
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(Yaml::Str(text.to_string()));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Yaml::Null);
    }
    if let Some(b) = parse_bool(text) {
        return Ok(Yaml::Bool(b));
    }
    if let Some(i) = parse_int(text) {
        return Ok(Yaml::Int(i));
    }
    if let Some(f) = parse_float(text) {
        return Ok(Yaml::Float(f));
    }
    Ok(Yaml::Str(text.to_string()))
}

fn bad(line: u32, text: &str, tag: &str) -> YamlError {
    YamlError {
        line,
        message: format!("'{text}' is not a valid !!{tag}"),
    }
}

fn parse_bool(t: &str) -> Option<bool> {
    match t {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn parse_int(t: &str) -> Option<i64> {
    let (neg, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let value = if let Some(hex) = body.strip_prefix("0x") {
        if neg || t.starts_with('+') {
            return None;
        }
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = body.strip_prefix("0o") {
        if neg || t.starts_with('+') {
            return None;
        }
        i64::from_str_radix(oct, 8).ok()?
    } else {
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        body.parse::<i64>().ok()?
    };
    Some(if neg { -value } else { value })
}

fn parse_float(t: &str) -> Option<f64> {
    match t {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    // Core schema: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - digits_start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - s;
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    t.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        load_all(text, Limits::default()).unwrap().remove(0)
    }

    #[test]
    fn core_schema_keeps_yaml11_booleans_as_strings() {
        let n =
            one("a: yes\nb: on\nc: true\nd: 2019-10-23\ne: 010\nf: 0x10\ng: 1.5\nh: ~\ni: '12'");
        assert_eq!(n.get("a").unwrap().value, Yaml::Str("yes".into()));
        assert_eq!(n.get("b").unwrap().value, Yaml::Str("on".into()));
        assert_eq!(n.get("c").unwrap().value, Yaml::Bool(true));
        assert_eq!(n.get("d").unwrap().value, Yaml::Str("2019-10-23".into()));
        assert_eq!(n.get("e").unwrap().value, Yaml::Int(10));
        assert_eq!(n.get("f").unwrap().value, Yaml::Int(16));
        assert_eq!(n.get("g").unwrap().value, Yaml::Float(1.5));
        assert_eq!(n.get("h").unwrap().value, Yaml::Null);
        assert_eq!(n.get("i").unwrap().value, Yaml::Str("12".into()));
    }

    #[test]
    fn several_documents_and_lines() {
        let docs = load_all("a: 1\n---\nb:\n  - x\n  - y\n", Limits::default()).unwrap();
        assert_eq!(docs.len(), 2);
        let b = docs[1].get("b").unwrap();
        assert_eq!(b.line, 4);
        match &b.value {
            Yaml::Seq(items) => assert_eq!(items[1].line, 5),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let err = load_all("a: 1\nb: 2\na: 3\n", Limits::default()).unwrap_err();
        assert!(err.message.contains("duplicate key 'a'"), "{err}");
        assert_eq!(err.line, 3);
    }

    #[test]
    fn alias_bomb_is_stopped() {
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n\
                    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n\
                    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n\
                    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
        let err = load_all(bomb, Limits::default()).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{err}");
    }

    #[test]
    fn alias_of_a_big_string_is_stopped() {
        let big = "x".repeat(1 << 20);
        let refs = vec!["*a"; 100].join(", ");
        let text = format!("a: &a '{big}'\nb: [{refs}]\n");
        let err = load_all(&text, Limits::default()).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{err}");
    }

    #[test]
    fn many_keys_are_checked_quickly() {
        let mut text = String::new();
        for i in 0..60_000 {
            text.push_str(&format!("k{i}: {i}\n"));
        }
        let start = std::time::Instant::now();
        assert!(load_all(&text, Limits::default()).is_ok());
        text.push_str("k5: again\n");
        assert!(
            load_all(&text, Limits::default())
                .unwrap_err()
                .message
                .contains("duplicate")
        );
        assert!(start.elapsed().as_secs() < 20);
    }

    #[test]
    fn aliases_within_limits_expand() {
        let n = one("a: &x {k: v}\nb: *x\n");
        assert_eq!(n.get("b").unwrap().get("k").unwrap().as_str(), Some("v"));
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let text = "[".repeat(200) + &"]".repeat(200);
        assert!(load_all(&text, Limits::default()).is_err());
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = load_all("a: 1\nb: [1, 2\nc: 3\n", Limits::default()).unwrap_err();
        assert!(err.line >= 2, "{err}");
    }
}
