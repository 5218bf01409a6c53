//! The literals a value test needs: one of them must occur (case-folded) in a field's value
//! for the test to match. The rule prefilter indexes rules by them, and the value index of a
//! long value list indexes its values by them, so that neither a rule nor a value is tried
//! on text that cannot match it.
//!
//! A string pattern needs its longest literal run. A regular expression needs one of the
//! literals every match begins with (or, failing that, ends with), as `regex-syntax` extracts
//! them; the text scanned is case-folded one character at a time, which keeps a substring a
//! substring, so folding the literal too gives a test that never misses.

use super::compile::CMatcher;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use dwell_sigma::Matcher;
use dwell_sigma::pattern::{StrKind, fold};
use regex::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

/// Literals shorter than this are too common to narrow anything down.
pub(super) const MIN_LITERAL: usize = 3;

/// Most literals one regular expression may contribute.
const MAX_REGEX_LITERALS: usize = 64;

/// The literals one of which `m` needs, folded; `None` when no usable set exists.
pub(super) fn needed(m: &CMatcher) -> Option<Vec<String>> {
    match m {
        CMatcher::M(Matcher::Str(sm))
            if sm.number.is_none() && !matches!(sm.kind, StrKind::Any) =>
        {
            let lit = sm.longest_literal();
            (lit.len() >= MIN_LITERAL).then(|| vec![lit])
        }
        CMatcher::M(Matcher::Regex(re)) => regex_literals(re),
        _ => None,
    }
}

/// One of these literals (folded) occurs in every string `re` matches; `None` when no short
/// finite set of long enough literals says so.
pub(super) fn regex_literals(re: &Regex) -> Option<Vec<String>> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(re.as_str())
        .ok()?;
    [ExtractKind::Prefix, ExtractKind::Suffix]
        .into_iter()
        .filter_map(|kind| {
            let mut ex = Extractor::new();
            ex.kind(kind);
            let seq = ex.extract(&hir);
            let lits = seq.literals()?;
            if lits.is_empty() || lits.len() > MAX_REGEX_LITERALS {
                return None;
            }
            let mut out: Vec<String> = Vec::with_capacity(lits.len());
            for l in lits {
                let text = std::str::from_utf8(l.as_bytes()).ok()?;
                let folded = fold(text).into_owned();
                if folded.chars().count() < MIN_LITERAL {
                    return None;
                }
                if !out.contains(&folded) {
                    out.push(folded);
                }
            }
            Some(out)
        })
        .max_by_key(|lits| lits.iter().map(String::len).min().unwrap_or(0))
}

/// The values of a long list, indexed by the literals they need.
#[derive(Debug, Clone)]
pub(super) struct ValueIndex {
    ac: AhoCorasick,
    /// For each pattern, the values that need it.
    owners: Vec<Vec<u32>>,
    /// Values with an alternative that needs no literal: always tried.
    pub(super) always: Vec<u32>,
}

/// Lists shorter than this are tried value by value.
pub(super) const INDEX_MIN_VALUES: usize = 64;

impl ValueIndex {
    /// The index of `values`, or `None` when it would not narrow anything down.
    pub(super) fn build(values: &[Vec<CMatcher>]) -> Option<ValueIndex> {
        if values.len() < INDEX_MIN_VALUES {
            return None;
        }
        let mut patterns: Vec<String> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = Default::default();
        let mut owners: Vec<Vec<u32>> = Vec::new();
        let mut always = Vec::new();
        for (v, alts) in values.iter().enumerate() {
            let needs: Option<Vec<String>> = alts
                .iter()
                .map(needed)
                .collect::<Option<Vec<Vec<String>>>>()
                .map(|x| x.concat());
            match needs {
                Some(lits) if !lits.is_empty() => {
                    for l in lits {
                        let p = *index.entry(l.clone()).or_insert_with(|| {
                            patterns.push(l);
                            owners.push(Vec::new());
                            patterns.len() - 1
                        });
                        if owners[p].last() != Some(&(v as u32)) {
                            owners[p].push(v as u32);
                        }
                    }
                }
                _ => always.push(v as u32),
            }
        }
        if patterns.is_empty() {
            return None;
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .ok()?;
        Some(ValueIndex { ac, owners, always })
    }

    /// The values whose literal occurs in `folded`, pushed to `out` (maybe repeated).
    pub(super) fn candidates(&self, folded: &str, out: &mut Vec<u32>) {
        for m in self.ac.find_overlapping_iter(folded) {
            out.extend_from_slice(&self.owners[m.pattern().as_usize()]);
        }
    }
}
