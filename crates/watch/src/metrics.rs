//! What a watcher counts, shared between its threads and served as Prometheus text: the
//! conservation ledger (every record in is matched, not matched, rejected or dropped), events
//! by source, detections by rule and level, sink errors, and the end-to-end latency histogram.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Upper bounds of the latency histogram's buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The conservation ledger. `records = matched + unmatched + rejected + dropped` at every
/// commit; the counts are checkpointed, so they run across restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Records taken from the sources (framed records, datagrams, lines).
    pub records: u64,
    /// Events that at least one rule matched.
    pub matched: u64,
    /// Events that no rule matched.
    pub unmatched: u64,
    /// Records that could not be decoded (bad input), each reported with its place.
    pub rejected: u64,
    /// Records lost before decoding (a datagram that found the queue full, a record over the
    /// size limit), each counted with why.
    pub dropped: u64,
    /// Records handed on to a NATS stream, for its workers (`--forward`).
    pub forwarded: u64,
}

impl Ledger {
    /// True when every record is accounted for.
    pub fn balances(&self) -> bool {
        self.records
            == self.matched + self.unmatched + self.rejected + self.dropped + self.forwarded
    }
}

/// Counters every thread updates.
#[derive(Default)]
pub struct Metrics {
    /// The ledger of each engine (one, or one per NATS partition) as of its last commit.
    pub ledgers: Mutex<BTreeMap<String, Ledger>>,
    /// Detections received from other partitions for the state held here.
    pub matches_in: AtomicU64,
    /// Detections sent to the partition that holds their rule's state.
    pub matches_out: AtomicU64,
    /// Records by source kind and input.
    pub by_source: Mutex<BTreeMap<String, u64>>,
    /// Drops by reason, as they happen (also in the ledger once committed).
    pub drops: Mutex<BTreeMap<String, u64>>,
    /// Detections by rule title and level.
    pub detections: Mutex<BTreeMap<(String, String), u64>>,
    /// Sink delivery failures (retried or dead-lettered), by sink.
    pub sink_errors: Mutex<BTreeMap<String, u64>>,
    /// Alerts written to the dead-letter file.
    pub dead_letters: AtomicU64,
    /// Latency histogram: counts per bucket (the last is +Inf), sum in microseconds.
    latency: Mutex<([u64; LATENCY_BUCKETS.len() + 1], u64)>,
    /// Chunks waiting for the detector.
    pub queued: AtomicU64,
    /// Commits (checkpoints written).
    pub commits: AtomicU64,
    /// Bytes the followed files have beyond what was read.
    pub lag_bytes: AtomicU64,
    /// Rule reloads, and reloads refused (the old rules kept).
    pub reloads: AtomicU64,
    /// See `reloads`.
    pub reloads_refused: AtomicU64,
    /// False once the watcher is draining or the detector has stopped.
    pub healthy: AtomicBool,
}

impl Metrics {
    /// The ledgers added up.
    pub fn ledger(&self) -> Ledger {
        let mut t = Ledger::default();
        for l in lock(&self.ledgers).values() {
            t.records += l.records;
            t.matched += l.matched;
            t.unmatched += l.unmatched;
            t.rejected += l.rejected;
            t.dropped += l.dropped;
            t.forwarded += l.forwarded;
        }
        t
    }

    /// Counts a drop of `n` records for `why`; the ledger takes it at the next commit.
    pub fn dropped(&self, why: &str, n: u64) {
        *lock(&self.drops).entry(why.to_string()).or_default() += n;
    }

    /// Records one end-to-end latency.
    pub fn latency(&self, seconds: f64) {
        let mut h = lock(&self.latency);
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        h.0[i] += 1;
        h.1 += (seconds * 1e6) as u64;
    }

    /// The latency histogram: per-bucket counts (not cumulative) and the sum in seconds.
    pub fn latency_histogram(&self) -> (Vec<u64>, f64) {
        let h = lock(&self.latency);
        (h.0.to_vec(), h.1 as f64 / 1e6)
    }

    /// Prometheus text exposition (version 0.0.4).
    pub fn render(&self) -> String {
        let mut s = String::new();
        let l = self.ledger();
        let _ = writeln!(
            s,
            "# HELP dwell_ledger_records Records by outcome since the state was created (records = matched + unmatched + rejected + dropped + forwarded).\n# TYPE dwell_ledger_records counter"
        );
        for (k, v) in [
            ("in", l.records),
            ("matched", l.matched),
            ("unmatched", l.unmatched),
            ("rejected", l.rejected),
            ("dropped", l.dropped),
            ("forwarded", l.forwarded),
        ] {
            let _ = writeln!(s, "dwell_ledger_records{{outcome=\"{k}\"}} {v}");
        }
        let _ = writeln!(
            s,
            "# HELP dwell_ledger_balanced 1 when every record is accounted for.\n# TYPE dwell_ledger_balanced gauge\ndwell_ledger_balanced {}",
            l.balances() as u8
        );
        counter_map(
            &mut s,
            "dwell_events_in",
            "Records taken, by source.",
            &lock(&self.by_source),
            "source",
        );
        counter_map(
            &mut s,
            "dwell_dropped",
            "Records dropped before decoding, by reason.",
            &lock(&self.drops),
            "reason",
        );
        counter_map(
            &mut s,
            "dwell_sink_errors",
            "Failed deliveries (retried, or dead-lettered), by sink.",
            &lock(&self.sink_errors),
            "sink",
        );
        let _ = writeln!(
            s,
            "# HELP dwell_detections Alerts delivered, by rule and level.\n# TYPE dwell_detections counter"
        );
        for ((rule, level), v) in lock(&self.detections).iter() {
            let _ = writeln!(
                s,
                "dwell_detections{{rule=\"{}\",level=\"{}\"}} {v}",
                label(rule),
                label(level)
            );
        }
        let (counts, sum) = self.latency_histogram();
        let _ = writeln!(
            s,
            "# HELP dwell_alert_latency_seconds From a record's arrival (for NATS, its publish) to its alert delivered.\n# TYPE dwell_alert_latency_seconds histogram"
        );
        let mut acc = 0;
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            acc += counts[i];
            let _ = writeln!(s, "dwell_alert_latency_seconds_bucket{{le=\"{b}\"}} {acc}");
        }
        acc += counts[LATENCY_BUCKETS.len()];
        let _ = writeln!(
            s,
            "dwell_alert_latency_seconds_bucket{{le=\"+Inf\"}} {acc}\ndwell_alert_latency_seconds_sum {sum}\ndwell_alert_latency_seconds_count {acc}"
        );
        for (name, help, kind, v) in [
            (
                "dwell_queued_chunks",
                "Chunks of records waiting for the detector.",
                "gauge",
                self.queued.load(Ordering::Relaxed),
            ),
            (
                "dwell_lag_bytes",
                "Bytes written to followed files and not read yet.",
                "gauge",
                self.lag_bytes.load(Ordering::Relaxed),
            ),
            (
                "dwell_matches_in",
                "Detections received for the correlation state this worker holds.",
                "counter",
                self.matches_in.load(Ordering::Relaxed),
            ),
            (
                "dwell_matches_out",
                "Detections sent to the partition holding their rule's state.",
                "counter",
                self.matches_out.load(Ordering::Relaxed),
            ),
            (
                "dwell_commits",
                "Checkpoints written.",
                "counter",
                self.commits.load(Ordering::Relaxed),
            ),
            (
                "dwell_dead_letters",
                "Alerts written to the dead-letter file.",
                "counter",
                self.dead_letters.load(Ordering::Relaxed),
            ),
            (
                "dwell_rule_reloads",
                "Rule sets reloaded.",
                "counter",
                self.reloads.load(Ordering::Relaxed),
            ),
            (
                "dwell_rule_reloads_refused",
                "Reloads refused (a broken rule set; the working one kept).",
                "counter",
                self.reloads_refused.load(Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        }
        s
    }
}

fn counter_map(s: &mut String, name: &str, help: &str, m: &BTreeMap<String, u64>, key: &str) {
    let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter");
    for (k, v) in m {
        let _ = writeln!(s, "{name}{{{key}=\"{}\"}} {v}", label(k));
    }
}

/// A label value escaped as the exposition format requires.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A lock that survives a panicked holder: counters stay readable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_labels_are_escaped() {
        let m = Metrics::default();
        m.latency(0.0001);
        m.latency(0.02);
        m.latency(99.0);
        lock(&m.detections).insert(("a \"b\"".into(), "high".into()), 2);
        let t = m.render();
        assert!(
            t.contains("dwell_alert_latency_seconds_bucket{le=\"0.0005\"} 1"),
            "{t}"
        );
        assert!(t.contains("dwell_alert_latency_seconds_bucket{le=\"0.025\"} 2"));
        assert!(t.contains("dwell_alert_latency_seconds_bucket{le=\"10\"} 2"));
        assert!(t.contains("dwell_alert_latency_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(t.contains("dwell_detections{rule=\"a \\\"b\\\"\",level=\"high\"} 2"));
    }
}
