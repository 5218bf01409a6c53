//! Lateral movement: the Windows events that show an account arriving on a host from another
//! host, and their assembly into movements (account X from host A to host B, logon type,
//! time, how).
//!
//! One movement leaves several traces: PsExec with stolen credentials writes 4648 on the
//! source, 4624 and 4672 on the target and a PSEXESVC service or process there. They are
//! merged into one [`Movement`] when they agree on account, source and target within
//! [`MERGE_WINDOW`], and every record stays listed as evidence.

use crate::addresses::Addresses;
use dwell_core::entity::{account, host, ip, logon_id};
use serde::Serialize;
use std::collections::HashMap;

/// How close in time traces of one movement are, in nanoseconds (two minutes).
pub const MERGE_WINDOW: i64 = 120 * 1_000_000_000;

const SECURITY: &str = "Security";
const SYSTEM: &str = "System";
const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
const RDP_RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational";
const RDP_LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational";

/// What kind of record a [`Logon`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogonKind {
    /// 4624: an account logged on here, from somewhere.
    Logon,
    /// 4648: a process here used an account's credentials to reach another host.
    ExplicitCredentials,
    /// 4672: the new logon session got administrative privileges.
    Privileged,
    /// 4768: a Kerberos ticket-granting ticket was issued (on a domain controller).
    KerberosTgt,
    /// 4769: a Kerberos service ticket for a host was issued (on a domain controller).
    KerberosService,
    /// 1149, 21, 25: Remote Desktop authentication or session.
    Rdp,
    /// 5140, 5145: a network share was opened.
    Share,
    /// A process or service that remote execution leaves on the target: PsExec, WMI, WinRM.
    RemoteExec,
    /// sshd accepted a login (Linux, ESXi).
    Ssh,
    /// A login to an ESXi host's management service (hostd).
    Hypervisor,
}

impl LogonKind {
    /// The name used in outputs (`logon`, `smb-share`...).
    pub fn as_str(self) -> &'static str {
        match self {
            LogonKind::Logon => "logon",
            LogonKind::ExplicitCredentials => "explicit-credentials",
            LogonKind::Privileged => "privileged",
            LogonKind::KerberosTgt => "kerberos-tgt",
            LogonKind::KerberosService => "kerberos-service",
            LogonKind::Rdp => "rdp",
            LogonKind::Share => "smb-share",
            LogonKind::RemoteExec => "remote-exec",
            LogonKind::Ssh => "ssh",
            LogonKind::Hypervisor => "esxi-login",
        }
    }
}

/// One record that shows (part of) an account reaching a host.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Logon {
    /// When, nanoseconds since the Unix epoch.
    pub time: i64,
    /// What kind of record.
    pub kind: LogonKind,
    /// The account that arrived (normalised).
    pub account: Option<String>,
    /// Where the account came from: a host name, or an IP address when no name is known.
    pub from: Option<String>,
    /// The source address, when the record gives one.
    pub from_ip: Option<String>,
    /// The host reached.
    pub to: String,
    /// The Windows logon type, when the record gives one.
    pub logon_type: Option<u32>,
    /// The session on `to` (host-scoped, see [`dwell_core::entity::logon_id`]).
    pub logon_id: Option<String>,
    /// For [`LogonKind::RemoteExec`] and shares: `psexec`, `wmi`, `winrm`, `smb:SHARE`.
    pub method: Option<String>,
    /// Where the record is: input index...
    pub input: u32,
    /// ...and record number.
    pub record: u64,
}

/// Whether events of this channel and EventID may carry lateral-movement evidence, so the
/// reader keeps all their fields.
pub fn wants(channel: &str, event_id: Option<u32>) -> bool {
    let Some(id) = event_id else { return false };
    match channel {
        SECURITY => matches!(id, 4624 | 4648 | 4672 | 4688 | 4768 | 4769 | 5140 | 5145),
        SYSTEM => id == 7045,
        SYSMON => id == 1,
        RDP_RCM => id == 1149,
        RDP_LSM => matches!(id, 21 | 25),
        _ => false,
    }
}

/// Whether events of this syslog program may carry a login from another machine.
pub fn wants_program(program: &str) -> bool {
    program == "sshd" || program.eq_ignore_ascii_case("hostd")
}

/// The login in an sshd or hostd event: the account and address it came from, to the host
/// that logged it (empty when its log does not say; the investigation may know it from where
/// the log was found).
pub fn extract_program<'a>(
    program: &str,
    computer: &str,
    time: i64,
    (input, record): (u32, u64),
    get: &dyn Fn(&str) -> Option<&'a str>,
) -> Option<Logon> {
    let (kind, user) = if program == "sshd" {
        if get("event") != Some("accepted") {
            return None;
        }
        (LogonKind::Ssh, get("user")?)
    } else {
        if get("event") != Some("logged_in") {
            return None;
        }
        (LogonKind::Hypervisor, get("login_user")?)
    };
    let from_ip = get("src_ip").and_then(ip);
    Some(Logon {
        time,
        kind,
        account: Some(account(user, None)?),
        from: Some(from_ip.clone()?),
        from_ip,
        to: host(computer).unwrap_or_default(),
        logon_type: None,
        logon_id: None,
        method: None,
        input,
        record,
    })
}

/// Logon types that come from another machine: network, network with cleartext
/// credentials, remote interactive (RDP).
fn remote_type(t: u32) -> bool {
    matches!(t, 3 | 8 | 10)
}

fn remote_exec_method(image: &str) -> Option<&'static str> {
    let base = image.rsplit(['\\', '/']).next().unwrap_or(image);
    let b = base.to_ascii_lowercase();
    match b.as_str() {
        "psexesvc.exe" | "paexec.exe" | "remcomsvc.exe" | "csexecsvc.exe" => Some("psexec"),
        "wmiprvse.exe" => Some("wmi"),
        "wsmprovhost.exe" | "winrshost.exe" => Some("winrm"),
        _ => None,
    }
}

/// The lateral-movement record in an event, if it is one. `computer` is the event's host,
/// `get` looks fields up by name.
pub fn extract<'a>(
    channel: &str,
    event_id: Option<u32>,
    computer: &str,
    time: i64,
    (input, record): (u32, u64),
    get: &dyn Fn(&str) -> Option<&'a str>,
) -> Option<Logon> {
    let here = host(computer)?;
    let id = event_id?;
    let acct = |u: &str, d: &str| get(u).and_then(|u| account(u, get(d)));
    let mut l = Logon {
        time,
        kind: LogonKind::Logon,
        account: None,
        from: None,
        from_ip: None,
        to: here.clone(),
        logon_type: None,
        logon_id: None,
        method: None,
        input,
        record,
    };
    let from_ip = get("IpAddress").and_then(ip);
    match (channel, id) {
        (SECURITY, 4624) => {
            let t: u32 = get("LogonType")?.trim().parse().ok()?;
            if !remote_type(t) {
                return None;
            }
            l.account = acct("TargetUserName", "TargetDomainName");
            // A host's logons often name the host itself as the workstation (RDP to it, a
            // local service): that says nothing about where the address is, which would
            // otherwise be named after the logging host.
            l.from = get("WorkstationName")
                .and_then(host)
                .filter(|w| *w != here)
                .or(from_ip.clone());
            l.from_ip = from_ip;
            l.logon_type = Some(t);
            l.logon_id = get("TargetLogonId").and_then(|v| logon_id(&here, v));
        }
        (SECURITY, 4648) => {
            l.kind = LogonKind::ExplicitCredentials;
            l.account = acct("TargetUserName", "TargetDomainName");
            l.from = Some(here.clone());
            l.to = get("TargetServerName").and_then(host)?;
        }
        (SECURITY, 4672) => {
            l.kind = LogonKind::Privileged;
            l.account = acct("SubjectUserName", "SubjectDomainName");
            l.logon_id = get("SubjectLogonId").and_then(|v| logon_id(&here, v));
            l.logon_id.as_ref()?;
        }
        (SECURITY, 4768) => {
            l.kind = LogonKind::KerberosTgt;
            l.account = acct("TargetUserName", "TargetDomainName");
            l.from = from_ip.clone();
            l.from_ip = from_ip;
        }
        (SECURITY, 4769) => {
            l.kind = LogonKind::KerberosService;
            l.account = acct("TargetUserName", "TargetDomainName");
            // Tickets for a computer name the computer account (`WS02$`); others are for
            // service accounts and say nothing about a host.
            let svc = get("ServiceName")?.trim();
            let target = svc.strip_suffix('$')?;
            l.to = host(target)?;
            l.from = from_ip.clone();
            l.from_ip = from_ip;
        }
        (SECURITY, 5140 | 5145) => {
            l.kind = LogonKind::Share;
            l.account = acct("SubjectUserName", "SubjectDomainName");
            l.from = from_ip.clone();
            l.from_ip = from_ip;
            l.logon_id = get("SubjectLogonId").and_then(|v| logon_id(&here, v));
            l.method = get("ShareName").map(|s| format!("smb:{}", s.trim()));
        }
        (RDP_RCM, 1149) => {
            l.kind = LogonKind::Rdp;
            l.account = get("Param1").and_then(|u| account(u, get("Param2")));
            l.from = get("Param3").and_then(ip);
            l.from_ip = l.from.clone();
            l.logon_type = Some(10);
        }
        (RDP_LSM, 21 | 25) => {
            l.kind = LogonKind::Rdp;
            l.account = get("User").and_then(|u| account(u, None));
            l.from = get("Address").and_then(ip);
            l.from_ip = l.from.clone();
            l.logon_type = Some(10);
        }
        (SYSTEM, 7045) => {
            let name = get("ServiceName").unwrap_or("");
            let image = get("ImagePath").unwrap_or("");
            let is_psexec = name.eq_ignore_ascii_case("PSEXESVC")
                || remote_exec_method(image) == Some("psexec");
            if !is_psexec {
                return None;
            }
            l.kind = LogonKind::RemoteExec;
            l.method = Some("psexec".into());
        }
        (SYSMON, 1) | (SECURITY, 4688) => {
            let parent = get("ParentImage")
                .or(get("ParentProcessName"))
                .unwrap_or("");
            let image = get("Image").or(get("NewProcessName")).unwrap_or("");
            let method = remote_exec_method(parent).or(match remote_exec_method(image) {
                Some("winrm") => Some("winrm"),
                _ => None,
            })?;
            l.kind = LogonKind::RemoteExec;
            l.method = Some(method.into());
            l.account = get("User")
                .and_then(|u| account(u, None))
                .or_else(|| acct("SubjectUserName", "SubjectDomainName"));
            l.logon_id = get("LogonId")
                .or(get("SubjectLogonId"))
                .and_then(|v| logon_id(&here, v));
        }
        _ => return None,
    }
    if matches!(
        l.kind,
        LogonKind::Logon | LogonKind::ExplicitCredentials | LogonKind::Rdp
    ) && (l.account.is_none() || l.from.is_none())
    {
        return None;
    }
    Some(l)
}

/// One account moving from one host to another, assembled from its traces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Movement {
    /// Time of the first trace.
    pub time: i64,
    /// The account that moved.
    pub account: String,
    /// Where from.
    pub from: String,
    /// Where to.
    pub to: String,
    /// The Windows logon type on the target (3 network, 10 RDP, ...), when a logon event
    /// says it.
    pub logon_type: Option<u32>,
    /// How: the kinds of traces seen and remote-execution methods, in the order seen.
    pub methods: Vec<String>,
    /// The session on the target got administrative privileges (4672).
    pub admin: bool,
    /// Every record the movement was assembled from.
    pub evidence: Vec<Evidence>,
}

/// A record behind a movement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evidence {
    /// What kind of record.
    pub kind: LogonKind,
    /// Its time.
    pub time: i64,
    /// Its input.
    pub input: u32,
    /// Its record number.
    pub record: u64,
}

fn evidence(l: &Logon) -> Evidence {
    Evidence {
        kind: l.kind,
        time: l.time,
        input: l.input,
        record: l.record,
    }
}

fn add_method(m: &mut Movement, s: &str) {
    if !m.methods.iter().any(|x| x == s) {
        m.methods.push(s.to_string());
    }
}

/// Assembles movements from logon records (any order), resolving source IP addresses to
/// the host that held them at the time.
pub fn movements(mut records: Vec<Logon>, names: &Addresses) -> Vec<Movement> {
    records.sort_by_key(|r| (r.time, r.input, r.record));
    let mut a = Assembly {
        names,
        out: Vec::new(),
        open: HashMap::new(),
        by_session: HashMap::new(),
        into: HashMap::new(),
        pending_tgt: Vec::new(),
        pending_admin: HashMap::new(),
    };
    for r in &records {
        match r.kind {
            LogonKind::Logon
            | LogonKind::ExplicitCredentials
            | LogonKind::KerberosService
            | LogonKind::Rdp
            | LogonKind::Share
            | LogonKind::Ssh
            | LogonKind::Hypervisor => a.arrival(r),
            LogonKind::KerberosTgt => a.pending_tgt.push(r),
            LogonKind::Privileged => a.privileged(r),
            LogonKind::RemoteExec => a.remote_exec(r),
        }
    }
    let mut out = a.out;
    for m in &mut out {
        m.evidence.sort_by_key(|e| (e.time, e.input, e.record));
        // A ticket-granting ticket merged in may be the earliest trace.
        m.time = m.evidence.first().map_or(m.time, |e| e.time);
    }
    out.sort_by(|a, b| {
        (a.time, &a.account, &a.from, &a.to).cmp(&(b.time, &b.account, &b.from, &b.to))
    });
    out
}

/// Movements being assembled from records in time order.
struct Assembly<'r> {
    /// IP address to host name, over time.
    names: &'r Addresses,
    out: Vec<Movement>,
    /// Open movements by (account, from, to), to merge traces into.
    open: HashMap<(String, String, String), usize>,
    by_session: HashMap<String, usize>,
    /// Movements by the host they reached, in time order, for the traces left there.
    into: HashMap<String, Vec<usize>>,
    pending_tgt: Vec<&'r Logon>,
    /// Windows writes 4672 just before the 4624 of the same session: held here until then.
    pending_admin: HashMap<&'r str, &'r Logon>,
}

impl<'r> Assembly<'r> {
    fn resolve(&self, h: &str, t: i64) -> String {
        self.names.resolve(h, t)
    }

    /// The open movement of `key` that a trace at `time` extends, or a new one.
    fn movement(&mut self, key: (String, String, String), time: i64) -> usize {
        if let Some(&i) = self.open.get(&key) {
            let last = self.out[i]
                .evidence
                .last()
                .map_or(self.out[i].time, |e| e.time);
            if time - last <= MERGE_WINDOW {
                return i;
            }
        }
        let (account, from, to) = key.clone();
        self.out.push(Movement {
            time,
            account,
            from,
            to: to.clone(),
            logon_type: None,
            methods: Vec::new(),
            admin: false,
            evidence: Vec::new(),
        });
        let i = self.out.len() - 1;
        self.open.insert(key, i);
        self.into.entry(to).or_default().push(i);
        i
    }

    /// A record of an account arriving from somewhere: a logon, explicit credentials, a
    /// service ticket, RDP, a share.
    fn arrival(&mut self, r: &'r Logon) {
        let (Some(acct), Some(from)) = (&r.account, &r.from) else {
            return;
        };
        let from = self.resolve(from, r.time);
        let to = self.resolve(&r.to, r.time);
        if to.is_empty() {
            return;
        }
        if from == to {
            return;
        }
        let idx = self.movement((acct.clone(), from.clone(), to), r.time);
        let m = &mut self.out[idx];
        m.evidence.push(evidence(r));
        if m.logon_type.is_none() {
            m.logon_type = r.logon_type;
        }
        add_method(m, r.kind.as_str());
        if let Some(meth) = &r.method {
            add_method(m, meth);
        }
        if let Some(s) = &r.logon_id {
            self.by_session.insert(s.clone(), idx);
            if let Some(p) = self.pending_admin.remove(s.as_str())
                && r.time - p.time <= MERGE_WINDOW
            {
                let m = &mut self.out[idx];
                m.admin = true;
                m.evidence.push(evidence(p));
            }
        }
        // A ticket-granting ticket just before, for this account from this place, belongs
        // to the same movement.
        let names = self.names;
        let resolve = |h: &str| names.resolve(h, r.time);
        let out = &mut self.out;
        self.pending_tgt.retain(|t| {
            let same = t.account.as_deref() == Some(acct.as_str())
                && t.from.as_deref().map(resolve).as_deref() == Some(from.as_str())
                && r.time - t.time <= MERGE_WINDOW;
            if same {
                out[idx].evidence.push(evidence(t));
                add_method(&mut out[idx], LogonKind::KerberosTgt.as_str());
            }
            !same && r.time - t.time <= MERGE_WINDOW
        });
    }

    /// 4672: the session got administrative privileges.
    fn privileged(&mut self, r: &'r Logon) {
        let Some(s) = r.logon_id.as_deref() else {
            return;
        };
        match self.by_session.get(s) {
            Some(&i) => {
                self.out[i].admin = true;
                self.out[i].evidence.push(evidence(r));
            }
            None => {
                self.pending_admin.insert(s, r);
            }
        }
    }

    /// A remote-execution trace on the target: joins the latest movement into the host it
    /// can belong to (same session, or else same account, or else any, within the window).
    fn remote_exec(&mut self, r: &'r Logon) {
        let by_id = r
            .logon_id
            .as_ref()
            .and_then(|s| self.by_session.get(s))
            .copied();
        let out = &self.out;
        let candidate = by_id.or_else(|| {
            let recent: Vec<usize> = self
                .into
                .get(&r.to)
                .map(|v| {
                    v.iter()
                        .rev()
                        .copied()
                        .take_while(|&i| r.time - out[i].time <= MERGE_WINDOW)
                        .collect()
                })
                .unwrap_or_default();
            recent
                .iter()
                .copied()
                .find(|&i| r.account.as_deref() == Some(out[i].account.as_str()))
                .or_else(|| recent.first().copied())
        });
        if let Some(i) = candidate {
            self.out[i].evidence.push(evidence(r));
            if let Some(meth) = &r.method {
                add_method(&mut self.out[i], meth);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const S: i64 = 1_000_000_000;

    fn moves_of(recs: Vec<Logon>) -> Vec<Movement> {
        let names = Addresses::learn(&recs, &[]);
        movements(recs, &names)
    }

    fn ev(
        channel: &str,
        id: u32,
        computer: &str,
        t: i64,
        rec: u64,
        fields: &[(&'static str, &'static str)],
    ) -> Option<Logon> {
        let m: HashMap<&str, &str> = fields.iter().copied().collect();
        extract(channel, Some(id), computer, t, (0, rec), &|k| {
            m.get(k).copied()
        })
    }

    #[test]
    fn a_hosts_logon_naming_itself_does_not_name_the_address() {
        // DC01's RDP logons from the jump host name DC01 itself as the workstation; BKP01's
        // network logons from the same address name none. The address is not DC01's.
        let rdp_to_dc = ev(
            SECURITY,
            4624,
            "DC01.corp.example",
            100 * S,
            1,
            &[
                ("TargetUserName", "admin"),
                ("TargetDomainName", "CORP"),
                ("LogonType", "10"),
                ("WorkstationName", "DC01"),
                ("IpAddress", "10.10.30.23"),
            ],
        );
        let to_backup = ev(
            SECURITY,
            4624,
            "BKP01.corp.example",
            200 * S,
            2,
            &[
                ("TargetUserName", "svc_backup"),
                ("TargetDomainName", "CORP"),
                ("LogonType", "3"),
                ("WorkstationName", "-"),
                ("IpAddress", "10.10.30.23"),
            ],
        );
        let moves = moves_of(vec![rdp_to_dc.clone().unwrap(), to_backup.clone().unwrap()]);
        let froms: Vec<&str> = moves.iter().map(|m| m.from.as_str()).collect();
        assert!(!froms.contains(&"DC01"), "{moves:?}");
        // A logon that names another workstation with that address does name it.
        let from_jump = ev(
            SECURITY,
            4624,
            "FS01.corp.example",
            50 * S,
            3,
            &[
                ("TargetUserName", "j.doe"),
                ("TargetDomainName", "CORP"),
                ("LogonType", "3"),
                ("WorkstationName", "JMP01"),
                ("IpAddress", "10.10.30.23"),
            ],
        );
        let moves = moves_of(vec![
            from_jump.unwrap(),
            rdp_to_dc.unwrap(),
            to_backup.unwrap(),
        ]);
        let to_bkp = moves
            .iter()
            .find(|m| m.to == "BKP01")
            .expect("a movement to BKP01");
        assert_eq!(to_bkp.from, "JMP01", "{moves:?}");
    }

    #[test]
    fn psexec_traces_make_one_movement() {
        // As Windows writes them: 4672 comes just before the 4624 of its session.
        let recs = vec![
            ev(
                SECURITY,
                4648,
                "ws01.corp.local",
                100 * S,
                1,
                &[
                    ("SubjectUserName", "alice"),
                    ("SubjectDomainName", "CORP"),
                    ("TargetUserName", "admin"),
                    ("TargetDomainName", "CORP"),
                    ("TargetServerName", "ws02.corp.local"),
                ],
            ),
            ev(
                SECURITY,
                4624,
                "ws02.corp.local",
                101 * S,
                3,
                &[
                    ("TargetUserName", "admin"),
                    ("TargetDomainName", "CORP"),
                    ("LogonType", "3"),
                    ("WorkstationName", "WS01"),
                    ("IpAddress", "10.0.0.11"),
                    ("TargetLogonId", "0x5000"),
                ],
            ),
            ev(
                SECURITY,
                4672,
                "ws02.corp.local",
                101 * S,
                2,
                &[
                    ("SubjectUserName", "admin"),
                    ("SubjectDomainName", "CORP"),
                    ("SubjectLogonId", "0x5000"),
                ],
            ),
            ev(
                SYSTEM,
                7045,
                "ws02.corp.local",
                102 * S,
                4,
                &[
                    ("ServiceName", "PSEXESVC"),
                    ("ImagePath", "%SystemRoot%\\PSEXESVC.exe"),
                ],
            ),
            // Local logons and machine accounts are not movements.
            ev(
                SECURITY,
                4624,
                "ws02.corp.local",
                103 * S,
                5,
                &[
                    ("TargetUserName", "bob"),
                    ("TargetDomainName", "CORP"),
                    ("LogonType", "2"),
                ],
            ),
            ev(
                SECURITY,
                4624,
                "ws02.corp.local",
                104 * S,
                6,
                &[
                    ("TargetUserName", "WS03$"),
                    ("TargetDomainName", "CORP"),
                    ("LogonType", "3"),
                    ("IpAddress", "10.0.0.13"),
                ],
            ),
        ];
        assert_eq!(recs[4], None);
        assert_eq!(recs[5], None);
        let m = moves_of(recs.into_iter().flatten().collect());
        assert_eq!(m.len(), 1, "{m:#?}");
        let m = &m[0];
        assert_eq!(
            (m.account.as_str(), m.from.as_str(), m.to.as_str()),
            ("CORP\\admin", "WS01", "WS02")
        );
        assert_eq!(m.logon_type, Some(3));
        assert!(m.admin);
        assert_eq!(m.methods, ["explicit-credentials", "logon", "psexec"]);
        assert_eq!(m.evidence.len(), 4);
        assert_eq!(m.time, 100 * S);
    }

    #[test]
    fn ip_sources_resolve_and_distant_logons_stay_apart() {
        let recs = vec![
            ev(
                SECURITY,
                4624,
                "FS01",
                10 * S,
                1,
                &[
                    ("TargetUserName", "bob"),
                    ("TargetDomainName", "CORP"),
                    ("LogonType", "3"),
                    ("WorkstationName", "WS05"),
                    ("IpAddress", "10.0.0.15"),
                ],
            ),
            ev(
                RDP_RCM,
                1149,
                "FS01",
                4000 * S,
                2,
                &[
                    ("Param1", "bob"),
                    ("Param2", "CORP"),
                    ("Param3", "10.0.0.15"),
                ],
            ),
        ];
        let m = moves_of(recs.into_iter().flatten().collect());
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].from, "WS05");
        assert_eq!(m[1].logon_type, Some(10));
        assert_eq!(m[1].methods, ["rdp"]);
    }
}
