//! The detector's loop: chunks from every source through the one pipeline ([`Live`]), alerts
//! to every sink, then a commit: sinks synced, then one checkpoint with the inputs, the file
//! positions, the sink marks, the ledger and the detector's state; only then are the sources
//! that wait told their records are durable. A crash between a delivery and its commit replays
//! the same input into the same state, so the same alerts are made again, and a sink that
//! honours the alert id (a JSONL file, cut back to its mark) holds each once.

use crate::checkpoint::{Checkpoint, Store};
use crate::chunk::{Accepted, Ack, Chunk};
use crate::matches::Router;
use crate::metrics::{Ledger, Metrics, lock};
use crate::sinks::{Alert, AlertSink};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use dwell_core::InputId;
use dwell_core::text::terminal;
use dwell_detect::{Detection, Detector};
use dwell_ingest::{Batch, Compression, InputInfo, Registry, Unit};
use dwell_pipeline::Live;
use dwell_report::{Format, Writer};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Problems printed per input before they are only counted.
const SHOWN_PROBLEMS: u64 = 20;

/// Builds a detector from the rules: for a reload (an `Err` keeps the working one), and for
/// each NATS partition a worker takes.
pub type Reload = Arc<dyn Fn() -> Result<Detector, String> + Send + Sync>;

/// The detector's loop and what it commits.
pub struct Engine {
    live: Live,
    writer: Writer<Vec<u8>>,
    keys: HashMap<String, u32>,
    cp: Checkpoint,
    sinks: Vec<Box<dyn AlertSink>>,
    store: Box<dyn Store>,
    metrics: Arc<Metrics>,
    registry: Registry,
    /// Drops already folded into the ledger.
    drops_counted: u64,
    problems_shown: HashMap<u32, u64>,
    /// How often to commit when no source waits for one.
    pub commit_every: Duration,
    /// Its name in the metrics (`local`, `p3`).
    name: String,
    /// With a router, the detections of stateful rules are sent to it rather than
    /// correlated here (NATS scale-out: they go to the partition holding their component).
    router: Option<Box<dyn Router>>,
    stateful: HashMap<u32, String>,
    outbox: Vec<(String, Vec<u8>, String)>,
    stage2: Stage2,
    /// `--forward`: records go to a NATS stream instead of the rules.
    forward: Option<Forwarding>,
}

struct Forwarding {
    spec: crate::forward::Forward,
    decoder: dwell_ingest::Decoder,
    publisher: crate::nats::Publisher,
    outbox: Vec<(String, Vec<u8>, String)>,
}

/// What a NATS partition holds for the correlations of its components: matches from every
/// partition wait until each partition has said it read past their time (the watermark), and
/// are then correlated in time order, as `hunt` would; a partition that is behind (its worker
/// died, its lease has not moved yet) holds them back rather than letting them be judged out
/// of order.
#[derive(Default)]
struct Stage2 {
    /// This partition and how many there are; `None` outside NATS.
    at: Option<(u32, u32)>,
    held: Vec<(Option<i64>, u64, Vec<u8>)>,
    progress: BTreeMap<u32, (Option<i64>, bool)>,
    arrivals: u64,
    /// Events may be this much out of time order within a partition.
    lateness: i64,
    last_records: Option<Instant>,
    caught_up: bool,
    last_progress: Option<Instant>,
    /// What was told last: progress is told again only when it changed, so idle partitions
    /// add nothing to the stream.
    told: Option<(Option<i64>, bool)>,
}

/// What the run's input table says of input `key`: named by its path for a file.
fn input_info(registry: &Registry, key: &str, format: &str) -> InputInfo {
    InputInfo {
        id: InputId::of("watch", key),
        display: key.strip_prefix("file:").unwrap_or(key).to_string(),
        size: None,
        format: registry.get(format).cloned(),
        compression: Compression::None,
    }
}

/// How long a partition must have had nothing new before it says it is idle.
const IDLE_AFTER: Duration = Duration::from_secs(1);

impl Stage2 {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "held": self.held.iter().map(|(t, a, p)| serde_json::json!([t, a, String::from_utf8_lossy(p)])).collect::<Vec<_>>(),
            "progress": self.progress.iter().map(|(p, (t, i))| serde_json::json!([p, t, i])).collect::<Vec<_>>(),
            "arrivals": self.arrivals,
        })
    }

    fn restore(&mut self, v: &serde_json::Value) {
        for h in v["held"].as_array().into_iter().flatten() {
            if let (Some(a), Some(p)) = (h[1].as_u64(), h[2].as_str()) {
                self.held.push((h[0].as_i64(), a, p.as_bytes().to_vec()));
            }
        }
        for p in v["progress"].as_array().into_iter().flatten() {
            if let Some(n) = p[0].as_u64() {
                self.progress
                    .insert(n as u32, (p[1].as_i64(), p[2].as_bool().unwrap_or(false)));
            }
        }
        self.arrivals = v["arrivals"].as_u64().unwrap_or(0);
    }

    /// The time up to which every partition has been read, if there is one yet.
    fn watermark(&self) -> Option<i64> {
        let (_, n) = self.at?;
        if self.progress.len() < n as usize {
            return None;
        }
        let mut w = i64::MAX;
        for (t, idle) in self.progress.values() {
            if *idle {
                continue;
            }
            w = w.min((*t)?);
        }
        Some(w.saturating_sub(self.lateness))
    }

    /// The held matches now due, in time order.
    fn due(&mut self) -> Vec<Vec<u8>> {
        let w = self.watermark();
        let (mut ready, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|(t, _, _)| match (t, w) {
                (None, _) => true,
                (Some(t), Some(w)) => *t <= w,
                (Some(_), None) => false,
            });
        self.held = keep;
        ready.sort_by_key(|(t, a, _)| (t.unwrap_or(i64::MIN), *a));
        ready.into_iter().map(|(_, _, p)| p).collect()
    }
}

impl Engine {
    /// An engine resuming from `cp` (the last commit, or empty).
    pub fn new(
        detector: Detector,
        registry: Registry,
        cp: Checkpoint,
        sinks: Vec<Box<dyn AlertSink>>,
        store: Box<dyn Store>,
        metrics: Arc<Metrics>,
    ) -> Result<Engine, String> {
        let mut e = Engine {
            live: Live::new(detector),
            writer: Writer::new(Format::Jsonl, Vec::new(), false, 0),
            keys: HashMap::new(),
            cp: Checkpoint::default(),
            sinks,
            store,
            metrics,
            registry,
            drops_counted: 0,
            problems_shown: HashMap::new(),
            commit_every: Duration::from_millis(200),
            name: "local".into(),
            router: None,
            stateful: HashMap::new(),
            outbox: Vec::new(),
            stage2: Stage2::default(),
            forward: None,
        };
        for (key, format) in &cp.inputs {
            e.add_input(key, format);
        }
        if !cp.detector.is_empty() {
            e.live.restore(&cp.detector).map_err(|x| x.to_string())?;
        }
        e.stage2.restore(&cp.stage2);
        e.cp = cp;
        e.publish_ledger();
        Ok(e)
    }

    /// Names the engine in the metrics.
    pub fn named(mut self, name: &str) -> Engine {
        lock(&self.metrics.ledgers).remove(&self.name);
        self.name = name.to_string();
        self.publish_ledger();
        self
    }

    /// Sends the detections of stateful rules to `router` instead of correlating them here;
    /// this engine is partition `at` of `of`, and correlates the matches it is sent once
    /// every partition has read past them (less `lateness`).
    pub fn route(
        mut self,
        router: Box<dyn Router>,
        at: u32,
        of: u32,
        lateness: Duration,
    ) -> Engine {
        self.stateful = self.live.stateful();
        self.router = Some(router);
        self.stage2.at = Some((at, of));
        self.stage2.lateness = lateness.as_nanos().min(i64::MAX as u128) as i64;
        self
    }

    /// Hands records to a NATS stream (keyed by `spec`) instead of running the rules on them.
    pub fn forward(
        mut self,
        spec: crate::forward::Forward,
        publisher: crate::nats::Publisher,
    ) -> Engine {
        self.forward = Some(Forwarding {
            spec,
            decoder: dwell_ingest::Decoder::default(),
            publisher,
            outbox: Vec::new(),
        });
        self
    }

    /// Tells the other partitions how far this one has read.
    fn send_progress(&mut self) -> Result<(), String> {
        let Some((at, _)) = self.stage2.at else {
            return Ok(());
        };
        let Some(r) = &mut self.router else {
            return Ok(());
        };
        let idle = self.stage2.caught_up
            && self
                .stage2
                .last_records
                .is_none_or(|t| t.elapsed() >= IDLE_AFTER);
        let now = (self.live.latest(), idle);
        self.stage2.last_progress = Some(Instant::now());
        if self.stage2.told == Some(now) {
            return Ok(());
        }
        r.progress(at, now.0, now.1)?;
        self.stage2.told = Some(now);
        Ok(())
    }

    fn publish_ledger(&self) {
        lock(&self.metrics.ledgers).insert(self.name.clone(), self.cp.ledger.clone());
    }

    fn add_input(&mut self, key: &str, format: &str) -> u32 {
        let i = self.live.add_input(input_info(&self.registry, key, format));
        self.keys.insert(key.to_string(), i);
        i
    }

    /// Swaps in a new rule set, keeping the windows and baselines of what did not change.
    pub fn reload(&mut self, detector: Detector) -> Result<(), String> {
        let state = self.live.save();
        let mut live = Live::new(detector);
        for (key, format) in &self.cp.inputs {
            live.add_input(input_info(&self.registry, key, format));
        }
        live.restore(&state).map_err(|e| e.to_string())?;
        self.live = live;
        self.keys.clear();
        for (i, (key, _)) in self.cp.inputs.iter().enumerate() {
            self.keys.insert(key.clone(), i as u32);
        }
        if self.router.is_some() {
            self.stateful = self.live.stateful();
        }
        Ok(())
    }

    /// Runs until every source has gone, or `stop` and what was queued is done; `reload_flag`
    /// asks for the rules to be read again.
    pub fn run(
        &mut self,
        rx: Receiver<Chunk>,
        stop: &AtomicBool,
        reload_flag: &AtomicBool,
        reloader: &Reload,
    ) -> Result<(), String> {
        let mut dirty = false;
        let mut last_commit = Instant::now();
        let mut acks: Vec<(Ack, Accepted)> = Vec::new();
        let mut urgent = false;
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
                    urgent |= c.urgent;
                    let (arrived, published) = (c.arrived, c.published);
                    let before = alerts.len();
                    if let Some((ack, acc)) = self.chunk(c, &mut alerts) {
                        acks.push((ack, acc));
                    }
                    arrivals.extend(std::iter::repeat_n(
                        (arrived, published),
                        alerts.len() - before,
                    ));
                }
                self.deliver(&alerts)?;
                let now = crate::chunk::now_ns();
                for (arrived, published) in &arrivals {
                    let secs = match published {
                        Some(p) => (now - p).max(0) as f64 / 1e9,
                        None => arrived.elapsed().as_secs_f64(),
                    };
                    self.metrics.latency(secs);
                }
                dirty = true;
            }
            if (dirty || !acks.is_empty()) && (urgent || last_commit.elapsed() >= self.commit_every)
            {
                self.commit()?;
                for (ack, acc) in acks.drain(..) {
                    ack(acc);
                }
                dirty = false;
                urgent = false;
                last_commit = Instant::now();
            }
            // Progress is told only of what is committed, so that no partition is told a
            // time whose matches could still be made again differently.
            if !dirty
                && self.router.is_some()
                && self
                    .stage2
                    .last_progress
                    .is_none_or(|t| t.elapsed() >= self.commit_every)
            {
                self.send_progress()?;
            }
        }
        self.metrics.healthy.store(false, Ordering::Relaxed);
        if dirty || !acks.is_empty() {
            self.commit()?;
        }
        for (ack, acc) in acks.drain(..) {
            ack(acc);
        }
        Ok(())
    }

    /// One chunk through the pipeline; its alerts are appended.
    fn input_of(&mut self, key: &str, format: &str) -> u32 {
        match self.keys.get(key) {
            Some(i) => *i,
            None => {
                self.cp.inputs.push((key.to_string(), format.to_string()));
                self.add_input(key, format)
            }
        }
    }

    /// Detections sent here by other partitions, and their progress: held until every
    /// partition has read past them, then correlated with the state held here.
    fn matches(&mut self, payloads: &[Vec<u8>], alerts: &mut Vec<Alert>) {
        for p in payloads {
            let v: serde_json::Value = match serde_json::from_slice(p) {
                Ok(v) => v,
                Err(e) => {
                    eprintln!(
                        "dwell watch: {}: a message from another partition is not read: {e}",
                        self.name
                    );
                    continue;
                }
            };
            if let Some(from) = v.get("progress").and_then(|x| x.as_u64()) {
                let e = self
                    .stage2
                    .progress
                    .entry(from as u32)
                    .or_insert((None, false));
                // Times only move forward: a replay after a takeover repeats older ones.
                e.0 = match (e.0, v["time"].as_i64()) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
                e.1 = v["idle"].as_bool().unwrap_or(false);
                continue;
            }
            self.stage2.arrivals += 1;
            let a = self.stage2.arrivals;
            self.stage2.held.push((v["time"].as_i64(), a, p.clone()));
        }
        let due = self.stage2.due();
        let mut out = Vec::new();
        for p in &due {
            let r = match crate::matches::decode(p) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!(
                        "dwell watch: {}: a detection from another partition is not read: {e}",
                        self.name
                    );
                    continue;
                }
            };
            let Some(rule) = self.live.rule_index(&r.rule) else {
                eprintln!(
                    "dwell watch: {}: a detection of rule '{}', which is not loaded here (do all workers run the same rules?)",
                    self.name,
                    terminal(&r.rule)
                );
                continue;
            };
            let input = self.input_of(&r.input, &r.format);
            let mut d = r.detection;
            d.rule = rule;
            d.input = input;
            self.metrics.matches_in.fetch_add(1, Ordering::Relaxed);
            self.live.correlate(d, &mut out);
        }
        self.alerts(&out, alerts);
    }

    fn chunk(&mut self, c: Chunk, alerts: &mut Vec<Alert>) -> Option<(Ack, Accepted)> {
        if let Some(n) = c.pending {
            self.stage2.caught_up = n == 0;
        }
        if let Some(q) = c.seq {
            self.cp.seq = self.cp.seq.max(q);
        }
        if let Some(m) = &c.file {
            let id = (m.pos.dev, m.pos.ino);
            if m.closed {
                self.cp.files.remove(&id);
            } else {
                self.cp.files.insert(id, m.clone());
            }
        }
        if !c.matches.is_empty() {
            self.matches(&c.matches, alerts);
            return c.ack.map(|a| (a, Accepted::default()));
        }
        if c.pieces.is_empty() {
            return c.ack.map(|a| (a, Accepted::default()));
        }
        let input = self.input_of(&c.key, c.format.name());
        let records = c.pieces.len() as u64;
        let mut acc = Accepted::default();
        if records > 0 {
            self.stage2.last_records = Some(Instant::now());
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
            if let Some(fw) = &mut self.forward {
                let mut problems = Vec::new();
                let recs = crate::forward::records(
                    &fw.spec,
                    &mut fw.decoder,
                    &batch,
                    &c.key,
                    &mut problems,
                );
                let n = recs.len() as u64;
                fw.outbox.extend(recs);
                let l = &mut self.cp.ledger;
                l.records += records;
                l.forwarded += n;
                l.rejected += records.saturating_sub(n);
                *lock(&self.metrics.by_source)
                    .entry(c.key.clone())
                    .or_default() += records;
                for p in &problems {
                    eprintln!(
                        "dwell watch: {}",
                        terminal(&format!("{}: {}: {}", c.key, p.place, p.reason))
                    );
                }
                acc.events = n;
                acc.rejected = records.saturating_sub(n);
                return c.ack.map(|a| (a, acc));
            }
            let mut dets: Vec<Detection> = Vec::new();
            let step = if self.router.is_some() {
                let mut routed = Vec::new();
                let step = self
                    .live
                    .step_split(&batch, &self.stateful, &mut dets, &mut routed);
                let rules = self.live.rules();
                for d in routed {
                    let r = &rules[d.rule as usize];
                    let key = dwell_report::rule_key(r).to_string();
                    let id = format!("m.{}", d.alert_id(&key));
                    let payload = crate::matches::encode(&d, &key, &c.key, c.format.name());
                    self.outbox
                        .push((self.stateful[&d.rule].clone(), payload, id));
                }
                step
            } else {
                self.live.step(&batch, &mut dets)
            };
            let rejected = records.saturating_sub(step.events);
            {
                let l = &mut self.cp.ledger;
                l.records += records;
                l.matched += step.matched;
                l.unmatched += step.events - step.matched;
                l.rejected += rejected;
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
                    // Log text is written by whoever wrote the logs: made safe for a terminal.
                    eprintln!(
                        "dwell watch: {}",
                        terminal(&format!("{}: {}: {}", c.key, p.place, p.reason))
                    );
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
            let time = d.time.map(dwell_core::time::format).unwrap_or_default();
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
        if let Some(fw) = &mut self.forward
            && !fw.outbox.is_empty()
        {
            fw.publisher.publish(&fw.outbox)?;
            fw.outbox.clear();
        }
        if let Some(r) = &mut self.router
            && !self.outbox.is_empty()
        {
            r.route(&self.outbox)?;
            self.metrics
                .matches_out
                .fetch_add(self.outbox.len() as u64, Ordering::Relaxed);
            self.outbox.clear();
        }
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
            self.cp.ledger.records += new;
            self.cp.ledger.dropped += new;
            self.drops_counted = drops;
        }
        for s in &mut self.sinks {
            s.sync().map_err(|e| format!("{}: {e}", s.name()))?;
            self.cp.sinks.insert(s.name().to_string(), s.mark());
        }
        self.cp.generation += 1;
        self.cp.detector = self.live.save();
        if self.stage2.at.is_some() {
            self.cp.stage2 = self.stage2.to_json();
        }
        self.store.commit(&self.cp)?;
        self.publish_ledger();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn held(s: &mut Stage2, t: Option<i64>, tag: &str) {
        s.arrivals += 1;
        s.held.push((t, s.arrivals, tag.as_bytes().to_vec()));
    }

    fn due(s: &mut Stage2) -> Vec<String> {
        s.due()
            .into_iter()
            .map(|p| String::from_utf8(p).unwrap())
            .collect()
    }

    #[test]
    fn matches_wait_for_every_partition_and_leave_in_time_order() {
        let mut s = Stage2 {
            at: Some((0, 3)),
            ..Stage2::default()
        };
        held(&mut s, Some(30), "c");
        held(&mut s, Some(10), "a");
        held(&mut s, None, "undated");
        // Undated matches cannot wait for a time; the rest wait for all three partitions.
        assert_eq!(due(&mut s), ["undated"]);
        s.progress.insert(0, (Some(40), false));
        s.progress.insert(1, (Some(20), false));
        assert!(
            due(&mut s).is_empty(),
            "partition 2 has not said how far it read"
        );
        s.progress.insert(2, (None, false));
        assert!(due(&mut s).is_empty(), "partition 2 has read nothing yet");
        // An idle partition (caught up, nothing new) does not hold the others back.
        s.progress.insert(2, (None, true));
        assert_eq!(due(&mut s), ["a"]);
        held(&mut s, Some(15), "b");
        s.progress.insert(1, (Some(35), false));
        assert_eq!(due(&mut s), ["b", "c"]);
        // Lateness holds them that much longer.
        s.lateness = 10;
        held(&mut s, Some(30), "d");
        assert!(due(&mut s).is_empty());
        s.progress.insert(1, (Some(45), false));
        assert_eq!(due(&mut s), ["d"]);
        // What is held survives a checkpoint.
        held(&mut s, Some(99), "e");
        let mut back = Stage2 {
            at: Some((0, 3)),
            ..Stage2::default()
        };
        back.restore(&s.to_json());
        assert_eq!(back.held, s.held);
        assert_eq!(back.progress, s.progress);
    }
}
