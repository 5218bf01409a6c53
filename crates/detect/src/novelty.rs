//! dwell's rule extension at run time (`dwell.first_seen`, `dwell.hours`; the syntax is in
//! `dwell_sigma::Extension`): detections of such rules pass only when their values are new for
//! the rule and their time within the hours. Detections arrive in time order, so "seen before"
//! means earlier in the logs.

use crate::Detection;
use crate::state::{Put, StateError, Take};
use dwell_sigma::Rule;
use std::collections::{HashMap, HashSet};

/// Most distinct value tuples one rule remembers; beyond it, nothing more is learnt (and what
/// is new is still reported), and the summary says so.
pub const MAX_SEEN: usize = 1_000_000;

const MAGIC: &[u8] = b"dwell-novelty-1\n";

#[derive(Clone)]
struct Gate {
    /// The rule's id (or title), which finds its saved baseline again.
    key: String,
    fields: Vec<String>,
    learn_ns: i64,
    first: Option<i64>,
    seen: HashSet<Box<str>>,
    /// `seen` reached [`MAX_SEEN`].
    full: bool,
    hours: Option<(dwell_sigma::Hours, jiff::tz::TimeZone)>,
}

/// What the extension held back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoveltyStats {
    /// Matches during a rule's learning period.
    pub learning: u64,
    /// Matches whose values had been seen before.
    pub seen_before: u64,
    /// Matches outside the rule's hours.
    pub outside_hours: u64,
    /// Rules that stopped learning at [`MAX_SEEN`] tuples.
    pub full: u64,
}

/// The gates of every rule with an extension, by engine rule index.
#[derive(Default, Clone)]
pub struct Novelty {
    gates: HashMap<u32, Gate>,
    /// What was held back so far.
    pub stats: NoveltyStats,
}

impl Novelty {
    /// The gates of `rules` (in engine order).
    pub fn new(rules: &[Rule]) -> Novelty {
        let mut gates = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            let Some(x) = &r.extension else { continue };
            let (fields, learn_ns) = match &x.first_seen {
                Some(f) => (
                    f.fields.clone(),
                    (f.learn_ms as i64).saturating_mul(1_000_000),
                ),
                None => (Vec::new(), 0),
            };
            let hours = x.hours.clone().map(|h| {
                let tz = dwell_sigma::zone_of(&h.zone).unwrap_or(jiff::tz::TimeZone::UTC);
                (h, tz)
            });
            gates.insert(
                i as u32,
                Gate {
                    key: format!(
                        "{}|{:?}",
                        r.meta.id.as_deref().unwrap_or(&r.meta.title),
                        fields
                    ),
                    fields,
                    learn_ns,
                    first: None,
                    seen: HashSet::new(),
                    full: false,
                    hours,
                },
            );
        }
        Novelty {
            gates,
            stats: NoveltyStats::default(),
        }
    }

    /// The baselines learnt so far, for a checkpoint ([`Novelty::restore`] puts them back).
    pub fn save(&self) -> Vec<u8> {
        let mut p = Put::default();
        p.0.extend_from_slice(MAGIC);
        for v in [
            self.stats.learning,
            self.stats.seen_before,
            self.stats.outside_hours,
            self.stats.full,
        ] {
            p.u64(v);
        }
        let mut gates: Vec<&Gate> = self.gates.values().collect();
        gates.sort_by(|a, b| a.key.cmp(&b.key));
        p.u64(gates.len() as u64);
        for g in gates {
            p.str(&g.key);
            p.opt_i64(g.first);
            p.u64(g.full as u64);
            let mut seen: Vec<&str> = g.seen.iter().map(|s| &**s).collect();
            seen.sort_unstable();
            p.u64(seen.len() as u64);
            for v in seen {
                p.str(v);
            }
        }
        p.0
    }

    /// Puts back what [`Novelty::save`] wrote; a rule whose gate changed starts learning
    /// again. Damaged state is refused whole.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let mut t = Take::new(bytes);
        t.magic(MAGIC)?;
        let stats = NoveltyStats {
            learning: t.u64()?,
            seen_before: t.u64()?,
            outside_hours: t.u64()?,
            full: t.u64()?,
        };
        let n = t.count(8)?;
        let mut saved = HashMap::new();
        for _ in 0..n {
            let key = t.str()?;
            let first = t.opt_i64()?;
            let full = t.u64()? != 0;
            let m = t.count(8)?;
            let mut seen = HashSet::with_capacity(m);
            for _ in 0..m {
                seen.insert(t.str()?.into_boxed_str());
            }
            saved.insert(key, (first, full, seen));
        }
        t.end()?;
        for g in self.gates.values_mut() {
            if let Some((first, full, seen)) = saved.remove(&g.key) {
                g.first = first;
                g.full = full;
                g.seen = seen;
            }
        }
        self.stats = stats;
        Ok(())
    }

    /// The fields a detection of `rule` must capture for its gate.
    pub fn needs(&self, rule: u32) -> &[String] {
        self.gates.get(&rule).map_or(&[], |g| &g.fields)
    }

    /// True when `rule` has a gate (its detections depend on what came before).
    pub fn gated(&self, rule: u32) -> bool {
        self.gates.contains_key(&rule)
    }

    /// True when no rule has an extension.
    pub fn is_empty(&self) -> bool {
        self.gates.is_empty()
    }

    /// Whether `d` is reported: always for rules without an extension; for the others, when
    /// past the learning period, new, and within the hours. Every match teaches its values,
    /// whatever its hour.
    pub fn keep(&mut self, d: &Detection) -> bool {
        let Some(g) = self.gates.get_mut(&d.rule) else {
            return true;
        };
        let Some(t) = d.time else {
            // An undated match cannot be placed in a baseline or an hour: reported as it is.
            return true;
        };
        let mut new = true;
        if !g.fields.is_empty() {
            let mut key = String::new();
            for f in &g.fields {
                let v = d
                    .captured
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(f))
                    .and_then(|(_, v)| v.as_deref())
                    .unwrap_or("");
                key.push_str(&v.to_lowercase());
                key.push('\u{1f}');
            }
            let first = *g.first.get_or_insert(t);
            new = if g.seen.len() < MAX_SEEN {
                g.seen.insert(key.into_boxed_str())
            } else {
                if !g.full {
                    g.full = true;
                    self.stats.full += 1;
                }
                !g.seen.contains(key.as_str())
            };
            if t < first.saturating_add(g.learn_ns) {
                self.stats.learning += 1;
                return false;
            }
            if !new {
                self.stats.seen_before += 1;
                return false;
            }
        }
        if let Some((h, tz)) = &g.hours {
            let hour = jiff::Timestamp::from_nanosecond(i128::from(t))
                .map(|ts| ts.to_zoned(tz.clone()).hour() as u8)
                .unwrap_or(0);
            if !h.contains(hour) {
                self.stats.outside_hours += 1;
                return false;
            }
        }
        new
    }
}
