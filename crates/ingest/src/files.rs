//! Finding inputs: files and folders given on the command line (walked recursively, in sorted
//! order), standard input (`-`), or bytes in memory. Nothing is opened here; each input is
//! opened once, when it is read (see [`crate::source`]), so pipes and FIFOs lose nothing.

use crate::error::io_reason;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where an input's bytes are.
#[derive(Debug, Clone)]
pub enum Location {
    /// A file, FIFO or device, by path.
    Path(PathBuf),
    /// The process's standard input.
    Stdin,
    /// Bytes in memory (tests, fuzzing, embedders).
    Memory(Arc<[u8]>),
}

/// An input found, not yet opened.
#[derive(Debug, Clone)]
pub struct Found {
    /// Where it is.
    pub location: Location,
    /// How outputs name it (`source`).
    pub display: String,
    /// Its size on disk, when known (progress).
    pub size: Option<u64>,
}

impl Found {
    /// An input held in memory, named `name`.
    pub fn memory(name: &str, bytes: impl Into<Arc<[u8]>>) -> Found {
        let bytes = bytes.into();
        Found {
            size: Some(bytes.len() as u64),
            location: Location::Memory(bytes),
            display: name.to_string(),
        }
    }
}

/// A path that was not read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The path as given or found.
    pub path: String,
    /// Why it was not read.
    pub reason: String,
}

/// How standard input is named in outputs.
pub const STDIN_NAME: &str = "<stdin>";

/// Walks `paths`: `-` is standard input; folders are searched recursively in sorted order;
/// files, FIFOs and devices named directly are inputs. Inside folders only regular files are:
/// a FIFO there would block the hunt until someone wrote to it, and a device is not a log, so
/// both are reported and skipped, as are links to folders.
pub fn discover(paths: &[PathBuf]) -> (Vec<Found>, Vec<Skipped>) {
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            found.push(Found {
                location: Location::Stdin,
                display: STDIN_NAME.to_string(),
                size: None,
            });
            continue;
        }
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut found, &mut skipped),
            Ok(m) => found.push(Found {
                location: Location::Path(p.clone()),
                display: p.display().to_string(),
                size: m.is_file().then_some(m.len()),
            }),
            Err(e) => skipped.push(Skipped {
                path: p.display().to_string(),
                reason: io_reason(&e),
            }),
        }
    }
    (found, skipped)
}

/// What a special file is, for messages; `None` for regular files.
fn special(m: &std::fs::Metadata) -> Option<&'static str> {
    if m.is_file() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_socket() {
            return Some("a socket");
        }
        if t.is_char_device() || t.is_block_device() {
            return Some("a device");
        }
    }
    Some("not a regular file")
}

fn walk(dir: &Path, out: &mut Vec<Found>, skipped: &mut Vec<Skipped>) {
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(e) => e.filter_map(Result::ok).collect(),
        Err(e) => {
            skipped.push(Skipped {
                path: dir.display().to_string(),
                reason: io_reason(&e),
            });
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let skip = |reason: String, skipped: &mut Vec<Skipped>| {
            skipped.push(Skipped {
                path: path.display().to_string(),
                reason,
            })
        };
        let t = match e.file_type() {
            Ok(t) => t,
            Err(err) => {
                skip(io_reason(&err), skipped);
                continue;
            }
        };
        if t.is_dir() {
            walk(&path, out, skipped);
            continue;
        }
        // Links are followed to what they name.
        match std::fs::metadata(&path) {
            Err(err) => skip(io_reason(&err), skipped),
            Ok(m) if m.is_dir() => skip("symbolic link to a folder (not followed)".into(), skipped),
            Ok(m) => match special(&m) {
                Some(kind) => skip(crate::ReadError::Special(kind).to_string(), skipped),
                None => out.push(Found {
                    location: Location::Path(path.clone()),
                    display: path.display().to_string(),
                    size: Some(m.len()),
                }),
            },
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn fifos_in_folders_are_skipped_and_named_ones_kept() {
        let dir = std::env::temp_dir().join(format!("dwell-discover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.json"), "{}").unwrap();
        let fifo = dir.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        let (found, skipped) = discover(&[dir.clone(), PathBuf::from("-")]);
        let names: Vec<&str> = found.iter().map(|f| f.display.as_str()).collect();
        assert!(names[0].ends_with("sub/a.json"), "{names:?}");
        assert_eq!(names[1], STDIN_NAME);
        if made.is_ok_and(|s| s.success()) {
            assert_eq!(skipped.len(), 1, "{skipped:?}");
            assert!(skipped[0].reason.contains("FIFO"), "{skipped:?}");
            let (found, skipped) = discover(std::slice::from_ref(&fifo));
            assert_eq!((found.len(), skipped.len()), (1, 0));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
