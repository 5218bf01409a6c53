//! The compiled rule set and its evaluation over events.
//!
//! Rules are compiled once per log source they run on ("variants", with that source's field
//! renames applied) and indexed by route (the event's stream, or the format that decoded it)
//! and event code, so an event only meets the rules of its own source. Within that bucket a
//! literal prefilter ([`prefilter`]) decides which rules can possibly match, and only those are
//! evaluated ([`eval`]).

mod compile;
mod cost;
mod eval;
mod literals;
mod prefilter;

use crate::fields::{FieldTable, FxBuild, Sym};
use crate::mapping::Mapping;
use crate::rules::RuleInfo;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use compile::{Target, Variant, compile_variant, required_event_ids};
use dwell_core::{Event, Gate, NO_SYM, Resolver, Section};
use dwell_sigma::Rule;
use dwell_sigma::pattern::fold_into;
use eval::{chain, eval_item, fold_all, fold_field, link, positive_searches, value_matches};
use prefilter::{Bucket, Need, Spec, build_bucket, collect, need_variant};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use cost::{Costly, costly};

/// A rule whose log source no mapping covers.
#[derive(Debug, Clone)]
pub struct Unmapped {
    /// Index of the rule.
    pub rule: usize,
    /// Why it does not run.
    pub reason: String,
}

/// The buckets of one route: per event code, and for every code.
#[derive(Default)]
struct RouteIndex {
    by_id: HashMap<u32, u32, FxBuild>,
    any: Option<u32>,
}

/// The compiled rules.
pub struct Engine {
    /// The rules, in the order they were given (their index is their number everywhere).
    pub rules: Vec<RuleInfo>,
    /// The buckets each rule is evaluated in.
    rule_buckets: Vec<Vec<u32>>,
    variants: Vec<Variant>,
    table: FieldTable,
    /// Buckets by folded stream (channel) name.
    streams: HashMap<Box<str>, RouteIndex>,
    /// Buckets by format name (mapping entries with `format:`).
    formats: HashMap<Box<str>, RouteIndex>,
    buckets: Vec<Bucket>,
    max_searches: usize,
    raw_filters: Mutex<HashMap<Vec<String>, Arc<AhoCorasick>>>,
    /// This engine's [`Resolver::identity`].
    identity: u64,
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

/// Where a mapping entry sends its rules: a stream (folded) or a format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Route {
    Stream(String),
    Format(String),
}

/// At most four buckets apply to one event: its route's bucket for its code and the one for
/// every code, for its stream and for its format.
type Applicable = [Option<u32>; 4];

impl Engine {
    /// Compiles `rules` against `mapping`. Rules whose log source the mapping does not cover
    /// are kept (for reporting) but never evaluated; they are listed in the second result.
    pub fn new(rules: Vec<Rule>, mapping: &Mapping) -> (Engine, Vec<Unmapped>) {
        let mut table = FieldTable::default();
        let mut infos = Vec::with_capacity(rules.len());
        let mut rule_buckets = Vec::with_capacity(rules.len());
        let mut variants = Vec::new();
        let mut unmapped = Vec::new();
        let mut bucket_of: HashMap<(Route, Option<u32>), u32> = HashMap::new();
        let mut buckets: Vec<Bucket> = Vec::new();
        let mut members: Vec<Vec<u32>> = Vec::new();
        let mut max_searches = 1;

        for (ri, rule) in rules.into_iter().enumerate() {
            infos.push(RuleInfo::of_rule(&rule));
            let mut mine: Vec<u32> = Vec::new();
            let sources = mapping.for_rule(&rule.logsource);
            if sources.is_empty() {
                unmapped.push(Unmapped {
                    rule: ri,
                    reason: format!(
                        "no log-source mapping for {}: dwell does not know which events it covers",
                        rule.logsource
                    ),
                });
                rule_buckets.push(mine);
                continue;
            }
            max_searches = max_searches.max(rule.detection.searches.len());
            let rule_ids = required_event_ids(&rule.detection.condition, &rule.detection.searches);
            for src in sources {
                let v = compile_variant(ri as u32, &rule, src, &mut table);
                let vid = variants.len() as u32;
                variants.push(v);
                // A rule that only matches some codes is indexed under them, so the other
                // events of its stream never meet it.
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
                let routes: Vec<(Route, String)> = match &src.format {
                    Some(f) => vec![(Route::Format(f.clone()), format!("format:{f}"))],
                    None => src
                        .channels
                        .iter()
                        .map(|ch| {
                            (
                                Route::Stream(dwell_sigma::pattern::fold(ch).into_owned()),
                                ch.clone(),
                            )
                        })
                        .collect(),
                };
                for (route, shown) in routes {
                    for &id in &ids {
                        let b = *bucket_of.entry((route.clone(), id)).or_insert_with(|| {
                            buckets.push(Bucket {
                                route: shown.clone(),
                                event_id: id,
                                ..Bucket::default()
                            });
                            members.push(Vec::new());
                            (buckets.len() - 1) as u32
                        });
                        members[b as usize].push(vid);
                        if !mine.contains(&b) {
                            mine.push(b);
                        }
                    }
                }
            }
            rule_buckets.push(mine);
        }

        let mut streams: HashMap<Box<str>, RouteIndex> = HashMap::new();
        let mut formats: HashMap<Box<str>, RouteIndex> = HashMap::new();
        for ((route, id), b) in &bucket_of {
            let idx = match route {
                Route::Stream(s) => streams.entry(s.clone().into_boxed_str()).or_default(),
                Route::Format(f) => formats.entry(f.clone().into_boxed_str()).or_default(),
            };
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
                rule_buckets,
                variants,
                table,
                streams,
                formats,
                buckets,
                max_searches,
                raw_filters: Mutex::new(HashMap::new()),
                identity: {
                    static NEXT: std::sync::atomic::AtomicU64 =
                        std::sync::atomic::AtomicU64::new(1);
                    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                },
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

    /// Number of buckets.
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// The route (stream, or `format:NAME`) and event code of a bucket.
    pub fn bucket(&self, b: u32) -> (&str, Option<u32>) {
        let b = &self.buckets[b as usize];
        (&b.route, b.event_id)
    }

    /// The buckets rule `rule` is evaluated in.
    pub fn rule_buckets(&self, rule: u32) -> &[u32] {
        &self.rule_buckets[rule as usize]
    }

    /// Evaluates every applicable rule on `ev`; pushes the indexes of the rules that match to
    /// `hits`, in ascending order, each once.
    pub fn scan(&self, ev: &Event, sc: &mut Scratch, hits: &mut Vec<u32>) {
        hits.clear();
        let applicable = self.routed(ev, sc);
        if applicable.iter().all(Option::is_none) {
            return;
        }
        self.prepare(ev, sc);
        for b in applicable.into_iter().flatten() {
            self.run_bucket(&self.buckets[b as usize], ev, sc, hits);
        }
        hits.sort_unstable();
        hits.dedup();
    }

    /// Finds the buckets of the rules that apply to `ev` and counts the event in each (what
    /// coverage reports as events checked), without evaluating any rule: `scan` without the
    /// rules, for `hunt --parse-only`. True when some rule applies.
    pub fn route(&self, ev: &Event, sc: &mut Scratch) -> bool {
        self.routed(ev, sc).iter().any(Option::is_some)
    }

    fn routed(&self, ev: &Event, sc: &mut Scratch) -> Applicable {
        let applicable = self.buckets_for(ev);
        for &b in applicable.iter().flatten() {
            sc.bucket_events[b as usize] += 1;
        }
        applicable
    }

    /// What the parser should keep of an event, knowing its header and its raw JSON text:
    /// nothing more when no rule applies; everything when a rule that applies names a field
    /// by dotted path, or when a keyword rule might match (keywords search every value; an
    /// empty `raw` means the format has no text to look in, so one might); otherwise only the
    /// fields rules name.
    pub fn gate(&self, ev: &Event, raw: &[u8]) -> Gate {
        let applicable = self.buckets_for(ev);
        if applicable.iter().all(Option::is_none) {
            return Gate::Skip;
        }
        if applicable
            .iter()
            .flatten()
            .any(|&b| self.buckets[b as usize].dotted)
        {
            return Gate::All;
        }
        for b in applicable.into_iter().flatten() {
            let b = &self.buckets[b as usize];
            if !b.keywords {
                continue;
            }
            if raw.is_empty() {
                return Gate::All;
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

    /// The buckets for the event's stream and format, by code and for every code.
    fn buckets_for(&self, ev: &Event) -> Applicable {
        let mut out: Applicable = [None; 4];
        let code = ev.code();
        if let Some(stream) = ev.stream() {
            let mut buf = [0u8; 128];
            let index = if stream.len() <= buf.len() && stream.is_ascii() {
                let key = &mut buf[..stream.len()];
                key.copy_from_slice(stream.as_bytes());
                key.make_ascii_lowercase();
                // ASCII lowercasing keeps the bytes valid UTF-8.
                std::str::from_utf8(key)
                    .ok()
                    .and_then(|k| self.streams.get(k))
            } else {
                let mut key = String::with_capacity(stream.len());
                fold_into(stream, &mut key);
                self.streams.get(key.as_str())
            };
            if let Some(index) = index {
                out[0] = code.and_then(|id| index.by_id.get(&id).copied());
                out[1] = index.any;
            }
        }
        if !self.formats.is_empty()
            && let Some(index) = self.formats.get(ev.format)
        {
            out[2] = code.and_then(|id| index.by_id.get(&id).copied());
            out[3] = index.any;
        }
        out
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
        // Paths resolved by the format too: no lookups by text.
        if ev.resolved && ev.path_syms.len() == n {
            for (i, f) in ev.fields.iter().enumerate() {
                let mut used = false;
                if f.sym != NO_SYM {
                    link(sc, f.sym, i, f.section, false);
                    used = true;
                }
                let s = ev.path_syms[i];
                if f.path != f.name && s != NO_SYM {
                    link(sc, s, i, f.section, true);
                    used = true;
                }
                if used {
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
                    // Keywords: one scan over every folded value at once, rather than one per
                    // field. A match that spans two values only adds a candidate, which
                    // evaluation then rejects; none is missed.
                    fold_all(ev, sc);
                    collect(p, &sc.fold_buf, &mut sc.stamp, sc.epoch, &mut sc.cands);
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
    /// uses positively), for the analyst's "why did this fire". Of a field with several values
    /// (an array), the first value that matches is shown.
    pub fn explain(&self, rule: u32, ev: &Event, sc: &mut Scratch) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        self.prepare(ev, sc);
        fold_all(ev, sc);
        let Some(v) = self
            .variants
            .iter()
            .filter(|v| v.rule == rule)
            .find(|v| self.eval_variant(v, ev, sc))
        else {
            return out;
        };
        let mut positive = Vec::new();
        positive_searches(&v.cond, false, &mut positive);
        for si in positive {
            for group in &v.searches[si] {
                if !group.iter().all(|it| eval_item(it, ev, sc)) {
                    continue;
                }
                for it in group {
                    let Target::Field(sym) = it.target else {
                        continue;
                    };
                    if it.negate || out.iter().any(|(n, _)| *n == it.name) {
                        continue;
                    }
                    // The chain runs from the last value to the first.
                    let mut values: Vec<usize> = chain(sc, sym).collect();
                    values.reverse();
                    let shown = values
                        .iter()
                        .copied()
                        .find(|&i| value_matches(it, ev, sc, i))
                        .or(values.first().copied());
                    if let Some(i) = shown {
                        let f = &ev.fields[i];
                        out.push((it.name.clone(), ev.text[f.value.range()].to_string()));
                    }
                }
            }
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

    fn identity(&self) -> Option<u64> {
        Some(self.identity)
    }
}
