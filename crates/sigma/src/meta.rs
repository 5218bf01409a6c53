//! What every Sigma document has, whatever its kind: descriptive fields (title, id, level,
//! status...), where it came from, and how a document's errors are said.

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

/// A parse failure: its kind and reason, given a place by the caller.
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
