//! The log-source mapping: which events a Sigma `logsource` covers and how taxonomy field
//! names map onto them. It is data, not code: each log format brings its own (the Windows
//! formats share `crates/ingest/data/windows.yml`), and [`Mapping::from_texts`] joins them.
//!
//! An entry routes by the event's stream (`channel:`, for Windows the `Channel`), by the format
//! that decoded it (`format:`), or both; optionally narrowed by event code (`event_id:`) and
//! further field conditions (`where:`).

use dwell_sigma::LogSource;
use dwell_sigma::yaml::{self, Limits, Node, Yaml};
use std::fmt;

/// Why a mapping text is not a valid mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    /// The line of the entry at fault (0 for the whole text).
    pub line: u32,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}", self.line, self.reason)
        } else {
            f.write_str(&self.reason)
        }
    }
}

impl std::error::Error for MappingError {}

/// One way a Sigma log source appears in events.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// The Sigma log source served.
    pub logsource: LogSource,
    /// Stream names (Windows channels), matched case-insensitively; empty with `format`.
    pub channels: Vec<String>,
    /// The format whose events this entry covers (its name); `None` for any format.
    pub format: Option<String>,
    /// Event IDs within the channel; `None` means every event of the channel.
    pub event_ids: Option<Vec<u32>>,
    /// Extra conditions: each field must equal one of its values (case-insensitively).
    pub conditions: Vec<(String, Vec<String>)>,
    /// Sigma field name to the source's own field name.
    pub fields: Vec<(String, String)>,
}

/// A list of sources.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// The entries, in order.
    pub sources: Vec<Source>,
}

impl Mapping {
    /// Joins the mapping texts of several formats (see `dwell_ingest::Registry::mappings`).
    pub fn from_texts(texts: &[&str]) -> Result<Mapping, MappingError> {
        let mut all = Mapping::default();
        for t in texts {
            all.sources.extend(Mapping::parse(t)?.sources);
        }
        Ok(all)
    }

    /// Parses a mapping text.
    pub fn parse(text: &str) -> Result<Mapping, MappingError> {
        let whole = |reason: String| MappingError { line: 0, reason };
        let docs = yaml::load_all(text, Limits::default()).map_err(|e| whole(e.to_string()))?;
        let root = docs
            .first()
            .ok_or_else(|| whole("empty mapping file".into()))?;
        let Some(Yaml::Seq(items)) = root.get("sources").map(|n| &n.value) else {
            return Err(whole("the mapping needs a 'sources' list".into()));
        };
        let mut sources = Vec::new();
        for it in items {
            sources.push(parse_source(it).map_err(|reason| MappingError {
                line: it.line,
                reason,
            })?);
        }
        Ok(Mapping { sources })
    }

    /// The sources a rule with this logsource runs on: those whose logsource sets every
    /// field the rule sets, to the same value.
    pub fn for_rule(&self, ls: &LogSource) -> Vec<&Source> {
        if ls.category.is_none() && ls.product.is_none() && ls.service.is_none() {
            return Vec::new();
        }
        self.sources
            .iter()
            .filter(|s| ls.within(&s.logsource))
            .collect()
    }
}

fn strings(n: &Node) -> Result<Vec<String>, String> {
    match &n.value {
        Yaml::Seq(items) => items
            .iter()
            .map(|i| i.scalar_text().ok_or_else(|| "expected text".to_string()))
            .collect(),
        _ => n
            .scalar_text()
            .map(|s| vec![s])
            .ok_or_else(|| "expected text".into()),
    }
}

fn parse_source(n: &Node) -> Result<Source, String> {
    let ls = n.get("logsource").ok_or("an entry needs 'logsource'")?;
    let get = |k: &str| {
        ls.get(k)
            .and_then(|v| v.scalar_text())
            .map(|s| s.to_ascii_lowercase())
    };
    let logsource = LogSource {
        category: get("category"),
        product: get("product"),
        service: get("service"),
    };
    let channels = match n.get("channel") {
        Some(c) => strings(c)?,
        None => Vec::new(),
    };
    let format = n.get("format").and_then(|v| v.scalar_text());
    if channels.is_empty() && format.is_none() {
        return Err("an entry needs 'channel' or 'format'".into());
    }
    let event_ids = match n.get("event_id") {
        None => None,
        Some(e) => Some(
            strings(e)?
                .iter()
                .map(|s| s.parse::<u32>().map_err(|_| format!("bad event_id '{s}'")))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let pairs = |key: &str| -> Result<Vec<(String, Node)>, String> {
        match n.get(key).map(|v| &v.value) {
            None => Ok(Vec::new()),
            Some(Yaml::Map(entries)) => Ok(entries
                .iter()
                .map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.clone()))
                .collect()),
            Some(_) => Err(format!("'{key}' must be a map")),
        }
    };
    let conditions = pairs("where")?
        .into_iter()
        .map(|(k, v)| Ok((k, strings(&v)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let fields = pairs("fields")?
        .into_iter()
        .map(|(k, v)| Ok((k, v.scalar_text().ok_or("field names are text")?)))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Source {
        logsource,
        channels,
        format,
        event_ids,
        conditions,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(p: Option<&str>, c: Option<&str>, s: Option<&str>) -> LogSource {
        LogSource {
            product: p.map(Into::into),
            category: c.map(Into::into),
            service: s.map(Into::into),
        }
    }

    const WINDOWS: &str = include_str!("../../ingest/data/windows.yml");

    #[test]
    fn builtin_parses_and_covers_the_taxonomy() {
        let m = Mapping::parse(WINDOWS).unwrap();
        assert!(m.sources.len() > 80);
        let pc = m.for_rule(&ls(Some("windows"), Some("process_creation"), None));
        assert_eq!(pc.len(), 2);
        assert!(pc.iter().any(|s| {
            s.event_ids == Some(vec![4688])
                && s.fields
                    .contains(&("Image".into(), "NewProcessName".into()))
        }));
        let sec = m.for_rule(&ls(Some("windows"), None, Some("security")));
        assert_eq!(sec.len(), 1);
        assert_eq!(sec[0].channels, vec!["Security"]);
        assert_eq!(sec[0].event_ids, None);
        let add = m.for_rule(&ls(Some("windows"), Some("registry_add"), None));
        assert_eq!(
            add[0].conditions,
            vec![("EventType".into(), vec!["CreateKey".into()])]
        );
        // A rule that only names the product runs on every Windows source.
        assert!(m.for_rule(&ls(Some("windows"), None, None)).len() > 50);
        assert!(
            m.for_rule(&ls(Some("aws"), None, Some("cloudtrail")))
                .is_empty()
        );
        assert!(m.for_rule(&ls(None, None, None)).is_empty());
    }

    #[test]
    fn bad_mappings_are_rejected() {
        assert!(Mapping::parse("sources: [{logsource: {product: x}}]").is_err());
        assert!(
            Mapping::parse("sources: [{logsource: {product: x}, channel: C, event_id: abc}]")
                .is_err()
        );
        assert!(Mapping::parse("nothing: 1").is_err());
        let m = Mapping::parse("sources: [{logsource: {product: okta}, format: okta}]").unwrap();
        assert_eq!(m.sources[0].format.as_deref(), Some("okta"));
        assert!(m.sources[0].channels.is_empty());
        let e = Mapping::parse("sources:\n  - {logsource: {product: x}}\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().contains("'channel' or 'format'"));
    }
}
