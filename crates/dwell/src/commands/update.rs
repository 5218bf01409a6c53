//! `dwell rules update`: a newer SigmaHQ release read from its archive or a folder (no
//! network), compared with the rule folder by `dwell_sigma::update`, and put in its place
//! in one rename, with the filters of the tuning folders checked against it.

use crate::cli::{IncidentFormat, UpdateArgs};
use crate::{Fail, Outcome};
use dwell_core::text::terminal;
use std::io::{IsTerminal, Read};
use std::path::{Component, Path, PathBuf};

/// The largest file read from a release.
const MAX_FILE: u64 = 16 << 20;
/// The most bytes read from a release in all.
const MAX_TOTAL: u64 = 1 << 30;
/// The most files.
const MAX_FILES: usize = 200_000;

/// Files of a release: relative path and content.
type Files = Vec<(String, Vec<u8>)>;

/// A path inside an archive, if it is a safe relative one (no `..`, no root).
fn safe(p: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(x) => parts.push(x.to_str()?.to_string()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn limited(mut r: impl Read, name: &str, total: &mut u64) -> Result<Vec<u8>, Fail> {
    let mut buf = Vec::new();
    (&mut r)
        .take(MAX_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Fail(format!("{name}: {e}")))?;
    if buf.len() as u64 > MAX_FILE {
        return Err(Fail(format!("{name}: larger than {} MiB", MAX_FILE >> 20)));
    }
    *total += buf.len() as u64;
    if *total > MAX_TOTAL {
        return Err(Fail(format!(
            "the release is larger than {} GiB",
            MAX_TOTAL >> 30
        )));
    }
    Ok(buf)
}

/// Every regular file under `dir`.
fn folder(dir: &Path) -> Result<Files, Fail> {
    let mut out = Vec::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| Fail(format!("cannot read {}: {e}", d.display())))?;
        for e in entries {
            let e = e.map_err(|e| Fail(format!("cannot read {}: {e}", d.display())))?;
            let p = e.path();
            let ft = e
                .file_type()
                .map_err(|e| Fail(format!("{}: {e}", p.display())))?;
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                let rel = p.strip_prefix(dir).ok().and_then(safe).ok_or_else(|| {
                    Fail(format!(
                        "{}: not a path under {}",
                        p.display(),
                        dir.display()
                    ))
                })?;
                let f =
                    std::fs::File::open(&p).map_err(|e| Fail(format!("{}: {e}", p.display())))?;
                out.push((rel, limited(f, &p.display().to_string(), &mut total)?));
                if out.len() > MAX_FILES {
                    return Err(Fail(format!("more than {MAX_FILES} files")));
                }
            }
        }
    }
    Ok(out)
}

fn zip(path: &Path) -> Result<Files, Fail> {
    let f = std::fs::File::open(path)
        .map_err(|e| Fail(format!("cannot open {}: {e}", path.display())))?;
    let mut z = ::zip::ZipArchive::new(f)
        .map_err(|e| Fail(format!("{} is not a zip archive: {e}", path.display())))?;
    let mut out = Vec::new();
    let mut total = 0;
    for i in 0..z.len() {
        let entry = z
            .by_index(i)
            .map_err(|e| Fail(format!("{}: entry {i}: {e}", path.display())))?;
        if !entry.is_file() {
            continue;
        }
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .map_err(|e| Fail(format!("{}: entry {i}: {e}", path.display())))?;
        let rel = entry
            .enclosed_name()
            .as_deref()
            .and_then(safe)
            .ok_or_else(|| {
                Fail(format!(
                    "{}: unsafe path in the archive: {}",
                    path.display(),
                    terminal(&name)
                ))
            })?;
        out.push((rel, limited(entry, &name, &mut total)?));
        if out.len() > MAX_FILES {
            return Err(Fail(format!("more than {MAX_FILES} files")));
        }
    }
    Ok(out)
}

fn tar_gz(path: &Path) -> Result<Files, Fail> {
    let f = std::fs::File::open(path)
        .map_err(|e| Fail(format!("cannot open {}: {e}", path.display())))?;
    let mut a = ::tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut out = Vec::new();
    let mut total = 0;
    let bad =
        |e: std::io::Error| Fail(format!("{} is not a readable .tar.gz: {e}", path.display()));
    for entry in a.entries().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let p = entry.path().map_err(bad)?.into_owned();
        let rel = safe(&p).ok_or_else(|| {
            Fail(format!(
                "{}: unsafe path in the archive: {}",
                path.display(),
                terminal(&p.display().to_string())
            ))
        })?;
        out.push((rel.clone(), limited(entry, &rel, &mut total)?));
        if out.len() > MAX_FILES {
            return Err(Fail(format!("more than {MAX_FILES} files")));
        }
    }
    Ok(out)
}

/// A release's files, without the one folder a source archive wraps them in
/// (`sigma-master/rules/...` is `rules/...`).
fn release(source: &Path) -> Result<Files, Fail> {
    let name = source.to_string_lossy().to_ascii_lowercase();
    let mut files = if source.is_dir() {
        folder(source)?
    } else if name.ends_with(".zip") {
        zip(source)?
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        tar_gz(source)?
    } else {
        return Err(Fail(format!(
            "{}: a release is a folder, a .zip or a .tar.gz",
            source.display()
        )));
    };
    let top = |p: &str| p.split_once('/').map(|(t, _)| t.to_string());
    if let Some(t) = files.first().and_then(|(p, _)| top(p))
        && !t.starts_with("rules")
        && files
            .iter()
            .all(|(p, _)| top(p).as_deref() == Some(t.as_str()))
    {
        for (p, _) in &mut files {
            *p = p[t.len() + 1..].to_string();
        }
    }
    files.sort();
    Ok(files)
}

fn yaml(files: &Files) -> Vec<(String, String)> {
    files
        .iter()
        .filter(|(p, _)| p.ends_with(".yml") || p.ends_with(".yaml"))
        .map(|(p, b)| (p.clone(), String::from_utf8_lossy(b).into_owned()))
        .collect()
}

/// Writes the release next to `into`, then swaps it in with renames.
fn replace(into: &Path, files: &Files) -> Result<(), Fail> {
    let parent = into
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = into
        .file_name()
        .ok_or_else(|| Fail(format!("--into {}: not a folder name", into.display())))?
        .to_string_lossy();
    let fresh = parent.join(format!(".{name}.dwell-new-{}", std::process::id()));
    let old = parent.join(format!(".{name}.dwell-old-{}", std::process::id()));
    let fail = |what: &str, p: &Path, e: std::io::Error| {
        Fail(format!("cannot {what} {}: {e}", p.display()))
    };
    let write = || -> Result<(), Fail> {
        for (rel, bytes) in files {
            let p = fresh.join(rel);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| fail("create", d, e))?;
            }
            std::fs::write(&p, bytes).map_err(|e| fail("write", &p, e))?;
        }
        Ok(())
    };
    if let Err(e) = write() {
        // Nothing half-written is left beside the folder.
        let _ = std::fs::remove_dir_all(&fresh);
        return Err(e);
    }
    if into.exists() {
        std::fs::rename(into, &old).map_err(|e| fail("move aside", into, e))?;
    }
    if let Err(e) = std::fs::rename(&fresh, into) {
        let _ = std::fs::rename(&old, into);
        return Err(fail("put in place", into, e));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// Filters in the tuning folders that name a rule the new release does not have.
fn orphans(tuning: &[PathBuf], after: &[(String, String)]) -> Result<Vec<String>, Fail> {
    let opts = dwell_sigma::LoadOptions::default();
    let mut ids = std::collections::HashSet::new();
    for (p, t) in after {
        let (docs, _) = dwell_sigma::parse_text(t, p, &opts);
        for d in docs {
            if let dwell_sigma::Document::Rule(r) = d {
                ids.extend(r.meta.id.clone());
                ids.extend(r.meta.name.clone());
            }
        }
    }
    let mut out = Vec::new();
    for dir in tuning {
        for (p, t) in yaml(&folder(dir)?) {
            let (docs, _) = dwell_sigma::parse_text(&t, &p, &opts);
            for d in docs {
                if let dwell_sigma::Document::Filter(f) = d {
                    for r in f.rules.iter().flatten() {
                        if !ids.contains(r) {
                            out.push(format!(
                                "{}: the filter \"{}\" names rule {r}, which the new release does not have",
                                dir.join(&p).display(),
                                f.meta.title
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

pub fn run(args: UpdateArgs) -> Result<Outcome, Fail> {
    let new = release(&args.source)?;
    let after = yaml(&new);
    let before = if args.into.exists() {
        yaml(&folder(&args.into)?)
    } else {
        Vec::new()
    };
    let d = dwell_sigma::update::diff(&before, &after, &dwell_sigma::LoadOptions::default());
    if d.after == 0 {
        return Err(Fail(format!(
            "{}: no Sigma rule in it; {} left as it is",
            args.source.display(),
            args.into.display()
        )));
    }
    let orphaned = orphans(&args.tuning, &after)?;
    if !args.dry_run {
        replace(&args.into, &new)?;
    }
    let json = match args.format {
        Some(IncidentFormat::Json) => true,
        Some(IncidentFormat::Table) => false,
        None => !std::io::stdout().is_terminal(),
    };
    if json {
        let mut v = serde_json::to_value(&d).map_err(|e| Fail(e.to_string()))?;
        v["tuning_orphans"] = serde_json::json!(orphaned);
        v["applied"] = serde_json::json!(!args.dry_run);
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| Fail(e.to_string()))?
        );
    } else {
        print(&d, &orphaned, &args);
    }
    for e in d.new_errors.iter().take(20) {
        eprintln!("warning: in the new release: {}", terminal(e));
    }
    for o in &orphaned {
        eprintln!("warning: {}", terminal(o));
    }
    Ok(Outcome::of(!d.new_errors.is_empty()))
}

fn print(d: &dwell_sigma::update::Diff, orphaned: &[String], args: &UpdateArgs) {
    let count = |what: &str| {
        d.changed
            .iter()
            .filter(|c| c.what.iter().any(|w| w.starts_with(what)))
            .count()
    };
    println!(
        "{} {}: {} documents before, {} after: {} added, {} removed, {} changed ({} level, {} status, {} log source, {} detection, {} moved), {} unchanged{}",
        if args.dry_run {
            "Would update"
        } else {
            "Updated"
        },
        args.into.display(),
        d.before,
        d.after,
        d.added.len(),
        d.removed.len(),
        d.changed.len(),
        count("level"),
        count("status"),
        count("logsource"),
        count("detection"),
        count("file"),
        d.unchanged,
        if d.new_errors.is_empty() {
            String::new()
        } else {
            format!("; {} problem(s) in the new files", d.new_errors.len())
        }
    );
    const SHOWN: usize = 40;
    let list = |sign: &str, items: Vec<String>| {
        for l in items.iter().take(SHOWN) {
            println!("  {sign} {}", terminal(l));
        }
        if items.len() > SHOWN {
            println!(
                "  ... and {} more (--format json lists them all)",
                items.len() - SHOWN
            );
        }
    };
    list(
        "+",
        d.added
            .iter()
            .map(|n| format!("{}  {}  ({})", n.id, n.title, n.path))
            .collect(),
    );
    list(
        "-",
        d.removed
            .iter()
            .map(|n| format!("{}  {}  ({})", n.id, n.title, n.path))
            .collect(),
    );
    list(
        "~",
        d.changed
            .iter()
            .map(|c| format!("{}  {}: {}", c.rule.id, c.rule.title, c.what.join("; ")))
            .collect(),
    );
    if !orphaned.is_empty() {
        println!(
            "  {} tuning filter(s) name rules the release no longer has (below)",
            orphaned.len()
        );
    }
}
