//! Sigma documents: detection rules, correlation rules and filters, parsed from YAML nodes.

use crate::condition::{self, Cond};
use crate::item::{Item, Placeholders, compile_item};
use crate::yaml::{Node, Yaml};
use std::fmt;

/// Rule severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

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
    Stable,
    Test,
    Experimental,
    Deprecated,
    Unsupported,
}

impl Status {
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
    pub category: Option<String>,
    pub product: Option<String>,
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
    pub title: String,
    pub id: Option<String>,
    pub name: Option<String>,
    pub status: Option<Status>,
    pub level: Option<Level>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub date: Option<String>,
    pub modified: Option<String>,
    pub license: Option<String>,
    pub tags: Vec<String>,
    pub references: Vec<String>,
    pub falsepositives: Vec<String>,
    pub fields: Vec<String>,
}

/// Where a document came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub path: String,
    /// 1-based line where the document starts.
    pub line: u32,
}

/// A search identifier: an OR over groups, each group an AND of items.
#[derive(Debug, Clone)]
pub struct Search {
    pub name: String,
    pub groups: Vec<Vec<Item>>,
}

/// A rule's compiled `detection` section.
#[derive(Debug, Clone)]
pub struct Detection {
    pub searches: Vec<Search>,
    pub condition: Cond,
}

/// A detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub meta: Meta,
    pub logsource: LogSource,
    pub detection: Detection,
    pub origin: Origin,
    /// Things that load but deserve a word (e.g. `all` on a single value).
    pub warnings: Vec<String>,
    /// Titles of the filters applied to this rule.
    pub filters: Vec<String>,
}

/// The seven correlation types of Sigma 2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrelationType {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
}

impl CorrelationType {
    pub fn parse(s: &str) -> Option<CorrelationType> {
        Some(match s {
            "event_count" => CorrelationType::EventCount,
            "value_count" => CorrelationType::ValueCount,
            "temporal" => CorrelationType::Temporal,
            "temporal_ordered" => CorrelationType::TemporalOrdered,
            "value_sum" => CorrelationType::ValueSum,
            "value_avg" => CorrelationType::ValueAvg,
            "value_percentile" => CorrelationType::ValuePercentile,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
            CorrelationType::ValuePercentile => "value_percentile",
        }
    }

    fn needs_field(self) -> bool {
        matches!(
            self,
            CorrelationType::ValueCount
                | CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValuePercentile
        )
    }
}

/// Comparison operators of a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

impl CmpOp {
    pub fn test(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Gt => a > b,
            CmpOp::Gte => a >= b,
            CmpOp::Lt => a < b,
            CmpOp::Lte => a <= b,
            CmpOp::Eq => a == b,
            CmpOp::Neq => a != b,
        }
    }
}

/// A correlation `condition`: all comparisons must hold.
#[derive(Debug, Clone, Default)]
pub struct CorrCondition {
    pub ops: Vec<(CmpOp, f64)>,
    /// The field(s) aggregated by the `value_*` types.
    pub fields: Vec<String>,
    /// For `value_percentile`: which percentile (default 50).
    pub percentile: Option<f64>,
}

/// A group-by alias: one name standing for a different field in each referenced rule.
#[derive(Debug, Clone)]
pub struct Alias {
    pub name: String,
    /// (rule id or name, field)
    pub fields: Vec<(String, String)>,
}

/// A correlation rule.
#[derive(Debug, Clone)]
pub struct Correlation {
    pub meta: Meta,
    pub kind: CorrelationType,
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    /// Window length in milliseconds.
    pub timespan_ms: u64,
    pub condition: CorrCondition,
    pub aliases: Vec<Alias>,
    pub generate: bool,
    pub origin: Origin,
    pub warnings: Vec<String>,
}

/// A filter (meta filter) document.
#[derive(Debug, Clone)]
pub struct Filter {
    pub meta: Meta,
    pub logsource: LogSource,
    /// Rule ids or names; `None` means every rule of the log source.
    pub rules: Option<Vec<String>>,
    pub detection: Detection,
    pub origin: Origin,
}

/// One YAML document of a rule file.
#[derive(Debug, Clone)]
pub enum Document {
    Rule(Rule),
    Correlation(Correlation),
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
    pub path: String,
    pub line: u32,
    pub id: Option<String>,
    pub title: Option<String>,
    pub kind: ErrorKind,
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

type PResult<T> = Result<T, (ErrorKind, String)>;

fn invalid<T>(msg: impl Into<String>) -> PResult<T> {
    Err((ErrorKind::Invalid, msg.into()))
}

fn opt_string(node: &Node, key: &str) -> PResult<Option<String>> {
    match node.get(key) {
        None => Ok(None),
        Some(n) if n.value == Yaml::Null => Ok(None),
        Some(n) => match n.scalar_text() {
            Some(s) => Ok(Some(s)),
            None => invalid(format!("'{key}' must be text, not a {}", n.type_name())),
        },
    }
}

fn string_list(node: &Node, key: &str) -> PResult<Vec<String>> {
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

fn parse_meta(node: &Node) -> PResult<Meta> {
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

/// Parses `<int><unit>` with units s, m, h, d (and w for weeks) into milliseconds.
pub fn parse_timespan(s: &str) -> Option<u64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: u64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let mult = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(mult).filter(|v| *v > 0)
}

fn parse_correlation(node: &Node, origin: Origin) -> PResult<Correlation> {
    let meta = parse_meta(node)?;
    let c = node.get("correlation").unwrap();
    if !matches!(c.value, Yaml::Map(_)) {
        return invalid("'correlation' must be a map");
    }
    let mut warnings = Vec::new();
    let kind_text = opt_string(c, "type")?.ok_or((
        ErrorKind::Invalid,
        "the correlation has no 'type'".to_string(),
    ))?;
    let kind = CorrelationType::parse(&kind_text).ok_or((
        ErrorKind::Invalid,
        format!("unknown correlation type '{kind_text}'"),
    ))?;
    let rules = string_list(c, "rules")?;
    if rules.is_empty() {
        return invalid("the correlation lists no 'rules'");
    }
    let group_by = string_list(c, "group-by")?;
    if group_by.is_empty() {
        warnings.push("no 'group-by': all matching events form one group".into());
    }
    let ts = opt_string(c, "timespan")?.ok_or((
        ErrorKind::Invalid,
        "the correlation has no 'timespan'".to_string(),
    ))?;
    let timespan_ms = parse_timespan(&ts).ok_or((
        ErrorKind::Invalid,
        format!("timespan '{ts}' is not <number><s|m|h|d|w>"),
    ))?;
    let mut condition = CorrCondition::default();
    match c.get("condition") {
        None => {
            if !matches!(
                kind,
                CorrelationType::Temporal | CorrelationType::TemporalOrdered
            ) {
                return invalid("the correlation has no 'condition'");
            }
        }
        Some(cn) => {
            let Yaml::Map(entries) = &cn.value else {
                return invalid("the correlation 'condition' must be a map such as {gte: 5}");
            };
            for (k, v) in entries {
                let key = k.scalar_text().unwrap_or_default();
                let op = match key.as_str() {
                    "gt" => CmpOp::Gt,
                    "gte" => CmpOp::Gte,
                    "lt" => CmpOp::Lt,
                    "lte" => CmpOp::Lte,
                    "eq" => CmpOp::Eq,
                    "neq" => CmpOp::Neq,
                    "field" => {
                        condition.fields = match &v.value {
                            Yaml::Seq(items) => {
                                items.iter().filter_map(|i| i.scalar_text()).collect()
                            }
                            _ => v.scalar_text().into_iter().collect(),
                        };
                        continue;
                    }
                    "percentile" => {
                        condition.percentile = match v.value {
                            Yaml::Int(i) => Some(i as f64),
                            Yaml::Float(f) => Some(f),
                            _ => return invalid("'percentile' must be a number"),
                        };
                        continue;
                    }
                    other => return invalid(format!("unknown correlation condition '{other}'")),
                };
                let n = match v.value {
                    Yaml::Int(i) => i as f64,
                    Yaml::Float(f) => f,
                    _ => return invalid(format!("condition '{key}' needs a number")),
                };
                condition.ops.push((op, n));
            }
            if condition.ops.is_empty() {
                return invalid(
                    "the correlation condition has no comparison (gt, gte, lt, lte, eq, neq)",
                );
            }
        }
    }
    if kind.needs_field() && condition.fields.is_empty() {
        return invalid(format!(
            "a {} correlation needs 'condition.field'",
            kind.as_str()
        ));
    }
    let mut aliases = Vec::new();
    if let Some(a) = c.get("aliases") {
        let Yaml::Map(entries) = &a.value else {
            return invalid("'aliases' must map alias names to {rule: field}");
        };
        for (k, v) in entries {
            let Yaml::Map(m) = &v.value else {
                return invalid("each alias maps rule names to fields");
            };
            aliases.push(Alias {
                name: k.scalar_text().unwrap_or_default(),
                fields: m
                    .iter()
                    .map(|(r, f)| {
                        (
                            r.scalar_text().unwrap_or_default(),
                            f.scalar_text().unwrap_or_default(),
                        )
                    })
                    .collect(),
            });
        }
    }
    let generate = match node.get("generate").or_else(|| c.get("generate")) {
        None => false,
        Some(n) => match n.value {
            Yaml::Bool(b) => b,
            _ => return invalid("'generate' must be true or false"),
        },
    };
    Ok(Correlation {
        meta,
        kind,
        rules,
        group_by,
        timespan_ms,
        condition,
        aliases,
        generate,
        origin,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
