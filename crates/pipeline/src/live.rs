//! A live run: the same decoding, rules, dwell extension and correlations as [`crate::Pipeline`],
//! fed one batch at a time as events arrive rather than read to the end, on the caller's
//! thread. Detections come out in arrival order, each batch's as soon as it is matched; the
//! state that outlives a batch (correlation windows, first-seen baselines) can be saved and
//! restored, so that a watcher can checkpoint it with its source positions.

use crate::monitor::Monitor;
use crate::output::Correlate;
use crate::problems::ProblemLog;
use crate::sink::{InputTable, Tables};
use crate::worker::{Parts, State, WorkerCx};
use dwell_core::Problem;
use dwell_detect::{Detection, Detector, RuleInfo, StateError};
use dwell_ingest::{Batch, InputInfo, ReadError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

/// A detector fed batch by batch.
pub struct Live {
    detector: Detector,
    inputs: InputTable,
    parts: Option<Parts>,
    /// Firings per correlation.
    fired_correlations: Vec<u64>,
    events: AtomicU64,
}

/// What one batch gave.
#[derive(Debug, Default)]
pub struct Step {
    /// Events decoded.
    pub events: u64,
    /// Events that matched at least one rule (before correlation).
    pub matched: u64,
    /// Records that could not be decoded, and other problems, with their place.
    pub problems: Vec<Problem>,
}

/// Collects the problems of one batch.
#[derive(Default)]
struct Gather(Mutex<Vec<Problem>>);

impl Monitor for Gather {
    fn problem(&self, _: &InputInfo, p: &Problem, _: u64) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(p.clone());
    }
    fn failed(&self, info: &InputInfo, e: &ReadError) {
        let _ = (info, e);
    }
}

const MAGIC: &[u8] = b"dwell-live-1\n";

impl Live {
    /// A live run of `detector`'s rules, with no input yet.
    pub fn new(detector: Detector) -> Live {
        let n = detector
            .table
            .iter()
            .filter(|r| r.correlation().is_some())
            .count();
        Live {
            parts: Some(Parts::new(&detector.engine, 0)),
            detector,
            inputs: InputTable::default(),
            fired_correlations: vec![0; n],
            events: AtomicU64::new(0),
        }
    }

    /// Adds an input (a followed file, a socket, a partition); batches name it by the index
    /// returned. Indexes are never reused, so a restart must add its inputs in the same order.
    pub fn add_input(&mut self, info: InputInfo) -> u32 {
        self.inputs.push(info)
    }

    /// The rule table detections index.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.detector.table
    }

    /// What sinks look detections up in.
    pub fn tables(&self) -> Tables<'_> {
        Tables {
            rules: &self.detector.table,
            inputs: &self.inputs,
        }
    }

    /// The inputs so far.
    pub fn inputs(&self) -> &InputTable {
        &self.inputs
    }

    /// The latest event time seen so far, over every input.
    pub fn latest(&self) -> Option<i64> {
        self.parts
            .as_ref()
            .and_then(|p| p.acc.iter().filter_map(|a| a.last).max())
    }

    /// Detections per rule so far (detection rules, then correlations).
    pub fn fired(&self) -> Vec<u64> {
        let mut f = self
            .parts
            .as_ref()
            .map(|p| p.fired.clone())
            .unwrap_or_default();
        f.extend_from_slice(&self.fired_correlations);
        f
    }

    /// Decodes and matches `batch`, then feeds its detections to the dwell extension and the
    /// correlations: what is reported, firings included, is appended to `out`.
    pub fn step(&mut self, batch: &Batch, out: &mut Vec<Detection>) -> Step {
        self.run_batch(batch, out, None)
    }

    fn run_batch(
        &mut self,
        batch: &Batch,
        out: &mut Vec<Detection>,
        mut split: Option<(&HashMap<u32, String>, &mut Vec<Detection>)>,
    ) -> Step {
        let gather = Gather::default();
        let raw = {
            let log = ProblemLog::new(&self.inputs, &gather);
            let cx = WorkerCx {
                detector: &self.detector,
                observers: &[],
                inputs: self.inputs.len(),
                log: &log,
                events: &self.events,
                parse_only: false,
                window: crate::Window::default(),
            };
            let parts = self
                .parts
                .take()
                .unwrap_or_else(|| Parts::new(&self.detector.engine, 0));
            let mut st = State::assemble(&cx, parts);
            let events = st.one_batch(batch);
            let raw = std::mem::take(&mut st.out);
            self.parts = Some(st.disassemble());
            (events, raw)
        };
        let (events, raw) = raw;
        let mut matched = 0;
        let mut last = None;
        let base = self.detector.table.len() as u32 - self.fired_correlations.len() as u32;
        let Detector {
            correlator,
            input_only,
            novelty,
            ..
        } = &mut self.detector;
        let mut c = Correlate {
            correlator,
            novelty,
            input_only,
            base,
            fired: std::mem::take(&mut self.fired_correlations),
        };
        for d in raw {
            let at = (d.input, d.record);
            if last != Some(at) {
                matched += 1;
                last = Some(at);
            }
            if let Some((stateful, matches)) = &mut split
                && stateful.contains_key(&d.rule)
            {
                matches.push(d);
                continue;
            }
            c.one(d, out);
        }
        self.fired_correlations = c.fired;
        Step {
            events,
            matched,
            problems: gather.0.into_inner().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// The rules whose detections depend on other events (sources of correlations, rules with
    /// a first-seen or hours gate), each with the key of its component: the rules and
    /// correlations that share state through correlations. All matches of one component must
    /// meet in one place for its state to be right; rules not listed are stateless.
    pub fn stateful(&self) -> HashMap<u32, String> {
        let d = &self.detector;
        let rules = d.table.len() - self.fired_correlations.len();
        let corr = d.correlator.len();
        let mut parent: Vec<usize> = (0..rules + corr).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        let mut in_corr = vec![false; rules + corr];
        for c in 0..corr {
            for s in d.correlator.sources(c as u32) {
                let n = match s {
                    dwell_detect::Source::Rule(r) => *r as usize,
                    dwell_detect::Source::Correlation(k) => rules + *k as usize,
                };
                in_corr[n] = true;
                in_corr[rules + c] = true;
                let (a, b) = (find(&mut parent, n), find(&mut parent, rules + c));
                parent[a] = b;
            }
        }
        let key = |i: usize| {
            let r = &d.table[i];
            if r.id.is_empty() {
                r.title.clone()
            } else {
                r.id.clone()
            }
        };
        // A component is named by the smallest key among its members, the same on every
        // worker that loads the same rules.
        let mut names: HashMap<usize, String> = HashMap::new();
        for (i, _) in in_corr.iter().enumerate().filter(|(_, c)| **c) {
            let root = find(&mut parent, i);
            let k = key(i);
            let e = names.entry(root).or_insert_with(|| k.clone());
            if k < *e {
                *e = k;
            }
        }
        let mut out = HashMap::new();
        for (r, &shared) in in_corr.iter().enumerate().take(rules) {
            if shared {
                let root = find(&mut parent, r);
                out.insert(r as u32, names[&root].clone());
            } else if d.novelty.gated(r as u32) {
                out.insert(r as u32, key(r));
            }
        }
        out
    }

    /// The index of the rule with this id (or, without one, title).
    pub fn rule_index(&self, key: &str) -> Option<u32> {
        self.detector
            .table
            .iter()
            .position(|r| {
                if r.id.is_empty() {
                    r.title == key
                } else {
                    r.id == key
                }
            })
            .map(|i| i as u32)
    }

    /// As [`Live::step`], but the detections of rules in `stateful` are not correlated here:
    /// they go to `matches`, for [`Live::correlate`] wherever their component's state lives.
    pub fn step_split(
        &mut self,
        batch: &Batch,
        stateful: &HashMap<u32, String>,
        out: &mut Vec<Detection>,
        matches: &mut Vec<Detection>,
    ) -> Step {
        self.run_batch(batch, out, Some((stateful, matches)))
    }

    /// Feeds a detection made elsewhere (by [`Live::step_split`]) to the dwell extension and the
    /// correlations; what is reported is appended to `out`.
    pub fn correlate(&mut self, d: Detection, out: &mut Vec<Detection>) {
        let base = self.detector.table.len() as u32 - self.fired_correlations.len() as u32;
        let Detector {
            correlator,
            input_only,
            novelty,
            ..
        } = &mut self.detector;
        let mut c = Correlate {
            correlator,
            novelty,
            input_only,
            base,
            fired: std::mem::take(&mut self.fired_correlations),
        };
        c.one(d, out);
        self.fired_correlations = c.fired;
    }

    /// The state that outlives a batch (correlation windows, first-seen baselines), for a
    /// checkpoint.
    pub fn save(&self) -> Vec<u8> {
        let c = self.detector.correlator.save();
        let n = self.detector.novelty.save();
        let mut v = Vec::with_capacity(MAGIC.len() + 16 + c.len() + n.len());
        v.extend_from_slice(MAGIC);
        v.extend_from_slice(&(c.len() as u64).to_le_bytes());
        v.extend_from_slice(&c);
        v.extend_from_slice(&(n.len() as u64).to_le_bytes());
        v.extend_from_slice(&n);
        v
    }

    /// Puts back what [`Live::save`] wrote (into a live run of the same rules; correlations and
    /// baselines whose definition changed start empty). Damaged state is refused whole and
    /// nothing is changed.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let bad = || StateError("truncated".into());
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| StateError("not a dwell live checkpoint (or another version)".into()))?;
        let (c, rest) = take_block(rest).ok_or_else(bad)?;
        let (n, rest) = take_block(rest).ok_or_else(bad)?;
        if !rest.is_empty() {
            return Err(StateError("bytes after the end".into()));
        }
        // Restored into copies first, so that a refusal changes nothing.
        let mut corr = self.detector.correlator.clone();
        corr.restore(c)?;
        let mut nov = self.detector.novelty.clone();
        nov.restore(n)?;
        self.detector.correlator = corr;
        self.detector.novelty = nov;
        Ok(())
    }
}

fn take_block(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = u64::from_le_bytes(b.get(..8)?.try_into().ok()?) as usize;
    let body = b.get(8..8usize.checked_add(n)?)?;
    Some((body, &b[8 + n..]))
}
