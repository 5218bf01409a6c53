//! Rule loading: any text must load or be rejected with a reason, never panic or hang; rules
//! that load must compile into an engine with the built-in formats' mapping.
#![no_main]
use dwell_detect::{Engine, Mapping};
use dwell_ingest::Registry;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static MAPPING: LazyLock<Mapping> = LazyLock::new(|| {
    Mapping::from_texts(&Registry::builtin().mappings()).expect("built-in mapping")
});

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (docs, _errors) = dwell_sigma::parse_text(&text, "fuzz.yml", &Default::default());
    let set = dwell_sigma::RuleSet::from_documents(docs);
    let _ = Engine::new(set.rules, &MAPPING);
});
