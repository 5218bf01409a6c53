//! `dwell rules check`: every rule file loaded and checked; each problem and warning on its
//! own line (rule text is escaped: it is someone else's), a summary on standard error.
//! `dwell rules list` and `export`: the built-in rules, shown or written out as files.

use crate::cli::{CheckArgs, ExportArgs, ListArgs};
use crate::options::load_options;
use crate::output::{Output, written};
use crate::{Fail, Outcome};
use dwell_core::text::terminal;
use dwell_detect::{Mapping, RuleInfo};
use dwell_ingest::Registry;
use std::collections::BTreeMap;
use std::io::Write;

pub fn check(args: CheckArgs) -> Result<Outcome, Fail> {
    let set = dwell_sigma::load_paths(&args.paths, &load_options(&args.rule_options)?);
    let mut out = Output::open(None)?;
    let mut lines: Vec<String> = set.errors.iter().map(|e| e.to_string()).collect();
    let infos: Vec<RuleInfo> = set
        .rules
        .iter()
        .map(RuleInfo::of_rule)
        .chain(set.correlations.iter().map(RuleInfo::of_correlation))
        .collect();
    let mut warnings = 0;
    for r in &infos {
        let what = if r.correlation().is_some() {
            "correlation"
        } else {
            "rule"
        };
        for w in &r.warnings {
            warnings += 1;
            lines.push(format!(
                "{}: {what} {} ({}): warning: {w}",
                r.location(),
                if r.id.is_empty() { "-" } else { &r.id },
                r.title
            ));
        }
    }
    for c in dwell_detect::costly(&set.rules) {
        warnings += 1;
        lines.push(format!(
            "{}: rule {} ({}): warning: {}",
            c.location, c.id, c.title, c.why
        ));
    }
    if args.mapping {
        let mapping = Mapping::from_texts(&Registry::builtin().mappings())?;
        let mut unmapped: BTreeMap<String, usize> = BTreeMap::new();
        for r in &set.rules {
            if mapping.for_rule(&r.logsource).is_empty() {
                *unmapped.entry(r.logsource.to_string()).or_default() += 1;
            }
        }
        for (ls, n) in &unmapped {
            lines.push(format!("no log-source mapping: {ls}: {n} rule(s)"));
        }
    }
    for l in &lines {
        written(writeln!(out, "{}", terminal(l)), "the report")?;
    }
    out.done()?;
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &set.errors {
        *by_kind.entry(e.kind.as_str()).or_default() += 1;
    }
    let kinds = if by_kind.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
        format!(" ({})", parts.join(", "))
    };
    eprintln!(
        "{} file(s): {} detection rule(s), {} correlation(s), {} filter(s) valid; {} problem(s){kinds}; {warnings} warning(s)",
        set.files,
        set.rules.len(),
        set.correlations.len(),
        set.filters.len(),
        set.errors.len(),
    );
    if set.files == 0 && set.errors.is_empty() {
        return Err(Fail("no rule files (.yml, .yaml) found".into()));
    }
    Ok(Outcome::of(!set.errors.is_empty()))
}

/// The built-in rules, loaded as a hunt loads them.
fn builtin_infos() -> Result<Vec<RuleInfo>, Fail> {
    let texts: Vec<(String, &str)> = dwell_builtin::RULES
        .iter()
        .map(|b| (dwell_builtin::display_path(b), b.text))
        .collect();
    let texts: Vec<(&str, &str)> = texts.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    let set = dwell_sigma::load_with(&texts, &[], &dwell_sigma::LoadOptions::default());
    if let Some(e) = set.errors.first() {
        return Err(Fail(format!(
            "a built-in rule does not load (please report it): {e}"
        )));
    }
    Ok(set
        .rules
        .iter()
        .map(RuleInfo::of_rule)
        .chain(set.correlations.iter().map(RuleInfo::of_correlation))
        .collect())
}

pub fn list(args: ListArgs) -> Result<Outcome, Fail> {
    let infos = builtin_infos()?;
    let mut out = Output::open(None)?;
    for r in &infos {
        let techniques: Vec<&str> = r
            .tags
            .iter()
            .filter_map(|t| t.strip_prefix("attack.t"))
            .collect();
        let line = if args.json {
            serde_json::json!({
                "id": r.id,
                "name": r.name,
                "title": r.title,
                "level": r.level_str(),
                "status": r.status_str(),
                "logsource": r.logsource(),
                "tags": r.tags,
                "path": r.path,
            })
            .to_string()
        } else {
            format!(
                "{:<13} {:<52} {:<34} {}",
                r.level_str(),
                r.logsource(),
                techniques
                    .iter()
                    .map(|t| format!("T{t}"))
                    .collect::<Vec<_>>()
                    .join(","),
                r.title
            )
        };
        written(writeln!(out, "{}", terminal(&line)), "the list")?;
    }
    out.done()?;
    eprintln!(
        "{} built-in rule(s): {} detection rule(s), {} correlation(s); `dwell rules export DIR` writes them out",
        infos.len(),
        infos.iter().filter(|r| r.correlation().is_none()).count(),
        infos.iter().filter(|r| r.correlation().is_some()).count(),
    );
    Ok(Outcome::Complete)
}

pub fn export(args: ExportArgs) -> Result<Outcome, Fail> {
    // Check every target before writing any, so that a refusal leaves the folder as it was.
    for b in dwell_builtin::RULES {
        let path = args.dir.join(b.path);
        if let Ok(old) = std::fs::read(&path)
            && old != b.text.as_bytes()
        {
            return Err(Fail(format!(
                "{} exists and differs from the built-in rule; not overwritten (export to an empty folder)",
                path.display()
            )));
        }
    }
    for b in dwell_builtin::RULES {
        let path = args.dir.join(b.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Fail(format!("cannot create {}: {e}", parent.display())))?;
        }
        std::fs::write(&path, b.text)
            .map_err(|e| Fail(format!("cannot write {}: {e}", path.display())))?;
    }
    eprintln!(
        "wrote {} built-in rule file(s) under {}",
        dwell_builtin::RULES.len(),
        args.dir.display()
    );
    Ok(Outcome::Complete)
}
