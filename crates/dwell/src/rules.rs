//! Loading rules for a command, and `dwell rules check`.

use crate::{CheckArgs, EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, RuleOptions};
use dwell_detect::Mapping;
use dwell_sigma::{LoadOptions, Placeholders, RuleSet};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Builds load options from the command line; `Err` is a message for the user.
pub fn load_options(o: &RuleOptions) -> Result<LoadOptions, String> {
    let mut ph = Placeholders::default();
    if let Some(file) = &o.placeholders {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read placeholders file {}: {e}", file.display()))?;
        let docs = dwell_sigma::yaml::load_all(&text, Default::default())
            .map_err(|e| format!("placeholders file {}: {e}", file.display()))?;
        if let Some(dwell_sigma::yaml::Yaml::Map(entries)) = docs.first().map(|d| &d.value) {
            for (k, v) in entries {
                let name = k.scalar_text().unwrap_or_default();
                let values: Vec<String> = match &v.value {
                    dwell_sigma::yaml::Yaml::Seq(items) => {
                        items.iter().filter_map(|i| i.scalar_text()).collect()
                    }
                    _ => v.scalar_text().into_iter().collect(),
                };
                ph.values.entry(name).or_default().extend(values);
            }
        } else {
            return Err(format!(
                "placeholders file {} must map names to values",
                file.display()
            ));
        }
    }
    for p in &o.placeholder {
        let (name, value) = p
            .split_once('=')
            .ok_or_else(|| format!("--placeholder '{p}' is not NAME=VALUE"))?;
        ph.values
            .entry(name.trim_matches('%').to_string())
            .or_default()
            .push(value.to_string());
    }
    Ok(LoadOptions {
        placeholders: ph,
        ..LoadOptions::default()
    })
}

/// Loads rules from `paths`.
pub fn load(paths: &[PathBuf], o: &RuleOptions) -> Result<RuleSet, String> {
    let opts = load_options(o)?;
    Ok(dwell_sigma::load_paths(paths, &opts))
}

/// `dwell rules check`.
pub fn check(args: CheckArgs) -> u8 {
    let set = match load(&args.paths, &args.rule_options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    for e in &set.errors {
        println!("{e}");
    }
    let mut warnings = 0;
    for r in &set.rules {
        for w in &r.warnings {
            warnings += 1;
            println!(
                "{}: rule {} ({}): warning: {w}",
                r.origin.location(),
                r.meta.id.as_deref().unwrap_or("-"),
                r.meta.title
            );
        }
    }
    for c in &set.correlations {
        for w in &c.warnings {
            warnings += 1;
            println!(
                "{}: correlation {} ({}): warning: {w}",
                c.origin.location(),
                c.meta.id.as_deref().unwrap_or("-"),
                c.meta.title
            );
        }
    }
    if args.mapping {
        let mapping = Mapping::builtin();
        let mut unmapped: BTreeMap<String, usize> = BTreeMap::new();
        for r in &set.rules {
            if mapping.for_rule(&r.logsource).is_empty() {
                *unmapped.entry(r.logsource.to_string()).or_default() += 1;
            }
        }
        for (ls, n) in &unmapped {
            println!("no log-source mapping: {ls}: {n} rule(s)");
        }
    }
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &set.errors {
        *by_kind.entry(e.kind.as_str()).or_default() += 1;
    }
    eprintln!(
        "{} file(s): {} detection rule(s), {} correlation(s), {} filter(s) valid; {} problem(s){}; {} warning(s)",
        set.files,
        set.rules.len(),
        set.correlations.len(),
        set.filters.len(),
        set.errors.len(),
        if by_kind.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                by_kind
                    .iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        warnings
    );
    if set.files == 0 && set.errors.is_empty() {
        eprintln!("error: no rule files (.yml, .yaml) found");
        return EXIT_FAILED;
    }
    if set.errors.is_empty() {
        EXIT_OK
    } else {
        EXIT_PARTIAL
    }
}
