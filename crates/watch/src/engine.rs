//! The detector's loop: chunks from every source through the one pipeline ([`Live`]), alerts
//! to every sink, then a commit: sinks synced, then one checkpoint with the inputs, the file
//! positions, the sink marks, the ledger and the detector's state; only then are the sources
//! that wait told their records are durable. A crash between a delivery and its commit replays
//! the same input into the same state, so the same alerts are made again, and a sink that
//! honours the alert id (a JSONL file, cut back to its mark) holds each once.

use crate::checkpoint::{Checkpoint, StateDir};
use crate::chunk::{Accepted, Ack, Chunk};
use crate::metrics::{Ledger, Metrics, lock};
use crate::sinks::{Alert, AlertSink};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use dwell_core::InputId;
use dwell_detect::{Detection, Detector};
use dwell_ingest::{Batch, Compression, InputInfo, Registry, Unit};
use dwell_pipeline::Live;
use dwell_report::{Format, Writer};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Problems printed per input before they are only counted.
const SHOWN_PROBLEMS: u64 = 20;

/// Builds a fresh detector from the rules, for a reload; `Err` keeps the working one.
pub type Reload = Box<dyn FnMut() -> Result<Detector, String> + Send>;

/// The detector's loop and what it commits.
pub struct Engine {
    live: Live,
    writer: Writer<Vec<u8>>,
    keys: HashMap<String, u32>,
    cp: Checkpoint,
    sinks: Vec<Box<dyn AlertSink>>,
    state: StateDir,
    metrics: Arc<Metrics>,
    registry: Registry,
    /// Drops already folded into the ledger.
    drops_counted: u64,
    problems_shown: HashMap<u32, u64>,
    /// How often to commit when no source waits for one.
    pub commit_every: Duration,
}

impl Engine {
    /// An engine resuming from `cp` (the last commit, or empty).
    pub fn new(
        detector: Detector,
        registry: Registry,
        cp: Checkpoint,
        sinks: Vec<Box<dyn AlertSink>>,
        state: StateDir,
        metrics: Arc<Metrics>,
    ) -> Result<Engine, String> {
        let mut e = Engine {
            live: Live::new(detector),
            writer: Writer::new(Format::Jsonl, Vec::new(), false, 0),
            keys: HashMap::new(),
            cp: Checkpoint::default(),
            sinks,
            state,
            metrics,
            registry,
            drops_counted: 0,
            problems_shown: HashMap::new(),
            commit_every: Duration::from_millis(200),
        };
        for (key, format) in &cp.inputs {
            e.add_input(key, format);
        }
        if !cp.detector.is_empty() {
            e.live.restore(&cp.detector).map_err(|x| x.to_string())?;
        }
        *lock(&e.metrics.ledger) = cp.ledger.clone();
        e.cp = cp;
        Ok(e)
    }

    fn add_input(&mut self, key: &str, format: &str) -> u32 {
        let display = key.strip_prefix("file:").unwrap_or(key).to_string();
        let i = self.live.add_input(InputInfo {
            id: InputId::of("watch", key),
            display,
            size: None,
            format: self.registry.get(format).cloned(),
            compression: Compression::None,
        });
        self.keys.insert(key.to_string(), i);
        i
    }

    /// Swaps in a new rule set, keeping the windows and baselines of what did not change.
    pub fn reload(&mut self, detector: Detector) -> Result<(), String> {
        let state = self.live.save();
        let mut live = Live::new(detector);
        for (key, format) in &self.cp.inputs {
            let display = key.strip_prefix("file:").unwrap_or(key).to_string();
            live.add_input(InputInfo {
                id: InputId::of("watch", key),
                display,
                size: None,
                format: self.registry.get(format).cloned(),
                compression: Compression::None,
            });
        }
        live.restore(&state).map_err(|e| e.to_string())?;
        self.live = live;
        Ok(())
    }

    /// Runs until every source has gone, or `stop` and what was queued is done; `reload_flag`
    /// asks for the rules to be read again.
    pub fn run(
        &mut self,
        rx: Receiver<Chunk>,
        stop: &AtomicBool,
        reload_flag: &AtomicBool,
        reloader: &mut Reload,
    ) -> Result<(), String> {
        let mut dirty = false;
        let mut last_commit = Instant::now();
        let mut acks: Vec<(Ack, Accepted)> = Vec::new();
        self.metrics.healthy.store(true, Ordering::Relaxed);
        loop {
            if reload_flag.swap(false, Ordering::Relaxed) {
                match reloader().and_then(|d| self.reload(d)) {
                    Ok(()) => {
                        self.metrics.reloads.fetch_add(1, Ordering::Relaxed);
                        eprintln!("dwell watch: rules reloaded");
                    }
                    Err(e) => {
                        self.metrics.reloads_refused.fetch_add(1, Ordering::Relaxed);
                        eprintln!("dwell watch: rules not reloaded, the working set is kept: {e}");
                    }
                }
            }
            let first = match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(c) => Some(c),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            // Draining: what the sources handed over is taken, then the last commit.
            if first.is_none() && stop.load(Ordering::Relaxed) && rx.is_empty() {
                break;
            }
            let mut chunks: Vec<Chunk> = first.into_iter().collect();
            while chunks.len() < 256 {
                match rx.try_recv() {
                    Ok(c) => chunks.push(c),
                    Err(_) => break,
                }
            }
            self.metrics
                .queued
                .store(rx.len() as u64, Ordering::Relaxed);
            if !chunks.is_empty() {
                let mut alerts = Vec::new();
                let mut arrivals = Vec::new();
                for c in chunks {
                    let arrived = c.arrived;
                    let before = alerts.len();
                    if let Some((ack, acc)) = self.chunk(c, &mut alerts) {
                        acks.push((ack, acc));
                    }
                    arrivals.extend(std::iter::repeat_n(arrived, alerts.len() - before));
                }
                self.deliver(&alerts)?;
                for a in &arrivals {
                    self.metrics.latency(a.elapsed().as_secs_f64());
                }
                dirty = true;
            }
            if dirty && (!acks.is_empty() || last_commit.elapsed() >= self.commit_every) {
                self.commit()?;
                for (ack, acc) in acks.drain(..) {
                    let _ = ack.send(acc);
                }
                dirty = false;
                last_commit = Instant::now();
            }
        }
        self.metrics.healthy.store(false, Ordering::Relaxed);
        self.commit()?;
        for (ack, acc) in acks.drain(..) {
            let _ = ack.send(acc);
        }
        Ok(())
    }

    /// One chunk through the pipeline; its alerts are appended.
    fn chunk(&mut self, c: Chunk, alerts: &mut Vec<Alert>) -> Option<(Ack, Accepted)> {
        let input = match self.keys.get(&c.key) {
            Some(i) => *i,
            None => {
                self.cp
                    .inputs
                    .push((c.key.clone(), c.format.name().to_string()));
                self.add_input(&c.key, c.format.name())
            }
        };
        if let Some(m) = &c.file {
            let id = (m.pos.dev, m.pos.ino);
            if m.closed {
                self.cp.files.remove(&id);
            } else {
                self.cp.files.insert(id, m.clone());
            }
        }
        let records = c.pieces.len() as u64;
        let mut acc = Accepted::default();
        if records > 0 {
            let batch = Batch {
                input,
                format: c.format.clone(),
                unit: Unit::Records {
                    text: c.text,
                    pieces: c.pieces,
                    unit: c.unit,
                    header: None,
                },
            };
            let mut dets: Vec<Detection> = Vec::new();
            let step = self.live.step(&batch, &mut dets);
            let rejected = records.saturating_sub(step.events);
            {
                let mut l = lock(&self.metrics.ledger);
                l.records += records;
                l.matched += step.matched;
                l.unmatched += step.events - step.matched;
                l.rejected += rejected;
                self.cp.ledger = l.clone();
            }
            *lock(&self.metrics.by_source)
                .entry(c.key.clone())
                .or_default() += records;
            acc.events = step.events;
            acc.rejected = rejected;
            for p in &step.problems {
                if acc.problems.len() < 10 {
                    acc.problems.push(format!("{}: {}", p.place, p.reason));
                }
                let n = self.problems_shown.entry(p.input).or_default();
                *n += 1;
                if *n <= SHOWN_PROBLEMS {
                    eprintln!("dwell watch: {}: {}: {}", c.key, p.place, p.reason);
                } else if *n == SHOWN_PROBLEMS + 1 {
                    eprintln!(
                        "dwell watch: {}: more problems, only counted (/metrics)",
                        c.key
                    );
                }
            }
            self.alerts(&dets, alerts);
        }
        c.ack.map(|a| (a, acc))
    }

    fn alerts(&mut self, dets: &[Detection], out: &mut Vec<Alert>) {
        if dets.is_empty() {
            return;
        }
        let names = self.live.inputs().names();
        let rules = self.live.rules();
        for d in dets {
            self.writer.out_mut().clear();
            if self.writer.write(d, rules, &names).is_err() {
                continue;
            }
            let mut line = String::from_utf8_lossy(self.writer.out_mut()).into_owned();
            while line.ends_with('\n') {
                line.pop();
            }
            let r = &rules[d.rule as usize];
            let time = serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v["timestamp"].as_str().map(str::to_string))
                .unwrap_or_default();
            *lock(&self.metrics.detections)
                .entry((r.title.clone(), r.level_str().to_string()))
                .or_default() += 1;
            out.push(Alert {
                id: d.alert_id(dwell_report::rule_key(r)).to_string(),
                line,
                title: r.title.clone(),
                level: r.level_str().to_string(),
                host: d.host.clone(),
                time,
            });
        }
    }

    fn deliver(&mut self, alerts: &[Alert]) -> Result<(), String> {
        if alerts.is_empty() {
            return Ok(());
        }
        for s in &mut self.sinks {
            s.deliver(alerts)?;
        }
        Ok(())
    }

    /// Sinks made durable, then the checkpoint; then sinks may rotate.
    fn commit(&mut self) -> Result<(), String> {
        let drops: u64 = lock(&self.metrics.drops).values().sum();
        let new = drops - self.drops_counted.min(drops);
        if new > 0 {
            let mut l = lock(&self.metrics.ledger);
            l.records += new;
            l.dropped += new;
            self.cp.ledger = l.clone();
            self.drops_counted = drops;
        }
        for s in &mut self.sinks {
            s.sync().map_err(|e| format!("{}: {e}", s.name()))?;
            self.cp.sinks.insert(s.name().to_string(), s.mark());
        }
        self.cp.generation += 1;
        self.cp.detector = self.live.save();
        self.state.commit(&self.cp).map_err(|e| {
            format!(
                "{}: checkpoint not written: {e}",
                self.state.path().display()
            )
        })?;
        self.metrics.commits.fetch_add(1, Ordering::Relaxed);
        for s in &mut self.sinks {
            s.committed().map_err(|e| format!("{}: {e}", s.name()))?;
        }
        Ok(())
    }

    /// The ledger as committed.
    pub fn ledger(&self) -> Ledger {
        self.cp.ledger.clone()
    }
}
