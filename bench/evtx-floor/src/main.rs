//! The parse-only floor: the `evtx` crate rendering every record of every EVTX file under the
//! given folders as JSON text, in one process on one thread. Prints records, bytes and seconds.
//!
//! `--flat-jsonl OUT` instead writes every record as one flat JSON object per line (EventData
//! and UserData fields at the top level, System fields as `Channel`, `EventID`,
//! `Provider_Name`, ...): the best input for engines that want flat field names, such as RSigma.
//!
//! `--per-record` uses the public per-record API (`records_json_bytes`); the default is the
//! crate's fastest path, whole chunks rendered into one buffer (`chunks_json_bytes`, the one
//! `evtx_dump` uses), so the floor is as high as the crate can make it.

use evtx::{EvtxParser, ParserSettings};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut per_record = false;
    let mut flat: Option<PathBuf> = None;
    let mut roots = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--per-record" {
            per_record = true;
        } else if a == "--flat-jsonl" {
            flat = args.next().map(PathBuf::from);
        } else {
            roots.push(PathBuf::from(a));
        }
    }
    let mut files = Vec::new();
    while let Some(p) = roots.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).expect("readable folder").flatten() {
                roots.push(e.path());
            }
        } else if p.extension().is_some_and(|x| x == "evtx") {
            files.push(p);
        }
    }
    files.sort();
    if let Some(out) = flat {
        write_flat(&files, &out);
        return;
    }
    let start = Instant::now();
    let (mut records, mut bytes) = (0u64, 0u64);
    for f in &files {
        let Ok(parser) = EvtxParser::from_path(f) else {
            continue;
        };
        let mut parser = parser.with_configuration(ParserSettings::new().num_threads(1));
        if per_record {
            for r in parser.records_json_bytes().flatten() {
                records += 1;
                bytes += r.data.len() as u64;
            }
        } else {
            for chunk in parser.chunks_json_bytes(false) {
                for (_, r) in chunk.records() {
                    records += 1;
                    bytes += r.len() as u64;
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("records={records} json_bytes={bytes} seconds={secs:.3}");
}

fn write_flat(files: &[PathBuf], out: &std::path::Path) {
    use serde_json::{Map, Value};
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(out).expect("output file"));
    let mut n = 0u64;
    for f in files {
        let Ok(parser) = EvtxParser::from_path(f) else {
            continue;
        };
        let mut parser = parser.with_configuration(ParserSettings::new().num_threads(1));
        for r in parser.records_json_value().flatten() {
            let mut flat = Map::new();
            let event = &r.data["Event"];
            if let Some(system) = event["System"].as_object() {
                for (k, v) in system {
                    match v {
                        Value::Object(o) => {
                            if let Some(t) = o.get("#text") {
                                flat.insert(k.clone(), t.clone());
                            }
                            if let Some(Value::Object(attrs)) = o.get("#attributes") {
                                for (a, av) in attrs {
                                    flat.insert(format!("{k}_{a}"), av.clone());
                                }
                            }
                        }
                        other => {
                            flat.insert(k.clone(), other.clone());
                        }
                    }
                }
            }
            for part in ["EventData", "UserData"] {
                leaves(&event[part], &mut flat);
            }
            serde_json::to_writer(&mut w, &Value::Object(flat)).expect("write");
            w.write_all(b"\n").expect("write");
            n += 1;
        }
    }
    w.flush().expect("write");
    println!("records={n}");
}

/// Copies the leaves of `v` into `out` under their own (space-free) names.
fn leaves(v: &serde_json::Value, out: &mut serde_json::Map<String, serde_json::Value>) {
    if let serde_json::Value::Object(o) = v {
        for (k, x) in o {
            if k == "#attributes" {
                continue;
            }
            match x {
                serde_json::Value::Object(_) => leaves(x, out),
                other => {
                    out.insert(k.replace(' ', ""), other.clone());
                }
            }
        }
    }
}
