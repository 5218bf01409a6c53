//! One person, one account: the names an account goes by across sources resolved to one, by
//! rules that never merge two people on a guess.
//!
//! - **Domain aliases.** A domain is written by its NetBIOS name in logons (`NORTHGATE\x`) and by
//!   its DNS name in Kerberos (`x@CORP.NORTHGATE.EXAMPLE`, read as `CORP\x`). Both carry the
//!   domain's SID (4624's `TargetUserSid`, 4768's `TargetSid`): names that share one are one
//!   domain, written by its NetBIOS name.
//! - **Bare names.** A name without a domain (a ServiceNow caller, a database role) is the
//!   domain account of that name when exactly one domain has an account of that name, and the
//!   name is not one that every machine has locally (`root`, `administrator`...).
//! - **The identity map** (optional, `--identities`): a CSV of `identity,person` rows, for what
//!   the logs cannot tell (a display name, a different login name in a database).

use dwell_core::entity::account;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A domain name seen with a domain SID in an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DomainSid {
    /// The domain as accounts are written (`NORTHGATE`, or `CORP` for `corp.northgate.example`).
    pub label: String,
    /// The domain part of the SID (`S-1-5-21-a-b-c`).
    pub sid: String,
    /// Written as a NetBIOS name (no dot), rather than a DNS name.
    pub netbios: bool,
}

/// The domain SID of an account SID (`S-1-5-21-a-b-c-RID` → `S-1-5-21-a-b-c`); only domain
/// accounts (`S-1-5-21-`) have one.
pub fn domain_sid(sid: &str) -> Option<&str> {
    let sid = sid.trim();
    if !sid.starts_with("S-1-5-21-") {
        return None;
    }
    let (dom, rid) = sid.rsplit_once('-')?;
    (rid.bytes().all(|b| b.is_ascii_digit()) && dom.matches('-').count() == 6).then_some(dom)
}

/// The [`DomainSid`] of an event naming an account's domain and SID.
pub fn domain_of(domain: Option<&str>, sid: Option<&str>) -> Option<DomainSid> {
    let d = domain?.trim();
    if d.is_empty() || d == "-" {
        return None;
    }
    let sid = domain_sid(sid?)?;
    // Normalised as accounts are, so the label is what account names carry.
    let label = account(&format!("{d}\\x"), None)?
        .split_once('\\')?
        .0
        .to_string();
    Some(DomainSid {
        label,
        sid: sid.to_string(),
        netbios: !d.contains('.'),
    })
}

/// Names that every machine has on its own; the same name on two machines is two accounts.
const LOCAL: [&str; 8] = [
    "root",
    "administrator",
    "admin",
    "guest",
    "postgres",
    "nobody",
    "daemon",
    "defaultaccount",
];

/// How one name was resolved to another, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alias {
    /// The name as a log wrote it (normalised).
    pub name: String,
    /// The account it is.
    pub account: String,
    /// By which rule: `domain-sid`, `unique-name`, `identity-map`.
    pub rule: &'static str,
    /// The evidence, in words.
    pub why: String,
}

/// Resolves account names to one name per account.
#[derive(Debug, Default)]
pub struct Identities {
    domains: HashMap<String, String>,
    names: HashMap<String, String>,
    /// Every resolution made, in name order.
    pub aliases: Vec<Alias>,
}

impl Identities {
    /// Learns the rules from the domain SIDs the logs showed, every account name seen, and
    /// the identity map's `(identity, person)` pairs.
    pub fn learn<'a>(
        sids: &[DomainSid],
        seen: impl IntoIterator<Item = &'a str>,
        map: &[(String, String)],
    ) -> Identities {
        let mut me = Identities::default();
        // Domains by SID; the NetBIOS name (the smallest, should a SID show two) stands for all.
        let mut by_sid: BTreeMap<&str, BTreeSet<(bool, &str)>> = BTreeMap::new();
        for d in sids {
            by_sid
                .entry(d.sid.as_str())
                .or_default()
                .insert((!d.netbios, d.label.as_str()));
        }
        for (sid, labels) in &by_sid {
            let Some(&(_, canon)) = labels.iter().next() else {
                continue;
            };
            for &(_, l) in labels.iter().skip(1) {
                if l != canon && !me.domains.contains_key(l) {
                    me.domains.insert(l.to_string(), canon.to_string());
                    me.aliases.push(Alias {
                        name: format!("{l}\\…"),
                        account: format!("{canon}\\…"),
                        rule: "domain-sid",
                        why: format!("{l} and {canon} name the same domain SID {sid}"),
                    });
                }
            }
        }
        // Bare names: the one domain account of that name.
        let mut seen: BTreeSet<String> = seen.into_iter().map(|s| me.domain(s)).collect();
        let mut by_user: HashMap<String, Vec<&str>> = HashMap::new();
        for a in &seen {
            if let Some((_, u)) = a.split_once('\\') {
                by_user.entry(u.to_string()).or_default().push(a);
            }
        }
        for a in &seen {
            if a.contains('\\') || LOCAL.contains(&a.as_str()) {
                continue;
            }
            if let Some([one]) = by_user.get(a.as_str()).map(Vec::as_slice) {
                me.names.insert(a.clone(), one.to_string());
                me.aliases.push(Alias {
                    name: a.clone(),
                    account: one.to_string(),
                    rule: "unique-name",
                    why: format!("{one} is the only account named {a}"),
                });
            }
        }
        // The map's rows, over what was learned: the person's first identity names them.
        let mut person: HashMap<&str, String> = HashMap::new();
        for (identity, who) in map {
            let Some(id) = account(identity, None) else {
                continue;
            };
            let id = me.domain(&id);
            let canon = person.entry(who.as_str()).or_insert_with(|| {
                let c = me.names.get(&id).cloned().unwrap_or_else(|| id.clone());
                seen.insert(c.clone());
                c
            });
            if *canon != id {
                me.names.insert(id.clone(), canon.clone());
                me.aliases.push(Alias {
                    name: id,
                    account: canon.clone(),
                    rule: "identity-map",
                    why: format!("the identity map names both as {who}"),
                });
            }
        }
        me.aliases.sort_by(|a, b| a.name.cmp(&b.name));
        me
    }

    /// `name` with its domain written as the domain's NetBIOS name.
    fn domain(&self, name: &str) -> String {
        match name.split_once('\\') {
            Some((d, u)) => match self.domains.get(d) {
                Some(c) => format!("{c}\\{u}"),
                None => name.to_string(),
            },
            None => name.to_string(),
        }
    }

    /// The one name of the account `name` (normalised as [`dwell_core::entity::account`]
    /// writes names) is.
    pub fn canon(&self, name: &str) -> String {
        let d = self.domain(name);
        match self.names.get(&d) {
            Some(c) => c.clone(),
            None => d,
        }
    }
}

/// Reads an identity map: CSV rows of `identity,person` (a header row naming `identity` is
/// skipped; `#` starts a comment). Errors name the line.
pub fn read_map(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let Some((id, who)) = l.split_once(',') else {
            return Err(format!(
                "line {}: expected `identity,person`, found {l:?}",
                n + 1
            ));
        };
        let (id, who) = (unquote(id), unquote(who));
        if n == 0 && id.eq_ignore_ascii_case("identity") {
            continue;
        }
        if id.is_empty() || who.is_empty() || who.contains(',') {
            return Err(format!(
                "line {}: expected `identity,person`, found {l:?}",
                n + 1
            ));
        }
        out.push((id.to_string(), who.to_string()));
    }
    Ok(out)
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(label: &str, netbios: bool, n: u32) -> DomainSid {
        DomainSid {
            label: label.into(),
            sid: format!("S-1-5-21-1-2-{n}"),
            netbios,
        }
    }

    #[test]
    fn the_dns_and_netbios_names_of_one_domain_are_one_domain() {
        let d = domain_of(Some("corp.northgate.example"), Some("S-1-5-21-1-2-3-1104")).unwrap();
        assert_eq!((d.label.as_str(), d.netbios), ("CORP", false));
        assert_eq!(d.sid, "S-1-5-21-1-2-3");
        assert!(domain_of(Some("NT AUTHORITY"), Some("S-1-5-18")).is_none());
        let ids = Identities::learn(
            &[d, sid("NORTHGATE", true, 3), sid("OTHER", true, 9)],
            ["CORP\\z.young", "NORTHGATE\\z.young", "OTHER\\z.young"],
            &[],
        );
        assert_eq!(ids.canon("CORP\\z.young"), "NORTHGATE\\z.young");
        assert_eq!(ids.canon("NORTHGATE\\z.young"), "NORTHGATE\\z.young");
        // Another domain with the same user name is another person.
        assert_eq!(ids.canon("OTHER\\z.young"), "OTHER\\z.young");
        assert_eq!(ids.aliases[0].rule, "domain-sid");
    }

    #[test]
    fn a_bare_name_is_the_one_domain_account_of_that_name_and_no_guess() {
        let ids = Identities::learn(
            &[],
            [
                "NORTHGATE\\j.doe",
                "j.doe",
                "NORTHGATE\\svc_x",
                "LAB\\svc_x",
                "svc_x",
                "root",
                "NORTHGATE\\root",
                "opsadmin",
            ],
            &[],
        );
        assert_eq!(ids.canon("j.doe"), "NORTHGATE\\j.doe");
        // Two domains have it: not merged.
        assert_eq!(ids.canon("svc_x"), "svc_x");
        // Every machine has a root of its own.
        assert_eq!(ids.canon("root"), "root");
        assert_eq!(ids.canon("opsadmin"), "opsadmin");
    }

    #[test]
    fn the_identity_map_joins_what_the_logs_cannot() {
        let map = read_map(
            "identity,person\n# HR export\nNORTHGATE\\r.hughes,Rebecca Hughes\n\"rhughes\",Rebecca Hughes\n",
        )
        .unwrap();
        assert_eq!(map.len(), 2);
        let ids = Identities::learn(&[], ["NORTHGATE\\r.hughes", "rhughes"], &map);
        assert_eq!(ids.canon("rhughes"), "NORTHGATE\\r.hughes");
        assert!(ids.aliases.iter().any(|a| a.rule == "identity-map"));
        let bad = read_map("identity,person\njust-one-column\n").unwrap_err();
        assert!(bad.starts_with("line 2:"), "{bad}");
    }
}
