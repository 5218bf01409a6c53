//! Each group becomes an incident: its first and last malicious event, dwell time to the last
//! detection and to impact, what it compromised and when each was first abused, patient
//! zero, hosts and accounts touched, tactics in order, the storyline in stages, the movements
//! attributed to it, its rules, and the links that explain it.

use super::Finding;
use super::campaign::{Group, Member, Role};
use super::link::RawLink;
use super::model::*;
use crate::logon::Movement;
use crate::trace::Remediation;
use dwell_core::EntityKind;
use dwell_detect::{RuleInfo, TACTICS};
use dwell_sigma::Level;
use std::collections::HashMap;

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

    fn get(&self, name: &str) -> Option<&Touched> {
        self.index.get(name).map(|&i| &self.list[i])
    }

    /// In order of first appearance.
    fn sorted(mut self) -> Vec<Touched> {
        self.list
            .sort_by(|a, b| (a.first, &a.name).cmp(&(b.first, &b.name)));
        self.list
    }
}

/// What assembling needs to look up.
pub(crate) struct Tables<'a> {
    pub(crate) findings: &'a [Finding],
    pub(crate) rules: &'a [RuleInfo],
    pub(crate) inputs: &'a [String],
    pub(crate) moves: &'a [Movement],
    pub(crate) links: &'a [RawLink],
    pub(crate) remediations: &'a [Remediation],
}

impl Tables<'_> {
    pub(crate) fn source(&self, i: u32) -> String {
        self.inputs.get(i as usize).cloned().unwrap_or_default()
    }

    pub(crate) fn record_ref(&self, i: usize) -> RecordRef {
        let f = &self.findings[i];
        RecordRef {
            time: f.time,
            source: self.source(f.input),
            record: f.record,
        }
    }

    fn member_ref(&self, m: &Member) -> DetectionRef {
        DetectionRef {
            role: m.role.as_str().to_string(),
            why: m.why.clone(),
            confidence: m.confidence.to_string(),
            ..self.det_ref(m.i)
        }
    }

    pub(crate) fn det_ref(&self, i: usize) -> DetectionRef {
        let f = &self.findings[i];
        let r = &self.rules[f.rule as usize];
        DetectionRef {
            time: f.time,
            rule_id: r.id.clone(),
            rule_title: r.title.clone(),
            level: r.level_str().to_string(),
            host: f.host.clone(),
            account: f.account.clone(),
            source: self.source(f.input),
            record: f.record,
            role: String::new(),
            why: String::new(),
            confidence: String::new(),
            index: i,
            tags: r.tags.clone(),
        }
    }
}

/// The incidents: campaigns gravest first, then leads gravest first.
pub(crate) fn incidents(t: &Tables<'_>, groups: &[Group]) -> Vec<Incident> {
    let mut out: Vec<Incident> = groups.iter().map(|g| incident(t, g)).collect();
    let rank = |i: &Incident| {
        std::cmp::Reverse((
            i.campaign,
            Level::parse(&i.severity),
            i.compromised.len(),
            i.hosts.len(),
        ))
    };
    out.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then(a.first.time.cmp(&b.first.time))
            .then(a.first.record.cmp(&b.first.record))
    });
    for (k, i) in out.iter_mut().enumerate() {
        i.id = k as u32 + 1;
    }
    out
}

/// Quiet longer than this between a campaign's events starts a new stage (six hours).
const STAGE_QUIET: i64 = 6 * 3600 * 1_000_000_000;

/// ATT&CK techniques of destruction: data destroyed, encrypted for impact, disks wiped.
fn destructive(r: &RuleInfo) -> bool {
    r.tags.iter().any(|t| {
        let t = t.to_ascii_lowercase();
        ["attack.t1485", "attack.t1486", "attack.t1561"]
            .iter()
            .any(|p| t == *p || t.starts_with(&format!("{p}.")))
    })
}

/// One group's incident.
fn incident(t: &Tables<'_>, g: &Group) -> Incident {
    let f = t.findings;
    let members = &g.members;
    let first = members[0].i;
    let last = members.last().map_or(first, |m| m.i);
    let mut hosts = Touches::default();
    let mut accounts = Touches::default();
    let mut tactics_seen: Vec<TacticSeen> = Vec::new();
    let mut rules: Vec<RuleCount> = Vec::new();
    let mut max_level: Option<Level> = None;
    let mut impact = None;
    for m in members {
        let d = &f[m.i];
        if !d.host.is_empty() {
            hosts.touch(&d.host, d.time, true);
        }
        for e in d.entities.iter().filter(|e| e.kind == EntityKind::Account) {
            accounts.touch(&e.value, d.time, true);
        }
        let r = &t.rules[d.rule as usize];
        if m.role != Role::Context {
            max_level = max_level.max(r.level);
            for tac in &r.tactics {
                if !tactics_seen.iter().any(|x| x.tactic == *tac) {
                    tactics_seen.push(TacticSeen {
                        tactic: tac.to_string(),
                        first: d.time,
                    });
                }
            }
        }
        if impact.is_none() && m.role == Role::Signal && destructive(r) {
            impact = Some(m);
        }
        match rules
            .iter_mut()
            .find(|x| x.rule_id == r.id && x.rule_title == r.title)
        {
            Some(x) => x.count += 1,
            None => rules.push(RuleCount {
                rule_id: r.id.clone(),
                rule_title: r.title.clone(),
                level: r.level_str().to_string(),
                count: 1,
            }),
        }
    }
    let mut movements = edges(t, &g.moves, &mut hosts, &mut accounts);
    movements.sort_by(|a, b| (a.time, &a.account, &a.to).cmp(&(b.time, &b.account, &b.to)));
    let compromised = compromised(t, g, &hosts, &accounts);
    let (hosts, accounts) = (hosts.sorted(), accounts.sorted());
    tactics_seen.sort_by_key(|x| (x.first, TACTICS.iter().position(|y| *y == x.tactic)));
    rules.sort_by(|a, b| b.count.cmp(&a.count).then(a.rule_title.cmp(&b.rule_title)));
    let patient_zero = PatientZero {
        host: members
            .iter()
            .map(|m| &f[m.i].host)
            .find(|h| !h.is_empty())
            .cloned(),
        account: members.iter().find_map(|m| f[m.i].account.clone()),
    };
    let links = g
        .links
        .iter()
        .map(|&li| {
            let l = &t.links[li];
            Link {
                via: l.via.clone(),
                entity: l.entity.clone(),
                from: t.record_ref(l.from),
                to: t.record_ref(l.to),
            }
        })
        .collect();
    let severity = if g.campaign {
        severity(max_level, &tactics_seen, hosts.len())
    } else {
        max_level.unwrap_or(Level::Informational)
    };
    let stages = stages(t, members);
    Incident {
        id: 0,
        campaign: g.campaign,
        severity: severity.as_str().to_string(),
        first: t.member_ref(&members[0]),
        last: t.member_ref(members.last().unwrap_or(&members[0])),
        dwell_seconds: (f[last].time - f[first].time) / 1_000_000_000,
        impact: impact.map(|m| t.member_ref(m)),
        dwell_to_impact_seconds: impact.map(|m| (f[m.i].time - f[first].time) / 1_000_000_000),
        compromised,
        stages,
        patient_zero,
        hosts,
        accounts,
        tactics: tactics_seen,
        movements,
        rules,
        detections: members.iter().map(|m| t.member_ref(m)).collect(),
        links,
    }
}

/// What the group compromised, each with its first abuse: the earliest event of the
/// incident that names it.
fn compromised(t: &Tables<'_>, g: &Group, hosts: &Touches, accounts: &Touches) -> Vec<Compromised> {
    let mut out: Vec<Compromised> = g
        .compromised
        .iter()
        .map(|c| {
            let touched = match c.kind {
                EntityKind::Host => hosts.get(&c.name),
                EntityKind::Account => accounts.get(&c.name),
                _ => None,
            };
            let first = touched.map_or(c.since, |x| x.first.min(c.since));
            Compromised {
                kind: match c.kind {
                    EntityKind::Account => "account",
                    EntityKind::Host => "host",
                    _ => "address",
                }
                .to_string(),
                name: c.name.clone(),
                first_abuse: first,
                since: c.since,
                how: c.how.clone(),
                evidence: match c.record {
                    Some((time, input, record)) => RecordRef {
                        time,
                        source: t.source(input),
                        record,
                    },
                    None => t.record_ref(c.by),
                },
                confidence: c.confidence.to_string(),
                remediated: c.until.map(|k| {
                    let r = &t.remediations[k];
                    Remediated {
                        time: r.time,
                        how: r.how.to_string(),
                        source: t.source(r.input),
                        record: r.record,
                    }
                }),
            }
        })
        .collect();
    out.sort_by(|a, b| (a.first_abuse, &a.kind, &a.name).cmp(&(b.first_abuse, &b.kind, &b.name)));
    out
}

/// The storyline: members split where the campaign went quiet for [`STAGE_QUIET`].
fn stages(t: &Tables<'_>, members: &[Member]) -> Vec<Stage> {
    let f = t.findings;
    let mut out: Vec<Stage> = Vec::new();
    let mut start = 0;
    for k in 1..=members.len() {
        let split =
            k == members.len() || f[members[k].i].time - f[members[k - 1].i].time > STAGE_QUIET;
        if !split {
            continue;
        }
        let part = &members[start..k];
        let mut hosts: Vec<String> = Vec::new();
        let mut accounts: Vec<String> = Vec::new();
        let mut tactics: Vec<String> = Vec::new();
        let mut heads: Vec<(Option<Level>, usize, &str)> = Vec::new();
        for (n, m) in part.iter().enumerate() {
            let d = &f[m.i];
            let r = &t.rules[d.rule as usize];
            if !d.host.is_empty() && !hosts.contains(&d.host) {
                hosts.push(d.host.clone());
            }
            if let Some(a) = &d.account
                && !accounts.contains(a)
            {
                accounts.push(a.clone());
            }
            if m.role != Role::Context {
                for tac in &r.tactics {
                    if !tactics.iter().any(|x| x == tac) {
                        tactics.push(tac.to_string());
                    }
                }
            }
            if !heads.iter().any(|h| h.2 == r.title) {
                heads.push((r.level, n, r.title.as_str()));
            }
        }
        heads.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        out.push(Stage {
            stage: out.len() as u32 + 1,
            first: f[part[0].i].time,
            last: f[part[part.len() - 1].i].time,
            hosts,
            accounts,
            tactics,
            detections: part.len(),
            headline: heads.iter().take(3).map(|h| h.2.to_string()).collect(),
        });
        start = k;
    }
    out
}

/// The group's movements as edges; the hosts and accounts they touch count as touched.
fn edges(
    t: &Tables<'_>,
    moves: &[usize],
    hosts: &mut Touches,
    accounts: &mut Touches,
) -> Vec<Edge> {
    let mut out = Vec::with_capacity(moves.len());
    for &mi in moves {
        let m = &t.moves[mi];
        accounts.touch(&m.account, m.time, false);
        hosts.touch(&m.from, m.time, false);
        let h = hosts.touch(&m.to, m.time, false);
        if h.reached.is_none() {
            h.reached = Some(dwell_core::time::format(m.time));
        }
        out.push(Edge {
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
                    source: t.source(e.input),
                    record: e.record,
                })
                .collect(),
        });
    }
    out
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
