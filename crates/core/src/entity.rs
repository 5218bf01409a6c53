//! Entity normalisation: the hosts, accounts, addresses, processes, logon sessions, services and files an
//! event names, and the normalisations that make the same thing written two ways one entity.
//!
//! Which fields of an event name which entity is each format's knowledge (a format's
//! `entities`); how a name is normalised is shared, here, so that an account seen by the
//! identity provider and by Windows can be recognised as one.

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
pub fn process(
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

#[cfg(test)]
mod tests {
    use super::*;
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
}
