//! Every log format on arbitrary bytes: each input is read as if every built-in format had
//! claimed it (recognition is skipped, so no input is spent on it), through the same source,
//! framing, opening and decoding `dwell hunt` uses, and must never panic; and recognition
//! itself runs over the whole registry.
#![no_main]
use dwell_core::{Entities, Event, Record};
use dwell_ingest::{
    DecodeError, Decoder, FileSource, Fit, Format, Found, Gather, Head, Hooks, Layout, Opening,
    RecordCx, Registry, Source, Stamp, Unit,
};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

/// A format that claims every input and otherwise is the format it wraps.
struct Forced(Arc<dyn Format>);

impl Format for Forced {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn describe(&self) -> &'static str {
        self.0.describe()
    }
    fn recognise(&self, _: &Head<'_>) -> Option<Fit> {
        Some(Fit::Signature)
    }
    fn layout(&self) -> Layout {
        self.0.layout()
    }
    fn plan(
        &self,
        data: &dwell_ingest::Blocks,
        problem: &mut dyn FnMut(String, String),
    ) -> Result<Vec<dwell_ingest::Unit>, dwell_ingest::ReadError> {
        self.0.plan(data, problem)
    }
    fn decode_record(
        &self,
        raw: &[u8],
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
    ) -> Result<(), DecodeError> {
        self.0.decode_record(raw, ev, cx)
    }
    fn decode(
        &self,
        unit: &Unit,
        input: u32,
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
        hooks: &mut Hooks<'_>,
    ) {
        self.0.decode(unit, input, ev, cx, hooks)
    }
    fn timestamp(&self, ev: &Event) -> Stamp {
        self.0.timestamp(ev)
    }
    fn open(&self, o: &Opening<'_>) -> Result<Option<Arc<dyn Format>>, String> {
        self.0.open(o)
    }
    fn mapping(&self) -> &'static str {
        ""
    }
    fn entities(&self, r: &Record, host: &str, out: &mut Entities) {
        self.0.entities(r, host, out)
    }
}

fuzz_target!(|data: &[u8]| {
    let all = Registry::builtin();
    let mut formats: Vec<Arc<dyn Format>> = all.iter().cloned().collect();
    formats.retain(|f| f.name() != "evtx"); // the `evtx` target's
    let mut runs: Vec<Registry> = formats
        .into_iter()
        .map(|f| Registry::empty().with(Forced(f)))
        .collect();
    runs.push(all);
    for registry in runs {
        let mut feed = Gather::default();
        FileSource::new(vec![Found::memory("fuzz", data)], registry).run(&mut feed);
        let mut decoder = Decoder::default();
        for b in &feed.batches {
            decoder.decode(
                b,
                &mut |ev| {
                    let record = ev.to_record();
                    let _ = record.to_json();
                    let mut entities = Entities::default();
                    b.format.entities(&record, ev.host().unwrap_or(""), &mut entities);
                },
                &mut |_| {},
            );
        }
    }
});
