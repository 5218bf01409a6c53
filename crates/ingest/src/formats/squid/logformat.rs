//! Squid `logformat` specifications (`%ts.%03tu %6tr %>a %Ss/%03>Hs ...`), to read access logs
//! written with a site's own format: the specification is cut into codes and the literal text
//! between them, and a line is read by finding each literal after its code's value.

/// One part of a specification.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    /// Text written as it is.
    Literal(String),
    /// A `%` code: the field it fills (`None`: read and dropped).
    Code(Option<&'static str>),
}

/// A parsed `logformat`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogFormat {
    parts: Vec<Part>,
}

/// The field each Squid code fills, named as Sigma's proxy category names them where it has a
/// name (docs/sources/web.md).
fn field(code: &str) -> Result<Option<&'static str>, String> {
    Ok(Some(match code {
        "ts" => "time_s",
        "tu" => "time_ms",
        "tl" | "tg" => "time_clf",
        "tr" => "elapsed",
        ">a" => "c-ip",
        ">A" => "c-dns",
        ">p" => "c-port",
        "<a" => "dst_ip",
        "<A" => "cs-host",
        "<p" => "dst_port",
        "la" => "s-ip",
        "lp" => "s-port",
        "Ss" => "result",
        "Sh" => "hierarchy",
        ">Hs" | "Hs" => "sc-status",
        "<Hs" => "upstream_status",
        "<st" => "sc-bytes",
        ">st" => "cs-bytes",
        "st" => "bytes",
        "rm" => "cs-method",
        "ru" | ">ru" => "c-uri",
        "rp" => "c-uri-path",
        "rv" => "cs-version",
        "un" | "ul" | "ui" | "us" | "ue" => "cs-username",
        "mt" => "content_type",
        "ea" => "note",
        "%" => return Ok(None),
        c if c.starts_with('{') => {
            let (name, dir) = c[1..].split_once('}').ok_or("an unclosed {header}")?;
            return Ok(Some(match (name.to_ascii_lowercase().as_str(), dir) {
                ("user-agent", ">h") => "c-useragent",
                ("referer", ">h") => "cs-referer",
                ("host", ">h") => "cs-host",
                ("cookie", ">h") => "cs-cookie",
                (_, ">h" | "<h") => return Ok(None),
                _ => return Err(format!("%{c} is not a header code")),
            }));
        }
        other => {
            return Err(format!(
                "%{other} is not a Squid logformat code dwell knows"
            ));
        }
    }))
}

/// Codes, longest first, so that `>Hs` is not read as `>H` + `s`.
const CODES: [&str; 31] = [
    ">Hs", "<Hs", "<st", ">st", ">ru", "ts", "tu", "tl", "tg", "tr", ">a", ">A", ">p", "<a", "<A",
    "<p", "la", "lp", "Ss", "Sh", "Hs", "st", "rm", "ru", "rp", "rv", "un", "ul", "ui", "us", "mt",
];

impl LogFormat {
    /// Parses a specification, as `logformat NAME SPEC` in squid.conf has it (SPEC only).
    pub fn parse(spec: &str) -> Result<LogFormat, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = spec;
        while let Some(i) = rest.find('%') {
            lit.push_str(&rest[..i]);
            rest = &rest[i + 1..];
            if let Some(r) = rest.strip_prefix('%') {
                lit.push('%');
                rest = r;
                continue;
            }
            // Modifiers: quoting, escaping, alignment, width and precision.
            let mods = rest
                .find(|c: char| !matches!(c, '"' | '[' | '#' | '\'' | '/' | '-' | '.' | '0'..='9'))
                .unwrap_or(rest.len());
            rest = &rest[mods..];
            let code = if rest.starts_with('{') {
                let close = rest.find('}').ok_or("an unclosed {header}")?;
                let after = &rest[close + 1..];
                let dir = if after.starts_with(">h") || after.starts_with("<h") {
                    2
                } else {
                    0
                };
                &rest[..close + 1 + dir]
            } else {
                CODES
                    .iter()
                    .find(|c| rest.starts_with(*c))
                    .copied()
                    .or_else(|| (rest.starts_with("ue")).then_some("ue"))
                    .or_else(|| (rest.starts_with("ea")).then_some("ea"))
                    .ok_or_else(|| {
                        format!(
                            "%{} is not a Squid logformat code dwell knows",
                            rest.chars().take(4).collect::<String>()
                        )
                    })?
            };
            let f = field(code)?;
            if !lit.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut lit)));
            }
            parts.push(Part::Code(f));
            rest = &rest[code.len()..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Literal(lit));
        }
        if !parts.iter().any(|p| matches!(p, Part::Code(Some(_)))) {
            return Err("the format has no codes".into());
        }
        Ok(LogFormat { parts })
    }

    /// The values of a line, by field. A value runs to the next literal; runs of spaces count
    /// as one (Squid pads codes given a width).
    pub fn read<'a>(&self, line: &'a str) -> Result<Vec<(&'static str, &'a str)>, String> {
        let mut out = Vec::new();
        let mut rest = line;
        let mut parts = self.parts.iter().peekable();
        while let Some(p) = parts.next() {
            match p {
                Part::Literal(l) => {
                    let t = l.trim_start_matches(' ');
                    if l.starts_with(' ') {
                        rest = rest.trim_start_matches(' ');
                    }
                    rest = rest.strip_prefix(t).ok_or_else(|| {
                        format!(
                            "expected '{l}' at '{}'",
                            rest.chars().take(24).collect::<String>()
                        )
                    })?;
                }
                Part::Code(f) => {
                    rest = rest.trim_start_matches(' ');
                    let end = match parts.peek() {
                        Some(Part::Literal(next)) => {
                            let stop = next.trim_start_matches(' ');
                            let stop = if stop.is_empty() { " " } else { stop };
                            // A quoted value ends at the quote that closes it.
                            rest.find(stop)
                                .ok_or_else(|| format!("no '{next}' after a value"))?
                        }
                        _ => rest.find(' ').unwrap_or(rest.len()),
                    };
                    if let Some(name) = f {
                        // Padding before the next literal is not part of the value.
                        out.push((*name, rest[..end].trim_end_matches(' ')));
                    }
                    rest = &rest[end..];
                }
            }
        }
        if !rest.trim().is_empty() {
            return Err(format!(
                "text after the last field: '{}'",
                rest.chars().take(24).collect::<String>()
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_native_format_and_a_custom_one() {
        let native =
            LogFormat::parse("%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt")
                .unwrap();
        let got = native
            .read("1066036250.624    120 192.168.0.5 TCP_MISS/200 1422 GET http://www.example.com/ - DIRECT/192.0.2.10 text/html")
            .unwrap();
        assert_eq!(
            got,
            [
                ("time_s", "1066036250"),
                ("time_ms", "624"),
                ("elapsed", "120"),
                ("c-ip", "192.168.0.5"),
                ("result", "TCP_MISS"),
                ("sc-status", "200"),
                ("sc-bytes", "1422"),
                ("cs-method", "GET"),
                ("c-uri", "http://www.example.com/"),
                ("cs-username", "-"),
                ("hierarchy", "DIRECT"),
                ("dst_ip", "192.0.2.10"),
                ("content_type", "text/html")
            ]
        );
        let custom = LogFormat::parse(r#"%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st "%{Referer}>h" "%{User-Agent}>h" %Ss:%Sh"#).unwrap();
        let got = custom
            .read(r#"10.0.0.5 - alice [08/Apr/2024:19:22:41 +0000] "GET http://x.example/a HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux)" TCP_MISS:HIER_DIRECT"#)
            .unwrap();
        assert!(got.contains(&("c-useragent", "Mozilla/5.0 (X11; Linux)")));
        assert!(got.contains(&("time_clf", "08/Apr/2024:19:22:41 +0000")));
        assert!(got.contains(&("hierarchy", "HIER_DIRECT")));
        assert!(custom.read("10.0.0.5 - alice 08/Apr").is_err());
        assert!(
            LogFormat::parse("%zz")
                .unwrap_err()
                .contains("not a Squid logformat code")
        );
    }
}
