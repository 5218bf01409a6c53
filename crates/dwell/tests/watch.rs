//! `dwell watch` run for real: files followed through rotation and truncation, syslog over UDP
//! and TCP, HTTP ingest with its token and limits, and the crash test: a watcher killed with
//! SIGKILL again and again while its input grows delivers, in the end, exactly the alerts of
//! one `dwell hunt` over the same files (none missing, none doubled), and its ledger balances.

mod common;

use common::{EVIL_RULE, write_rule};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A watcher process; killed when dropped.
struct Watcher {
    child: Child,
    state: PathBuf,
    err: PathBuf,
}

impl Watcher {
    fn start(args: &[&str], state: &Path) -> Watcher {
        let err = state.with_extension(format!("err-{}", std::process::id()));
        let errf = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&err)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_dwell"))
            .arg("watch")
            .args([
                "--state",
                state.to_str().unwrap(),
                "--poll-ms",
                "20",
                "--commit-ms",
                "20",
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(errf)
            .env("DWELL_WATCH_TOKEN", TOKEN)
            .spawn()
            .expect("dwell watch starts");
        let mut w = Watcher {
            child,
            state: state.to_path_buf(),
            err,
        };
        // Its signal handlers are in place once it says it is watching.
        let t = Instant::now();
        let before = w.stderr().matches("dwell watch: watching").count();
        while w.stderr().matches("dwell watch: watching").count() == before {
            if let Ok(Some(st)) = w.child.try_wait() {
                panic!("the watcher exited ({st}): {}", w.stderr());
            }
            assert!(t.elapsed() < Duration::from_secs(20), "{}", w.stderr());
            std::thread::sleep(Duration::from_millis(10));
        }
        w
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// The committed ledger.
    fn ledger(&self) -> Option<Value> {
        let t = std::fs::read_to_string(self.state.join("checkpoint.json")).ok()?;
        let v: Value = serde_json::from_str(&t).ok()?;
        Some(v["ledger"].clone())
    }

    /// Waits until the committed ledger has taken `n` records.
    fn wait_records(&mut self, n: u64, within: Duration) {
        let t = Instant::now();
        loop {
            if let Some(l) = self.ledger()
                && l["records"].as_u64() == Some(n)
            {
                return;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("the watcher exited ({st}): {}", self.stderr());
            }
            assert!(
                t.elapsed() < within,
                "after {within:?} the ledger is {:?}, not {n} records; stderr: {}",
                self.ledger(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and the exit status.
    fn term(mut self) -> i32 {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let t = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code().unwrap_or(-1);
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "SIGTERM did not stop the watcher"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to drain or commit.
    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TOKEN: &str = "test-token-0123456789abcdef";

fn lines_of(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad alert line: {e}")))
        .collect()
}

/// Alerts by id, counting repeats.
fn by_id(alerts: &[Value]) -> BTreeMap<String, (usize, Value)> {
    let mut m: BTreeMap<String, (usize, Value)> = BTreeMap::new();
    for a in alerts {
        let id = a["alert_id"].as_str().expect("an alert id").to_string();
        let e = m.entry(id).or_insert((0, a.clone()));
        e.0 += 1;
    }
    m
}

fn hunt(args: &[&str]) -> Vec<Value> {
    let o = Command::new(env!("CARGO_BIN_EXE_dwell"))
        .arg("hunt")
        .args(args)
        .args(["--format", "jsonl", "--no-progress", "-q"])
        .output()
        .unwrap();
    assert!(
        o.status.code().unwrap() <= 1,
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Asserts that `got` holds each of `want`'s alerts exactly once, field for field.
fn same_alerts(got: &[Value], want: &[Value]) {
    let (g, w) = (by_id(got), by_id(want));
    let doubled: Vec<&String> = g
        .iter()
        .filter(|(_, (n, _))| *n > 1)
        .map(|(k, _)| k)
        .collect();
    assert!(
        doubled.is_empty(),
        "{} alert(s) delivered twice, e.g. {:?}",
        doubled.len(),
        doubled.first()
    );
    let missing: Vec<&String> = w.keys().filter(|k| !g.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} alert(s) missing, e.g. {}",
        missing.len(),
        w.len(),
        w[missing[0]].1["rule_title"]
    );
    let extra: Vec<&String> = g.keys().filter(|k| !w.contains_key(*k)).collect();
    assert!(
        extra.is_empty(),
        "{} alert(s) hunt does not make, e.g. {}",
        extra.len(),
        g[extra[0]].1
    );
    for (id, (_, a)) in &w {
        assert_eq!(&g[id].1, a, "alert {id} differs from hunt's");
    }
}

fn simulate(dir: &Path) -> PathBuf {
    let out = dir.join("sim");
    let o = common::dwell(&["simulate", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    out.join("logs")
}

/// A deterministic pseudo-random sequence (xorshift), seeded from the clock and printed, so a
/// failing schedule can be replayed with DWELL_CRASH_SEED.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("DWELL_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("crash schedule seed: DWELL_CRASH_SEED={seed}");
        Rng(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn killed_again_and_again_the_watcher_delivers_exactly_hunts_alerts() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = simulate(tmp.path());
    // The identity provider's log (first-seen rules and a temporal correlation) and the proxy's
    // (a value-sum correlation over an hour): both are written as the watcher runs.
    let sources = [
        logs.join("okta/system-log.jsonl"),
        logs.join("proxy/access.log"),
    ];
    let live = tmp.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    let texts: Vec<Vec<u8>> = sources.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let total: u64 = texts
        .iter()
        .map(|t| t.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count() as u64)
        .sum();
    let targets: Vec<PathBuf> = sources
        .iter()
        .map(|p| live.join(p.file_name().unwrap()))
        .collect();
    let state = tmp.path().join("state");
    let out = tmp.path().join("alerts.jsonl");
    let live_s = format!("file:{}", live.display());
    let out_s = format!("jsonl:{}", out.display());
    let args = ["--source", &live_s, "--sink", &out_s];

    // The writer appends the logs in pieces, cut anywhere (mid-line too), while the watcher
    // is killed at random moments and restarted.
    let writer = {
        let (texts, targets) = (texts.clone(), targets.clone());
        std::thread::spawn(move || {
            let mut at = vec![0usize; texts.len()];
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            loop {
                let mut done = true;
                for (i, t) in texts.iter().enumerate() {
                    if at[i] >= t.len() {
                        continue;
                    }
                    done = false;
                    let n = (t.len() / 40).max(1) + rng.below(4096) as usize;
                    let end = (at[i] + n).min(t.len());
                    let mut f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&targets[i])
                        .unwrap();
                    f.write_all(&t[at[i]..end]).unwrap();
                    at[i] = end;
                }
                if done {
                    return;
                }
                std::thread::sleep(Duration::from_millis(60));
            }
        })
    };
    let mut rng = Rng::new();
    let kills = 12;
    for _ in 0..kills {
        let w = Watcher::start(&args, &state);
        std::thread::sleep(Duration::from_millis(150 + rng.below(450)));
        w.kill9();
    }
    writer.join().unwrap();
    let mut w = Watcher::start(&args, &state);
    w.wait_records(total, Duration::from_secs(120));
    let err = w.stderr();
    assert_eq!(w.term(), 0, "{err}");

    let ledger = serde_json::from_str::<Value>(
        &std::fs::read_to_string(state.join("checkpoint.json")).unwrap(),
    )
    .unwrap()["ledger"]
        .clone();
    let n = |k: &str| ledger[k].as_u64().unwrap();
    assert_eq!(n("records"), total, "{ledger}");
    assert_eq!(
        n("matched") + n("unmatched") + n("rejected") + n("dropped"),
        n("records"),
        "the ledger does not balance: {ledger}"
    );
    assert_eq!(n("rejected") + n("dropped"), 0, "{ledger}");

    let want = hunt(&[live.to_str().unwrap()]);
    assert!(
        want.iter().any(|d| d.get("correlation").is_some()),
        "the chosen logs should make correlations fire"
    );
    same_alerts(&lines_of(&out), &want);
}

fn sysmon(i: usize, cmd: &str) -> String {
    format!(
        "{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Computer\":\"ws{i}\",\"EventRecordID\":{i},\"UtcTime\":\"2026-01-01T00:00:{:02}Z\",\"CommandLine\":\"{cmd}\"}}\n",
        i % 60
    )
}

fn append(p: &Path, text: &str) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

fn wait_alerts(p: &Path, n: usize, w: &Watcher) -> Vec<Value> {
    let t = Instant::now();
    loop {
        let a = lines_of(p);
        if a.len() >= n {
            std::thread::sleep(Duration::from_millis(100));
            return lines_of(p);
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "{} of {n} alerts; stderr: {}",
            a.len(),
            w.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_followed_folder_survives_rename_rotation_truncation_and_new_files() {
    let tmp = tempfile::tempdir().unwrap();
    let rule = write_rule(tmp.path(), "evil.yml", EVIL_RULE);
    let dir = tmp.path().join("logs");
    std::fs::create_dir_all(&dir).unwrap();
    let app = dir.join("app.log");
    append(
        &app,
        &(sysmon(1, "evil 1") + &sysmon(2, "benign") + &sysmon(3, "evil 3")),
    );
    // A compressed rotated log is not followed.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(sysmon(99, "evil old").as_bytes()).unwrap();
    std::fs::write(dir.join("app.log.9.gz"), gz.finish().unwrap()).unwrap();
    let out = tmp.path().join("alerts.jsonl");
    let (src, sink) = (
        format!("file:{}", dir.display()),
        format!("jsonl:{}", out.display()),
    );
    let w = Watcher::start(
        &[
            "--rules",
            rule.to_str().unwrap(),
            "--source",
            &src,
            "--sink",
            &sink,
        ],
        &tmp.path().join("state"),
    );
    wait_alerts(&out, 2, &w);
    // Rotation by rename: the old writer still appends to the renamed file, a new file
    // takes the name.
    let rotated = dir.join("app.log.1");
    std::fs::rename(&app, &rotated).unwrap();
    append(&rotated, &sysmon(4, "evil 4, written after the rename"));
    append(&app, &(sysmon(5, "evil 5") + &sysmon(6, "evil 6")));
    wait_alerts(&out, 5, &w);
    // Truncation (copytruncate): read again from the start.
    std::fs::write(&app, sysmon(7, "evil 7 after truncation")).unwrap();
    wait_alerts(&out, 6, &w);
    // A new file in the folder, a level down.
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    append(&dir.join("sub/other.log"), &sysmon(8, "evil 8"));
    let got = wait_alerts(&out, 7, &w);
    assert_eq!(w.term(), 0);
    let mut seen: Vec<String> = got
        .iter()
        .map(|a| a["event"]["CommandLine"].as_str().unwrap().to_string())
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            "evil 1",
            "evil 3",
            "evil 4, written after the rename",
            "evil 5",
            "evil 6",
            "evil 7 after truncation",
            "evil 8"
        ]
    );
    let ids: std::collections::HashSet<&str> = got
        .iter()
        .map(|a| a["alert_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), got.len(), "an alert was delivered twice");
}

/// One HTTP/1.1 request; the status and body.
fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

fn wait_port(port: u16, w: &Watcher) {
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "port {port} never opened: {}",
            w.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn http_ingest_authenticates_limits_and_answers_once_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let rule = write_rule(tmp.path(), "evil.yml", EVIL_RULE);
    let out = tmp.path().join("alerts.jsonl");
    let (port, mport) = (free_port(), free_port());
    let src = format!("http:127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{mport}");
    let sink = format!("jsonl:{}", out.display());
    let w = Watcher::start(
        &[
            "--rules",
            rule.to_str().unwrap(),
            "--source",
            &src,
            "--sink",
            &sink,
            "--listen",
            &listen,
            "--max-body-kib",
            "64",
        ],
        &tmp.path().join("state"),
    );
    wait_port(port, &w);
    wait_port(mport, &w);
    let auth = format!("Bearer {TOKEN}");
    let body = sysmon(1, "evil one") + &sysmon(2, "benign");
    // No token, a wrong token: refused before the body is read.
    assert_eq!(
        request(port, "POST", "/ingest", &[], body.as_bytes()).0,
        401
    );
    let wrong = [("Authorization", "Bearer nope-nope-nope-nope")];
    assert_eq!(
        request(port, "POST", "/ingest", &wrong, body.as_bytes()).0,
        401
    );
    assert_eq!(request(mport, "GET", "/metrics", &[], b"").0, 401);
    // Accepted: answered after the commit, so the alert is already in the file.
    let (st, resp) = request(
        port,
        "POST",
        "/ingest",
        &[("Authorization", &auth)],
        body.as_bytes(),
    );
    assert_eq!(st, 200, "{resp}");
    let r: Value = serde_json::from_str(&resp).unwrap();
    assert_eq!(
        (r["accepted"].as_u64(), r["rejected"].as_u64()),
        (Some(2), Some(0)),
        "{r}"
    );
    assert_eq!(
        lines_of(&out).len(),
        1,
        "answered before its alert was delivered"
    );
    // Malformed lines are counted and named; the rest is taken.
    let mixed = sysmon(3, "evil three")
        + "{\"broken\": }\n"
        + "not json at all\n"
        + &sysmon(4, "evil four");
    let (st, resp) = request(
        port,
        "POST",
        "/ingest",
        &[("Authorization", &auth)],
        mixed.as_bytes(),
    );
    assert_eq!(st, 200, "{resp}");
    let r: Value = serde_json::from_str(&resp).unwrap();
    assert_eq!(r["accepted"].as_u64(), Some(2), "{r}");
    assert_eq!(r["rejected"].as_u64(), Some(2), "{r}");
    assert!(r["problems"][0].as_str().unwrap().contains("line 2"), "{r}");
    // gzip, as a JSON array.
    let arr = format!(
        "[{},{}]",
        sysmon(5, "evil five").trim(),
        sysmon(6, "benign").trim()
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(arr.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let (st, resp) = request(
        port,
        "POST",
        "/ingest",
        &[("Authorization", &auth), ("Content-Encoding", "gzip")],
        &gz,
    );
    assert_eq!(st, 200, "{resp}");
    // Over the limit, as sent and once decompressed (a gzip bomb).
    let big = sysmon(7, &"x".repeat(70 << 10));
    assert_eq!(
        request(
            port,
            "POST",
            "/ingest",
            &[("Authorization", &auth)],
            big.as_bytes()
        )
        .0,
        413
    );
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(sysmon(8, &"y".repeat(1 << 20)).as_bytes())
        .unwrap();
    let bomb = bomb.finish().unwrap();
    assert!(bomb.len() < 64 << 10);
    let (st, _) = request(
        port,
        "POST",
        "/ingest",
        &[("Authorization", &auth), ("Content-Encoding", "gzip")],
        &bomb,
    );
    assert_eq!(st, 413);
    assert_eq!(request(mport, "GET", "/healthz", &[], b"").0, 200);
    let (st, metrics) = request(mport, "GET", "/metrics", &[("Authorization", &auth)], b"");
    assert_eq!(st, 200);
    assert!(
        metrics.contains("dwell_ledger_records{outcome=\"in\"} 8"),
        "{metrics}"
    );
    assert!(
        metrics.contains("dwell_ledger_records{outcome=\"rejected\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("dwell_ledger_balanced 1"), "{metrics}");
    assert!(
        metrics.contains("dwell_alert_latency_seconds_count 4"),
        "{metrics}"
    );
    assert_eq!(w.term(), 0);
    let got: Vec<String> = lines_of(&out)
        .iter()
        .map(|a| a["event"]["CommandLine"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, ["evil one", "evil three", "evil four", "evil five"]);
}

#[test]
fn syslog_over_udp_and_tcp_runs_the_built_in_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("alerts.jsonl");
    let (u, t) = (free_udp_port(), free_port());
    let (us, ts) = (
        format!("syslog+udp:127.0.0.1:{u}"),
        format!("syslog+tcp:127.0.0.1:{t}"),
    );
    let sink = format!("jsonl:{}", out.display());
    let w = Watcher::start(
        &["--source", &us, "--source", &ts, "--sink", &sink],
        &tmp.path().join("state"),
    );
    wait_port(t, &w);
    let msg = |host: &str| {
        format!(
            "<38>Feb 24 09:12:00 {host} sshd[1234]: Accepted password for root from 203.0.113.9 port 51515 ssh2"
        )
    };
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let t0 = Instant::now();
    // UDP may drop before the socket is read: resent until the alert shows, as a sender would not.
    while lines_of(&out).is_empty() {
        udp.send_to(msg("udphost").as_bytes(), ("127.0.0.1", u))
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(t0.elapsed() < Duration::from_secs(20), "{}", w.stderr());
    }
    // TCP: one octet-counted frame and one newline-terminated message on one connection.
    let mut s = TcpStream::connect(("127.0.0.1", t)).unwrap();
    let framed = msg("tcphost1");
    write!(s, "{} {}", framed.len(), framed).unwrap();
    writeln!(s, "{}", msg("tcphost2")).unwrap();
    drop(s);
    let t0 = Instant::now();
    loop {
        let hosts: std::collections::BTreeSet<String> = lines_of(&out)
            .iter()
            .map(|a| a["computer"].as_str().unwrap_or("").to_string())
            .collect();
        if hosts.contains("tcphost1") && hosts.contains("tcphost2") {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{hosts:?}: {}",
            w.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let a = lines_of(&out);
    assert!(
        a.iter().all(|a| a["rule_title"] == "Root Login Over SSH"),
        "{:?}",
        a[0]["rule_title"]
    );
    assert_eq!(w.term(), 0);
}

#[test]
fn a_broken_rule_set_is_refused_on_reload_and_the_working_one_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    write_rule(&rules, "evil.yml", EVIL_RULE);
    let log = tmp.path().join("app.log");
    append(&log, &sysmon(1, "evil 1"));
    let out = tmp.path().join("alerts.jsonl");
    let (src, sink) = (
        format!("file:{}", log.display()),
        format!("jsonl:{}", out.display()),
    );
    let mport = free_port();
    let listen = format!("127.0.0.1:{mport}");
    let w = Watcher::start(
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--source",
            &src,
            "--sink",
            &sink,
            "--listen",
            &listen,
        ],
        &tmp.path().join("state"),
    );
    wait_alerts(&out, 1, &w);
    write_rule(&rules, "broken.yml", "title: [unclosed\n");
    let pid = w.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let t0 = Instant::now();
    while !w.stderr().contains("rules not reloaded") {
        assert!(t0.elapsed() < Duration::from_secs(20), "{}", w.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    append(&log, &sysmon(2, "evil 2"));
    wait_alerts(&out, 2, &w);
    // A new rule, loadable: reloaded, and it runs.
    std::fs::remove_file(rules.join("broken.yml")).unwrap();
    write_rule(
        &rules,
        "other.yml",
        &EVIL_RULE
            .replace(
                "0e2b5a5c-9d41-4c8e-9a3e-3d0b7c1f0001",
                "0e2b5a5c-9d41-4c8e-9a3e-3d0b7c1f0002",
            )
            .replace("'evil'", "'wicked'")
            .replace("Evil command line", "Wicked command line"),
    );
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let t0 = Instant::now();
    while !w.stderr().contains("rules reloaded") {
        assert!(t0.elapsed() < Duration::from_secs(20), "{}", w.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    append(&log, &sysmon(3, "wicked 3"));
    let a = wait_alerts(&out, 3, &w);
    assert_eq!(a[2]["rule_title"], "Wicked command line");
    let (st, m) = request(
        mport,
        "GET",
        "/metrics",
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        b"",
    );
    assert_eq!(st, 200);
    assert!(
        m.contains("dwell_rule_reloads_refused 1") && m.contains("dwell_rule_reloads 1"),
        "{m}"
    );
    assert_eq!(w.term(), 0);
}

const BRUTE_FORCE: &str = "title: Failed logon
id: 6f1c1d7e-5b9a-4c1e-8f00-000000000001
name: failed_logon
status: test
level: low
logsource: {product: windows, service: security}
detection: {sel: {EventID: 4625}, condition: sel}
---
title: Password guessing
id: 6f1c1d7e-5b9a-4c1e-8f00-000000000002
status: test
level: high
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [TargetUserName]
  timespan: 10m
  condition: {gte: 3}
";

/// A failed logon as Winlogbeat-style EVTX JSON.
fn failed_logon(n: u64, minute: u64, user: &str) -> String {
    format!(
        "{{\"Event\":{{\"System\":{{\"Provider\":{{\"#attributes\":{{\"Name\":\"Microsoft-Windows-Security-Auditing\"}}}},\"EventID\":4625,\"TimeCreated\":{{\"#attributes\":{{\"SystemTime\":\"2026-01-01T00:{minute:02}:00.000000Z\"}}}},\"EventRecordID\":{n},\"Channel\":\"Security\",\"Computer\":\"DC01\"}},\"EventData\":{{\"TargetUserName\":\"{user}\",\"IpAddress\":\"203.0.113.7\"}}}}}}\n"
    )
}

#[test]
fn a_correlation_window_survives_kill_9_between_each_of_its_events() {
    let tmp = tempfile::tempdir().unwrap();
    let rule = write_rule(tmp.path(), "brute.yml", BRUTE_FORCE);
    let log = tmp.path().join("security.jsonl");
    let out = tmp.path().join("alerts.jsonl");
    let state = tmp.path().join("state");
    let (src, sink) = (
        format!("file:{}", log.display()),
        format!("jsonl:{}", out.display()),
    );
    let args = [
        "--rules",
        rule.to_str().unwrap(),
        "--source",
        &src,
        "--sink",
        &sink,
    ];
    let events = [
        failed_logon(1, 0, "alice"),
        failed_logon(2, 1, "bob"),
        failed_logon(3, 2, "alice"),
        failed_logon(4, 3, "bob"),
        failed_logon(5, 4, "alice"),
    ];
    for (i, e) in events.iter().enumerate() {
        append(&log, e);
        let mut w = Watcher::start(&args, &state);
        w.wait_records(i as u64 + 1, Duration::from_secs(30));
        // Killed once the event is committed: its window lives only in the checkpoint.
        w.kill9();
    }
    let want = hunt(&["--rules", rule.to_str().unwrap(), log.to_str().unwrap()]);
    let fired: Vec<&Value> = want
        .iter()
        .filter(|d| d.get("correlation").is_some())
        .collect();
    assert_eq!(
        fired.len(),
        1,
        "hunt: alice's third failure within 10 minutes"
    );
    same_alerts(&lines_of(&out), &want);
}

/// A webhook receiver: answers 500 to the first `fail` requests, then 200; keeps every request
/// (headers and body) it answered 200 to.
/// Requests a receiver answered 200 to: headers and body.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

fn receiver(fail: usize) -> (u16, Received) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        let mut n = 0;
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut buf = Vec::new();
            let mut tmp = [0u8; 4096];
            // Headers, then as much body as Content-Length says.
            loop {
                let k = c.read(&mut tmp).unwrap_or(0);
                if k == 0 {
                    break;
                }
                buf.extend_from_slice(&tmp[..k]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
            }
            let text = String::from_utf8_lossy(&buf).to_string();
            n += 1;
            let ok = n > fail;
            let status = if ok {
                "200 OK"
            } else {
                "500 Internal Server Error"
            };
            let _ = write!(
                c,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            if ok && let Some((head, body)) = text.split_once("\r\n\r\n") {
                g.lock().unwrap().push((head.to_string(), body.to_string()));
            }
        }
    });
    (port, got)
}

#[test]
fn webhooks_retry_then_deliver_and_dead_letter_what_cannot_be_delivered() {
    let tmp = tempfile::tempdir().unwrap();
    let rule = write_rule(tmp.path(), "evil.yml", EVIL_RULE);
    let log = tmp.path().join("app.log");
    append(&log, &(sysmon(1, "evil 1") + &sysmon(2, "evil 2")));
    // A generic hook that fails twice first, a Slack hook that works, and a hook where nobody
    // listens.
    let (flaky, flaky_got) = receiver(2);
    let (slack, slack_got) = receiver(0);
    let dead_port = free_port();
    let state = tmp.path().join("state");
    let src = format!("file:{}", log.display());
    let (h1, h2, h3) = (
        format!("webhook:http://127.0.0.1:{flaky}/hook"),
        format!("webhook+slack:http://127.0.0.1:{slack}/services/x"),
        format!("webhook:http://127.0.0.1:{dead_port}/nobody"),
    );
    let w = Watcher::start(
        &[
            "--rules",
            rule.to_str().unwrap(),
            "--source",
            &src,
            "--sink",
            &h1,
            "--sink",
            &h2,
            "--sink",
            &h3,
            "--webhook-tries",
            "3",
        ],
        &state,
    );
    let t = Instant::now();
    while std::fs::read_to_string(state.join("dead-letter.jsonl"))
        .unwrap_or_default()
        .lines()
        .count()
        < 2
    {
        assert!(t.elapsed() < Duration::from_secs(30), "{}", w.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(w.term(), 0);
    let flaky_got = flaky_got.lock().unwrap();
    assert_eq!(flaky_got.len(), 2, "both alerts, after two failed tries");
    for (head, body) in flaky_got.iter() {
        let a: Value = serde_json::from_str(body).unwrap();
        let id = a["alert_id"].as_str().unwrap();
        assert!(
            head.to_ascii_lowercase()
                .contains(&format!("x-dwell-alert-id: {id}")),
            "{head}"
        );
        assert!(
            head.to_ascii_lowercase()
                .contains(&format!("idempotency-key: {id}")),
            "{head}"
        );
    }
    let slack_got = slack_got.lock().unwrap();
    assert_eq!(slack_got.len(), 2);
    let s: Value = serde_json::from_str(&slack_got[0].1).unwrap();
    assert!(
        s["text"].as_str().unwrap().contains("Evil command line"),
        "{s}"
    );
    let dead: Vec<Value> = std::fs::read_to_string(state.join("dead-letter.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(dead.len(), 2);
    assert!(dead[0]["sink"].as_str().unwrap().contains("/nobody"));
    assert_eq!(dead[0]["alert"]["rule_title"], "Evil command line");
}

#[test]
fn a_jsonl_sink_rotates_and_a_restart_does_not_double_across_the_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let rule = write_rule(tmp.path(), "evil.yml", EVIL_RULE);
    let log = tmp.path().join("app.log");
    let out = tmp.path().join("alerts.jsonl");
    let state = tmp.path().join("state");
    let (src, sink) = (
        format!("file:{}", log.display()),
        format!("jsonl:{}", out.display()),
    );
    // 1 MiB, the smallest setting: each alert carries a 300 KiB command line.
    let args = [
        "--rules",
        rule.to_str().unwrap(),
        "--source",
        &src,
        "--sink",
        &sink,
        "--rotate-mib",
        "1",
    ];
    let big = |i: usize| sysmon(i, &format!("evil {i} {}", "x".repeat(300 << 10)));
    // One alert a commit: how many land in one write would otherwise decide how many files
    // there are.
    let mut w = Watcher::start(&args, &state);
    for i in 0..5 {
        append(&log, &big(i));
        w.wait_records(i as u64 + 1, Duration::from_secs(30));
    }
    w.kill9();
    let mut w = Watcher::start(&args, &state);
    for i in 5..9 {
        append(&log, &big(i));
        w.wait_records(i as u64 + 1, Duration::from_secs(30));
    }
    assert_eq!(w.term(), 0);
    let mut all = Vec::new();
    let mut parts = 0;
    for g in 1..10 {
        let p = PathBuf::from(format!("{}.{g}", out.display()));
        if p.exists() {
            parts += 1;
            all.extend(lines_of(&p));
        }
    }
    all.extend(lines_of(&out));
    assert!(parts >= 2, "rotated into {parts} older file(s)");
    let mut ids: Vec<&str> = all
        .iter()
        .map(|a| a["alert_id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (all.len(), ids.len()),
        (9, 9),
        "each alert once, across the rotated files"
    );
}

#[test]
fn endpoints_without_a_token_are_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let rule = write_rule(tmp.path(), "evil.yml", EVIL_RULE);
    let listen = format!("127.0.0.1:{}", free_port());
    let http = format!("http:127.0.0.1:{}", free_port());
    let sink = format!("jsonl:{}", tmp.path().join("a.jsonl").display());
    let src = format!("file:{}", tmp.path().display());
    for extra in [["--listen", listen.as_str()], ["--source", http.as_str()]] {
        let o = Command::new(env!("CARGO_BIN_EXE_dwell"))
            .args([
                "watch",
                "--rules",
                rule.to_str().unwrap(),
                "--source",
                &src,
                "--sink",
                &sink,
            ])
            .args(["--state", tmp.path().join("state").to_str().unwrap()])
            .args(extra)
            .env_remove("DWELL_WATCH_TOKEN")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("bearer token"),
            "{extra:?}"
        );
    }
}
