use super::*;

fn header(line: &str) -> Header<'_> {
    parse(line).unwrap_or_else(|| panic!("no header in {line:?}"))
}

#[test]
fn rfc3164_with_host_program_and_pid() {
    let h = header("Feb 21 21:54:44 localhost sshd[3402]: Accepted publickey for vagrant");
    assert_eq!(
        (h.time, h.host, h.program, h.pid, h.message, h.variant),
        (
            "Feb 21 21:54:44",
            "localhost",
            "sshd",
            "3402",
            "Accepted publickey for vagrant",
            "rfc3164"
        )
    );
    let h = header("Nov  3 09:47:02 veridian sudo: timstack : TTY=pts/6");
    assert_eq!((h.host, h.program, h.pid), ("veridian", "sudo", ""));
    // A tag without a colon is part of the message.
    let h = header("Mar  6 04:07:28 hostname log_tag this is debug");
    assert_eq!(
        (h.host, h.program, h.message),
        ("hostname", "", "log_tag this is debug")
    );
    let h = header(
        "Mar 11 2024 09:39:38 fw01 sshd[12]: Accepted password for a from 10.0.0.1 port 5 ssh2",
    );
    assert_eq!(
        (h.time, h.host, h.program),
        ("Mar 11 2024 09:39:38", "fw01", "sshd")
    );
    let mut ev = Event::default();
    fill(&h, &mut ev);
    assert_eq!(
        Syslog::default().timestamp(&ev),
        Stamp::At(1_710_149_978_000_000_000)
    );
    let h = header("Mar 11 09:39:39: --- last message repeated 5 times ---");
    assert_eq!(
        (h.host, h.message),
        ("", "--- last message repeated 5 times ---")
    );
}

#[test]
fn rfc3339_esxi_and_vmware_prefixes() {
    let h =
        header("2024-04-10T22:31:07.442190+00:00 db01 sshd[51877]: Accepted password for opsadmin");
    assert_eq!((h.host, h.program, h.variant), ("db01", "sshd", "rfc3339"));
    let h = header(
        "2024-04-24T00:46:31.118Z shell[2102011]: [root]: esxcli vm process kill --type=force",
    );
    assert_eq!((h.host, h.program, h.variant), ("", "shell", "esxi"));
    let h = header("2024-04-24T00:46:31.118Z In(14) shell[2102011]: [root]: ls");
    assert_eq!((h.level, h.program, h.variant), ("In(14)", "shell", "esxi"));
    let h = header(
        "2024-04-23T22:40:51.118Z info hostd[2099634] [Originator@6876 sub=Vimsvc.TaskManager opID=lro-48211-1f2e user=CONTOSO\\svc-monitor] Task Created : haTask",
    );
    assert_eq!(
        (h.level, h.program, h.variant, h.message),
        ("info", "hostd", "vmware", "Task Created : haTask")
    );
    assert!(h.data.contains("user=CONTOSO\\svc-monitor"));
    let h = header(
        "2024-04-23T22:41:03.551Z: [GenericCorrelator] 1093540884us: [vob.user.ssh.enabled] SSH enabled",
    );
    assert_eq!((h.program, h.variant), ("vobd", "esxi"));
    let ev = event(
        "2024-04-23T22:41:03.552Z: [UserLevelCorrelator] 1093541011us: [esx.audit.ssh.enabled] SSH access has been enabled.",
    );
    assert_eq!(ev.get("vob_id"), Some("esx.audit.ssh.enabled"));
    let h = header("2015-03-12T23:16:52.071:INFO:com.root:Response :");
    assert_eq!(
        (h.level, h.program, h.variant),
        ("INFO", "com.root", "vmware")
    );
}

#[test]
fn rfc5424_with_and_without_structured_data() {
    let h =
        header("<15>1 2021-03-06T04:07:38.251122+00:00 hostname log_tag - 123 -  this is debug");
    assert_eq!(
        (h.pri, h.host, h.program, h.msgid, h.message),
        (Some(15), "hostname", "log_tag", "123", "this is debug")
    );
    let h = header(
        r#"<165>1 2003-10-11T22:14:15.003Z mymachine evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appli\]cation"] An application event"#,
    );
    assert_eq!(
        h.data,
        r#"[exampleSDID@32473 iut="3" eventSource="Appli\]cation"]"#
    );
    assert_eq!(h.message, "An application event");
    assert!(parse("<15>1 yesterday host app - - - x").is_none());
}

fn event(line: &str) -> Event {
    let mut ev = Event::default();
    fill(&header(line), &mut ev);
    ev
}

#[test]
fn messages_become_fields() {
    let ev = event(
        "Feb 20 08:35:22 slave22 sshd[5774]: Failed password for invalid user root from 216.160.83.57 port 29160 ssh2",
    );
    assert_eq!(ev.get("event"), Some("failed"));
    assert_eq!(ev.get("method"), Some("password"));
    assert_eq!(ev.get("user"), Some("root"));
    assert_eq!(ev.get("src_ip"), Some("216.160.83.57"));
    assert_eq!(ev.get("src_port"), Some("29160"));
    let ev = event(
        "Feb 21 23:35:33 localhost sudo:  vagrant : user NOT in sudoers ; TTY=pts/0 ; PWD=/home/vagrant ; USER=root ; COMMAND=/bin/ls",
    );
    assert_eq!(ev.get("user"), Some("vagrant"));
    assert_eq!(ev.get("reason"), Some("user NOT in sudoers"));
    assert_eq!(ev.get("run_as"), Some("root"));
    assert_eq!(ev.get("command"), Some("/bin/ls"));
    let ev = event(
        "Feb 19 15:30:04 slave22 useradd[2113]: new user: name=tom, UID=1001, GID=1001, home=/home/tom, shell=/bin/bash",
    );
    assert_eq!(
        (ev.get("action"), ev.get("name"), ev.get("uid")),
        (Some("new user"), Some("tom"), Some("1001"))
    );
    let ev = event(
        "2019-06-14T10:40:20.912134 localhost sudo: pam_unix(sudo-i:session): session opened for user root by userauth3(uid=0)",
    );
    assert_eq!(
        (
            ev.get("pam_module"),
            ev.get("pam_service"),
            ev.get("pam_type")
        ),
        (Some("pam_unix"), Some("sudo-i"), Some("session"))
    );
    assert_eq!(
        (ev.get("pam_user"), ev.get("pam_by")),
        (Some("root"), Some("userauth3"))
    );
    let ev = event(
        "2024-04-24T00:46:31.118Z shell[2102011]: [root]: esxcli vm process kill --type=force --world-id=2100874",
    );
    assert_eq!(ev.get("Image"), Some("/bin/esxcli"));
    assert_eq!(ev.get("User"), Some("root"));
    assert_eq!(
        ev.get("CommandLine"),
        Some("esxcli vm process kill --type=force --world-id=2100874")
    );
    assert_eq!(ev.stream(), Some("shell"));
}

#[test]
fn variants_are_sniffed_from_the_first_lines() {
    assert_eq!(
        sniff(b"<15>Mar  6 04:07:23 hostname log_tag this is debug<14>Mar"),
        Some(("forward", true))
    );
    assert_eq!(
        sniff(b"Mar  6 04:07:23 hostname x: y\nwith another line\n"),
        Some(("rfc3164", false))
    );
    assert_eq!(
        sniff(b"2024-04-24T00:41:12.604Z sshd[2101998]: Accepted\n"),
        Some(("esxi", false))
    );
    assert_eq!(sniff(b"hello world\nMar  6 04:07:23 hostname x: y\n"), None);
    assert_eq!(sniff(b"{\"a\": 1}\n"), None);
}

#[test]
fn record_starts_are_cheap_and_strict() {
    // A line full of `<` is judged on its first bytes alone.
    let many = format!("<13>{}", "<".repeat(1 << 20));
    assert!(!starts(many.as_bytes()));
    assert!(starts(b"<13>Apr 10 22:36:00 h p: x"));
    assert!(starts(b"<165>1 2003-10-11T22:14:15.003Z m e - ID47 - x"));
    // `1 ` is RFC 5424's version only after a `<PRI>`: in RFC 3164 text it continues a message.
    assert!(!starts(b"1 row affected"));
    let mut ev = Event::default();
    fill(
        &header(
            "Apr 10 22:31:07 db01 sshd-session[51877]: Accepted password for opsadmin from 10.10.30.23 port 50412 ssh2",
        ),
        &mut ev,
    );
    assert_eq!(
        (ev.get("user"), ev.get("src_ip")),
        (Some("opsadmin"), Some("10.10.30.23"))
    );
}

#[test]
fn hostd_login_events_name_the_user_and_address() {
    for (line, what, user, ip) in [
        (
            "2024-04-24T22:40:00.000Z info hostd[2099634] [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 4312 : User NORTHGATE\\svc-monitor@10.10.30.23 logged in as Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
            "logged_in",
            "NORTHGATE\\svc-monitor",
            Some("10.10.30.23"),
        ),
        (
            "2024-04-24T22:59:00.000Z In(166) Hostd[2099634]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 4330 : User root@127.0.0.1 logged out (login time: Wednesday, 24 April, 2024 22:41:00 PM, number of API invocations: 0, user agent: VMware-client/6.5.0)",
            "logged_out",
            "root",
            Some("127.0.0.1"),
        ),
    ] {
        let ev = event(line);
        assert_eq!(ev.get("event"), Some(what), "{line}");
        assert_eq!(ev.get("login_user"), Some(user), "{line}");
        assert_eq!(ev.get("src_ip"), ip, "{line}");
    }
    // A task's message is not a login.
    let ev = event(
        "2024-04-23T22:40:51.118Z info hostd[2099634] [Originator@6876 sub=Vimsvc.TaskManager opID=lro-1 user=CONTOSO\\svc-monitor] Task Created : haTask-ha-host-vim.host.ServiceSystem.start-210745",
    );
    assert_eq!(ev.get("login_user"), None);
}
