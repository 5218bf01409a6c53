//! Sigma correlation rules over a stream of detections in time order.
//!
//! Each correlation keeps, per group (the tuple of its `group-by` values), the matches of its
//! referenced rules that fall in a sliding window, and tests its condition each time a match
//! arrives. The same code serves `dwell hunt` (fed the time-sorted detections of an archive)
//! and streaming use.
//!
//! Window semantics, as documented in docs/correlation.md:
//! - The window of a group is `(t - timespan, t]`, where `t` is the time of the newest match
//!   seen in that group: a match exactly `timespan` older than the newest is outside.
//! - A match older than that window when it arrives is late: it is dropped and counted.
//!   Matches that arrive out of order but inside the window are placed in time order.
//! - When the condition holds, the correlation fires at `t` with the window's matches, and
//!   the group starts again empty, so a continuous flood gives one firing per window.
//! - Group state whose newest match has left the window is dropped, which bounds memory by
//!   the groups active within one timespan.

use crate::engine::RuleInfo;
use dwell_sigma::{CmpOp, Correlation, CorrelationType};
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

/// What produced a correlation input: a detection rule or another correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Rule(u32),
    Correlation(u32),
}

/// One match that took part in a firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub source: Source,
    /// Nanoseconds since the Unix epoch.
    pub time: i64,
    pub input: u32,
    pub record: u64,
}

/// A correlation that fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub correlation: u32,
    /// The window, `(start, end]`, in nanoseconds.
    pub start: i64,
    pub end: i64,
    /// The group-by names and values (`None`: the field was absent).
    pub group: Vec<(String, Option<String>)>,
    /// The value the condition tested (a count, a sum, an average, a percentile).
    pub value: f64,
    /// The matches in the window, oldest first (at most [`MAX_MEMBERS`]).
    pub members: Vec<Member>,
    /// Matches in the window beyond those listed.
    pub more_members: usize,
}

/// Most matches listed in one firing.
pub const MAX_MEMBERS: usize = 1000;

/// How often (in inputs) a correlation sweeps out groups whose window has passed.
const SWEEP_EVERY: u64 = 4096;

#[derive(Debug, Clone)]
struct Entry {
    member: Member,
    /// Position of the source in the correlation's `rules`.
    pos: usize,
    /// The numeric value (`value_sum`, `value_avg`, `value_percentile`).
    number: Option<f64>,
    /// Hash of the counted value(s) (`value_count`).
    distinct: Option<u64>,
}

#[derive(Debug, Default)]
struct Group {
    values: Vec<Option<String>>,
    entries: VecDeque<Entry>,
    newest: i64,
    distinct: HashMap<u64, u32>,
    sum: f64,
    numbers: usize,
    per_source: Vec<u32>,
}

struct Compiled {
    kind: CorrelationType,
    timespan: i64,
    sources: Vec<Source>,
    /// Per source: the event field of each group-by name (aliases resolved).
    group_fields: Vec<Vec<String>>,
    group_names: Vec<String>,
    /// The condition's `field`s.
    value_fields: Vec<String>,
    ops: Vec<(CmpOp, f64)>,
    percentile: f64,
    groups: HashMap<u64, Vec<Group>>,
    inputs: u64,
    late: u64,
    peak_groups: usize,
}

/// Counters for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub late: u64,
    pub live_groups: usize,
    pub peak_groups: usize,
}

/// Correlation state for a rule set.
pub struct Correlator {
    corrs: Vec<Compiled>,
    /// Which correlations consume each source, and at which position of their `rules`.
    consumers: HashMap<Source, Vec<(u32, usize)>>,
    /// Fields to capture from the events of each detection rule.
    needs: HashMap<u32, Vec<String>>,
    /// Detection rules whose own matches are not reported (`generate: false`).
    hidden: Vec<bool>,
}

/// A firing on its way to the correlations that refer to it: as a match, and its group values.
type Pending = (Member, Vec<(String, Option<String>)>);

/// A reason a correlation cannot run, by correlation index.
pub type CorrelationProblem = (usize, String);

impl Correlator {
    /// Compiles `corrs` against the detection rules of an engine. Correlations whose rules
    /// are missing are left out and reported.
    pub fn new(corrs: &[Correlation], rules: &[RuleInfo]) -> (Correlator, Vec<CorrelationProblem>) {
        let mut problems = Vec::new();
        let mut by_key: HashMap<&str, Source> = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            for k in r.meta.id.iter().chain(r.meta.name.iter()) {
                by_key.insert(k.as_str(), Source::Rule(i as u32));
            }
        }
        for (i, c) in corrs.iter().enumerate() {
            for k in c.meta.id.iter().chain(c.meta.name.iter()) {
                by_key.insert(k.as_str(), Source::Correlation(i as u32));
            }
        }
        let mut compiled = Vec::new();
        let mut consumers: HashMap<Source, Vec<(u32, usize)>> = HashMap::new();
        let mut needs: HashMap<u32, Vec<String>> = HashMap::new();
        let mut generate: HashMap<u32, bool> = HashMap::new();
        for (ci, c) in corrs.iter().enumerate() {
            let mut sources = Vec::new();
            let mut broken = false;
            for r in &c.rules {
                match by_key.get(r.as_str()) {
                    Some(s) => sources.push(*s),
                    None => {
                        broken = true;
                        problems.push((
                            ci,
                            format!("refers to '{r}', which is not a rule in this hunt"),
                        ));
                    }
                }
            }
            if broken {
                // Kept in place (indexes stay aligned) but fed nothing.
                sources.clear();
            }
            let group_fields: Vec<Vec<String>> = c
                .rules
                .iter()
                .filter(|r| by_key.contains_key(r.as_str()))
                .map(|r| {
                    c.group_by
                        .iter()
                        .map(|g| {
                            c.aliases
                                .iter()
                                .find(|a| &a.name == g)
                                .and_then(|a| a.fields.iter().find(|(rule, _)| rule == r))
                                .map_or_else(|| g.clone(), |(_, f)| f.clone())
                        })
                        .collect()
                })
                .collect();
            let ops = if c.condition.ops.is_empty() {
                // temporal without a condition: every referenced rule.
                vec![(CmpOp::Gte, sources.len() as f64)]
            } else {
                c.condition.ops.clone()
            };
            for (pos, s) in sources.iter().enumerate() {
                consumers.entry(*s).or_default().push((ci as u32, pos));
                if let Source::Rule(r) = s {
                    let want = needs.entry(*r).or_default();
                    for f in group_fields[pos].iter().chain(c.condition.fields.iter()) {
                        if !want.contains(f) {
                            want.push(f.clone());
                        }
                    }
                    let g = generate.entry(*r).or_insert(false);
                    *g |= c.generate;
                }
            }
            compiled.push(Compiled {
                kind: c.kind,
                timespan: (c.timespan_ms as i64).saturating_mul(1_000_000),
                sources,
                group_fields,
                group_names: c.group_by.clone(),
                value_fields: c.condition.fields.clone(),
                ops,
                percentile: c.condition.percentile.unwrap_or(50.0),
                groups: HashMap::new(),
                inputs: 0,
                late: 0,
                peak_groups: 0,
            });
        }
        let mut hidden = vec![false; rules.len()];
        for (r, g) in generate {
            hidden[r as usize] = !g;
        }
        (
            Correlator {
                corrs: compiled,
                consumers,
                needs,
                hidden,
            },
            problems,
        )
    }

    /// True when there is nothing to correlate.
    pub fn is_empty(&self) -> bool {
        self.corrs.is_empty()
    }

    /// What correlation `c` consumes.
    pub fn sources(&self, c: u32) -> &[Source] {
        &self.corrs[c as usize].sources
    }

    /// The event fields a detection of `rule` must carry for the correlations using it.
    pub fn needs(&self, rule: u32) -> Option<&[String]> {
        self.needs.get(&rule).map(Vec::as_slice)
    }

    /// True when `rule`'s own detections are only inputs to correlations (`generate: false`).
    pub fn hidden(&self, rule: u32) -> bool {
        self.hidden.get(rule as usize).copied().unwrap_or(false)
    }

    /// Counters over all correlations.
    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for c in &self.corrs {
            s.late += c.late;
            s.live_groups += c.groups.values().map(Vec::len).sum::<usize>();
            s.peak_groups = s.peak_groups.max(c.peak_groups);
        }
        s
    }

    /// Feeds one match; pushes the correlations it makes fire (and those their firings make
    /// fire, for correlations of correlations) to `out`. `field` gives the match's field values.
    pub fn push(
        &mut self,
        member: Member,
        field: &dyn Fn(&str) -> Option<String>,
        out: &mut Vec<Firing>,
    ) {
        let mut queue: Vec<Pending> = Vec::new();
        self.feed(member, field, out, &mut queue);
        // Firings feed the correlations that refer to them.
        while let Some((m, group)) = queue.pop() {
            let lookup = |name: &str| {
                group
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| v.clone())
            };
            self.feed(m, &lookup, out, &mut queue);
        }
    }

    fn feed(
        &mut self,
        member: Member,
        field: &dyn Fn(&str) -> Option<String>,
        out: &mut Vec<Firing>,
        queue: &mut Vec<Pending>,
    ) {
        let Some(consumers) = self.consumers.get(&member.source).cloned() else {
            return;
        };
        for (ci, pos) in consumers {
            let c = &mut self.corrs[ci as usize];
            if let Some(f) = c.add(ci, pos, member, field) {
                queue.push((
                    Member {
                        source: Source::Correlation(ci),
                        time: f.end,
                        input: member.input,
                        record: member.record,
                    },
                    f.group.clone(),
                ));
                out.push(f);
            }
        }
    }
}

fn hash_values(values: &[Option<String>]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    values.hash(&mut h);
    h.finish()
}

impl Compiled {
    fn add(
        &mut self,
        ci: u32,
        pos: usize,
        member: Member,
        field: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Firing> {
        self.inputs += 1;
        let t = member.time;
        if self.inputs.is_multiple_of(SWEEP_EVERY) {
            self.sweep(t);
        }
        let values: Vec<Option<String>> = self.group_fields[pos].iter().map(|f| field(f)).collect();
        let number = match self.kind {
            CorrelationType::ValueSum
            | CorrelationType::ValueAvg
            | CorrelationType::ValuePercentile => self
                .value_fields
                .first()
                .and_then(|f| field(f))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite()),
            _ => None,
        };
        let distinct = if self.kind == CorrelationType::ValueCount {
            let vals: Vec<Option<String>> = self.value_fields.iter().map(|f| field(f)).collect();
            // Events without the counted field are not counted.
            if vals.iter().any(Option::is_none) {
                None
            } else {
                Some(hash_values(&vals))
            }
        } else {
            None
        };
        let key = hash_values(&values);
        let bucket = self.groups.entry(key).or_default();
        let gi = match bucket.iter().position(|g| g.values == values) {
            Some(i) => i,
            None => {
                bucket.push(Group {
                    values: values.clone(),
                    newest: i64::MIN,
                    per_source: vec![0; self.sources.len()],
                    ..Group::default()
                });
                bucket.len() - 1
            }
        };
        let g = &mut bucket[gi];
        let newest = g.newest.max(t);
        if g.newest != i64::MIN && t <= newest.saturating_sub(self.timespan) {
            self.late += 1;
            return None;
        }
        let entry = Entry {
            member,
            pos,
            number,
            distinct,
        };
        // Keep entries in time order; in a sorted hunt this is always a push at the back.
        let at = g.entries.partition_point(|e| e.member.time <= t);
        g.entries.insert(at, entry);
        g.newest = newest;
        add_counts(g, pos, number, distinct);
        // Expire what has left the window (start, newest].
        let start = newest.saturating_sub(self.timespan);
        while let Some(front) = g.entries.front() {
            if front.member.time > start {
                break;
            }
            let e = g.entries.pop_front().unwrap();
            remove_counts(g, e.pos, e.number, e.distinct);
        }
        let value = match self.kind {
            CorrelationType::EventCount => g.entries.len() as f64,
            CorrelationType::ValueCount => g.distinct.len() as f64,
            CorrelationType::Temporal => g.per_source.iter().filter(|&&n| n > 0).count() as f64,
            CorrelationType::TemporalOrdered => {
                ordered_prefix(&g.entries, self.sources.len()) as f64
            }
            CorrelationType::ValueSum => g.sum,
            CorrelationType::ValueAvg => {
                if g.numbers == 0 {
                    return None;
                }
                g.sum / g.numbers as f64
            }
            CorrelationType::ValuePercentile => {
                let mut v: Vec<f64> = g.entries.iter().filter_map(|e| e.number).collect();
                if v.is_empty() {
                    return None;
                }
                v.sort_by(f64::total_cmp);
                percentile(&v, self.percentile)
            }
        };
        if !self.ops.iter().all(|(op, x)| op.test(value, *x)) {
            return None;
        }
        let members: Vec<Member> = g
            .entries
            .iter()
            .take(MAX_MEMBERS)
            .map(|e| e.member)
            .collect();
        let firing = Firing {
            correlation: ci,
            start,
            end: newest,
            group: self
                .group_names
                .iter()
                .cloned()
                .zip(g.values.iter().cloned())
                .collect(),
            value,
            more_members: g.entries.len().saturating_sub(MAX_MEMBERS),
            members,
        };
        // Start again: a continuous flood fires once per window.
        g.entries.clear();
        g.distinct.clear();
        g.sum = 0.0;
        g.numbers = 0;
        g.per_source.iter_mut().for_each(|n| *n = 0);
        Some(firing)
    }

    /// Drops groups whose newest match is older than one timespan before `now`.
    fn sweep(&mut self, now: i64) {
        let limit = now.saturating_sub(self.timespan);
        let live: usize = self.groups.values().map(Vec::len).sum();
        self.peak_groups = self.peak_groups.max(live);
        self.groups.retain(|_, bucket| {
            bucket.retain(|g| g.newest > limit && !g.entries.is_empty());
            !bucket.is_empty()
        });
    }
}

fn add_counts(g: &mut Group, pos: usize, number: Option<f64>, distinct: Option<u64>) {
    g.per_source[pos] += 1;
    if let Some(n) = number {
        g.sum += n;
        g.numbers += 1;
    }
    if let Some(d) = distinct {
        *g.distinct.entry(d).or_default() += 1;
    }
}

fn remove_counts(g: &mut Group, pos: usize, number: Option<f64>, distinct: Option<u64>) {
    g.per_source[pos] = g.per_source[pos].saturating_sub(1);
    if let Some(n) = number {
        g.sum -= n;
        g.numbers -= 1;
    }
    if let Some(d) = distinct
        && let Some(c) = g.distinct.get_mut(&d)
    {
        *c -= 1;
        if *c == 0 {
            g.distinct.remove(&d);
        }
    }
}

/// How many of the sources `0, 1, ..` appear in that order, at strictly increasing times.
fn ordered_prefix(entries: &VecDeque<Entry>, n: usize) -> usize {
    let mut want = 0;
    let mut last = i64::MIN;
    for e in entries {
        if want < n && e.pos == want && e.member.time > last {
            last = e.member.time;
            want += 1;
        }
    }
    want
}

/// The `p`-th percentile (0-100) of sorted values, with linear interpolation.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let p = p.clamp(0.0, 100.0) / 100.0;
    let rank = p * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates() {
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.5);
        assert_eq!(percentile(&[10.0], 90.0), 10.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 100.0), 3.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 0.0), 1.0);
    }
}
