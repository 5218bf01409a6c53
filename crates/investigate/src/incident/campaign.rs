//! Campaigns: signal detections joined into groups (shared entities within the gap, lateral
//! movement), then grown by the state of what they compromised. Once a group shows an
//! intrusion (a campaign), the accounts, hosts and addresses it used are compromised from
//! their first abuse until evidence of remediation, and every later signal naming them joins
//! it however long the intruder was quiet. A campaign then takes in its context: the
//! identity and service-desk events that led to an account's first abuse (precursors), and the
//! low-level detections its compromised accounts made while compromised.

use super::Finding;
use super::background::{Class, Learned};
use super::link::{self, RawLink, Sets};
use super::movement;
use crate::addresses::Addresses;
use crate::logon::Movement;
use crate::trace::Remediation;
use dwell_core::EntityKind;
use dwell_detect::RuleInfo;
use dwell_sigma::Level;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A movement out of a compromised host explains a signal on its target this soon after it
/// (one hour); an administrator's session hours earlier does not.
pub const FOLLOWS: i64 = 3600 * 1_000_000_000;

/// How far before an account's first abuse the detections of its credentials changing hands
/// (a help-desk call, an MFA or password reset, a takeover) are its precursors: seven days, as
/// an intruder may wait between taking an account and using it.
pub const CREDENTIAL_CHAIN: i64 = 7 * 86_400 * 1_000_000_000;

/// ATT&CK techniques of an account's credentials changing hands: account manipulation,
/// modified authentication, impersonation, valid accounts, MFA request generation.
const CREDENTIAL_TECHNIQUES: [&str; 5] = [
    "attack.t1098",
    "attack.t1556",
    "attack.t1656",
    "attack.t1078",
    "attack.t1621",
];

/// How a detection belongs to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A signal detection of the group.
    Signal,
    /// An event that led to an account's first abuse.
    Precursor,
    /// A low-level or routine detection of a compromised account.
    Context,
}

impl Role {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Signal => "signal",
            Role::Precursor => "precursor",
            Role::Context => "context",
        }
    }
}

/// A detection in a group, and why it is there.
pub(crate) struct Member {
    pub(crate) i: usize,
    pub(crate) role: Role,
    pub(crate) why: String,
    pub(crate) confidence: &'static str,
}

/// An entity a campaign compromised.
#[derive(Debug, Clone)]
pub(crate) struct Compromise {
    pub(crate) kind: EntityKind,
    pub(crate) name: String,
    /// From when it counts as compromised, and the finding that showed it.
    pub(crate) since: i64,
    pub(crate) by: usize,
    /// For a movement, its first record (time, input, record), which is the evidence.
    pub(crate) record: Option<(i64, u32, u64)>,
    pub(crate) how: String,
    pub(crate) confidence: &'static str,
    /// Remediated then (index into the remediation table).
    pub(crate) until: Option<usize>,
}

/// A campaign or a lead (a group of signal that shows no intrusion by itself).
pub(crate) struct Group {
    pub(crate) members: Vec<Member>,
    pub(crate) moves: Vec<usize>,
    pub(crate) links: Vec<usize>,
    pub(crate) campaign: bool,
    pub(crate) compromised: Vec<Compromise>,
}

/// What the model reads.
pub(crate) struct Cx<'a> {
    pub(crate) f: &'a [Finding],
    pub(crate) order: &'a [usize],
    pub(crate) learned: &'a Learned,
    pub(crate) rules: &'a [RuleInfo],
    pub(crate) moves: &'a [Movement],
    pub(crate) addresses: &'a Addresses,
    pub(crate) remediations: &'a [Remediation],
    pub(crate) gap: i64,
}

impl Cx<'_> {
    fn level(&self, i: usize) -> Level {
        self.rules
            .get(self.f[i].rule as usize)
            .and_then(|r| r.level)
            .unwrap_or(Level::Informational)
    }

    fn title(&self, i: usize) -> &str {
        self.rules
            .get(self.f[i].rule as usize)
            .map_or("", |r| r.title.as_str())
    }

    fn tactics(&self, i: usize) -> &[&'static str] {
        self.rules
            .get(self.f[i].rule as usize)
            .map_or(&[], |r| r.tactics.as_slice())
    }

    /// Whether a finding's rule is about an account's credentials changing hands.
    fn credential(&self, i: usize) -> bool {
        self.rules.get(self.f[i].rule as usize).is_some_and(|r| {
            r.tags.iter().any(|t| {
                let t = t.to_ascii_lowercase();
                CREDENTIAL_TECHNIQUES
                    .iter()
                    .any(|p| t == *p || t.starts_with(&format!("{p}.")))
            })
        })
    }

    /// The accounts a finding names.
    fn accounts(&self, i: usize) -> impl Iterator<Item = &str> {
        self.f[i]
            .entities
            .iter()
            .filter(|e| e.kind == EntityKind::Account)
            .map(|e| e.value.as_str())
    }

    /// The end of an account's compromise from `since`: its first remediation after.
    fn remediated(&self, account: &str, since: i64) -> Option<usize> {
        self.remediations
            .iter()
            .enumerate()
            .filter(|(_, r)| r.account == account && r.time > since)
            .min_by_key(|(_, r)| r.time)
            .map(|(k, _)| k)
    }
}

fn ago(ns: i64) -> String {
    let s = ns / 1_000_000_000;
    match s {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

fn kind_word(k: EntityKind) -> &'static str {
    match k {
        EntityKind::Account => "account",
        EntityKind::Host => "host",
        _ => "address",
    }
}

/// Whether the signal detections (and movements) of a group show an intrusion: a high or
/// critical detection with two tactics or two hosts, or any critical one.
fn is_campaign(cx: &Cx<'_>, signal: &[usize], moves: &[usize]) -> bool {
    let max = signal.iter().map(|&i| cx.level(i)).max();
    if max == Some(Level::Critical) {
        return true;
    }
    if max != Some(Level::High) {
        return false;
    }
    let tactics: HashSet<&str> = signal
        .iter()
        .flat_map(|&i| cx.tactics(i))
        .copied()
        .collect();
    let mut hosts: HashSet<&str> = signal
        .iter()
        .map(|&i| cx.f[i].host.as_str())
        .filter(|h| !h.is_empty())
        .collect();
    hosts.extend(moves.iter().map(|&m| cx.moves[m].to.as_str()));
    tactics.len() >= 2 || hosts.len() >= 2
}

/// What a group's signal and movements compromised (see docs/investigate.md, "Campaigns").
fn compromised(cx: &Cx<'_>, signal: &[usize], moves: &[(usize, usize)]) -> Vec<Compromise> {
    let mut out: Vec<Compromise> = Vec::new();
    let mut add = |kind, name: &str, since: i64, by: usize, how: String, confidence, record| {
        if name.is_empty() {
            return;
        }
        match out.iter_mut().find(|c| c.kind == kind && c.name == name) {
            Some(c) if c.since <= since => {}
            Some(c) => {
                (c.since, c.by, c.how, c.confidence) = (since, by, how, confidence);
                c.record = record;
            }
            None => out.push(Compromise {
                kind,
                name: name.to_string(),
                since,
                by,
                record,
                how,
                confidence,
                until: None,
            }),
        }
    };
    let mut medium_rules: HashMap<&str, Vec<(u32, usize)>> = HashMap::new();
    let mut hosts_since: HashMap<&str, i64> = HashMap::new();
    for &i in signal {
        let d = &cx.f[i];
        let level = cx.level(i);
        let title = cx.title(i);
        // Signal that comes from a host the group already holds (an address it held then)
        // uses its acting account from the intruder's machine.
        if let Some(a) = d.account.as_deref() {
            let from = d
                .entities
                .iter()
                .filter(|e| e.kind == EntityKind::Ip)
                .filter_map(|e| cx.addresses.at(&e.value, d.time))
                .find(|h| *h != d.host && hosts_since.get(h).is_some_and(|&s| s <= d.time));
            if let Some(h) = from {
                add(
                    EntityKind::Account,
                    a,
                    d.time,
                    i,
                    format!(
                        "acting in \"{title}\" ({}) from compromised {h}",
                        level.as_str()
                    ),
                    "medium",
                    None,
                );
            }
        }
        if level >= Level::High {
            for a in cx.accounts(i) {
                add(
                    EntityKind::Account,
                    a,
                    d.time,
                    i,
                    format!("named by \"{title}\" ({})", level.as_str()),
                    "high",
                    None,
                );
            }
            for e in d.entities.iter().filter(|e| e.kind == EntityKind::Ip) {
                if cx.addresses.at(&e.value, d.time).is_none() {
                    add(
                        EntityKind::Ip,
                        &e.value,
                        d.time,
                        i,
                        format!("source of \"{title}\" ({})", level.as_str()),
                        "high",
                        None,
                    );
                }
            }
        } else if let Some(a) = d.account.as_deref() {
            let v = medium_rules.entry(a).or_default();
            if !v.iter().any(|(r, _)| *r == d.rule) {
                v.push((d.rule, i));
            }
        }
        add(
            EntityKind::Host,
            &d.host,
            d.time,
            i,
            format!("\"{title}\" ({}) on it", level.as_str()),
            if level >= Level::High {
                "high"
            } else {
                "medium"
            },
            None,
        );
        if !d.host.is_empty() {
            hosts_since.entry(d.host.as_str()).or_insert(d.time);
        }
    }
    for (a, v) in medium_rules {
        if let Some(&(_, i)) = v.get(1) {
            add(
                EntityKind::Account,
                a,
                cx.f[i].time,
                i,
                "acting account of two medium-level signals".to_string(),
                "medium",
                None,
            );
        }
    }
    for &(mi, src) in moves {
        let m = &cx.moves[mi];
        let how = format!(
            "moved from {} to {} ({})",
            m.from,
            m.to,
            m.methods.join(", ")
        );
        let record = m.evidence.first().map(|e| (e.time, e.input, e.record));
        add(
            EntityKind::Account,
            &m.account,
            m.time,
            src,
            how.clone(),
            "high",
            record,
        );
        add(EntityKind::Host, &m.to, m.time, src, how, "high", record);
    }
    for c in &mut out {
        if c.kind == EntityKind::Account {
            c.until = cx.remediated(&c.name, c.since);
        }
    }
    out.sort_by(|a, b| (a.since, &a.name).cmp(&(b.since, &b.name)));
    out
}

/// Compromised entities of every campaign, to look up by entity.
type StateIndex = HashMap<(EntityKind, String), Vec<(i64, i64, usize, usize)>>;

/// Builds the groups: campaigns first, in order of first event, then leads.
pub(crate) fn build(cx: &Cx<'_>, sets: &mut Sets, links: &mut Vec<RawLink>) -> Vec<Group> {
    let f = cx.f;
    let class = &cx.learned.class;
    let signal_order: Vec<usize> = cx
        .order
        .iter()
        .copied()
        .filter(|&i| class[i] == Class::Signal)
        .collect();
    links.extend(link::by_entities(f, &signal_order, cx.gap, sets));
    let mut attributed = movement::attribute(f, &signal_order, cx.moves, cx.gap, sets, links);
    let mut taken: HashSet<usize> = attributed.iter().map(|&(m, _)| m).collect();
    // Signal detections by host, for movements into a campaign's host.
    let mut on_host: HashMap<&str, Vec<usize>> = HashMap::new();
    for &i in &signal_order {
        if !f[i].host.is_empty() {
            on_host.entry(f[i].host.as_str()).or_default().push(i);
        }
    }
    // Grow campaigns by the state of what they compromised, until nothing changes.
    let groups = loop {
        let (groups, states) = snapshot(cx, &signal_order, &attributed, sets);
        let index = index(cx, &groups, &states);
        let mut changed = false;
        for &i in &signal_order {
            let t = f[i].time;
            let here = f[i].host.as_str();
            let mut keys: Vec<(EntityKind, &str)> = Vec::new();
            for e in &f[i].entities {
                if matches!(
                    e.kind,
                    EntityKind::Account | EntityKind::Host | EntityKind::Ip
                ) {
                    keys.push((e.kind, e.value.as_str()));
                }
            }
            if !here.is_empty() {
                keys.push((EntityKind::Host, here));
            }
            for (kind, name) in keys {
                let Some(v) = index.get(&(kind, name.to_string())) else {
                    continue;
                };
                for &(since, until, root, by) in v {
                    if !(since <= t && t < until) {
                        continue;
                    }
                    // On a compromised host, what its own administrators do (another,
                    // uncompromised account) is theirs: it joins only within the gap, by
                    // the links above. What comes from a compromised host is the campaign's.
                    if kind == EntityKind::Host && name == here {
                        let root = sets.find(root);
                        let theirs = f[i].account.as_deref().is_some_and(|a| {
                            !index
                                .get(&(EntityKind::Account, a.to_string()))
                                .is_some_and(|w| {
                                    w.iter().any(|&(s, u, r, _)| {
                                        s <= t && t < u && sets.find(r) == root
                                    })
                                })
                        });
                        if theirs {
                            continue;
                        }
                    }
                    if sets.union(i, root) {
                        links.push(RawLink {
                            via: format!("compromised {}", kind_word(kind)),
                            entity: name.to_string(),
                            from: by,
                            to: i,
                        });
                        changed = true;
                    }
                }
            }
        }
        // Movements out of a compromised host: by a compromised account, by remote
        // execution, or into a host where the campaign's signal follows within FOLLOWS.
        for (mi, m) in cx.moves.iter().enumerate() {
            if taken.contains(&mi) {
                continue;
            }
            let Some(v) = index.get(&(EntityKind::Host, m.from.clone())) else {
                continue;
            };
            for &(since, until, root, by) in v {
                if !(since <= m.time && m.time < until) {
                    continue;
                }
                let root = sets.find(root);
                let by_account = index
                    .get(&(EntityKind::Account, m.account.clone()))
                    .is_some_and(|w| {
                        w.iter()
                            .any(|&(s, u, r, _)| s <= m.time && m.time < u && sets.find(r) == root)
                    });
                let remote = m
                    .methods
                    .iter()
                    .any(|x| matches!(x.as_str(), "psexec" | "wmi" | "winrm"));
                let follows = on_host.get(m.to.as_str()).and_then(|v| {
                    let k = v.partition_point(|&i| f[i].time < m.time);
                    v.get(k).copied().filter(|&i| f[i].time - m.time <= FOLLOWS)
                });
                if by_account || remote || follows.is_some() {
                    if let Some(d) = follows
                        && sets.union(by, d)
                    {
                        links.push(RawLink {
                            via: "movement".into(),
                            entity: format!("{} {} -> {}", m.account, m.from, m.to),
                            from: by,
                            to: d,
                        });
                    }
                    attributed.push((mi, by));
                    taken.insert(mi);
                    changed = true;
                    break;
                }
            }
        }
        if !changed {
            break groups;
        }
    };
    finish(cx, groups, &attributed, links, sets)
}

/// The groups of signal as they stand: root → members in time order, whether each is a
/// campaign, and what each campaign compromised.
fn snapshot(
    cx: &Cx<'_>,
    signal_order: &[usize],
    attributed: &[(usize, usize)],
    sets: &mut Sets,
) -> (BTreeMap<usize, Vec<usize>>, HashMap<usize, Vec<Compromise>>) {
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in signal_order {
        groups.entry(sets.find(i)).or_default().push(i);
    }
    let mut moves: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
    for &(mi, src) in attributed {
        moves.entry(sets.find(src)).or_default().push((mi, src));
    }
    let mut states = HashMap::new();
    for (root, members) in &groups {
        let m = moves.get(root).map_or(&[][..], Vec::as_slice);
        let mv: Vec<usize> = m.iter().map(|&(mi, _)| mi).collect();
        if is_campaign(cx, members, &mv) {
            states.insert(*root, compromised(cx, members, m));
        }
    }
    (groups, states)
}

fn index(
    cx: &Cx<'_>,
    groups: &BTreeMap<usize, Vec<usize>>,
    states: &HashMap<usize, Vec<Compromise>>,
) -> StateIndex {
    let mut index: StateIndex = HashMap::new();
    for root in groups.keys() {
        let Some(st) = states.get(root) else { continue };
        for c in st {
            let until = c.until.map_or(i64::MAX, |k| cx.remediations[k].time);
            index
                .entry((c.kind, c.name.clone()))
                .or_default()
                .push((c.since, until, *root, c.by));
        }
    }
    index
}

/// The final groups: campaigns with their precursors and context, then leads.
fn finish(
    cx: &Cx<'_>,
    groups: BTreeMap<usize, Vec<usize>>,
    attributed: &[(usize, usize)],
    links: &[RawLink],
    sets: &mut Sets,
) -> Vec<Group> {
    let f = cx.f;
    let mut moves: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
    for &(mi, src) in attributed {
        moves.entry(sets.find(src)).or_default().push((mi, src));
    }
    let mut group_links: HashMap<usize, Vec<usize>> = HashMap::new();
    for (li, l) in links.iter().enumerate() {
        group_links.entry(sets.find(l.from)).or_default().push(li);
    }
    let why_linked: HashMap<usize, &RawLink> = links.iter().map(|l| (l.to, l)).collect();
    let mut campaigns: Vec<(usize, Vec<usize>, Vec<Compromise>)> = Vec::new();
    let mut leads: Vec<(usize, Vec<usize>)> = Vec::new();
    for (root, members) in groups {
        let m = moves.get(&root).map_or(&[][..], Vec::as_slice);
        let mv: Vec<usize> = m.iter().map(|&(mi, _)| mi).collect();
        if is_campaign(cx, &members, &mv) {
            let st = compromised(cx, &members, m);
            campaigns.push((root, members, st));
        } else {
            leads.push((root, members));
        }
    }
    campaigns.sort_by_key(|(_, m, _)| f[m[0]].time);
    // Findings by account, in time order, for precursors and context.
    let mut by_account: HashMap<&str, Vec<usize>> = HashMap::new();
    for &i in cx.order {
        for a in cx.accounts(i) {
            let v = by_account.entry(a).or_default();
            if v.last() != Some(&i) {
                v.push(i);
            }
        }
    }
    let in_campaign: HashSet<usize> = campaigns
        .iter()
        .flat_map(|(_, m, _)| m.iter().copied())
        .collect();
    let mut claimed: HashSet<usize> = HashSet::new();
    let mut out = Vec::new();
    for (root, signal, st) in &campaigns {
        let last_signal = signal.iter().map(|&i| f[i].time).max().unwrap_or(0);
        let member_set: HashSet<usize> = signal.iter().copied().collect();
        let mut members: Vec<Member> = signal
            .iter()
            .map(|&i| {
                let (why, confidence) = match why_linked.get(&i) {
                    Some(l) => (
                        format!(
                            "{} {} with \"{}\" {} earlier",
                            if l.via.starts_with("compromised") {
                                "names"
                            } else {
                                "shares"
                            },
                            describe(l),
                            cx.title(l.from),
                            ago(f[i].time - f[l.from].time)
                        ),
                        if cx.level(i) >= Level::High || l.via != "host" {
                            "high"
                        } else {
                            "medium"
                        },
                    ),
                    None if i == signal[0] => (
                        "the campaign's first signal".to_string(),
                        if cx.level(i) >= Level::High {
                            "high"
                        } else {
                            "medium"
                        },
                    ),
                    None => ("in the same group of signal".to_string(), "medium"),
                };
                Member {
                    i,
                    role: Role::Signal,
                    why,
                    confidence,
                }
            })
            .collect();
        for c in st.iter().filter(|c| c.kind == EntityKind::Account) {
            let Some(list) = by_account.get(c.name.as_str()) else {
                continue;
            };
            let until = c.until.map_or(i64::MAX, |k| cx.remediations[k].time);
            let reach = cx.gap.max(CREDENTIAL_CHAIN);
            let from = list.partition_point(|&i| f[i].time < c.since - reach);
            for &i in &list[from..] {
                let t = f[i].time;
                if t > last_signal + cx.gap || t >= until {
                    break;
                }
                if member_set.contains(&i) || in_campaign.contains(&i) || !claimed.insert(i) {
                    continue;
                }
                let cls = cx.learned.class[i];
                let routine_of_campaign = match cls {
                    Class::Background(s) => {
                        member_set.contains(&cx.learned.shapes[s as usize].first)
                    }
                    _ => false,
                };
                // Before the gap, only the account's credentials changing hands.
                let near = c.since - t <= cx.gap || cx.credential(i);
                let member = if t < c.since {
                    (near && matches!(cls, Class::Signal | Class::Context)).then(|| Member {
                        i,
                        role: Role::Precursor,
                        why: format!(
                            "names {} {} before its first abuse (\"{}\")",
                            c.name,
                            ago(c.since - t),
                            cx.title(c.by)
                        ),
                        confidence: "medium",
                    })
                } else {
                    (matches!(cls, Class::Context | Class::Signal) || routine_of_campaign).then(
                        || Member {
                            i,
                            role: Role::Context,
                            why: if routine_of_campaign {
                                "repeats a shape this campaign started".to_string()
                            } else {
                                format!(
                                    "names {}, compromised since {}",
                                    c.name,
                                    dwell_core::time::format(c.since)
                                )
                            },
                            confidence: "low",
                        },
                    )
                };
                match member {
                    Some(m) => members.push(m),
                    None => {
                        claimed.remove(&i);
                    }
                }
            }
        }
        members.sort_by_key(|m| {
            let d = &f[m.i];
            (d.time, d.input, d.record, d.rule)
        });
        out.push(Group {
            members,
            moves: moves
                .get(root)
                .map_or(Vec::new(), |v| v.iter().map(|&(m, _)| m).collect()),
            links: group_links.remove(root).unwrap_or_default(),
            campaign: true,
            compromised: st.clone(),
        });
    }
    leads.sort_by_key(|(_, m)| f[m[0]].time);
    for (root, signal) in leads {
        let members: Vec<Member> = signal
            .into_iter()
            .filter(|i| !claimed.contains(i))
            .map(|i| Member {
                i,
                role: Role::Signal,
                why: "a lead: this group shows no intrusion by itself".to_string(),
                confidence: "low",
            })
            .collect();
        if members.is_empty() {
            continue;
        }
        out.push(Group {
            members,
            moves: moves
                .get(&root)
                .map_or(Vec::new(), |v| v.iter().map(|&(m, _)| m).collect()),
            links: group_links.remove(&root).unwrap_or_default(),
            campaign: false,
            compromised: Vec::new(),
        });
    }
    out
}

fn describe(l: &RawLink) -> String {
    match l.via.as_str() {
        "movement" => format!("the movement {}", l.entity),
        v => format!("{} {}", v.trim_start_matches("compromised "), l.entity),
    }
}
