//! A breach-notification draft from a [`Scope`], in Markdown or self-contained HTML: what GDPR
//! Art. 33(3) and the UK ICO's breach report ask (the nature of the breach, the categories and
//! approximate numbers of people and of records, likely consequences, measures taken and
//! proposed, the timeline and the 72-hour deadline from awareness), each figure citing the log
//! lines it comes from. What dwell cannot know (measures, the data-protection officer's
//! contact) is left marked to complete. The draft is built once as plain blocks of text and
//! rendered either way, so both say the same and every value is escaped by the renderer.

use crate::scope::Scope;
use std::fmt::Write;

/// What the draft knows beyond the scope.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// When the controller became aware of the breach (the deadline runs from it).
    pub aware: i64,
    /// The campaign's first malicious event, and where it is (time, "file record N").
    pub first_event: Option<(i64, String)>,
    /// The campaign's impact (the first destructive event), when it had one.
    pub impact: Option<(i64, String)>,
    /// The accounts the campaign compromised, to reset.
    pub accounts: Vec<String>,
}

/// What a category of personal data exposes people to, in the ICO's terms.
fn consequence(category: &str, credential: bool) -> &'static str {
    if credential {
        return "takeover of their accounts, here and wherever they reused the password";
    }
    match category {
        "email" => "phishing and spam aimed at them, using what else was taken to seem genuine",
        "phone" => "smishing and vishing, and SIM-swap attempts on their accounts",
        "name" | "date_of_birth" => {
            "identity fraud: names with dates of birth answer common identity checks"
        }
        "postal_address" => "fraud and unwanted contact at home",
        "order_history" => "convincing fraud that cites their real purchases",
        "salary" | "bank_account" | "payment_card" => "financial fraud",
        _ => "misuse of this information",
    }
}

fn t(ns: i64) -> String {
    dwell_core::time::format(ns)
}

/// A run of text: plain, or to stand out (`**` in Markdown, `<strong>` in HTML).
#[derive(Debug, Clone, PartialEq)]
enum Span {
    Plain(String),
    Strong(String),
}

fn p(s: impl Into<String>) -> Span {
    Span::Plain(s.into())
}

fn b(s: impl Into<String>) -> Span {
    Span::Strong(s.into())
}

/// A block of the draft.
#[derive(Debug, Clone, PartialEq)]
enum Block {
    Heading(u8, String),
    Para(Vec<Span>),
    List(Vec<Vec<Span>>),
    /// Header cells (a leading `>` right-aligns the column), then rows.
    Table(Vec<&'static str>, Vec<Vec<String>>),
}

/// The draft as blocks.
fn draft(s: &Scope, cx: &Context) -> Vec<Block> {
    use Block::*;
    let mut d = Vec::new();
    let deadline = cx.aware + 72 * 3600 * 1_000_000_000;
    d.push(Heading(
        1,
        "Personal data breach: notification draft".into(),
    ));
    d.push(Para(vec![
        p(format!(
            "Drafted by dwell {} from the logs; every figure cites its evidence. Sections marked ",
            env!("CARGO_PKG_VERSION")
        )),
        b("TO COMPLETE"),
        p(" need the controller."),
    ]));
    d.push(Heading(2, "Deadline".into()));
    d.push(Para(vec![
        p(format!(
            "Aware of the breach: {}. Notification to the supervisory authority due within 72 hours: ",
            t(cx.aware)
        )),
        b(format!("by {}", t(deadline))),
        p(" (GDPR Art. 33(1)); if later, with the reasons for the delay."),
    ]));
    d.push(Heading(2, "Nature of the breach".into()));
    let distinct = |f: &dyn Fn(&crate::Access) -> Option<&str>| {
        let mut v: Vec<&str> = s.accesses.iter().filter_map(f).collect();
        v.sort_unstable();
        v.dedup();
        v.join(", ")
    };
    let who = distinct(&|a| Some(a.principal.as_str()));
    let from = distinct(&|a| a.client.as_deref().or(a.host.as_deref()));
    let mut what = Vec::new();
    for (kind, name) in [
        ("sql", "a database"),
        ("request", "an application"),
        ("file", "files"),
    ] {
        if s.accesses.iter().any(|a| a.kind == kind) {
            what.push(name);
        }
    }
    d.push(Para(vec![p(format!(
        "Unauthorised access to and extraction of personal data from {} (a breach of confidentiality), as {} from {}.",
        if what.is_empty() { "systems holding it".to_string() } else { what.join(", ") },
        if who.is_empty() { "-" } else { &who },
        if from.is_empty() { "-" } else { &from },
    ))]));
    d.push(Heading(2, "Timeline".into()));
    let mut rows = Vec::new();
    if let Some((time, at)) = &cx.first_event {
        rows.push(vec![
            "first malicious event of the intrusion".into(),
            t(*time),
            at.clone(),
        ]);
    }
    let cite = |a: &crate::Access| format!("{} record {}", a.source, a.record);
    if let (Some(f), Some(a)) = (s.first_access, s.accesses.first()) {
        rows.push(vec!["first access to personal data".into(), t(f), cite(a)]);
    }
    if let (Some(l), Some(a)) = (s.last_access, s.accesses.last()) {
        rows.push(vec!["last access to personal data".into(), t(l), cite(a)]);
    }
    if let Some((time, at)) = &cx.impact {
        rows.push(vec![
            "impact (first destructive event)".into(),
            t(*time),
            at.clone(),
        ]);
    }
    rows.push(vec![
        "awareness".into(),
        t(cx.aware),
        "the controller".into(),
    ]);
    rows.push(vec![
        "containment".into(),
        "TO COMPLETE".into(),
        String::new(),
    ]);
    d.push(Table(vec!["event", "time", "evidence"], rows));
    d.push(Heading(2, "Categories and approximate numbers".into()));
    let mut items = vec![
        vec![
            p("Data subjects affected: "),
            b(s.people_affected.to_string()),
            p(match (s.exact, s.people_upper) {
                (true, _) => " (exact: every access was evaluated against the data).".to_string(),
                (false, Some(u)) => format!(
                    " established exactly, at most {u} counting the accesses that could only be bounded (below)."
                ),
                (false, None) => " established exactly; more may be affected by accesses that could not be bounded (below).".to_string(),
            }),
        ],
        vec![
            p("Personal data records affected: "),
            b(s.records_affected.to_string()),
            p(" rows and records read."),
        ],
    ];
    let c = &s.credentials_exposed;
    if c.people > 0 || !c.unkeyed.is_empty() {
        let mut line = vec![
            p("Credentials exposed: "),
            b(c.people.to_string()),
            p(format!(
                " people's ({}); their accounts are to be reset and their sessions revoked",
                c.by_category
                    .iter()
                    .map(|(k, n)| format!("{k}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        ];
        if !c.unkeyed.is_empty() {
            line.push(p(format!(
                "; and by {} access(es) to credentials of people not named (access {})",
                c.unkeyed.len(),
                c.unkeyed
                    .iter()
                    .map(|k| (k + 1).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        line.push(p("."));
        items.push(line);
    }
    items.push(vec![p(
        "Categories of data subjects: customers and the other people the data map names (TO COMPLETE if others).",
    )]);
    d.push(List(items));
    let cred_cats: Vec<&String> = c.by_category.keys().collect();
    d.push(Table(
        vec!["category", ">people", "likely consequence"],
        s.people_by_category
            .iter()
            .map(|(k, n)| {
                vec![
                    k.clone(),
                    n.to_string(),
                    consequence(k, cred_cats.contains(&k)).to_string(),
                ]
            })
            .collect(),
    ));
    d.push(Heading(3, "Evidence: the accesses".into()));
    d.push(Table(
        vec![
            ">#",
            "time",
            "who",
            "from",
            "what",
            "evaluation",
            ">people",
            "categories",
            "log",
        ],
        s.accesses
            .iter()
            .enumerate()
            .map(|(k, a)| {
                vec![
                    (k + 1).to_string(),
                    t(a.time),
                    a.principal.clone(),
                    a.client.clone().or(a.host.clone()).unwrap_or("-".into()),
                    dwell_core::text::clip(&a.statement, 120).into_owned(),
                    a.evaluation.clone(),
                    a.people.map_or("-".to_string(), |n| n.to_string()),
                    a.categories.join(", "),
                    cite(a),
                ]
            })
            .collect(),
    ));
    if !s.bounds.is_empty() {
        d.push(Para(vec![p("Bounded, not established:")]));
        d.push(List(
            s.bounds
                .iter()
                .map(|b| {
                    vec![p(format!(
                        "access {}: {}; at most {} people.",
                        b.access + 1,
                        b.why,
                        b.upper
                            .map_or("an unknown number of".to_string(), |u| u.to_string())
                    ))]
                })
                .collect(),
        ));
    }
    if !s.caveats.is_empty() {
        d.push(Para(vec![p("How far the figures hold:")]));
        d.push(List(s.caveats.iter().map(|c| vec![p(c.clone())]).collect()));
    }
    if !s.routine.is_empty() {
        d.push(Para(vec![p(
            "Set aside as the principals' routine (reads made the same way since before the intrusion; check that none of it is the intruder's):",
        )]));
        d.push(List(
            s.routine
                .iter()
                .map(|r| {
                    vec![p(format!(
                        "{} from {}, on {} days since {}: {}",
                        r.principal,
                        r.client.as_deref().unwrap_or("-"),
                        r.days,
                        t(r.first),
                        dwell_core::text::clip(&r.statement, 120)
                    ))]
                })
                .collect(),
        ));
    }
    d.push(Heading(2, "Measures taken and proposed".into()));
    let mut m = Vec::new();
    if !cx.accounts.is_empty() {
        m.push(vec![p(format!(
            "Proposed: reset the credentials and revoke the sessions of the accounts the intruder used: {}.",
            cx.accounts.join(", ")
        ))]);
    }
    if c.people > 0 {
        m.push(vec![p(format!(
            "Proposed: force a password reset for the {} people whose credentials were read (dwell scope --resets lists them).",
            c.people
        ))]);
    }
    m.push(vec![p(
        "Proposed: tell the people affected without undue delay where the risk to them is high (Art. 34), with what to watch for (the consequences above).",
    )]);
    m.push(vec![
        p("Taken: "),
        b("TO COMPLETE"),
        p(" (containment, eradication, recovery)."),
    ]);
    d.push(List(m));
    d.push(Heading(2, "Contact".into()));
    d.push(Para(vec![
        p("The data-protection officer: "),
        b("TO COMPLETE"),
        p("."),
    ]));
    d
}

/// Markdown text: log values are written by the attacker, so every character Markdown or
/// HTML would read as markup is escaped and line breaks become spaces.
fn md(s: &str) -> String {
    let mut out = String::new();
    for c in dwell_core::text::terminal(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '(' | ')' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// HTML text: every character that could open markup or end an attribute is escaped.
fn html(s: &str) -> String {
    let mut out = String::new();
    for c in dwell_core::text::terminal(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The draft in Markdown.
pub fn markdown(s: &Scope, cx: &Context) -> String {
    let mut o = String::new();
    let spans = |v: &[Span]| {
        v.iter()
            .map(|x| match x {
                Span::Plain(t) => md(t),
                Span::Strong(t) => format!("**{}**", md(t)),
            })
            .collect::<String>()
    };
    for block in draft(s, cx) {
        match block {
            Block::Heading(n, text) => {
                let _ = writeln!(o, "{} {}\n", "#".repeat(n as usize), md(&text));
            }
            Block::Para(v) => {
                let _ = writeln!(o, "{}\n", spans(&v));
            }
            Block::List(items) => {
                for i in items {
                    let _ = writeln!(o, "- {}", spans(&i));
                }
                o.push('\n');
            }
            Block::Table(head, rows) => {
                let names: Vec<String> =
                    head.iter().map(|h| md(h.trim_start_matches('>'))).collect();
                let rule: Vec<&str> = head
                    .iter()
                    .map(|h| if h.starts_with('>') { "---:" } else { "---" })
                    .collect();
                let _ = writeln!(o, "| {} |\n|{}|", names.join(" | "), rule.join("|"));
                for r in rows {
                    let cells: Vec<String> = r.iter().map(|c| md(c)).collect();
                    let _ = writeln!(o, "| {} |", cells.join(" | "));
                }
                o.push('\n');
            }
        }
    }
    o.truncate(o.trim_end().len());
    o.push('\n');
    o
}

/// The draft as one self-contained HTML page: no script, no outside resource (its content
/// security policy forbids both), printable.
pub fn html_page(s: &Scope, cx: &Context) -> String {
    let mut o = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Personal data breach: notification draft</title>\n<style>\nbody{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}\nh1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}\ntable{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}\nth,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}\nth{background:#f3f3f5}td.n,th.n{text-align:right}\nstrong{color:#8a1c1c}\n@media print{body{margin:0;max-width:none}}\n</style></head><body>\n",
    );
    let spans = |v: &[Span]| {
        v.iter()
            .map(|x| match x {
                Span::Plain(t) => html(t),
                Span::Strong(t) => format!("<strong>{}</strong>", html(t)),
            })
            .collect::<String>()
    };
    for block in draft(s, cx) {
        match block {
            Block::Heading(n, text) => {
                let _ = writeln!(o, "<h{n}>{}</h{n}>", html(&text));
            }
            Block::Para(v) => {
                let _ = writeln!(o, "<p>{}</p>", spans(&v));
            }
            Block::List(items) => {
                o.push_str("<ul>\n");
                for i in items {
                    let _ = writeln!(o, "<li>{}</li>", spans(&i));
                }
                o.push_str("</ul>\n");
            }
            Block::Table(head, rows) => {
                let right: Vec<bool> = head.iter().map(|h| h.starts_with('>')).collect();
                let class = |k: usize| if right[k] { " class=\"n\"" } else { "" };
                o.push_str("<table><thead><tr>");
                for (k, h) in head.iter().enumerate() {
                    let _ = write!(
                        o,
                        "<th{}>{}</th>",
                        class(k),
                        html(h.trim_start_matches('>'))
                    );
                }
                o.push_str("</tr></thead><tbody>\n");
                for r in rows {
                    o.push_str("<tr>");
                    for (k, c) in r.iter().enumerate() {
                        let _ = write!(o, "<td{}>{}</td>", class(k), html(c));
                    }
                    o.push_str("</tr>\n");
                }
                o.push_str("</tbody></table>\n");
            }
        }
    }
    o.push_str("</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_logs_cannot_write_markup_into_the_draft() {
        assert_eq!(md("svc_reports"), "svc\\_reports");
        assert_eq!(
            md("a|b<script>x</script>\n[l](http://x)"),
            // A line break is shown as `\n` (by `terminal`), its backslash escaped.
            "a\\|b&lt;script&gt;x&lt;/script&gt;\\\\n\\[l\\]\\(http://x\\)"
        );
        assert_eq!(
            html("<img src=x onerror=\"a\">'"),
            "&lt;img src=x onerror=&quot;a&quot;&gt;&#39;"
        );
    }
}
