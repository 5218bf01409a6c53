//! The log-source mapping: which events a Sigma `logsource` covers and how taxonomy field
//! names map onto them. The built-in table is `data/logsources.yml`, data rather than code.

use dwell_sigma::LogSource;
use dwell_sigma::yaml::{self, Limits, Node, Yaml};

/// One way a Sigma log source appears in events.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub logsource: LogSource,
    /// Channel names (matched case-insensitively).
    pub channels: Vec<String>,
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
    pub sources: Vec<Source>,
}

const BUILTIN: &str = include_str!("../data/logsources.yml");

impl Mapping {
    /// The mapping that ships with dwell.
    pub fn builtin() -> Mapping {
        Mapping::parse(BUILTIN).expect("the built-in log-source mapping is valid")
    }

    /// Parses a mapping file.
    pub fn parse(text: &str) -> Result<Mapping, String> {
        let docs = yaml::load_all(text, Limits::default()).map_err(|e| e.to_string())?;
        let root = docs.first().ok_or("empty mapping file")?;
        let Some(Yaml::Seq(items)) = root.get("sources").map(|n| &n.value) else {
            return Err("the mapping needs a 'sources' list".into());
        };
        let mut sources = Vec::new();
        for it in items {
            sources.push(parse_source(it).map_err(|e| format!("line {}: {e}", it.line))?);
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
    let channels = strings(n.get("channel").ok_or("an entry needs 'channel'")?)?;
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

    #[test]
    fn builtin_parses_and_covers_the_taxonomy() {
        let m = Mapping::builtin();
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
    }
}
