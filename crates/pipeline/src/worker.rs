//! One worker thread: decodes batches with their format, counts what it sees, shows events to
//! the observers' taps, runs the rules, and turns hits into detections.

use crate::problems::ProblemLog;
use crossbeam_channel::{Receiver, Sender};
use dwell_core::{Event, Gate, Observer, Place, Problem, Role, Tap};
use dwell_detect::{Detection, Detector, Engine, Scratch};
use dwell_ingest::json::Scratch as JsonScratch;
use dwell_ingest::{Batch, Decoder, RecordCx};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What every worker shares.
pub(crate) struct WorkerCx<'a> {
    pub(crate) detector: &'a Detector,
    pub(crate) observers: &'a [&'a dyn Observer],
    pub(crate) inputs: usize,
    pub(crate) log: &'a ProblemLog<'a>,
    pub(crate) events: &'a AtomicU64,
    pub(crate) parse_only: bool,
    pub(crate) window: crate::Window,
}

/// Per-input counters a worker keeps.
#[derive(Default, Clone)]
pub(crate) struct InputAcc {
    pub(crate) events: u64,
    pub(crate) outside: u64,
    pub(crate) first: Option<i64>,
    pub(crate) last: Option<i64>,
    pub(crate) streams: HashMap<String, u64>,
}

/// What a worker hands back when its batches run out.
pub(crate) struct WorkerOut {
    pub(crate) inputs: Vec<InputAcc>,
    pub(crate) fired: Vec<u64>,
    pub(crate) bucket_events: Vec<u64>,
}

/// A worker's reusable state.
pub(crate) struct State<'a> {
    cx: &'a WorkerCx<'a>,
    decoder: Decoder,
    sc: Scratch,
    hits: Vec<u32>,
    acc: Vec<InputAcc>,
    fired: Vec<u64>,
    pub(crate) out: Vec<Detection>,
    taps: Vec<Box<dyn Tap + 'a>>,
    /// A second event, decoded in full, for events that hit after being trimmed.
    full: Event,
    full_scratch: JsonScratch,
    /// The stream of the previous event, to skip a hash lookup on runs of one stream.
    last_stream: String,
    run: u64,
}

pub(crate) fn run(
    cx: &WorkerCx<'_>,
    batches: Receiver<Batch>,
    dets: Sender<Vec<Detection>>,
) -> WorkerOut {
    let mut st = State::assemble(cx, Parts::new(&cx.detector.engine, cx.inputs));
    for batch in batches {
        st.one_batch(&batch);
        if !st.out.is_empty() && dets.send(std::mem::take(&mut st.out)).is_err() {
            break;
        }
    }
    for t in std::mem::take(&mut st.taps) {
        t.finish();
    }
    let mut p = st.disassemble();
    WorkerOut {
        inputs: p.acc,
        fired: p.fired,
        bucket_events: std::mem::take(&mut p.sc.bucket_events),
    }
}

/// A worker's buffers and counters without what it borrows: kept by a live run
/// ([`crate::Live`]) between batches, which builds a [`State`] around them for each one.
pub(crate) struct Parts {
    decoder: Decoder,
    sc: Scratch,
    hits: Vec<u32>,
    pub(crate) acc: Vec<InputAcc>,
    pub(crate) fired: Vec<u64>,
    pub(crate) out: Vec<Detection>,
    full: Event,
    full_scratch: JsonScratch,
}

impl Parts {
    pub(crate) fn new(engine: &Engine, inputs: usize) -> Parts {
        Parts {
            decoder: new_decoder(engine),
            sc: engine.scratch(),
            hits: Vec::new(),
            acc: vec![InputAcc::default(); inputs],
            fired: vec![0; engine.rules.len()],
            out: Vec::new(),
            full: Event::default(),
            full_scratch: JsonScratch::default(),
        }
    }
}

fn new_decoder(engine: &Engine) -> Decoder {
    let mut d = Decoder::default();
    d.keep_paths(engine.needs_paths());
    d
}

impl<'a> State<'a> {
    /// A worker of `cx` with `p`'s buffers; the observers' taps are opened.
    pub(crate) fn assemble(cx: &'a WorkerCx<'a>, mut p: Parts) -> State<'a> {
        if p.acc.len() < cx.inputs {
            p.acc.resize(cx.inputs, InputAcc::default());
        }
        State {
            cx,
            decoder: p.decoder,
            sc: p.sc,
            hits: p.hits,
            acc: p.acc,
            fired: p.fired,
            out: p.out,
            taps: cx.observers.iter().map(|o| o.tap()).collect(),
            full: p.full,
            full_scratch: p.full_scratch,
            last_stream: String::new(),
            run: 0,
        }
    }

    /// The buffers back, for the next [`State::assemble`].
    pub(crate) fn disassemble(self) -> Parts {
        Parts {
            decoder: self.decoder,
            sc: self.sc,
            hits: self.hits,
            acc: self.acc,
            fired: self.fired,
            out: self.out,
            full: self.full,
            full_scratch: self.full_scratch,
        }
    }

    /// Decodes, counts and matches one batch: its detections are added to `out`.
    pub(crate) fn one_batch(&mut self, batch: &Batch) -> u64 {
        let input = batch.input;
        let n = self.batch(batch);
        self.flush_stream(input);
        self.acc[input as usize].events += n;
        self.cx.events.fetch_add(n, Ordering::Relaxed);
        n
    }

    /// Decodes and matches one batch; returns the events seen. A bug costs this batch,
    /// reported, not the run.
    fn batch(&mut self, batch: &Batch) -> u64 {
        let mut n = 0u64;
        let cx = self.cx;
        let engine = &cx.detector.engine;
        // The gate asks the taps whether they want an event; the event callback then shows
        // it to them. The two never run at once, which the cell checks.
        let taps = RefCell::new(std::mem::take(&mut self.taps));
        let mut decoder = std::mem::take(&mut self.decoder);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decoder.decode_gated(
                batch,
                Some(engine),
                &mut |ev: &Event, raw: &[u8]| {
                    // What an observer reads is parsed in full even when no rule wants it.
                    if taps.borrow().iter().any(|t| t.wants(ev)) {
                        return Gate::All;
                    }
                    engine.gate(ev, raw)
                },
                &mut |ev: &Event, raw: &[u8]| {
                    n += 1;
                    self.event(batch, ev, raw, &mut taps.borrow_mut());
                },
                &mut |p| cx.log.problem(p),
            );
        }));
        self.decoder = decoder;
        self.taps = taps.into_inner();
        if outcome.is_err() {
            cx.log.problem(Problem {
                input: batch.input,
                place: "a batch of records".into(),
                reason: "internal error while reading it (please report it); the rest of the input is still read"
                    .into(),
            });
            self.decoder = new_decoder(engine);
            let seen = std::mem::take(&mut self.sc.bucket_events);
            self.sc = engine.scratch();
            self.sc.bucket_events = seen;
            self.full_scratch = JsonScratch::default();
        }
        n
    }

    fn flush_stream(&mut self, input: u32) {
        if self.run > 0 {
            let a = &mut self.acc[input as usize];
            *a.streams.entry(self.last_stream.clone()).or_default() += self.run;
        }
        self.last_stream.clear();
        self.run = 0;
    }

    fn event(&mut self, batch: &Batch, ev: &Event, raw: &[u8], taps: &mut [Box<dyn Tap + 'a>]) {
        let input = batch.input;
        let stream = ev.stream().unwrap_or("(none)");
        if stream == self.last_stream {
            self.run += 1;
        } else {
            self.flush_stream(input);
            self.last_stream.push_str(stream);
            self.run = 1;
        }
        let a = &mut self.acc[input as usize];
        if let Some(t) = ev.timestamp {
            a.first = Some(a.first.map_or(t, |f| f.min(t)));
            a.last = Some(a.last.map_or(t, |l| l.max(t)));
        }
        if ev.partial {
            return;
        }
        if !self.cx.window.admits(ev.timestamp) {
            a.outside += 1;
            return;
        }
        let at = Place {
            input,
            record: ev.record_id.unwrap_or(ev.line),
        };
        for t in taps.iter_mut() {
            if t.wants(ev) {
                t.event(ev, at);
            }
        }
        let engine = &self.cx.detector.engine;
        if self.cx.parse_only {
            engine.route(ev, &mut self.sc);
            return;
        }
        engine.scan(ev, &mut self.sc, &mut self.hits);
        if self.hits.is_empty() {
            return;
        }
        // Output shows the whole event: decode a trimmed one again, in full (the same bytes
        // decoded once already, so this does not fail; if it did, the trimmed event would
        // still be reported).
        let full = if ev.trimmed && self.redecode(batch, ev, raw) {
            &self.full
        } else {
            ev
        };
        let hits = std::mem::take(&mut self.hits);
        detections(
            self.cx.detector,
            full,
            &hits,
            input,
            &mut self.sc,
            &mut self.fired,
            &mut self.out,
        );
        self.hits = hits;
    }

    fn redecode(&mut self, batch: &Batch, ev: &Event, raw: &[u8]) -> bool {
        self.full.clear();
        self.full.format = ev.format;
        let mut all = |_: &Event, _: &[u8]| Gate::All;
        let mut cx = RecordCx {
            json: &mut self.full_scratch,
            resolver: None,
            gate: &mut all,
        };
        if batch.format.redecode(raw, &mut self.full, &mut cx).is_err() {
            return false;
        }
        self.full.timestamp = ev.timestamp;
        self.full.record_id = ev.record_id;
        self.full.line = ev.line;
        true
    }
}

/// The detections of rules `hits` on `ev`.
fn detections(
    detector: &Detector,
    ev: &Event,
    hits: &[u32],
    input: u32,
    sc: &mut Scratch,
    fired: &mut [u64],
    out: &mut Vec<Detection>,
) {
    let host = ev.host().unwrap_or("").to_string();
    let stream = ev.stream().unwrap_or("").to_string();
    let provider = ev.provider().unwrap_or("").to_string();
    let record = Arc::new(ev.to_record());
    let ident = ev
        .role(Role::RecordId)
        .map(str::to_string)
        .or_else(|| ev.record_id.map(|r| r.to_string()));
    for &r in hits {
        fired[r as usize] += 1;
        out.push(Detection {
            time: ev.timestamp,
            rule: r,
            input,
            record: ev.record_id.unwrap_or(ev.line),
            host: host.clone(),
            stream: stream.clone(),
            code: ev.code(),
            provider: provider.clone(),
            matched: detector.engine.explain(r, ev, sc),
            event: record.clone(),
            ident: ident.clone(),
            captured: detector.needs[r as usize]
                .iter()
                .flatten()
                .map(|f| (f.clone(), ev.get_ci(f).map(str::to_string)))
                .collect(),
            correlation: None,
        });
    }
}
