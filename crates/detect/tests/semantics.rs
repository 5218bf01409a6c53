//! Engine semantics on hand-written events: what matches, field by field, where the Sigma
//! specification and dwell's documented choices say so (docs/sigma.md).

use dwell_core::{Event, Gate, Resolver};
use dwell_detect::{Engine, Mapping};
use dwell_ingest::json::Scratch;
use dwell_ingest::{RecordCx, Registry, Stamp};

/// The log-source mapping the built-in formats bring.
fn mapping() -> Mapping {
    Mapping::from_texts(&Registry::builtin().mappings()).unwrap()
}

/// Decodes a Windows event in JSON as `dwell hunt` does, resolving names with `engine` and
/// asking its gate when one is given.
fn decode(json: &str, engine: Option<&Engine>) -> Event {
    let registry = Registry::builtin();
    let format = registry.get("evtx-json").unwrap();
    let mut ev = Event::default();
    let mut scratch = Scratch::default();
    let mut gate = |e: &Event, raw: &[u8]| engine.map_or(Gate::All, |en| en.gate(e, raw));
    let mut cx = RecordCx {
        json: &mut scratch,
        resolver: engine.map(|e| e as &dyn Resolver),
        gate: &mut gate,
    };
    format
        .decode_record(json.as_bytes(), &mut ev, &mut cx)
        .unwrap();
    ev
}

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

/// An evtx-shaped event of `channel`/`event_id` with the given EventData members (JSON text).
fn event(channel: &str, event_id: u32, data: &str) -> String {
    format!(
        r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"P"}}}},"EventID":{event_id},"Channel":"{channel}","Computer":"host1","TimeCreated":{{"#attributes":{{"SystemTime":"2024-05-01T10:00:00Z"}}}}}},"EventData":{{{data}}}}}}}"##
    )
}

/// Titles of the rules (each given as YAML) that fire on `json`, through both parsing paths
/// (full, and trimmed to the fields rules name); both must agree.
fn fired(rules: &[&str], json: &str) -> Vec<String> {
    let docs: Vec<_> = rules
        .iter()
        .flat_map(|r| {
            let (docs, errors) = dwell_sigma::parse_text(r, "t.yml", &Default::default());
            assert!(errors.is_empty(), "{errors:?}");
            docs
        })
        .collect();
    let set = dwell_sigma::RuleSet::from_documents(docs);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let (engine, _) = Engine::new(set.rules, &mapping());
    let titles = |ev: &Event| {
        let mut sc = engine.scratch();
        let mut hits = Vec::new();
        engine.scan(ev, &mut sc, &mut hits);
        hits.iter()
            .map(|&h| engine.rules[h as usize].title.clone())
            .collect::<Vec<_>>()
    };
    let full = decode(json, None);
    let a = titles(&full);
    let trimmed = decode(json, Some(&engine));
    let b = if trimmed.partial {
        Vec::new()
    } else {
        titles(&trimmed)
    };
    assert_eq!(a, b, "full and trimmed parsing disagree on {json}");
    a
}

fn rule(title: &str, logsource: &str, detection: &str) -> String {
    format!("title: {title}\nlogsource: {logsource}\ndetection:\n{detection}\n")
}

const PC: &str = "{product: windows, category: process_creation}";

#[test]
fn process_creation_runs_on_sysmon_1_and_security_4688_with_mapped_fields() {
    let r = rule(
        "cmd",
        PC,
        "  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel",
    );
    let sysmon = event(SYSMON, 1, r#""Image":"C:\\Windows\\System32\\cmd.exe""#);
    let security = event(
        "Security",
        4688,
        r#""NewProcessName":"C:\\Windows\\System32\\cmd.exe""#,
    );
    let other_id = event(SYSMON, 3, r#""Image":"C:\\Windows\\System32\\cmd.exe""#);
    let other_channel = event(
        "Application",
        1,
        r#""Image":"C:\\Windows\\System32\\cmd.exe""#,
    );
    assert_eq!(fired(&[&r], &sysmon), vec!["cmd"]);
    assert_eq!(fired(&[&r], &security), vec!["cmd"]);
    assert!(fired(&[&r], &other_id).is_empty());
    assert!(fired(&[&r], &other_channel).is_empty());
}

#[test]
fn registry_add_needs_its_event_type() {
    let r = rule(
        "add",
        "{product: windows, category: registry_add}",
        "  sel: {TargetObject|contains: 'Run'}\n  condition: sel",
    );
    let create = event(
        SYSMON,
        12,
        r#""EventType":"CreateKey","TargetObject":"HKLM\\Run""#,
    );
    let delete = event(
        SYSMON,
        12,
        r#""EventType":"DeleteKey","TargetObject":"HKLM\\Run""#,
    );
    assert_eq!(fired(&[&r], &create), vec!["add"]);
    assert!(fired(&[&r], &delete).is_empty());
}

#[test]
fn event_ids_in_the_condition_select_events() {
    let r = rule(
        "logon",
        "{product: windows, service: security}",
        "  sel: {EventID: [4624, 4625], LogonType: 3}\n  other: {EventID: 4634}\n  condition: sel or other",
    );
    let not_r = rule(
        "not 4624",
        "{product: windows, service: security}",
        "  sel: {EventID: 4624}\n  condition: not sel",
    );
    let e = |id: u32| event("Security", id, r#""LogonType":3"#);
    assert_eq!(fired(&[&r, &not_r], &e(4624)), vec!["logon"]);
    assert_eq!(fired(&[&r, &not_r], &e(4625)), vec!["logon", "not 4624"]);
    assert_eq!(fired(&[&r, &not_r], &e(4634)), vec!["logon", "not 4624"]);
    assert_eq!(fired(&[&r, &not_r], &e(4672)), vec!["not 4624"]);
}

#[test]
fn field_names_are_case_insensitive_and_system_wins() {
    let r = rule(
        "x",
        PC,
        "  sel: {commandline|contains: 'evil'}\n  condition: sel",
    );
    assert_eq!(
        fired(&[&r], &event(SYSMON, 1, r#""CommandLine":"run EVIL""#)),
        vec!["x"]
    );
    // An EventData member named like a System field never hides the System value.
    let ch = rule(
        "channel",
        "{product: windows, service: sysmon}",
        &format!("  sel: {{Channel: '{SYSMON}'}}\n  condition: sel"),
    );
    assert_eq!(
        fired(&[&ch], &event(SYSMON, 1, r#""Channel":"spoofed""#)),
        vec!["channel"]
    );
}

#[test]
fn null_empty_exists_and_neq() {
    let rules = [
        rule(
            "is null",
            PC,
            "  sel: {ParentImage: null}\n  condition: sel",
        ),
        rule("empty", PC, "  sel: {ParentImage: ''}\n  condition: sel"),
        rule(
            "exists",
            PC,
            "  sel: {ParentImage|exists: true}\n  condition: sel",
        ),
        rule(
            "absent",
            PC,
            "  sel: {ParentImage|exists: false}\n  condition: sel",
        ),
        rule("neq", PC, "  sel: {ParentImage|neq: 'x'}\n  condition: sel"),
    ];
    let refs: Vec<&str> = rules.iter().map(String::as_str).collect();
    let absent = event(SYSMON, 1, r#""Image":"a""#);
    let null = event(SYSMON, 1, r#""ParentImage":null"#);
    let empty = event(SYSMON, 1, r#""ParentImage":"""#);
    let x = event(SYSMON, 1, r#""ParentImage":"X""#);
    assert_eq!(fired(&refs, &absent), vec!["is null", "absent", "neq"]);
    assert_eq!(fired(&refs, &null), vec!["is null", "exists", "neq"]);
    assert_eq!(fired(&refs, &empty), vec!["empty", "exists", "neq"]);
    assert_eq!(fired(&refs, &x), vec!["exists"]);
}

#[test]
fn fieldref_compares_two_fields() {
    let rules = [
        rule(
            "same",
            PC,
            "  sel: {User|fieldref: ParentUser}\n  condition: sel",
        ),
        rule(
            "differs",
            PC,
            "  sel: {User|fieldref|neq: ParentUser}\n  condition: sel",
        ),
        rule(
            "contains",
            PC,
            "  sel: {CommandLine|fieldref|contains: Image}\n  condition: sel",
        ),
    ];
    let refs: Vec<&str> = rules.iter().map(String::as_str).collect();
    assert_eq!(
        fired(
            &refs,
            &event(
                SYSMON,
                1,
                r#""User":"CORP\\a","ParentUser":"corp\\A","Image":"x.exe","CommandLine":"X.EXE /c""#
            )
        ),
        vec!["same", "contains"]
    );
    assert_eq!(
        fired(&refs, &event(SYSMON, 1, r#""User":"a","ParentUser":"b""#)),
        vec!["differs"]
    );
}

#[test]
fn keywords_search_every_value() {
    let r = rule(
        "kw",
        "{product: windows}",
        "  keywords: ['sekurlsa::', 'mimikatz']\n  condition: keywords",
    );
    let all = rule(
        "kw all",
        "{product: windows}",
        "  keywords:\n    '|all': ['alpha', 'omega']\n  condition: keywords",
    );
    let refs = [r.as_str(), all.as_str()];
    assert_eq!(
        fired(
            &refs,
            &event(
                "Security",
                4688,
                r#""CommandLine":"x sekurlsa::logonpasswords""#
            )
        ),
        vec!["kw"]
    );
    assert_eq!(
        fired(
            &refs,
            &event("System", 7045, r#""ImagePath":"C:\\MimiKatz.exe""#)
        ),
        vec!["kw"]
    );
    assert_eq!(
        fired(&refs, &event("System", 7045, r#""A":"alpha","B":"omega""#)),
        vec!["kw all"]
    );
    assert!(fired(&refs, &event("System", 7045, r#""A":"alpha""#)).is_empty());
}

#[test]
fn numbers_booleans_and_arrays() {
    let rules = [
        rule(
            "port",
            "{product: windows, category: network_connection}",
            "  sel: {DestinationPort: 443}\n  condition: sel",
        ),
        rule(
            "port text",
            "{product: windows, category: network_connection}",
            "  sel: {DestinationPort|startswith: '44'}\n  condition: sel",
        ),
        rule(
            "big",
            "{product: windows, category: network_connection}",
            "  sel: {DestinationPort|gt: 1024}\n  condition: sel",
        ),
        rule(
            "initiated",
            "{product: windows, category: network_connection}",
            "  sel: {Initiated: true}\n  condition: sel",
        ),
        rule(
            "cidr",
            "{product: windows, category: network_connection}",
            "  sel: {DestinationIp|cidr: '10.0.0.0/8'}\n  condition: sel",
        ),
    ];
    let refs: Vec<&str> = rules.iter().map(String::as_str).collect();
    assert_eq!(
        fired(
            &refs,
            &event(
                SYSMON,
                3,
                r#""DestinationPort":443,"Initiated":"true","DestinationIp":"10.1.2.3""#
            )
        ),
        vec!["port", "port text", "initiated", "cidr"]
    );
    assert_eq!(
        fired(
            &refs,
            &event(
                SYSMON,
                3,
                r#""DestinationPort":"4433","Initiated":false,"DestinationIp":"11.1.2.3""#
            )
        ),
        vec!["port text", "big"]
    );
    // Unnamed Data elements: any element may match.
    let data = rule(
        "data",
        "{product: windows, service: system}",
        "  sel: {Data|contains: 'needle'}\n  condition: sel",
    );
    assert_eq!(
        fired(
            &[&data],
            &event("System", 1, r#""Data":["hay","a needle","hay"]"#)
        ),
        vec!["data"]
    );
}

#[test]
fn filters_and_conditions_combine() {
    let r = "title: base\nid: base-1\nlogsource: {product: windows, category: process_creation}\n\
             detection:\n  sel: {Image|endswith: '\\x.exe'}\n  filter_admin: {User: admin}\n  condition: sel and not 1 of filter_*\n";
    let f = "title: no svc\nlogsource: {product: windows}\nfilter:\n  rules: [base-1]\n  sel: {User: svc}\n  condition: not sel\n";
    let e = |user: &str| {
        event(
            SYSMON,
            1,
            &format!(r#""Image":"C:\\x.exe","User":"{user}""#),
        )
    };
    assert_eq!(fired(&[r, f], &e("bob")), vec!["base"]);
    assert!(fired(&[r, f], &e("admin")).is_empty());
    assert!(fired(&[r, f], &e("svc")).is_empty(), "the filter applies");
}

#[test]
fn gate_skips_events_no_rule_can_match() {
    let r = rule(
        "cmd",
        PC,
        "  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel",
    );
    let (docs, _) = dwell_sigma::parse_text(&r, "t.yml", &Default::default());
    let (engine, _) = Engine::new(dwell_sigma::RuleSet::from_documents(docs).rules, &mapping());
    let json = event("Application", 1000, r#""Data":"x""#);
    let mut gate_result = None;
    let registry = Registry::builtin();
    let mut ev = Event::default();
    let mut scratch = Scratch::default();
    let mut gate = |e: &Event, raw: &[u8]| {
        let g = engine.gate(e, raw);
        gate_result = Some(g);
        g
    };
    let mut cx = RecordCx {
        json: &mut scratch,
        resolver: Some(&engine),
        gate: &mut gate,
    };
    let format = registry.get("evtx-json").unwrap();
    format
        .decode_record(json.as_bytes(), &mut ev, &mut cx)
        .unwrap();
    assert_eq!(gate_result, Some(Gate::Skip));
    assert!(ev.partial);
    assert_eq!(ev.stream(), Some("Application"));
    assert_eq!(ev.get("Data"), None);
}

#[test]
fn json_events_without_a_system_section_keep_every_field() {
    let kw = rule(
        "kw",
        "{product: windows, service: system}",
        "  keywords: ['mimikatz']\n  condition: keywords",
    );
    let field = rule(
        "svc",
        "{product: windows, service: system}",
        "  sel: {ImagePath|contains: 'mimikatz'}\n  condition: sel",
    );
    let winlog = r#"{"@timestamp":"2024-05-01T10:00:00Z","winlog":{"channel":"System","event_id":7045,"event_data":{"ImagePath":"C:\\mimikatz.exe","ServiceName":"x"}}}"#;
    assert_eq!(fired(&[&kw, &field], winlog), vec!["kw", "svc"]);
    let flat = r#"{"Channel":"System","EventID":7045,"ImagePath":"C:\\mimikatz.exe","UtcTime":"2024-05-01 10:00:00"}"#;
    assert_eq!(fired(&[&kw, &field], flat), vec!["kw", "svc"]);
    // The gated parse keeps what output and coverage need.
    let (docs, _) = dwell_sigma::parse_text(&field, "t.yml", &Default::default());
    let (engine, _) = Engine::new(dwell_sigma::RuleSet::from_documents(docs).rules, &mapping());
    let ev = decode(winlog, Some(&engine));
    assert!(!ev.trimmed);
    let registry = Registry::builtin();
    assert_eq!(
        registry.get("evtx-json").unwrap().timestamp(&ev),
        Stamp::At(1_714_557_600_000_000_000)
    );
    assert_eq!(ev.get("ServiceName"), Some("x"));
}

#[test]
fn keyword_check_on_raw_text_sees_through_json_escapes() {
    let kw = rule(
        "viewstate",
        "{product: windows, service: application}",
        "  keywords: ['&__VIEWSTATE=']\n  condition: keywords",
    );
    let escaped = event("Application", 1, r#""Data":"x\u0026__VIEWSTATE=y""#);
    assert_eq!(fired(&[&kw], &escaped), vec!["viewstate"]);
    let kelvin = rule(
        "kiwi",
        "{product: windows, service: application}",
        "  keywords: ['kiwi legit']\n  condition: keywords",
    );
    assert_eq!(
        fired(
            &[&kelvin],
            &event("Application", 1, "\"Data\":\"\u{212A}iwi Legit\"")
        ),
        vec!["kiwi"]
    );
}

#[test]
fn empty_value_lists_never_match() {
    let rules = [
        rule("empty", PC, "  sel: {CommandLine: []}\n  condition: sel"),
        rule(
            "empty all",
            PC,
            "  sel: {CommandLine|all: []}\n  condition: sel",
        ),
    ];
    let refs: Vec<&str> = rules.iter().map(String::as_str).collect();
    assert!(fired(&refs, &event(SYSMON, 1, r#""Image":"x""#)).is_empty());
    assert!(fired(&refs, &event(SYSMON, 1, r#""CommandLine":"x""#)).is_empty());
}

/// A long value list goes through the value index (and regular expressions through their
/// literals); it must answer exactly as its values do one by one, as separate rules.
#[test]
fn long_value_lists_match_like_their_values_one_by_one() {
    let words: Vec<String> = (0..120).map(|i| format!("tool{i:03}x")).collect();
    // Each modifier with the rule value it is given for one word.
    type Value = Box<dyn Fn(&str) -> String>;
    let kinds: Vec<(&str, Value)> = vec![
        ("|contains", Box::new(|w: &str| w.to_string())),
        ("|startswith", Box::new(|w: &str| format!("c:\\{w}"))),
        ("|endswith", Box::new(|w: &str| format!("{w}.exe"))),
        ("", Box::new(|w: &str| format!("*\\{w}*"))),
        ("|re", Box::new(|w: &str| format!("{w}[0-9]+"))),
        (
            "|re|i",
            Box::new(|w: &str| format!("(?:{}|zz){{1}}\\d", w.to_uppercase())),
        ),
        ("|re", Box::new(|w: &str| format!("\\d{{2}}{w}"))),
        ("|re", Box::new(|w: &str| format!("[a-c]+{w}|^x{{0}}$"))),
        ("", Box::new(|w: &str| format!("*{}*", &w[..2]))),
    ];
    let cmds = [
        "C:\\tool000x.exe /x",
        "C:\\TOOL119X.exe 7",
        "run tool119x42",
        "run 42tool000x",
        "run abctool060x",
        "tool060x9",
        "unrelated text",
        "tool12x",
        "C:\\TOOL007X.EXE",
        "",
    ];
    for (modifier, make) in &kinds {
        let values: Vec<String> = words.iter().map(|w| format!("'{}'", make(w))).collect();
        let long = rule(
            "long",
            PC,
            &format!(
                "  sel: {{CommandLine{modifier}: [{}]}}\n  condition: sel",
                values.join(", ")
            ),
        );
        let singles: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                rule(
                    &format!("one{i}"),
                    PC,
                    &format!("  sel: {{CommandLine{modifier}: {v}}}\n  condition: sel"),
                )
            })
            .collect();
        let single_refs: Vec<&str> = singles.iter().map(String::as_str).collect();
        let mut positives = 0;
        for cmd in cmds {
            let ev = event(
                SYSMON,
                1,
                &format!("\"CommandLine\":{}", serde_json::to_string(cmd).unwrap()),
            );
            let indexed = !fired(&[&long], &ev).is_empty();
            let one_by_one = !fired(&single_refs, &ev).is_empty();
            assert_eq!(indexed, one_by_one, "{modifier} {cmd:?}");
            positives += indexed as usize;
        }
        assert!(
            positives > 0 && positives < cmds.len(),
            "{modifier}: {positives} of {}",
            cmds.len()
        );
    }
}

/// Decodes one access-log line as `dwell hunt` does.
fn access_event(line: &str) -> Event {
    let registry = Registry::builtin();
    let format = registry.get("access-log").unwrap();
    let mut ev = Event {
        format: "access-log",
        ..Event::default()
    };
    let mut scratch = Scratch::default();
    let mut gate = |_: &Event, _: &[u8]| Gate::All;
    let mut cx = RecordCx {
        json: &mut scratch,
        resolver: None,
        gate: &mut gate,
    };
    format
        .decode_record(line.as_bytes(), &mut ev, &mut cx)
        .unwrap();
    ev
}

#[test]
fn a_common_whole_value_does_not_stand_for_its_rule_in_the_prefilter() {
    // `cs-method: GET and keywords`: found by its keywords, so an ordinary GET is never
    // evaluated; and a keyword made only by two values side by side does not match.
    let r = rule(
        "ssti",
        "{category: webserver}",
        "  m: {cs-method: GET}\n  keywords: ['={{', 'freemarker.template']\n  condition: m and keywords",
    );
    let (docs, errors) = dwell_sigma::parse_text(&r, "t.yml", &Default::default());
    assert!(errors.is_empty(), "{errors:?}");
    let set = dwell_sigma::RuleSet::from_documents(docs);
    let (engine, _) = Engine::new(set.rules, &mapping());
    let mut sc = engine.scratch();
    let mut hits = Vec::new();
    let line = |target: &str| {
        format!(
            r#"192.0.2.7 - - [08/Apr/2024:19:22:41 +0000] "GET {target} HTTP/1.1" 200 5 "-" "curl/8""#
        )
    };
    engine.scan(&access_event(&line("/index.html")), &mut sc, &mut hits);
    assert!(hits.is_empty());
    assert_eq!(sc.evaluations, 0, "an ordinary GET was evaluated");
    engine.scan(&access_event(&line("/p?x={{7*7}}")), &mut sc, &mut hits);
    assert_eq!(hits.len(), 1);
    // `freemarker.` ends one value (the referer) and `template` starts the next (the user
    // agent): the prefilter, scanning the values together, lets it through; evaluation does
    // not match it.
    hits.clear();
    let spans = r#"192.0.2.7 - - [08/Apr/2024:19:22:41 +0000] "GET /a HTTP/1.1" 200 5 "http://a/freemarker." "template""#;
    let ev = access_event(spans);
    assert_eq!(
        (ev.get("cs-referer"), ev.get("cs-user-agent")),
        (Some("http://a/freemarker."), Some("template"))
    );
    let before = sc.evaluations;
    engine.scan(&ev, &mut sc, &mut hits);
    assert_eq!(
        sc.evaluations,
        before + 1,
        "the prefilter did not pass it on"
    );
    assert!(hits.is_empty(), "a keyword across two values matched");
}

/// A rule that names a dotted field makes the gate keep its own events whole, not every
/// other source's: a Windows event is still trimmed to the fields rules name. A keyword rule
/// keeps an event whole when its text may hold a keyword, and when there is no text to look in.
#[test]
fn the_gate_reads_in_full_only_what_needs_it() {
    let cloud = rule(
        "cloud",
        "{product: azure, service: activitylogs}",
        "  sel: {properties.message: 'x'}\n  condition: sel",
    );
    let cmd = rule(
        "cmd",
        PC,
        "  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel",
    );
    let kw = rule(
        "kw",
        "{product: windows, service: system}",
        "  keywords: ['mimikatz']\n  condition: keywords",
    );
    let text = format!("{cloud}---\n{cmd}---\n{kw}");
    let (docs, _) = dwell_sigma::parse_text(&text, "t.yml", &Default::default());
    let (engine, _) = Engine::new(dwell_sigma::RuleSet::from_documents(docs).rules, &mapping());
    assert!(engine.needs_paths(), "a rule names a dotted field");
    let sysmon = decode(
        &event(
            "Microsoft-Windows-Sysmon/Operational",
            1,
            r#""Image":"C:\\x.exe""#,
        ),
        None,
    );
    assert_eq!(engine.gate(&sysmon, b"{}"), Gate::Referenced);
    let system = decode(&event("System", 7045, r#""ServiceName":"a""#), None);
    assert_eq!(
        engine.gate(&system, br#"{"ServiceName":"a"}"#),
        Gate::Referenced
    );
    assert_eq!(
        engine.gate(&system, br#"{"ServiceName":"Mimikatz"}"#),
        Gate::All
    );
    assert_eq!(engine.gate(&system, b""), Gate::All);
}
