//! Tests of items: modifiers, values, placeholders.

use super::*;
use crate::yaml::{Limits, load_all};

fn item(yaml: &str) -> Result<Item, String> {
    let doc = load_all(yaml, Limits::default()).unwrap().remove(0);
    let Yaml::Map(entries) = &doc.value else {
        panic!()
    };
    let (k, v) = &entries[0];
    compile_item(
        k.as_str().unwrap(),
        v,
        &Placeholders::default(),
        &mut Vec::new(),
    )
}

fn val(raw: &str) -> (String, String) {
    (raw.to_string(), pattern::fold(raw).into_owned())
}

/// Item semantics over a single present string value.
fn hit(it: &Item, raw: &str) -> bool {
    let (r, f) = val(raw);
    let v = Value {
        raw: &r,
        folded: &f,
        kind: ValueKind::Str,
    };
    let one = |alts: &Vec<Matcher>| alts.iter().any(|m| m.is_match(&v));
    let res = if it.all {
        it.values.iter().all(one)
    } else {
        it.values.iter().any(one)
    };
    res != it.negate
}

#[test]
fn contains_all_windash_group_variants_per_value() {
    let it = item("CommandLine|contains|all|windash: [' -a ', ' -b ']").unwrap();
    assert!(hit(&it, "x /a  -b y"));
    assert!(hit(&it, "x -a  /b y"));
    assert!(!hit(&it, "x -a y"));
}

#[test]
fn base64offset_contains() {
    let it = item("CommandLine|base64offset|contains: 'calc'").unwrap();
    assert_eq!(it.values[0].len(), 3);
    // "xcalc" base64 -> eGNhbGM= ; contains the offset-1 fragment
    assert!(hit(&it, &pattern::base64(b"xcalc")));
    assert!(hit(&it, &pattern::base64(b"calc")));
    assert!(hit(&it, &pattern::base64(b"xxcalcxx")));
    assert!(!hit(&it, &pattern::base64(b"notepad")));
}

#[test]
fn wide_base64offset() {
    let it = item("CommandLine|wide|base64offset|contains: 'whoami'").unwrap();
    let enc = pattern::base64(&pattern::utf16("powershell whoami /all", Utf16::Le));
    assert!(hit(&it, &enc));
}

#[test]
fn base64_rejects_wildcards() {
    assert!(item("a|base64: 'x*'").unwrap_err().contains("wildcards"));
    assert!(item("a|base64|contains: 'http://'").is_ok());
}

#[test]
fn unknown_and_conflicting_modifiers() {
    assert!(
        item("a|foo: x")
            .unwrap_err()
            .contains("unknown modifier 'foo'")
    );
    assert!(item("a|re|cidr: x").is_err());
    assert!(item("a|i: x").unwrap_err().contains("need the 're'"));
    assert!(item("a|gt: abc").unwrap_err().contains("not a number"));
    assert!(item("a|exists: yes").unwrap_err().contains("true or false"));
    assert!(item("a|cidr: 300.0.0.0/8").is_err());
    assert!(
        item("a|re: '(unclosed'")
            .unwrap_err()
            .contains("invalid regular")
    );
    assert!(item("a|contains|gt: 5").is_err());
    assert!(item("a|cased|gt: 5").is_err());
    assert!(item("a: {b: c}").is_err());
}

#[test]
fn regex_is_cased_unless_i() {
    let it = item(r"a|re: '\s-H\s'").unwrap();
    assert!(hit(&it, "curl -H x"));
    assert!(!hit(&it, "curl -h x"));
    let it = item(r"a|re|i: '^CMD'").unwrap();
    assert!(hit(&it, "cmd.exe"));
    let it = item("a|re|s: 'a.b'").unwrap();
    assert!(hit(&it, "a\nb"));
    let it = item("a|re: 'a.b'").unwrap();
    assert!(!hit(&it, "a\nb"));
    let it = item("a|re|m: '^b$'").unwrap();
    assert!(hit(&it, "a\nb\nc"));
}

#[test]
fn neq_negates_the_item() {
    let it = item("a|neq: [x, y]").unwrap();
    assert!(!hit(&it, "X"));
    assert!(!hit(&it, "y"));
    assert!(hit(&it, "z"));
}

#[test]
fn numbers_and_strings() {
    let it = item("EventID: 4688").unwrap();
    let v = Value {
        raw: "4688",
        folded: "4688",
        kind: ValueKind::Num,
    };
    assert!(it.values[0][0].is_match(&v));
    let v = Value {
        raw: "4688.0",
        folded: "4688.0",
        kind: ValueKind::Num,
    };
    assert!(it.values[0][0].is_match(&v));
    assert!(hit(&it, "4688"));
    let gt = item("n|gt: 9").unwrap();
    assert!(hit(&gt, "10"));
    assert!(!hit(&gt, "9"));
    assert!(!hit(&gt, "abc"));
    let s = item("p|startswith: '44'").unwrap();
    let v = Value {
        raw: "443",
        folded: "443",
        kind: ValueKind::Num,
    };
    assert!(s.values[0][0].is_match(&v));
}

#[test]
fn booleans_compare_as_text() {
    let it = item("Signed: true").unwrap();
    assert!(hit(&it, "true"));
    assert!(hit(&it, "True"));
    assert!(!hit(&it, "false"));
}

#[test]
fn null_and_exists() {
    let it = item("a: null").unwrap();
    assert!(it.values[0][0].on_absent());
    assert!(!hit(&it, ""));
    let e = item("a|exists: true").unwrap();
    assert!(!e.values[0][0].on_absent());
    assert!(hit(&e, ""));
    let ne = item("a|exists: false").unwrap();
    assert!(ne.values[0][0].on_absent());
    let empty = item("a: ''").unwrap();
    assert!(hit(&empty, ""));
    assert!(!hit(&empty, "x"));
    assert!(!empty.values[0][0].on_absent());
}

#[test]
fn placeholders() {
    let mut ph = Placeholders::default();
    ph.values
        .insert("Admins".into(), vec!["alice".into(), "bob*".into()]);
    let doc = load_all(r"u|expand: 'CORP\\%Admins%'", Limits::default())
        .unwrap()
        .remove(0);
    let Yaml::Map(entries) = &doc.value else {
        panic!()
    };
    let it = compile_item("u|expand", &entries[0].1, &ph, &mut Vec::new()).unwrap();
    assert_eq!(it.values[0].len(), 2);
    assert!(hit(&it, "corp\\alice"));
    assert!(hit(&it, "corp\\bobby"));
    assert!(!hit(&it, "corp\\carol"));
    // An escaped placeholder stays literal, without its backslash.
    let lit = item(r"u|expand: '100\%Admins%'").unwrap();
    assert!(hit(&lit, "100%admins%"));
    assert!(!hit(&lit, "100\\%admins%"));
    // Long runs of backslashes are handled in one pass.
    let long = format!("u|expand: '{}'", "\\".repeat(200_000));
    assert!(item(&long).is_ok());
    let mut ph = Placeholders::default();
    ph.values.insert("Grüße".into(), vec!["x".into()]);
    let doc = load_all("u|expand: 'a%Grüße%b'", Limits::default())
        .unwrap()
        .remove(0);
    let Yaml::Map(entries) = &doc.value else {
        panic!()
    };
    let it = compile_item("u|expand", &entries[0].1, &ph, &mut Vec::new()).unwrap();
    assert!(hit(&it, "axb"));
    // A placeholder without a value loads, with a warning, and matches nothing.
    let doc = load_all("u|expand: 'x%Unknown%'", Limits::default())
        .unwrap()
        .remove(0);
    let Yaml::Map(entries) = &doc.value else {
        panic!()
    };
    let mut warnings = Vec::new();
    let it = compile_item(
        "u|expand",
        &entries[0].1,
        &Placeholders::default(),
        &mut warnings,
    )
    .unwrap();
    assert_eq!(it.values.len(), 1);
    assert!(it.values.iter().all(Vec::is_empty));
    assert!(!hit(&it, "x"));
    assert!(!hit(&it, "x%unknown%"));
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].contains("unresolved placeholder %Unknown%"),
        "{warnings:?}"
    );
    // Without expand the text is literal.
    let lit = item("u: '%Admins%'").unwrap();
    assert!(hit(&lit, "%admins%"));
}

#[test]
fn keywords_are_substring_searches() {
    let doc = load_all("x: ['Evil', 'a*b']", Limits::default())
        .unwrap()
        .remove(0);
    let v = doc.get("x").unwrap();
    let it = compile_item("", v, &Placeholders::default(), &mut Vec::new()).unwrap();
    assert!(it.field.is_none());
    assert!(hit(&it, "very EVIL thing"));
    assert!(hit(&it, "xxaZZbxx"));
    assert!(!hit(&it, "good"));
}

#[test]
fn all_on_single_value_warns() {
    let doc = load_all("a|contains|all: x", Limits::default())
        .unwrap()
        .remove(0);
    let Yaml::Map(entries) = &doc.value else {
        panic!()
    };
    let mut w = Vec::new();
    compile_item(
        "a|contains|all",
        &entries[0].1,
        &Placeholders::default(),
        &mut w,
    )
    .unwrap();
    assert_eq!(w.len(), 1);
}

#[test]
fn numeric_comparisons() {
    for (m, yes, no) in [
        ("lt", "4", "5"),
        ("lte", "5", "6"),
        ("gt", "6", "5"),
        ("gte", "5", "4"),
    ] {
        let it = item(&format!("n|{m}: 5")).unwrap();
        assert!(hit(&it, yes), "{m} {yes}");
        assert!(!hit(&it, no), "{m} {no}");
        assert!(!hit(&it, "five"), "{m}: text is not a number");
    }
    let f = item("n|gte: 1.5").unwrap();
    assert!(hit(&f, "1.5"));
    assert!(hit(&f, "2"));
    assert!(!hit(&f, "1.49"));
}

#[test]
fn utf16_variants_with_base64() {
    let be = item("c|utf16be|base64offset|contains: 'cmd'").unwrap();
    let enc = pattern::base64(&pattern::utf16("run cmd now", Utf16::Be));
    assert!(hit(&be, &enc));
    let bom = item("c|utf16|base64|contains: 'cmd'").unwrap();
    assert!(hit(
        &bom,
        &format!("x{}y", pattern::base64(&pattern::utf16("cmd", Utf16::Bom)))
    ));
    // Without base64, wide values are matched as their UTF-16 code units.
    let wide = item("c|wide|contains: 'ab'").unwrap();
    assert!(hit(&wide, "xa\0b\0y".replace("\\0", "\0").as_str()));
}

#[test]
fn cased_and_keyword_modifiers() {
    let c = item("a|cased|contains: 'Evil'").unwrap();
    assert!(hit(&c, "so Evil"));
    assert!(!hit(&c, "so evil"));
    let doc = load_all("x: {'|re': 'ab+c'}", Limits::default())
        .unwrap()
        .remove(0);
    let Yaml::Map(entries) = &doc.get("x").unwrap().value else {
        panic!()
    };
    let kw = compile_item(
        "|re",
        &entries[0].1,
        &Placeholders::default(),
        &mut Vec::new(),
    )
    .unwrap();
    assert!(kw.field.is_none());
    assert!(hit(&kw, "xxabbbcxx"));
}

#[test]
fn time_modifiers() {
    let it = item("t|hour|gte: 22").unwrap();
    assert!(hit(&it, "2024-01-01T23:10:00Z"));
    assert!(!hit(&it, "2024-01-01T21:10:00Z"));
    let it = item("t|month: 2").unwrap();
    assert!(hit(&it, "2024-02-01 00:00:00"));
}
