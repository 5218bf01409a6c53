//! Fields from the messages of the programs an intrusion leaves traces in: sshd logins, sudo
//! commands, PAM sessions, user and group management, and the ESXi shell (whose commands become
//! process creations, named as Sigma's `process_creation` rules name them).

use super::super::text::{find, put, put_some};
use dwell_core::Event;

/// Adds the fields `program`'s `message` holds; other messages are left as they are.
pub(super) fn parse(program: &str, message: &str, ev: &mut Event) {
    let m = message.trim();
    // OpenSSH 9.8 and later log sessions as `sshd-session`.
    if program.eq_ignore_ascii_case("sshd") || program == "sshd-session" {
        sshd(m, ev);
    } else if program == "sudo" {
        sudo(m, ev);
    } else if program == "postgres" || program == "postgresql" {
        crate::formats::postgres::syslog_message(m, ev);
    } else if program == "vobd" {
        // `[GenericCorrelator] 1093540884us: [vob.user.ssh.enabled] SSH enabled`
        if let Some((_, rest)) = m.split_once("us: [")
            && let Some((id, text)) = rest.split_once(']')
        {
            put(ev, "vob_id", id);
            put(ev, "vob_message", text.trim());
        }
    } else if program == "shell" {
        esxi_shell(m, ev);
    } else if ["hostd", "vpxa", "vpxd"]
        .iter()
        .any(|p| program.eq_ignore_ascii_case(p))
    {
        vmware_login(m, ev);
    } else if matches!(
        program,
        "useradd" | "groupadd" | "usermod" | "groupmod" | "userdel" | "groupdel"
    ) {
        account_change(m, ev);
    }
    pam(m, ev);
}

/// hostd's and vCenter's login events: `Event 4312 : User NORTHGATE\svc-monitor@10.10.30.23
/// logged in as Mozilla/5.0 ...` (and `logged out`): `event`, `login_user`, `src_ip` and
/// `user_agent`. (The Originator block's `user` is the session a task ran in, not a login.)
fn vmware_login(m: &str, ev: &mut Event) {
    let Some((_, body)) = m.strip_prefix("Event ").and_then(|r| r.split_once(" : ")) else {
        return;
    };
    let Some((who, rest)) = body.strip_prefix("User ").and_then(|r| r.split_once(' ')) else {
        return;
    };
    let (user, ip) = who.rsplit_once('@').unwrap_or((who, ""));
    let (event, agent) = if let Some(a) = rest.strip_prefix("logged in as ") {
        ("logged_in", a)
    } else if rest.starts_with("logged out") {
        ("logged_out", "")
    } else {
        return;
    };
    put(ev, "event", event);
    put(ev, "login_user", user);
    put_some(ev, "src_ip", ip);
    put_some(ev, "user_agent", agent.trim());
}

/// `Accepted password for u from 1.2.3.4 port 22 ssh2`, `Failed ... for invalid user u ...`,
/// `Invalid user u from 1.2.3.4 port 22`.
fn sshd(m: &str, ev: &mut Event) {
    let (event, rest) = if let Some(r) = m.strip_prefix("Accepted ") {
        ("accepted", r)
    } else if let Some(r) = m.strip_prefix("Failed ") {
        ("failed", r)
    } else if let Some(r) = m.strip_prefix("Invalid user ") {
        put(ev, "event", "invalid_user");
        from_part(r, ev);
        return;
    } else {
        return;
    };
    put(ev, "event", event);
    let Some((method, r)) = rest.split_once(" for ") else {
        return;
    };
    put(ev, "method", method);
    let r = r.strip_prefix("invalid user ").unwrap_or(r);
    from_part(r, ev);
}

/// `u from 1.2.3.4 port 22 ...`: the user, source address and port.
fn from_part(r: &str, ev: &mut Event) {
    let Some((user, rest)) = r.rsplit_once(" from ").or_else(|| r.split_once(" from ")) else {
        put_some(ev, "user", r.split(' ').next().unwrap_or(""));
        return;
    };
    put_some(ev, "user", user);
    let mut words = rest.split_whitespace();
    if let Some(ip) = words.next() {
        put(ev, "src_ip", ip);
    }
    if words.next() == Some("port")
        && let Some(port) = words.next()
    {
        put(ev, "src_port", port.trim_end_matches(':'));
    }
}

/// `alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash` and the refusals
/// (`alice : user NOT in sudoers ; TTY=...`).
fn sudo(m: &str, ev: &mut Event) {
    let Some((user, rest)) = m.split_once(" : ") else {
        return;
    };
    put(ev, "user", user.trim());
    for part in rest.split(" ; ") {
        match part.split_once('=') {
            Some(("TTY", v)) => put(ev, "tty", v),
            Some(("PWD", v)) => put(ev, "pwd", v),
            Some(("USER", v)) => put(ev, "run_as", v),
            Some(("COMMAND", v)) => put(ev, "command", v),
            Some(_) => 0,
            None => put(ev, "reason", part.trim()),
        };
    }
}

/// `pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)`.
fn pam(m: &str, ev: &mut Event) {
    let Some(start) = find(m, "pam_") else { return };
    let r = &m[start..];
    let Some(open) = r.find('(') else { return };
    let Some(close) = find(r, "): ") else { return };
    if close < open || r[..open].contains(' ') {
        return;
    }
    put(ev, "pam_module", &r[..open]);
    let inside = &r[open + 1..close];
    let (service, kind) = inside.split_once(':').unwrap_or((inside, ""));
    put(ev, "pam_service", service);
    put_some(ev, "pam_type", kind);
    let msg = &r[close + 3..];
    if let Some(u) = msg.split(" for user ").nth(1) {
        let name = u.split([' ', '(']).next().unwrap_or("");
        put_some(ev, "pam_user", name.trim_matches('\''));
    }
    if let Some(by) = msg.split(" by ").nth(1) {
        put_some(ev, "pam_by", by.split(['(', ' ']).next().unwrap_or(""));
    }
}

/// `new user: name=bob, UID=1001, GID=1001, home=/home/bob, shell=/bin/bash`, `new group:
/// name=x, GID=1002`, `add 'bob' to group 'sudo'`, `delete user 'bob'`.
fn account_change(m: &str, ev: &mut Event) {
    if let Some((what, kv)) = m.split_once(": ") {
        put(ev, "action", what);
        for part in kv.split(", ") {
            if let Some((k, v)) = part.split_once('=') {
                let k = match k {
                    "name" => "name",
                    "UID" => "uid",
                    "GID" => "gid",
                    "home" => "home",
                    "shell" => "shell",
                    "from" => "from",
                    _ => continue,
                };
                put(ev, k, v);
            }
        }
        return;
    }
    let quoted: Vec<&str> = m.split('\'').skip(1).step_by(2).collect();
    if m.starts_with("add ") && quoted.len() == 2 {
        put(ev, "action", "add to group");
        put(ev, "name", quoted[0]);
        put(ev, "group", quoted[1]);
    } else if m.starts_with("delete ") && !quoted.is_empty() {
        put(
            ev,
            "action",
            m.split(' ').take(2).collect::<Vec<_>>().join(" ").as_str(),
        );
        put(ev, "name", quoted[0]);
    }
}

/// ESXi `shell.log`: `[root]: esxcli vm process kill --type=force --world-id=2100874`. The
/// command is a process creation: `User`, `CommandLine`, and `Image`, the program as the ESXi
/// shell finds it (a bare name is looked up on its default PATH, `/bin`, where esxcli,
/// vim-cmd, vmkfstools and the busybox tools are).
fn esxi_shell(m: &str, ev: &mut Event) {
    let Some(r) = m.strip_prefix('[') else { return };
    let Some((user, cmd)) = r.split_once("]: ") else {
        return;
    };
    let cmd = cmd.trim();
    put(ev, "User", user);
    put(ev, "CommandLine", cmd);
    let first = cmd.split_whitespace().next().unwrap_or("");
    if first.is_empty() {
        return;
    }
    if first.contains('/') {
        put(ev, "Image", first);
    } else {
        put(ev, "Image", &format!("/bin/{first}"));
    }
}
