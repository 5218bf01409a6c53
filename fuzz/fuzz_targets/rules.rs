//! Rule loading: any text must load or be rejected with a reason, never panic or hang; rules
//! that load must compile into an engine.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (docs, _errors) = dwell_sigma::parse_text(&text, "fuzz.yml", &Default::default());
    let set = dwell_sigma::RuleSet::from_documents(docs);
    let _ = dwell_detect::Engine::new(set.rules, &dwell_detect::Mapping::builtin());
});
