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

use crate::fields::{Fx, FxBuild};
use crate::rules::RuleInfo;
use crate::state::{Put, StateError, Take};
use dwell_sigma::{CmpOp, Correlation, CorrelationType};
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

/// What produced a correlation input: a detection rule or another correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A detection rule, by index.
    Rule(u32),
    /// A correlation, by index among the correlations.
    Correlation(u32),
}

/// One match that took part in a firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// What produced it.
    pub source: Source,
    /// Nanoseconds since the Unix epoch.
    pub time: i64,
    /// Index into the run's input table.
    pub input: u32,
    /// Record or line.
    pub record: u64,
}

/// A correlation that fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    /// Index of the correlation among the correlations.
    pub correlation: u32,
    /// The window, `(start, end]`, in nanoseconds.
    pub start: i64,
    /// The end of the window (the time of the match that completed it).
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

/// The first bytes of saved correlation state (and its version).
const STATE_MAGIC: &[u8] = b"dwell-correlations-1\n";

/// Most matches listed in one firing.
pub const MAX_MEMBERS: usize = 1000;

/// One match in a window: 32 bytes, since a million groups may each hold several.
#[derive(Debug, Clone, Copy)]
struct Entry {
    time: i64,
    record: u64,
    input: u32,
    /// Position of the source in the correlation's `rules`.
    pos: u32,
    /// The numeric value (bits of an `f64`; NaN when absent) or the hash of the counted
    /// value(s) (0 when absent), depending on the correlation type.
    aux: u64,
}

/// What a group aggregates, depending on the correlation type.
#[derive(Debug, Clone)]
enum Agg {
    Count,
    PerSource(Box<[u32]>),
    Sum { sum: f64, n: u32 },
    Distinct(HashMap<u64, u32, FxBuild>),
}

impl Agg {
    /// An empty aggregate of the same kind.
    fn fresh(&self) -> Agg {
        match self {
            Agg::Count => Agg::Count,
            Agg::PerSource(p) => Agg::PerSource(vec![0; p.len()].into_boxed_slice()),
            Agg::Sum { .. } => Agg::Sum { sum: 0.0, n: 0 },
            Agg::Distinct(_) => Agg::Distinct(HashMap::default()),
        }
    }
}

/// One group's state. Its group-by values are not stored: a group is known by a 128-bit
/// fingerprint of them (see [`Compiled::fingerprint`]), and a firing takes the values from
/// the match that completed it, which has them by definition. That keeps a group to one
/// allocation (its entries), which matters with millions of them.
#[derive(Debug, Clone)]
struct Group {
    entries: VecDeque<Entry>,
    newest: i64,
    agg: Agg,
}

#[derive(Clone)]
struct Compiled {
    kind: CorrelationType,
    timespan: i64,
    sources: Vec<Source>,
    /// Per source: the event field of each group-by name (aliases resolved).
    group_fields: Vec<Vec<String>>,
    group_names: Vec<String>,
    /// Per group-by name: compared as the person an account belongs to (`dwell.person`).
    person: Vec<bool>,
    /// The condition's `field`s.
    value_fields: Vec<String>,
    ops: Vec<(CmpOp, f64)>,
    percentile: f64,
    groups: HashMap<u128, Group, FxBuild>,
    /// Keys half of each group fingerprint with a secret per run, so values chosen by
    /// someone writing to the logs cannot make two groups collide. Kept as two numbers,
    /// not a `RandomState`, so that saved state ([`Correlator::save`]) finds its groups again.
    secret: (u64, u64),
    /// What identifies this correlation across a restart or a rule reload: state saved under
    /// another definition is not restored into it.
    key: String,
    /// Matches since the last sweep, and how many to wait for: as many as the groups that
    /// survived it (at least 4,096), so sweeping costs a constant per match and the state
    /// holds at most twice the live groups plus 4,096.
    since_sweep: usize,
    sweep_after: usize,
    late: u64,
    peak_groups: usize,
}

/// Counters for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Matches that arrived after their window and were not counted.
    pub late: u64,
    /// Groups held now.
    pub live_groups: usize,
    /// Most groups held at once by one correlation.
    pub peak_groups: usize,
}

/// Correlation state for a rule set.
#[derive(Clone)]
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
            let id = (!r.id.is_empty()).then_some(r.id.as_str());
            for k in id.into_iter().chain(r.name.as_deref()) {
                by_key.insert(k, Source::Rule(i as u32));
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
            let key = definition_key(c, &sources);
            compiled.push(Compiled {
                kind: c.kind,
                timespan: (c.timespan_ms as i64).saturating_mul(1_000_000),
                sources,
                group_fields,
                group_names: c.group_by.clone(),
                person: c.group_by.iter().map(|g| c.persons.contains(g)).collect(),
                value_fields: c.condition.fields.clone(),
                ops,
                percentile: c.condition.percentile.unwrap_or(50.0),
                groups: HashMap::default(),
                secret: random_keys(),
                key,
                since_sweep: 0,
                sweep_after: 4096,
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

    /// How many correlations there are.
    pub fn len(&self) -> usize {
        self.corrs.len()
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
            s.live_groups += c.groups.len();
            s.peak_groups = s.peak_groups.max(c.peak_groups);
        }
        s
    }

    /// The correlation windows as they stand, for a checkpoint: restored by
    /// [`Correlator::restore`] into a correlator built from the same rules, the windows go
    /// on exactly where they were (the per-run keys of the group fingerprints included).
    pub fn save(&self) -> Vec<u8> {
        let mut p = Put::default();
        p.0.extend_from_slice(STATE_MAGIC);
        p.u64(self.corrs.len() as u64);
        for c in &self.corrs {
            p.str(&c.key);
            p.u64(c.secret.0);
            p.u64(c.secret.1);
            p.u64(c.late);
            p.u64(c.peak_groups as u64);
            p.u64(c.since_sweep as u64);
            p.u64(c.sweep_after as u64);
            p.u64(c.groups.len() as u64);
            // In fingerprint order, so equal state saves to equal bytes.
            let mut ids: Vec<&u128> = c.groups.keys().collect();
            ids.sort_unstable();
            for id in ids {
                let g = &c.groups[id];
                p.u64((*id >> 64) as u64);
                p.u64(*id as u64);
                p.i64(g.newest);
                p.u64(g.entries.len() as u64);
                for e in &g.entries {
                    p.i64(e.time);
                    p.u64(e.record);
                    p.u32(e.input);
                    p.u32(e.pos);
                    p.u64(e.aux);
                }
            }
        }
        p.0
    }

    /// Puts back what [`Correlator::save`] wrote. A correlation whose definition changed
    /// since (or that is new) starts empty; saved correlations no longer loaded are dropped.
    /// Returns how many correlations were restored. Damaged state is refused whole.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<usize, StateError> {
        let mut t = Take::new(bytes);
        t.magic(STATE_MAGIC)?;
        let n = t.count(8)?;
        let mut saved: HashMap<String, Compiled> = HashMap::new();
        for _ in 0..n {
            let key = t.str()?;
            let proto = self.corrs.iter().find(|c| c.key == key);
            let secret = (t.u64()?, t.u64()?);
            let late = t.u64()?;
            let peak_groups = t.u64()? as usize;
            let since_sweep = t.u64()? as usize;
            let sweep_after = t.u64()? as usize;
            let ng = t.count(32)?;
            let mut groups: HashMap<u128, Group, FxBuild> = HashMap::default();
            for _ in 0..ng {
                let id = ((t.u64()? as u128) << 64) | t.u64()? as u128;
                let newest = t.i64()?;
                let ne = t.count(32)?;
                let mut entries = VecDeque::with_capacity(ne);
                for _ in 0..ne {
                    entries.push_back(Entry {
                        time: t.i64()?,
                        record: t.u64()?,
                        input: t.u32()?,
                        pos: t.u32()?,
                        aux: t.u64()?,
                    });
                }
                if let Some(c) = proto {
                    if entries.iter().any(|e| e.pos as usize >= c.sources.len()) {
                        return Err(StateError(format!("{key}: a match of an unknown rule")));
                    }
                    // The aggregate follows from the entries, so it is not saved.
                    let mut agg = new_agg(c.kind, c.sources.len());
                    for e in &entries {
                        count(&mut agg, e, true);
                    }
                    groups.insert(
                        id,
                        Group {
                            entries,
                            newest,
                            agg,
                        },
                    );
                }
            }
            if proto.is_some() {
                saved.insert(
                    key.clone(),
                    Compiled {
                        secret,
                        late,
                        peak_groups,
                        since_sweep,
                        sweep_after,
                        groups,
                        ..Compiled::empty()
                    },
                );
            }
        }
        t.end()?;
        let mut restored = 0;
        for c in &mut self.corrs {
            if let Some(s) = saved.remove(&c.key) {
                c.secret = s.secret;
                c.late = s.late;
                c.peak_groups = s.peak_groups;
                c.since_sweep = s.since_sweep;
                c.sweep_after = s.sweep_after;
                c.groups = s.groups;
                restored += 1;
            }
        }
        Ok(restored)
    }

    /// Feeds one match; pushes the correlations it makes fire (and those their firings make
    /// fire, for correlations of correlations) to `out`. `field` gives the match's field values.
    pub fn push<'a>(
        &mut self,
        member: Member,
        field: &dyn Fn(&str) -> Option<&'a str>,
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
                    .and_then(|(_, v)| v.as_deref())
            };
            self.feed(m, &lookup, out, &mut queue);
        }
    }

    fn feed<'a>(
        &mut self,
        member: Member,
        field: &dyn Fn(&str) -> Option<&'a str>,
        out: &mut Vec<Firing>,
        queue: &mut Vec<Pending>,
    ) {
        // Taken out while feeding (no correlation adds consumers), so the hot path does not
        // clone the list for every match.
        let Some(consumers) = self.consumers.get_mut(&member.source).map(std::mem::take) else {
            return;
        };
        for &(ci, pos) in &consumers {
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
        if let Some(slot) = self.consumers.get_mut(&member.source) {
            *slot = consumers;
        }
    }
}

/// Two random 64-bit keys, from the standard library's per-process randomness.
fn random_keys() -> (u64, u64) {
    use std::hash::BuildHasher;
    let r = std::collections::hash_map::RandomState::new();
    (r.hash_one(0x5eed_u64), r.hash_one(0xfeed_u64))
}

/// A correlation's identity for saved state: its id (or name, or title), type, window, what it
/// consumes and how it groups. Any change to these makes its saved windows meaningless.
fn definition_key(c: &Correlation, sources: &[Source]) -> String {
    let name = c
        .meta
        .id
        .as_deref()
        .or(c.meta.name.as_deref())
        .unwrap_or(&c.meta.title);
    format!(
        "{name}|{:?}|{}|{:?}|{:?}|{:?}",
        c.kind, c.timespan_ms, sources, c.group_by, c.condition.ops
    )
}

/// An empty aggregate for a correlation of `kind` over `sources` rules.
fn new_agg(kind: CorrelationType, sources: usize) -> Agg {
    match kind {
        CorrelationType::EventCount => Agg::Count,
        CorrelationType::Temporal | CorrelationType::TemporalOrdered => {
            Agg::PerSource(vec![0; sources].into_boxed_slice())
        }
        CorrelationType::ValueSum
        | CorrelationType::ValueAvg
        | CorrelationType::ValuePercentile => Agg::Sum { sum: 0.0, n: 0 },
        CorrelationType::ValueCount => Agg::Distinct(HashMap::default()),
    }
}

impl Group {
    fn new(agg: Agg) -> Group {
        Group {
            entries: VecDeque::new(),
            newest: i64::MIN,
            agg,
        }
    }
}

/// Adds `entry` keeping `entries` in time order; in a sorted hunt it is always a push at the back.
fn insert_in_order(entries: &mut VecDeque<Entry>, entry: Entry) {
    let at = match entries.back() {
        Some(last) if last.time > entry.time => entries.partition_point(|e| e.time <= entry.time),
        _ => entries.len(),
    };
    if entries.len() == entries.capacity() {
        // Grow by a quarter, not by doubling: a million groups of a few matches each would
        // otherwise hold nearly twice the memory they use. At least two at a time, so
        // small groups do not reallocate on every match.
        let n = entries.len();
        entries.reserve_exact((n / 4).max(2));
    }
    if at == entries.len() {
        entries.push_back(entry);
    } else {
        entries.insert(at, entry);
    }
}

/// Drops the entries at or before `start` from the group and its aggregate.
fn expire(g: &mut Group, start: i64) {
    while let Some(front) = g.entries.front() {
        if front.time > start {
            break;
        }
        let e = g.entries.pop_front().unwrap();
        count(&mut g.agg, &e, false);
    }
}

/// The group's value for the condition, or `None` when it has none yet (an average or a
/// percentile of no numbers).
fn value_of(g: &Group, kind: CorrelationType, sources: usize, pct: f64) -> Option<f64> {
    Some(match (&g.agg, kind) {
        (_, CorrelationType::EventCount) => g.entries.len() as f64,
        (Agg::Distinct(d), _) => d.len() as f64,
        (Agg::PerSource(p), CorrelationType::Temporal) => {
            p.iter().filter(|&&n| n > 0).count() as f64
        }
        (_, CorrelationType::TemporalOrdered) => ordered_prefix(&g.entries, sources) as f64,
        (Agg::Sum { sum, .. }, CorrelationType::ValueSum) => *sum,
        (Agg::Sum { sum, n }, CorrelationType::ValueAvg) => {
            if *n == 0 {
                return None;
            }
            sum / *n as f64
        }
        _ => {
            let mut v: Vec<f64> = g
                .entries
                .iter()
                .map(|e| f64::from_bits(e.aux))
                .filter(|x| !x.is_nan())
                .collect();
            if v.is_empty() {
                return None;
            }
            v.sort_by(f64::total_cmp);
            percentile(&v, pct)
        }
    })
}

fn hash_values(values: &[Option<&str>]) -> u64 {
    let mut h = Fx::default();
    values.hash(&mut h);
    h.finish()
}

impl Compiled {
    /// A placeholder carrying only restored state.
    fn empty() -> Compiled {
        Compiled {
            kind: CorrelationType::EventCount,
            timespan: 0,
            sources: Vec::new(),
            group_fields: Vec::new(),
            group_names: Vec::new(),
            person: Vec::new(),
            value_fields: Vec::new(),
            ops: Vec::new(),
            percentile: 50.0,
            groups: HashMap::default(),
            secret: (0, 0),
            key: String::new(),
            since_sweep: 0,
            sweep_after: 4096,
            late: 0,
            peak_groups: 0,
        }
    }

    fn add<'a>(
        &mut self,
        ci: u32,
        pos: usize,
        member: Member,
        field: &dyn Fn(&str) -> Option<&'a str>,
    ) -> Option<Firing> {
        let t = member.time;
        self.since_sweep += 1;
        if self.since_sweep >= self.sweep_after {
            self.sweep(t);
            self.since_sweep = 0;
            self.sweep_after = self.groups.len().max(4096);
        }
        let owned: Vec<Option<std::borrow::Cow<'a, str>>> = self.group_fields[pos]
            .iter()
            .zip(&self.person)
            .map(|(f, person)| {
                field(f).map(|v| match person {
                    true => dwell_sigma::person_of(v).into(),
                    false => v.into(),
                })
            })
            .collect();
        let values: Vec<Option<&str>> = owned.iter().map(|v| v.as_deref()).collect();
        let aux = self.aux(field);
        let id = self.fingerprint(&values);
        self.peak_groups = self.peak_groups.max(self.groups.len() + 1);
        let timespan = self.timespan;
        let (kind, sources) = (self.kind, self.sources.len());
        let g = self
            .groups
            .entry(id)
            .or_insert_with(|| Group::new(new_agg(kind, sources)));
        let newest = g.newest.max(t);
        if g.newest != i64::MIN && t <= newest.saturating_sub(timespan) {
            self.late += 1;
            return None;
        }
        let entry = Entry {
            time: t,
            record: member.record,
            input: member.input,
            pos: pos as u32,
            aux,
        };
        insert_in_order(&mut g.entries, entry);
        g.newest = newest;
        count(&mut g.agg, &entry, true);
        // Expire what has left the window (start, newest].
        let start = newest.saturating_sub(timespan);
        expire(g, start);
        let value = value_of(g, kind, sources, self.percentile)?;
        if !self.ops.iter().all(|(op, x)| op.test(value, *x)) {
            return None;
        }
        let members: Vec<Member> = g
            .entries
            .iter()
            .take(MAX_MEMBERS)
            .map(|e| Member {
                source: self.sources[e.pos as usize],
                time: e.time,
                input: e.input,
                record: e.record,
            })
            .collect();
        let firing = Firing {
            correlation: ci,
            start,
            end: newest,
            group: self
                .group_names
                .iter()
                .cloned()
                .zip(values.iter().map(|v| v.map(str::to_string)))
                .collect(),
            value,
            more_members: g.entries.len().saturating_sub(MAX_MEMBERS),
            members,
        };
        // Start again: a continuous flood fires once per window.
        g.entries.clear();
        g.agg = g.agg.fresh();
        Some(firing)
    }

    /// What an entry carries besides its time: the summed value (as f64 bits, NaN when the
    /// field is missing or not a number), or a hash of the counted values (0 when missing).
    fn aux<'a>(&self, field: &dyn Fn(&str) -> Option<&'a str>) -> u64 {
        match self.kind {
            CorrelationType::ValueSum
            | CorrelationType::ValueAvg
            | CorrelationType::ValuePercentile => self
                .value_fields
                .first()
                .and_then(|f| field(f))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .unwrap_or(f64::NAN)
                .to_bits(),
            CorrelationType::ValueCount => {
                let vals: Vec<Option<&str>> = self.value_fields.iter().map(|f| field(f)).collect();
                // Events without the counted field are not counted.
                if vals.iter().any(Option::is_none) {
                    0
                } else {
                    hash_values(&vals).max(1)
                }
            }
            _ => 0,
        }
    }

    /// A group's identity: a fast hash and a keyed SipHash of its values, 128 bits, so two
    /// groups share one with probability about 2^-64 even for chosen values.
    fn fingerprint(&self, values: &[Option<&str>]) -> u128 {
        // SipHash-2-4 with explicit keys: std's only keyed hasher whose keys can be saved.
        #[allow(deprecated)]
        let mut h = std::hash::SipHasher::new_with_keys(self.secret.0, self.secret.1);
        values.hash(&mut h);
        ((h.finish() as u128) << 64) | hash_values(values) as u128
    }

    /// Drops groups whose newest match is older than one timespan before `now`.
    fn sweep(&mut self, now: i64) {
        let limit = now.saturating_sub(self.timespan);
        self.peak_groups = self.peak_groups.max(self.groups.len());
        self.groups
            .retain(|_, g| g.newest > limit && !g.entries.is_empty());
    }
}

/// Adds (or removes) an entry's contribution to a group's aggregate.
fn count(agg: &mut Agg, e: &Entry, add: bool) {
    match agg {
        Agg::Count => {}
        Agg::PerSource(p) => {
            let c = &mut p[e.pos as usize];
            *c = if add { *c + 1 } else { c.saturating_sub(1) };
        }
        Agg::Sum { sum, n } => {
            let x = f64::from_bits(e.aux);
            if !x.is_nan() {
                if add {
                    *sum += x;
                    *n += 1;
                } else {
                    *sum -= x;
                    *n -= 1;
                }
            }
        }
        Agg::Distinct(d) => {
            if e.aux != 0 {
                if add {
                    *d.entry(e.aux).or_default() += 1;
                } else if let Some(c) = d.get_mut(&e.aux) {
                    *c -= 1;
                    if *c == 0 {
                        d.remove(&e.aux);
                    }
                }
            }
        }
    }
}

/// How many of the sources `0, 1, ..` appear in that order, at strictly increasing times.
fn ordered_prefix(entries: &VecDeque<Entry>, n: usize) -> usize {
    let mut want = 0;
    let mut last = i64::MIN;
    for e in entries {
        if want < n && e.pos as usize == want && e.time > last {
            last = e.time;
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
