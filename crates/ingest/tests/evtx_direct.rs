//! The direct EVTX path (records read from their template values) against the JSON path (the
//! `evtx` crate's rendering read back), over every EVTX file in the shared data: the same
//! records, each with the same fields (names, values, kinds, sections, roles), the same times
//! and the same problems. The direct path must also be the one most records take, or this
//! would compare the JSON path with itself.

use dwell_core::{Event, Gate, Kind, Resolver, Section};
use dwell_ingest::json::Scratch;
use dwell_ingest::{Decoder, Evtx, FileSource, Gather, RecordCx, Registry, Source};
use std::path::{Path, PathBuf};

/// One record as a comparable value.
#[derive(Debug, PartialEq)]
struct Seen {
    record: Option<u64>,
    time: Option<i64>,
    partial: bool,
    roles: Vec<Option<String>>,
    fields: Vec<(String, String, String, Kind, Section)>,
}

fn seen(ev: &Event) -> Seen {
    use dwell_core::Role::*;
    Seen {
        record: ev.record_id,
        time: ev.timestamp,
        partial: ev.partial,
        roles: [Stream, Code, Host, Provider, Time, RecordId]
            .iter()
            .map(|r| ev.role(*r).map(str::to_string))
            .collect(),
        fields: ev
            .fields
            .iter()
            .map(|f| {
                (
                    ev.name(f).to_string(),
                    ev.path(f).to_string(),
                    ev.value(f).to_string(),
                    f.kind,
                    f.section,
                )
            })
            .collect(),
    }
}

/// Reads `path` with `evtx` (keeping each field's dotted path when `paths`, as when rules name
/// fields by path): its records, its problems, and how many came the direct way.
fn read(path: &Path, evtx: Evtx, paths: bool) -> (Vec<Seen>, Vec<String>, usize) {
    read_gated(path, evtx, paths, Gate::All)
}

/// The same, with the gate saying `gate` of every record.
fn read_gated(path: &Path, evtx: Evtx, paths: bool, gate: Gate) -> (Vec<Seen>, Vec<String>, usize) {
    let (found, _) = dwell_ingest::discover(&[path.to_path_buf()]);
    let mut feed = Gather::default();
    FileSource::new(found, Registry::empty().with(evtx)).run(&mut feed);
    let mut problems: Vec<String> = feed
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.place, p.reason))
        .chain(feed.failures.iter().map(|f| format!("failed: {}", f.1)))
        .collect();
    let (mut out, mut direct) = (Vec::new(), 0);
    let mut decoder = Decoder::default();
    decoder.keep_paths(paths);
    for b in &feed.batches {
        decoder.decode_gated(
            b,
            None,
            &mut |_, _| gate,
            &mut |ev, raw| {
                // The direct path hands on the record's chunk, the JSON path its rendering.
                direct += raw.starts_with(b"ElfChnk\0") as usize;
                out.push(seen(ev));
            },
            &mut |p| problems.push(format!("{}: {}", p.place, p.reason)),
        );
    }
    (out, problems, direct)
}

fn evtx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            evtx_files(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("evtx"))
        {
            out.push(p);
        }
    }
}

#[test]
fn the_direct_path_reads_every_record_as_the_json_path_does() {
    let Some(shared) = dwell_testdata::shared() else {
        return;
    };
    let mut files = Vec::new();
    evtx_files(&shared.join("data/evtx"), &mut files);
    evtx_files(&shared.join("data/sigma-regression"), &mut files);
    files.sort();
    assert!(files.len() > 400, "{} EVTX files", files.len());
    let (mut records, mut direct, mut damaged) = (0usize, 0usize, 0usize);
    let mut skipped_direct = 0usize;
    for (f, paths) in files.iter().flat_map(|f| [(f, false), (f, true)]) {
        let (fast, fast_problems, n) = read(f, Evtx::default(), paths);
        let (json, json_problems, none) = read(f, Evtx::through_json(), paths);
        assert_eq!(
            none,
            0,
            "{}: the JSON path took the direct way",
            f.display()
        );
        assert_eq!(
            fast_problems,
            json_problems,
            "{}: the problems differ",
            f.display()
        );
        assert_eq!(
            fast.len(),
            json.len(),
            "{}: record counts differ",
            f.display()
        );
        for (a, b) in fast.iter().zip(&json) {
            assert_eq!(
                a,
                b,
                "{} (paths: {paths}): record {:?} differs",
                f.display(),
                b.record
            );
        }
        if !paths {
            records += json.len();
            direct += n;
            damaged += (!json_problems.is_empty()) as usize;
            // No rule applies: both stop after System, the direct path also for records
            // whose System section alone it reads.
            let (fast, fast_problems, n) = read_gated(f, Evtx::default(), false, Gate::Skip);
            let (json, json_problems, _) = read_gated(f, Evtx::through_json(), false, Gate::Skip);
            assert_eq!(fast_problems, json_problems, "{}: skipped", f.display());
            assert_eq!(fast, json, "{}: skipped", f.display());
            assert!(fast.iter().all(|r| r.partial), "{}", f.display());
            skipped_direct += n;
        }
    }
    eprintln!(
        "{} files, {records} records, {direct} read directly ({skipped_direct} when skipped), \
         {damaged} files with problems",
        files.len()
    );
    // Records whose System section alone fits are read that far when the gate skips them.
    assert!(
        skipped_direct > direct,
        "skipped: {skipped_direct} direct, against {direct}"
    );
    // Most records are single template instances of the shapes the direct path reads.
    assert!(
        direct * 10 >= records * 9,
        "only {direct} of {records} records took the direct path"
    );
    assert!(damaged > 0, "the damaged samples reported nothing");
}

/// Names some rules use, as a rule engine would resolve them.
struct Named;

impl Resolver for Named {
    fn sym(&self, name: &str) -> Option<u32> {
        [
            "CommandLine",
            "TargetUserName",
            "Image",
            "ServiceName",
            "EventID",
            "Channel",
        ]
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .map(|i| i as u32)
    }
}

/// When the gate trims an event, the direct path keeps what rules name (and what plays a
/// role), and the record read again from what it handed on is the whole record.
#[test]
fn a_trimmed_record_reads_again_in_full() {
    let Some(shared) = dwell_testdata::shared() else {
        return;
    };
    let dir = shared.join("data/evtx/parser-samples");
    let mut files = Vec::new();
    evtx_files(&dir, &mut files);
    files.sort();
    let (mut trimmed, mut dropped) = (0usize, 0usize);
    for f in &files {
        let (full, _, _) = read(f, Evtx::default(), false);
        let (found, _) = dwell_ingest::discover(std::slice::from_ref(f));
        let mut feed = Gather::default();
        FileSource::new(found, Registry::empty().with(Evtx::default())).run(&mut feed);
        let mut decoder = Decoder::default();
        let mut k = 0;
        for b in &feed.batches {
            let format = b.format.clone();
            decoder.decode_gated(
                b,
                Some(&Named),
                &mut |_, _| Gate::Referenced,
                &mut |ev, raw| {
                    let whole = &full[k];
                    k += 1;
                    if !raw.starts_with(b"ElfChnk\0") {
                        return;
                    }
                    assert!(ev.trimmed, "{}: record {:?}", f.display(), ev.record_id);
                    trimmed += 1;
                    dropped += whole.fields.len() - ev.fields.len();
                    // What is kept is what a rule names, a role, or the System section.
                    for fl in &ev.fields {
                        let name = ev.name(fl);
                        assert!(
                            fl.section == Section::Header || Named.sym(name).is_some(),
                            "{}: record {:?} kept {name}",
                            f.display(),
                            ev.record_id
                        );
                    }
                    let mut again = Event::default();
                    let mut sc = Scratch::default();
                    let mut all = |_: &Event, _: &[u8]| Gate::All;
                    let mut cx = RecordCx {
                        json: &mut sc,
                        resolver: None,
                        gate: &mut all,
                    };
                    format
                        .redecode(raw, &mut again, &mut cx)
                        .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                    again.record_id = ev.record_id;
                    again.timestamp = ev.timestamp;
                    assert_eq!(&seen(&again), whole, "{}", f.display());
                },
                &mut |_| {},
            );
        }
        assert_eq!(k, full.len(), "{}", f.display());
    }
    assert!(
        trimmed > 10_000 && dropped > trimmed,
        "{trimmed} trimmed, {dropped} dropped"
    );
}
