//! Evaluating compiled items against an event: the symbol slots that find a field's values
//! (several, for arrays), case folding done once per value, and the item semantics.

use super::compile::{CItem, CMatcher, Target};
use super::literals::ValueIndex;
use super::{PATH_BIT, Scratch, UNFOLDED};
use crate::fields::Sym;
use dwell_core::{Event, Kind, Section};
use dwell_sigma::pattern::fold_into;
use dwell_sigma::{Cond, RefMode, Value, ValueKind};

pub(super) fn positive_searches(c: &Cond, negated: bool, out: &mut Vec<usize>) {
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
pub(super) fn link(sc: &mut Scratch, s: Sym, i: usize, section: Section, path: bool) {
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
pub(super) fn fold_field(ev: &Event, sc: &mut Scratch, i: usize) {
    if sc.folded[i].0 != UNFOLDED {
        return;
    }
    let start = sc.fold_buf.len();
    fold_into(&ev.text[ev.fields[i].value.range()], &mut sc.fold_buf);
    sc.folded[i] = (start as u32, (sc.fold_buf.len() - start) as u32);
}

pub(super) fn fold_all(ev: &Event, sc: &mut Scratch) {
    if sc.all_folded {
        return;
    }
    for i in 0..ev.fields.len() {
        fold_field(ev, sc, i);
    }
    sc.all_folded = true;
}

#[inline]
pub(super) fn value_at<'a>(ev: &'a Event, sc: &'a Scratch, i: usize) -> Value<'a> {
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
pub(super) struct Chain<'a> {
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
pub(super) fn chain(sc: &Scratch, sym: Sym) -> Chain<'_> {
    Chain {
        cur: sc.slot[sym as usize],
        sc,
    }
}

/// Whether the value at field index `i` satisfies matcher `m` of an item on that field.
fn field_value_matches(m: &CMatcher, ev: &Event, sc: &Scratch, i: usize) -> bool {
    match m {
        CMatcher::M(m) => m.is_match(&value_at(ev, sc, i)),
        CMatcher::Ref {
            sym: other,
            mode,
            cased,
        } => {
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
        }
    }
}

/// Whether the value at field index `i` matches any of the item's values (for showing which
/// element of an array made an item match).
pub(super) fn value_matches(it: &CItem, ev: &Event, sc: &Scratch, i: usize) -> bool {
    it.values
        .iter()
        .any(|alts| alts.iter().any(|m| field_value_matches(m, ev, sc, i)))
}

pub(super) fn eval_item(it: &CItem, ev: &Event, sc: &Scratch) -> bool {
    if it.values.is_empty() {
        // `field: []` (with or without `all`) never matches.
        return false;
    }
    if let (Some(ix), Target::Field(sym)) = (it.value_index(), &it.target) {
        return indexed(it, ix, *sym, ev, sc) != it.negate;
    }
    let one = |m: &CMatcher| -> bool {
        match (&it.target, m) {
            (Target::Field(sym), CMatcher::M(m)) if sc.slot[*sym as usize] == 0 => m.on_absent(),
            (Target::Field(sym), m) => chain(sc, *sym).any(|i| field_value_matches(m, ev, sc, i)),
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

/// A long value list through its index: for each of the field's values, only the list's
/// values whose literal occurs in it are tried, and those that need none.
fn indexed(it: &CItem, ix: &ValueIndex, sym: Sym, ev: &Event, sc: &Scratch) -> bool {
    let try_value = |v: u32, i: usize| {
        it.values[v as usize]
            .iter()
            .any(|m| field_value_matches(m, ev, sc, i))
    };
    if sc.slot[sym as usize] == 0 {
        // Only tests that need no literal can hold for an absent field (`null`, `exists`).
        return ix.always.iter().any(|&v| {
            it.values[v as usize].iter().any(|m| match m {
                CMatcher::M(m) => m.on_absent(),
                CMatcher::Ref { .. } => false,
            })
        });
    }
    let mut cands: Vec<u32> = Vec::new();
    chain(sc, sym).any(|i| {
        cands.clear();
        let (s, l) = sc.folded[i];
        if s != UNFOLDED {
            ix.candidates(&sc.fold_buf[s as usize..(s + l) as usize], &mut cands);
        } else {
            let raw = &ev.text[ev.fields[i].value.range()];
            ix.candidates(&dwell_sigma::pattern::fold(raw), &mut cands);
        }
        cands.sort_unstable();
        cands.dedup();
        cands.iter().chain(&ix.always).any(|&v| try_value(v, i))
    })
}
