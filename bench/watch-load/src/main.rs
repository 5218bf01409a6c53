//! Load for `bench/watch.sh`.
//!
//! - `http ADDR TOKEN FILE BATCH RATE SECONDS [PATH]`: POSTs FILE's lines to `http://ADDR/PATH`
//!   (default `/ingest`) in
//!   batches of BATCH lines over one keep-alive connection per sender (2 senders), at RATE
//!   events/s (0: as fast as answered) for SECONDS (0: the file once), cycling through the file;
//!   prints `events seconds p50_ms p99_ms p999_ms` of the request round trips (which end when
//!   dwell has committed the batch).
//! - `nats-publish URL FILE KEYS`: publishes FILE's lines to `dwell.events.hN` (N = line mod
//!   KEYS), waiting for every acknowledgement; prints `events seconds`.
//! - `nats-wait URL EVENTS TIMEOUT`: waits until the partitions' committed ledgers add up to
//!   EVENTS; prints the seconds waited.

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn lines(path: &str) -> Vec<Vec<u8>> {
    let f = std::fs::File::open(path).expect("the events file");
    std::io::BufReader::new(f)
        .split(b'\n')
        .map(|l| l.unwrap())
        .filter(|l| !l.is_empty())
        .collect()
}

fn post(conn: &mut TcpStream, addr: &str, path: &str, token: &str, body: &[u8]) -> u16 {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(body).unwrap();
    // The response: headers, then Content-Length bytes.
    let mut buf = Vec::new();
    let mut b = [0u8; 4096];
    loop {
        let n = conn.read(&mut b).unwrap();
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&b[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap_or(0);
            while buf.len() < i + 4 + len {
                let n = conn.read(&mut b).unwrap();
                assert!(n > 0);
                buf.extend_from_slice(&b[..n]);
            }
            return head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        }
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn http(args: &[String]) {
    let (addr, token, file) = (&args[0], &args[1], &args[2]);
    let batch: usize = args[3].parse().unwrap();
    let rate: f64 = args[4].parse().unwrap();
    let seconds: f64 = args[5].parse().unwrap();
    let path = args.get(6).cloned().unwrap_or_else(|| "/ingest".into());
    let all = lines(file);
    let bodies: Vec<Vec<u8>> = all
        .chunks(batch)
        .map(|c| {
            let mut b = Vec::new();
            for l in c {
                b.extend_from_slice(l);
                b.push(b'\n');
            }
            b
        })
        .collect();
    let senders = 2;
    let start = Instant::now();
    let per_sender = if rate > 0.0 { rate / senders as f64 } else { 0.0 };
    let handles: Vec<_> = (0..senders)
        .map(|s| {
            let (addr, token, bodies, path) = (addr.clone(), token.clone(), bodies.clone(), path.clone());
            let total = all.len();
            std::thread::spawn(move || {
                let mut conn = TcpStream::connect(&addr).unwrap();
                conn.set_nodelay(true).unwrap();
                let mut sent = 0usize;
                let mut rtts = Vec::new();
                let mut i = s;
                loop {
                    let elapsed = start.elapsed().as_secs_f64();
                    if seconds > 0.0 && elapsed >= seconds {
                        break;
                    }
                    if seconds == 0.0 && i >= bodies.len() {
                        break;
                    }
                    if per_sender > 0.0 {
                        // Paced: the next batch is due when the events so far are.
                        let due = sent as f64 / per_sender;
                        if due > elapsed {
                            std::thread::sleep(Duration::from_secs_f64(due - elapsed));
                        }
                    }
                    let body = &bodies[i % bodies.len()];
                    let t = Instant::now();
                    let st = post(&mut conn, &addr, &path, &token, body);
                    assert_eq!(st, 200, "HTTP {st}");
                    rtts.push(t.elapsed().as_secs_f64() * 1000.0);
                    sent += body.iter().filter(|b| **b == b'\n').count();
                    i += senders;
                    let _ = total;
                }
                (sent, rtts)
            })
        })
        .collect();
    let mut sent = 0;
    let mut rtts = Vec::new();
    for h in handles {
        let (s, r) = h.join().unwrap();
        sent += s;
        rtts.extend(r);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{sent} {secs:.3} {:.2} {:.2} {:.2}",
        pct(&mut rtts, 0.5),
        pct(&mut rtts, 0.99),
        pct(&mut rtts, 0.999)
    );
}

#[tokio::main(flavor = "current_thread")]
async fn nats_publish(url: &str, file: &str, keys: usize) {
    let js = async_nats::jetstream::new(async_nats::connect(url).await.unwrap());
    let t = Instant::now();
    while js.get_stream("DWELL_EVENTS").await.is_err() {
        assert!(t.elapsed() < Duration::from_secs(60), "no worker created the stream");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all = lines(file);
    let start = Instant::now();
    let mut acks = Vec::new();
    for (i, l) in all.iter().enumerate() {
        let f = js
            .publish(format!("dwell.events.h{}", i % keys), bytes::Bytes::from(l.clone()))
            .await
            .unwrap();
        acks.push(f);
        if acks.len() >= 4096 {
            for a in acks.drain(..) {
                a.await.unwrap();
            }
        }
    }
    for a in acks {
        a.await.unwrap();
    }
    println!("{} {:.3}", all.len(), start.elapsed().as_secs_f64());
}

#[tokio::main(flavor = "current_thread")]
async fn nats_wait(url: &str, events: u64, timeout: f64) {
    let js = async_nats::jetstream::new(async_nats::connect(url).await.unwrap());
    let start = Instant::now();
    loop {
        let mut n = 0;
        if let Ok(kv) = js.get_key_value("DWELL_CHECKPOINTS").await {
            for p in 0..1024 {
                match kv.get(format!("p{p}")).await {
                    Ok(Some(v)) => {
                        let v: serde_json::Value = serde_json::from_slice(&v).unwrap_or_default();
                        n += v["ledger"]["records"].as_u64().unwrap_or(0);
                    }
                    _ if p > 64 => break,
                    _ => {}
                }
            }
        }
        if n >= events {
            println!("{:.3}", start.elapsed().as_secs_f64());
            return;
        }
        assert!(start.elapsed().as_secs_f64() < timeout, "{n} of {events} after {timeout} s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("http") => http(&args[1..]),
        Some("nats-publish") => nats_publish(&args[1], &args[2], args[3].parse().unwrap()),
        Some("nats-wait") => nats_wait(&args[1], args[2].parse().unwrap(), args[3].parse().unwrap()),
        _ => {
            eprintln!("usage: watch-load http|nats-publish|nats-wait ...");
            std::process::exit(2);
        }
    }
}
