//! Reading rule files and folders into a [`RuleSet`], with every failure kept and explained.

use crate::condition::Cond;
use crate::correlation::Correlation;
use crate::item::Placeholders;
use crate::meta::{ErrorKind, Meta, Origin, RuleError};
use crate::rule::{Document, Filter, Rule, Search, parse_document};
use crate::yaml::{Limits, load_all};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// How rules are loaded.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Bounds on the YAML of a rule file.
    pub limits: Limits,
    /// Values of `expand` placeholders.
    pub placeholders: Placeholders,
}

/// Everything loaded from a set of rule paths.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// Detection rules, in load order.
    pub rules: Vec<Rule>,
    /// Correlation rules, in load order.
    pub correlations: Vec<Correlation>,
    /// Filters, in load order.
    pub filters: Vec<Filter>,
    /// Documents and files that could not be used, each with its reason.
    pub errors: Vec<RuleError>,
    /// Rule files read.
    pub files: usize,
}

/// Parses every document of one rule file's text.
pub fn parse_text(text: &str, path: &str, opts: &LoadOptions) -> (Vec<Document>, Vec<RuleError>) {
    let nodes = match load_all(text, opts.limits) {
        Ok(n) => n,
        Err(e) => {
            return (
                Vec::new(),
                vec![RuleError {
                    path: path.to_string(),
                    line: e.line,
                    id: None,
                    title: None,
                    kind: ErrorKind::Yaml,
                    reason: e.message,
                }],
            );
        }
    };
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for node in nodes.iter().filter(|n| n.value != crate::yaml::Yaml::Null) {
        match parse_document(node, path, &opts.placeholders) {
            Ok(d) => docs.push(d),
            Err(e) => errors.push(e),
        }
    }
    (docs, errors)
}

/// Lists rule files under `paths` (files as given, folders walked for `.yml`/`.yaml`), sorted
/// so that loading is deterministic. Paths that cannot be read become errors.
pub fn rule_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<RuleError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut files, &mut errors),
            Ok(_) => files.push(p.clone()),
            Err(e) => errors.push(io_error(p, &e.to_string())),
        }
    }
    let mut seen = HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    files.sort();
    (files, errors)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<RuleError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(io_error(dir, &e.to_string()));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, out, errors),
            Ok(_) => {
                let ext = path
                    .extension()
                    .map(|e| e.to_string_lossy().to_ascii_lowercase());
                if matches!(ext.as_deref(), Some("yml" | "yaml")) {
                    out.push(path);
                }
            }
            Err(e) => errors.push(io_error(&path, &e.to_string())),
        }
    }
}

fn io_error(path: &Path, reason: &str) -> RuleError {
    RuleError {
        path: path.display().to_string(),
        line: 0,
        id: None,
        title: None,
        kind: ErrorKind::Io,
        reason: reason.to_string(),
    }
}

/// Loads every rule file under `paths`, on all cores, then applies filters and checks
/// correlation references.
pub fn load_paths(paths: &[PathBuf], opts: &LoadOptions) -> RuleSet {
    load_with(&[], paths, opts)
}

/// Loads rule texts given as (name, YAML) — rules shipped inside a program — before every
/// rule file under `paths`, as one set: filters, duplicate ids and correlation references
/// apply across both.
pub fn load_with(texts: &[(&str, &str)], paths: &[PathBuf], opts: &LoadOptions) -> RuleSet {
    let (files, mut errors) = rule_files(paths);
    let mut embedded: Vec<(Vec<Document>, Vec<RuleError>)> = texts
        .iter()
        .map(|(name, text)| parse_text(text, name, opts))
        .collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len().max(1));
    let per = files.len().div_ceil(threads.max(1)).max(1);
    let results: Vec<(Vec<Document>, Vec<RuleError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(per)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|f| {
                            // A bug must cost one file, reported, not a silent batch.
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                load_file(f, opts)
                            }))
                            .unwrap_or_else(|_| {
                                (
                                    Vec::new(),
                                    vec![RuleError {
                                        path: f.display().to_string(),
                                        line: 0,
                                        id: None,
                                        title: None,
                                        kind: ErrorKind::Invalid,
                                        reason: "internal error while loading this file (please report it)"
                                            .into(),
                                    }],
                                )
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut set = RuleSet {
        files: files.len() + texts.len(),
        ..RuleSet::default()
    };
    embedded.extend(results);
    for (docs, errs) in embedded {
        errors.extend(errs);
        for d in docs {
            match d {
                Document::Rule(r) => set.rules.push(r),
                Document::Correlation(c) => set.correlations.push(c),
                Document::Filter(f) => set.filters.push(f),
            }
        }
    }
    set.errors = errors;
    set.finish();
    set
}

fn load_file(path: &Path, opts: &LoadOptions) -> (Vec<Document>, Vec<RuleError>) {
    let display = path.display().to_string();
    match std::fs::metadata(path) {
        Ok(m) if m.len() > opts.limits.max_bytes as u64 => {
            return (
                Vec::new(),
                vec![RuleError {
                    path: display,
                    line: 0,
                    id: None,
                    title: None,
                    kind: ErrorKind::Invalid,
                    reason: format!(
                        "file is {} bytes, more than the {} bytes a rule file may have",
                        m.len(),
                        opts.limits.max_bytes
                    ),
                }],
            );
        }
        Err(e) => return (Vec::new(), vec![io_error(path, &e.to_string())]),
        _ => {}
    }
    match std::fs::read(path) {
        Err(e) => (Vec::new(), vec![io_error(path, &e.to_string())]),
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => {
                let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
                parse_text(text, &display, opts)
            }
            Err(_) => (
                Vec::new(),
                vec![RuleError {
                    path: display,
                    line: 0,
                    id: None,
                    title: None,
                    kind: ErrorKind::Yaml,
                    reason: "not UTF-8 text (is it a rule file?)".into(),
                }],
            ),
        },
    }
}

impl RuleSet {
    /// Builds a set from already parsed documents (used by tests and embedders).
    pub fn from_documents(docs: Vec<Document>) -> RuleSet {
        let mut set = RuleSet::default();
        for d in docs {
            match d {
                Document::Rule(r) => set.rules.push(r),
                Document::Correlation(c) => set.correlations.push(c),
                Document::Filter(f) => set.filters.push(f),
            }
        }
        set.finish();
        set
    }

    /// Applies filters and validates correlations once all documents are in.
    fn finish(&mut self) {
        self.reject_duplicates();
        apply_filters(&mut self.rules, &self.filters);
        self.check_correlations();
    }

    /// Keeps the first rule or correlation (in load order: sorted by path) of each id and
    /// name, and rejects the later ones with both places named: correlations refer to rules
    /// by id or name, and a duplicate would make that reference mean whichever came last.
    fn reject_duplicates(&mut self) {
        let mut first: HashMap<String, (String, String)> = HashMap::new();
        let mut reject = |meta: &Meta, origin: &Origin| -> Option<RuleError> {
            for key in meta.id.iter().chain(meta.name.iter()) {
                if let Some((place, title)) = first.get(key) {
                    return Some(RuleError {
                        path: origin.path.clone(),
                        line: origin.line,
                        id: meta.id.clone(),
                        title: Some(meta.title.clone()),
                        kind: ErrorKind::Duplicate,
                        reason: format!(
                            "'{key}' is already the id or name of '{title}' ({place}); only that one is loaded"
                        ),
                    });
                }
            }
            for key in meta.id.iter().chain(meta.name.iter()) {
                first.insert(key.clone(), (origin.location(), meta.title.clone()));
            }
            None
        };
        let mut errors = Vec::new();
        self.rules.retain(|r| match reject(&r.meta, &r.origin) {
            Some(e) => {
                errors.push(e);
                false
            }
            None => true,
        });
        self.correlations
            .retain(|c| match reject(&c.meta, &c.origin) {
                Some(e) => {
                    errors.push(e);
                    false
                }
                None => true,
            });
        self.errors.extend(errors);
    }

    fn check_correlations(&mut self) {
        let mut known: HashSet<&str> = HashSet::new();
        for r in &self.rules {
            known.extend(r.meta.id.as_deref());
            known.extend(r.meta.name.as_deref());
        }
        let corr_keys: HashMap<String, usize> = self
            .correlations
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                c.meta
                    .id
                    .iter()
                    .chain(c.meta.name.iter())
                    .map(move |k| (k.clone(), i))
            })
            .collect();
        let mut bad: Vec<(usize, String)> = Vec::new();
        for (i, c) in self.correlations.iter().enumerate() {
            for r in &c.rules {
                if !known.contains(r.as_str()) && !corr_keys.contains_key(r) {
                    bad.push((
                        i,
                        format!("refers to '{r}', which is not the id or name of any loaded rule"),
                    ));
                }
            }
        }
        // Cycles between correlations.
        for (start, c) in self.correlations.iter().enumerate() {
            let mut stack: Vec<usize> = c
                .rules
                .iter()
                .filter_map(|r| corr_keys.get(r))
                .copied()
                .collect();
            let mut seen = HashSet::new();
            while let Some(i) = stack.pop() {
                if i == start {
                    bad.push((start, "correlations refer to each other in a cycle".into()));
                    break;
                }
                if seen.insert(i) {
                    stack.extend(
                        self.correlations[i]
                            .rules
                            .iter()
                            .filter_map(|r| corr_keys.get(r))
                            .copied(),
                    );
                }
            }
        }
        if bad.is_empty() {
            return;
        }
        let bad_idx: HashSet<usize> = bad.iter().map(|(i, _)| *i).collect();
        let mut seen = HashSet::new();
        for (i, reason) in bad {
            if !seen.insert((i, reason.clone())) {
                continue;
            }
            let c = &self.correlations[i];
            self.errors.push(RuleError {
                path: c.origin.path.clone(),
                line: c.origin.line,
                id: c.meta.id.clone(),
                title: Some(c.meta.title.clone()),
                kind: ErrorKind::Invalid,
                reason,
            });
        }
        let mut i = 0;
        self.correlations.retain(|_| {
            let keep = !bad_idx.contains(&i);
            i += 1;
            keep
        });
    }
}

/// Adds each filter to the rules it applies to: the filter's searches are appended under fresh
/// names and the rule's condition becomes `(rule) and (filter)`, as pySigma does. A filter
/// with a `level` of its own gives it to the rules it applies to (dwell's tuning: pySigma
/// ignores the field), so a noisy rule can be lowered without editing it.
pub fn apply_filters(rules: &mut [Rule], filters: &[Filter]) {
    for (fi, f) in filters.iter().enumerate() {
        for r in rules.iter_mut() {
            if !f.logsource.within(&r.logsource) {
                continue;
            }
            let listed = match &f.rules {
                None => true,
                Some(list) => list.iter().any(|x| {
                    r.meta.id.as_deref() == Some(x.as_str())
                        || r.meta.name.as_deref() == Some(x.as_str())
                }),
            };
            if !listed {
                continue;
            }
            let offset = r.detection.searches.len();
            for s in &f.detection.searches {
                r.detection.searches.push(Search {
                    name: format!("__filter{fi}_{}", s.name),
                    groups: s.groups.clone(),
                });
            }
            let fc = shift(&f.detection.condition, offset);
            let orig = std::mem::replace(&mut r.detection.condition, Cond::Or(vec![]));
            r.detection.condition = Cond::And(vec![orig, fc]);
            r.filters.push(f.meta.title.clone());
            if let Some(level) = f.meta.level {
                r.meta.level = Some(level);
            }
        }
    }
}

fn shift(c: &Cond, by: usize) -> Cond {
    match c {
        Cond::Sel(i) => Cond::Sel(i + by),
        Cond::Not(x) => Cond::Not(Box::new(shift(x, by))),
        Cond::And(xs) => Cond::And(xs.iter().map(|x| shift(x, by)).collect()),
        Cond::Or(xs) => Cond::Or(xs.iter().map(|x| shift(x, by)).collect()),
    }
}

impl Origin {
    /// `path:line`, for messages.
    pub fn location(&self) -> String {
        format!("{}:{}", self.path, self.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_documents_in_one_file() {
        let text = "title: a\nid: r1\nlogsource: {product: windows}\ndetection: {s: {x: 1}, condition: s}\n---\n\
                    title: broken\nlogsource: {}\ndetection: {s: {x|nope: 1}, condition: s}\n---\n\
                    title: f\nlogsource: {product: windows}\nfilter: {rules: [r1], s: {u: admin}, condition: not s}\n";
        let (docs, errs) = parse_text(text, "x.yml", &LoadOptions::default());
        assert_eq!(docs.len(), 2);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, 6);
        let set = RuleSet::from_documents(docs);
        assert_eq!(set.rules[0].filters, vec!["f".to_string()]);
        assert_eq!(set.rules[0].detection.searches.len(), 2);
        assert!(matches!(set.rules[0].detection.condition, Cond::And(_)));
    }

    #[test]
    fn a_filter_with_a_level_relevels_the_rules_it_applies_to() {
        let text = "title: a\nid: r1\nlevel: high\nlogsource: {product: windows}\ndetection: {s: {x: 1}, condition: s}\n---\n\
                    title: b\nid: r2\nlevel: high\nlogsource: {product: windows}\ndetection: {s: {x: 2}, condition: s}\n---\n\
                    title: lower a\nlevel: low\nlogsource: {product: windows}\nfilter: {rules: [r1], s: {x: 1}, condition: s or not s}\n";
        let (docs, errs) = parse_text(text, "x.yml", &LoadOptions::default());
        assert!(errs.is_empty(), "{errs:?}");
        let set = RuleSet::from_documents(docs);
        assert_eq!(set.rules[0].meta.level, Some(crate::Level::Low));
        assert_eq!(
            set.rules[1].meta.level,
            Some(crate::Level::High),
            "not named: unchanged"
        );
    }

    #[test]
    fn filters_respect_logsource_and_rule_list() {
        let text = "title: a\nid: r1\nlogsource: {product: linux}\ndetection: {s: {x: 1}, condition: s}\n---\n\
                    title: f\nlogsource: {product: windows}\nfilter: {rules: any, s: {u: admin}, condition: not s}\n";
        let (docs, _) = parse_text(text, "x.yml", &LoadOptions::default());
        let set = RuleSet::from_documents(docs);
        assert!(set.rules[0].filters.is_empty());
    }

    #[test]
    fn correlation_references_are_checked() {
        let text = "title: a\nname: base\nlogsource: {}\ndetection: {s: {x: 1}, condition: s}\n---\n\
                    title: ok\ncorrelation: {type: event_count, rules: [base], group-by: [x], timespan: 1m, condition: {gte: 2}}\n---\n\
                    title: bad\ncorrelation: {type: event_count, rules: [nothing], group-by: [x], timespan: 1m, condition: {gte: 2}}\n";
        let (docs, _) = parse_text(text, "x.yml", &LoadOptions::default());
        let set = RuleSet::from_documents(docs);
        assert_eq!(set.correlations.len(), 1);
        assert_eq!(set.errors.len(), 1);
        assert!(set.errors[0].reason.contains("nothing"));
    }

    #[test]
    fn duplicate_ids_keep_the_first_and_name_both_places() {
        let a = "title: first\nid: same\nlogsource: {product: windows}\ndetection: {s: {x: 1}, condition: s}\n";
        let b = "title: second\nid: same\nlogsource: {product: windows}\ndetection: {s: {x: 2}, condition: s}\n";
        let (mut docs, _) = parse_text(a, "a.yml", &LoadOptions::default());
        docs.extend(parse_text(b, "b.yml", &LoadOptions::default()).0);
        let set = RuleSet::from_documents(docs);
        assert_eq!(set.rules.len(), 1);
        assert_eq!(set.rules[0].meta.title, "first");
        assert_eq!(set.errors.len(), 1);
        assert_eq!(set.errors[0].kind, ErrorKind::Duplicate);
        assert_eq!(set.errors[0].path, "b.yml");
        assert!(
            set.errors[0].reason.contains("a.yml:1"),
            "{}",
            set.errors[0].reason
        );
    }

    #[test]
    fn yaml_errors_and_unreadable_paths() {
        let (docs, errs) = parse_text("a: [1,\n", "bad.yml", &LoadOptions::default());
        assert!(docs.is_empty());
        assert_eq!(errs[0].kind, ErrorKind::Yaml);
        let set = load_paths(
            &[PathBuf::from("/nonexistent/rules")],
            &LoadOptions::default(),
        );
        assert_eq!(set.errors.len(), 1);
        assert_eq!(set.errors[0].kind, ErrorKind::Io);
    }
}
