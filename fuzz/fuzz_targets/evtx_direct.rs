//! The direct EVTX reader (records read from their template values): arbitrary bytes as one
//! chunk, behind a well-formed file header, read both ways. Neither panics; every record
//! both ways read has the same fields both ways, in full and when the gate skips it after
//! System; and a record the direct path trimmed reads again, from what it handed on, as it
//! reads in full.
#![no_main]
use dwell_core::{Event, Gate, Resolver};
use dwell_ingest::json::Scratch;
use dwell_ingest::{Decoder, Evtx, FileSource, Found, Gather, RecordCx, Registry, Source};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

const CHUNK: usize = 65536;

/// A file header for one chunk: what the survey and the crate need to read it.
fn file_with(chunk: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 4096];
    f[..8].copy_from_slice(b"ElfFile\0");
    f[24..32].copy_from_slice(&u64::MAX.to_le_bytes()); // next record id: no gap reported
    f[32..36].copy_from_slice(&128u32.to_le_bytes());
    f[36..38].copy_from_slice(&1u16.to_le_bytes());
    f[38..40].copy_from_slice(&3u16.to_le_bytes());
    f[40..42].copy_from_slice(&4096u16.to_le_bytes());
    f[42..44].copy_from_slice(&1u16.to_le_bytes());
    let mut c = chunk[..chunk.len().min(CHUNK)].to_vec();
    c.resize(CHUNK, 0);
    c[..8].copy_from_slice(b"ElfChnk\0");
    f.extend(c);
    f
}

/// Some names rules use, so that the gate's trimming keeps a few fields.
struct Named;

impl Resolver for Named {
    fn sym(&self, name: &str) -> Option<u32> {
        ["CommandLine", "TargetUserName", "Image", "EventID", "Channel"]
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .map(|i| i as u32)
    }
}

type Fields = Vec<(String, String, dwell_core::Kind)>;

fn fields(ev: &Event) -> Fields {
    ev.fields
        .iter()
        .map(|f| (ev.name(f).to_string(), ev.value(f).to_string(), f.kind))
        .collect()
}

/// Every record `evtx` reads, in order, with its id.
fn read(bytes: &[u8], evtx: Evtx) -> Vec<(Option<u64>, Fields)> {
    read_gated(bytes, evtx, Gate::All)
}

/// The same, with the gate saying `gate` of every record.
fn read_gated(bytes: &[u8], evtx: Evtx, gate: Gate) -> Vec<(Option<u64>, Fields)> {
    let mut feed = Gather::default();
    FileSource::new(
        vec![Found::memory("fuzz.evtx", bytes.to_vec())],
        Registry::empty().with(evtx),
    )
    .run(&mut feed);
    let mut out = Vec::new();
    let mut decoder = Decoder::default();
    for b in &feed.batches {
        decoder.decode_gated(
            b,
            None,
            &mut |_, _| gate,
            &mut |ev, _| out.push((ev.record_id, fields(ev))),
            &mut |_| {},
        );
    }
    out
}

/// The records whose id occurs once, by id.
fn unique(records: &[(Option<u64>, Fields)]) -> HashMap<u64, &Fields> {
    let mut count: HashMap<u64, usize> = HashMap::new();
    for (id, _) in records {
        *count.entry(id.unwrap_or(u64::MAX)).or_default() += 1;
    }
    records
        .iter()
        .filter_map(|(id, f)| id.filter(|i| count[i] == 1).map(|i| (i, f)))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let bytes = file_with(data);
    let direct = read(&bytes, Evtx::default());
    let json = read(&bytes, Evtx::through_json());
    let (d, j) = (unique(&direct), unique(&json));
    for (id, f) in &d {
        if let Some(g) = j.get(id) {
            assert_eq!(f, g, "record {id} differs");
        }
    }
    // Skipped by the gate: the System section, read both ways (the direct path also reads
    // that far records whose rest it does not read).
    let direct_skipped = read_gated(&bytes, Evtx::default(), Gate::Skip);
    let json_skipped = read_gated(&bytes, Evtx::through_json(), Gate::Skip);
    let (d, j) = (unique(&direct_skipped), unique(&json_skipped));
    for (id, f) in &d {
        if let Some(g) = j.get(id) {
            assert_eq!(f, g, "record {id} differs when skipped");
        }
    }
    // Trimmed by the gate, then read again in full.
    let mut feed = Gather::default();
    FileSource::new(
        vec![Found::memory("fuzz.evtx", bytes)],
        Registry::empty().with(Evtx::default()),
    )
    .run(&mut feed);
    let mut decoder = Decoder::default();
    // The same records in the same order as the full read: the gate changes fields only.
    let mut k = 0;
    for b in &feed.batches {
        let format = b.format.clone();
        decoder.decode_gated(
            b,
            Some(&Named),
            &mut |_, _| Gate::Referenced,
            &mut |ev, raw| {
                let whole = direct.get(k).map(|(_, f)| f);
                k += 1;
                if !ev.trimmed || !raw.starts_with(b"ElfChnk\0") {
                    return;
                }
                let mut again = Event::default();
                let mut sc = Scratch::default();
                let mut all = |_: &Event, _: &[u8]| Gate::All;
                let mut cx = RecordCx {
                    json: &mut sc,
                    resolver: None,
                    gate: &mut all,
                };
                if format.redecode(raw, &mut again, &mut cx).is_ok()
                    && let Some(whole) = whole
                {
                    assert_eq!(&fields(&again), whole, "record {:?} read again", ev.record_id);
                }
            },
            &mut |_| {},
        );
    }
});
