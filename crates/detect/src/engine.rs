//! The compiled rule set and its evaluation over events.
//!
//! Rules are compiled once per log source they run on ("variants", with that source's field
//! renames applied) and indexed by (channel, EventID), so an event only meets the rules of its
//! own source. Within that bucket a literal prefilter decides which rules can possibly match:
//! each rule contributes the literals one of which must occur in some field for it to match,
//! one Aho-Corasick automaton per field finds them all in one pass, and only rules whose
//! literals were found (or that have none) are evaluated.

use crate::fields::{FieldTable, FxBuild, Sym};
use crate::mapping::{Mapping, Source};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use dwell_ingest::{Event, Gate, Kind, NO_SYM, Resolver, Section};
use dwell_sigma::pattern::{StrKind, fold_into};
use dwell_sigma::{Cond, Item, LogSource, Matcher, Meta, Origin, RefMode, Rule, Value, ValueKind};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

/// Literals shorter than this are too common to narrow anything down.
const MIN_LITERAL: usize = 3;

/// A rule as the engine keeps it for reporting.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    pub meta: Meta,
    pub logsource: LogSource,
    pub origin: Origin,
    pub filters: Vec<String>,
    /// Buckets (channel, EventID) this rule is evaluated in.
    pub buckets: Vec<u32>,
}

/// A rule whose log source no mapping covers.
#[derive(Debug, Clone)]
pub struct Unmapped {
    pub rule: usize,
    pub reason: String,
}

#[derive(Debug, Clone)]
enum Target {
    Field(Sym),
    Keyword,
}

#[derive(Debug, Clone)]
enum CMatcher {
    M(Matcher),
    Ref {
        sym: Sym,
        mode: RefMode,
        cased: bool,
    },
}

#[derive(Debug, Clone)]
struct CItem {
    target: Target,
    /// The field as the rule names it, for explanations.
    name: String,
    values: Vec<Vec<CMatcher>>,
    all: bool,
    negate: bool,
}

#[derive(Debug, Clone)]
struct Variant {
    rule: u32,
    searches: Vec<Vec<Vec<CItem>>>,
    cond: Cond,
    /// Conditions of the log source itself (e.g. `EventType: CreateKey`).
    gate: Vec<CItem>,
    has_keywords: bool,
}

/// One automaton over one field (or over every field, for keywords), and for each of its
/// patterns the variants that need it.
struct Prefilter {
    target: Option<Sym>,
    ac: AhoCorasick,
    owners: Vec<Vec<u32>>,
}

#[derive(Default)]
struct Bucket {
    channel: String,
    event_id: Option<u32>,
    always: Vec<u32>,
    /// The literals per target; their automata are built the first time an event of this
    /// bucket arrives, so start-up does not pay for sources the logs do not contain.
    specs: Vec<Spec>,
    prefilters: OnceLock<Vec<Prefilter>>,
    keywords: bool,
    /// For rules with keyword searches (which need every value of an event): the literals
    /// they need as they appear in JSON text, found in a record's raw text before it is
    /// parsed; `None` when some such rule needs every event.
    raw_keywords: Option<Vec<String>>,
    raw_filter: OnceLock<Option<Arc<AhoCorasick>>>,
}

/// The literals of one prefilter, in pattern order, and the variants needing each.
struct Spec {
    target: Option<Sym>,
    patterns: Vec<String>,
    owners: Vec<Vec<u32>>,
}

impl Spec {
    fn build(&self) -> Prefilter {
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(self.patterns.iter().map(|l| l.as_bytes()))
            .expect("literal prefilter builds");
        Prefilter {
            target: self.target,
            ac,
            owners: self.owners.clone(),
        }
    }
}

#[derive(Default)]
struct ChannelIndex {
    by_id: HashMap<u32, u32, FxBuild>,
    any: Option<u32>,
}

/// The compiled rules.
pub struct Engine {
    pub rules: Vec<RuleInfo>,
    variants: Vec<Variant>,
    table: FieldTable,
    channels: HashMap<Box<str>, ChannelIndex>,
    buckets: Vec<Bucket>,
    max_searches: usize,
    raw_filters: Mutex<HashMap<Vec<String>, Arc<AhoCorasick>>>,
}

/// Per-thread working memory for [`Engine::scan`]. Reused across events.
pub struct Scratch {
    /// sym -> (field index + 1) | PATH_BIT; 0 when absent.
    slot: Vec<u32>,
    slot_section: Vec<Section>,
    touched: Vec<Sym>,
    next: Vec<u32>,
    next_path: Vec<u32>,
    folded: Vec<(u32, u32)>,
    fold_buf: String,
    all_folded: bool,
    stamp: Vec<u32>,
    epoch: u32,
    cands: Vec<u32>,
    memo: Vec<u8>,
    /// Events seen per bucket (for coverage).
    pub bucket_events: Vec<u64>,
    /// Rule evaluations performed (for profiling the prefilter).
    pub evaluations: u64,
}

const PATH_BIT: u32 = 1 << 31;
const UNFOLDED: u32 = u32::MAX;

impl Engine {
    /// Compiles `rules` against `mapping`. Rules whose log source the mapping does not cover
    /// are kept (for reporting) but never evaluated; they are listed in the second result.
    pub fn new(rules: Vec<Rule>, mapping: &Mapping) -> (Engine, Vec<Unmapped>) {
        let mut table = FieldTable::default();
        let channel_sym = table.intern("Channel");
        let id_sym = table.intern("EventID");
        debug_assert_eq!((channel_sym, id_sym), (0, 1));
        let mut infos = Vec::with_capacity(rules.len());
        let mut variants = Vec::new();
        let mut unmapped = Vec::new();
        // (folded channel, event id) -> bucket
        let mut bucket_of: HashMap<(String, Option<u32>), u32> = HashMap::new();
        let mut buckets: Vec<Bucket> = Vec::new();
        let mut members: Vec<Vec<u32>> = Vec::new();
        let mut max_searches = 1;

        for (ri, rule) in rules.into_iter().enumerate() {
            let sources = mapping.for_rule(&rule.logsource);
            let mut info = RuleInfo {
                meta: rule.meta.clone(),
                logsource: rule.logsource.clone(),
                origin: rule.origin.clone(),
                filters: rule.filters.clone(),
                buckets: Vec::new(),
            };
            if sources.is_empty() {
                unmapped.push(Unmapped {
                    rule: ri,
                    reason: format!(
                        "no log-source mapping for {}: dwell does not know which events it covers",
                        rule.logsource
                    ),
                });
                infos.push(info);
                continue;
            }
            max_searches = max_searches.max(rule.detection.searches.len());
            let rule_ids = required_event_ids(&rule.detection.condition, &rule.detection.searches);
            for src in sources {
                let v = compile_variant(ri as u32, &rule, src, &mut table);
                let vid = variants.len() as u32;
                variants.push(v);
                // A rule that only matches some EventIDs is indexed under them, so the other
                // events of its channel never meet it.
                let ids: Vec<Option<u32>> = match (&src.event_ids, &rule_ids) {
                    (None, None) => vec![None],
                    (Some(ids), None) => ids.iter().map(|i| Some(*i)).collect(),
                    (None, Some(r)) => r.iter().map(|i| Some(*i)).collect(),
                    (Some(ids), Some(r)) => ids
                        .iter()
                        .filter(|i| r.contains(i))
                        .map(|i| Some(*i))
                        .collect(),
                };
                for ch in &src.channels {
                    let folded = dwell_sigma::pattern::fold(ch).into_owned();
                    let ids = ids.clone();
                    for id in ids {
                        let b = *bucket_of.entry((folded.clone(), id)).or_insert_with(|| {
                            buckets.push(Bucket {
                                channel: ch.clone(),
                                event_id: id,
                                ..Bucket::default()
                            });
                            members.push(Vec::new());
                            (buckets.len() - 1) as u32
                        });
                        members[b as usize].push(vid);
                        if !info.buckets.contains(&b) {
                            info.buckets.push(b);
                        }
                    }
                }
            }
            infos.push(info);
        }

        let mut channels: HashMap<Box<str>, ChannelIndex> = HashMap::new();
        for ((ch, id), b) in &bucket_of {
            let idx = channels.entry(ch.clone().into_boxed_str()).or_default();
            match id {
                Some(id) => {
                    idx.by_id.insert(*id, *b);
                }
                None => idx.any = Some(*b),
            }
        }
        let needs: Vec<Need> = variants.iter().map(need_variant).collect();
        for (b, vids) in members.into_iter().enumerate() {
            build_bucket(&mut buckets[b], &vids, &variants, &needs);
        }
        (
            Engine {
                rules: infos,
                variants,
                table,
                channels,
                buckets,
                max_searches,
                raw_filters: Mutex::new(HashMap::new()),
            },
            unmapped,
        )
    }

    /// Working memory sized for this engine, one per thread.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            slot: vec![0; self.table.len()],
            slot_section: vec![Section::Other; self.table.len()],
            touched: Vec::new(),
            next: Vec::new(),
            next_path: Vec::new(),
            folded: Vec::new(),
            fold_buf: String::new(),
            all_folded: false,
            stamp: vec![0; self.variants.len()],
            epoch: 0,
            cands: Vec::new(),
            memo: vec![0; self.max_searches],
            bucket_events: vec![0; self.buckets.len()],
            evaluations: 0,
        }
    }

    /// Number of (channel, EventID) buckets.
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// The channel and EventID of a bucket.
    pub fn bucket(&self, b: u32) -> (&str, Option<u32>) {
        let b = &self.buckets[b as usize];
        (&b.channel, b.event_id)
    }

    /// Evaluates every applicable rule on `ev`; pushes the indexes of the rules that match to
    /// `hits`, in ascending order, each once.
    pub fn scan(&self, ev: &Event, sc: &mut Scratch, hits: &mut Vec<u32>) {
        hits.clear();
        let (by_id, any) = self.buckets_for(ev);
        if by_id.is_none() && any.is_none() {
            return;
        }
        self.prepare(ev, sc);
        for b in [by_id, any].into_iter().flatten() {
            sc.bucket_events[b as usize] += 1;
            self.run_bucket(&self.buckets[b as usize], ev, sc, hits);
        }
        hits.sort_unstable();
        hits.dedup();
    }

    /// What the parser should keep of an event, knowing its System section and its raw JSON
    /// text: nothing more when no rule applies; everything when a keyword rule might match
    /// (keywords search every value); otherwise only the fields rules name.
    pub fn gate(&self, ev: &Event, raw: &[u8]) -> Gate {
        let (a, b) = self.buckets_for(ev);
        if a.is_none() && b.is_none() {
            return Gate::Skip;
        }
        if self.table.has_dotted() {
            return Gate::All;
        }
        for b in [a, b].into_iter().flatten() {
            let b = &self.buckets[b as usize];
            if !b.keywords {
                continue;
            }
            let filter = b.raw_filter.get_or_init(|| {
                b.raw_keywords.as_ref().map(|lits| {
                    // Rules for every Windows channel put the same literals in every bucket:
                    // build each distinct set once.
                    let mut cache = self.raw_filters.lock().unwrap_or_else(|e| e.into_inner());
                    cache
                        .entry(lits.clone())
                        .or_insert_with(|| {
                            Arc::new(
                                AhoCorasickBuilder::new()
                                    .ascii_case_insensitive(true)
                                    .build(lits)
                                    .expect("raw keyword filter builds"),
                            )
                        })
                        .clone()
                })
            });
            match filter {
                None => return Gate::All,
                Some(ac) if ac.is_match(raw) || may_hide_text(raw) => return Gate::All,
                Some(_) => {}
            }
        }
        Gate::Referenced
    }

    /// True when rules name fields by dotted path, so events must keep their paths.
    pub fn needs_paths(&self) -> bool {
        self.table.has_dotted()
    }

    /// The bucket for the event's (channel, EventID) and the one for its whole channel.
    fn buckets_for(&self, ev: &Event) -> (Option<u32>, Option<u32>) {
        let channel = ev.channel();
        let event_id = ev.event_id();
        let Some(channel) = channel else {
            return (None, None);
        };
        let mut buf = [0u8; 128];
        let index = if channel.len() <= buf.len() && channel.is_ascii() {
            let key = &mut buf[..channel.len()];
            key.copy_from_slice(channel.as_bytes());
            key.make_ascii_lowercase();
            // ASCII lowercasing keeps the bytes valid UTF-8.
            std::str::from_utf8(key)
                .ok()
                .and_then(|k| self.channels.get(k))
        } else {
            let mut key = String::with_capacity(channel.len());
            fold_into(channel, &mut key);
            self.channels.get(key.as_str())
        };
        let Some(index) = index else {
            return (None, None);
        };
        (
            event_id.and_then(|id| index.by_id.get(&id).copied()),
            index.any,
        )
    }

    /// Fills the symbol slots and folds the values rules look at.
    fn prepare(&self, ev: &Event, sc: &mut Scratch) {
        for &s in &sc.touched {
            sc.slot[s as usize] = 0;
        }
        sc.touched.clear();
        let n = ev.fields.len();
        sc.next.clear();
        sc.next.resize(n, 0);
        sc.next_path.clear();
        sc.next_path.resize(n, 0);
        sc.folded.clear();
        sc.folded.resize(n, (UNFOLDED, 0));
        sc.fold_buf.clear();
        sc.all_folded = false;
        let dotted = self.table.has_dotted();
        if ev.resolved && !dotted {
            for (i, f) in ev.fields.iter().enumerate() {
                if f.sym != NO_SYM {
                    link(sc, f.sym, i, f.section, false);
                    fold_field(ev, sc, i);
                }
            }
            return;
        }
        for (i, f) in ev.fields.iter().enumerate() {
            let mut used = false;
            if let Some(sym) = self.table.get(&ev.text[f.name.range()]) {
                link(sc, sym, i, f.section, false);
                used = true;
            }
            if dotted && f.path != f.name {
                let path = &ev.text[f.path.range()];
                if let Some(s) = self.table.get(path) {
                    link(sc, s, i, f.section, true);
                    used = true;
                }
            }
            if used {
                fold_field(ev, sc, i);
            }
        }
    }

    fn run_bucket(&self, b: &Bucket, ev: &Event, sc: &mut Scratch, hits: &mut Vec<u32>) {
        sc.epoch = sc.epoch.wrapping_add(1);
        if sc.epoch == 0 {
            sc.stamp.iter_mut().for_each(|s| *s = 0);
            sc.epoch = 1;
        }
        sc.cands.clear();
        sc.cands.extend_from_slice(&b.always);
        if b.keywords {
            fold_all(ev, sc);
        }
        let prefilters = b
            .prefilters
            .get_or_init(|| b.specs.iter().map(Spec::build).collect());
        for p in prefilters {
            match p.target {
                Some(sym) => {
                    let mut cur = sc.slot[sym as usize];
                    while cur != 0 {
                        let i = ((cur & !PATH_BIT) - 1) as usize;
                        let (s, l) = sc.folded[i];
                        let text = &sc.fold_buf[s as usize..(s + l) as usize];
                        collect(p, text, &mut sc.stamp, sc.epoch, &mut sc.cands);
                        cur = if cur & PATH_BIT != 0 {
                            sc.next_path[i]
                        } else {
                            sc.next[i]
                        };
                    }
                }
                None => {
                    for i in 0..ev.fields.len() {
                        if ev.fields[i].kind == Kind::Null {
                            continue;
                        }
                        let (s, l) = sc.folded[i];
                        let text = &sc.fold_buf[s as usize..(s + l) as usize];
                        collect(p, text, &mut sc.stamp, sc.epoch, &mut sc.cands);
                    }
                }
            }
        }
        let cands = std::mem::take(&mut sc.cands);
        for &vid in &cands {
            let v = &self.variants[vid as usize];
            sc.evaluations += 1;
            if self.eval_variant(v, ev, sc) {
                hits.push(v.rule);
            }
        }
        sc.cands = cands;
    }

    fn eval_variant(&self, v: &Variant, ev: &Event, sc: &mut Scratch) -> bool {
        if v.has_keywords {
            fold_all(ev, sc);
        }
        let mut memo = std::mem::take(&mut sc.memo);
        let n = v.searches.len();
        if memo.len() < n {
            memo.resize(n, 0);
        }
        memo[..n].fill(0);
        let scr: &Scratch = sc;
        let ok = v.gate.iter().all(|it| eval_item(it, ev, scr))
            && v.cond.eval(&mut |i| {
                if memo[i] == 0 {
                    let hit = v.searches[i]
                        .iter()
                        .any(|group| group.iter().all(|it| eval_item(it, ev, scr)));
                    memo[i] = if hit { 2 } else { 1 };
                }
                memo[i] == 2
            });
        sc.memo = memo;
        ok
    }

    /// The fields and values that made rule `rule` match `ev` (from the searches the condition
    /// uses positively), for the analyst's "why did this fire".
    pub fn explain(&self, rule: u32, ev: &Event, sc: &mut Scratch) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let variants: Vec<&Variant> = self.variants.iter().filter(|v| v.rule == rule).collect();
        self.prepare(ev, sc);
        fold_all(ev, sc);
        for v in variants {
            if !self.eval_variant(v, ev, sc) {
                continue;
            }
            let mut positive = Vec::new();
            positive_searches(&v.cond, false, &mut positive);
            for si in positive {
                for group in &v.searches[si] {
                    if !group.iter().all(|it| eval_item(it, ev, sc)) {
                        continue;
                    }
                    for it in group {
                        if it.negate {
                            continue;
                        }
                        if let Target::Field(sym) = it.target {
                            let cur = sc.slot[sym as usize];
                            if cur != 0 {
                                let i = ((cur & !PATH_BIT) - 1) as usize;
                                let f = &ev.fields[i];
                                let name = it.name.clone();
                                if !out.iter().any(|(n, _)| *n == name) {
                                    out.push((name, ev.text[f.value.range()].to_string()));
                                }
                            }
                        }
                    }
                }
            }
            break;
        }
        out
    }
}

/// True when raw JSON text may spell a value differently from how the value reads: `\u`
/// escapes, or characters that case-fold to ASCII letters (the Kelvin sign, the dotted
/// capital I). The raw keyword check cannot be trusted on such text.
fn may_hide_text(raw: &[u8]) -> bool {
    memchr::memmem::find(raw, b"\\u").is_some()
        || memchr::memmem::find(raw, "\u{212A}".as_bytes()).is_some()
        || memchr::memmem::find(raw, "\u{0130}".as_bytes()).is_some()
}

impl Resolver for Engine {
    #[inline]
    fn sym(&self, name: &str) -> Option<u32> {
        self.table.get(name)
    }
}

/// The EventIDs a detection can match at all, when its condition requires `EventID` to be one
/// of a known set (`None` when it does not say).
fn required_event_ids(c: &Cond, searches: &[dwell_sigma::Search]) -> Option<BTreeSet<u32>> {
    match c {
        Cond::Sel(i) => {
            let mut all = BTreeSet::new();
            for group in &searches[*i].groups {
                // Within an AND group, any EventID item constrains the group.
                let mut found: Option<BTreeSet<u32>> = None;
                for it in group {
                    if let Some(ids) = item_event_ids(it) {
                        found = Some(match found {
                            None => ids,
                            Some(f) => f.intersection(&ids).copied().collect(),
                        });
                    }
                }
                all.extend(found?);
            }
            Some(all)
        }
        Cond::Not(_) => None,
        Cond::And(xs) => xs
            .iter()
            .filter_map(|x| required_event_ids(x, searches))
            .reduce(|a, b| a.intersection(&b).copied().collect()),
        Cond::Or(xs) => {
            let mut all = BTreeSet::new();
            for x in xs {
                all.extend(required_event_ids(x, searches)?);
            }
            Some(all)
        }
    }
}

/// `EventID: 4624` or `EventID: [4624, 4625]` (no modifiers): the set of IDs.
fn item_event_ids(it: &Item) -> Option<BTreeSet<u32>> {
    if !it.field.as_deref()?.eq_ignore_ascii_case("EventID")
        || !it.modifiers.is_empty()
        || it.negate
        || it.values.is_empty()
    {
        return None;
    }
    let mut ids = BTreeSet::new();
    for alts in &it.values {
        for m in alts {
            match m {
                Matcher::Str(sm) => match &sm.kind {
                    StrKind::Exact(t) => ids.insert(t.parse::<u32>().ok()?),
                    _ => return None,
                },
                _ => return None,
            };
        }
    }
    Some(ids)
}

fn positive_searches(c: &Cond, negated: bool, out: &mut Vec<usize>) {
    match c {
        Cond::Sel(i) => {
            if !negated && !out.contains(i) {
                out.push(*i);
            }
        }
        Cond::Not(x) => positive_searches(x, !negated, out),
        Cond::And(xs) | Cond::Or(xs) => xs.iter().for_each(|x| positive_searches(x, negated, out)),
    }
}

#[inline]
fn collect(p: &Prefilter, text: &str, stamp: &mut [u32], epoch: u32, cands: &mut Vec<u32>) {
    for m in p.ac.find_overlapping_iter(text) {
        for &vid in &p.owners[m.pattern().as_usize()] {
            let s = &mut stamp[vid as usize];
            if *s != epoch {
                *s = epoch;
                cands.push(vid);
            }
        }
    }
}

#[inline]
fn link(sc: &mut Scratch, s: Sym, i: usize, section: Section, path: bool) {
    let slot = &mut sc.slot[s as usize];
    let tag = (i as u32 + 1) | if path { PATH_BIT } else { 0 };
    if *slot == 0 {
        *slot = tag;
        sc.slot_section[s as usize] = section;
        sc.touched.push(s);
    } else {
        let cur = sc.slot_section[s as usize];
        if section < cur {
            *slot = tag;
            sc.slot_section[s as usize] = section;
        } else if section == cur {
            // Same name twice in one section (an array): chain the values.
            if path {
                sc.next_path[i] = *slot;
            } else {
                sc.next[i] = *slot;
            }
            *slot = tag;
        }
    }
}

#[inline]
fn fold_field(ev: &Event, sc: &mut Scratch, i: usize) {
    if sc.folded[i].0 != UNFOLDED {
        return;
    }
    let start = sc.fold_buf.len();
    fold_into(&ev.text[ev.fields[i].value.range()], &mut sc.fold_buf);
    sc.folded[i] = (start as u32, (sc.fold_buf.len() - start) as u32);
}

fn fold_all(ev: &Event, sc: &mut Scratch) {
    if sc.all_folded {
        return;
    }
    for i in 0..ev.fields.len() {
        fold_field(ev, sc, i);
    }
    sc.all_folded = true;
}

#[inline]
fn value_at<'a>(ev: &'a Event, sc: &'a Scratch, i: usize) -> Value<'a> {
    let f = &ev.fields[i];
    let (s, l) = sc.folded[i];
    let raw = &ev.text[f.value.range()];
    Value {
        raw,
        folded: if s == UNFOLDED {
            raw
        } else {
            &sc.fold_buf[s as usize..(s + l) as usize]
        },
        kind: match f.kind {
            Kind::Str => ValueKind::Str,
            Kind::Num => ValueKind::Num,
            Kind::Bool => ValueKind::Bool,
            Kind::Null => ValueKind::Null,
        },
    }
}

/// Iterates the field indexes a slot chain holds.
struct Chain<'a> {
    cur: u32,
    sc: &'a Scratch,
}

impl Iterator for Chain<'_> {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.cur == 0 {
            return None;
        }
        let i = ((self.cur & !PATH_BIT) - 1) as usize;
        self.cur = if self.cur & PATH_BIT != 0 {
            self.sc.next_path[i]
        } else {
            self.sc.next[i]
        };
        Some(i)
    }
}

#[inline]
fn chain(sc: &Scratch, sym: Sym) -> Chain<'_> {
    Chain {
        cur: sc.slot[sym as usize],
        sc,
    }
}

fn eval_item(it: &CItem, ev: &Event, sc: &Scratch) -> bool {
    if it.values.is_empty() {
        // `field: []` (with or without `all`) never matches.
        return false;
    }
    let one = |m: &CMatcher| -> bool {
        match (&it.target, m) {
            (Target::Field(sym), CMatcher::M(m)) => {
                if sc.slot[*sym as usize] == 0 {
                    m.on_absent()
                } else {
                    chain(sc, *sym).any(|i| m.is_match(&value_at(ev, sc, i)))
                }
            }
            (
                Target::Field(sym),
                CMatcher::Ref {
                    sym: other,
                    mode,
                    cased,
                },
            ) => chain(sc, *sym).any(|i| {
                let a = value_at(ev, sc, i);
                chain(sc, *other).any(|j| {
                    let b = value_at(ev, sc, j);
                    if a.kind == ValueKind::Null || b.kind == ValueKind::Null {
                        return false;
                    }
                    let (x, y) = if *cased {
                        (a.raw, b.raw)
                    } else {
                        (a.folded, b.folded)
                    };
                    match mode {
                        RefMode::Equal => x == y,
                        RefMode::Contains => x.contains(y),
                        RefMode::Prefix => x.starts_with(y),
                        RefMode::Suffix => x.ends_with(y),
                    }
                })
            }),
            (Target::Keyword, CMatcher::M(m)) => (0..ev.fields.len())
                .any(|i| ev.fields[i].kind != Kind::Null && m.is_match(&value_at(ev, sc, i))),
            (Target::Keyword, CMatcher::Ref { .. }) => false,
        }
    };
    let value = |alts: &Vec<CMatcher>| alts.iter().any(one);
    let r = if it.all {
        it.values.iter().all(value)
    } else {
        it.values.iter().any(value)
    };
    r != it.negate
}

fn compile_item(item: &Item, renames: &[(String, String)], table: &mut FieldTable) -> CItem {
    let resolve = |name: &str, table: &mut FieldTable| -> Sym {
        let mapped = renames
            .iter()
            .find(|(from, _)| from.eq_ignore_ascii_case(name))
            .map_or(name, |(_, to)| to.as_str());
        table.intern(mapped)
    };
    let target = match &item.field {
        Some(f) => Target::Field(resolve(f, table)),
        None => Target::Keyword,
    };
    let values = item
        .values
        .iter()
        .map(|alts| {
            alts.iter()
                .map(|m| match m {
                    Matcher::FieldRef { field, mode, cased } => CMatcher::Ref {
                        sym: resolve(field, table),
                        mode: *mode,
                        cased: *cased,
                    },
                    other => CMatcher::M(other.clone()),
                })
                .collect()
        })
        .collect();
    CItem {
        target,
        name: item.field.clone().unwrap_or_default(),
        values,
        all: item.all,
        negate: item.negate,
    }
}

fn compile_variant(rule: u32, r: &Rule, src: &Source, table: &mut FieldTable) -> Variant {
    let mut has_keywords = false;
    let searches = r
        .detection
        .searches
        .iter()
        .map(|s| {
            s.groups
                .iter()
                .map(|g| {
                    g.iter()
                        .map(|it| {
                            has_keywords |= it.field.is_none();
                            compile_item(it, &src.fields, table)
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let gate = src
        .conditions
        .iter()
        .map(|(field, values)| CItem {
            target: Target::Field(table.intern(field)),
            name: field.clone(),
            values: values
                .iter()
                .map(|v| {
                    vec![CMatcher::M(Matcher::Str(
                        dwell_sigma::pattern::StrMatcher::new(
                            dwell_sigma::pattern::literal(v),
                            false,
                            None,
                        ),
                    ))]
                })
                .collect(),
            all: false,
            negate: false,
        })
        .collect();
    Variant {
        rule,
        searches,
        cond: r.detection.condition.clone(),
        gate,
        has_keywords,
    }
}

type Need = Option<Vec<(Option<Sym>, String)>>;

/// The literals one of which must be present for the variant to match, or `None` when no
/// such set can be derived (the variant is then always evaluated).
fn need_variant(v: &Variant) -> Need {
    need_cond(&v.cond, v)
}

fn need_cond(c: &Cond, v: &Variant) -> Need {
    match c {
        Cond::Sel(i) => {
            let mut all = Vec::new();
            for group in &v.searches[*i] {
                all.extend(best(group.iter().map(need_item))?);
            }
            Some(all)
        }
        Cond::Not(_) => None,
        Cond::And(xs) => best(xs.iter().map(|x| need_cond(x, v))),
        Cond::Or(xs) => {
            let mut all = Vec::new();
            for x in xs {
                all.extend(need_cond(x, v)?);
            }
            Some(all)
        }
    }
}

/// Of several alternative requirements (all of which hold), picks the most selective.
fn best(options: impl Iterator<Item = Need>) -> Need {
    options.flatten().max_by_key(|atoms| {
        let shortest = atoms
            .iter()
            .map(|(_, l)| l.len())
            .min()
            .unwrap_or(0)
            .min(12);
        (shortest, usize::MAX - atoms.len())
    })
}

fn need_item(it: &CItem) -> Need {
    if it.negate {
        return None;
    }
    let target = match it.target {
        Target::Field(s) => Some(s),
        Target::Keyword => None,
    };
    let value_need = |alts: &Vec<CMatcher>| -> Need {
        let mut out = Vec::new();
        for m in alts {
            match m {
                CMatcher::M(Matcher::Str(sm))
                    if sm.number.is_none() && !matches!(sm.kind, StrKind::Any) =>
                {
                    let lit = sm.longest_literal();
                    if lit.len() < MIN_LITERAL {
                        return None;
                    }
                    out.push((target, lit));
                }
                _ => return None,
            }
        }
        if out.is_empty() { None } else { Some(out) }
    };
    if it.all {
        best(it.values.iter().map(value_need))
    } else {
        let mut all = Vec::new();
        for alts in &it.values {
            all.extend(value_need(alts)?);
        }
        if all.is_empty() { None } else { Some(all) }
    }
}

fn build_bucket(b: &mut Bucket, vids: &[u32], variants: &[Variant], needs: &[Need]) {
    // Per target: literal -> pattern index, and the owners of each pattern.
    struct Lits {
        target: Option<Sym>,
        index: HashMap<String, usize>,
        owners: Vec<Vec<u32>>,
    }
    let mut per_target: Vec<Lits> = Vec::new();
    for &vid in vids {
        let v = &variants[vid as usize];
        b.keywords |= v.has_keywords;
        match &needs[vid as usize] {
            None => b.always.push(vid),
            Some(atoms) => {
                for (target, lit) in atoms {
                    let pos = match per_target.iter().position(|l| l.target == *target) {
                        Some(p) => p,
                        None => {
                            per_target.push(Lits {
                                target: *target,
                                index: HashMap::new(),
                                owners: Vec::new(),
                            });
                            per_target.len() - 1
                        }
                    };
                    let Lits { index, owners, .. } = &mut per_target[pos];
                    let idx = *index.entry(lit.clone()).or_insert_with(|| {
                        owners.push(Vec::new());
                        owners.len() - 1
                    });
                    if !owners[idx].contains(&vid) {
                        owners[idx].push(vid);
                    }
                }
                if atoms.iter().any(|(t, _)| t.is_none()) {
                    b.keywords = true;
                }
            }
        }
    }
    // Keyword rules, checked on raw JSON text: every literal they need, escaped as JSON
    // writes it. Literals JSON may write in more than one way ('/', non-ASCII, control
    // characters) cannot be checked that way, and then every event goes through in full.
    if b.keywords {
        let mut lits = Some(Vec::new());
        for &vid in vids {
            if !variants[vid as usize].has_keywords {
                continue;
            }
            match &needs[vid as usize] {
                None => lits = None,
                Some(atoms) => {
                    for (_, lit) in atoms {
                        let plain = lit
                            .bytes()
                            .all(|c| c.is_ascii() && !c.is_ascii_control() && c != b'/');
                        match (&mut lits, plain) {
                            (Some(l), true) => {
                                l.push(lit.replace('\\', "\\\\").replace('"', "\\\""))
                            }
                            _ => lits = None,
                        }
                    }
                }
            }
        }
        b.raw_keywords = lits;
    }
    b.always.sort_unstable();
    b.always.dedup();
    for Lits {
        target,
        index,
        owners,
    } in per_target
    {
        let mut patterns: Vec<(usize, String)> = index.into_iter().map(|(l, i)| (i, l)).collect();
        patterns.sort();
        b.specs.push(Spec {
            target,
            patterns: patterns.into_iter().map(|(_, l)| l).collect(),
            owners,
        });
    }
}
