//! The literal prefilter: for each rule variant, the literals one of which must occur for it
//! to match; per bucket and field, one Aho-Corasick automaton over all of them, so that only
//! the rules whose literals occur in an event are evaluated.

use super::compile::{CItem, CMatcher, Target, Variant};
use super::literals::needed;
use crate::fields::Sym;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use dwell_sigma::Cond;
use dwell_sigma::Matcher;
use dwell_sigma::pattern::StrKind;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// One automaton over one field (or over every field, for keywords), and for each of its
/// patterns the variants that need it.
pub(super) struct Prefilter {
    pub(super) target: Option<Sym>,
    ac: AhoCorasick,
    owners: Vec<Vec<u32>>,
}

#[derive(Default)]
pub(super) struct Bucket {
    /// The stream (channel) or `format:NAME` the bucket routes by.
    pub(super) route: String,
    pub(super) event_id: Option<u32>,
    pub(super) always: Vec<u32>,
    /// The literals per target; their automata are built the first time an event of this
    /// bucket arrives, so start-up does not pay for sources the logs do not contain.
    pub(super) specs: Vec<Spec>,
    pub(super) prefilters: OnceLock<Vec<Prefilter>>,
    pub(super) keywords: bool,
    /// Some rule here names a field by a dotted path: its events are read in full.
    pub(super) dotted: bool,
    /// For rules with keyword searches (which need every value of an event): the literals
    /// they need as they appear in JSON text, found in a record's raw text before it is
    /// parsed; `None` when some such rule needs every event.
    pub(super) raw_keywords: Option<Vec<String>>,
    pub(super) raw_filter: OnceLock<Option<Arc<AhoCorasick>>>,
}

/// The literals of one prefilter, in pattern order, and the variants needing each.
pub(super) struct Spec {
    target: Option<Sym>,
    patterns: Vec<String>,
    owners: Vec<Vec<u32>>,
}

/// Total pattern bytes up to which a prefilter is a DFA (see [`Spec::build`]).
const DFA_PATTERN_BYTES: usize = 64 << 10;

impl Spec {
    pub(super) fn build(&self) -> Prefilter {
        // A DFA scans several times faster than the NFA the crate picks for more than a
        // hundred patterns, at a memory cost that grows with the patterns' total length: used
        // up to a bound, beyond which (rule sets built to be hostile) the NFA is kept.
        let bytes: usize = self.patterns.iter().map(String::len).sum();
        let kind = (bytes <= DFA_PATTERN_BYTES).then_some(AhoCorasickKind::DFA);
        // The crate's own prefilter (rare bytes) restarts at every overlapping match, which
        // costs more than the DFA's byte-at-a-time walk on short event values.
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .prefilter(kind.is_none())
            .build(self.patterns.iter().map(|l| l.as_bytes()))
            .expect("literal prefilter builds");
        Prefilter {
            target: self.target,
            ac,
            owners: self.owners.clone(),
        }
    }
}

#[inline]
pub(super) fn collect(
    p: &Prefilter,
    text: &str,
    stamp: &mut [u32],
    epoch: u32,
    cands: &mut Vec<u32>,
) {
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

/// Literals, each with the field it must be found in (`None`: any, for keywords) and whether it
/// is a field's whole value.
pub(super) type Need = Option<Vec<(Option<Sym>, String, bool)>>;

/// The literals one of which must be present for the variant to match, or `None` when no
/// such set can be derived (the variant is then always evaluated).
pub(super) fn need_variant(v: &Variant) -> Need {
    need_cond(&v.cond, v)
}

pub(super) fn need_cond(c: &Cond, v: &Variant) -> Need {
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
pub(super) fn best(options: impl Iterator<Item = Need>) -> Need {
    options.flatten().max_by_key(|atoms| {
        let shortest = atoms
            .iter()
            .map(|(_, l, exact)| selectivity(l, *exact))
            .min()
            .unwrap_or(0);
        (shortest, usize::MAX - atoms.len())
    })
}

/// How rare a literal is likely to be, by its length; a short whole value (an HTTP method, a
/// flag, a small number) is a field's common value rather than a rare one, and comes last, so
/// that `cs-method: GET and keywords` is found by its keywords, not by every GET.
fn selectivity(lit: &str, exact: bool) -> usize {
    if exact && lit.len() <= 4 {
        1
    } else {
        lit.len().min(12)
    }
}

pub(super) fn need_item(it: &CItem) -> Need {
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
            let exact =
                matches!(m, CMatcher::M(Matcher::Str(sm)) if matches!(sm.kind, StrKind::Exact(_)));
            out.extend(needed(m)?.into_iter().map(|l| (target, l, exact)));
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

pub(super) fn build_bucket(b: &mut Bucket, vids: &[u32], variants: &[Variant], needs: &[Need]) {
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
        b.dotted |= v.dotted;
        match &needs[vid as usize] {
            None => b.always.push(vid),
            Some(atoms) => {
                for (target, lit, _) in atoms {
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
                if atoms.iter().any(|(t, _, _)| t.is_none()) {
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
                    for (_, lit, _) in atoms {
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
