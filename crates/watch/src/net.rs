//! Standard input and syslog over UDP and TCP. None of these can be replayed, so what they
//! delivered before a crash and was not committed is lost (docs/watch.md says so): UDP cannot
//! be slowed either, so a datagram that finds the queue full is dropped and counted; TCP is
//! slowed by not reading (the sender's buffer fills); standard input likewise.

use crate::chunk::{Chunk, Framed};
use crate::metrics::{Metrics, lock};
use crossbeam_channel::{Sender, TrySendError};
use dwell_ingest::framing::{OctetFramer, Piece};
use dwell_ingest::{Format, MAX_RECORD, Registry};
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Reads standard input to its end.
pub fn stdin(
    registry: Registry,
    forced: Option<Arc<dyn Format>>,
    tx: Sender<Chunk>,
    metrics: Arc<Metrics>,
) {
    let mut input = std::io::stdin().lock();
    let mut buf = vec![0u8; 1 << 16];
    let mut framed: Option<Framed> = None;
    loop {
        let n = match input.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("dwell watch: stdin: {e}");
                0
            }
        };
        if framed.is_none() {
            if n == 0 {
                return;
            }
            match Framed::open(
                &registry,
                forced.as_ref(),
                &buf[..n],
                crate::chunk::now_ns(),
                1,
            ) {
                Ok(f) => framed = Some(f),
                Err(e) => {
                    eprintln!("dwell watch: stdin: not read: {}", e.0);
                    return;
                }
            }
        }
        if !take(
            framed.as_mut().unwrap(),
            &buf[..n],
            n == 0,
            "stdin",
            &tx,
            &metrics,
        ) || n == 0
        {
            return;
        }
    }
}

/// Frames `bytes` and sends the whole records; a record over the limit is dropped and counted.
/// False when the detector has gone.
fn take(
    f: &mut Framed,
    bytes: &[u8],
    eof: bool,
    key: &str,
    tx: &Sender<Chunk>,
    metrics: &Metrics,
) -> bool {
    let (text, pieces, _) = f.push(bytes, eof);
    if f.pending() > MAX_RECORD {
        f.drop_record();
        metrics.dropped("record over 16 MiB", 1);
    }
    pieces.is_empty() || send(tx, key, f, text, pieces)
}

fn send(tx: &Sender<Chunk>, key: &str, f: &Framed, text: Vec<u8>, pieces: Vec<Piece>) -> bool {
    tx.send(Chunk {
        text,
        pieces,
        ..Chunk::new(key.to_string(), f.format.clone(), f.unit())
    })
    .is_ok()
}

/// The syslog format, opened for a stream whose first message is `head`.
fn syslog(registry: &Registry, head: &[u8]) -> Result<Arc<dyn Format>, String> {
    let f = registry
        .get("syslog")
        .ok_or("the syslog format is not registered")?;
    let h = dwell_ingest::Head {
        bytes: head,
        complete: false,
    };
    Ok(f.open(&dwell_ingest::Opening {
        head: h,
        modified: crate::chunk::now_ns(),
        settings: registry.settings(),
    })?
    .unwrap_or_else(|| f.clone()))
}

/// Receives syslog datagrams (RFC 3164 or 5424, one message each) on `socket` until `stop`.
pub fn udp(
    socket: UdpSocket,
    registry: Registry,
    tx: Sender<Chunk>,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) {
    let key = format!(
        "syslog+udp:{}",
        socket
            .local_addr()
            .map_or_else(|_| "?".into(), |a| a.to_string())
    );
    let _ = socket.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf = vec![0u8; 65536];
    let mut format: Option<Arc<dyn Format>> = None;
    let mut text = Vec::new();
    let mut pieces = Vec::new();
    let mut first = Instant::now();
    let mut frame = 0u64;
    while !stop.load(Ordering::Relaxed) {
        match socket.recv_from(&mut buf) {
            Ok((n, _)) => {
                let mut m = &buf[..n];
                while let [rest @ .., b'\n' | b'\r' | 0] = m {
                    m = rest;
                }
                if m.is_empty() {
                    continue;
                }
                if format.is_none() {
                    match syslog(&registry, m) {
                        Ok(f) => format = Some(f),
                        Err(e) => {
                            eprintln!("dwell watch: {key}: {e}");
                            return;
                        }
                    }
                }
                if pieces.is_empty() {
                    first = Instant::now();
                }
                frame += 1;
                let start = text.len();
                text.extend_from_slice(m);
                pieces.push(Piece {
                    start,
                    end: text.len(),
                    line: frame,
                });
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => eprintln!("dwell watch: {key}: {e}"),
        }
        // Datagrams are gathered for a few milliseconds, so a flood is not one chunk each.
        if !pieces.is_empty()
            && (pieces.len() >= 1024 || first.elapsed() >= Duration::from_millis(5))
        {
            let n = pieces.len() as u64;
            let c = Chunk {
                text: std::mem::take(&mut text),
                pieces: std::mem::take(&mut pieces),
                arrived: first,
                ..Chunk::new(key.clone(), format.clone().unwrap(), "frame")
            };
            match tx.try_send(c) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    metrics.dropped("syslog+udp: detector queue full", n);
                    *lock(&metrics.by_source).entry(key.clone()).or_default() += 0;
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
    }
}

/// Accepts syslog over TCP (octet-counted frames, RFC 6587, or one message per line) until `stop`.
pub fn tcp(
    listener: TcpListener,
    registry: Registry,
    tx: Sender<Chunk>,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) {
    let key = format!(
        "syslog+tcp:{}",
        listener
            .local_addr()
            .map_or_else(|_| "?".into(), |a| a.to_string())
    );
    let _ = listener.set_nonblocking(true);
    std::thread::scope(|s| {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((conn, peer)) => {
                    let (registry, tx, metrics, stop, key) = (
                        &registry,
                        tx.clone(),
                        metrics.clone(),
                        stop.clone(),
                        key.clone(),
                    );
                    s.spawn(move || connection(conn, peer, &key, registry, tx, &metrics, &stop));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    eprintln!("dwell watch: {key}: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    });
}

fn connection(
    mut conn: TcpStream,
    peer: SocketAddr,
    key: &str,
    registry: &Registry,
    tx: Sender<Chunk>,
    metrics: &Metrics,
    stop: &AtomicBool,
) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = vec![0u8; 1 << 16];
    let mut framed: Option<Framed> = None;
    while !stop.load(Ordering::Relaxed) {
        let n = match conn.read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => {
                eprintln!("dwell watch: {key}: {peer}: {e}");
                0
            }
        };
        if framed.is_none() {
            if n == 0 {
                return;
            }
            // The first message tells RFC 3164 from 5424; the length prefix, if any, is not
            // part of it.
            let head = &buf[..n];
            let msg = match head.iter().position(|b| *b == b' ') {
                Some(i) if i > 0 && head[..i].iter().all(u8::is_ascii_digit) => &head[i + 1..],
                _ => head,
            };
            match syslog(registry, msg) {
                Ok(f) => framed = Some(Framed::with_framer(f, Box::new(OctetFramer::default()))),
                Err(e) => {
                    eprintln!("dwell watch: {key}: {e}");
                    return;
                }
            }
        }
        if !take(
            framed.as_mut().unwrap(),
            &buf[..n],
            n == 0,
            key,
            &tx,
            metrics,
        ) || n == 0
        {
            return;
        }
    }
}
