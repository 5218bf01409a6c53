//! Scale-out on NATS JetStream. Producers publish records to `PREFIX.KEY` (KEY: one subject
//! token, by default the host); the stream's subject transform stores each under
//! `PREFIX.part.P.KEY` with P = partition(KEY), so one key always lands in one partition.
//! Each partition is owned by one worker at a time, by a lease in a key-value bucket (created
//! with compare-and-set, renewed by revision, expiring with the bucket's age limit); the owner
//! reads the partition with a durable pull consumer re-created at the partition's committed
//! sequence, runs the one pipeline over it, and commits the partition's checkpoint to another
//! bucket, again by revision: a worker that lost its lease cannot commit (it is fenced), and
//! its unacknowledged work is replayed by the next owner from the committed sequence.
//!
//! State that spans partitions is re-keyed: the detections of stateful rules (correlation
//! sources, first-seen rules) are published, with the detection's alert id as `Nats-Msg-Id`,
//! to `PREFIX.match.Q`, Q the partition of the rule's component (the rules and correlations
//! that share state), which the owner of Q reads in the same ordered consumer as its records.
//! So every correlation sees all its matches in one place, whatever its group-by.

use crate::checkpoint::{Checkpoint, Store, from_json, to_json};
use crate::chunk::{Accepted, Chunk, Framed};
use crate::engine::{Engine, Reload};
use crate::matches::Router;
use crate::metrics::Metrics;
use crate::sinks::{Alert, AlertSink};
use async_nats::jetstream::{self, consumer, kv, object_store, stream};
use dwell_ingest::Registry;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::runtime::Handle;

/// How a worker joins the stream.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// The server (`nats://127.0.0.1:4222`).
    pub url: String,
    /// The stream's name.
    pub stream: String,
    /// The subject prefix producers publish under (`dwell.events`).
    pub prefix: String,
    /// Partitions: fixed when the stream is created.
    pub partitions: u32,
    /// How long a lease lasts without renewal: the longest a dead worker's partitions wait.
    pub lease: Duration,
    /// This worker's name (unique among the workers).
    pub worker: String,
    /// How long JetStream remembers message ids, to drop a re-sent match or alert.
    pub duplicate_window: Duration,
}

const LEASES: &str = "DWELL_LEASES";
const CHECKPOINTS: &str = "DWELL_CHECKPOINTS";
const STATE: &str = "DWELL_STATE";

/// Above this, a partition's detector state goes to the object store, not the bucket.
const INLINE: usize = 512 << 10;

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("NATS: {what}: {e}")
}

/// The connection and what every partition shares.
#[derive(Clone)]
pub struct Cluster {
    js: jetstream::Context,
    opts: NatsOptions,
    leases: kv::Store,
    checkpoints: kv::Store,
    state: object_store::ObjectStore,
}

impl Cluster {
    /// Connects, and creates the stream, buckets and object store if absent. A stream that
    /// exists with another partition count is refused.
    pub async fn connect(opts: NatsOptions) -> Result<Cluster, String> {
        let client = async_nats::ConnectOptions::new()
            .name(format!("dwell-watch {}", opts.worker))
            .retry_on_initial_connect()
            .connect(&opts.url)
            .await
            .map_err(|e| err(&opts.url, e))?;
        let js = jetstream::new(client);
        let dest = format!(
            "{p}.part.{{{{partition({n},1)}}}}.{{{{wildcard(1)}}}}",
            p = opts.prefix,
            n = opts.partitions
        );
        let want = stream::Config {
            name: opts.stream.clone(),
            subjects: vec![
                format!("{}.*", opts.prefix),
                format!("{}.match.*", opts.prefix),
            ],
            subject_transform: Some(stream::SubjectTransform {
                source: format!("{}.*", opts.prefix),
                destination: dest.clone(),
            }),
            duplicate_window: opts.duplicate_window,
            storage: stream::StorageType::File,
            // Each message is read by exactly one partition's consumer, and acknowledged once
            // committed: then it can go.
            retention: stream::RetentionPolicy::WorkQueue,
            ..Default::default()
        };
        let s = js
            .get_or_create_stream(want)
            .await
            .map_err(|e| err(&format!("stream {}", opts.stream), e))?;
        let have = s
            .cached_info()
            .config
            .subject_transform
            .as_ref()
            .map(|t| t.destination.clone());
        if have.as_deref() != Some(dest.as_str()) {
            return Err(format!(
                "NATS: stream {} exists with another partitioning ({}); dwell wants {dest}",
                opts.stream,
                have.unwrap_or_else(|| "none".into())
            ));
        }
        // The buckets are shared by every worker: the first one creates them, the others use
        // them as they are. A lease lasts as long as the lease bucket's age limit says, whatever
        // this worker was told, so that all workers renew in time.
        let mut opts = opts;
        let leases = match js.get_key_value(LEASES).await {
            Ok(kv) => kv,
            Err(_) => js
                .create_key_value(kv::Config {
                    bucket: LEASES.into(),
                    history: 1,
                    max_age: opts.lease,
                    storage: stream::StorageType::File,
                    ..Default::default()
                })
                .await
                .map_err(|e| err("lease bucket", e))?,
        };
        if let Ok(st) = leases.status().await
            && st.max_age() != opts.lease
            && !st.max_age().is_zero()
        {
            eprintln!(
                "dwell watch: leases last {:?} in the existing {LEASES} bucket (not the {:?} asked for)",
                st.max_age(),
                opts.lease
            );
            opts.lease = st.max_age();
        }
        let checkpoints = match js.get_key_value(CHECKPOINTS).await {
            Ok(kv) => kv,
            Err(_) => js
                .create_key_value(kv::Config {
                    bucket: CHECKPOINTS.into(),
                    history: 1,
                    storage: stream::StorageType::File,
                    ..Default::default()
                })
                .await
                .map_err(|e| err("checkpoint bucket", e))?,
        };
        let state = match js.get_object_store(STATE).await {
            Ok(o) => o,
            Err(_) => js
                .create_object_store(object_store::Config {
                    bucket: STATE.into(),
                    storage: stream::StorageType::File,
                    ..Default::default()
                })
                .await
                .map_err(|e| err("state object store", e))?,
        };
        Ok(Cluster {
            js,
            opts,
            leases,
            checkpoints,
            state,
        })
    }

    /// The JetStream context.
    pub fn context(&self) -> &jetstream::Context {
        &self.js
    }
}

/// A partition's checkpoint in the bucket (key `pN`): written only over the revision this
/// owner read or wrote last, so that a worker that lost the partition cannot write.
struct NatsStore {
    cluster: Cluster,
    key: String,
    revision: Option<u64>,
    rt: Handle,
}

impl Store for NatsStore {
    fn load(&mut self) -> Result<Option<Checkpoint>, String> {
        let c = self.cluster.clone();
        let key = self.key.clone();
        let (entry, detector) = self.rt.block_on(async move {
            let Some(e) = c
                .checkpoints
                .entry(key.clone())
                .await
                .map_err(|e| err("checkpoint", e))?
            else {
                return Ok::<_, String>((None, Vec::new()));
            };
            if e.operation != kv::Operation::Put {
                return Ok((Some((e.revision, None)), Vec::new()));
            }
            let v: serde_json::Value = serde_json::from_slice(&e.value)
                .map_err(|x| err(&format!("checkpoint {key}"), x))?;
            let detector = match v["object"].as_str() {
                Some(name) => {
                    let mut o = c.state.get(name).await.map_err(|x| err(name, x))?;
                    let mut b = Vec::new();
                    o.read_to_end(&mut b).await.map_err(|x| err(name, x))?;
                    b
                }
                None => {
                    let hex = v["detector"].as_str().unwrap_or("");
                    unhex(hex).ok_or_else(|| format!("NATS: checkpoint {key}: bad state"))?
                }
            };
            Ok((Some((e.revision, Some(v))), detector))
        })?;
        let Some((rev, v)) = entry else {
            return Ok(None);
        };
        self.revision = Some(rev);
        let Some(v) = v else { return Ok(None) };
        let mut cp = from_json(&v).map_err(|e| format!("NATS: checkpoint {}: {e}", self.key))?;
        cp.detector = detector;
        Ok(Some(cp))
    }

    fn commit(&mut self, c: &Checkpoint) -> Result<(), String> {
        let cluster = self.cluster.clone();
        let key = self.key.clone();
        let rev = self.revision;
        let mut v = to_json(c);
        let big = c.detector.len() > INLINE;
        let object = format!("{key}.{}", c.generation);
        if big {
            v["object"] = serde_json::Value::String(object.clone());
        } else {
            v["detector"] = serde_json::Value::String(hex(&c.detector));
        }
        let det = c.detector.clone();
        let generation = c.generation;
        let new = self.rt.block_on(async move {
            if big {
                cluster
                    .state
                    .put(object.as_str(), &mut det.as_slice())
                    .await
                    .map_err(|e| err(&object, e))?;
            }
            let body = bytes::Bytes::from(v.to_string());
            let r = match rev {
                Some(r) => cluster
                    .checkpoints
                    .update(&key, body, r)
                    .await
                    .map_err(|e| e.to_string()),
                None => cluster
                    .checkpoints
                    .create(&key, body)
                    .await
                    .map_err(|e| e.to_string()),
            };
            let r = r.map_err(|e| {
                format!(
                    "NATS: partition {key} was taken over by another worker, this one stops ({e})"
                )
            })?;
            if generation > 0 {
                let _ = cluster
                    .state
                    .delete(format!("{key}.{}", generation - 1))
                    .await;
            }
            Ok::<u64, String>(r)
        })?;
        self.revision = Some(new);
        Ok(())
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The partition a component's matches go to: a stable hash of its key.
pub fn partition_of(component: &str, partitions: u32) -> u32 {
    // FNV-1a: stable across processes and versions, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in component.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % u64::from(partitions.max(1))) as u32
}

/// Publishes matches to their component's partition and waits for each to be stored.
struct MatchRouter {
    cluster: Cluster,
    rt: Handle,
}

async fn publish_all(
    js: &jetstream::Context,
    items: Vec<(String, Vec<u8>, String)>,
) -> Result<(), String> {
    let mut pending = Vec::with_capacity(items.len());
    for (subject, payload, id) in items {
        let mut h = async_nats::HeaderMap::new();
        h.insert("Nats-Msg-Id", id.as_str());
        let mut tries = 0;
        loop {
            match js
                .publish_with_headers(
                    subject.clone(),
                    h.clone(),
                    bytes::Bytes::from(payload.clone()),
                )
                .await
            {
                Ok(f) => {
                    pending.push((subject.clone(), h.clone(), payload, f));
                    break;
                }
                Err(e) if tries < 5 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100 << tries)).await;
                }
                Err(e) => return Err(err(&subject, e)),
            }
        }
    }
    for (subject, h, payload, f) in pending {
        if f.await.is_err() {
            // Not acknowledged: sent again, under the same id, so it is stored once.
            let mut tries = 0;
            loop {
                let r = match js
                    .publish_with_headers(
                        subject.clone(),
                        h.clone(),
                        bytes::Bytes::from(payload.clone()),
                    )
                    .await
                {
                    Ok(f) => f.await.map(|_| ()).map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match r {
                    Ok(()) => break,
                    Err(e) if tries >= 5 => return Err(err(&subject, e)),
                    Err(_) => {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(100 << tries)).await;
                    }
                }
            }
        }
    }
    Ok(())
}

impl Router for MatchRouter {
    fn progress(&mut self, from: u32, time: Option<i64>, idle: bool) -> Result<(), String> {
        let body = bytes::Bytes::from(crate::matches::progress(from, time, idle));
        let (js, prefix, n) = (
            self.cluster.js.clone(),
            self.cluster.opts.prefix.clone(),
            self.cluster.opts.partitions,
        );
        self.rt.block_on(async move {
            let mut acks = Vec::new();
            for q in 0..n {
                let f = js
                    .publish(format!("{prefix}.match.{q}"), body.clone())
                    .await
                    .map_err(|e| err("progress", e))?;
                acks.push(f);
            }
            for f in acks {
                f.await.map_err(|e| err("progress", e))?;
            }
            Ok(())
        })
    }

    fn route(&mut self, matches: &[(String, Vec<u8>, String)]) -> Result<(), String> {
        let n = self.cluster.opts.partitions;
        let prefix = &self.cluster.opts.prefix;
        let items: Vec<(String, Vec<u8>, String)> = matches
            .iter()
            .map(|(c, p, id)| {
                (
                    format!("{prefix}.match.{}", partition_of(c, n)),
                    p.clone(),
                    id.clone(),
                )
            })
            .collect();
        let js = self.cluster.js.clone();
        self.rt.block_on(publish_all(&js, items))
    }
}

/// Publishes records as they are (`--forward`), waiting for the stream's acknowledgements.
pub struct Publisher {
    js: jetstream::Context,
    rt: Handle,
}

impl Publisher {
    /// A publisher on `js`, driven from `rt`.
    pub fn new(js: jetstream::Context, rt: Handle) -> Publisher {
        Publisher { js, rt }
    }

    /// Publishes (subject, payload, message id) and waits until each is stored.
    pub fn publish(&self, items: &[(String, Vec<u8>, String)]) -> Result<(), String> {
        let js = self.js.clone();
        self.rt.block_on(publish_all(&js, items.to_vec()))
    }
}

/// A NATS subject sink: each alert published with `Nats-Msg-Id` = its alert id, so that the
/// stream's duplicate window drops an alert sent again after a crash; delivery waits for the
/// stream's acknowledgement. The stream is created if no stream takes the subject.
pub struct NatsSink {
    name: String,
    subject: String,
    js: jetstream::Context,
    rt: Handle,
}

impl NatsSink {
    /// A sink publishing to `subject` on `js`.
    pub fn new(
        js: jetstream::Context,
        subject: &str,
        url: &str,
        window: Duration,
        rt: Handle,
    ) -> Result<NatsSink, String> {
        let j = js.clone();
        let s = subject.to_string();
        rt.block_on(async move {
            let taken = j.stream_by_subject(s.clone()).await.is_ok();
            if !taken {
                j.get_or_create_stream(stream::Config {
                    name: "DWELL_ALERTS".into(),
                    subjects: vec![s.clone()],
                    duplicate_window: window,
                    storage: stream::StorageType::File,
                    ..Default::default()
                })
                .await
                .map_err(|e| err(&format!("alert stream for {s}"), e))?;
            }
            Ok::<(), String>(())
        })?;
        Ok(NatsSink {
            name: format!("nats:{url}/{subject}"),
            subject: subject.to_string(),
            js,
            rt,
        })
    }
}

impl AlertSink for NatsSink {
    fn name(&self) -> &str {
        &self.name
    }
    fn deliver(&mut self, alerts: &[Alert]) -> Result<(), String> {
        let items: Vec<(String, Vec<u8>, String)> = alerts
            .iter()
            .map(|a| {
                (
                    self.subject.clone(),
                    a.line.as_bytes().to_vec(),
                    a.id.clone(),
                )
            })
            .collect();
        let js = self.js.clone();
        self.rt.block_on(publish_all(&js, items))
    }
}

/// One partition this worker runs.
struct Owned {
    revision: u64,
    stop: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
    thread: JoinHandle<Result<(), String>>,
    /// Being given up (rebalancing or shutting down): the lease is deleted once it stopped.
    leaving: bool,
}

/// Builds the sinks of a partition as it is taken.
pub type MakeSinks = Arc<dyn Fn() -> Result<Vec<Box<dyn AlertSink>>, String> + Send + Sync>;

/// What a worker needs to run a partition.
#[derive(Clone)]
pub struct Worker {
    /// The cluster.
    pub cluster: Cluster,
    /// Builds a partition's detector.
    pub reloader: Reload,
    /// Formats.
    pub registry: Registry,
    /// Builds a partition's sinks.
    pub sinks: MakeSinks,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Commit at least this often.
    pub commit_every: Duration,
    /// How far out of time order one partition's events may be.
    pub lateness: Duration,
}

/// Runs the worker until `stop`: leases, rebalancing, partitions. `reload` is passed on to
/// every partition.
pub async fn coordinate(
    w: Worker,
    stop: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
) -> Result<(), String> {
    let opts = w.cluster.opts.clone();
    let n = opts.partitions;
    let me = opts.worker.clone();
    let mut owned: BTreeMap<u32, Owned> = BTreeMap::new();
    let tick = (opts.lease / 4).max(Duration::from_millis(100));
    // Where this worker starts looking, so workers starting together do not all race for
    // partition 0 first.
    let start = partition_of(&me, n);
    let mut heartbeat_rev: Option<u64> = None;
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        if reload.swap(false, Ordering::Relaxed) {
            for o in owned.values() {
                o.reload.store(true, Ordering::Relaxed);
            }
        }
        // Heartbeat: how many workers there are decides each one's share.
        if !stopping {
            match w
                .leases
                .put(format!("worker.{me}"), bytes::Bytes::from(me.clone()))
                .await
            {
                Ok(r) => heartbeat_rev = Some(r),
                Err(e) => eprintln!("dwell watch: {}", err("heartbeat", e)),
            }
        }
        let workers = count_workers(&w.leases).await.max(1);
        let share = n.div_ceil(workers);
        // Renew what is held; a lease that cannot be renewed is lost: the partition stops.
        for (p, o) in owned.iter_mut() {
            match w
                .leases
                .update(format!("p{p}"), bytes::Bytes::from(me.clone()), o.revision)
                .await
            {
                Ok(r) => o.revision = r,
                Err(e) => {
                    if !o.stop.swap(true, Ordering::Relaxed) {
                        eprintln!("dwell watch: partition {p}: lease lost ({e}); stopped");
                    }
                    o.leaving = false;
                    o.revision = 0;
                }
            }
        }
        // Partitions that stopped: their lease is given back if still held.
        let done: Vec<u32> = owned
            .iter()
            .filter(|(_, o)| o.thread.is_finished())
            .map(|(p, _)| *p)
            .collect();
        for p in done {
            let o = owned.remove(&p).unwrap();
            match o.thread.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("dwell watch: partition {p}: {e}"),
                Err(_) => eprintln!("dwell watch: partition {p}: internal error"),
            }
            if o.revision != 0 {
                let _ = w
                    .leases
                    .delete_expect_revision(format!("p{p}"), Some(o.revision))
                    .await;
            }
        }
        if stopping {
            for o in owned.values_mut() {
                o.stop.store(true, Ordering::Relaxed);
                o.leaving = true;
            }
            if owned.is_empty() {
                if let Some(r) = heartbeat_rev {
                    let _ = w
                        .leases
                        .delete_expect_revision(format!("worker.{me}"), Some(r))
                        .await;
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        // Too many (a worker joined): the highest are given up, gracefully.
        let active = owned.values().filter(|o| !o.leaving).count() as u32;
        if active > share {
            for o in owned
                .values_mut()
                .rev()
                .filter(|o| !o.leaving)
                .take((active - share) as usize)
            {
                o.leaving = true;
                o.stop.store(true, Ordering::Relaxed);
            }
        }
        // Too few: free partitions are taken.
        let mut active = owned.values().filter(|o| !o.leaving).count() as u32;
        for i in 0..n {
            if active >= share {
                break;
            }
            let p = (start + i) % n;
            if owned.contains_key(&p) {
                continue;
            }
            if let Ok(rev) = w
                .leases
                .create(format!("p{p}"), bytes::Bytes::from(me.clone()))
                .await
            {
                let stop = Arc::new(AtomicBool::new(false));
                let reload = Arc::new(AtomicBool::new(false));
                let thread =
                    spawn_partition(&w, p, stop.clone(), reload.clone(), Handle::current());
                owned.insert(
                    p,
                    Owned {
                        revision: rev,
                        stop,
                        reload,
                        thread,
                        leaving: false,
                    },
                );
                active += 1;
            }
        }
        tokio::time::sleep(tick).await;
    }
}

async fn count_workers(leases: &kv::Store) -> u32 {
    let Ok(mut keys) = leases.keys().await else {
        return 1;
    };
    let mut n = 0;
    while let Some(k) = keys.next().await {
        if k.is_ok_and(|k| k.starts_with("worker.")) {
            n += 1;
        }
    }
    n
}

impl std::ops::Deref for Worker {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.cluster
    }
}

fn spawn_partition(
    w: &Worker,
    p: u32,
    stop: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
    rt: Handle,
) -> JoinHandle<Result<(), String>> {
    let w = w.clone();
    std::thread::Builder::new()
        .name(format!("dwell-p{p}"))
        .spawn(move || run_partition(w, p, stop, reload, rt))
        .expect("a thread for the partition")
}

fn run_partition(
    w: Worker,
    p: u32,
    stop: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
    rt: Handle,
) -> Result<(), String> {
    let mut store = NatsStore {
        cluster: w.cluster.clone(),
        key: format!("p{p}"),
        revision: None,
        rt: rt.clone(),
    };
    let cp = store.load()?.unwrap_or_default();
    let from = cp.seq;
    let detector = (w.reloader)()?;
    let sinks = (w.sinks)()?;
    let mut engine = Engine::new(
        detector,
        w.registry.clone(),
        cp,
        sinks,
        Box::new(store),
        w.metrics.clone(),
    )?
    .named(&format!("p{p}"))
    .route(
        Box::new(MatchRouter {
            cluster: w.cluster.clone(),
            rt: rt.clone(),
        }),
        p,
        w.cluster.opts.partitions,
        w.lateness,
    );
    engine.commit_every = w.commit_every;
    let (tx, rx) = crossbeam_channel::bounded::<Chunk>(16);
    let reader = rt.spawn(read_partition(w.clone(), p, from, tx, stop.clone()));
    eprintln!(
        "dwell watch: partition {p} taken, from sequence {}",
        from + 1
    );
    let ran = engine.run(rx, &stop, &reload, &w.reloader);
    stop.store(true, Ordering::Relaxed);
    // The reader's failure is the partition's, when the engine only saw its input end.
    let read = rt
        .block_on(reader)
        .unwrap_or_else(|e| Err(format!("partition {p}: reader failed: {e}")));
    ran.and(read)
}

/// Reads partition `p` after sequence `from`, in order, into chunks for the engine; each
/// chunk's messages are acknowledged once the engine committed them.
async fn read_partition(
    w: Worker,
    p: u32,
    from: u64,
    tx: crossbeam_channel::Sender<Chunk>,
    stop: Arc<AtomicBool>,
) -> Result<(), String> {
    let opts = &w.cluster.opts;
    let stream =
        w.js.get_stream(&opts.stream)
            .await
            .map_err(|e| err(&opts.stream, e))?;
    let name = format!("dwell-p{p}");
    let work_queue = stream.cached_info().config.retention == stream::RetentionPolicy::WorkQueue;
    // Re-created at the committed sequence: what the last owner delivered but did not commit
    // is delivered again, in order.
    let _ = stream.delete_consumer(&name).await;
    let consumer: consumer::PullConsumer = stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some(name.clone()),
            filter_subjects: vec![
                format!("{}.part.{p}.*", opts.prefix),
                format!("{}.match.{p}", opts.prefix),
            ],
            // A work-queue stream keeps only what is not acknowledged yet, and its consumers
            // must start at the first of it: that is the committed sequence + 1, or just before
            // (a commit whose acknowledgements were lost), which is skipped below.
            deliver_policy: if from == 0 || work_queue {
                consumer::DeliverPolicy::All
            } else {
                consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: from + 1,
                }
            },
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: Duration::from_secs(60),
            max_ack_pending: 50_000,
            ..Default::default()
        })
        .await
        .map_err(|e| err(&name, e))?;
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(1000)
        .heartbeat(Duration::from_secs(5))
        .expires(Duration::from_secs(10))
        .messages()
        .await
        .map_err(|e| err(&name, e))?;
    let mut last = from;
    let mut consumer = consumer;
    let mut asked = Instant::now();
    let match_subject = format!("{}.match.{p}", opts.prefix);
    let mut group = Group::default();
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let next = tokio::time::timeout(Duration::from_millis(5), messages.next()).await;
        match next {
            Ok(Some(Ok(m))) => {
                let Ok(info) = m
                    .info()
                    .map(|i| (i.stream_sequence, i.published, i.pending))
                else {
                    continue;
                };
                let (seq, published, pending) = info;
                let (msg, acker) = m.split();
                if seq <= last {
                    // Delivered again but already taken (and committed or about to be).
                    let _ = acker.ack().await;
                    continue;
                }
                last = seq;
                let kind = if msg.subject.as_str() == match_subject {
                    Kind::Match
                } else {
                    Kind::Record
                };
                let published = (published.unix_timestamp_nanos()) as i64;
                let forced = msg
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("Dwell-Format"))
                    .map(|v| v.as_str().to_string());
                group
                    .add(
                        kind,
                        forced.as_deref(),
                        msg.payload.to_vec(),
                        seq,
                        published,
                        acker,
                        &w.registry,
                        p,
                        &tx,
                        &stop,
                    )
                    .await?;
                group.pending = Some(pending);
                if group.len() >= 1000 {
                    group.flush(&w.registry, p, &tx, &stop).await?;
                }
            }
            Ok(Some(Err(e))) => {
                eprintln!("dwell watch: partition {p}: {}", err("reading", e));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(None) => return Err(format!("NATS: partition {p}: the consumer ended")),
            Err(_) => {
                group.flush(&w.registry, p, &tx, &stop).await?;
                // Nothing arriving: whether the partition is caught up (nothing pending) is
                // asked of the server, so that an idle partition does not hold back the
                // correlations of the others.
                if asked.elapsed() >= Duration::from_millis(250) {
                    asked = Instant::now();
                    if let Ok(info) = consumer.info().await {
                        let n = info.num_pending;
                        let c = Chunk {
                            pending: Some(n),
                            ..Chunk::new(
                                String::new(),
                                w.registry.get("json").cloned().ok_or("no json format")?,
                                "message",
                            )
                        };
                        if tx.send_timeout(c, Duration::from_millis(100)).is_err()
                            && stop.load(Ordering::Relaxed)
                        {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Record,
    Match,
}

/// Consecutive messages of one kind and format, on their way to become one chunk.
#[derive(Default)]
struct Group {
    kind: Option<Kind>,
    format: Option<Arc<dyn dwell_ingest::Format>>,
    text: Vec<u8>,
    matches: Vec<Vec<u8>>,
    ackers: Vec<async_nats::jetstream::message::Acker>,
    seq: u64,
    published: Option<i64>,
    arrived: Option<Instant>,
    pending: Option<u64>,
}

impl Group {
    fn len(&self) -> usize {
        self.ackers.len()
    }

    #[allow(clippy::too_many_arguments)]
    async fn add(
        &mut self,
        kind: Kind,
        forced: Option<&str>,
        payload: Vec<u8>,
        seq: u64,
        published: i64,
        acker: async_nats::jetstream::message::Acker,
        registry: &Registry,
        p: u32,
        tx: &crossbeam_channel::Sender<Chunk>,
        stop: &AtomicBool,
    ) -> Result<(), String> {
        let format = match kind {
            Kind::Match => None,
            Kind::Record => match forced {
                Some(name) => registry.get(name).cloned(),
                None => {
                    let h = dwell_ingest::Head {
                        bytes: &payload[..payload.len().min(64 << 10)],
                        complete: true,
                    };
                    registry.recognise(&h).cloned()
                }
            },
        };
        let same = self.kind == Some(kind)
            && match (&self.format, &format) {
                (Some(a), Some(b)) => a.name() == b.name(),
                (None, None) => true,
                _ => false,
            };
        if !same && !self.ackers.is_empty() {
            self.flush(registry, p, tx, stop).await?;
        }
        // Not recognised: read as JSON lines, so that it is rejected with its reason and
        // counted like any bad record.
        let format = match (kind, format) {
            (Kind::Record, None) => registry.get("json").cloned(),
            (_, f) => f,
        };
        self.kind = Some(kind);
        self.format = format;
        self.seq = seq;
        self.published = Some(self.published.map_or(published, |x| x.min(published)));
        self.arrived.get_or_insert_with(Instant::now);
        self.ackers.push(acker);
        match kind {
            Kind::Match => self.matches.push(payload),
            Kind::Record => {
                self.text.extend_from_slice(&payload);
                if !payload.ends_with(b"\n") {
                    self.text.push(b'\n');
                }
            }
        }
        Ok(())
    }

    async fn flush(
        &mut self,
        registry: &Registry,
        p: u32,
        tx: &crossbeam_channel::Sender<Chunk>,
        stop: &AtomicBool,
    ) -> Result<(), String> {
        if self.ackers.is_empty() {
            return Ok(());
        }
        let g = std::mem::take(self);
        let ackers = g.ackers;
        // Called on the engine's thread after its commit: the acknowledgements are sent from
        // the runtime.
        let rt = Handle::current();
        let ack: crate::chunk::Ack = Box::new(move |_: Accepted| {
            rt.spawn(async move {
                for a in ackers {
                    let _ = a.ack().await;
                }
            });
        });
        let mut chunk = Chunk {
            arrived: g.arrived.unwrap_or_else(Instant::now),
            published: g.published,
            seq: Some(g.seq),
            matches: g.matches,
            pending: g.pending,
            ack: Some(ack),
            ..Chunk::new(
                String::new(),
                registry
                    .get("json")
                    .cloned()
                    .ok_or("the json format is not registered")?,
                "message",
            )
        };
        if g.kind == Some(Kind::Record) {
            match g.format {
                None => return Err("the json format is not registered".into()),
                Some(f) => {
                    let mut framed =
                        Framed::open(registry, Some(&f), &g.text, crate::chunk::now_ns(), 1)
                            .map_err(|e| e.0)?;
                    let (text, pieces, _) = framed.push(&g.text, true);
                    chunk.key = format!("nats:p{p}:{}", framed.format.name());
                    chunk.format = framed.format.clone();
                    chunk.text = text;
                    chunk.pieces = pieces;
                    chunk.unit = framed.unit();
                }
            }
        }
        let mut c = chunk;
        loop {
            match tx.try_send(c) {
                Ok(()) => return Ok(()),
                Err(crossbeam_channel::TrySendError::Full(back)) => {
                    if stop.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    c = back;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(crossbeam_channel::TrySendError::Disconnected(_)) => return Ok(()),
            }
        }
    }
}
