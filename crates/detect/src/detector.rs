//! The rules of a run, compiled: the engine over events, the correlations over detections,
//! and the run's rule table that every detection's `rule` indexes.

use crate::correlate::{CorrelationProblem, Correlator};
use crate::engine::{Engine, Unmapped};
use crate::mapping::Mapping;
use crate::novelty::Novelty;
use crate::rules::RuleInfo;
use crate::select::{Filtered, Selected};
use std::collections::HashSet;

/// A rule or correlation that does not run, and why (for coverage and messages).
#[derive(Debug, Clone)]
pub struct NotRun {
    /// The rule.
    pub rule: RuleInfo,
    /// Why.
    pub reason: String,
}

/// The compiled rules of a run.
pub struct Detector {
    /// The detection rules.
    pub engine: Engine,
    /// The correlation rules.
    pub correlator: Correlator,
    /// Detection rules (in engine order), then correlations: what detections index.
    pub table: Vec<RuleInfo>,
    /// Rules that run only as correlation inputs (their own detections are not shown).
    pub input_only: HashSet<u32>,
    /// Rules whose log source no mapping covers.
    pub unmapped: Vec<Unmapped>,
    /// Rules and correlations the filters left out.
    pub filtered: Vec<Filtered>,
    /// Correlations that cannot run, by index among the correlations.
    pub correlation_problems: Vec<CorrelationProblem>,
    /// Per detection rule: the event fields its detections capture for correlations and
    /// for dwell's extension.
    pub needs: Vec<Option<Vec<String>>>,
    /// dwell's extension (`dwell.first_seen`, `dwell.hours`) of the rules that have one.
    pub novelty: Novelty,
}

impl Detector {
    /// Compiles the selected rules against `mapping`.
    pub fn build(selected: Selected, mapping: &Mapping) -> Detector {
        let Selected {
            rules,
            input_only,
            correlations,
            filtered,
        } = selected;
        let novelty = Novelty::new(&rules);
        let (engine, unmapped) = Engine::new(rules, mapping);
        let (correlator, correlation_problems) = Correlator::new(&correlations, &engine.rules);
        let needs = (0..engine.rules.len() as u32)
            .map(|r| {
                let mut n: Vec<String> = correlator
                    .needs(r)
                    .map(<[String]>::to_vec)
                    .unwrap_or_default();
                for f in novelty.needs(r) {
                    if !n.iter().any(|x| x.eq_ignore_ascii_case(f)) {
                        n.push(f.clone());
                    }
                }
                (!n.is_empty()).then_some(n)
            })
            .collect();
        let mut table = engine.rules.clone();
        table.extend(correlations.iter().map(RuleInfo::of_correlation));
        Detector {
            engine,
            correlator,
            table,
            input_only,
            unmapped,
            filtered,
            correlation_problems,
            needs,
            novelty,
        }
    }

    /// The index of the first correlation in the rule table.
    pub fn correlation_base(&self) -> u32 {
        self.engine.rules.len() as u32
    }

    /// True when detections of rule `rule` are written (not only inputs to correlations).
    pub fn shown(&self, rule: u32) -> bool {
        rule >= self.correlation_base()
            || (!self.correlator.hidden(rule) && !self.input_only.contains(&rule))
    }

    /// Correlations that do not run, with their reasons.
    pub fn correlations_not_run(&self) -> Vec<NotRun> {
        let base = self.correlation_base() as usize;
        self.correlation_problems
            .iter()
            .map(|(c, reason)| NotRun {
                rule: self.table[base + c].clone(),
                reason: reason.clone(),
            })
            .collect()
    }
}
