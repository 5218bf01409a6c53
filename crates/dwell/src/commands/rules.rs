//! `dwell rules check`: every rule file loaded and checked; each problem and warning on its
//! own line (rule text is escaped: it is someone else's), a summary on standard error.

use crate::cli::CheckArgs;
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
