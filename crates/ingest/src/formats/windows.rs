//! What the Windows formats share: which fields play the event roles, the Sigma log-source
//! mapping of the Windows channels, where the time is, and which fields name the entities an
//! investigation follows (the field equivalences listed in docs/investigate.md).

use super::{DecodeError, RecordCx, Stamp};
use crate::json::{Naming, flatten_gated};
use dwell_core::entity::{account, host, ip, logon_id, process};
use dwell_core::{Entities, EntityKind, Event, Kind, Record, Role, RoleNames};

/// Windows event fields and the roles they play.
pub(crate) const ROLES: RoleNames = RoleNames::new(&[
    ("Channel", Role::Stream),
    ("EventID", Role::Code),
    ("Computer", Role::Host),
    ("Provider_Name", Role::Provider),
    ("TimeCreated_SystemTime", Role::Time),
    ("EventRecordID", Role::RecordId),
]);

/// The Sigma log sources of the Windows channels (data: `crates/ingest/data/windows.yml`).
pub(crate) const MAPPING: &str = include_str!("../../data/windows.yml");

/// Where JSON events keep their time when they have no `TimeCreated`: Winlogbeat and ECS
/// (`@timestamp`), and the JSON exports of other tools and identity providers.
pub(crate) const TIME_FIELDS: [&str; 9] = [
    "@timestamp",
    "timestamp",
    "published",
    "eventTime",
    "time",
    "createdDateTime",
    "activityDateTime",
    "UtcTime",
    "EventTime",
];

/// Decodes one JSON rendering of a Windows event (EVTX records, exports, generic JSON named as
/// Windows names fields), with the Windows field roles.
pub(crate) fn decode_json(
    raw: &[u8],
    ev: &mut Event,
    cx: &mut RecordCx<'_>,
) -> Result<(), DecodeError> {
    cx.json.naming = Naming::Windows;
    cx.json.roles = ROLES;
    Ok(flatten_gated(raw, ev, cx.json, cx.resolver, cx.gate)?)
}

/// The event's time: its `TimeCreated` (the Time role), else the first of `fallbacks` that
/// holds a usable time. A field that holds an unusable one is reported when no other field
/// gives a time.
pub(crate) fn timestamp(ev: &Event, fallbacks: &[&str]) -> Stamp {
    let mut bad = None;
    let role = ev.roles[Role::Time as usize];
    if role != 0 {
        let f = &ev.fields[role as usize - 1];
        let value = if f.kind == Kind::Null {
            ""
        } else {
            ev.value(f)
        };
        match dwell_core::time::parse_checked(value) {
            Ok(t) => return Stamp::At(t),
            Err(why) => {
                bad = Some(Stamp::Bad {
                    field: ev.name(f).to_string(),
                    value: value.to_string(),
                    why,
                })
            }
        }
    }
    for name in fallbacks {
        let Some(value) = ev.get(name) else { continue };
        match dwell_core::time::parse_checked(value) {
            Ok(t) => return Stamp::At(t),
            Err(why) => {
                bad.get_or_insert(Stamp::Bad {
                    field: name.to_string(),
                    value: value.to_string(),
                    why,
                });
            }
        }
    }
    bad.unwrap_or(Stamp::Missing)
}

/// Account fields, as (user, domain) pairs, in the order the acting account is chosen:
/// Sysmon's `User` (already `DOMAIN\user`), then the target of a logon, then its subject; then
/// the names other sources in JSON use.
const ACCOUNT_FIELDS: [(&str, Option<&str>); 7] = [
    ("User", None),
    ("TargetUserName", Some("TargetDomainName")),
    ("SubjectUserName", Some("SubjectDomainName")),
    ("AccountName", Some("AccountDomain")),
    ("UserName", None),
    ("userPrincipalName", None),
    ("actor.alternateId", None),
];

const IP_FIELDS: [&str; 7] = [
    "IpAddress",
    "SourceIp",
    "SourceAddress",
    "ClientAddress",
    "src_ip",
    "DestinationIp",
    "ipAddress",
];

const LOGON_ID_FIELDS: [&str; 3] = ["LogonId", "TargetLogonId", "SubjectLogonId"];

const FILE_FIELDS: [&str; 5] = [
    "TargetFilename",
    "ImageLoaded",
    "ServiceFileName",
    "ImagePath",
    "ObjectName",
];

/// Security events about a group (created, changed, deleted, a member added or removed,
/// its members listed): their `TargetUserName` names the group, which is not an account.
fn about_a_group(r: &Record) -> bool {
    r.get("EventID")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .is_some_and(|id| matches!(id, 4727..=4737 | 4744..=4764 | 4799))
}

/// The account a group event's `MemberName` (a distinguished name) names: its `CN`, in the
/// event's domain.
fn member(r: &Record) -> Option<String> {
    let dn = r.get("MemberName")?.trim();
    dn.get(..3).filter(|p| p.eq_ignore_ascii_case("cn="))?;
    // Up to the first comma that is not escaped (`CN=Smith\, John,OU=...`).
    let mut name = String::new();
    let mut chars = dn[3..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => name.extend(chars.next()),
            ',' => break,
            c => name.push(c),
        }
    }
    account(&name, r.get("TargetDomainName"))
}

/// Every entity a Windows event (or a JSON event using the same names) names. `computer` is
/// the event's host.
pub(crate) fn entities(r: &Record, computer: &str, out: &mut Entities) {
    let get = |k: &str| r.get(k);
    let h = host(computer);
    let host_name = h.clone().unwrap_or_default();
    out.host = h.clone();
    out.add(EntityKind::Host, h);
    let group = about_a_group(r);
    let fields = ACCOUNT_FIELDS
        .iter()
        .filter(|(u, _)| !(group && *u == "TargetUserName"));
    out.account = fields
        .clone()
        .find_map(|(u, d)| account(get(u)?, d.and_then(get)));
    for (u, d) in fields {
        if let Some(user) = get(u) {
            out.add(EntityKind::Account, account(user, d.and_then(get)));
        }
    }
    if group {
        // The member added or removed is an account the event touches; the group is not.
        out.add(EntityKind::Account, member(r));
    }
    for f in IP_FIELDS {
        out.add(EntityKind::Ip, get(f).and_then(ip));
    }
    for f in LOGON_ID_FIELDS {
        out.add(
            EntityKind::LogonId,
            get(f).and_then(|v| logon_id(&host_name, v)),
        );
    }
    // Sysmon names the process and its parent by GUID. Security 4688 names the new process
    // `NewProcessId`/`NewProcessName` and its creator `ProcessId`/`ParentProcessName`, while
    // elsewhere `ProcessId` is the process itself.
    let (pid, image, parent_pid, parent_image) = match get("NewProcessId") {
        Some(new) => (
            Some(new),
            get("NewProcessName"),
            get("ProcessId"),
            get("ParentProcessName"),
        ),
        None => (
            get("ProcessId"),
            get("Image"),
            get("ParentProcessId"),
            get("ParentImage"),
        ),
    };
    out.add(
        EntityKind::Process,
        process(&host_name, get("ProcessGuid"), pid, image),
    );
    out.add(
        EntityKind::Process,
        process(
            &host_name,
            get("ParentProcessGuid"),
            parent_pid,
            parent_image,
        ),
    );
    out.add(
        EntityKind::Service,
        get("ServiceName")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| format!("{host_name}:{}", s.to_ascii_lowercase())),
    );
    for f in FILE_FIELDS {
        out.add(
            EntityKind::File,
            get(f)
                .map(str::trim)
                .filter(|s| s.len() > 2 && (s.contains('\\') || s.contains('/')))
                .map(|s| s.to_ascii_lowercase()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dwell_core::{Entity, Section};

    fn record(pairs: &[(&str, &str)]) -> Record {
        let mut r = Record::default();
        for (k, v) in pairs {
            r.push(k, v, Kind::Str, Section::Data);
        }
        r
    }

    #[test]
    fn a_group_event_names_its_member_and_its_author_not_the_group() {
        let r = record(&[
            ("EventID", "4728"),
            ("TargetUserName", "Domain Admins"),
            ("TargetDomainName", "CORP"),
            (
                "MemberName",
                "CN=svc-monitor,OU=Service Accounts,DC=corp,DC=example",
            ),
            ("SubjectUserName", "admin.p.smith"),
            ("SubjectDomainName", "CORP"),
        ]);
        let mut got = Entities::default();
        entities(&r, "DC01", &mut got);
        let accounts: Vec<&str> = got
            .all
            .iter()
            .filter(|e| e.kind == EntityKind::Account)
            .map(|e| e.value.as_str())
            .collect();
        assert_eq!(accounts, ["CORP\\admin.p.smith", "CORP\\svc-monitor"]);
        assert_eq!(got.account.as_deref(), Some("CORP\\admin.p.smith"));
        // A DN with an escaped comma; and any other event keeps its TargetUserName.
        let r = record(&[
            ("EventID", "4732"),
            ("TargetUserName", "Administrators"),
            ("MemberName", "CN=Smith\\, John,OU=Staff,DC=corp,DC=example"),
        ]);
        let mut got = Entities::default();
        entities(&r, "DC01", &mut got);
        assert!(
            got.all.iter().any(|e| e.value == "smith, john"),
            "{:?}",
            got.all
        );
        let r = record(&[("EventID", "4624"), ("TargetUserName", "alice")]);
        let mut got = Entities::default();
        entities(&r, "DC01", &mut got);
        assert_eq!(got.account.as_deref(), Some("alice"));
    }

    #[test]
    fn sysmon_and_security_events() {
        let r = record(&[
            ("User", "CORP\\bob"),
            ("ProcessGuid", "{AAAA-1}"),
            ("ParentProcessGuid", "{AAAA-0}"),
            ("LogonId", "0x3e7"),
            ("TargetFilename", "C:\\Temp\\x.exe"),
        ]);
        let mut got = Entities::default();
        entities(&r, "ws02.corp.local", &mut got);
        let kinds: Vec<(EntityKind, &str)> =
            got.all.iter().map(|e| (e.kind, e.value.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (EntityKind::Host, "WS02"),
                (EntityKind::Account, "CORP\\bob"),
                (EntityKind::Process, "aaaa-1"),
                (EntityKind::Process, "aaaa-0"),
                (EntityKind::File, "c:\\temp\\x.exe"),
            ]
        );
        let r = record(&[
            ("SubjectUserName", "WS02$"),
            ("SubjectDomainName", "CORP"),
            ("TargetUserName", "admin"),
            ("TargetDomainName", "CORP"),
            ("IpAddress", "10.0.0.7"),
            ("TargetLogonId", "0x99"),
            ("NewProcessId", "0x10"),
            ("NewProcessName", "C:\\Windows\\System32\\cmd.exe"),
            ("ProcessId", "0x248"),
            ("ParentProcessName", "C:\\Windows\\explorer.exe"),
        ]);
        let mut got = Entities::default();
        entities(&r, "WS02", &mut got);
        for (kind, value) in [
            (EntityKind::Account, "CORP\\admin"),
            (EntityKind::Process, "WS02:16:cmd.exe"),
            (EntityKind::Process, "WS02:584:explorer.exe"),
            (EntityKind::LogonId, "WS02:0x99"),
        ] {
            assert!(got.all.contains(&Entity {
                kind,
                value: value.into()
            }));
        }
        assert_eq!(got.account.as_deref(), Some("CORP\\admin"));
        assert_eq!(got.host.as_deref(), Some("WS02"));
    }

    #[test]
    fn times_come_from_timecreated_then_the_fallbacks() {
        let mut ev = Event::default();
        let i = ev.push(
            "TimeCreated_SystemTime",
            "TimeCreated_SystemTime",
            "0001-01-01T00:00:00Z",
            Kind::Str,
            Section::Header,
        );
        ev.set_role(Role::Time, i);
        assert!(matches!(timestamp(&ev, &TIME_FIELDS), Stamp::Bad { .. }));
        ev.push(
            "@timestamp",
            "@timestamp",
            "2024-01-01T00:00:00Z",
            Kind::Str,
            Section::Other,
        );
        assert_eq!(
            timestamp(&ev, &TIME_FIELDS),
            Stamp::At(1_704_067_200_000_000_000)
        );
        assert_eq!(timestamp(&Event::default(), &TIME_FIELDS), Stamp::Missing);
    }
}
