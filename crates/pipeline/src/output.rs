//! The output stages, each on its own thread so they overlap: ordered detections (deduplicated
//! on the way) go through dwell's rule extension and the correlations, then to every sink.

use crate::error::PipelineError;
use crate::sink::{Sink, SinkError, Tables};
use crate::stats::DetectionStats;
use crossbeam_channel::{Receiver, Sender};
use dwell_core::EventKey;
use dwell_detect::{
    CorrelationDetail, Correlator, Detection, Firing, Member, MemberRef, Novelty, RuleInfo, Source,
};
use std::collections::HashSet;
use std::sync::Arc;

/// A batch of ordered detections, or why reading them back failed.
pub(crate) type Flow = Result<Vec<Detection>, std::io::Error>;

/// Drops a detection of an event already seen at the same time by the same rule (the same
/// record in a live log and its backup). Detections arrive in time order, so only one time's
/// worth of keys is kept.
#[derive(Default)]
pub(crate) struct Dedup {
    time: Option<Option<i64>>,
    seen: HashSet<(EventKey, u32)>,
    pub(crate) dropped: u64,
}

impl Dedup {
    pub(crate) fn keep(&mut self, d: &Detection) -> bool {
        if self.time != Some(d.time) {
            self.time = Some(d.time);
            self.seen.clear();
        }
        if self.seen.insert((d.event_key(), d.rule)) {
            true
        } else {
            self.dropped += 1;
            false
        }
    }
}

/// The correlation stage: each detection fed to the correlations, then passed on (unless it
/// only serves them), followed by the firings it completed.
pub(crate) struct Correlate<'a> {
    pub(crate) correlator: &'a mut Correlator,
    /// dwell's extension: matches of first-seen and hours rules that are not reported stop
    /// here, before the correlations see them.
    pub(crate) novelty: &'a mut Novelty,
    pub(crate) input_only: &'a HashSet<u32>,
    /// Index of the first correlation in the rule table.
    pub(crate) base: u32,
    /// Firings per correlation.
    pub(crate) fired: Vec<u64>,
}

impl Correlate<'_> {
    pub(crate) fn run(&mut self, rx: Receiver<Flow>, tx: Sender<Flow>) {
        for batch in rx {
            let out = batch.map(|batch| {
                let mut out = Vec::with_capacity(batch.len());
                for d in batch {
                    self.one(d, &mut out);
                }
                out
            });
            if tx.send(out).is_err() {
                return;
            }
        }
    }

    pub(crate) fn one(&mut self, d: Detection, out: &mut Vec<Detection>) {
        if !self.novelty.keep(&d) {
            return;
        }
        let mut firings = Vec::new();
        if let Some(t) = d.time {
            let lookup = |name: &str| {
                d.captured
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| v.as_deref())
            };
            self.correlator.push(
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
        let shown = !self.correlator.hidden(d.rule) && !self.input_only.contains(&d.rule);
        if firings.is_empty() {
            if shown {
                out.push(d);
            }
            return;
        }
        let trigger = (d.input, d.record, d.stream.clone(), d.host.clone());
        if shown {
            out.push(d);
        }
        for f in firings {
            self.fired[f.correlation as usize] += 1;
            out.push(self.firing(f, &trigger));
        }
    }

    /// A correlation firing as a detection: its group-by values are what it matched.
    fn firing(
        &self,
        f: Firing,
        (input, record, stream, host): &(u32, u64, String, String),
    ) -> Detection {
        let host = f
            .group
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Computer"))
            .and_then(|(_, v)| v.clone())
            .unwrap_or_else(|| host.clone());
        let base = self.base;
        Detection {
            time: Some(f.end),
            rule: base + f.correlation,
            input: *input,
            record: *record,
            host,
            stream: stream.clone(),
            code: None,
            provider: String::new(),
            matched: f
                .group
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().unwrap_or_else(|| "(none)".into())))
                .collect(),
            event: Arc::default(),
            ident: None,
            captured: Vec::new(),
            correlation: Some(Box::new(CorrelationDetail {
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
            })),
        }
    }
}

/// The last stage: counts what is written and hands each detection to every open sink.
pub(crate) struct Deliver<'s, 'k, 't> {
    pub(crate) sinks: &'s mut [&'k mut dyn Sink],
    pub(crate) tables: &'s Tables<'t>,
    pub(crate) closed: Vec<bool>,
    pub(crate) stats: DetectionStats,
    rules_seen: HashSet<u32>,
    hosts: HashSet<String>,
}

impl<'s, 'k, 't> Deliver<'s, 'k, 't> {
    pub(crate) fn new(sinks: &'s mut [&'k mut dyn Sink], tables: &'s Tables<'t>) -> Self {
        let closed = vec![false; sinks.len()];
        Deliver {
            sinks,
            tables,
            closed,
            stats: DetectionStats::default(),
            rules_seen: HashSet::new(),
            hosts: HashSet::new(),
        }
    }

    /// Takes every batch; an `Err` is why the run must stop.
    pub(crate) fn run(&mut self, rx: Receiver<Flow>) -> Result<(), PipelineError> {
        for batch in rx {
            for d in batch.map_err(PipelineError::Ordering)? {
                self.one(&d).map_err(PipelineError::Sink)?;
            }
        }
        for (i, s) in self.sinks.iter_mut().enumerate() {
            if self.closed[i] {
                continue;
            }
            match s.finish(self.tables) {
                Ok(()) => {}
                Err(SinkError::Closed) => self.closed[i] = true,
                Err(SinkError::Failed(e)) => return Err(PipelineError::Sink(e)),
            }
        }
        Ok(())
    }

    fn one(&mut self, d: &Detection) -> Result<(), String> {
        let rules: &[RuleInfo] = self.tables.rules;
        let level = rules.get(d.rule as usize).and_then(|r| r.level);
        self.stats.by_level[level.map_or(5, |l| l as usize)] += 1;
        self.rules_seen.insert(d.rule);
        self.stats.rules = self.rules_seen.len();
        if !d.host.is_empty() && !self.hosts.contains(&d.host) {
            self.hosts.insert(d.host.clone());
            self.stats.hosts = self.hosts.len();
        }
        if let Some(t) = d.time {
            self.stats.first = Some(self.stats.first.map_or(t, |f| f.min(t)));
            self.stats.last = Some(self.stats.last.map_or(t, |l| l.max(t)));
        }
        for (i, s) in self.sinks.iter_mut().enumerate() {
            if self.closed[i] {
                continue;
            }
            match s.detection(d, self.tables) {
                Ok(()) => {}
                Err(SinkError::Closed) => self.closed[i] = true,
                Err(SinkError::Failed(e)) => return Err(e),
            }
        }
        Ok(())
    }
}
