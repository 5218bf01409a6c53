//! Following files and folders as they grow, as `tail -F` does: a file is known by its device
//! and inode, not its name, so a rename rotation is read to its end under the old name while
//! the new file is read from its start; a file that shrinks was truncated and is read again
//! from the start; new files in a followed folder are picked up; compressed (rotated) files
//! are left alone. Positions come from the checkpoint, so a restart resumes where the last
//! commit left each file, even one rotated away while dwell was stopped.

use crate::chunk::{Chunk, FileMark, FilePos, Framed};
use crate::metrics::Metrics;
use crossbeam_channel::Sender;
use dwell_ingest::{Format, MAX_RECORD, Registry};
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Bytes read from a file at a time.
const READ: usize = 1 << 20;

/// How long a file rotated away is still read (a writer may not have reopened yet).
pub const ROTATED_GRACE: Duration = Duration::from_secs(3);

/// Names of compressed files, which are rotated logs: not followed.
fn compressed(name: &str) -> bool {
    [".gz", ".zst", ".bz2", ".xz", ".zip", ".lz4"]
        .iter()
        .any(|e| name.ends_with(e))
}

/// A file or folder to follow, and the format to read it as, if forced.
#[derive(Clone)]
pub struct Followed {
    /// The file or folder.
    pub path: PathBuf,
    /// `--read-as` for it.
    pub format: Option<Arc<dyn Format>>,
}

struct Tracked {
    key: String,
    path: PathBuf,
    file: File,
    dev: u64,
    ino: u64,
    /// First byte not given to the detector.
    consumed: u64,
    /// First byte not read.
    read_at: u64,
    line: u64,
    framed: Option<Framed>,
    format: Option<Arc<dyn Format>>,
    /// When it was last seen under a followed name (rotated files are read for a while).
    seen: Instant,
    unreadable: bool,
}

/// Follows files, sending their new records as chunks.
pub struct Follower {
    specs: Vec<Followed>,
    registry: Registry,
    tracked: HashMap<(u64, u64), Tracked>,
    /// Positions from the checkpoint, by (dev, ino), not yet matched to a file.
    saved: HashMap<(u64, u64), FileMark>,
    tx: Sender<Chunk>,
    metrics: Arc<Metrics>,
    /// Problems to report (place, reason), drained by the caller.
    pub notes: Vec<String>,
}

impl Follower {
    /// Follows `specs`; `saved` are the positions of the last commit.
    pub fn new(
        specs: Vec<Followed>,
        registry: Registry,
        saved: Vec<FileMark>,
        tx: Sender<Chunk>,
        metrics: Arc<Metrics>,
    ) -> Follower {
        Follower {
            specs,
            registry,
            tracked: HashMap::new(),
            saved: saved
                .into_iter()
                .map(|m| ((m.pos.dev, m.pos.ino), m))
                .collect(),
            tx,
            metrics,
            notes: Vec::new(),
        }
    }

    /// Polls until `stop`, every `every`.
    pub fn run(mut self, stop: &AtomicBool, every: Duration) {
        self.find_saved();
        while !stop.load(Ordering::Relaxed) {
            if !self.poll(stop) {
                return;
            }
            for n in self.notes.drain(..) {
                eprintln!("dwell watch: {}", dwell_core::text::terminal(&n));
            }
            std::thread::sleep(every);
        }
    }

    /// Files the checkpoint names that are no longer under a followed name (rotated while
    /// dwell was stopped): found by inode beside their old name and read to their end.
    fn find_saved(&mut self) {
        let marks: Vec<FileMark> = self.saved.values().cloned().collect();
        for m in marks {
            let old = PathBuf::from(&m.path);
            let dir = old.parent().map(Path::to_path_buf).unwrap_or_default();
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let Ok(md) = e.metadata() else { continue };
                if md.is_file() && (md.dev(), md.ino()) == (m.pos.dev, m.pos.ino) {
                    let key = key_of(&old);
                    let format = self.format_for(&old);
                    self.track(key, e.path(), md.dev(), md.ino(), format);
                    break;
                }
            }
        }
        // What is left was not found: said, and forgotten by the checkpoint too.
        let gone: Vec<FileMark> = self.saved.drain().map(|(_, m)| m).collect();
        for m in gone {
            self.notes.push(format!(
                "{}: the file read to byte {} at the last commit is gone (rotated and deleted while dwell was stopped); what it held after that byte was not read",
                m.path, m.pos.offset
            ));
            if let Some(format) = self.registry.get("json").cloned() {
                let _ = self.tx.send(Chunk {
                    file: Some(FileMark { closed: true, ..m }),
                    ..Chunk::new(String::new(), format, "line")
                });
            }
        }
    }

    fn format_for(&self, path: &Path) -> Option<Arc<dyn Format>> {
        self.specs
            .iter()
            .filter(|s| path.starts_with(&s.path))
            .find_map(|s| s.format.clone())
            .or_else(|| self.registry.override_for(path).cloned())
    }

    /// The files under the followed names now.
    fn candidates(&self) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        for s in &self.specs {
            if s.path.is_dir() {
                // Folders are followed to any depth, as hunt searches them.
                let mut names = Vec::new();
                walk(&s.path, &mut names, 0);
                names.sort();
                for p in names {
                    let k = key_of(&p);
                    out.push((p, k));
                }
            } else if s.path.is_file() {
                out.push((s.path.clone(), key_of(&s.path)));
            }
        }
        out
    }

    fn track(
        &mut self,
        key: String,
        path: PathBuf,
        dev: u64,
        ino: u64,
        format: Option<Arc<dyn Format>>,
    ) {
        let Ok(file) = File::open(&path) else {
            return;
        };
        let (consumed, line) = match self.saved.remove(&(dev, ino)) {
            Some(m) => (m.pos.offset, m.pos.line),
            None => (0, 1),
        };
        self.tracked.insert(
            (dev, ino),
            Tracked {
                key,
                path,
                file,
                dev,
                ino,
                consumed,
                read_at: consumed,
                line,
                framed: None,
                format,
                seen: Instant::now(),
                unreadable: false,
            },
        );
    }

    /// One round: new files, then new bytes of every file. False when the detector has gone.
    fn poll(&mut self, stop: &AtomicBool) -> bool {
        for (path, key) in self.candidates() {
            let Ok(md) = std::fs::metadata(&path) else {
                continue;
            };
            let id = (md.dev(), md.ino());
            match self.tracked.get_mut(&id) {
                Some(t) => {
                    t.seen = Instant::now();
                    t.path = path;
                }
                None => {
                    let format = self.format_for(&path);
                    self.track(key, path, id.0, id.1, format);
                }
            }
        }
        let mut lag = 0u64;
        let ids: Vec<(u64, u64)> = self.tracked.keys().copied().collect();
        for id in ids {
            if stop.load(Ordering::Relaxed) {
                return true;
            }
            let rotated = self.tracked[&id].seen.elapsed() > ROTATED_GRACE;
            match self.read(id, rotated) {
                Ok(l) => lag += l,
                Err(()) => return false,
            }
            let t = &self.tracked[&id];
            if rotated && t.read_at == t_size(&t.file) {
                // Read to its end and no longer written: forgotten, and so told.
                let t = self.tracked.remove(&id).unwrap();
                let mark = FileMark {
                    path: t.path.display().to_string(),
                    pos: FilePos {
                        dev: t.dev,
                        ino: t.ino,
                        offset: t.consumed,
                        line: t.line,
                    },
                    closed: true,
                };
                if let Some(f) = t.framed {
                    let c = Chunk {
                        file: Some(mark),
                        ..Chunk::new(t.key, f.format.clone(), f.unit())
                    };
                    if self.tx.send(c).is_err() {
                        return false;
                    }
                }
            }
        }
        self.metrics.lag_bytes.store(lag, Ordering::Relaxed);
        true
    }

    /// Reads what file `id` has beyond what was read; returns the bytes still unread.
    /// `Err` when the detector has gone.
    fn read(&mut self, id: (u64, u64), rotated: bool) -> Result<u64, ()> {
        let registry = &self.registry;
        let t = self.tracked.get_mut(&id).unwrap();
        let size = t_size(&t.file);
        if size < t.read_at {
            self.notes.push(format!(
                "{}: truncated (now {size} bytes, was read to {}); read again from the start",
                t.path.display(),
                t.read_at
            ));
            t.consumed = 0;
            t.read_at = 0;
            t.line = 1;
            t.framed = None;
        }
        if t.framed.is_none() {
            if size == 0 || t.unreadable {
                return Ok(0);
            }
            let mut head = vec![0; (64 << 10).min(size as usize)];
            let n = t.file.read_at(&mut head, 0).unwrap_or(0);
            head.truncate(n);
            let modified = std::fs::metadata(&t.path)
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or_else(crate::chunk::now_ns, |d| d.as_nanos() as i64);
            match Framed::open(registry, t.format.as_ref(), &head, modified, t.line) {
                Ok(f) => t.framed = Some(f),
                Err(e) => {
                    t.unreadable = true;
                    self.notes
                        .push(format!("{}: not followed: {}", t.path.display(), e.0));
                    return Ok(0);
                }
            }
        }
        let mut buf = vec![0u8; READ];
        loop {
            let n = match t.file.read_at(&mut buf, t.read_at) {
                Ok(n) => n,
                Err(e) => {
                    self.notes
                        .push(format!("{}: read failed: {e}", t.path.display()));
                    return Ok(0);
                }
            };
            // A rotated file has no more writes coming once read to its end: its last record
            // needs no terminator.
            let eof = n == 0 && rotated;
            if n == 0 && !eof {
                break;
            }
            t.read_at += n as u64;
            let f = t.framed.as_mut().unwrap();
            let (text, pieces, used) = f.push(&buf[..n], eof);
            if f.pending() > MAX_RECORD {
                f.drop_record();
                self.metrics.dropped("record over 16 MiB", 1);
                self.notes.push(format!(
                    "{}: a record at line {} is over {MAX_RECORD} bytes: dropped, counted",
                    t.path.display(),
                    f.line()
                ));
                t.consumed = t.read_at;
            }
            if !pieces.is_empty() || used > 0 {
                t.consumed += used as u64;
                t.line = f.line();
                let c = Chunk {
                    text,
                    pieces,
                    file: Some(FileMark {
                        path: t.path.display().to_string(),
                        pos: FilePos {
                            dev: t.dev,
                            ino: t.ino,
                            offset: t.consumed,
                            line: t.line,
                        },
                        closed: false,
                    }),
                    ..Chunk::new(t.key.clone(), f.format.clone(), f.unit())
                };
                if self.tx.send(c).is_err() {
                    return Err(());
                }
            }
            if n < READ {
                break;
            }
        }
        Ok(t_size(&t.file).saturating_sub(t.consumed))
    }
}

/// The files under `dir` that are followed: not hidden, not compressed.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name();
        let n = name.to_str().unwrap_or("");
        if n.starts_with('.') {
            continue;
        }
        match e.file_type() {
            Ok(t) if t.is_dir() && depth < 32 => walk(&p, out, depth + 1),
            Ok(t) if t.is_file() && !compressed(n) => out.push(p),
            _ => {}
        }
    }
}

fn t_size(f: &File) -> u64 {
    f.metadata().map_or(0, |m| m.len())
}

/// An input's key: the name it is followed under, absolute.
fn key_of(p: &Path) -> String {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    format!("file:{}", abs.display())
}
