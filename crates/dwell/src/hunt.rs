//! `dwell hunt`: a reader thread cuts inputs into batches, worker threads decode and match
//! them, and the main thread collects detections into a bounded-memory sort, then writes them
//! in time order with a summary.

use crate::investigate::Collector;
use crate::{ColorChoice, EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, IncidentFormat, OutFormat, ScanArgs};
use crossbeam_channel::{RecvTimeoutError, bounded};
use dwell_detect::correlate::{Member, Source};
use dwell_detect::{Correlator, Engine, Mapping, Scratch};
use dwell_ingest::{Batch, Decoder, Event, Gate, Input, Problem, discover, read, time};
use dwell_investigate::Logon;
use dwell_report::summary::group;
use dwell_report::{
    CorrelationDetail, Coverage, Detection, Format, InputCoverage, MemberRef, RuleCoverage,
    RuleState, RuleView, Sorter, Summary, Writer,
};
use dwell_sigma::{Level, Rule, Status};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Problems printed per input before the rest are only counted.
const SHOWN_PER_INPUT: u64 = 10;

/// Per-input counters a worker keeps.
#[derive(Default, Clone)]
struct InputAcc {
    events: u64,
    first: Option<i64>,
    last: Option<i64>,
    channels: HashMap<String, u64>,
}

struct WorkerOut {
    inputs: Vec<InputAcc>,
    /// Lateral-movement records, when investigating.
    logons: Vec<Logon>,
    fired: Vec<u64>,
    bucket_events: Vec<u64>,
}

struct ProblemLog {
    count: Vec<u64>,
    samples: Vec<Vec<String>>,
    unreadable: Vec<Option<String>>,
}

fn warn(color: bool, msg: &str) {
    let mut e = io::stderr().lock();
    if color {
        let _ = writeln!(e, "\x1b[33mwarning\x1b[0m: {msg}");
    } else {
        let _ = writeln!(e, "warning: {msg}");
    }
}

fn fail(msg: &str) -> u8 {
    eprintln!("error: {msg}");
    EXIT_FAILED
}

/// What a run produces: the detections themselves, or the incidents made of them.
pub enum Mode {
    Hunt {
        format: Option<OutFormat>,
        output: Option<PathBuf>,
    },
    Investigate {
        format: Option<IncidentFormat>,
        output: Option<PathBuf>,
    },
}

pub fn run(args: ScanArgs, mode: Mode) -> u8 {
    let started = Instant::now();
    let color_err = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        return fail("--threads must be at least 1");
    }
    let min_level = match &args.min_level {
        None => None,
        Some(l) => match Level::parse(l) {
            Some(l) => Some(l),
            None => {
                return fail(&format!(
                    "--min-level '{l}' is not one of informational, low, medium, high, critical"
                ));
            }
        },
    };
    let statuses: Option<Vec<Status>> = if args.status.trim() == "all" {
        None
    } else {
        let mut v = Vec::new();
        for s in args
            .status
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match Status::parse(s) {
                Some(st) => v.push(st),
                None => return fail(&format!("--status: unknown status '{s}'")),
            }
        }
        Some(v)
    };
    if args.rules.is_empty() {
        return fail(
            "no rules: pass --rules PATH (a Sigma rule file or folder, e.g. a checkout of SigmaHQ's rules/); \
             dwell's built-in rules arrive in a later release",
        );
    }
    if args.with_builtin {
        warn(
            color_err,
            "--with-builtin: this release has no built-in rules yet; only --rules are used",
        );
    }

    // Rules.
    let set = match crate::rules::load(&args.rules, &args.rule_options) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let mut partial = false;
    let mut coverage_rules: Vec<RuleCoverage> = Vec::new();
    for e in &set.errors {
        partial = true;
        warn(color_err, &format!("rule not loaded: {e}"));
        coverage_rules.push(RuleCoverage {
            id: e.id.clone(),
            title: e.title.clone(),
            path: e.path.clone(),
            level: None,
            status: None,
            logsource: String::new(),
            state: RuleState::NotLoaded,
            reason: Some(format!("{}: {}", e.kind.as_str(), e.reason)),
            logsource_seen: false,
            events_checked: 0,
            fired: 0,
        });
    }
    // Rules and correlations pass --status and --min-level by their own status and level.
    let passes = |status: Option<Status>, level: Option<Level>| -> Option<String> {
        let status_ok = match (&statuses, status) {
            (None, _) | (_, None) => true,
            (Some(list), Some(s)) => list.contains(&s),
        };
        let level_ok = match min_level {
            None => true,
            Some(min) => level.unwrap_or(Level::Informational) >= min,
        };
        match (status_ok, level_ok) {
            (true, true) => None,
            (true, false) => Some("below --min-level".into()),
            _ => Some("status not selected by --status".into()),
        }
    };
    let mut filtered = 0usize;
    let mut correlations = Vec::new();
    for c in set.correlations {
        match passes(c.meta.status, c.meta.level) {
            None => correlations.push(c),
            Some(reason) => {
                filtered += 1;
                coverage_rules.push(coverage_row(
                    &c.meta,
                    &c.origin.path,
                    format!("correlation: {}", c.kind.as_str()),
                    RuleState::Filtered,
                    Some(reason),
                ));
            }
        }
    }
    // The rules a kept correlation refers to (also through other correlations) run as its
    // inputs even when the filters leave them out; their own detections are then not shown.
    let mut referenced: HashSet<String> = HashSet::new();
    let mut pending: Vec<&str> = correlations
        .iter()
        .flat_map(|c| c.rules.iter().map(String::as_str))
        .collect();
    while let Some(r) = pending.pop() {
        if referenced.insert(r.to_string()) {
            for c in &correlations {
                if c.meta.id.as_deref() == Some(r) || c.meta.name.as_deref() == Some(r) {
                    pending.extend(c.rules.iter().map(String::as_str));
                }
            }
        }
    }
    let mut runnable: Vec<Rule> = Vec::new();
    let mut input_only: HashSet<u32> = HashSet::new();
    for r in set.rules {
        let needed = r
            .meta
            .id
            .iter()
            .chain(r.meta.name.iter())
            .any(|k| referenced.contains(k));
        match passes(r.meta.status, r.meta.level) {
            None => runnable.push(r),
            Some(_) if needed => {
                input_only.insert(runnable.len() as u32);
                runnable.push(r);
            }
            Some(reason) => {
                filtered += 1;
                coverage_rules.push(coverage_row(
                    &r.meta,
                    &r.origin.path,
                    r.logsource.to_string(),
                    RuleState::Filtered,
                    Some(reason),
                ));
            }
        }
    }
    if runnable.is_empty() {
        return fail(&format!(
            "no usable rule in {} ({} not loaded, {} filtered out by --status/--min-level)",
            args.rules
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            set.errors.len(),
            filtered
        ));
    }
    let (engine, unmapped) = Engine::new(runnable, &Mapping::builtin());
    let (mut correlator, corr_problems) = Correlator::new(&correlations, &engine.rules);
    let broken: HashSet<usize> = corr_problems.iter().map(|(c, _)| *c).collect();
    for (ci, reason) in &corr_problems {
        partial = true;
        let c = &correlations[*ci];
        warn(
            color_err,
            &format!(
                "correlation not run: {}: correlation {} ({}): {reason}",
                c.origin.location(),
                c.meta.id.as_deref().unwrap_or("-"),
                c.meta.title
            ),
        );
    }
    let needs: Vec<Option<Vec<String>>> = (0..engine.rules.len() as u32)
        .map(|r| correlator.needs(r).map(<[String]>::to_vec))
        .collect();
    let unmapped_set: HashMap<usize, String> = unmapped
        .iter()
        .map(|u| (u.rule, u.reason.clone()))
        .collect();
    if !unmapped.is_empty() {
        let mut by_source: BTreeMap<String, usize> = BTreeMap::new();
        for u in &unmapped {
            *by_source
                .entry(engine.rules[u.rule].logsource.to_string())
                .or_default() += 1;
        }
        let mut top: Vec<(String, usize)> = by_source.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let shown: Vec<String> = top
            .iter()
            .take(4)
            .map(|(ls, n)| format!("{ls}: {n}"))
            .collect();
        eprintln!(
            "note: {} rule(s) are for log sources dwell does not read yet and will not run ({}{}); --coverage lists them",
            unmapped.len(),
            shown.join("; "),
            if top.len() > 4 { "; ..." } else { "" }
        );
    }

    // Inputs.
    let (inputs, skipped) = discover(&args.paths);
    for s in &skipped {
        partial = true;
        warn(color_err, &format!("skipped {}: {}", s.path, s.reason));
    }
    if inputs.is_empty() {
        return fail("nothing to hunt: no EVTX or JSON logs found in the given paths");
    }

    // Output.
    let stdout_tty = io::stdout().is_terminal();
    let (hunt_format, output) = match &mode {
        Mode::Hunt { format, output } => (*format, output.clone()),
        Mode::Investigate { output, .. } => (None, output.clone()),
    };
    let investigating = matches!(mode, Mode::Investigate { .. })
        || args.case.case.is_some()
        || args.case.html.is_some()
        || args.case.timeline.is_some();
    let mut collector = if investigating {
        let names: Vec<String> = inputs.iter().map(|i| i.display.clone()).collect();
        match Collector::new(&args.case, &names) {
            Ok(c) => Some(c),
            Err(e) => return fail(&e),
        }
    } else {
        None
    };
    let format = match hunt_format {
        Some(OutFormat::Table) => Format::Table,
        Some(OutFormat::Csv) => Format::Csv,
        Some(OutFormat::Jsonl) => Format::Jsonl,
        Some(OutFormat::Timesketch) => Format::Timesketch,
        Some(OutFormat::Ocsf) => Format::Ocsf,
        None if stdout_tty && output.is_none() => Format::Table,
        None => Format::Jsonl,
    };
    let mut out: Option<Box<dyn Write>> = Some(match &output {
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => Box::new(io::BufWriter::with_capacity(1 << 20, f)),
            Err(e) => return fail(&format!("cannot write {}: {e}", p.display())),
        },
        None => Box::new(io::BufWriter::with_capacity(1 << 20, io::stdout().lock())),
    });
    let color_out = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            output.is_none() && stdout_tty && std::env::var_os("NO_COLOR").is_none()
        }
    };

    // The pipeline.
    let total_bytes: u64 = inputs.iter().map(|i| i.size).sum();
    let progress = if !args.no_progress && io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::new(total_bytes);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:32}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta}) {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Some(pb)
    } else {
        None
    };
    let log = Mutex::new(ProblemLog {
        count: vec![0; inputs.len()],
        samples: vec![Vec::new(); inputs.len()],
        unreadable: vec![None; inputs.len()],
    });
    let report_problem = |p: Problem| {
        let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
        let i = p.input as usize;
        l.count[i] += 1;
        let text = format!("{}: {}", p.place, p.reason);
        if l.count[i] <= SHOWN_PER_INPUT {
            warn(color_err, &format!("{}: {text}", inputs[i].display));
            l.samples[i].push(text);
        }
    };
    let bytes_done = AtomicU64::new(0);
    let events_done = AtomicU64::new(0);
    let mut sorter = Sorter::new(args.sort_memory.max(1) << 20);
    let mut sort_error: Option<io::Error> = None;
    let (batch_tx, batch_rx) = bounded::<Batch>(threads * 2);
    let (det_tx, det_rx) = bounded::<Vec<Detection>>(threads * 4);

    let worker_outs: Vec<WorkerOut> = std::thread::scope(|s| {
        let reader = {
            let inputs = &inputs;
            let report_problem = &report_problem;
            let log = &log;
            let bytes_done = &bytes_done;
            s.spawn(move || {
                for (id, input) in inputs.iter().enumerate() {
                    let compressed = input.compression != dwell_ingest::Compression::None;
                    let result = read(
                        input,
                        id as u32,
                        &mut |b: Batch| {
                            if !compressed {
                                bytes_done.fetch_add(b.bytes() as u64, Ordering::Relaxed);
                            }
                            batch_tx.send(b).is_ok()
                        },
                        &mut |p| report_problem(p),
                    );
                    if compressed {
                        bytes_done.fetch_add(input.size, Ordering::Relaxed);
                    }
                    if let Err(reason) = result {
                        let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
                        l.unreadable[id] = Some(reason);
                    }
                }
                drop(batch_tx);
            })
        };
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let batch_rx = batch_rx.clone();
                let det_tx = det_tx.clone();
                let engine = &engine;
                let inputs = &inputs;
                let report_problem = &report_problem;
                let events_done = &events_done;
                let needs = &needs;
                s.spawn(move || {
                    worker(
                        engine,
                        inputs,
                        needs,
                        investigating,
                        batch_rx,
                        det_tx,
                        report_problem,
                        events_done,
                    )
                })
            })
            .collect();
        drop(det_tx);
        drop(batch_rx);
        // Collect while the workers run.
        loop {
            match det_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(dets) => {
                    for d in dets {
                        if sort_error.is_none()
                            && let Err(e) = sorter.push(d)
                        {
                            sort_error = Some(e);
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if let Some(pb) = &progress {
                pb.set_position(bytes_done.load(Ordering::Relaxed).min(total_bytes));
                pb.set_message(format!(
                    "{} events",
                    group(events_done.load(Ordering::Relaxed))
                ));
            }
        }
        let _ = reader.join();
        workers.into_iter().filter_map(|w| w.join().ok()).collect()
    });
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    if let Some(e) = sort_error {
        return fail(&format!("sorting detections failed (temporary files): {e}"));
    }

    // Merge the workers' counters.
    let mut acc: Vec<InputAcc> = vec![InputAcc::default(); inputs.len()];
    let mut logons: Vec<Logon> = Vec::new();
    let mut fired = vec![0u64; engine.rules.len()];
    let mut bucket_events = vec![0u64; engine.bucket_count()];
    for w in worker_outs {
        logons.extend(w.logons);
        for (a, b) in acc.iter_mut().zip(w.inputs) {
            a.events += b.events;
            a.first = min_opt(a.first, b.first);
            a.last = max_opt(a.last, b.last);
            for (k, v) in b.channels {
                *a.channels.entry(k).or_default() += v;
            }
        }
        for (a, b) in fired.iter_mut().zip(w.fired) {
            *a += b;
        }
        for (a, b) in bucket_events.iter_mut().zip(w.bucket_events) {
            *a += b;
        }
    }

    // Write the detections in time order.
    let views: Vec<RuleView> = engine
        .rules
        .iter()
        .map(|r| rule_view(&r.meta, &r.origin.path, None))
        .chain(
            correlations
                .iter()
                .map(|c| rule_view(&c.meta, &c.origin.path, Some(c.kind.as_str()))),
        )
        .collect();
    let base = engine.rules.len() as u32;
    let mut corr_fired = vec![0u64; correlations.len()];
    let names: Vec<String> = inputs.iter().map(|i| i.display.clone()).collect();
    let width = console::Term::stdout()
        .size_checked()
        .map_or(160, |(_, w)| w as usize);
    // Investigating prints incidents, not detections.
    let mut writer = match mode {
        Mode::Hunt { .. } => out
            .take()
            .map(|o| Writer::new(format, o, &views, &names, color_out, width)),
        Mode::Investigate { .. } => None,
    };
    let mut summary = Summary {
        threads,
        ..Summary::default()
    };
    let mut rules_fired = HashSet::new();
    let mut hosts = HashSet::new();
    let (mut first, mut last) = (None, None);
    let mut broken_pipe = false;
    let sorted = match sorter.finish() {
        Ok(s) => s,
        Err(e) => return fail(&format!("sorting detections failed (temporary files): {e}")),
    };
    // Three stages on three threads, so reading back, correlating and writing overlap: a
    // reader (sorted detections back from memory and spill files, --dedup), a correlator
    // (only when there are correlations) and this thread, which counts, collects and writes.
    let (read_tx, read_rx) = bounded::<Result<Vec<Detection>, String>>(16);
    let dedup = args.dedup;
    let failed: Option<String> = std::thread::scope(|s| {
        // Named threads, so profiles and debuggers tell the stages apart.
        let reader = std::thread::Builder::new()
            .name("dwell-reader".into())
            .spawn_scoped(s, move || {
                let mut dropped = 0u64;
                let mut group_time: Option<Option<i64>> = None;
                let mut group_keys: HashSet<(u64, u32)> = HashSet::new();
                let mut batch: Vec<Detection> = Vec::with_capacity(1024);
                for d in sorted {
                    let d = match d {
                        Ok(d) => d,
                        Err(e) => {
                            let _ = read_tx
                                .send(Err(format!("reading sorted detections back failed: {e}")));
                            return dropped;
                        }
                    };
                    if dedup {
                        if group_time != Some(d.timestamp) {
                            group_time = Some(d.timestamp);
                            group_keys.clear();
                        }
                        if !group_keys.insert((d.event_key, d.rule)) {
                            dropped += 1;
                            continue;
                        }
                    }
                    batch.push(d);
                    if batch.len() >= 1024 && read_tx.send(Ok(std::mem::take(&mut batch))).is_err()
                    {
                        return dropped;
                    }
                }
                if !batch.is_empty() {
                    let _ = read_tx.send(Ok(batch));
                }
                dropped
            });
        let reader = match reader {
            Ok(r) => r,
            Err(e) => return Some(format!("cannot start a thread: {e}")),
        };
        let batch_rx = if correlator.is_empty() {
            read_rx
        } else {
            let (tx, rx) = bounded::<Result<Vec<Detection>, String>>(16);
            let correlator = &mut correlator;
            let corr_fired = &mut corr_fired;
            let input_only = &input_only;
            let spawned = std::thread::Builder::new()
                .name("dwell-correlate".into())
                .spawn_scoped(s, move || {
                    for batch in read_rx {
                        let out = batch.map(|batch| {
                            let mut out = Vec::with_capacity(batch.len());
                            for d in batch {
                                correlate(d, correlator, base, input_only, corr_fired, &mut out);
                            }
                            out
                        });
                        if tx.send(out).is_err() {
                            return;
                        }
                    }
                });
            if let Err(e) = spawned {
                // The reader stops when its channel closes with the failed closure.
                return Some(format!("cannot start a thread: {e}"));
            }
            rx
        };
        let mut failed = None;
        'batches: for batch in &batch_rx {
            let batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            };
            for d in batch {
                let lvl = views[d.rule as usize].level;
                summary.by_level[lvl.map_or(5, |l| l as usize)] += 1;
                rules_fired.insert(d.rule);
                if !d.computer.is_empty() && !hosts.contains(&d.computer) {
                    hosts.insert(d.computer.clone());
                }
                if let Some(t) = d.timestamp {
                    first = min_opt(first, Some(t));
                    last = max_opt(last, Some(t));
                }
                if let Some(c) = &mut collector
                    && let Err(e) = c.detection(&d, &views[d.rule as usize])
                {
                    failed = Some(e);
                    break 'batches;
                }
                let Some(writer) = &mut writer else { continue };
                if !broken_pipe && let Err(e) = writer.write(&d) {
                    if e.kind() == io::ErrorKind::BrokenPipe {
                        broken_pipe = true;
                    } else {
                        failed = Some(format!("writing detections failed: {e}"));
                        break 'batches;
                    }
                }
            }
        }
        // Unblocks the earlier stages if this one stopped early.
        drop(batch_rx);
        summary.duplicates_dropped = reader.join().unwrap_or(0);
        failed
    });
    if let Some(e) = failed {
        return fail(&e);
    }
    if !broken_pipe
        && let Some(writer) = writer
        && let Err(e) = writer.finish()
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        return fail(&format!("writing detections failed: {e}"));
    }

    let late = correlator.stats().late;
    if late > 0 {
        warn(
            color_err,
            &format!(
                "{late} correlation match(es) arrived after their window and were not counted"
            ),
        );
    }

    // Problems and coverage.
    let log = log.into_inner().unwrap_or_else(|e| e.into_inner());
    for (i, reason) in log.unreadable.iter().enumerate() {
        if let Some(r) = reason {
            partial = true;
            warn(color_err, &format!("skipped {}: {r}", inputs[i].display));
        }
    }
    for (i, &n) in log.count.iter().enumerate() {
        if n > SHOWN_PER_INPUT {
            warn(
                color_err,
                &format!(
                    "{}: {} more problem(s) not shown",
                    inputs[i].display,
                    n - SHOWN_PER_INPUT
                ),
            );
        }
    }
    let problems: u64 = log.count.iter().sum();
    if problems > 0 {
        partial = true;
    }
    summary.inputs_read = inputs.len() - log.unreadable.iter().filter(|u| u.is_some()).count();
    summary.inputs_skipped = skipped.len() + log.unreadable.iter().filter(|u| u.is_some()).count();
    summary.inputs_with_problems = log.count.iter().filter(|&&n| n > 0).count();
    summary.problems = problems;
    summary.events = acc.iter().map(|a| a.events).sum();
    summary.bytes = total_bytes;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.rules_run = engine.rules.len() - unmapped.len();
    summary.rules_not_loaded = set.errors.len();
    summary.rules_filtered = filtered;
    summary.rules_unmapped = unmapped.len();
    summary.correlations = correlations.len() - broken.len();
    summary.rules_fired = rules_fired.len();
    summary.hosts = hosts.len();
    summary.first = first.map(time::format);
    summary.last = last.map(time::format);

    if let Some(path) = &args.coverage {
        let mut cov_inputs: Vec<InputCoverage> = Vec::new();
        for s in &skipped {
            cov_inputs.push(InputCoverage {
                path: s.path.clone(),
                skipped: Some(s.reason.clone()),
                ..InputCoverage::default()
            });
        }
        for (i, input) in inputs.iter().enumerate() {
            let a = &acc[i];
            cov_inputs.push(InputCoverage {
                path: input.display.clone(),
                format: input.format.as_str().to_string(),
                compression: input.compression.as_str().to_string(),
                events: a.events,
                first_event: a.first.map(time::format),
                last_event: a.last.map(time::format),
                channels: a.channels.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                problems: log.count[i],
                problem_samples: log.samples[i].clone(),
                skipped: log.unreadable[i].clone(),
            });
        }
        for (ri, r) in engine.rules.iter().enumerate() {
            let checked: u64 = r.buckets.iter().map(|&b| bucket_events[b as usize]).sum();
            let (state, reason) = match unmapped_set.get(&ri) {
                Some(reason) => (RuleState::Unmapped, Some(reason.clone())),
                None => (RuleState::Run, None),
            };
            coverage_rules.push(RuleCoverage {
                logsource_seen: checked > 0,
                events_checked: checked,
                fired: fired[ri],
                ..coverage_row(
                    &r.meta,
                    &r.origin.path,
                    r.logsource.to_string(),
                    state,
                    reason,
                )
            });
        }
        for (ci, c) in correlations.iter().enumerate() {
            let inputs_fired: u64 = correlator
                .sources(ci as u32)
                .iter()
                .map(|s| match s {
                    Source::Rule(r) => fired[*r as usize],
                    Source::Correlation(x) => corr_fired[*x as usize],
                })
                .sum();
            let problem = corr_problems
                .iter()
                .find(|(i, _)| *i == ci)
                .map(|(_, r)| r.clone());
            let state = if problem.is_some() {
                RuleState::NotLoaded
            } else {
                RuleState::Run
            };
            coverage_rules.push(RuleCoverage {
                logsource_seen: inputs_fired > 0,
                events_checked: inputs_fired,
                fired: corr_fired[ci],
                ..coverage_row(
                    &c.meta,
                    &c.origin.path,
                    format!("correlation: {}", c.kind.as_str()),
                    state,
                    problem,
                )
            });
        }
        coverage_rules.sort_by(|a, b| a.path.cmp(&b.path).then(a.id.cmp(&b.id)));
        let cov = Coverage {
            version: 1,
            inputs: cov_inputs,
            rules: coverage_rules,
        };
        let written = std::fs::File::create(path).and_then(|f| cov.write(f));
        if let Err(e) = written {
            return fail(&format!("cannot write coverage {}: {e}", path.display()));
        }
    }

    if let Some(c) = collector {
        let incident_out = match mode {
            Mode::Investigate { format, .. } => out.take().map(|o| {
                (
                    match format {
                        Some(f) => f,
                        None if stdout_tty && output.is_none() => IncidentFormat::Table,
                        None => IncidentFormat::Json,
                    },
                    o,
                )
            }),
            Mode::Hunt { .. } => None,
        };
        let rules: Vec<dwell_investigate::incident::RuleInfo> =
            views.iter().map(crate::investigate::rule_info).collect();
        if let Err(e) = c.finish(rules, logons, &names, incident_out, color_out) {
            return fail(&e);
        }
    }

    let _ = summary.print(&mut io::stderr().lock(), color_err);
    if partial { EXIT_PARTIAL } else { EXIT_OK }
}

/// Feeds one detection to the correlations and appends to `out` what is written for it:
/// the detection itself (unless it only serves correlations), then any correlation it
/// completed.
fn correlate(
    d: Detection,
    correlator: &mut Correlator,
    base: u32,
    input_only: &HashSet<u32>,
    corr_fired: &mut [u64],
    out: &mut Vec<Detection>,
) {
    let mut firings = Vec::new();
    if let Some(t) = d.timestamp {
        let lookup = |name: &str| {
            d.captured
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_deref())
        };
        correlator.push(
            Member {
                source: Source::Rule(d.rule),
                time: t,
                input: d.input,
                record: d.record,
            },
            &lookup,
            &mut firings,
        );
    }
    let shown = !correlator.hidden(d.rule) && !input_only.contains(&d.rule);
    let (input, record) = (d.input, d.record);
    // Copied only when a correlation fired, not for every detection.
    let (channel, trigger_computer) = if firings.is_empty() {
        (String::new(), String::new())
    } else {
        (d.channel.clone(), d.computer.clone())
    };
    if shown {
        out.push(d);
    }
    for f in firings {
        corr_fired[f.correlation as usize] += 1;
        let computer = f
            .group
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Computer"))
            .and_then(|(_, v)| v.clone())
            .unwrap_or_else(|| trigger_computer.clone());
        out.push(Detection {
            timestamp: Some(f.end),
            rule: base + f.correlation,
            input,
            record,
            computer,
            channel: channel.clone(),
            event_id: None,
            provider: String::new(),
            matched: f
                .group
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().unwrap_or_else(|| "(none)".into())))
                .collect(),
            event: "{}".into(),
            event_key: 0,
            captured: Vec::new(),
            correlation: Some(CorrelationDetail {
                start: f.start,
                end: f.end,
                group: f.group,
                value: f.value,
                members: f
                    .members
                    .iter()
                    .map(|m| MemberRef {
                        rule: match m.source {
                            Source::Rule(r) => r,
                            Source::Correlation(c) => base + c,
                        },
                        time: m.time,
                        input: m.input,
                        record: m.record,
                    })
                    .collect(),
                more_members: f.more_members,
            }),
        });
    }
}

/// A coverage row for a rule or correlation, from its descriptive fields.
fn coverage_row(
    meta: &dwell_sigma::Meta,
    path: &str,
    logsource: String,
    state: RuleState,
    reason: Option<String>,
) -> RuleCoverage {
    RuleCoverage {
        id: meta.id.clone(),
        title: Some(meta.title.clone()),
        path: path.to_string(),
        level: meta.level.map(|l| l.as_str().to_string()),
        status: meta.status.map(|s| s.as_str().to_string()),
        logsource,
        state,
        reason,
        logsource_seen: false,
        events_checked: 0,
        fired: 0,
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

#[allow(clippy::too_many_arguments)]
fn worker(
    engine: &Engine,
    inputs: &[Input],
    needs: &[Option<Vec<String>>],
    investigating: bool,
    batches: crossbeam_channel::Receiver<Batch>,
    dets: crossbeam_channel::Sender<Vec<Detection>>,
    report_problem: &(dyn Fn(Problem) + Sync),
    events_done: &AtomicU64,
) -> WorkerOut {
    let mut decoder = Decoder::default();
    decoder.keep_paths(engine.needs_paths());
    let mut sc = engine.scratch();
    let mut hits = Vec::new();
    let mut acc = vec![InputAcc::default(); inputs.len()];
    let mut fired = vec![0u64; engine.rules.len()];
    let mut out: Vec<Detection> = Vec::new();
    let mut logons: Vec<Logon> = Vec::new();
    // A second event, parsed in full, for the events that hit when the first was trimmed.
    let mut full = Event::default();
    let mut full_scratch = dwell_ingest::json::Scratch::default();
    // The channel of the previous event, to skip a hash lookup on runs of one channel.
    let mut last_channel = String::new();
    for mut batch in batches {
        let input = batch.input();
        let a = &mut acc[input as usize];
        let mut n = 0u64;
        let mut run = 0u64;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decoder.decode_gated(
                &mut batch,
                Some(engine),
                &mut |ev: &Event, raw: &[u8]| {
                    // Lateral-movement evidence is read in full even when no rule wants it.
                    if investigating
                        && dwell_investigate::logon::wants(
                            ev.channel().unwrap_or(""),
                            ev.event_id(),
                        )
                    {
                        return Gate::All;
                    }
                    engine.gate(ev, raw)
                },
                &mut |ev: &Event, raw: &[u8]| {
                    n += 1;
                    let channel = ev.channel().unwrap_or("(none)");
                    if channel == last_channel {
                        run += 1;
                    } else {
                        if run > 0 {
                            *a.channels.entry(last_channel.clone()).or_default() += run;
                        }
                        last_channel.clear();
                        last_channel.push_str(channel);
                        run = 1;
                    }
                    if let Some(t) = ev.timestamp {
                        a.first = min_opt(a.first, Some(t));
                        a.last = max_opt(a.last, Some(t));
                    }
                    if ev.partial {
                        return;
                    }
                    if investigating
                        && let Some(t) = ev.timestamp
                        && let Some(l) = dwell_investigate::logon::extract(
                            ev.channel().unwrap_or(""),
                            ev.event_id(),
                            ev.computer().unwrap_or(""),
                            t,
                            (input, ev.record_id.unwrap_or(ev.line)),
                            &|k| ev.get_ci(k),
                        )
                    {
                        logons.push(l);
                    }
                    engine.scan(ev, &mut sc, &mut hits);
                    if hits.is_empty() {
                        return;
                    }
                    let hits = std::mem::take(&mut hits);
                    // Output shows the whole event: parse a trimmed one again, in full (the
                    // same bytes parsed once already, so this does not fail; if it did, the
                    // trimmed event would still be reported).
                    full.clear();
                    let ev = if ev.trimmed
                        && dwell_ingest::json::flatten(raw, &mut full, &mut full_scratch).is_ok()
                    {
                        full.timestamp = ev.timestamp;
                        full.record_id = ev.record_id;
                        full.line = ev.line;
                        &full
                    } else {
                        ev
                    };
                    detections(
                        engine, needs, ev, &hits, input, &mut sc, &mut fired, &mut out,
                    );
                },
                &mut |p| report_problem(p),
            );
        }));
        if outcome.is_err() {
            // A bug must cost this part of the file, reported, not the whole hunt.
            report_problem(Problem {
                input,
                place: "a batch of records".into(),
                reason: "internal error while reading it (please report it); the rest of the input is still read"
                    .into(),
            });
            decoder = Decoder::default();
            decoder.keep_paths(engine.needs_paths());
            let seen = std::mem::take(&mut sc.bucket_events);
            sc = engine.scratch();
            sc.bucket_events = seen;
            full_scratch = dwell_ingest::json::Scratch::default();
        }
        if run > 0 {
            *a.channels.entry(last_channel.clone()).or_default() += run;
        }
        last_channel.clear();
        a.events += n;
        events_done.fetch_add(n, Ordering::Relaxed);
        if !out.is_empty() && dets.send(std::mem::take(&mut out)).is_err() {
            break;
        }
    }
    WorkerOut {
        inputs: acc,
        logons,
        fired,
        bucket_events: std::mem::take(&mut sc.bucket_events),
    }
}

#[allow(clippy::too_many_arguments)]
fn detections(
    engine: &Engine,
    needs: &[Option<Vec<String>>],
    ev: &Event,
    hits: &[u32],
    input: u32,
    sc: &mut Scratch,
    fired: &mut [u64],
    out: &mut Vec<Detection>,
) {
    let computer = ev.computer().unwrap_or("").to_string();
    let channel = ev.channel().unwrap_or("").to_string();
    let event = ev.to_json_object();
    let record_number = ev.get("EventRecordID").map(str::to_string);
    let mut h = std::hash::DefaultHasher::new();
    match (&record_number, ev.record_id) {
        (Some(r), _) => (&computer, &channel, r, ev.timestamp).hash(&mut h),
        (None, Some(r)) => (&computer, &channel, r, ev.timestamp).hash(&mut h),
        (None, None) => (&event, ev.timestamp).hash(&mut h),
    }
    let event_key = h.finish();
    for &r in hits {
        fired[r as usize] += 1;
        out.push(Detection {
            timestamp: ev.timestamp,
            rule: r,
            input,
            record: ev.record_id.unwrap_or(ev.line),
            computer: computer.clone(),
            channel: channel.clone(),
            event_id: ev.event_id(),
            provider: ev.provider().unwrap_or("").to_string(),
            matched: engine.explain(r, ev, sc),
            event: event.clone(),
            event_key,
            captured: needs[r as usize]
                .iter()
                .flatten()
                .map(|f| (f.clone(), ev.get_ci(f).map(str::to_string)))
                .collect(),
            correlation: None,
        });
    }
}

/// What the writers need to know about a detection or correlation rule.
fn rule_view(meta: &dwell_sigma::Meta, path: &str, correlation: Option<&str>) -> RuleView {
    RuleView {
        id: meta.id.clone().unwrap_or_default(),
        title: meta.title.clone(),
        level: meta.level,
        status: meta.status.map_or("", |s| s.as_str()).to_string(),
        tags: meta.tags.clone(),
        path: path.to_string(),
        correlation: correlation.map(str::to_string),
    }
}
