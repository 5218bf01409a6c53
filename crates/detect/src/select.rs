//! Which rules a run uses: `--status` and `--min-level` applied to rules and correlations,
//! keeping the rules a kept correlation refers to (as its inputs only, when the filters would
//! have left them out).

use crate::rules::RuleInfo;
use dwell_sigma::{Correlation, Level, Rule, Status};
use std::collections::HashSet;

/// The filters of a run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only rules at or above this level (rules without a level count as informational).
    pub min_level: Option<Level>,
    /// Rule statuses to run; `None` runs every status. Rules without a status always run.
    pub statuses: Option<Vec<Status>>,
}

/// A rule or correlation the filters left out.
#[derive(Debug, Clone)]
pub struct Filtered {
    /// The rule.
    pub rule: RuleInfo,
    /// `below --min-level`, `status not selected by --status`.
    pub reason: String,
}

/// What a selection keeps.
#[derive(Debug, Default)]
pub struct Selected {
    /// The rules to run, in load order.
    pub rules: Vec<Rule>,
    /// Indexes into `rules` of those that run only as inputs to correlations: the filters
    /// left them out, so their own detections are not shown.
    pub input_only: HashSet<u32>,
    /// The correlations to run.
    pub correlations: Vec<Correlation>,
    /// What was left out, and why.
    pub filtered: Vec<Filtered>,
}

impl Selection {
    /// `None` when a rule of this status and level passes, otherwise why not.
    fn rejects(&self, status: Option<Status>, level: Option<Level>) -> Option<String> {
        let status_ok = match (&self.statuses, status) {
            (None, _) | (_, None) => true,
            (Some(list), Some(s)) => list.contains(&s),
        };
        let level_ok = match self.min_level {
            None => true,
            Some(min) => level.unwrap_or(Level::Informational) >= min,
        };
        match (status_ok, level_ok) {
            (true, true) => None,
            (true, false) => Some("below --min-level".into()),
            _ => Some("status not selected by --status".into()),
        }
    }

    /// Applies the filters.
    pub fn apply(&self, rules: Vec<Rule>, correlations: Vec<Correlation>) -> Selected {
        let mut out = Selected::default();
        for c in correlations {
            match self.rejects(c.meta.status, c.meta.level) {
                None => out.correlations.push(c),
                Some(reason) => out.filtered.push(Filtered {
                    rule: RuleInfo::of_correlation(&c),
                    reason,
                }),
            }
        }
        // The rules a kept correlation refers to, also through other correlations.
        let mut referenced: HashSet<String> = HashSet::new();
        let mut pending: Vec<&str> = out
            .correlations
            .iter()
            .flat_map(|c| c.rules.iter().map(String::as_str))
            .collect();
        while let Some(r) = pending.pop() {
            if referenced.insert(r.to_string()) {
                for c in &out.correlations {
                    if c.meta.id.as_deref() == Some(r) || c.meta.name.as_deref() == Some(r) {
                        pending.extend(c.rules.iter().map(String::as_str));
                    }
                }
            }
        }
        for r in rules {
            let needed = r
                .meta
                .id
                .iter()
                .chain(r.meta.name.iter())
                .any(|k| referenced.contains(k));
            match self.rejects(r.meta.status, r.meta.level) {
                None => out.rules.push(r),
                Some(_) if needed => {
                    out.input_only.insert(out.rules.len() as u32);
                    out.rules.push(r);
                }
                Some(reason) => out.filtered.push(Filtered {
                    rule: RuleInfo::of_rule(&r),
                    reason,
                }),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_keep_correlation_inputs() {
        let text = "title: low\nid: low\nlevel: low\nstatus: test\nlogsource: {product: windows}\ndetection: {s: {x: 1}, condition: s}\n---\n\
                    title: high\nlevel: high\nstatus: stable\nlogsource: {product: windows}\ndetection: {s: {x: 1}, condition: s}\n---\n\
                    title: exp\nlevel: high\nstatus: experimental\nlogsource: {product: windows}\ndetection: {s: {x: 1}, condition: s}\n---\n\
                    title: corr\nlevel: critical\ncorrelation: {type: event_count, rules: [low], group-by: [x], timespan: 1m, condition: {gte: 2}}\n";
        let (docs, errors) = dwell_sigma::parse_text(text, "x.yml", &Default::default());
        assert!(errors.is_empty(), "{errors:?}");
        let set = dwell_sigma::RuleSet::from_documents(docs);
        let sel = Selection {
            min_level: Some(Level::High),
            statuses: Some(vec![Status::Stable, Status::Test]),
        };
        let out = sel.apply(set.rules, set.correlations);
        let titles: Vec<&str> = out.rules.iter().map(|r| r.meta.title.as_str()).collect();
        assert_eq!(titles, ["low", "high"]);
        assert_eq!(out.input_only, HashSet::from([0]));
        assert_eq!(out.correlations.len(), 1);
        assert_eq!(out.filtered.len(), 1);
        assert_eq!(out.filtered[0].rule.title, "exp");
        assert_eq!(out.filtered[0].reason, "status not selected by --status");
    }
}
