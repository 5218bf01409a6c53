//! What a rule update changes: the rule files before and after (path, text), compared
//! document by document, by rule id (by path and title for a document without one): rules
//! added, removed, moved to another file, and changed (their level, status, log source, or
//! the rest of their text), and the new files that do not load.

use crate::load::{LoadOptions, parse_text};
use crate::meta::{Meta, RuleError};
use crate::rule::Document;
use std::collections::BTreeMap;

/// One document of a rule set, as the diff sees it.
#[derive(Debug, Clone, PartialEq)]
struct Doc {
    title: String,
    kind: &'static str,
    level: String,
    status: String,
    logsource: String,
    path: String,
    text: String,
}

/// A rule named in the diff.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Named {
    /// Its id (or `path#title` when it has none).
    pub id: String,
    /// Its title.
    pub title: String,
    /// `rule`, `correlation` or `filter`.
    pub kind: &'static str,
    /// Its file (in the new set when it is there, else the old).
    pub path: String,
}

/// A rule in both sets that is not the same.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Changed {
    /// The rule.
    #[serde(flatten)]
    pub rule: Named,
    /// What changed, each `what: before -> after` or a word.
    pub what: Vec<String>,
}

/// Before and after.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Diff {
    /// Documents before.
    pub before: usize,
    /// Documents after.
    pub after: usize,
    /// New rules.
    pub added: Vec<Named>,
    /// Rules gone.
    pub removed: Vec<Named>,
    /// Rules changed.
    pub changed: Vec<Changed>,
    /// Rules the same.
    pub unchanged: usize,
    /// Problems in the new files (documents that would not load), each `path:line: reason`.
    pub new_errors: Vec<String>,
}

fn docs(files: &[(String, String)], opts: &LoadOptions) -> (BTreeMap<String, Doc>, Vec<RuleError>) {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for (path, text) in files {
        let (parsed, errs) = parse_text(text, path, opts);
        errors.extend(errs);
        let single = parsed.len() == 1;
        for d in parsed {
            let (meta, kind, logsource): (&Meta, &str, String) = match &d {
                Document::Rule(r) => (&r.meta, "rule", r.logsource.to_string()),
                Document::Correlation(c) => (&c.meta, "correlation", String::new()),
                Document::Filter(f) => (&f.meta, "filter", f.logsource.to_string()),
            };
            let key = meta
                .id
                .clone()
                .unwrap_or_else(|| format!("{path}#{}", meta.title));
            out.insert(
                key,
                Doc {
                    title: meta.title.clone(),
                    kind,
                    level: meta.level.map_or("", |l| l.as_str()).to_string(),
                    status: meta.status.map_or("", |s| s.as_str()).to_string(),
                    logsource,
                    path: path.clone(),
                    // A file of several documents is compared by its fields alone.
                    text: if single {
                        text.trim().to_string()
                    } else {
                        String::new()
                    },
                },
            );
        }
    }
    (out, errors)
}

/// Compares the rule files `before` with `after` (each `(path, text)`, paths relative to the
/// rule folder).
pub fn diff(before: &[(String, String)], after: &[(String, String)], opts: &LoadOptions) -> Diff {
    let (old, _) = docs(before, opts);
    let (new, errors) = docs(after, opts);
    let named = |id: &str, d: &Doc| Named {
        id: id.to_string(),
        title: d.title.clone(),
        kind: d.kind,
        path: d.path.clone(),
    };
    let mut out = Diff {
        before: old.len(),
        after: new.len(),
        new_errors: errors.iter().map(|e| e.to_string()).collect(),
        ..Diff::default()
    };
    for (id, n) in &new {
        let Some(o) = old.get(id) else {
            out.added.push(named(id, n));
            continue;
        };
        let mut what = Vec::new();
        let mut field = |name: &str, a: &str, b: &str| {
            if a != b {
                what.push(format!("{name}: {} -> {}", or_none(a), or_none(b)));
            }
        };
        field("level", &o.level, &n.level);
        field("status", &o.status, &n.status);
        field("logsource", &o.logsource, &n.logsource);
        field("title", &o.title, &n.title);
        // Beyond the fields above: the rest of the text, white space aside.
        if what.is_empty() && strip(&o.text) != strip(&n.text) {
            what.push("detection or other fields".into());
        }
        if o.path != n.path {
            what.push(format!("file: {} -> {}", o.path, n.path));
        }
        if what.is_empty() {
            out.unchanged += 1;
        } else {
            out.changed.push(Changed {
                rule: named(id, n),
                what,
            });
        }
    }
    for (id, o) in &old {
        if !new.contains_key(id) {
            out.removed.push(named(id, o));
        }
    }
    out
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "(none)" } else { s }
}

fn strip(s: &str) -> String {
    s.split_whitespace().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, level: &str, value: &str) -> String {
        format!(
            "title: R {id}\nid: {id}\nstatus: test\nlevel: {level}\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n  s: {{Image|endswith: '{value}'}}\n  condition: s\n"
        )
    }

    #[test]
    fn an_update_says_what_it_adds_removes_moves_and_changes() {
        let o = LoadOptions::default();
        let before = vec![
            ("a.yml".to_string(), rule("a", "high", "x.exe")),
            ("b.yml".to_string(), rule("b", "high", "x.exe")),
            ("c.yml".to_string(), rule("c", "high", "x.exe")),
            ("d.yml".to_string(), rule("d", "high", "x.exe")),
        ];
        let after = vec![
            ("a.yml".to_string(), rule("a", "high", "x.exe")),
            ("b.yml".to_string(), rule("b", "medium", "x.exe")),
            ("moved/c.yml".to_string(), rule("c", "high", "x.exe")),
            ("d.yml".to_string(), rule("d", "high", "y.exe")),
            ("e.yml".to_string(), rule("e", "low", "x.exe")),
            ("bad.yml".to_string(), "title: broken\n".to_string()),
        ];
        let d = diff(&before, &after, &o);
        assert_eq!(d.unchanged, 1);
        assert_eq!(
            d.added.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
            ["e"]
        );
        assert!(d.removed.is_empty());
        let what: BTreeMap<&str, &Vec<String>> = d
            .changed
            .iter()
            .map(|c| (c.rule.id.as_str(), &c.what))
            .collect();
        assert_eq!(what["b"], &vec!["level: high -> medium".to_string()]);
        assert_eq!(what["c"], &vec!["file: c.yml -> moved/c.yml".to_string()]);
        assert_eq!(what["d"], &vec!["detection or other fields".to_string()]);
        assert_eq!(d.new_errors.len(), 1);
        let back = diff(&after, &before, &o);
        assert_eq!(
            back.removed
                .iter()
                .map(|n| n.id.as_str())
                .collect::<Vec<_>>(),
            ["e"]
        );
    }
}
