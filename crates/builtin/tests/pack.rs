//! The pack is whole and well-formed: every file under `rules/` is shipped, each loads as
//! standard Sigma without a problem or warning, and each says what a rule of ours must say.

use dwell_builtin::{RULES, display_path};
use dwell_sigma::{Document, LoadOptions, Meta, parse_text};
use std::collections::HashSet;
use std::path::Path;

fn files(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, base, out);
        } else if p.extension().is_some_and(|x| x == "yml") {
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
        }
    }
}

#[test]
fn every_rule_file_is_shipped_once() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut on_disk = Vec::new();
    files(&base, &base, &mut on_disk);
    on_disk.sort();
    let mut shipped: Vec<String> = RULES.iter().map(|b| b.path.to_string()).collect();
    shipped.sort();
    assert_eq!(on_disk, shipped, "rules/ and RULES differ");
    for b in RULES {
        assert_eq!(std::fs::read_to_string(base.join(b.path)).unwrap(), b.text);
    }
}

fn check_meta(m: &Meta, path: &str, ids: &mut HashSet<String>, names: &mut HashSet<String>) {
    let id = m.id.clone().unwrap_or_else(|| panic!("{path}: no id"));
    assert!(ids.insert(id), "{path}: id used twice");
    let name = m.name.clone().unwrap_or_else(|| panic!("{path}: no name"));
    assert!(
        name.starts_with("dwell_"),
        "{path}: name {name} is not in dwell's namespace"
    );
    assert!(names.insert(name), "{path}: name used twice");
    assert!(m.level.is_some(), "{path}: no level");
    assert!(m.status.is_some(), "{path}: no status");
    assert_eq!(m.author.as_deref(), Some("dwell"), "{path}");
    assert!(
        m.description.as_ref().is_some_and(|d| d.len() > 80),
        "{path}: say why"
    );
    assert!(!m.references.is_empty(), "{path}: no reference");
    assert!(
        !m.falsepositives.is_empty(),
        "{path}: no false positives named"
    );
    assert!(
        m.tags.iter().any(|t| t.starts_with("attack.t")),
        "{path}: no ATT&CK technique"
    );
    assert!(
        m.tags
            .iter()
            .any(|t| t.starts_with("attack.") && !t.starts_with("attack.t")),
        "{path}: no ATT&CK tactic"
    );
}

#[test]
fn every_rule_loads_as_standard_sigma_and_says_what_it_is() {
    let (mut ids, mut names) = (HashSet::new(), HashSet::new());
    let (mut rules, mut correlations) = (0, 0);
    for b in RULES {
        let path = display_path(b);
        let (docs, errors) = parse_text(b.text, &path, &LoadOptions::default());
        assert!(errors.is_empty(), "{path}: {errors:?}");
        assert_eq!(docs.len(), 1, "{path}: one document per file");
        match &docs[0] {
            Document::Rule(r) => {
                assert!(r.warnings.is_empty(), "{path}: {:?}", r.warnings);
                check_meta(&r.meta, &path, &mut ids, &mut names);
                rules += 1;
            }
            Document::Correlation(c) => {
                assert!(c.warnings.is_empty(), "{path}: {:?}", c.warnings);
                check_meta(&c.meta, &path, &mut ids, &mut names);
                correlations += 1;
            }
            Document::Filter(_) => panic!("{path}: the pack ships no filters"),
        }
    }
    assert!(
        rules >= 15 && correlations >= 3,
        "{rules} rules, {correlations} correlations"
    );
}
