//! The run `hunt` and `investigate` share: load and select the rules, find the inputs, run
//! the pipeline into the given sinks, then report what was skipped and write the coverage.

use crate::Fail;
use crate::messages::{Messages, SHOWN_PER_INPUT};
use crate::options::Scan;
use dwell_core::Observer;
use dwell_detect::{Detector, Mapping};
use dwell_ingest::{FileSource, Registry, Skipped, discover};
use dwell_pipeline::{Pipeline, RunStats, Sink, SortSpill};
use dwell_report::{Coverage, Run, Summary};
use dwell_sigma::RuleError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A finished run.
pub struct Ran {
    pub stats: RunStats,
    pub detector: Detector,
    pub skipped: Vec<Skipped>,
    pub not_loaded: Vec<RuleError>,
    pub seconds: f64,
    /// Something was skipped (an input, a record, a rule).
    pub partial: bool,
}

impl Ran {
    fn run(&self) -> Run<'_> {
        Run {
            stats: &self.stats,
            detector: &self.detector,
            skipped: &self.skipped,
            not_loaded: &self.not_loaded,
            seconds: self.seconds,
        }
    }

    /// Prints the closing summary.
    pub fn summary(&self, color: bool) {
        let _ = Summary::of(&self.run()).print(&mut std::io::stderr().lock(), color);
    }
}

/// The rules, loaded, selected and compiled.
pub(crate) fn rules(
    o: &Scan,
    msgs: &Messages,
    registry: &Registry,
) -> Result<(Detector, Vec<RuleError>), Fail> {
    let builtin: Vec<(String, &str)> = if o.with_builtin {
        dwell_builtin::RULES
            .iter()
            .map(|b| (dwell_builtin::display_path(b), b.text))
            .collect()
    } else {
        Vec::new()
    };
    let texts: Vec<(&str, &str)> = builtin
        .iter()
        .map(|(p, t)| (p.as_str(), *t))
        .chain(o.rule_texts.iter().map(|(p, t)| (p.as_str(), t.as_str())))
        .collect();
    let paths: Vec<PathBuf> = o.rules.iter().chain(&o.tuning).cloned().collect();
    let mut set = dwell_sigma::load_with(&texts, &paths, &o.load);
    // A tuning folder holds filters only: a rule there would run beside the others unseen.
    let in_tuning = |path: &str| o.tuning.iter().any(|t| Path::new(path).starts_with(t));
    set.rules.retain(|r| {
        let keep = !in_tuning(&r.origin.path);
        if !keep {
            msgs.warn(&format!(
                "{}: a detection rule in --tuning, not run (a tuning folder holds filters)",
                r.origin.path
            ));
        }
        keep
    });
    set.correlations.retain(|c| {
        let keep = !in_tuning(&c.origin.path);
        if !keep {
            msgs.warn(&format!(
                "{}: a correlation in --tuning, not run (a tuning folder holds filters)",
                c.origin.path
            ));
        }
        keep
    });
    for e in &set.errors {
        msgs.warn_as(
            &format!("rule not loaded: {}", e.reason),
            &format!("rule not loaded: {e}"),
        );
    }
    let selected = o.selection.apply(set.rules, set.correlations);
    if selected.rules.is_empty() {
        return Err(Fail(format!(
            "no usable rule in {} ({} not loaded, {} filtered out by --status/--min-level)",
            o.rules
                .iter()
                .map(|p| p.display().to_string())
                .chain(o.with_builtin.then(|| "the built-in rules".to_string()))
                .collect::<Vec<_>>()
                .join(", "),
            set.errors.len(),
            selected.filtered.len()
        )));
    }
    let mapping = Mapping::from_texts(&registry.mappings())
        .map_err(|e| Fail(format!("the built-in log-source mapping is invalid: {e}")))?;
    let detector = Detector::build(selected, &mapping);
    for c in detector.correlations_not_run() {
        msgs.warn(&format!(
            "correlation not run: {}: correlation {} ({}): {}",
            c.rule.location(),
            if c.rule.id.is_empty() {
                "-"
            } else {
                &c.rule.id
            },
            c.rule.title,
            c.reason
        ));
    }
    notes(&detector, msgs);
    Ok((detector, set.errors))
}

/// Rules that load but cannot do all they say: for log sources dwell does not read, or with
/// placeholders that have no value.
fn notes(d: &Detector, msgs: &Messages) {
    if !d.unmapped.is_empty() {
        let mut by_source: BTreeMap<String, usize> = BTreeMap::new();
        for u in &d.unmapped {
            *by_source.entry(d.table[u.rule].logsource()).or_default() += 1;
        }
        let mut top: Vec<(String, usize)> = by_source.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let shown: Vec<String> = top
            .iter()
            .take(4)
            .map(|(ls, n)| format!("{ls}: {n}"))
            .collect();
        msgs.note(&format!(
            "{} rule(s) are for log sources dwell does not read yet and will not run ({}{}); --coverage lists them",
            d.unmapped.len(),
            shown.join("; "),
            if top.len() > 4 { "; ..." } else { "" }
        ));
    }
    let placeholders = d
        .table
        .iter()
        .filter(|r| r.warnings.iter().any(|w| w.contains("placeholder")))
        .count();
    if placeholders > 0 {
        msgs.note(&format!(
            "{placeholders} rule(s) use expand placeholders without a value, which match nothing (give them with --placeholder NAME=VALUE); --coverage lists them"
        ));
    }
}

/// Runs the pipeline over the inputs into `sinks`.
pub fn run(
    o: &Scan,
    msgs_for: impl FnOnce(u64) -> Messages,
    sinks: &mut [&mut dyn Sink],
    observers: &[&dyn Observer],
) -> Result<(Ran, Messages), Fail> {
    let started = Instant::now();
    let registry = o.registry.clone();
    let (found, skipped) = discover(&o.paths);
    let msgs = msgs_for(found.iter().filter_map(|f| f.size).sum())
        .quiet(o.quiet)
        .log(o.log.as_deref())
        .map_err(Fail)?;
    let (mut detector, not_loaded) = rules(o, &msgs, &registry)?;
    for s in &skipped {
        msgs.warn_as(
            &format!("skipped: {}", s.reason),
            &format!("skipped {}: {}", s.path, s.reason),
        );
    }
    if found.is_empty() {
        return Err(Fail(
            "nothing to hunt: no logs found in the given paths".into(),
        ));
    }
    let mut source = FileSource::new(found, registry);
    let mut pipeline = Pipeline::new(&mut detector, o.pipeline.clone()).monitor(&msgs);
    for ob in observers {
        pipeline = pipeline.observe(*ob);
    }
    let mut navigator = o
        .navigator
        .as_ref()
        .map(|_| dwell_report::navigator::Navigator::default());
    // The caller's sinks, reborrowed for this run, and dwell's own beside them.
    fn reborrow<'a>(s: &'a mut &mut dyn Sink) -> &'a mut (dyn Sink + 'a) {
        &mut **s
    }
    let mut all: Vec<&mut dyn Sink> = sinks.iter_mut().map(reborrow).collect();
    if let Some(n) = navigator.as_mut() {
        all.push(n);
    }
    let stats = pipeline.run(
        &mut source,
        Box::new(SortSpill::new(o.sort_memory)),
        &mut all,
    );
    drop(all);
    msgs.done();
    let stats = stats?;
    if stats.per_input.iter().all(|i| i.failed.is_some()) {
        return Err(Fail(format!(
            "nothing to hunt: none of the {} input(s) is a log dwell reads",
            stats.per_input.len()
        )));
    }
    if stats.late_correlation > 0 {
        msgs.warn(&format!(
            "{} correlation match(es) arrived after their window and were not counted",
            stats.late_correlation
        ));
    }
    for (info, s) in stats.inputs.iter().zip(&stats.per_input) {
        if s.problems > SHOWN_PER_INPUT {
            msgs.warn_as(
                "more problems not shown",
                &format!(
                    "{}: {} more problem(s) not shown (--coverage counts them)",
                    info.display,
                    s.problems - SHOWN_PER_INPUT
                ),
            );
        }
    }
    msgs.finish();
    let partial = !not_loaded.is_empty()
        || !detector.correlation_problems.is_empty()
        || !skipped.is_empty()
        || stats.failed() > 0
        || stats.problems() > 0;
    let ran = Ran {
        stats,
        detector,
        skipped,
        not_loaded,
        seconds: started.elapsed().as_secs_f64(),
        partial,
    };
    if let (Some(path), Some(n)) = (&o.navigator, &navigator) {
        let layer = n.layer("dwell: what fired");
        dwell_report::write_whole(path, |w: &mut dyn std::io::Write| {
            serde_json::to_writer_pretty(&mut *w, &layer).map_err(std::io::Error::other)?;
            writeln!(w)
        })
        .map_err(|e| Fail(format!("cannot write --navigator {}: {e}", path.display())))?;
    }
    if let Some(path) = &o.coverage {
        let cov = Coverage::of(&ran.run());
        dwell_report::write_whole(path, |w: &mut dyn std::io::Write| cov.write(w))
            .map_err(|e| Fail(format!("cannot write coverage {}: {e}", path.display())))?;
    }
    Ok((ran, msgs))
}
