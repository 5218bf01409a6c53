//! Entities: the hosts, accounts, addresses, processes, logon sessions, services and files an
//! event names, normalised so that the same thing written two ways is one entity.
//!
//! Field equivalences per log source are listed in docs/investigate.md; the tables below are
//! that list in code.

use serde::Serialize;

/// What an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Host,
    Account,
    Ip,
    Process,
    LogonId,
    Service,
    File,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Host => "host",
            EntityKind::Account => "account",
            EntityKind::Ip => "ip",
            EntityKind::Process => "process",
            EntityKind::LogonId => "logon_id",
            EntityKind::Service => "service",
            EntityKind::File => "file",
        }
    }

    /// Whether two detections sharing this entity are linked. Services and files are kept
    /// for the record but do not link: the same paths and service names appear on every
    /// Windows host, so they would join unrelated activity.
    pub fn links(self) -> bool {
        !matches!(self, EntityKind::Service | EntityKind::File)
    }
}

/// One entity, its value normalised (see [`host`], [`account`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Entity {
    pub kind: EntityKind,
    pub value: String,
}

/// Account fields, as (user, domain) pairs, in the order the acting account is chosen:
/// Sysmon's `User` (already `DOMAIN\user`), then the target of a logon, then its subject.
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

/// A host name as one entity: the first label, upper case, so `WS01.corp.local`, `ws01` and
/// `WS01` agree (Windows logon events give NetBIOS names, `Computer` gives the FQDN). IP
/// addresses stay as they are.
pub fn host(name: &str) -> Option<String> {
    let n = name.trim().trim_start_matches("\\\\");
    if n.is_empty() || n == "-" || n.eq_ignore_ascii_case("localhost") {
        return None;
    }
    // An address is a host only when it is a real one (not loopback or unspecified).
    if n.strip_prefix("::ffff:")
        .unwrap_or(n)
        .parse::<std::net::IpAddr>()
        .is_ok()
    {
        return ip(n);
    }
    let first = n.split('.').next().unwrap_or(n);
    Some(first.to_ascii_uppercase())
}

/// An account as `DOMAIN\user` (domain's first label upper case, user lower case), or the
/// user alone when no domain is known; `None` for the built-in and machine accounts, which
/// every host has and which would join everything.
pub fn account(user: &str, domain: Option<&str>) -> Option<String> {
    let user = user.trim();
    let (dom, name) = match user.split_once('\\') {
        Some((d, u)) => (Some(d), u),
        None => match user.split_once('@') {
            Some((u, d)) => (Some(d), u),
            None => (domain, user),
        },
    };
    let name = name.trim();
    if name.is_empty() || name == "-" || name.ends_with('$') || is_builtin(name) {
        return None;
    }
    let dom = dom
        .map(str::trim)
        .filter(|d| !d.is_empty() && *d != "-")
        .map(|d| d.split('.').next().unwrap_or(d).to_ascii_uppercase());
    let name = name.to_ascii_lowercase();
    Some(match dom {
        // NT AUTHORITY\... was caught above; the rest keep their domain.
        Some(d) => format!("{d}\\{name}"),
        None => name,
    })
}

fn is_builtin(name: &str) -> bool {
    const BUILTIN: [&str; 8] = [
        "system",
        "local service",
        "network service",
        "anonymous logon",
        "localsystem",
        "n/a",
        "unknown",
        "null",
    ];
    let lower = name.to_ascii_lowercase();
    BUILTIN.contains(&lower.as_str())
        || lower.starts_with("dwm-")
        || lower.starts_with("umfd-")
        || lower.starts_with("font driver host")
        || lower.starts_with("window manager")
}

/// An IP address worth linking on: not loopback, unspecified or link-local. IPv4-mapped
/// IPv6 (`::ffff:10.0.0.5`) becomes the IPv4 address.
pub fn ip(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s.strip_prefix("::ffff:").unwrap_or(s);
    let parsed: std::net::IpAddr = s.parse().ok()?;
    let useless = match parsed {
        std::net::IpAddr::V4(a) => a.is_loopback() || a.is_unspecified() || a.is_link_local(),
        std::net::IpAddr::V6(a) => {
            a.is_loopback() || a.is_unspecified() || (a.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    (!useless).then(|| parsed.to_string())
}

/// A logon session id, which is only unique on its host; the SYSTEM, LOCAL SERVICE and
/// NETWORK SERVICE sessions are left out.
pub fn logon_id(host: &str, id: &str) -> Option<String> {
    let id = id.trim().to_ascii_lowercase();
    let n = match id.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok()?,
        None => id.parse().ok()?,
    };
    if matches!(n, 0 | 0x3e7 | 0x3e4 | 0x3e5) {
        return None;
    }
    Some(format!("{host}:0x{n:x}"))
}

/// A process: its GUID where the source has one (Sysmon), otherwise host, PID and image.
fn process(
    host: &str,
    guid: Option<&str>,
    pid: Option<&str>,
    image: Option<&str>,
) -> Option<String> {
    if let Some(g) = guid.map(str::trim).filter(|g| !g.is_empty() && *g != "-") {
        return Some(g.trim_matches(['{', '}']).to_ascii_lowercase());
    }
    let pid = pid.map(str::trim).filter(|p| !p.is_empty())?;
    let pid = match pid.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok()?,
        None => pid.parse().ok()?,
    };
    let image = image.map(str::trim).unwrap_or("");
    let base = image.rsplit(['\\', '/']).next().unwrap_or(image);
    Some(format!("{host}:{pid}:{}", base.to_ascii_lowercase()))
}

/// The primary account of an event: the first account field that names a real account.
pub fn primary_account<'a>(get: &dyn Fn(&str) -> Option<&'a str>) -> Option<String> {
    ACCOUNT_FIELDS
        .iter()
        .find_map(|(u, d)| account(get(u)?, d.and_then(get)))
}

/// Every entity an event names. `computer` is the event's host; `get` looks a field up by
/// its Sigma name.
pub fn extract<'a>(computer: &str, get: &dyn Fn(&str) -> Option<&'a str>) -> Vec<Entity> {
    let mut out: Vec<Entity> = Vec::new();
    let mut push = |kind: EntityKind, value: Option<String>| {
        if let Some(value) = value {
            let e = Entity { kind, value };
            if !out.contains(&e) {
                out.push(e);
            }
        }
    };
    let h = host(computer);
    let host_name = h.clone().unwrap_or_default();
    push(EntityKind::Host, h);
    for (u, d) in ACCOUNT_FIELDS {
        if let Some(user) = get(u) {
            push(EntityKind::Account, account(user, d.and_then(get)));
        }
    }
    for f in IP_FIELDS {
        push(EntityKind::Ip, get(f).and_then(ip));
    }
    for f in LOGON_ID_FIELDS {
        push(
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
    push(
        EntityKind::Process,
        process(&host_name, get("ProcessGuid"), pid, image),
    );
    push(
        EntityKind::Process,
        process(
            &host_name,
            get("ParentProcessGuid"),
            parent_pid,
            parent_image,
        ),
    );
    push(
        EntityKind::Service,
        get("ServiceName")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| format!("{host_name}:{}", s.to_ascii_lowercase())),
    );
    for f in FILE_FIELDS {
        push(
            EntityKind::File,
            get(f)
                .map(str::trim)
                .filter(|s| s.len() > 2 && (s.contains('\\') || s.contains('/')))
                .map(|s| s.to_ascii_lowercase()),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn hosts_agree_across_spellings() {
        assert_eq!(host("ws01.corp.local").as_deref(), Some("WS01"));
        assert_eq!(host("\\\\WS01").as_deref(), Some("WS01"));
        assert_eq!(host("10.0.0.5").as_deref(), Some("10.0.0.5"));
        assert_eq!(host("127.0.0.1"), None);
        assert_eq!(host("::1"), None);
        assert_eq!(host("-"), None);
    }

    #[test]
    fn accounts_normalise_and_skip_builtins() {
        assert_eq!(account("CORP\\Alice", None).as_deref(), Some("CORP\\alice"));
        assert_eq!(
            account("alice", Some("corp.local")).as_deref(),
            Some("CORP\\alice")
        );
        assert_eq!(
            account("alice@corp.local", None).as_deref(),
            Some("CORP\\alice")
        );
        assert_eq!(account("NT AUTHORITY\\SYSTEM", None), None);
        assert_eq!(account("WS01$", Some("CORP")), None);
        assert_eq!(account("-", Some("-")), None);
        assert_eq!(account("DWM-1", Some("Window Manager")), None);
    }

    #[test]
    fn ips_and_logon_ids() {
        assert_eq!(ip("::ffff:10.1.2.3").as_deref(), Some("10.1.2.3"));
        assert_eq!(ip("127.0.0.1"), None);
        assert_eq!(ip("fe80::1c2:3"), None);
        assert_eq!(ip("169.254.1.1"), None);
        assert_eq!(ip("-"), None);
        assert_eq!(logon_id("WS01", "0x3E7"), None);
        assert_eq!(logon_id("WS01", "0x1A2B").as_deref(), Some("WS01:0x1a2b"));
        assert_eq!(logon_id("WS01", "6699").as_deref(), Some("WS01:0x1a2b"));
    }

    #[test]
    fn sysmon_and_security_events() {
        let m = lookup(&[
            ("User", "CORP\\bob"),
            ("ProcessGuid", "{AAAA-1}"),
            ("ParentProcessGuid", "{AAAA-0}"),
            ("LogonId", "0x3e7"),
            ("TargetFilename", "C:\\Temp\\x.exe"),
        ]);
        let got = extract("ws02.corp.local", &|k| m.get(k).copied());
        let kinds: Vec<(EntityKind, &str)> =
            got.iter().map(|e| (e.kind, e.value.as_str())).collect();
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
        let m = lookup(&[
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
        let got = extract("WS02", &|k| m.get(k).copied());
        assert!(got.contains(&Entity {
            kind: EntityKind::Account,
            value: "CORP\\admin".into()
        }));
        assert!(got.contains(&Entity {
            kind: EntityKind::Process,
            value: "WS02:16:cmd.exe".into()
        }));
        assert!(got.contains(&Entity {
            kind: EntityKind::Process,
            value: "WS02:584:explorer.exe".into()
        }));
        assert!(got.contains(&Entity {
            kind: EntityKind::LogonId,
            value: "WS02:0x99".into()
        }));
        assert_eq!(
            primary_account(&|k| m.get(k).copied()).as_deref(),
            Some("CORP\\admin")
        );
    }
}
