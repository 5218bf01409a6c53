//! `dwell watch`: the hunt pipeline over live sources. Sources ([`follow`], [`net`], [`http`])
//! frame what arrives into chunks of records with the same formats `hunt` reads; one engine
//! ([`engine`]) runs them through the same rules and correlations ([`dwell_pipeline::Live`]),
//! hands the alerts to the sinks ([`sinks`]) and commits a checkpoint ([`checkpoint`]) that
//! holds together the source positions, the detector's state and the sinks' marks, so that a
//! crash loses and doubles nothing (docs/watch.md). [`metrics`] keeps the ledger.

pub mod checkpoint;
pub mod chunk;
pub mod engine;
pub mod follow;
pub mod forward;
pub mod http;
pub mod matches;
pub mod metrics;
pub mod nats;
pub mod net;
pub mod sinks;

use crate::checkpoint::StateDir;
use crate::chunk::Chunk;
use crate::engine::{Engine, Reload};
use crate::metrics::{Ledger, Metrics};
use crate::sinks::{AlertSink, Hook, Jsonl, Stdout, Webhook};
use dwell_detect::Detector;
use dwell_ingest::{Format, Registry};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Where events come from (`--source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// `file:PATH`: a file or folder, followed.
    File(PathBuf),
    /// `stdin`.
    Stdin,
    /// `syslog+udp:ADDR`.
    SyslogUdp(SocketAddr),
    /// `syslog+tcp:ADDR`.
    SyslogTcp(SocketAddr),
    /// `http:ADDR`: `POST /ingest`.
    Http(SocketAddr),
    /// `nats:URL`: a partition-owning worker of a JetStream stream.
    Nats(String),
}

/// Where alerts go (`--sink`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// `stdout`.
    Stdout,
    /// `jsonl:PATH`.
    Jsonl(PathBuf),
    /// `webhook:URL`, `webhook+slack:URL`, `webhook+teams:URL`.
    Webhook(String, Hook),
    /// `nats:URL/SUBJECT`.
    Nats(String, String),
}

fn addr(s: &str, spec: &str) -> Result<SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("{spec}: '{s}' is not an address such as 127.0.0.1:5514"))
}

/// Parses a `--source` spec.
pub fn parse_source(s: &str) -> Result<SourceSpec, String> {
    let (kind, rest) = s.split_once(':').unwrap_or((s, ""));
    Ok(match kind {
        "stdin" if rest.is_empty() => SourceSpec::Stdin,
        "file" if !rest.is_empty() => SourceSpec::File(PathBuf::from(rest)),
        "syslog+udp" => SourceSpec::SyslogUdp(addr(rest, s)?),
        "syslog+tcp" => SourceSpec::SyslogTcp(addr(rest, s)?),
        "http" => SourceSpec::Http(addr(rest, s)?),
        "nats" if rest.starts_with("//") => SourceSpec::Nats(format!("nats:{rest}")),
        _ => {
            return Err(format!(
                "'{s}' is not a source: file:PATH, stdin, syslog+udp:ADDR, syslog+tcp:ADDR, http:ADDR or nats://HOST:PORT"
            ));
        }
    })
}

/// Parses a `--sink` spec.
pub fn parse_sink(s: &str) -> Result<SinkSpec, String> {
    let (kind, rest) = s.split_once(':').unwrap_or((s, ""));
    let url = |h| {
        if rest.starts_with("http://") || rest.starts_with("https://") {
            Ok(SinkSpec::Webhook(rest.to_string(), h))
        } else {
            Err(format!(
                "{s}: the webhook URL must start with http:// or https://"
            ))
        }
    };
    match kind {
        "stdout" if rest.is_empty() => Ok(SinkSpec::Stdout),
        "jsonl" if !rest.is_empty() => Ok(SinkSpec::Jsonl(PathBuf::from(rest))),
        "webhook" => url(Hook::Generic),
        "webhook+slack" => url(Hook::Slack),
        "webhook+teams" => url(Hook::Teams),
        "nats" => {
            // nats://host:port/SUBJECT
            let Some(after) = rest.strip_prefix("//") else {
                return Err(format!("{s}: a NATS sink is nats://HOST:PORT/SUBJECT"));
            };
            match after.split_once('/') {
                Some((host, subject))
                    if !host.is_empty()
                        && !subject.is_empty()
                        && !subject.contains(['*', '>', ' ']) =>
                {
                    Ok(SinkSpec::Nats(
                        format!("nats://{host}"),
                        subject.to_string(),
                    ))
                }
                _ => Err(format!(
                    "{s}: a NATS sink is nats://HOST:PORT/SUBJECT (a subject without wildcards)"
                )),
            }
        }
        _ => Err(format!(
            "'{s}' is not a sink: stdout, jsonl:PATH, webhook:URL, webhook+slack:URL, webhook+teams:URL or nats://HOST:PORT/SUBJECT"
        )),
    }
}

/// Everything a watcher runs with.
pub struct Config {
    /// The state directory.
    pub state: PathBuf,
    /// Sources.
    pub sources: Vec<SourceSpec>,
    /// Sinks.
    pub sinks: Vec<SinkSpec>,
    /// `/healthz` and `/metrics` here.
    pub listen: Option<SocketAddr>,
    /// The bearer token of the HTTP endpoints.
    pub token: Option<String>,
    /// Largest HTTP body.
    pub max_body: usize,
    /// Formats, with `--timezone` and `--read-as`.
    pub registry: Registry,
    /// Commit at least this often while events arrive.
    pub commit_every: Duration,
    /// How often followed files are looked at.
    pub poll: Duration,
    /// Rotate a JSONL sink past this many bytes (0: never).
    pub rotate_bytes: u64,
    /// Tries per alert and webhook, and the first wait between them.
    pub webhook_tries: u32,
    /// See `webhook_tries`.
    pub webhook_backoff: Duration,
    /// The stream, partitions and lease of a `nats:` source.
    pub nats: NatsSettings,
    /// Hand the records to this NATS server's stream (under `nats.prefix`) instead of
    /// detecting here, keyed by this field (`None`: the host).
    pub forward: Option<(String, Option<String>)>,
}

/// How `nats:` sources and sinks are set up.
#[derive(Debug, Clone)]
pub struct NatsSettings {
    /// Stream name.
    pub stream: String,
    /// Subject prefix producers publish under.
    pub prefix: String,
    /// Partitions (fixed when the stream is created).
    pub partitions: u32,
    /// Lease time.
    pub lease: Duration,
    /// This worker's name.
    pub worker: String,
    /// JetStream's duplicate window for matches and alerts.
    pub duplicate_window: Duration,
    /// How far out of time order the events of one partition may be.
    pub lateness: Duration,
}

/// Why a watcher stopped with an error.
#[derive(Debug)]
pub enum WatchError {
    /// The configuration or the state directory cannot be used (exit 2).
    Setup(String),
    /// It failed while running (exit 1): a sink or the state directory.
    Run(String),
}

impl std::fmt::Display for WatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WatchError::Setup(e) | WatchError::Run(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for WatchError {}

/// Runs a watcher until SIGTERM or SIGINT (drained, then `Ok`) or until every source has
/// ended (standard input at its end); SIGHUP reloads the rules with `reloader`.
pub fn run(config: Config, detector: Detector, reloader: Reload) -> Result<Ledger, WatchError> {
    let setup = WatchError::Setup;
    if config
        .sources
        .iter()
        .any(|s| matches!(s, SourceSpec::Nats(_)))
    {
        drop(detector);
        return run_nats(config, reloader);
    }
    let state = StateDir::open(&config.state).map_err(|e| setup(e.to_string()))?;
    let cp = state
        .load()
        .map_err(|e| setup(e.to_string()))?
        .unwrap_or_default();
    let metrics = Arc::new(Metrics::default());
    let mut sinks: Vec<Box<dyn AlertSink>> = Vec::new();
    for s in &config.sinks {
        sinks.push(match s {
            SinkSpec::Stdout => Box::new(Stdout),
            SinkSpec::Jsonl(p) => {
                let name = format!("jsonl:{}", p.display());
                let mark = cp.sinks.get(&name).cloned().unwrap_or_default();
                let (j, note) = Jsonl::open(p, &mark, config.rotate_bytes)
                    .map_err(|e| setup(format!("{name}: {e}")))?;
                if let Some(n) = note {
                    eprintln!("dwell watch: {n}");
                }
                Box::new(j)
            }
            SinkSpec::Webhook(url, hook) => Box::new(Webhook::new(
                url,
                *hook,
                state.dead_letters(),
                config.webhook_tries,
                config.webhook_backoff,
                metrics.clone(),
            )),
            SinkSpec::Nats(url, subject) => {
                let h = nats_runtime().map_err(setup)?;
                let js = h.block_on(connect(url)).map_err(setup)?;
                Box::new(
                    nats::NatsSink::new(js, subject, url, config.nats.duplicate_window, h.clone())
                        .map_err(setup)?,
                )
            }
        });
    }
    if (config.listen.is_some()
        || config
            .sources
            .iter()
            .any(|s| matches!(s, SourceSpec::Http(_))))
        && config.token.is_none()
    {
        return Err(setup(
            "an http: source and --listen need a bearer token (--token-file FILE or DWELL_WATCH_TOKEN)".into(),
        ));
    }
    let saved_files: Vec<chunk::FileMark> = cp.files.values().cloned().collect();
    let mut engine = Engine::new(
        detector,
        config.registry.clone(),
        cp,
        sinks,
        Box::new(state),
        metrics.clone(),
    )
    .map_err(|e| setup(format!("{}: {e}", config.state.display())))?;
    engine.commit_every = config.commit_every;
    if let Some((url, key)) = &config.forward {
        let h = nats_runtime().map_err(setup)?;
        let js = h.block_on(connect(url)).map_err(setup)?;
        engine = engine.forward(
            forward::Forward {
                url: url.clone(),
                prefix: config.nats.prefix.clone(),
                key: key.clone(),
            },
            nats::Publisher::new(js, h),
        );
    }

    let stop = Arc::new(AtomicBool::new(false));
    let reload = Arc::new(AtomicBool::new(false));
    // Bounded: a detector that falls behind slows the sources (UDP drops, counted).
    let (tx, rx) = crossbeam_channel::bounded::<Chunk>(64);
    let rt = runtime(&stop, &reload)?;
    let mut servers = Vec::new();
    let mut bound = |a: SocketAddr, ingest: bool| -> Result<(), WatchError> {
        let h = http::Http {
            tx: ingest.then(|| tx.clone()),
            registry: config.registry.clone(),
            token: config.token.as_deref().map(Arc::from),
            metrics: metrics.clone(),
            max_body: config.max_body,
        };
        servers.push(serve(&rt, a, h, &stop)?);
        Ok(())
    };
    let mut follow: Vec<follow::Followed> = Vec::new();
    let mut threads = Vec::new();
    for s in &config.sources {
        match s {
            SourceSpec::Http(a) => bound(*a, true)?,
            SourceSpec::Nats(_) => unreachable!("a NATS worker runs apart"),
            SourceSpec::File(p) => follow.push(follow::Followed {
                path: p.clone(),
                format: None::<Arc<dyn Format>>,
            }),
            SourceSpec::Stdin => {
                let (r, tx, m) = (config.registry.clone(), tx.clone(), metrics.clone());
                // Not joined: a read of standard input cannot be interrupted.
                std::thread::spawn(move || net::stdin(r, None, tx, m));
            }
            SourceSpec::SyslogUdp(a) => {
                let sock = std::net::UdpSocket::bind(a)
                    .map_err(|e| setup(format!("syslog+udp:{a}: {e}")))?;
                let (r, tx, m, st) = (
                    config.registry.clone(),
                    tx.clone(),
                    metrics.clone(),
                    stop.clone(),
                );
                threads.push(std::thread::spawn(move || net::udp(sock, r, tx, m, st)));
            }
            SourceSpec::SyslogTcp(a) => {
                let l = std::net::TcpListener::bind(a)
                    .map_err(|e| setup(format!("syslog+tcp:{a}: {e}")))?;
                let (r, tx, m, st) = (
                    config.registry.clone(),
                    tx.clone(),
                    metrics.clone(),
                    stop.clone(),
                );
                threads.push(std::thread::spawn(move || net::tcp(l, r, tx, m, st)));
            }
        }
    }
    if let Some(a) = config.listen {
        bound(a, false)?;
    }
    if !follow.is_empty() {
        let f = follow::Follower::new(
            follow,
            config.registry.clone(),
            saved_files,
            tx.clone(),
            metrics.clone(),
        );
        let (st, every) = (stop.clone(), config.poll);
        threads.push(std::thread::spawn(move || f.run(&st, every)));
    }
    drop(tx);
    eprintln!(
        "dwell watch: watching {} source(s), {} sink(s)",
        config.sources.len(),
        config.sinks.len()
    );
    let ran = engine.run(rx, &stop, &reload, &reloader);
    // The engine stops on an error too: the sources must not wait for it.
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    for s in servers {
        let _ = rt.block_on(s);
    }
    rt.shutdown_timeout(Duration::from_secs(2));
    ran.map_err(WatchError::Run)?;
    Ok(engine.ledger())
}

/// The runtime of the servers and the NATS client, with the signal handlers installed before
/// anything is read, so that SIGTERM always drains.
fn runtime(
    stop: &Arc<AtomicBool>,
    reload: &Arc<AtomicBool>,
) -> Result<tokio::runtime::Runtime, WatchError> {
    use tokio::signal::unix::{SignalKind, signal};
    let setup = WatchError::Setup;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| setup(format!("cannot start the runtime: {e}")))?;
    {
        let _in = rt.enter();
        let sig = |k| signal(k).map_err(|e| setup(format!("cannot handle signals: {e}")));
        let (term, int, hup) = (
            sig(SignalKind::terminate())?,
            sig(SignalKind::interrupt())?,
            sig(SignalKind::hangup())?,
        );
        rt.spawn(signals(term, int, hup, stop.clone(), reload.clone()));
    }
    Ok(rt)
}

/// Serves `h`'s routes on `addr` until `stop`, finishing the requests in flight.
fn serve(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    h: http::Http,
    stop: &Arc<AtomicBool>,
) -> Result<tokio::task::JoinHandle<()>, WatchError> {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(addr))
        .map_err(|e| WatchError::Setup(format!("{addr}: {e}")))?;
    let stop = stop.clone();
    Ok(rt.spawn(async move {
        let _ = axum::serve(listener, http::router(h))
            .with_graceful_shutdown(async move {
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await;
    }))
}

async fn signals(
    mut term: tokio::signal::unix::Signal,
    mut int: tokio::signal::unix::Signal,
    mut hup: tokio::signal::unix::Signal,
    stop: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
) {
    loop {
        tokio::select! {
            _ = term.recv() => stop.store(true, Ordering::Relaxed),
            _ = int.recv() => stop.store(true, Ordering::Relaxed),
            _ = hup.recv() => reload.store(true, Ordering::Relaxed),
        }
    }
}

/// A runtime for NATS clients used from the engine's thread (a sink in local mode), kept for
/// the life of the process.
fn nats_runtime() -> Result<tokio::runtime::Handle, String> {
    static RT: std::sync::OnceLock<Result<tokio::runtime::Runtime, String>> =
        std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the NATS runtime: {e}"))
    })
    .as_ref()
    .map(|r| r.handle().clone())
    .map_err(Clone::clone)
}

async fn connect(url: &str) -> Result<async_nats::jetstream::Context, String> {
    let c = async_nats::ConnectOptions::new()
        .name("dwell-watch sink")
        .retry_on_initial_connect()
        .connect(url)
        .await
        .map_err(|e| format!("NATS {url}: {e}"))?;
    Ok(async_nats::jetstream::new(c))
}

/// A worker of a partitioned JetStream stream (module [`nats`]).
fn run_nats(config: Config, reloader: Reload) -> Result<Ledger, WatchError> {
    let setup = WatchError::Setup;
    let url = match config.sources.as_slice() {
        [SourceSpec::Nats(u)] => u.clone(),
        _ => {
            return Err(setup(
                "a nats: source is the only source of its worker (other sources feed the stream through producers)".into(),
            ));
        }
    };
    if config.forward.is_some() {
        return Err(setup(
            "--forward hands records to a stream; a nats: source reads one: not both".into(),
        ));
    }
    if config.sinks.iter().any(|s| matches!(s, SinkSpec::Jsonl(_))) {
        return Err(setup(
            "a NATS worker's partitions move between machines, so a local jsonl: sink cannot be kept exact: use a nats:// sink (or stdout, webhook)".into(),
        ));
    }
    if config.listen.is_some() && config.token.is_none() {
        return Err(setup(
            "--listen needs a bearer token (--token-file FILE or DWELL_WATCH_TOKEN)".into(),
        ));
    }
    let state = StateDir::open(&config.state).map_err(|e| setup(e.to_string()))?;
    let metrics = Arc::new(Metrics::default());
    let stop = Arc::new(AtomicBool::new(false));
    let reload = Arc::new(AtomicBool::new(false));
    let rt = runtime(&stop, &reload)?;
    let n = &config.nats;
    let cluster = rt
        .block_on(nats::Cluster::connect(nats::NatsOptions {
            url: url.clone(),
            stream: n.stream.clone(),
            prefix: n.prefix.clone(),
            partitions: n.partitions,
            lease: n.lease,
            worker: n.worker.clone(),
            duplicate_window: n.duplicate_window,
        }))
        .map_err(setup)?;
    let mut server = None;
    if let Some(a) = config.listen {
        let h = http::Http {
            tx: None,
            registry: config.registry.clone(),
            token: config.token.as_deref().map(Arc::from),
            metrics: metrics.clone(),
            max_body: config.max_body,
        };
        server = Some(serve(&rt, a, h, &stop)?);
    }
    // One JetStream context per sink server, shared by the partitions.
    let mut contexts: Vec<(String, async_nats::jetstream::Context)> = Vec::new();
    for s in &config.sinks {
        if let SinkSpec::Nats(u, _) = s
            && !contexts.iter().any(|(x, _)| x == u)
        {
            let js = if *u == url {
                cluster.context().clone()
            } else {
                rt.block_on(connect(u)).map_err(setup)?
            };
            contexts.push((u.clone(), js));
        }
    }
    let (specs, dead, tries, backoff, window) = (
        config.sinks.clone(),
        state.dead_letters(),
        config.webhook_tries,
        config.webhook_backoff,
        n.duplicate_window,
    );
    let (m2, handle) = (metrics.clone(), rt.handle().clone());
    let sinks: nats::MakeSinks = Arc::new(move || {
        let mut v: Vec<Box<dyn AlertSink>> = Vec::new();
        for s in &specs {
            v.push(match s {
                SinkSpec::Stdout => Box::new(Stdout),
                SinkSpec::Jsonl(_) => unreachable!("refused above"),
                SinkSpec::Webhook(u, h) => Box::new(Webhook::new(
                    u,
                    *h,
                    dead.clone(),
                    tries,
                    backoff,
                    m2.clone(),
                )),
                SinkSpec::Nats(u, subject) => {
                    let js = contexts
                        .iter()
                        .find(|(x, _)| x == u)
                        .map(|(_, j)| j.clone())
                        .unwrap();
                    Box::new(nats::NatsSink::new(js, subject, u, window, handle.clone())?)
                }
            });
        }
        Ok(v)
    });
    let worker = nats::Worker {
        cluster,
        reloader,
        registry: config.registry.clone(),
        sinks,
        metrics: metrics.clone(),
        commit_every: config.commit_every,
        lateness: n.lateness,
    };
    eprintln!(
        "dwell watch: watching {url} as worker {} ({} partitions), {} sink(s)",
        n.worker,
        n.partitions,
        config.sinks.len()
    );
    metrics.healthy.store(true, Ordering::Relaxed);
    let ran = rt.block_on(nats::coordinate(worker, stop.clone(), reload));
    metrics.healthy.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    if let Some(s) = server {
        let _ = rt.block_on(s);
    }
    rt.shutdown_timeout(Duration::from_secs(2));
    ran.map_err(WatchError::Run)?;
    Ok(metrics.ledger())
}
