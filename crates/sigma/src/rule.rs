//! Sigma documents: detection rules, correlation rules and filters, parsed from YAML nodes.

use crate::condition::{self, Cond};
use crate::correlation::{Correlation, parse_correlation};
use crate::item::{Item, Placeholders, compile_item};
use crate::meta::{
    ErrorKind, Meta, Origin, PResult, RuleError, clip, invalid, opt_string, parse_meta,
};
use crate::yaml::{Node, Yaml};
use std::fmt;

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
    /// dwell's extension (`dwell:`), if the rule has one.
    pub extension: Option<crate::extension::Extension>,
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
    let extension = node.get("dwell").map(crate::extension::parse).transpose()?;
    Ok(Rule {
        meta,
        logsource,
        detection,
        origin,
        warnings,
        filters: Vec::new(),
        extension,
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
    use crate::meta::{Level, Status};
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
