//! The one rule descriptor: what every consumer (writers, investigation, coverage, the case
//! file) knows about a detection rule or a correlation, and the run's table of them.

use dwell_sigma::{Correlation, Level, LogSource, Meta, Origin, Rule, Status};

/// ATT&CK enterprise tactics in kill-chain order, as Sigma tags write them.
pub const TACTICS: [&str; 16] = [
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "stealth",
    "defense-impairment",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
];

/// The ATT&CK tactics among a rule's tags (`attack.credential-access`,
/// `attack.credential_access`), in kill-chain order.
pub fn tactics(tags: &[String]) -> Vec<&'static str> {
    TACTICS
        .iter()
        .copied()
        .filter(|t| {
            tags.iter().any(|tag| {
                tag.strip_prefix("attack.")
                    .is_some_and(|x| x.replace('_', "-").eq_ignore_ascii_case(t))
            })
        })
        .collect()
}

/// What a rule is.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// A detection rule over events of a log source.
    Detection {
        /// Its log source.
        logsource: LogSource,
        /// Titles of the filters applied to it.
        filters: Vec<String>,
    },
    /// A correlation rule over other rules' detections, of this type (`event_count`...).
    Correlation(&'static str),
}

/// A rule or correlation, as everything after loading sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInfo {
    /// The rule's `id`, or empty.
    pub id: String,
    /// The rule's `name` (correlations refer to rules by id or name).
    pub name: Option<String>,
    /// Its title.
    pub title: String,
    /// Its level, if set.
    pub level: Option<Level>,
    /// Its status, if set.
    pub status: Option<Status>,
    /// Its tags as written.
    pub tags: Vec<String>,
    /// The ATT&CK tactics among its tags, in kill-chain order.
    pub tactics: Vec<&'static str>,
    /// The file it came from.
    pub path: String,
    /// The line its document starts on.
    pub line: u32,
    /// Detection rule or correlation.
    pub kind: RuleKind,
    /// Warnings from loading it (things that load but deserve a word).
    pub warnings: Vec<String>,
}

impl RuleInfo {
    fn new(meta: &Meta, origin: &Origin, kind: RuleKind, warnings: &[String]) -> RuleInfo {
        RuleInfo {
            id: meta.id.clone().unwrap_or_default(),
            name: meta.name.clone(),
            title: meta.title.clone(),
            level: meta.level,
            status: meta.status,
            tags: meta.tags.clone(),
            tactics: tactics(&meta.tags),
            path: origin.path.clone(),
            line: origin.line,
            kind,
            warnings: warnings.to_vec(),
        }
    }

    /// The descriptor of a detection rule.
    pub fn of_rule(r: &Rule) -> RuleInfo {
        RuleInfo::new(
            &r.meta,
            &r.origin,
            RuleKind::Detection {
                logsource: r.logsource.clone(),
                filters: r.filters.clone(),
            },
            &r.warnings,
        )
    }

    /// The descriptor of a correlation rule.
    pub fn of_correlation(c: &Correlation) -> RuleInfo {
        RuleInfo::new(
            &c.meta,
            &c.origin,
            RuleKind::Correlation(c.kind.as_str()),
            &c.warnings,
        )
    }

    /// The correlation type, for correlation rules.
    pub fn correlation(&self) -> Option<&'static str> {
        match self.kind {
            RuleKind::Correlation(k) => Some(k),
            RuleKind::Detection { .. } => None,
        }
    }

    /// `product/category/service` for detection rules, `correlation: TYPE` for correlations.
    pub fn logsource(&self) -> String {
        match &self.kind {
            RuleKind::Detection { logsource, .. } => logsource.to_string(),
            RuleKind::Correlation(k) => format!("correlation: {k}"),
        }
    }

    /// `path:line`, for messages.
    pub fn location(&self) -> String {
        format!("{}:{}", self.path, self.line)
    }

    /// The level as text (empty when unset).
    pub fn level_str(&self) -> &'static str {
        self.level.map_or("", |l| l.as_str())
    }

    /// The status as text (empty when unset).
    pub fn status_str(&self) -> &'static str {
        self.status.map_or("", |s| s.as_str())
    }

    /// True when `key` is this rule's id or name (how correlations refer to rules).
    pub fn answers_to(&self, key: &str) -> bool {
        (!self.id.is_empty() && self.id == key) || self.name.as_deref() == Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_give_tactics_in_kill_chain_order() {
        let t = tactics(&[
            "attack.impact".into(),
            "attack.Credential_Access".into(),
            "attack.t1003".into(),
            "cve.2021-1".into(),
        ]);
        assert_eq!(t, ["credential-access", "impact"]);
    }
}
