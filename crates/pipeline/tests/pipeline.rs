//! The pipeline in-process, without the binary: orderings and sink sets that must not change
//! what is found, an observer plugged in from outside, and a log format registered here, in
//! this file only, that the pipeline then reads like any built-in one.

use dwell_core::{Entities, Event, Kind, Observer, Place, Record, Role, RoleNames, Section, Tap};
use dwell_detect::{Detection, Detector, Mapping, Selection};
use dwell_ingest::framing::{Framer, LineFramer};
use dwell_ingest::{
    DecodeError, FileSource, Fit, Format, Found, Head, Layout, RecordCx, Registry, Stamp, discover,
};
use dwell_pipeline::{Collect, Options, Ordering, Pipeline, SortSpill, Watermark};
use dwell_testdata::shared;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering as Atomic};

fn detector(rule_paths: &[PathBuf], registry: &Registry) -> Detector {
    let set = dwell_sigma::load_paths(rule_paths, &Default::default());
    let mapping = Mapping::from_texts(&registry.mappings()).unwrap();
    Detector::build(
        Selection::default().apply(set.rules, set.correlations),
        &mapping,
    )
}

/// What a detection says, for comparing runs: time, rule, input, record, matched fields, event.
type Facts = (Option<i64>, u32, u32, u64, Vec<(String, String)>, String);

fn facts(d: &Detection) -> Facts {
    (
        d.time,
        d.rule,
        d.input,
        d.record,
        d.matched.clone(),
        d.event.to_json(),
    )
}

fn hunt(
    detector: &mut Detector,
    paths: &[PathBuf],
    registry: &Registry,
    ordering: Box<dyn Ordering>,
    threads: usize,
    sinks: usize,
) -> Vec<Vec<Detection>> {
    let (found, skipped) = discover(paths);
    assert!(!found.is_empty(), "{skipped:?}");
    let mut source = FileSource::new(found, registry.clone());
    let mut collected: Vec<Collect> = (0..sinks).map(|_| Collect::default()).collect();
    let mut refs: Vec<&mut dyn dwell_pipeline::Sink> = collected
        .iter_mut()
        .map(|c| c as &mut dyn dwell_pipeline::Sink)
        .collect();
    Pipeline::new(
        detector,
        Options {
            threads,
            dedup: false,
            parse_only: false,
            window: Default::default(),
        },
    )
    .run(&mut source, ordering, &mut refs)
    .unwrap();
    collected.into_iter().map(|c| c.detections).collect()
}

#[test]
fn orderings_threads_and_sink_sets_do_not_change_what_is_found() {
    let Some(shared) = shared() else { return };
    let registry = Registry::builtin();
    let rules = [shared.join("data/sigma/rules")];
    let logs = [
        shared.join("data/evtx/attack-samples/Lateral Movement"),
        shared.join("data/evtx/parser-samples/security.evtx"),
    ];
    let mut d = detector(&rules, &registry);
    let base = hunt(
        &mut d,
        &logs,
        &registry,
        Box::new(SortSpill::new(1 << 30)),
        1,
        1,
    )
    .remove(0);
    assert!(base.len() > 50, "{} detections", base.len());
    let keys: Vec<_> = base.iter().map(Detection::sort_key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "in time order");
    let expected: Vec<_> = base.iter().map(facts).collect();
    let runs: Vec<(&str, Box<dyn Ordering>, usize, usize)> = vec![
        ("spilling sort", Box::new(SortSpill::new(16 << 10)), 2, 1),
        ("watermark", Box::new(Watermark::new(i64::MAX)), 2, 1),
        ("two sinks", Box::new(SortSpill::new(1 << 30)), 2, 2),
    ];
    for (name, ordering, threads, sinks) in runs {
        let mut d = detector(&rules, &registry);
        for got in hunt(&mut d, &logs, &registry, ordering, threads, sinks) {
            let got: Vec<_> = got.iter().map(facts).collect();
            assert_eq!(got, expected, "{name}");
        }
    }
}

/// Counts the events an observer was shown, from every worker thread.
#[derive(Default)]
struct Counter {
    seen: AtomicU64,
    streams: Mutex<Vec<String>>,
}

struct CounterTap<'a> {
    owner: &'a Counter,
    n: u64,
}

impl Observer for Counter {
    fn tap(&self) -> Box<dyn Tap + '_> {
        Box::new(CounterTap { owner: self, n: 0 })
    }
}

impl Tap for CounterTap<'_> {
    fn wants(&self, ev: &Event) -> bool {
        ev.stream() == Some("kv")
    }
    fn event(&mut self, ev: &Event, _: Place) {
        self.n += 1;
        let mut s = self.owner.streams.lock().unwrap();
        if !s.iter().any(|x| Some(x.as_str()) == ev.stream()) {
            s.push(ev.stream().unwrap_or("").to_string());
        }
    }
    fn finish(self: Box<Self>) {
        self.owner.seen.fetch_add(self.n, Atomic::Relaxed);
    }
}

/// A log format defined here and nowhere else: `key=value` pairs separated by spaces, one
/// record per line, with `ts=` the time and `host=` the host. Its events feed the Sigma log
/// source `product: kvtest`.
struct KeyValue;

const KV_ROLES: RoleNames = RoleNames::new(&[("host", Role::Host), ("ts", Role::Time)]);

impl Format for KeyValue {
    fn name(&self) -> &'static str {
        "kv"
    }
    fn describe(&self) -> &'static str {
        "key=value lines"
    }
    fn recognise(&self, head: &Head<'_>) -> Option<Fit> {
        let first = head.bytes.split(|b| *b == b'\n').next()?;
        let text = std::str::from_utf8(first).ok()?;
        let pairs = text.split(' ').filter(|p| !p.is_empty());
        pairs
            .clone()
            .all(|p| p.split_once('=').is_some_and(|(k, _)| !k.is_empty()))
            .then_some(Fit::Shape)
            .filter(|_| pairs.count() >= 2)
    }
    fn layout(&self) -> Layout {
        Layout::Stream(|| Box::new(LineFramer::default()) as Box<dyn Framer>)
    }
    fn decode_record(
        &self,
        raw: &[u8],
        ev: &mut Event,
        _: &mut RecordCx<'_>,
    ) -> Result<(), DecodeError> {
        let text = std::str::from_utf8(raw).map_err(|e| DecodeError {
            offset: e.valid_up_to(),
            message: "not UTF-8".into(),
        })?;
        let stream = ev.push("stream", "stream", "kv", Kind::Str, Section::Header);
        ev.set_role(Role::Stream, stream);
        for (offset, pair) in text.split(' ').scan(0, |at, p| {
            let here = *at;
            *at += p.len() + 1;
            Some((here, p))
        }) {
            if pair.is_empty() {
                continue;
            }
            let Some((k, v)) = pair.split_once('=') else {
                return Err(DecodeError {
                    offset,
                    message: format!("'{pair}' is not key=value"),
                });
            };
            let i = ev.push(k, k, v, Kind::Str, Section::Data);
            if let Some(r) = KV_ROLES.of(k) {
                ev.set_role(r, i);
            }
        }
        Ok(())
    }
    fn timestamp(&self, ev: &Event) -> Stamp {
        match ev.role(Role::Time).map(dwell_core::time::parse_checked) {
            None => Stamp::Missing,
            Some(Ok(t)) => Stamp::At(t),
            Some(Err(why)) => Stamp::Bad {
                field: "ts".into(),
                value: ev.role(Role::Time).unwrap_or("").into(),
                why,
            },
        }
    }
    fn mapping(&self) -> &'static str {
        "sources:\n  - logsource: {product: kvtest}\n    format: kv\n"
    }
    fn entities(&self, record: &Record, host: &str, out: &mut Entities) {
        out.host = dwell_core::entity::host(host);
        out.account = record
            .get("user")
            .and_then(|u| dwell_core::entity::account(u, None));
    }
}

#[test]
fn a_format_registered_here_is_read_like_a_built_in_one() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("kv.yml");
    std::fs::write(
        &rule,
        "title: Admin from outside\nid: 77777777-0000-0000-0000-000000000001\nlogsource: {product: kvtest}\ndetection:\n  sel: {user: admin, src|cidr: 203.0.113.0/24}\n  condition: sel\n",
    )
    .unwrap();
    let log = "ts=2024-01-01T00:00:00Z host=web01 user=admin src=203.0.113.9\n\
               ts=2024-01-01T00:00:05Z host=web01 user=alice src=203.0.113.9\n\
               ts=2024-01-01T00:00:09Z host=web02 user=admin src=10.0.0.1\n\
               this line is not key value\n\
               ts=9999-01-01T00:00:00Z host=web03 user=admin src=203.0.113.77\n";
    let registry = Registry::builtin().with(KeyValue);
    let mut d = detector(&[rule], &registry);
    assert!(
        d.unmapped.is_empty(),
        "the format's mapping routes the rule"
    );
    let counter = Counter::default();
    let mut found = Collect::default();
    let mut source = FileSource::new(
        vec![Found::memory("access.kv", log.as_bytes().to_vec())],
        registry,
    );
    let stats = Pipeline::new(&mut d, Options::default())
        .observe(&counter)
        .run(
            &mut source,
            Box::new(SortSpill::new(1 << 20)),
            &mut [&mut found],
        )
        .unwrap();
    assert_eq!(stats.inputs[0].format.as_ref().unwrap().name(), "kv");
    assert_eq!(stats.events, 4, "the bad line is a problem, not an event");
    assert_eq!(
        stats.per_input[0].problems, 2,
        "{:?}",
        stats.per_input[0].samples
    );
    assert!(
        stats.per_input[0]
            .samples
            .iter()
            .any(|s| s.starts_with("line 4: 'this' is not key=value"))
    );
    assert!(
        stats.per_input[0]
            .samples
            .iter()
            .any(|s| s.starts_with("line 5: time field ts"))
    );
    let hosts: Vec<&str> = found.detections.iter().map(|d| d.host.as_str()).collect();
    assert_eq!(hosts, ["web01", "web03"], "undated last");
    assert_eq!(
        found.detections[0].time,
        dwell_core::time::parse("2024-01-01T00:00:00Z")
    );
    assert_eq!(found.detections[1].time, None);
    assert_eq!(counter.seen.load(Atomic::Relaxed), 4);
    assert_eq!(*counter.streams.lock().unwrap(), ["kv"]);
    // Without the registration the same bytes are not a log.
    let mut d = detector(&[dir.path().join("kv.yml")], &Registry::builtin());
    let mut source = FileSource::new(
        vec![Found::memory("access.kv", log.as_bytes().to_vec())],
        Registry::builtin(),
    );
    let stats = Pipeline::new(&mut d, Options::default())
        .run(
            &mut source,
            Box::new(SortSpill::new(1 << 20)),
            &mut [&mut Collect::default()],
        )
        .unwrap();
    assert!(
        stats.per_input[0]
            .failed
            .as_deref()
            .unwrap()
            .contains("not a log")
    );
}
