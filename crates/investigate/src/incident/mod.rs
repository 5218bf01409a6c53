//! Incidents: detections joined into connected groups, and what each group tells. Built in
//! three phases: [`link`] joins detections that share an entity within the gap,
//! [`movement`] joins groups along lateral movements, [`assemble`] describes each group.

mod assemble;
mod link;
pub(crate) mod model;
mod movement;

use crate::logon::{Logon, movements};
use dwell_core::Entity;
use dwell_detect::RuleInfo;
use model::Report;

pub use assemble::severity;

/// Settings of an investigation.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Detections further apart than this (nanoseconds) are not linked.
    pub gap: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            gap: 24 * 3600 * 1_000_000_000,
        }
    }
}

/// One detection, as the investigation sees it.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Its time.
    pub time: i64,
    /// Index into the rule table given to [`Investigation::build`].
    pub rule: u32,
    /// Normalised host (see [`dwell_core::entity::host`]); empty when unknown.
    pub host: String,
    /// The acting account.
    pub account: Option<String>,
    /// Every entity its event names.
    pub entities: Vec<Entity>,
    /// Index into the input table.
    pub input: u32,
    /// The record or line.
    pub record: u64,
}

/// Collects detections and logon records, then builds the incidents.
#[derive(Debug, Default)]
pub struct Investigation {
    findings: Vec<Finding>,
    logons: Vec<Logon>,
    undated: usize,
}

impl Investigation {
    /// Adds a dated detection.
    pub fn add_detection(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// Counts a detection without a time, which cannot be placed in an incident.
    pub fn add_undated(&mut self) {
        self.undated += 1;
    }

    /// Adds one lateral-movement record.
    pub fn add_logon(&mut self, l: Logon) {
        self.logons.push(l);
    }

    /// Adds lateral-movement records.
    pub fn add_logons(&mut self, l: impl IntoIterator<Item = Logon>) {
        self.logons.extend(l);
    }

    /// Builds the incidents. `rule_table` and `inputs` are the tables that findings and logons
    /// index.
    pub fn build(mut self, rule_table: &[RuleInfo], opts: Options, inputs: &[String]) -> Report {
        let gap = opts.gap.max(0);
        let f = &self.findings;
        let n = f.len();
        // Work in time order; `order[k]` is the finding at rank k.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (f[i].time, f[i].input, f[i].record, f[i].rule));
        let mut sets = link::Sets::new(n);
        let mut links = link::by_entities(f, &order, gap, &mut sets);
        let moves = movements(std::mem::take(&mut self.logons));
        let attributed = movement::attribute(f, &order, &moves, gap, &mut sets, &mut links);
        let tables = assemble::Tables {
            findings: f,
            rules: rule_table,
            inputs,
            moves: &moves,
            links: &links,
        };
        let incidents = assemble::incidents(&tables, &order, &attributed, &mut sets);
        Report {
            version: 1,
            gap_seconds: gap / 1_000_000_000,
            detections: n + self.undated,
            undated_detections: self.undated,
            movements_seen: moves.len(),
            incidents,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logon::LogonKind;
    use dwell_core::{Entity, EntityKind};
    use dwell_detect::RuleKind;
    use dwell_sigma::Level;

    const S: i64 = 1_000_000_000;

    fn rule(id: &str, title: &str, level: Level, tags: &[&str]) -> RuleInfo {
        let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        RuleInfo {
            id: id.into(),
            name: None,
            title: title.into(),
            level: Some(level),
            status: None,
            tactics: dwell_detect::tactics(&tags),
            tags,
            path: "r.yml".into(),
            line: 1,
            kind: RuleKind::Correlation("test"),
            warnings: Vec::new(),
        }
    }

    fn rules() -> Vec<RuleInfo> {
        vec![
            rule(
                "r0",
                "Execution",
                Level::Medium,
                &["attack.execution", "attack.t1059"],
            ),
            rule("r1", "Dump", Level::High, &["attack.credential_access"]),
        ]
    }

    fn finding(t: i64, rule: u32, host: &str, account: Option<&str>, record: u64) -> Finding {
        let mut entities = vec![Entity {
            kind: EntityKind::Host,
            value: host.into(),
        }];
        if let Some(a) = account {
            entities.push(Entity {
                kind: EntityKind::Account,
                value: a.into(),
            });
        }
        Finding {
            time: t,
            rule,
            host: host.into(),
            account: account.map(Into::into),
            entities,
            input: 0,
            record,
        }
    }

    fn hosts(r: &Report) -> Vec<Vec<&str>> {
        r.incidents
            .iter()
            .map(|i| i.hosts.iter().map(|h| h.name.as_str()).collect())
            .collect()
    }

    #[test]
    fn the_gap_is_inclusive() {
        let gap = 600 * S;
        let mut inv = Investigation::default();
        inv.add_detection(finding(0, 0, "A", None, 1));
        inv.add_detection(finding(gap, 0, "A", None, 2));
        inv.add_detection(finding(2 * gap + 1, 0, "A", None, 3));
        inv.add_undated();
        let r = inv.build(&rules(), Options { gap }, &["in".into()]);
        assert_eq!(hosts(&r), [vec!["A"], vec!["A"]]);
        assert_eq!(r.incidents[0].detections.len(), 2);
        assert_eq!(r.incidents[0].dwell_seconds, 600);
        assert_eq!(r.incidents[0].links[0].via, "host");
        assert_eq!((r.detections, r.undated_detections), (4, 1));
    }

    #[test]
    fn accounts_link_across_hosts_and_builtins_never_do() {
        let mut inv = Investigation::default();
        inv.add_detection(finding(0, 0, "A", Some("CORP\\eve"), 1));
        inv.add_detection(finding(10 * S, 1, "B", Some("CORP\\eve"), 2));
        inv.add_detection(finding(20 * S, 0, "C", None, 3));
        let r = inv.build(&rules(), Options::default(), &["in".into()]);
        assert_eq!(hosts(&r), [vec!["A", "B"], vec!["C"]]);
        let i = &r.incidents[0];
        assert_eq!(i.links[0].via, "account");
        assert_eq!(i.links[0].entity, "CORP\\eve");
        assert_eq!((i.links[0].from.record, i.links[0].to.record), (1, 2));
        // Two hosts and credential access: one step above the highest level.
        assert_eq!(i.severity, "critical");
        assert_eq!(r.incidents[1].severity, "medium");
        let t: Vec<&str> = i.tactics.iter().map(|t| t.tactic.as_str()).collect();
        assert_eq!(t, ["execution", "credential-access"]);
    }

    fn logon(t: i64, account: &str, from: &str, to: &str, record: u64) -> Logon {
        Logon {
            time: t,
            kind: LogonKind::Logon,
            account: Some(account.into()),
            from: Some(from.into()),
            from_ip: None,
            to: to.into(),
            logon_type: Some(3),
            logon_id: None,
            method: None,
            input: 0,
            record,
        }
    }

    #[test]
    fn movements_join_hosts_and_reach_silent_ones() {
        let mut inv = Investigation::default();
        inv.add_detection(finding(0, 0, "A", Some("CORP\\eve"), 1));
        inv.add_detection(finding(200 * S, 1, "B", Some("CORP\\mallory"), 2));
        // Before anything happened on A: not part of the intrusion.
        inv.add_logon(logon(-100 * S, "CORP\\eve", "A", "B", 10));
        // A -> B, and B has a detection after it: joins A and B.
        inv.add_logon(logon(100 * S, "CORP\\mallory", "A", "B", 11));
        // B -> C by an account of the incident: C is reached though it has no detection.
        inv.add_logon(logon(300 * S, "CORP\\mallory", "B", "C", 12));
        // From a host nobody touched: not attributed.
        inv.add_logon(logon(400 * S, "CORP\\mallory", "D", "E", 13));
        let r = inv.build(&rules(), Options::default(), &["in".into()]);
        assert_eq!(r.incidents.len(), 1);
        let i = &r.incidents[0];
        let moves: Vec<(&str, &str)> = i
            .movements
            .iter()
            .map(|m| (m.from.as_str(), m.to.as_str()))
            .collect();
        assert_eq!(moves, [("A", "B"), ("B", "C")]);
        let c = i.hosts.iter().find(|h| h.name == "C").unwrap();
        assert_eq!((c.detections, c.reached.is_some()), (0, true));
        assert_eq!(i.links.len(), 1);
        assert_eq!(i.links[0].via, "movement");
        assert_eq!(i.links[0].entity, "CORP\\mallory A -> B");
        assert_eq!(r.movements_seen, 4);
    }
}
