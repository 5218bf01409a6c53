//! Incidents: the campaign model over detections. [`background`] tells signal from the
//! routine; [`link`] joins signal that shares an entity within the gap and [`movement`] along
//! lateral movements; [`campaign`] grows the groups that show an intrusion by the state of
//! what they compromised and takes in their context; [`assemble`] describes each group.

mod assemble;
mod background;
mod campaign;
mod link;
pub(crate) mod model;
mod movement;

use crate::addresses::Addresses;
use crate::identity::{DomainSid, Identities};
use crate::logon::{Logon, movements};
use crate::trace::{Change, Remediation, Trace};
use background::Class;
use dwell_core::{Entity, EntityKind};
use dwell_detect::RuleInfo;
use model::{LeftOut, Report, Sanctioned, SetAside};
use std::collections::{BTreeMap, HashMap, HashSet};

pub use assemble::severity;
pub use background::{LEARNING_DAYS, ROUTINE_DAYS, WIDE_SHAPES, WIDE_SHARE};

/// Settings of an investigation.
#[derive(Debug, Clone)]
pub struct Options {
    /// Detections further apart than this (nanoseconds) are not linked, unless a campaign
    /// compromised what they share.
    pub gap: i64,
    /// Hosts of inputs whose events name none: (path prefix as the input table writes it,
    /// host).
    pub hosts: Vec<(String, String)>,
    /// The identity map's `(identity, person)` rows.
    pub identity_map: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            gap: 24 * 3600 * 1_000_000_000,
            hosts: Vec::new(),
            identity_map: Vec::new(),
        }
    }
}

impl Options {
    /// The host given for input `path`, the longest prefix winning.
    fn host_of(&self, path: &str) -> Option<&str> {
        self.hosts
            .iter()
            .filter(|(p, _)| under(path, p))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, h)| h.as_str())
    }
}

/// Whether `path` is `prefix` or lies under it.
fn under(path: &str, prefix: &str) -> bool {
    let p = prefix.trim_end_matches(['/', '\\']);
    path == p
        || path
            .strip_prefix(p)
            .is_some_and(|rest| rest.starts_with(['/', '\\']))
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

/// Collects detections, logon records and traces, then builds the incidents.
#[derive(Debug, Default)]
pub struct Investigation {
    findings: Vec<Finding>,
    logons: Vec<Logon>,
    traces: Vec<Trace>,
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

    /// Adds traces: domain SIDs, addresses, remediations, changes.
    pub fn add_traces(&mut self, t: impl IntoIterator<Item = Trace>) {
        self.traces.extend(t);
    }

    /// Builds the incidents. `rule_table` and `inputs` are the tables that findings and logons
    /// index.
    pub fn build(mut self, rule_table: &[RuleInfo], opts: Options, inputs: &[String]) -> Report {
        let gap = opts.gap.max(0);
        let mut sids: Vec<DomainSid> = Vec::new();
        let mut addresses = Vec::new();
        let mut remediations: Vec<Remediation> = Vec::new();
        let mut changes: Vec<Change> = Vec::new();
        for t in std::mem::take(&mut self.traces) {
            match t {
                Trace::Domain(d) => sids.push(d),
                Trace::Address(a) => addresses.push(a),
                Trace::Remediation(r) => remediations.push(r),
                Trace::Change(c) => changes.push(c),
            }
        }
        sids.sort_by(|a, b| (&a.sid, &a.label).cmp(&(&b.sid, &b.label)));
        sids.dedup();
        // Hosts of inputs that do not name one.
        let input_host = |i: u32| inputs.get(i as usize).and_then(|p| opts.host_of(p));
        for f in &mut self.findings {
            if f.host.is_empty()
                && let Some(h) = input_host(f.input).and_then(dwell_core::entity::host)
            {
                f.entities.push(Entity {
                    kind: EntityKind::Host,
                    value: h.clone(),
                });
                f.host = h;
            }
        }
        for l in &mut self.logons {
            if l.to.is_empty()
                && let Some(h) = input_host(l.input).and_then(dwell_core::entity::host)
            {
                l.to = h;
            }
        }
        // One name per account.
        let ids = {
            let seen = self
                .findings
                .iter()
                .flat_map(|f| f.entities.iter())
                .filter(|e| e.kind == EntityKind::Account)
                .map(|e| e.value.as_str())
                .chain(self.logons.iter().filter_map(|l| l.account.as_deref()))
                .chain(remediations.iter().map(|r| r.account.as_str()))
                .chain(changes.iter().filter_map(|c| c.account.as_deref()));
            Identities::learn(&sids, seen, &opts.identity_map)
        };
        for f in &mut self.findings {
            f.account = f.account.as_deref().map(|a| ids.canon(a));
            for e in f
                .entities
                .iter_mut()
                .filter(|e| e.kind == EntityKind::Account)
            {
                e.value = ids.canon(&e.value);
            }
        }
        for l in &mut self.logons {
            l.account = l.account.as_deref().map(|a| ids.canon(a));
        }
        for r in &mut remediations {
            r.account = ids.canon(&r.account);
        }
        for c in &mut changes {
            c.account = c.account.as_deref().map(|a| ids.canon(a));
        }
        let names = Addresses::learn(&self.logons, &addresses);
        // An address a detection names is also the host that held it then (for linking).
        for f in &mut self.findings {
            let held: Vec<String> = f
                .entities
                .iter()
                .filter(|e| e.kind == EntityKind::Ip)
                .filter_map(|e| names.at(&e.value, f.time))
                .filter(|h| *h != f.host)
                .map(str::to_string)
                .collect();
            for h in held {
                if !f
                    .entities
                    .iter()
                    .any(|e| e.kind == EntityKind::Host && e.value == h)
                {
                    f.entities.push(Entity {
                        kind: EntityKind::Host,
                        value: h,
                    });
                }
            }
        }
        let f = &self.findings;
        let n = f.len();
        // Work in time order; `order[k]` is the finding at rank k.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (f[i].time, f[i].input, f[i].record, f[i].rule));
        let sanctioned: Vec<Option<u32>> = f.iter().map(|d| sanctioned_by(d, &changes)).collect();
        let learned = background::learn(f, &order, rule_table, &sanctioned);
        let moves = movements(std::mem::take(&mut self.logons), &names);
        let mut sets = link::Sets::new(n);
        let mut links = Vec::new();
        let cx = campaign::Cx {
            f,
            order: &order,
            learned: &learned,
            rules: rule_table,
            moves: &moves,
            addresses: &names,
            remediations: &remediations,
            gap,
        };
        let groups = campaign::build(&cx, &mut sets, &mut links);
        let tables = assemble::Tables {
            findings: f,
            rules: rule_table,
            inputs,
            moves: &moves,
            links: &links,
            remediations: &remediations,
        };
        let incidents = assemble::incidents(&tables, &groups);
        let mut held = vec![false; n];
        for g in &groups {
            for m in &g.members {
                held[m.i] = true;
            }
        }
        let in_campaign: HashSet<usize> = groups
            .iter()
            .filter(|g| g.campaign)
            .flat_map(|g| g.members.iter().map(|m| m.i))
            .collect();
        Report {
            version: 2,
            gap_seconds: gap / 1_000_000_000,
            detections: n + self.undated,
            undated_detections: self.undated,
            movements_seen: moves.len(),
            campaigns: incidents.iter().filter(|i| i.campaign).count(),
            set_aside: set_aside(&tables, &order, &learned, &held, &changes),
            sanctioned: sanctioned_report(&tables, &order, &learned, &changes),
            identities: ids.aliases,
            left_out: left_out(&tables, &order, &learned, &in_campaign),
            incidents,
        }
    }
}

/// The approved change that covers a detection: on its host, within its window, and (when
/// the detection names a domain account) by its assignee.
fn sanctioned_by(d: &Finding, changes: &[Change]) -> Option<u32> {
    changes
        .iter()
        .position(|c| {
            c.host.as_deref() == Some(d.host.as_str())
                && c.start <= d.time
                && d.time <= c.end
                && match (&d.account, &c.account) {
                    (Some(a), Some(who)) if a.contains('\\') => a == who,
                    _ => true,
                }
        })
        .map(|k| k as u32)
}

/// Detections no incident holds, by rule: routine, widespread, sanctioned, or low-level
/// context of no campaign.
fn set_aside(
    t: &assemble::Tables<'_>,
    order: &[usize],
    learned: &background::Learned,
    held: &[bool],
    changes: &[Change],
) -> Vec<SetAside> {
    let mut by: BTreeMap<(u32, &'static str), (usize, usize)> = BTreeMap::new();
    for &i in order {
        if held[i] {
            continue;
        }
        let reason = match learned.class[i] {
            Class::Background(_) => {
                let wide = learned
                    .background
                    .iter()
                    .any(|b| b.rule == t.findings[i].rule && b.wide);
                if wide { "widespread" } else { "routine" }
            }
            Class::Sanctioned(_) => "sanctioned",
            Class::Context | Class::Signal => "unattached",
        };
        let e = by.entry((t.findings[i].rule, reason)).or_insert((0, i));
        e.0 += 1;
    }
    let mut out: Vec<SetAside> = by
        .into_iter()
        .map(|((rule, reason), (count, example))| {
            let r = &t.rules[rule as usize];
            let stats = learned.background.iter().find(|b| b.rule == rule);
            let why = match (reason, stats) {
                ("widespread", Some(b)) => format!(
                    "fires on {} of the data's {} days in {} shapes (host, accounts, address): routine across the estate; only its first firing on a new host after the first {} days is signal",
                    b.days, learned.span_days, b.shapes, LEARNING_DAYS
                ),
                ("routine", _) => format!(
                    "the same shape (rule, host, accounts, address) recurs on {ROUTINE_DAYS} or more days; only a new shape's first firing after the first {LEARNING_DAYS} days is signal"
                ),
                ("sanctioned", _) => match learned.class[example] {
                    Class::Sanctioned(c) => format!(
                        "within approved change {} ({})",
                        changes[c as usize].ticket, changes[c as usize].summary
                    ),
                    _ => String::new(),
                },
                _ => {
                    if r.level.is_some_and(|l| l >= dwell_sigma::Level::Medium) {
                        "signal that joined no campaign and no lead".to_string()
                    } else {
                        "informational or low: context, and it names nothing a campaign compromised".to_string()
                    }
                }
            };
            SetAside {
                rule_id: r.id.clone(),
                rule_title: r.title.clone(),
                level: r.level_str().to_string(),
                reason: reason.to_string(),
                detections: count,
                why,
                example: t.record_ref(example),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.detections
            .cmp(&a.detections)
            .then(a.rule_title.cmp(&b.rule_title))
    });
    out
}

/// Each change that covered detections, with them.
fn sanctioned_report(
    t: &assemble::Tables<'_>,
    order: &[usize],
    learned: &background::Learned,
    changes: &[Change],
) -> Vec<Sanctioned> {
    let mut by: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &i in order {
        if let Class::Sanctioned(c) = learned.class[i] {
            by.entry(c).or_default().push(i);
        }
    }
    by.into_iter()
        .map(|(c, dets)| {
            let ch = &changes[c as usize];
            Sanctioned {
                ticket: ch.ticket.clone(),
                summary: ch.summary.clone(),
                host: ch.host.clone(),
                account: ch.account.clone(),
                start: ch.start,
                end: ch.end,
                detections: dets.iter().map(|&i| t.det_ref(i)).collect(),
                source: t.source(ch.input),
                record: ch.record,
            }
        })
        .collect()
}

/// Accounts and hosts that detections named and no campaign holds, with the reason of the
/// gravest detection naming each.
fn left_out(
    t: &assemble::Tables<'_>,
    order: &[usize],
    learned: &background::Learned,
    in_campaign: &HashSet<usize>,
) -> Vec<LeftOut> {
    let mut inside: HashSet<(EntityKind, &str)> = HashSet::new();
    for &i in in_campaign {
        let d = &t.findings[i];
        inside.insert((EntityKind::Host, d.host.as_str()));
        for e in &d.entities {
            inside.insert((e.kind, e.value.as_str()));
        }
    }
    let mut out: HashMap<(EntityKind, &str), (usize, u8)> = HashMap::new();
    for &i in order {
        let d = &t.findings[i];
        let rank = match learned.class[i] {
            Class::Signal => 3,
            Class::Sanctioned(_) => 2,
            Class::Context => 1,
            Class::Background(_) => 0,
        };
        let mut names: Vec<(EntityKind, &str)> = d
            .entities
            .iter()
            .filter(|e| e.kind == EntityKind::Account)
            .map(|e| (e.kind, e.value.as_str()))
            .collect();
        if !d.host.is_empty() {
            names.push((EntityKind::Host, d.host.as_str()));
        }
        for k in names {
            if inside.contains(&k) {
                continue;
            }
            let e = out.entry(k).or_insert((0, 0));
            e.0 += 1;
            e.1 = e.1.max(rank);
        }
    }
    let mut list: Vec<LeftOut> = out
        .into_iter()
        .map(|((kind, name), (count, rank))| LeftOut {
            kind: if kind == EntityKind::Host {
                "host"
            } else {
                "account"
            }
            .to_string(),
            name: name.to_string(),
            detections: count,
            why: match rank {
                3 => "its signal joined no campaign (a lead at most)",
                2 => "only within approved changes",
                1 => "only informational or low detections, in no campaign",
                _ => "only routine detections",
            }
            .to_string(),
        })
        .collect();
    list.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logon::LogonKind;
    use crate::trace::{Change, Remediation, Trace};
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
            rule("r2", "Takeover", Level::High, &["attack.initial_access"]),
            rule(
                "r3",
                "Reset by another",
                Level::Low,
                &["attack.persistence"],
            ),
            rule("r4", "Logoff", Level::Informational, &["attack.impact"]),
            rule(
                "r5",
                "Encrypt",
                Level::High,
                &["attack.impact", "attack.t1486"],
            ),
            rule(
                "r6",
                "Password reset by another",
                Level::Low,
                &["attack.t1098"],
            ),
        ]
    }

    const DAY: i64 = 86_400 * S;

    /// A campaign on day 0: a takeover and a dump by CORP\\eve on WS01 (high, two tactics).
    fn campaign(inv: &mut Investigation) {
        inv.add_detection(finding(0, 2, "WS01", Some("CORP\\eve"), 1));
        inv.add_detection(finding(600 * S, 1, "WS01", Some("CORP\\eve"), 2));
    }

    fn ids(i: &model::Incident) -> Vec<u64> {
        i.detections.iter().map(|d| d.record).collect()
    }

    #[test]
    fn a_compromised_account_carries_the_campaign_across_weeks_of_quiet() {
        let mut inv = Investigation::default();
        campaign(&mut inv);
        // Twenty days later, the same account on another host: far beyond the gap.
        inv.add_detection(finding(20 * DAY, 0, "FS01", Some("CORP\\eve"), 3));
        // The same rule by someone else there: not the campaign's.
        inv.add_detection(finding(20 * DAY + 60 * S, 0, "WS09", Some("CORP\\bob"), 4));
        let r = inv.build(&rules(), Options::default(), &["in".into()]);
        assert_eq!(r.campaigns, 1);
        let c = &r.incidents[0];
        assert!(c.campaign);
        assert_eq!(ids(c), [1, 2, 3]);
        assert!(
            c.links
                .iter()
                .any(|l| l.via == "compromised account" && l.entity == "CORP\\eve")
        );
        let eve = c
            .compromised
            .iter()
            .find(|x| x.name == "CORP\\eve")
            .unwrap();
        assert_eq!((eve.kind.as_str(), eve.first_abuse), ("account", 0));
        assert!(!r.incidents[1].campaign, "bob's detection is a lead");
        assert_eq!(c.stages.len(), 2, "two bursts, weeks apart");
    }

    #[test]
    fn remediation_ends_a_compromise() {
        let mut inv = Investigation::default();
        campaign(&mut inv);
        inv.add_traces([Trace::Remediation(Remediation {
            time: 10 * DAY,
            account: "CORP\\eve".into(),
            how: "password changed by its owner (4723)",
            input: 0,
            record: 99,
        })]);
        inv.add_detection(finding(20 * DAY, 0, "FS01", Some("CORP\\eve"), 3));
        let r = inv.build(&rules(), Options::default(), &["in".into()]);
        let c = &r.incidents[0];
        assert_eq!(
            ids(c),
            [1, 2],
            "after the owner took it back, eve's activity is hers"
        );
        let eve = c
            .compromised
            .iter()
            .find(|x| x.name == "CORP\\eve")
            .unwrap();
        assert_eq!(eve.remediated.as_ref().map(|m| m.time), Some(10 * DAY));
        assert!(!r.incidents[1].campaign);
    }

    #[test]
    fn low_and_informational_detections_never_start_a_campaign_but_are_its_context() {
        let mut inv = Investigation::default();
        // Before the campaign, two logoffs on one host: context of nothing.
        inv.add_detection(finding(-5 * DAY, 4, "WS05", Some("CORP\\carol"), 10));
        inv.add_detection(finding(-5 * DAY + S, 4, "WS05", Some("CORP\\carol"), 11));
        // The help desk resets eve's factors ten minutes before the takeover: a precursor.
        let mut reset = finding(-600 * S, 3, "", Some("CORP\\h.desk"), 12);
        reset.entities.push(Entity {
            kind: EntityKind::Account,
            value: "CORP\\eve".into(),
        });
        inv.add_detection(reset);
        campaign(&mut inv);
        // Eve's logoff an hour later: context.
        inv.add_detection(finding(3600 * S, 4, "WS01", Some("CORP\\eve"), 13));
        // The encryptor: the campaign's impact.
        inv.add_detection(finding(7200 * S, 5, "WS01", Some("CORP\\eve"), 14));
        let r = inv.build(&rules(), Options::default(), &["in".into()]);
        assert_eq!(r.incidents.len(), 1, "{:#?}", r.incidents);
        let c = &r.incidents[0];
        assert_eq!(ids(c), [12, 1, 2, 13, 14]);
        let roles: Vec<&str> = c.detections.iter().map(|d| d.role.as_str()).collect();
        assert_eq!(
            roles,
            ["precursor", "signal", "signal", "context", "signal"]
        );
        assert_eq!(c.first.record, 12, "the chain starts at the reset");
        assert_eq!(c.dwell_to_impact_seconds, Some(7800));
        // The logoff's impact tag does not make the campaign's story.
        let t: Vec<&str> = c.tactics.iter().map(|t| t.tactic.as_str()).collect();
        assert_eq!(
            t,
            [
                "persistence",
                "initial-access",
                "credential-access",
                "impact"
            ]
        );
        // The help desk agent is named, not compromised.
        assert!(!c.compromised.iter().any(|x| x.name == "CORP\\h.desk"));
        let aside: Vec<(&str, usize)> = r
            .set_aside
            .iter()
            .map(|s| (s.reason.as_str(), s.detections))
            .collect();
        assert_eq!(aside, [("unattached", 2)]);
    }

    #[test]
    fn the_chain_reaches_back_a_week_for_the_accounts_credentials_and_a_gap_for_the_rest() {
        let mut inv = Investigation::default();
        // Three days before eve's takeover: her password reset by someone else, and an
        // unrelated low detection of hers.
        inv.add_detection(finding(-3 * DAY, 6, "", Some("CORP\\eve"), 20));
        inv.add_detection(finding(-3 * DAY + S, 3, "WS07", Some("CORP\\eve"), 21));
        campaign(&mut inv);
        let r = inv.build(&rules(), Options::default(), &["in".into()]);
        let c = &r.incidents[0];
        assert_eq!(ids(c), [20, 1, 2]);
        assert_eq!(c.first.role, "precursor");
        assert_eq!(c.dwell_seconds, 3 * 86_400 + 600);
    }

    #[test]
    fn an_approved_change_sanctions_what_it_covers() {
        let mut inv = Investigation::default();
        campaign(&mut inv);
        inv.add_traces([Trace::Change(Change {
            ticket: "CHG0012001".into(),
            start: 3 * DAY,
            end: 3 * DAY + 7200 * S,
            host: Some("WS01".into()),
            account: Some("CORP\\kwu".into()),
            summary: "IFM backup".into(),
            input: 0,
            record: 50,
        })]);
        // The planned dump on the compromised host, by its assignee, in its window.
        inv.add_detection(finding(3 * DAY + 600 * S, 1, "WS01", Some("CORP\\kwu"), 3));
        // The same by another account in the window: not covered.
        inv.add_detection(finding(3 * DAY + 900 * S, 1, "WS01", Some("CORP\\eve"), 4));
        let r = inv.build(&rules(), Options::default(), &["in".into()]);
        assert_eq!(ids(&r.incidents[0]), [1, 2, 4]);
        assert_eq!(r.sanctioned.len(), 1);
        assert_eq!(r.sanctioned[0].ticket, "CHG0012001");
        assert_eq!(r.sanctioned[0].detections[0].record, 3);
        assert_eq!(r.set_aside[0].reason, "sanctioned");
        assert!(r.set_aside[0].why.contains("CHG0012001"));
    }

    #[test]
    fn another_accounts_work_on_a_compromised_host_joins_only_within_the_gap() {
        let mut inv = Investigation::default();
        campaign(&mut inv);
        // An administrator's medium detection on WS01 a week later: theirs.
        inv.add_detection(finding(7 * DAY, 0, "WS01", Some("CORP\\admin"), 3));
        // No account at all (SYSTEM): the host's, so the campaign's.
        inv.add_detection(finding(9 * DAY, 0, "WS01", None, 4));
        let r = inv.build(&rules(), Options::default(), &["in".into()]);
        assert_eq!(ids(&r.incidents[0]), [1, 2, 4]);
        assert_eq!(ids(&r.incidents[1]), [3]);
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
        let r = inv.build(
            &rules(),
            Options {
                gap,
                ..Options::default()
            },
            &["in".into()],
        );
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
