//! The state directory: one checkpoint, written whole and atomically (a new file, synced, then
//! renamed over the old one), holding together what must agree after a crash: the inputs in
//! the order the detector numbered them, each followed file's position, each sink's mark, the
//! ledger, and the detector's state (correlation windows, baselines) in a file of its own
//! named by the checkpoint's generation. A lock keeps a second watcher off the directory.

use crate::chunk::{FileMark, FilePos};
use crate::metrics::Ledger;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What a checkpoint holds.
#[derive(Debug, Clone, Default)]
pub struct Checkpoint {
    /// Increases by one per commit.
    pub generation: u64,
    /// Input keys and format names, in the detector's order.
    pub inputs: Vec<(String, String)>,
    /// Followed files, by (dev, ino).
    pub files: BTreeMap<(u64, u64), FileMark>,
    /// Sink marks, by sink name.
    pub sinks: BTreeMap<String, Value>,
    /// The ledger.
    pub ledger: Ledger,
    /// The detector's state.
    pub detector: Vec<u8>,
    /// For a NATS partition: the stream sequence of the last record taken.
    pub seq: u64,
    /// For a NATS partition: the detections held for the watermark, and the progress of
    /// every partition ([`crate::engine`]).
    pub stage2: Value,
}

/// Where checkpoints are kept: a local state directory, or (for a NATS partition) the NATS
/// server, so that another worker can take the partition over.
pub trait Store: Send {
    /// The last commit, if there is one.
    fn load(&mut self) -> Result<Option<Checkpoint>, String>;
    /// Makes `c` the last commit; an `Err` stops the engine (for NATS: the partition was
    /// taken over, and this worker is fenced off).
    fn commit(&mut self, c: &Checkpoint) -> Result<(), String>;
}

impl Store for StateDir {
    fn load(&mut self) -> Result<Option<Checkpoint>, String> {
        StateDir::load(self).map_err(|e| e.to_string())
    }
    fn commit(&mut self, c: &Checkpoint) -> Result<(), String> {
        StateDir::commit(self, c)
            .map_err(|e| format!("{}: checkpoint not written: {e}", self.dir.display()))
    }
}

/// The checkpoint as one JSON document, without the detector state (which the caller keeps
/// beside it).
pub fn to_json(c: &Checkpoint) -> Value {
    let files: Vec<Value> = c
        .files
        .values()
        .map(|m| {
            json!({"path": m.path, "dev": m.pos.dev, "ino": m.pos.ino,
                   "offset": m.pos.offset, "line": m.pos.line})
        })
        .collect();
    let l = &c.ledger;
    json!({
        "version": 1,
        "generation": c.generation,
        "seq": c.seq,
        "inputs": c.inputs.iter().map(|(k, f)| json!({"key": k, "format": f})).collect::<Vec<_>>(),
        "files": files,
        "sinks": c.sinks,
        "stage2": c.stage2,
        "ledger": {"records": l.records, "matched": l.matched, "unmatched": l.unmatched,
                   "rejected": l.rejected, "dropped": l.dropped, "forwarded": l.forwarded},
    })
}

/// Reads what [`to_json`] wrote; the detector state is left empty.
pub fn from_json(v: &Value) -> Result<Checkpoint, String> {
    if v["version"] != 1 {
        return Err("not version 1".into());
    }
    let generation = v["generation"].as_u64().ok_or("no generation")?;
    let mut c = Checkpoint {
        generation,
        seq: v["seq"].as_u64().unwrap_or(0),
        stage2: v["stage2"].clone(),
        ..Checkpoint::default()
    };
    for i in v["inputs"].as_array().ok_or("no inputs")? {
        let (Some(k), Some(f)) = (i["key"].as_str(), i["format"].as_str()) else {
            return Err("an input without key or format".into());
        };
        c.inputs.push((k.to_string(), f.to_string()));
    }
    for f in v["files"].as_array().ok_or("no files")? {
        let n = |k: &str| f[k].as_u64().ok_or_else(|| format!("a file without {k}"));
        let mark = FileMark {
            path: f["path"].as_str().unwrap_or("").to_string(),
            pos: FilePos {
                dev: n("dev")?,
                ino: n("ino")?,
                offset: n("offset")?,
                line: n("line")?,
            },
            closed: false,
        };
        c.files.insert((mark.pos.dev, mark.pos.ino), mark);
    }
    if let Some(s) = v["sinks"].as_object() {
        for (k, m) in s {
            c.sinks.insert(k.clone(), m.clone());
        }
    }
    let l = &v["ledger"];
    let n = |k: &str| l[k].as_u64().unwrap_or(0);
    c.ledger = Ledger {
        records: n("records"),
        matched: n("matched"),
        unmatched: n("unmatched"),
        rejected: n("rejected"),
        dropped: n("dropped"),
        forwarded: n("forwarded"),
    };
    Ok(c)
}

/// Why the state directory cannot be used.
#[derive(Debug)]
pub enum StateDirError {
    /// Another watcher holds it.
    Locked(PathBuf),
    /// I/O.
    Io(PathBuf, io::Error),
    /// The checkpoint is damaged.
    Damaged(PathBuf, String),
}

impl std::fmt::Display for StateDirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateDirError::Locked(p) => write!(
                f,
                "{}: another dwell watch uses this state directory",
                p.display()
            ),
            StateDirError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            StateDirError::Damaged(p, e) => write!(
                f,
                "{}: damaged checkpoint ({e}); move the directory aside to start afresh",
                p.display()
            ),
        }
    }
}

impl std::error::Error for StateDirError {}

/// An open, locked state directory.
pub struct StateDir {
    dir: PathBuf,
    _lock: File,
}

const NAME: &str = "checkpoint.json";

impl StateDir {
    /// Opens (creating) and locks `dir`.
    pub fn open(dir: &Path) -> Result<StateDir, StateDirError> {
        let io = |e| StateDirError::Io(dir.to_path_buf(), e);
        std::fs::create_dir_all(dir).map_err(io)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StateDirError::Locked(dir.to_path_buf()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        Ok(StateDir {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    /// The last commit, if there is one.
    pub fn load(&self) -> Result<Option<Checkpoint>, StateDirError> {
        let p = self.dir.join(NAME);
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StateDirError::Io(p, e)),
        };
        let bad = |why: &str| StateDirError::Damaged(p.clone(), why.to_string());
        let v: Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
        let mut c = from_json(&v).map_err(|e| bad(&e))?;
        let generation = c.generation;
        let det = self.dir.join(detector_name(generation));
        c.detector = std::fs::read(&det).map_err(|e| StateDirError::Io(det, e))?;
        Ok(Some(c))
    }

    /// Writes `c` as the new commit: nothing of it counts until the final rename.
    pub fn commit(&self, c: &Checkpoint) -> io::Result<()> {
        let det = self.dir.join(detector_name(c.generation));
        write_synced(&det, &c.detector)?;
        let v = to_json(c);
        let tmp = self.dir.join("checkpoint.json.tmp");
        write_synced(&tmp, v.to_string().as_bytes())?;
        std::fs::rename(&tmp, self.dir.join(NAME))?;
        File::open(&self.dir)?.sync_all()?;
        if c.generation > 0 {
            let _ = std::fs::remove_file(self.dir.join(detector_name(c.generation - 1)));
        }
        Ok(())
    }

    /// Where undeliverable alerts go.
    pub fn dead_letters(&self) -> PathBuf {
        self.dir.join("dead-letter.jsonl")
    }
}

fn detector_name(generation: u64) -> String {
    format!("detector-{generation}.bin")
}

fn write_synced(p: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = File::create(p)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_reads_back_and_a_second_watcher_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let s = StateDir::open(d.path()).unwrap();
        assert!(matches!(
            StateDir::open(d.path()),
            Err(StateDirError::Locked(_))
        ));
        assert!(s.load().unwrap().is_none());
        let mut c = Checkpoint {
            generation: 3,
            inputs: vec![("file:/x".into(), "json".into())],
            detector: b"state".to_vec(),
            ..Checkpoint::default()
        };
        c.files.insert(
            (1, 2),
            FileMark {
                path: "/x".into(),
                pos: FilePos {
                    dev: 1,
                    ino: 2,
                    offset: 10,
                    line: 3,
                },
                closed: false,
            },
        );
        c.ledger.records = 5;
        c.ledger.matched = 5;
        s.commit(&c).unwrap();
        c.generation = 4;
        s.commit(&c).unwrap();
        let back = s.load().unwrap().unwrap();
        assert_eq!(back.generation, 4);
        assert_eq!(back.inputs, c.inputs);
        assert_eq!(back.files, c.files);
        assert_eq!(back.ledger, c.ledger);
        assert_eq!(back.detector, b"state");
        // The older detector state is removed once the newer commit stands.
        assert!(!d.path().join("detector-3.bin").exists());
        std::fs::write(d.path().join(NAME), "{").unwrap();
        assert!(matches!(s.load(), Err(StateDirError::Damaged(..))));
    }
}
