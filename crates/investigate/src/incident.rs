//! Incidents: detections joined into connected groups, and what each group tells.
//!
//! Two detections are linked when they share a linking entity (host, account, IP, process,
//! logon session; see [`EntityKind::links`]) and lie within the gap of each other, or when an
//! account moved from a host with a detection to a host with a detection within the gap. An
//! incident is a connected group. Every link that joined two groups is kept with the entity
//! and the two events, so each incident can be explained.

use crate::Logon;
use crate::entity::{Entity, EntityKind};
use crate::logon::{Movement, movements};
use dwell_sigma::Level;
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};

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
    let out: Vec<&'static str> = TACTICS
        .iter()
        .copied()
        .filter(|t| {
            tags.iter().any(|tag| {
                tag.strip_prefix("attack.")
                    .is_some_and(|x| x.replace('_', "-").eq_ignore_ascii_case(t))
            })
        })
        .collect();
    out
}

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

/// What the investigation needs to know of a rule.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
    pub level: Option<Level>,
    pub tactics: Vec<&'static str>,
}

/// One detection, as the investigation sees it.
#[derive(Debug, Clone)]
pub struct Finding {
    pub time: i64,
    /// Index into the rule table given to [`Investigation::build`].
    pub rule: u32,
    /// Normalised host (see [`crate::entity::host`]); empty when unknown.
    pub host: String,
    /// The acting account (see [`crate::entity::primary_account`]).
    pub account: Option<String>,
    pub entities: Vec<Entity>,
    pub input: u32,
    pub record: u64,
}

/// Collects detections and logon records, then builds the incidents.
#[derive(Debug, Default)]
pub struct Investigation {
    findings: Vec<Finding>,
    logons: Vec<Logon>,
    undated: usize,
}

/// Nanosecond times are written as RFC 3339 text.
fn rfc3339<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&dwell_ingest::time::format(*t))
}

/// A place in the inputs: which file and record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordRef {
    #[serde(serialize_with = "rfc3339")]
    pub time: i64,
    pub source: String,
    pub record: u64,
}

/// One detection inside an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionRef {
    #[serde(serialize_with = "rfc3339")]
    pub time: i64,
    pub rule_id: String,
    pub rule_title: String,
    pub level: String,
    pub host: String,
    pub account: Option<String>,
    pub source: String,
    pub record: u64,
    /// Index of the detection in the order it was added (the case file's detection id).
    #[serde(skip)]
    pub index: usize,
}

/// A host or account and when the incident touched it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Touched {
    pub name: String,
    #[serde(serialize_with = "rfc3339")]
    pub first: i64,
    #[serde(serialize_with = "rfc3339")]
    pub last: i64,
    pub detections: usize,
    /// Reached by lateral movement (for hosts): the time it was first reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reached: Option<String>,
}

/// A tactic and when it first appeared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TacticSeen {
    pub tactic: String,
    #[serde(serialize_with = "rfc3339")]
    pub first: i64,
}

/// A lateral movement inside an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    #[serde(serialize_with = "rfc3339")]
    pub time: i64,
    pub account: String,
    pub from: String,
    pub to: String,
    pub logon_type: Option<u32>,
    pub methods: Vec<String>,
    pub admin: bool,
    pub evidence: Vec<EvidenceRef>,
}

/// A record behind an edge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceRef {
    pub kind: String,
    #[serde(serialize_with = "rfc3339")]
    pub time: i64,
    pub source: String,
    pub record: u64,
}

/// Why two groups of detections were joined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// `host`, `account`, `ip`, `process`, `logon_id`, or `movement`.
    pub via: String,
    /// The shared entity, or `account from -> to` for a movement.
    pub entity: String,
    pub from: RecordRef,
    pub to: RecordRef,
}

/// A rule that fired in an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleCount {
    pub rule_id: String,
    pub rule_title: String,
    pub level: String,
    pub count: usize,
}

/// Where the intrusion was first seen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatientZero {
    pub host: Option<String>,
    pub account: Option<String>,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// 1-based, in order of first malicious event.
    pub id: u32,
    pub severity: String,
    pub first: DetectionRef,
    pub last: DetectionRef,
    pub dwell_seconds: i64,
    pub patient_zero: PatientZero,
    pub hosts: Vec<Touched>,
    pub accounts: Vec<Touched>,
    pub tactics: Vec<TacticSeen>,
    pub movements: Vec<Edge>,
    pub rules: Vec<RuleCount>,
    pub detections: Vec<DetectionRef>,
    pub links: Vec<Link>,
}

/// Everything an investigation found: the document `dwell investigate --format json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Version of this document's shape.
    pub version: u32,
    pub gap_seconds: i64,
    pub detections: usize,
    /// Detections without a time, which cannot be placed in an incident.
    pub undated_detections: usize,
    /// Lateral movements seen in the logs, in incidents or not.
    pub movements_seen: usize,
    pub incidents: Vec<Incident>,
}

/// Hosts or accounts an incident touched, found by name in constant time.
#[derive(Default)]
struct Touches {
    list: Vec<Touched>,
    index: HashMap<String, usize>,
}

impl Touches {
    fn touch(&mut self, name: &str, t: i64, detection: bool) -> &mut Touched {
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => {
                self.list.push(Touched {
                    name: name.to_string(),
                    first: t,
                    last: t,
                    detections: 0,
                    reached: None,
                });
                self.index.insert(name.to_string(), self.list.len() - 1);
                self.list.len() - 1
            }
        };
        let x = &mut self.list[i];
        x.first = x.first.min(t);
        x.last = x.last.max(t);
        x.detections += detection as usize;
        x
    }

    /// In order of first appearance.
    fn sorted(mut self) -> Vec<Touched> {
        self.list
            .sort_by(|a, b| (a.first, &a.name).cmp(&(b.first, &b.name)));
        self.list
    }
}

struct Sets {
    parent: Vec<u32>,
}

impl Sets {
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] as usize != x {
            let p = self.parent[x] as usize;
            self.parent[x] = self.parent[p];
            x = p;
        }
        x
    }

    /// Joins the groups of `a` and `b`; false when they were one already. The earlier
    /// detection's root wins, so roots are stable and output does not depend on hashing.
    fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[hi] = lo as u32;
        true
    }
}

fn level_str(l: Option<Level>) -> String {
    l.map_or("", |l| l.as_str()).to_string()
}

impl Investigation {
    pub fn add_detection(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// Counts a detection without a time, which cannot be placed in an incident.
    pub fn add_undated(&mut self) {
        self.undated += 1;
    }

    pub fn add_logon(&mut self, l: Logon) {
        self.logons.push(l);
    }

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
        let mut sets = Sets {
            parent: (0..n as u32).collect(),
        };
        let mut raw_links: Vec<(String, String, usize, usize)> = Vec::new();
        let mut last: HashMap<(EntityKind, &str), usize> = HashMap::new();
        for &i in &order {
            for e in f[i].entities.iter().filter(|e| e.kind.links()) {
                let key = (e.kind, e.value.as_str());
                if let Some(&j) = last.get(&key)
                    && f[i].time - f[j].time <= gap
                    && sets.union(i, j)
                {
                    raw_links.push((e.kind.as_str().to_string(), e.value.clone(), j, i));
                }
                last.insert(key, i);
            }
        }

        // Movements: from a host with a detection (or reached by the intrusion) to a host
        // with a detection after it, or by an account the group already uses.
        let all_moves = movements(std::mem::take(&mut self.logons));
        let mut on_host: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_account: HashMap<&str, Vec<usize>> = HashMap::new();
        for &i in &order {
            if !f[i].host.is_empty() {
                on_host.entry(f[i].host.as_str()).or_default().push(i);
            }
            for e in &f[i].entities {
                if e.kind == EntityKind::Account {
                    by_account.entry(e.value.as_str()).or_default().push(i);
                }
            }
        }
        // Each account's groups so far, one detection per group: the movement test below
        // asks whether a group names the account, and a spray names thousands.
        let mut account_groups: HashMap<&str, Vec<usize>> = HashMap::new();
        for (a, dets) in &by_account {
            let mut roots: Vec<usize> = dets.iter().map(|&i| sets.find(i)).collect();
            roots.sort_unstable();
            roots.dedup();
            account_groups.insert(a, roots);
        }
        let mut reached: HashMap<String, Vec<(i64, usize)>> = HashMap::new();
        let mut attributed: Vec<(usize, usize)> = Vec::new();
        for (mi, m) in all_moves.iter().enumerate() {
            let src = on_host
                .get(m.from.as_str())
                .and_then(|v| {
                    let k = v.partition_point(|&i| f[i].time <= m.time);
                    (k > 0).then(|| v[k - 1])
                })
                .filter(|&i| m.time - f[i].time <= gap)
                .or_else(|| {
                    reached.get(&m.from).and_then(|v| {
                        v.iter()
                            .rev()
                            .find(|(t, _)| *t <= m.time && m.time - t <= gap)
                            .map(|&(_, i)| i)
                    })
                });
            let Some(src) = src else { continue };
            let dst = on_host.get(m.to.as_str()).and_then(|v| {
                let k = v.partition_point(|&i| f[i].time < m.time);
                v.get(k).copied().filter(|&i| f[i].time - m.time <= gap)
            });
            let root = sets.find(src);
            let known_account = account_groups
                .get(m.account.as_str())
                .is_some_and(|v| v.iter().any(|&i| sets.find(i) == root));
            if dst.is_none() && !known_account {
                continue;
            }
            if let Some(d) = dst
                && sets.union(src, d)
            {
                raw_links.push((
                    "movement".into(),
                    format!("{} {} -> {}", m.account, m.from, m.to),
                    src,
                    d,
                ));
            }
            attributed.push((mi, src));
            reached.entry(m.to.clone()).or_default().push((m.time, src));
        }

        // Group.
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &i in &order {
            let r = sets.find(i);
            groups.entry(r).or_default().push(i);
        }
        let mut group_moves: HashMap<usize, Vec<usize>> = HashMap::new();
        for &(mi, src) in &attributed {
            group_moves.entry(sets.find(src)).or_default().push(mi);
        }
        let mut group_links: HashMap<usize, Vec<usize>> = HashMap::new();
        for (li, l) in raw_links.iter().enumerate() {
            group_links.entry(sets.find(l.2)).or_default().push(li);
        }
        let source = |i: u32| inputs.get(i as usize).cloned().unwrap_or_default();
        let record_ref = |i: usize| RecordRef {
            time: f[i].time,
            source: source(f[i].input),
            record: f[i].record,
        };
        let det_ref = |i: usize| {
            let r = &rule_table[f[i].rule as usize];
            DetectionRef {
                time: f[i].time,
                rule_id: r.id.clone(),
                rule_title: r.title.clone(),
                level: level_str(r.level),
                host: f[i].host.clone(),
                account: f[i].account.clone(),
                source: source(f[i].input),
                record: f[i].record,
                index: i,
            }
        };
        let mut incidents: Vec<Incident> = Vec::new();
        // Groups in order of their first detection (BTreeMap keys are not that order).
        let mut roots: Vec<(usize, &Vec<usize>)> = groups.iter().map(|(r, v)| (*r, v)).collect();
        roots.sort_by_key(|(_, v)| {
            let i = v[0];
            (f[i].time, f[i].input, f[i].record, f[i].rule)
        });
        for (root, members) in roots {
            let first = members[0];
            let last_i = *members.last().unwrap_or(&first);
            let mut hosts = Touches::default();
            let mut accounts = Touches::default();
            let mut tactics_seen: Vec<TacticSeen> = Vec::new();
            let mut rules: Vec<RuleCount> = Vec::new();
            let mut max_level: Option<Level> = None;
            for &i in members {
                let d = &f[i];
                if !d.host.is_empty() {
                    hosts.touch(&d.host, d.time, true);
                }
                for e in d.entities.iter().filter(|e| e.kind == EntityKind::Account) {
                    accounts.touch(&e.value, d.time, true);
                }
                let r = &rule_table[d.rule as usize];
                max_level = max_level.max(r.level);
                for t in &r.tactics {
                    if !tactics_seen.iter().any(|x| x.tactic == *t) {
                        tactics_seen.push(TacticSeen {
                            tactic: t.to_string(),
                            first: d.time,
                        });
                    }
                }
                match rules
                    .iter_mut()
                    .find(|x| x.rule_id == r.id && x.rule_title == r.title)
                {
                    Some(x) => x.count += 1,
                    None => rules.push(RuleCount {
                        rule_id: r.id.clone(),
                        rule_title: r.title.clone(),
                        level: level_str(r.level),
                        count: 1,
                    }),
                }
            }
            let mut edges: Vec<Edge> = Vec::new();
            for &mi in group_moves.get(&root).into_iter().flatten() {
                let m: &Movement = &all_moves[mi];
                accounts.touch(&m.account, m.time, false);
                hosts.touch(&m.from, m.time, false);
                let h = hosts.touch(&m.to, m.time, false);
                if h.reached.is_none() {
                    h.reached = Some(dwell_ingest::time::format(m.time));
                }
                edges.push(Edge {
                    time: m.time,
                    account: m.account.clone(),
                    from: m.from.clone(),
                    to: m.to.clone(),
                    logon_type: m.logon_type,
                    methods: m.methods.clone(),
                    admin: m.admin,
                    evidence: m
                        .evidence
                        .iter()
                        .map(|e| EvidenceRef {
                            kind: e.kind.as_str().to_string(),
                            time: e.time,
                            source: source(e.input),
                            record: e.record,
                        })
                        .collect(),
                });
            }
            let (hosts, accounts) = (hosts.sorted(), accounts.sorted());
            tactics_seen.sort_by_key(|t| (t.first, TACTICS.iter().position(|x| *x == t.tactic)));
            rules.sort_by(|a, b| b.count.cmp(&a.count).then(a.rule_title.cmp(&b.rule_title)));
            let patient_zero = PatientZero {
                host: Some(f[first].host.clone()).filter(|h| !h.is_empty()),
                account: members.iter().find_map(|&i| f[i].account.clone()),
            };
            let links = group_links
                .get(&root)
                .into_iter()
                .flatten()
                .map(|&li| {
                    let (via, entity, a, b) = &raw_links[li];
                    Link {
                        via: via.clone(),
                        entity: entity.clone(),
                        from: record_ref(*a),
                        to: record_ref(*b),
                    }
                })
                .collect();
            let severity = severity(max_level, &tactics_seen, hosts.len());
            incidents.push(Incident {
                id: incidents.len() as u32 + 1,
                severity: severity.as_str().to_string(),
                first: det_ref(first),
                last: det_ref(last_i),
                dwell_seconds: (f[last_i].time - f[first].time) / 1_000_000_000,
                patient_zero,
                hosts,
                accounts,
                tactics: tactics_seen,
                movements: edges,
                rules,
                detections: members.iter().map(|&i| det_ref(i)).collect(),
                links,
            });
        }
        Report {
            version: 1,
            gap_seconds: gap / 1_000_000_000,
            detections: n + self.undated,
            undated_detections: self.undated,
            movements_seen: all_moves.len(),
            incidents,
        }
    }
}

/// An incident's severity: its highest rule level, one step higher when it shows an
/// intrusion in progress (lateral movement, credential theft, exfiltration or impact across
/// two or more hosts, or four or more tactics).
pub fn severity(max_level: Option<Level>, tactics: &[TacticSeen], hosts: usize) -> Level {
    let base = max_level.unwrap_or(Level::Informational);
    let grave = tactics.iter().any(|t| {
        matches!(
            t.tactic.as_str(),
            "lateral-movement" | "credential-access" | "exfiltration" | "impact"
        )
    });
    if (grave && hosts >= 2) || tactics.len() >= 4 {
        match base {
            Level::Informational => Level::Low,
            Level::Low => Level::Medium,
            Level::Medium => Level::High,
            Level::High | Level::Critical => Level::Critical,
        }
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logon::LogonKind;

    const S: i64 = 1_000_000_000;

    fn rules() -> Vec<RuleInfo> {
        vec![
            RuleInfo {
                id: "r0".into(),
                title: "Execution".into(),
                level: Some(Level::Medium),
                tactics: tactics(&["attack.execution".into(), "attack.t1059".into()]),
            },
            RuleInfo {
                id: "r1".into(),
                title: "Dump".into(),
                level: Some(Level::High),
                tactics: tactics(&["attack.credential_access".into()]),
            },
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
    fn tags_give_tactics_in_kill_chain_order() {
        let t = tactics(&[
            "attack.impact".into(),
            "attack.Credential_Access".into(),
            "attack.t1003".into(),
            "cve.2021-1".into(),
        ]);
        assert_eq!(t, ["credential-access", "impact"]);
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
