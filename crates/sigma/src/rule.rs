//! Sigma documents: detection rules, correlation rules and filters, parsed from YAML nodes.

use crate::condition::{self, Cond};
use crate::correlation::{Correlation, parse_correlation};
use crate::item::{Item, Placeholders, compile_item};
use crate::yaml::{Node, Yaml};
use std::fmt;

/// Rule severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `informational`.
    Informational,
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `critical`.
    Critical,
}

impl Level {
    /// Every level, least severe first.
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    /// The level named `s`.
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "informational" | "info" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    /// The name as rules write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rule maturity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `stable`.
    Stable,
    /// `test`.
    Test,
    /// `experimental`.
    Experimental,
    /// `deprecated`.
    Deprecated,
    /// `unsupported`.
    Unsupported,
}

impl Status {
    /// The status named `s`.
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s.to_ascii_lowercase().as_str() {
            "stable" => Status::Stable,
            "test" => Status::Test,
            "experimental" => Status::Experimental,
            "deprecated" => Status::Deprecated,
            "unsupported" => Status::Unsupported,
            _ => return None,
        })
    }

    /// The name as rules write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Test => "test",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
            Status::Unsupported => "unsupported",
        }
    }
}

/// The `logsource` of a rule or filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LogSource {
    /// `category`, lower case.
    pub category: Option<String>,
    /// `product`, lower case.
    pub product: Option<String>,
    /// `service`, lower case.
    pub service: Option<String>,
}

impl LogSource {
    /// True when every field set in `self` has the same value in `other` (filters use this).
    pub fn within(&self, other: &LogSource) -> bool {
        let ok = |a: &Option<String>, b: &Option<String>| match a {
            None => true,
            Some(x) => b.as_deref().is_some_and(|y| y.eq_ignore_ascii_case(x)),
        };
        ok(&self.category, &other.category)
            && ok(&self.product, &other.product)
            && ok(&self.service, &other.service)
    }
}

impl fmt::Display for LogSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(p) = &self.product {
            parts.push(format!("product={p}"));
        }
        if let Some(c) = &self.category {
            parts.push(format!("category={c}"));
        }
        if let Some(s) = &self.service {
            parts.push(format!("service={s}"));
        }
        if parts.is_empty() {
            f.write_str("(any)")
        } else {
            f.write_str(&parts.join(" "))
        }
    }
}

/// Descriptive fields shared by all document kinds.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// `title`.
    pub title: String,
    /// `id`.
    pub id: Option<String>,
    /// `name` (correlations refer to rules by it).
    pub name: Option<String>,
    /// `status`.
    pub status: Option<Status>,
    /// `level`.
    pub level: Option<Level>,
    /// `description`.
    pub description: Option<String>,
    /// `author`.
    pub author: Option<String>,
    /// `date`.
    pub date: Option<String>,
    /// `modified`.
    pub modified: Option<String>,
    /// `license`.
    pub license: Option<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `fields`.
    pub fields: Vec<String>,
}

/// Where a document came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub path: String,
    /// 1-based line where the document starts.
    pub line: u32,
}

/// A search identifier: an OR over groups, each group an AND of items.
#[derive(Debug, Clone)]
pub struct Search {
    /// The identifier (`selection`).
    pub name: String,
    /// Its groups: any of them may match, each an AND of items.
    pub groups: Vec<Vec<Item>>,
}

/// A rule's compiled `detection` section.
#[derive(Debug, Clone)]
pub struct Detection {
    /// The search identifiers, in the order written.
    pub searches: Vec<Search>,
    /// The condition over them.
    pub condition: Cond,
}

/// A detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its descriptive fields.
    pub meta: Meta,
    /// The log source it applies to.
    pub logsource: LogSource,
    /// The detection.
    pub detection: Detection,
    /// Where it came from.
    pub origin: Origin,
    /// Things that load but deserve a word (e.g. `all` on a single value).
    pub warnings: Vec<String>,
    /// Titles of the filters applied to this rule.
    pub filters: Vec<String>,
}

/// A filter (meta filter) document.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Its descriptive fields.
    pub meta: Meta,
    /// The log source it applies to.
    pub logsource: LogSource,
    /// Rule ids or names; `None` means every rule of the log source.
    pub rules: Option<Vec<String>>,
    /// The detection.
    pub detection: Detection,
    /// Where it came from.
    pub origin: Origin,
}

/// One YAML document of a rule file.
#[derive(Debug, Clone)]
pub enum Document {
    /// A detection rule.
    Rule(Rule),
    /// A correlation rule.
    Correlation(Correlation),
    /// A filter.
    Filter(Filter),
}

/// What went wrong with a document or file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// The YAML itself is broken.
    Yaml,
    /// The document breaks the Sigma specification.
    Invalid,
    /// Valid Sigma that dwell does not run (e.g. legacy collections).
    Unsupported,
    /// An `expand` placeholder has no configured value.
    Placeholder,
    /// Another rule loaded earlier has the same id (or name).
    Duplicate,
}

impl ErrorKind {
    /// The name as rules write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Io => "unreadable",
            ErrorKind::Yaml => "invalid YAML",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Placeholder => "unresolved placeholder",
            ErrorKind::Duplicate => "duplicate id",
        }
    }
}

/// A rule that could not be loaded, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The file.
    pub path: String,
    /// The line, 0 when the whole file is at fault.
    pub line: u32,
    /// The rule's id, when it could be read.
    pub id: Option<String>,
    /// The rule's title, when it could be read.
    pub title: Option<String>,
    /// What kind of problem.
    pub kind: ErrorKind,
    /// What is wrong, for people.
    pub reason: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        match (&self.id, &self.title) {
            (Some(id), Some(t)) => write!(f, ": rule {} ({})", clip(id, 80), clip(t, 200))?,
            (Some(id), None) => write!(f, ": rule {}", clip(id, 80))?,
            (None, Some(t)) => write!(f, ": rule '{}'", clip(t, 200))?,
            _ => {}
        }
        // Every piece of rule text echoed here is clipped: a reason can quote the rule.
        write!(f, ": {}: {}", self.kind.as_str(), clip(&self.reason, 600))
    }
}

impl std::error::Error for RuleError {}

/// `s` cut to `max` characters, saying how much was left out: rule text is echoed in messages,
/// and a 400 KB condition must not be.
pub(crate) fn clip(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let head: String = s.chars().take(max).collect();
    format!("{head}… ({} more characters)", n - max)
}

/// Parses one YAML document into a Sigma document.
pub fn parse_document(
    node: &Node,
    path: &str,
    placeholders: &Placeholders,
) -> Result<Document, RuleError> {
    let origin = Origin {
        path: path.to_string(),
        line: node.line,
    };
    let fail = |kind: ErrorKind, reason: String| RuleError {
        path: path.to_string(),
        line: node.line,
        id: node.get("id").and_then(|n| n.scalar_text()),
        title: node.get("title").and_then(|n| n.scalar_text()),
        kind,
        reason,
    };
    if !matches!(node.value, Yaml::Map(_)) {
        return Err(fail(
            ErrorKind::Invalid,
            format!("a Sigma document is a map, not a {}", node.type_name()),
        ));
    }
    if node.get("action").is_some() {
        return Err(fail(
            ErrorKind::Unsupported,
            "legacy rule collections ('action: global/reset/repeat') are not part of Sigma 2; \
             split them into separate rules"
                .into(),
        ));
    }
    let kinds = ["detection", "correlation", "filter"]
        .iter()
        .filter(|k| node.get(k).is_some())
        .count();
    if kinds > 1 {
        return Err(fail(
            ErrorKind::Invalid,
            "a document has only one of 'detection', 'correlation' or 'filter'".into(),
        ));
    }
    let result = if node.get("correlation").is_some() {
        parse_correlation(node, origin).map(Document::Correlation)
    } else if node.get("filter").is_some() {
        parse_filter(node, origin, placeholders).map(Document::Filter)
    } else if node.get("detection").is_some() {
        parse_rule(node, origin, placeholders).map(Document::Rule)
    } else {
        Err((
            ErrorKind::Invalid,
            "not a Sigma document: it has no 'detection', 'correlation' or 'filter'".to_string(),
        ))
    };
    result.map_err(|(kind, reason)| fail(kind, reason))
}

pub(crate) type PResult<T> = Result<T, (ErrorKind, String)>;

pub(crate) fn invalid<T>(msg: impl Into<String>) -> PResult<T> {
    Err((ErrorKind::Invalid, msg.into()))
}

pub(crate) fn opt_string(node: &Node, key: &str) -> PResult<Option<String>> {
    match node.get(key) {
        None => Ok(None),
        Some(n) if n.value == Yaml::Null => Ok(None),
        Some(n) => match n.scalar_text() {
            Some(s) => Ok(Some(s)),
            None => invalid(format!("'{key}' must be text, not a {}", n.type_name())),
        },
    }
}

pub(crate) fn string_list(node: &Node, key: &str) -> PResult<Vec<String>> {
    match node.get(key) {
        None => Ok(Vec::new()),
        Some(n) => match &n.value {
            Yaml::Null => Ok(Vec::new()),
            Yaml::Seq(items) => items
                .iter()
                .map(|i| {
                    i.scalar_text().ok_or((
                        ErrorKind::Invalid,
                        format!("'{key}' must be a list of text values"),
                    ))
                })
                .collect(),
            _ => Ok(vec![n.scalar_text().unwrap_or_default()]),
        },
    }
}

pub(crate) fn parse_meta(node: &Node) -> PResult<Meta> {
    let title = match opt_string(node, "title")? {
        Some(t) if !t.trim().is_empty() => t,
        _ => return invalid("'title' is missing"),
    };
    let status = match opt_string(node, "status")? {
        None => None,
        Some(s) => Some(Status::parse(&s).ok_or((
            ErrorKind::Invalid,
            format!("unknown status '{s}' (stable, test, experimental, deprecated or unsupported)"),
        ))?),
    };
    let level = match opt_string(node, "level")? {
        None => None,
        Some(s) => Some(Level::parse(&s).ok_or((
            ErrorKind::Invalid,
            format!("unknown level '{s}' (informational, low, medium, high or critical)"),
        ))?),
    };
    Ok(Meta {
        title,
        id: opt_string(node, "id")?,
        name: opt_string(node, "name")?,
        status,
        level,
        description: opt_string(node, "description")?,
        author: opt_string(node, "author")?,
        date: opt_string(node, "date")?,
        modified: opt_string(node, "modified")?,
        license: opt_string(node, "license")?,
        tags: string_list(node, "tags")?,
        references: string_list(node, "references")?,
        falsepositives: string_list(node, "falsepositives")?,
        fields: string_list(node, "fields")?,
    })
}

fn parse_logsource(node: Option<&Node>) -> PResult<LogSource> {
    let Some(ls) = node else {
        return invalid("'logsource' is missing");
    };
    if !matches!(ls.value, Yaml::Map(_)) {
        return invalid("'logsource' must be a map");
    }
    let get = |k: &str| -> PResult<Option<String>> {
        Ok(opt_string(ls, k)?.map(|s| s.trim().to_ascii_lowercase()))
    };
    Ok(LogSource {
        category: get("category")?,
        product: get("product")?,
        service: get("service")?,
    })
}

fn parse_rule(node: &Node, origin: Origin, ph: &Placeholders) -> PResult<Rule> {
    let meta = parse_meta(node)?;
    let logsource = parse_logsource(node.get("logsource"))?;
    let mut warnings = Vec::new();
    let detection = parse_detection(node.get("detection").unwrap(), &[], ph, &mut warnings)?;
    Ok(Rule {
        meta,
        logsource,
        detection,
        origin,
        warnings,
        filters: Vec::new(),
    })
}

/// Parses a `detection` (or filter) map; keys in `skip` are not search identifiers.
pub(crate) fn parse_detection(
    node: &Node,
    skip: &[&str],
    ph: &Placeholders,
    warnings: &mut Vec<String>,
) -> PResult<Detection> {
    let Yaml::Map(entries) = &node.value else {
        return invalid("'detection' must be a map");
    };
    let mut searches = Vec::new();
    let mut condition_node = None;
    for (k, v) in entries {
        let Some(name) = k.scalar_text() else {
            return invalid("a search identifier must be text");
        };
        if name == "condition" {
            condition_node = Some(v);
            continue;
        }
        if skip.contains(&name.as_str()) {
            continue;
        }
        if name == "timeframe" {
            warnings.push(
                "'timeframe' belongs to the removed aggregation syntax and is ignored".into(),
            );
            continue;
        }
        let groups = parse_search(&name, v, ph, warnings)?;
        searches.push(Search { name, groups });
    }
    let Some(cnode) = condition_node else {
        return invalid("'condition' is missing from the detection");
    };
    let names: Vec<String> = searches.iter().map(|s| s.name.clone()).collect();
    let texts: Vec<String> = match &cnode.value {
        Yaml::Str(s) => vec![s.clone()],
        Yaml::Seq(items) => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_string).ok_or((
                    ErrorKind::Invalid,
                    "'condition' must be text or a list of text".to_string(),
                ))
            })
            .collect::<PResult<_>>()?,
        _ => return invalid("'condition' must be text or a list of text"),
    };
    if texts.is_empty() {
        return invalid("'condition' is empty");
    }
    let mut conds = Vec::new();
    for t in &texts {
        let c = condition::parse(t, &names).map_err(|e| {
            let kind = if e.0.contains("correlation rule instead") {
                ErrorKind::Unsupported
            } else {
                ErrorKind::Invalid
            };
            (
                kind,
                format!(
                    "condition '{}': {}",
                    clip(t, 160),
                    clip(&e.to_string(), 240)
                ),
            )
        })?;
        conds.push(c);
    }
    let condition = if conds.len() == 1 {
        conds.pop().unwrap()
    } else {
        Cond::Or(conds)
    };
    Ok(Detection {
        searches,
        condition,
    })
}

fn parse_search(
    name: &str,
    v: &Node,
    ph: &Placeholders,
    warnings: &mut Vec<String>,
) -> PResult<Vec<Vec<Item>>> {
    let wrap = |e: String| (classify(&e), format!("search '{name}': {e}"));
    let map_group =
        |entries: &Vec<(Node, Node)>, warnings: &mut Vec<String>| -> PResult<Vec<Item>> {
            if entries.is_empty() {
                return invalid(format!("search '{name}' has an empty map"));
            }
            entries
                .iter()
                .map(|(k, val)| {
                    let key = k.scalar_text().unwrap_or_default();
                    compile_item(&key, val, ph, warnings).map_err(wrap)
                })
                .collect()
        };
    match &v.value {
        Yaml::Map(entries) => Ok(vec![map_group(entries, warnings)?]),
        Yaml::Seq(items) => {
            if items.is_empty() {
                return invalid(format!("search '{name}' is an empty list"));
            }
            let mut groups = Vec::new();
            let mut keywords: Vec<Node> = Vec::new();
            for it in items {
                match &it.value {
                    Yaml::Map(entries) => groups.push(map_group(entries, warnings)?),
                    Yaml::Seq(_) => {
                        return invalid(format!("search '{name}' has a list inside a list"));
                    }
                    _ => keywords.push(it.clone()),
                }
            }
            if !keywords.is_empty() {
                let list = Node {
                    value: Yaml::Seq(keywords),
                    line: v.line,
                };
                groups.push(vec![compile_item("", &list, ph, warnings).map_err(wrap)?]);
            }
            Ok(groups)
        }
        Yaml::Null => invalid(format!("search '{name}' is empty")),
        _ => Ok(vec![vec![compile_item("", v, ph, warnings).map_err(wrap)?]]),
    }
}

fn classify(reason: &str) -> ErrorKind {
    if reason.contains("placeholder") {
        ErrorKind::Placeholder
    } else {
        ErrorKind::Invalid
    }
}

fn parse_filter(node: &Node, origin: Origin, ph: &Placeholders) -> PResult<Filter> {
    let meta = parse_meta(node)?;
    let logsource = parse_logsource(node.get("logsource"))?;
    let f = node.get("filter").unwrap();
    let rules = match f.get("rules") {
        None => return invalid("a filter needs 'rules' (a list of rule ids or names, or 'any')"),
        Some(n) => match &n.value {
            Yaml::Str(s) if s == "any" || s == "all" => None,
            Yaml::Seq(items) if items.is_empty() => None,
            Yaml::Seq(items) => Some(
                items
                    .iter()
                    .map(|i| {
                        i.scalar_text().ok_or((
                            ErrorKind::Invalid,
                            "'rules' must list rule ids or names".to_string(),
                        ))
                    })
                    .collect::<PResult<Vec<_>>>()?,
            ),
            Yaml::Str(s) => Some(vec![s.clone()]),
            _ => return invalid("'rules' must list rule ids or names"),
        },
    };
    let mut warnings = Vec::new();
    let detection = parse_detection(f, &["rules"], ph, &mut warnings)?;
    Ok(Filter {
        meta,
        logsource,
        rules,
        detection,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlation::{CmpOp, parse_timespan};
    use crate::yaml::{Limits, load_all};

    fn doc(text: &str) -> Result<Document, RuleError> {
        let n = load_all(text, Limits::default()).unwrap().remove(0);
        parse_document(&n, "t.yml", &Placeholders::default())
    }

    const RULE: &str = "title: t\nid: 11111111-1111-1111-1111-111111111111\nlevel: high\nstatus: test\n\
        logsource: {product: windows, category: process_creation}\n\
        detection:\n  sel: {Image|endswith: '\\x.exe'}\n  condition: sel\n";

    #[test]
    fn parses_a_rule() {
        let Document::Rule(r) = doc(RULE).unwrap() else {
            panic!()
        };
        assert_eq!(r.meta.level, Some(Level::High));
        assert_eq!(r.meta.status, Some(Status::Test));
        assert_eq!(r.logsource.category.as_deref(), Some("process_creation"));
        assert_eq!(r.detection.searches[0].name, "sel");
    }

    #[test]
    fn errors_name_the_rule() {
        let e = doc(
            "title: t\nid: abc\nlogsource: {}\ndetection: {sel: {a|bogus: 1}, condition: sel}\n",
        )
        .unwrap_err();
        assert_eq!(e.id.as_deref(), Some("abc"));
        assert!(e.reason.contains("bogus"));
        assert!(e.to_string().contains("t.yml"));
        let e = doc("title: t\nlogsource: {}\ndetection: {sel: {a: 1}}\n").unwrap_err();
        assert!(e.reason.contains("condition"));
        let e = doc("logsource: {}\ndetection: {sel: {a: 1}, condition: sel}\n").unwrap_err();
        assert!(e.reason.contains("title"));
        let e =
            doc("title: t\nlevel: hgih\nlogsource: {}\ndetection: {sel: {a: 1}, condition: sel}\n")
                .unwrap_err();
        assert!(e.reason.contains("hgih"));
        let e = doc(
            "title: t\nlogsource: {}\ndetection: {sel: {a: 1}, condition: sel | count() > 3}\n",
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported);
    }

    #[test]
    fn condition_list_is_or() {
        let Document::Rule(r) =
            doc("title: t\nlogsource: {}\ndetection: {a: {x: 1}, b: {y: 2}, condition: [a, b]}\n")
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            r.detection.condition,
            Cond::Or(vec![Cond::Sel(0), Cond::Sel(1)])
        );
    }

    #[test]
    fn list_of_maps_and_keywords() {
        let Document::Rule(r) = doc(
            "title: t\nlogsource: {}\ndetection:\n  sel:\n    - {a: 1, b: 2}\n    - {c: 3}\n  kw: [x, y]\n  condition: sel or kw\n",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(r.detection.searches[0].groups.len(), 2);
        assert_eq!(r.detection.searches[0].groups[0].len(), 2);
        assert!(r.detection.searches[1].groups[0][0].field.is_none());
        assert_eq!(r.detection.searches[1].groups[0][0].values.len(), 2);
    }

    #[test]
    fn correlation_and_filter() {
        let Document::Correlation(c) = doc(
            "title: c\ncorrelation:\n  type: event_count\n  rules: [r1]\n  group-by: [User]\n  timespan: 5m\n  condition: {gte: 10}\n",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(c.timespan_ms, 300_000);
        assert_eq!(c.condition.ops, vec![(CmpOp::Gte, 10.0)]);
        assert!(doc("title: c\ncorrelation: {type: value_count, rules: [a], group-by: [x], timespan: 1h, condition: {gt: 1}}\n").is_err());
        assert!(doc("title: c\ncorrelation: {type: temporal, rules: [a, b], group-by: [x], timespan: 10M}\n").is_err());
        let Document::Filter(f) = doc(
            "title: f\nlogsource: {product: windows}\nfilter:\n  rules: [abc]\n  sel: {User: admin}\n  condition: not sel\n",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(f.rules, Some(vec!["abc".to_string()]));
        assert_eq!(f.detection.searches.len(), 1);
    }

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("30s"), Some(30_000));
        assert_eq!(parse_timespan("2h"), Some(7_200_000));
        assert_eq!(parse_timespan("1d"), Some(86_400_000));
        assert_eq!(parse_timespan("1M"), None);
        assert_eq!(parse_timespan("m"), None);
        assert_eq!(parse_timespan("0s"), None);
    }
}
