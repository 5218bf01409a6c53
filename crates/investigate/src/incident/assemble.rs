//! Phase three: each group of detections becomes an incident: its first and last malicious
//! event, dwell time, patient zero, hosts and accounts touched, tactics in order, the
//! movements attributed to it, its rules, and the links that explain it.

use super::Finding;
use super::link::{RawLink, Sets};
use super::model::*;
use crate::logon::Movement;
use dwell_core::EntityKind;
use dwell_detect::{RuleInfo, TACTICS};
use dwell_sigma::Level;
use std::collections::{BTreeMap, HashMap};

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

/// What assembling needs to look up.
pub(crate) struct Tables<'a> {
    pub(crate) findings: &'a [Finding],
    pub(crate) rules: &'a [RuleInfo],
    pub(crate) inputs: &'a [String],
    pub(crate) moves: &'a [Movement],
    pub(crate) links: &'a [RawLink],
}

impl Tables<'_> {
    fn source(&self, i: u32) -> String {
        self.inputs.get(i as usize).cloned().unwrap_or_default()
    }

    fn record_ref(&self, i: usize) -> RecordRef {
        let f = &self.findings[i];
        RecordRef {
            time: f.time,
            source: self.source(f.input),
            record: f.record,
        }
    }

    fn det_ref(&self, i: usize) -> DetectionRef {
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
            index: i,
        }
    }
}

/// The incidents, in order of their first detection.
pub(crate) fn incidents(
    t: &Tables<'_>,
    order: &[usize],
    attributed: &[(usize, usize)],
    sets: &mut Sets,
) -> Vec<Incident> {
    let f = t.findings;
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in order {
        let r = sets.find(i);
        groups.entry(r).or_default().push(i);
    }
    let mut group_moves: HashMap<usize, Vec<usize>> = HashMap::new();
    for &(mi, src) in attributed {
        group_moves.entry(sets.find(src)).or_default().push(mi);
    }
    let mut group_links: HashMap<usize, Vec<usize>> = HashMap::new();
    for (li, l) in t.links.iter().enumerate() {
        group_links.entry(sets.find(l.from)).or_default().push(li);
    }
    // Groups in order of their first detection (BTreeMap keys are not that order).
    let mut roots: Vec<(usize, &Vec<usize>)> = groups.iter().map(|(r, v)| (*r, v)).collect();
    roots.sort_by_key(|(_, v)| {
        let i = v[0];
        (f[i].time, f[i].input, f[i].record, f[i].rule)
    });
    let mut out = Vec::with_capacity(roots.len());
    for (root, members) in roots {
        let moves = group_moves.get(&root).map_or(&[][..], Vec::as_slice);
        let links = group_links.get(&root).map_or(&[][..], Vec::as_slice);
        out.push(incident(t, out.len() as u32 + 1, members, moves, links));
    }
    out
}

/// One group's incident.
fn incident(
    t: &Tables<'_>,
    id: u32,
    members: &[usize],
    moves: &[usize],
    links: &[usize],
) -> Incident {
    let f = t.findings;
    let first = members[0];
    let last = *members.last().unwrap_or(&first);
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
        let r = &t.rules[d.rule as usize];
        max_level = max_level.max(r.level);
        for tac in &r.tactics {
            if !tactics_seen.iter().any(|x| x.tactic == *tac) {
                tactics_seen.push(TacticSeen {
                    tactic: tac.to_string(),
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
                level: r.level_str().to_string(),
                count: 1,
            }),
        }
    }
    let movements = edges(t, moves, &mut hosts, &mut accounts);
    let (hosts, accounts) = (hosts.sorted(), accounts.sorted());
    tactics_seen.sort_by_key(|x| (x.first, TACTICS.iter().position(|y| *y == x.tactic)));
    rules.sort_by(|a, b| b.count.cmp(&a.count).then(a.rule_title.cmp(&b.rule_title)));
    let patient_zero = PatientZero {
        host: Some(f[first].host.clone()).filter(|h| !h.is_empty()),
        account: members.iter().find_map(|&i| f[i].account.clone()),
    };
    let links = links
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
    let severity = severity(max_level, &tactics_seen, hosts.len());
    Incident {
        id,
        severity: severity.as_str().to_string(),
        first: t.det_ref(first),
        last: t.det_ref(last),
        dwell_seconds: (f[last].time - f[first].time) / 1_000_000_000,
        patient_zero,
        hosts,
        accounts,
        tactics: tactics_seen,
        movements,
        rules,
        detections: members.iter().map(|&i| t.det_ref(i)).collect(),
        links,
    }
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
