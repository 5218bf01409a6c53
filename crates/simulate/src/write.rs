//! Writes each file in time order, numbering Windows events per channel as a real log does, and
//! remembers where every record that is not background landed.

use crate::SimError;
use crate::story::{Rec, Tag, Told};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

/// A record as written: its file, its 1-based line, its time, and its text.
pub(crate) struct Marked {
    pub t: i64,
    pub file: &'static str,
    pub line: usize,
    pub tag: Tag,
    pub text: String,
}

pub(crate) struct Written {
    /// Each log file and its number of lines, by path.
    pub files: BTreeMap<&'static str, usize>,
    /// The attack's and the look-alikes' records.
    pub marked: Vec<Marked>,
    /// The table snapshots (path, CSV text).
    pub snapshots: Vec<(&'static str, String)>,
}

pub(crate) fn write_all(out: &Path, told: Told) -> Result<Written, SimError> {
    let mut by_file: BTreeMap<&'static str, Vec<Rec>> = BTreeMap::new();
    for r in told.records {
        by_file.entry(r.file).or_default().push(r);
    }
    let mut written = Written {
        files: BTreeMap::new(),
        marked: Vec::new(),
        snapshots: told.snapshots,
    };
    for (file, mut recs) in by_file {
        // Stable: records of the same millisecond keep the story's order.
        recs.sort_by_key(|r| r.t);
        let mut text = String::with_capacity(recs.len() * 200);
        let mut rid: HashMap<&'static str, u64> = HashMap::new();
        for (i, r) in recs.into_iter().enumerate() {
            let line = match r.channel {
                Some(ch) => {
                    let n = rid.entry(ch).or_insert(1_000_000 + (i as u64 % 7) * 1000);
                    *n += 1;
                    r.line.replacen("{RID}", &n.to_string(), 1)
                }
                None => r.line,
            };
            text.push_str(&line);
            text.push('\n');
            if !matches!(r.tag, Tag::Background) {
                written.marked.push(Marked {
                    t: r.t,
                    file,
                    line: i + 1,
                    tag: r.tag,
                    text: line,
                });
            }
            written.files.insert(file, i + 1);
        }
        put(out, file, text.as_bytes())?;
    }
    for (file, text) in &written.snapshots {
        put(out, file, text.as_bytes())?;
    }
    Ok(written)
}

fn put(out: &Path, file: &str, bytes: &[u8]) -> Result<(), SimError> {
    let path = out.join(file);
    let io = |e| SimError::Io(path.display().to_string(), e);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut f = std::fs::File::create(&path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    Ok(())
}
