//! Compiling a rule for one log source: field names resolved to symbols (with the source's
//! renames), values to matchers, and the event codes its condition requires.

use super::literals::{INDEX_MIN_VALUES, ValueIndex};
use crate::fields::{FieldTable, Sym};
use crate::mapping::Source;
use dwell_sigma::pattern::StrKind;
use dwell_sigma::{Cond, Item, Matcher, RefMode, Rule};
use std::collections::BTreeSet;
use std::sync::OnceLock;

#[derive(Debug, Clone)]
pub(super) enum Target {
    Field(Sym),
    Keyword,
}

#[derive(Debug, Clone)]
pub(super) enum CMatcher {
    M(Matcher),
    Ref {
        sym: Sym,
        mode: RefMode,
        cased: bool,
    },
}

#[derive(Debug, Clone)]
pub(super) struct CItem {
    pub(super) target: Target,
    /// The field as the rule names it, for explanations.
    pub(super) name: String,
    pub(super) values: Vec<Vec<CMatcher>>,
    pub(super) all: bool,
    pub(super) negate: bool,
    /// For a long list of values: which ones can match a given text. Built the first time
    /// the item is evaluated, since most rules are never evaluated on most logs.
    pub(super) index: Option<Box<OnceLock<Option<ValueIndex>>>>,
}

impl CItem {
    /// The value index, when the item has one.
    pub(super) fn value_index(&self) -> Option<&ValueIndex> {
        self.index
            .as_ref()?
            .get_or_init(|| ValueIndex::build(&self.values))
            .as_ref()
    }
}

#[derive(Debug, Clone)]
pub(super) struct Variant {
    pub(super) rule: u32,
    pub(super) searches: Vec<Vec<Vec<CItem>>>,
    pub(super) cond: Cond,
    /// Conditions of the log source itself (e.g. `EventType: CreateKey`).
    pub(super) gate: Vec<CItem>,
    pub(super) has_keywords: bool,
    /// Some item names a field by a dotted path, which events must keep in full to match.
    pub(super) dotted: bool,
}

/// Whether the item names a dotted field, or compares with one.
fn item_dotted(it: &CItem, table: &FieldTable) -> bool {
    let named = |s: Sym| table.is_dotted(s);
    matches!(it.target, Target::Field(s) if named(s))
        || it
            .values
            .iter()
            .flatten()
            .any(|m| matches!(m, CMatcher::Ref { sym, .. } if named(*sym)))
}

/// The EventIDs a detection can match at all, when its condition requires `EventID` to be one
/// of a known set (`None` when it does not say).
pub(super) fn required_event_ids(
    c: &Cond,
    searches: &[dwell_sigma::Search],
) -> Option<BTreeSet<u32>> {
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
pub(super) fn item_event_ids(it: &Item) -> Option<BTreeSet<u32>> {
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

pub(super) fn compile_item(
    item: &Item,
    renames: &[(String, String)],
    table: &mut FieldTable,
) -> CItem {
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
    let values: Vec<Vec<CMatcher>> = item
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
    // `all` needs every value tried, and keyword searches look at every field anyway.
    let index = match target {
        Target::Field(_) if !item.all && values.len() >= INDEX_MIN_VALUES => {
            Some(Box::new(OnceLock::new()))
        }
        _ => None,
    };
    CItem {
        target,
        name: item.field.clone().unwrap_or_default(),
        values,
        all: item.all,
        negate: item.negate,
        index,
    }
}

pub(super) fn compile_variant(
    rule: u32,
    r: &Rule,
    src: &Source,
    table: &mut FieldTable,
) -> Variant {
    let mut has_keywords = false;
    let searches: Vec<Vec<Vec<CItem>>> = r
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
            index: None,
        })
        .collect();
    let dotted = searches
        .iter()
        .flatten()
        .flatten()
        .chain(&gate)
        .any(|it: &CItem| item_dotted(it, table));
    Variant {
        rule,
        searches,
        cond: r.detection.condition.clone(),
        gate,
        has_keywords,
        dotted,
    }
}
