//! A run: the scan phase fills the ordering, then the output stages drain it into the sinks.
//! The same run serves `hunt`, `investigate` and (with a streaming ordering) `watch`.

use crate::error::PipelineError;
use crate::monitor::{Monitor, Quiet};
use crate::order::Ordering;
use crate::output::{Correlate, Dedup, Deliver, Flow};
use crate::problems::ProblemLog;
use crate::scan::{ScanCx, Scanned, scan};
use crate::sink::{InputTable, Sink, Tables};
use crate::stats::{DetectionStats, RunStats};
use crossbeam_channel::{Sender, bounded};
use dwell_core::Observer;
use dwell_detect::{Detection, Detector};
use dwell_ingest::Source;

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads (at least one).
    pub threads: usize,
    /// Drop detections of events seen twice (a live log and its backup).
    pub dedup: bool,
    /// Read, count and route every event to the rules of its log source, but evaluate none:
    /// what the inputs contain and which rules would see them, at the speed of parsing.
    pub parse_only: bool,
    /// Only events in this window are evaluated (`--from`/`--to`); the rest are counted.
    pub window: Window,
}

/// A time window, either end open; an event without a time is outside any window that has
/// an end, since it cannot be placed in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// From (inclusive), nanoseconds since the epoch.
    pub from: Option<i64>,
    /// To (inclusive).
    pub to: Option<i64>,
}

impl Window {
    /// Whether an event at `t` is evaluated.
    pub fn admits(&self, t: Option<i64>) -> bool {
        match t {
            _ if self.from.is_none() && self.to.is_none() => true,
            None => false,
            Some(t) => self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|to| t <= to),
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            dedup: false,
            parse_only: false,
            window: Window::default(),
        }
    }
}

/// The pipeline: compiled rules, settings, and whoever watches or observes.
pub struct Pipeline<'a> {
    detector: &'a mut Detector,
    options: Options,
    observers: Vec<&'a dyn Observer>,
    monitor: &'a dyn Monitor,
}

/// Detections per batch between the output stages.
const BATCH: usize = 1024;

impl<'a> Pipeline<'a> {
    /// A pipeline running `detector`'s rules.
    pub fn new(detector: &'a mut Detector, options: Options) -> Pipeline<'a> {
        Pipeline {
            detector,
            options,
            observers: Vec::new(),
            monitor: &Quiet,
        }
    }

    /// Shows every decoded event to `observer` too.
    pub fn observe(mut self, observer: &'a dyn Observer) -> Self {
        self.observers.push(observer);
        self
    }

    /// Reports problems and progress to `monitor` as they happen.
    pub fn monitor(mut self, monitor: &'a dyn Monitor) -> Self {
        self.monitor = monitor;
        self
    }

    /// Reads `source` to its end: every event through the rules, the detections through
    /// `ordering` and the correlations, then to every sink in turn.
    pub fn run(
        &mut self,
        source: &mut dyn Source,
        mut ordering: Box<dyn Ordering>,
        sinks: &mut [&mut dyn Sink],
    ) -> Result<RunStats, PipelineError> {
        let threads = self.options.threads.max(1);
        let inputs = InputTable::new(source.inputs());
        let log = ProblemLog::new(&inputs, self.monitor);
        let detector: &Detector = self.detector;
        // While scanning, detections go to the ordering; what it releases early (a streaming
        // ordering does) is held for the output stages, which start when scanning ends.
        let mut early: Vec<Detection> = Vec::new();
        let mut order_error = None;
        let monitor = self.monitor;
        let sx = ScanCx {
            detector,
            observers: &self.observers,
            inputs: &inputs,
            log: &log,
            threads,
            parse_only: self.options.parse_only,
            window: self.options.window,
        };
        let scanned = scan(
            &sx,
            source,
            &mut |dets| {
                for d in dets {
                    if order_error.is_none()
                        && let Err(e) = ordering.push(d)
                    {
                        order_error = Some(e);
                    }
                }
                ordering.ready(&mut early);
            },
            &mut |bytes, events| monitor.progress(bytes, events),
        );
        if let Some(e) = order_error {
            return Err(PipelineError::Ordering(e));
        }
        let late_ordering = ordering.late();
        let ordered = ordering.finish().map_err(PipelineError::Ordering)?;
        let mut stats = self.tally(scanned, log, &inputs);
        stats.late_ordering = late_ordering;
        stats.threads = threads;
        let rules = self.detector.table.clone();
        let tables = Tables {
            rules: &rules,
            inputs: &inputs,
        };
        let Detector {
            correlator,
            input_only,
            novelty,
            ..
        } = &mut *self.detector;
        let base = rules.len() as u32 - correlator_count(&rules);
        let mut correlate = Correlate {
            correlator,
            novelty,
            input_only,
            base,
            fired: vec![0; correlator_count(&rules) as usize],
        };
        let dedup = self.options.dedup;
        let outcome =
            std::thread::scope(|s| -> Result<(u64, DetectionStats, usize), PipelineError> {
                let (tx, rx) = bounded::<Flow>(16);
                let rx = if correlate.correlator.is_empty() && correlate.novelty.is_empty() {
                    rx
                } else {
                    let (ctx, crx) = bounded::<Flow>(16);
                    let c = &mut correlate;
                    std::thread::Builder::new()
                        .name("dwell-correlate".into())
                        .spawn_scoped(s, move || c.run(rx, ctx))
                        .map_err(PipelineError::Thread)?;
                    crx
                };
                let tables = &tables;
                let writer = std::thread::Builder::new()
                    .name("dwell-sinks".into())
                    .spawn_scoped(s, move || {
                        let mut deliver = Deliver::new(sinks, tables);
                        deliver.run(rx)?;
                        let closed = deliver.closed.iter().filter(|c| **c).count();
                        Ok((deliver.stats, closed))
                    })
                    .map_err(PipelineError::Thread)?;
                let dropped = feed(early, ordered, dedup, tx);
                match writer.join() {
                    Ok(Ok((d, closed))) => Ok((dropped, d, closed)),
                    Ok(Err(e)) => Err(e),
                    Err(_) => Err(PipelineError::Sink("a sink failed (internal error)".into())),
                }
            });
        let (dropped, detections, closed) = outcome?;
        stats.duplicates_dropped = dropped;
        stats.detections = detections;
        stats.closed_sinks = closed;
        for (i, n) in correlate.fired.iter().enumerate() {
            stats.fired[base as usize + i] = *n;
        }
        stats.late_correlation = correlate.correlator.stats().late;
        stats.novelty = correlate.novelty.stats;
        stats.inputs = inputs.snapshot();
        Ok(stats)
    }

    /// Merges the workers' counters.
    fn tally(&self, scanned: Scanned, log: ProblemLog<'_>, inputs: &InputTable) -> RunStats {
        let engine = &self.detector.engine;
        let mut per_input = log.stats.into_inner().unwrap_or_else(|e| e.into_inner());
        per_input.resize(inputs.len(), Default::default());
        let mut fired = vec![0u64; self.detector.table.len()];
        let mut bucket_events = vec![0u64; engine.bucket_count()];
        for w in scanned.workers {
            for (a, b) in per_input.iter_mut().zip(w.inputs) {
                a.events += b.events;
                a.outside += b.outside;
                a.first = [a.first, b.first].into_iter().flatten().min();
                a.last = [a.last, b.last].into_iter().flatten().max();
                for (k, v) in b.streams {
                    *a.streams.entry(k).or_default() += v;
                }
            }
            for (a, b) in fired.iter_mut().zip(w.fired) {
                *a += b;
            }
            for (a, b) in bucket_events.iter_mut().zip(w.bucket_events) {
                *a += b;
            }
        }
        let checked = (0..engine.rules.len() as u32)
            .map(|r| {
                engine
                    .rule_buckets(r)
                    .iter()
                    .map(|&b| bucket_events[b as usize])
                    .sum()
            })
            .collect();
        RunStats {
            per_input,
            fired,
            checked,
            bytes: scanned.bytes,
            events: scanned.events,
            parse_only: self.options.parse_only,
            ..RunStats::default()
        }
    }
}

/// How many of the table's rules are correlations.
fn correlator_count(rules: &[dwell_detect::RuleInfo]) -> u32 {
    rules.iter().filter(|r| r.correlation().is_some()).count() as u32
}

/// Sends what the ordering released early, then the rest in order, in batches, dropping
/// duplicates; returns how many were dropped. Stops when the next stage has gone.
fn feed(
    early: Vec<Detection>,
    ordered: crate::order::Ordered,
    dedup: bool,
    tx: Sender<Flow>,
) -> u64 {
    let mut dd = Dedup::default();
    let mut batch: Vec<Detection> = Vec::with_capacity(BATCH);
    let all = early.into_iter().map(Ok).chain(ordered);
    for d in all {
        let d = match d {
            Ok(d) => d,
            Err(e) => {
                let _ = tx.send(Err(e));
                return dd.dropped;
            }
        };
        if dedup && !dd.keep(&d) {
            continue;
        }
        batch.push(d);
        if batch.len() >= BATCH && tx.send(Ok(std::mem::take(&mut batch))).is_err() {
            return dd.dropped;
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Ok(batch));
    }
    dd.dropped
}
