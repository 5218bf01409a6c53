//! Tests of string patterns, case folding, encodings and networks.

use super::*;

fn m(raw: &str) -> StrMatcher {
    StrMatcher::new(parse_sigma_string(raw), false, None)
}

fn lit(p: &[P]) -> String {
    literal_text(p).unwrap()
}

#[test]
fn escapes_follow_the_specification() {
    assert_eq!(
        lit(&parse_sigma_string(r"C:\Windows\x.exe")),
        r"C:\Windows\x.exe"
    );
    assert_eq!(lit(&parse_sigma_string(r"C:\\Windows")), r"C:\Windows");
    assert_eq!(lit(&parse_sigma_string(r"a\*b")), "a*b");
    assert_eq!(
        parse_sigma_string(r"a\\*b"),
        vec![P::Char('a'), P::Char('\\'), P::Star, P::Char('b')]
    );
    assert_eq!(lit(&parse_sigma_string(r"a\\\*b")), r"a\*b");
    assert_eq!(lit(&parse_sigma_string(r"x\\\\y")), r"x\\y");
    assert_eq!(lit(&parse_sigma_string(r"\Temp\")), r"\Temp\");
    assert_eq!(lit(&parse_sigma_string("%name%")), "%name%");
    assert_eq!(lit(&parse_sigma_string(r"a\?")), "a?");
}

#[test]
fn modifiers_act_on_parsed_values() {
    // `contains` of a value ending in a backslash keeps the backslash literal.
    let c = StrMatcher::new(contains(parse_sigma_string(r"\Temp\")), false, None);
    assert!(c.is_match(&fold(r"C:\x\Temp\y")));
    assert!(!c.is_match(&fold(r"C:\x\Temp")));
    let s = StrMatcher::new(startswith(parse_sigma_string(r"C:\Users\")), false, None);
    assert!(s.is_match(&fold(r"c:\users\bob")));
}

#[test]
fn wildcards_are_anchored_and_cross_newlines() {
    assert!(m("a*c").is_match("abbbc"));
    assert!(m("a*c").is_match("ac"));
    assert!(!m("a*c").is_match("abcd"));
    assert!(m("a*c").is_match("a\nb\nc"));
    assert!(m("a?c").is_match("abc"));
    assert!(m("a?c").is_match("aéc"));
    assert!(!m("a?c").is_match("ac"));
    assert!(!m("a?c").is_match("abbc"));
    assert!(m("*").is_match(""));
    assert!(m("").is_match(""));
    assert!(!m("").is_match("x"));
    assert!(m("*a*b*").is_match("xxaxxbxx"));
    assert!(!m("*a*b*").is_match("xxbxxaxx"));
    assert!(m("ab*ab").is_match("abab"));
    assert!(!m("ab*ab").is_match("ab"));
    assert!(m("a*b?d").is_match("aXXbcd"));
    assert!(m("?*?").is_match("xy"));
    assert!(!m("?*?").is_match("x"));
}

#[test]
fn folding_is_one_character_to_one() {
    // `İ` lowercases to two characters; it is kept so `?` still matches it.
    assert!(m("adm?n").is_match(&fold("ADMİN")));
    assert_eq!(fold("ÀÉÎ").chars().count(), 3);
    assert!(m("*é*").is_match(&fold("CAFÉ")));
    // The Kelvin sign folds to an ASCII k.
    assert!(m("kiwi").is_match(&fold("\u{212A}IWI")));
}

#[test]
fn case_insensitive_by_default_and_cased_on_request() {
    assert!(m("CMD.EXE").is_match(&fold("cmd.exe")));
    assert!(m("Straße").is_match(&fold("STRAßE")));
    let cased = StrMatcher::new(parse_sigma_string("CMD"), true, None);
    assert!(cased.is_match("CMD"));
    assert!(!cased.is_match("cmd"));
}

#[test]
fn shapes_are_classified() {
    assert!(matches!(m("abc").kind, StrKind::Exact(_)));
    assert!(matches!(m("*abc*").kind, StrKind::Contains(_)));
    assert!(matches!(m("abc*").kind, StrKind::Prefix(_)));
    assert!(matches!(m("*abc").kind, StrKind::Suffix(_)));
    assert!(matches!(m("**").kind, StrKind::Any));
    assert!(matches!(m("a*b").kind, StrKind::Glob(_)));
    let c = StrMatcher::new(contains(parse_sigma_string(r"\Temp\")), false, None);
    assert_eq!(c.longest_literal(), r"\temp\");
    // `\*` at the end is an escaped star, not a wildcard.
    assert!(matches!(m(r"*\Temp\*").kind, StrKind::Suffix(_)));
}

#[test]
fn windash_variants() {
    let p = StrMatcher::new(
        contains(windash(&parse_sigma_string(" -exec "))),
        false,
        None,
    );
    for v in [
        " -exec ",
        " /exec ",
        " \u{2013}exec ",
        " \u{2014}exec ",
        " \u{2015}exec ",
    ] {
        assert!(p.is_match(v), "{v}");
    }
    assert!(!p.is_match(" +exec "));
    // A dash inside a word is not a flag.
    let q = windash(&parse_sigma_string("ms-settings"));
    assert!(!q.contains(&P::Dash));
    // A slash in the rule matches a dash in the event too.
    let r = StrMatcher::new(
        contains(windash(&parse_sigma_string(" /quiet"))),
        false,
        None,
    );
    assert!(r.is_match("msiexec -quiet"));
}

#[test]
fn base64_vectors() {
    assert_eq!(base64(b"http://"), "aHR0cDovLw==");
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"a"), "YQ==");
    assert_eq!(base64_offsets(b"calc"), vec!["Y2FsY", "NhbG", "jYWxj"]);
    let wide = utf16("whoami", Utf16::Le);
    assert_eq!(
        base64_offsets(&wide),
        vec!["dwBoAG8AYQBtAGkA", "cAaABvAGEAbQBpA", "3AGgAbwBhAG0AaQ"]
    );
    assert_eq!(utf16("cmd", Utf16::Be), vec![0, 0x63, 0, 0x6d, 0, 0x64]);
    assert_eq!(
        utf16("cmd", Utf16::Bom),
        vec![0xff, 0xfe, 0x63, 0, 0x6d, 0, 0x64, 0]
    );
}

#[test]
fn cidr_containment() {
    let n = Cidr::parse("10.0.0.0/8").unwrap();
    assert!(n.contains("10.1.2.3"));
    assert!(!n.contains("11.1.2.3"));
    assert!(n.contains("::ffff:10.1.2.3"));
    assert!(!n.contains("not an ip"));
    let v6 = Cidr::parse("fe80::/10").unwrap();
    assert!(v6.contains("febf::1"));
    assert!(v6.contains("FE80:0000:0000:0000:0000:0000:0000:0001"));
    assert!(!v6.contains("fec0::1"));
    assert!(v6.contains("fe80::1%12"));
    assert!(Cidr::parse("10.0.0.0/33").is_none());
    assert!(Cidr::parse("nonsense").is_none());
    assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8"));
}

#[test]
fn time_parts() {
    let t = "2024-12-30T23:59:01.123Z";
    assert_eq!(time_part(t, TimePart::Year), Some(2024));
    assert_eq!(time_part(t, TimePart::Month), Some(12));
    assert_eq!(time_part(t, TimePart::Day), Some(30));
    assert_eq!(time_part(t, TimePart::Hour), Some(23));
    assert_eq!(time_part(t, TimePart::Minute), Some(59));
    // 2024-12-30 is in ISO week 1 of 2025
    assert_eq!(time_part(t, TimePart::Week), Some(1));
    assert_eq!(time_part("2021-01-03 10:00:00", TimePart::Week), Some(53));
    assert_eq!(time_part("2023-06-15", TimePart::Week), Some(24));
    assert_eq!(time_part("garbage", TimePart::Year), None);
}
