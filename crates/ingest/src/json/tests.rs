//! Tests of the flattening parser.

mod shapes {
    use super::super::*;
    use crate::formats::windows;
    use dwell_core::{Event, Kind, Section};

    fn flat(json: &str) -> Event {
        let mut ev = Event::default();
        let mut sc = Scratch {
            keep_paths: true,
            roles: windows::ROLES,
            ..Scratch::default()
        };
        flatten(json.as_bytes(), &mut ev, &mut sc).unwrap();
        ev
    }

    #[test]
    fn paths_are_kept_only_on_request() {
        let mut ev = Event::default();
        let json = br#"{"Event":{"EventData":{"CommandLine":"x"}},"a":{"b":1}}"#;
        flatten(json, &mut ev, &mut Scratch::default()).unwrap();
        let cl = ev
            .fields
            .iter()
            .find(|f| ev.name(f) == "CommandLine")
            .unwrap();
        assert_eq!(ev.path(cl), "CommandLine");
        assert_eq!(ev.get("a.b"), Some("1"));
    }

    #[test]
    fn evtx_shape_is_flattened_to_sigma_names() {
        let ev = flat(
            r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"G"}},
            "EventID":1,"TimeCreated":{"#attributes":{"SystemTime":"2025-11-27T07:40:10.165324Z"}},"Channel":"Microsoft-Windows-Sysmon/Operational",
            "Computer":"host1","Correlation":null,"Security":{"#attributes":{"UserID":"S-1-5-18"}}},
            "EventData":{"CommandLine":"cmd.exe /c \"x\\y\"","ProcessId":4460,"Threat Name":"Evil"}}}"##,
        );
        assert_eq!(ev.get("Provider_Name"), Some("Microsoft-Windows-Sysmon"));
        assert_eq!(ev.get("EventID"), Some("1"));
        assert_eq!(
            ev.get("TimeCreated_SystemTime"),
            Some("2025-11-27T07:40:10.165324Z")
        );
        assert_eq!(ev.get("Security_UserID"), Some("S-1-5-18"));
        assert_eq!(ev.get("CommandLine"), Some(r##"cmd.exe /c "x\y""##));
        assert_eq!(ev.get("ThreatName"), Some("Evil"));
        assert_eq!(ev.get("Correlation"), None);
        assert!(
            ev.fields
                .iter()
                .any(|f| ev.name(f) == "Correlation" && f.kind == Kind::Null)
        );
        let cl = ev
            .fields
            .iter()
            .find(|f| ev.name(f) == "CommandLine")
            .unwrap();
        assert_eq!(ev.path(cl), "Event.EventData.CommandLine");
        assert_eq!(cl.section, Section::Data);
        let pid = ev
            .fields
            .iter()
            .find(|f| ev.name(f) == "ProcessId")
            .unwrap();
        assert_eq!(pid.kind, Kind::Num);
        assert!(!ev.fields.iter().any(|f| ev.name(f) == "xmlns"));
        assert_eq!(ev.code(), Some(1));
        assert_eq!(ev.stream(), Some("Microsoft-Windows-Sysmon/Operational"));
    }

    #[test]
    fn event_id_with_qualifiers_and_userdata() {
        let ev = flat(
            r##"{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7045}},
            "UserData":{"Operation_ClientFailure":{"#attributes":{"xmlns":"u"},"Operation":"Start"}}}}"##,
        );
        assert_eq!(ev.get("EventID"), Some("7045"));
        assert_eq!(ev.get("EventID_Qualifiers"), Some("16384"));
        assert_eq!(ev.get("Operation"), Some("Start"));
    }

    #[test]
    fn velociraptor_event_ids_are_the_element_value() {
        // Velociraptor's (Velocidex evtx) rendering of a System record.
        let ev = flat(
            r##"{"System":{"Channel":"System","Computer":"WIN-TIP3N90KK74","EventID":{"Qualifiers":"32768","Value":"6011"},"EventRecordID":"1","TimeCreated":{"SystemTime":"2018-01-03T06:28:19Z"}},"EventData":{"Data":["a"]}}"##,
        );
        assert_eq!(ev.get("EventID"), Some("6011"));
        assert_eq!(ev.code(), Some(6011));
        assert_eq!(ev.get("EventID_Qualifiers"), Some("32768"));
        assert_eq!(
            ev.role(dwell_core::Role::Time),
            Some("2018-01-03T06:28:19Z")
        );
    }

    #[test]
    fn unnamed_data_array_keeps_every_element() {
        let ev = flat(r##"{"Event":{"EventData":{"Data":["a","b"]}}}"##);
        let data: Vec<&str> = ev
            .fields
            .iter()
            .filter(|f| ev.name(f) == "Data")
            .map(|f| ev.value(f))
            .collect();
        assert_eq!(data, vec!["a", "b"]);
    }

    #[test]
    fn winlogbeat_and_generic_shapes() {
        let ev = flat(
            r##"{"@timestamp":"2024-01-01T00:00:00Z","winlog":{"channel":"Security","event_id":4624,"computer_name":"dc1","event_data":{"LogonType":"3"}},"host":{"name":"dc1"}}"##,
        );
        assert_eq!(ev.get("Channel"), Some("Security"));
        assert_eq!(ev.get("EventID"), Some("4624"));
        assert_eq!(ev.get("LogonType"), Some("3"));
        assert_eq!(ev.get("host.name"), Some("dc1"));
        assert_eq!(
            windows::timestamp(&ev, &windows::TIME_FIELDS),
            crate::Stamp::At(1_704_067_200_000_000_000)
        );
        let okta = flat(
            r##"{"eventType":"user.session.start","actor":{"alternateId":"j@x"},"a":[{"b":1},{"b":2}]}"##,
        );
        assert_eq!(okta.get("actor.alternateId"), Some("j@x"));
        assert_eq!(
            okta.fields.iter().filter(|f| okta.name(f) == "a.b").count(),
            2
        );
    }

    #[test]
    fn escapes_and_unicode() {
        let ev = flat(r##"{"a":"\u00e9\ud83d\ude00\n\t\/","b":"\ud800x"}"##);
        assert_eq!(ev.get("a"), Some("é😀\n\t/"));
        assert_eq!(ev.get("b"), Some("\u{FFFD}x"));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            "",
            "[1]",
            "{",
            "{\"a\"",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":tru}",
            "{\"a\":\"x}",
            "{\"a\":1} x",
            "{\"a\":-}",
            "{\"a\":01x}",
            "{\"a\":\"\\q\"}",
            "{\"a\":\"\\u12\"}",
        ] {
            let mut ev = Event::default();
            assert!(
                flatten(bad.as_bytes(), &mut ev, &mut Scratch::default()).is_err(),
                "{bad}"
            );
        }
        let deep = "{\"a\":".repeat(100) + "1" + &"}".repeat(100);
        let mut ev = Event::default();
        assert!(flatten(deep.as_bytes(), &mut ev, &mut Scratch::default()).is_err());
        let mut ev = Event::default();
        assert!(flatten(&[b'{', 0xff, b'}'], &mut ev, &mut Scratch::default()).is_err());
    }

    #[test]
    fn round_trip_to_json() {
        let ev = flat(r##"{"a":"x\"y","n":1.5,"b":true,"z":null,"l":[1,2]}"##);
        let out = ev.to_record().to_json();
        assert_eq!(out, r##"{"a":"x\"y","n":1.5,"b":true,"z":null,"l":[1,2]}"##);
    }
}

mod dotted {
    use super::super::*;
    use dwell_core::Event;

    #[test]
    fn dotted_naming_ignores_windows_shapes() {
        let mut ev = Event::default();
        let mut sc = Scratch {
            naming: Naming::Dotted,
            ..Scratch::default()
        };
        let json = br##"{"Event":{"System":{"EventID":1}},"winlog":{"process":{"pid":4},"event_data":{"X":"y"}}}"##;
        flatten(json, &mut ev, &mut sc).unwrap();
        assert_eq!(ev.get("Event.System.EventID"), Some("1"));
        assert_eq!(ev.get("winlog.process.pid"), Some("4"));
        assert_eq!(ev.get("winlog.event_data.X"), Some("y"));
        assert_eq!(ev.get("EventID"), None);
        assert!(!ev.partial && !ev.trimmed);
    }
}

mod gate {
    use super::super::*;
    use dwell_core::{Event, Gate, NO_SYM, Resolver};

    #[test]
    fn gate_stops_after_system() {
        let json = br##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Channel":"X","EventID":1},"EventData":{"A":"b"}}}"##;
        let mut ev = Event::default();
        let mut calls = 0;
        flatten_gated(json, &mut ev, &mut Scratch::default(), None, &mut |e, _| {
            calls += 1;
            assert_eq!(e.get("Channel"), Some("X"));
            Gate::Skip
        })
        .unwrap();
        assert_eq!(calls, 1);
        assert!(ev.partial);
        assert_eq!(ev.get("A"), None);
        let mut ev = Event::default();
        flatten_gated(json, &mut ev, &mut Scratch::default(), None, &mut |_, _| {
            Gate::All
        })
        .unwrap();
        assert!(!ev.partial);
        assert_eq!(ev.get("A"), Some("b"));
    }

    struct Known(Vec<&'static str>);
    impl Resolver for Known {
        fn sym(&self, name: &str) -> Option<u32> {
            self.0.iter().position(|n| *n == name).map(|p| p as u32)
        }
    }

    #[test]
    fn referenced_mode_keeps_named_fields_and_system() {
        let r = Known(vec!["EventID", "B"]);
        let mut sc = Scratch {
            roles: crate::formats::windows::ROLES,
            ..Scratch::default()
        };
        for round in 0..3 {
            // The third round changes the template.
            let json: &[u8] = if round < 2 {
                br##"{"Event":{"System":{"Channel":"X","EventID":1},"EventData":{"A":"a","B":"b"}}}"##
            } else {
                br##"{"Event":{"System":{"Channel":"X","EventID":1},"EventData":{"B":"b2","C":"c"}}}"##
            };
            let mut ev = Event::default();
            flatten_gated(json, &mut ev, &mut sc, Some(&r), &mut |_, _| {
                Gate::Referenced
            })
            .unwrap();
            assert!(ev.trimmed && ev.resolved);
            assert_eq!(ev.get("Channel"), Some("X"), "System is always kept");
            assert_eq!(ev.get("A"), None);
            assert_eq!(ev.get("C"), None);
            let b = ev.fields.iter().find(|f| ev.name(f) == "B").unwrap();
            assert_eq!(b.sym, 1);
            assert_eq!(ev.value(b), if round < 2 { "b" } else { "b2" });
            let id = ev.fields.iter().find(|f| ev.name(f) == "EventID").unwrap();
            assert_eq!(id.sym, 0);
            let ch = ev.fields.iter().find(|f| ev.name(f) == "Channel").unwrap();
            assert_eq!(ch.sym, NO_SYM);
        }
    }
}

mod oracle {
    use super::super::*;
    use dwell_core::Event;

    /// Strings of every length up to 40 with quotes, backslashes and non-ASCII at every
    /// position decode exactly as serde_json decodes them.
    #[test]
    fn string_scanning_matches_serde_json() {
        let pieces = ["a", "\"", "\\", "é", "\n", "/", "\u{1F600}", "x y"];
        let mut seed = 7u64;
        for len in 0..40 {
            for _ in 0..20 {
                let mut value = String::new();
                for _ in 0..len {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    value.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
                }
                let json = serde_json::json!({ "k": value, "after": 1 }).to_string();
                let mut ev = Event::default();
                flatten(json.as_bytes(), &mut ev, &mut Scratch::default()).unwrap();
                assert_eq!(ev.get("k"), Some(value.as_str()), "{json}");
                assert_eq!(ev.get("after"), Some("1"));
            }
        }
    }
}
