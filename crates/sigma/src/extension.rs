//! dwell's own extension to a detection rule, under the top-level key `dwell:`, for what
//! standard Sigma cannot say: report a match only the first time its values are seen
//! (`first_seen`), and only at some hours of the day (`hours`). Other Sigma tools ignore the
//! key and report every match; standard Sigma keys never change meaning. Every key inside it
//! is checked, so a typo is an error, not a silently ignored line (docs/builtin-rules.md).

use crate::correlation::parse_timespan;
use crate::meta::{PResult, invalid};
use crate::yaml::{Node, Yaml};

/// A rule's `dwell:` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Extension {
    /// Report a match only when this tuple of field values is new for the rule.
    pub first_seen: Option<FirstSeen>,
    /// Report a match only when its event's time falls within these hours.
    pub hours: Option<Hours>,
}

/// `first_seen: {fields: [...], learn: 14d}`.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstSeen {
    /// The fields whose values, together, must not have been seen before (compared as text,
    /// case-insensitively; an absent field counts as empty).
    pub fields: Vec<String>,
    /// Matches within this long of the rule's first match only learn (milliseconds).
    pub learn_ms: u64,
}

/// `hours: {from: 20, to: 6, zone: Europe/London}`: from `from:00` up to `to:00`, across
/// midnight when `to` is not after `from`, in `zone` (an IANA name or `UTC`).
#[derive(Debug, Clone, PartialEq)]
pub struct Hours {
    /// The first hour in.
    pub from: u8,
    /// The first hour out.
    pub to: u8,
    /// The zone the hours are in.
    pub zone: String,
}

/// Most fields one `first_seen` tuple may have.
const MAX_FIELDS: usize = 8;

fn keys<'a>(node: &'a Node, what: &str, allowed: &[&str]) -> PResult<&'a [(Node, Node)]> {
    let Yaml::Map(entries) = &node.value else {
        return invalid(format!("'{what}' must be a map"));
    };
    for (k, _) in entries {
        let name = k.as_str().unwrap_or("");
        if !allowed.contains(&name) {
            return invalid(format!(
                "unknown key '{name}' in '{what}' (it has {}): dwell's extension rejects what it does not know",
                allowed.join(", ")
            ));
        }
    }
    Ok(entries)
}

fn hour(node: Option<&Node>, what: &str) -> PResult<u8> {
    match node.map(|n| &n.value) {
        Some(Yaml::Int(h)) if (0..=23).contains(h) => Ok(*h as u8),
        _ => invalid(format!("'dwell.hours.{what}' must be an hour from 0 to 23")),
    }
}

/// Parses a rule's `dwell:` block.
pub(crate) fn parse(node: &Node) -> PResult<Extension> {
    keys(node, "dwell", &["first_seen", "hours"])?;
    let first_seen = match node.get("first_seen") {
        None => None,
        Some(f) => {
            keys(f, "dwell.first_seen", &["fields", "learn"])?;
            let fields: Vec<String> = match f.get("fields").map(|n| &n.value) {
                Some(Yaml::Seq(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str().map(str::to_string).ok_or((
                            crate::ErrorKind::Invalid,
                            "'dwell.first_seen.fields' must be a list of field names".to_string(),
                        ))
                    })
                    .collect::<PResult<_>>()?,
                Some(Yaml::Str(s)) => vec![s.clone()],
                _ => return invalid("'dwell.first_seen.fields' must be a list of field names"),
            };
            if fields.is_empty() || fields.len() > MAX_FIELDS {
                return invalid(format!(
                    "'dwell.first_seen.fields' must name 1 to {MAX_FIELDS} fields"
                ));
            }
            let learn_ms = match f.get("learn") {
                None => 14 * 86_400_000,
                Some(n) => n.scalar_text().as_deref().and_then(parse_timespan).ok_or((
                    crate::ErrorKind::Invalid,
                    "'dwell.first_seen.learn' must be a duration such as 14d or 12h".to_string(),
                ))?,
            };
            Some(FirstSeen { fields, learn_ms })
        }
    };
    let hours = match node.get("hours") {
        None => None,
        Some(h) => {
            keys(h, "dwell.hours", &["from", "to", "zone"])?;
            let (from, to) = (hour(h.get("from"), "from")?, hour(h.get("to"), "to")?);
            if from == to {
                return invalid("'dwell.hours' from and to are the same hour: no time is in it");
            }
            let zone = match h.get("zone") {
                None => "UTC".to_string(),
                Some(z) => z.as_str().map(str::to_string).ok_or((
                    crate::ErrorKind::Invalid,
                    "'dwell.hours.zone' must be a time zone name".to_string(),
                ))?,
            };
            if zone_of(&zone).is_none() {
                return invalid(format!(
                    "'dwell.hours.zone' '{zone}' is not UTC or a time zone this system knows (Europe/London)"
                ));
            }
            Some(Hours { from, to, zone })
        }
    };
    if first_seen.is_none() && hours.is_none() {
        return invalid("'dwell' has neither 'first_seen' nor 'hours'");
    }
    Ok(Extension { first_seen, hours })
}

/// Parses a correlation's `dwell:` block: `person: [names]`, each one of its `group-by` names,
/// compared as the person an account belongs to rather than as text.
pub(crate) fn parse_persons(node: &Node, group_by: &[String]) -> PResult<Vec<String>> {
    keys(node, "dwell", &["person"])?;
    let names: Vec<String> = match node.get("person").map(|n| &n.value) {
        Some(Yaml::Seq(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(Yaml::Str(s)) => vec![s.clone()],
        _ => return invalid("'dwell.person' must be a list of group-by names"),
    };
    if names.is_empty() {
        return invalid("'dwell.person' must be a list of group-by names");
    }
    for n in &names {
        if !group_by.contains(n) {
            return invalid(format!(
                "'dwell.person' names '{n}', which is not one of the correlation's group-by names"
            ));
        }
    }
    Ok(names)
}

/// The person an account name belongs to, for `dwell.person`: the user part of `DOMAIN\user`,
/// `user@domain` or a distinguished name's first `CN=`, lower-cased.
pub fn person_of(account: &str) -> String {
    let a = account.trim();
    let cn: String;
    let a = match a.get(..3) {
        Some(p) if p.eq_ignore_ascii_case("cn=") => {
            // The first RDN, up to a comma that is not escaped (`CN=Smith\, John,OU=...`).
            let mut out = String::new();
            let mut chars = a[3..].chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next()),
                    ',' => break,
                    c => out.push(c),
                }
            }
            cn = out;
            cn.as_str()
        }
        _ => a,
    };
    let user = a.rsplit('\\').next().unwrap_or(a);
    let user = user.split('@').next().unwrap_or(user).trim();
    // Nothing left (`DOMAIN\`, `@x`): the account as it is, so that it joins no one else.
    if user.is_empty() {
        account.trim().to_lowercase()
    } else {
        user.to_lowercase()
    }
}

/// The zone `name` names: `UTC`, or an IANA name in the system's zone database.
pub fn zone_of(name: &str) -> Option<jiff::tz::TimeZone> {
    if name.eq_ignore_ascii_case("UTC") {
        return Some(jiff::tz::TimeZone::UTC);
    }
    jiff::tz::TimeZone::get(name).ok()
}

impl Hours {
    /// True when `hour` (0-23) is within these hours.
    pub fn contains(&self, hour: u8) -> bool {
        if self.from < self.to {
            (self.from..self.to).contains(&hour)
        } else {
            hour >= self.from || hour < self.to
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Document, parse_text};

    fn load(ext: &str) -> Result<crate::Rule, String> {
        let text = format!(
            "title: t\nlogsource: {{product: windows}}\ndetection: {{sel: {{EventID: 4624}}, condition: sel}}\ndwell:\n{ext}"
        );
        let (docs, errors) = parse_text(&text, "r.yml", &Default::default());
        match (docs.into_iter().next(), errors.first()) {
            (Some(Document::Rule(r)), None) => Ok(r),
            (_, Some(e)) => Err(e.reason.clone()),
            _ => Err("nothing".into()),
        }
    }

    #[test]
    fn the_extension_reads_what_it_knows_and_rejects_the_rest() {
        let r = load("  first_seen: {fields: [TargetUserName, Computer], learn: 7d}\n  hours: {from: 20, to: 6, zone: UTC}\n").unwrap();
        let x = r.extension.unwrap();
        let f = x.first_seen.unwrap();
        assert_eq!(f.fields, ["TargetUserName", "Computer"]);
        assert_eq!(f.learn_ms, 7 * 86_400_000);
        let h = x.hours.unwrap();
        assert!(h.contains(23) && h.contains(0) && h.contains(5));
        assert!(!h.contains(6) && !h.contains(12) && !h.contains(19));
        // The default learning period, and a rule without the block.
        let r = load("  first_seen: {fields: [User]}\n").unwrap();
        assert_eq!(
            r.extension.unwrap().first_seen.unwrap().learn_ms,
            14 * 86_400_000
        );
        for (bad, why) in [
            (
                "  first_sen: {fields: [User]}\n",
                "unknown key 'first_sen' in 'dwell'",
            ),
            (
                "  first_seen: {field: [User]}\n",
                "unknown key 'field' in 'dwell.first_seen'",
            ),
            ("  first_seen: {fields: []}\n", "must name 1 to 8 fields"),
            (
                "  first_seen: {fields: [User], learn: soon}\n",
                "must be a duration",
            ),
            (
                "  hours: {from: 25, to: 6}\n",
                "'dwell.hours.from' must be an hour",
            ),
            ("  hours: {from: 6, to: 6}\n", "the same hour"),
            (
                "  hours: {from: 20, to: 6, zone: Mars/Olympus}\n",
                "not UTC or a time zone",
            ),
            ("  {}\n", "neither 'first_seen' nor 'hours'"),
            ("  true\n", "'dwell' must be a map"),
        ] {
            let e = load(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}

#[cfg(test)]
mod person_tests {
    use super::person_of;
    use crate::{Document, parse_text};

    #[test]
    fn one_person_under_every_form_of_their_account() {
        for a in [
            "NORTHGATE\\j.doe",
            "j.doe@northgate.example",
            "CN=J.Doe,OU=Staff,DC=corp,DC=northgate,DC=example",
            " J.DOE ",
        ] {
            assert_eq!(person_of(a), "j.doe", "{a}");
        }
        assert_ne!(person_of("NORTHGATE\\j.doe2"), "j.doe");
        assert_eq!(person_of("CN=Smith\\, John,OU=Staff,DC=x"), "smith, john");
        assert_eq!(person_of("NORTHGATE\\"), "northgate\\");
    }

    #[test]
    fn a_correlation_names_only_its_own_group_by_as_persons() {
        let doc = |ext: &str| {
            let text = format!(
                "title: c\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  group-by: [user]\n  timespan: 1h\ndwell:\n{ext}"
            );
            parse_text(&text, "c.yml", &Default::default())
        };
        let (docs, errors) = doc("  person: [user]\n");
        assert!(errors.is_empty(), "{errors:?}");
        let Some(Document::Correlation(c)) = docs.first() else {
            panic!()
        };
        assert_eq!(c.persons, ["user"]);
        for (bad, why) in [
            (
                "  person: [host]\n",
                "not one of the correlation's group-by names",
            ),
            ("  persons: [user]\n", "unknown key 'persons'"),
            ("  person: []\n", "must be a list of group-by names"),
        ] {
            let (_, errors) = doc(bad);
            assert!(
                errors.first().is_some_and(|e| e.reason.contains(why)),
                "{bad}: {errors:?}"
            );
        }
    }
}
