//! A breach-notification draft in Markdown from a [`Scope`]: what GDPR Art. 33(3) and the UK
//! ICO's breach report ask (the nature of the breach, the categories and approximate numbers of
//! people and of records, likely consequences, measures taken and proposed, the timeline and the
//! 72-hour deadline from awareness), each figure citing the log lines it comes from. What dwell
//! cannot know (measures, the data-protection officer's contact) is left marked to complete.

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
fn consequence(category: &str) -> &'static str {
    match category {
        "email" => "phishing and spam aimed at them, using what else was taken to seem genuine",
        "phone" => "smishing and vishing, and SIM-swap attempts on their accounts",
        "name" | "date_of_birth" => {
            "identity fraud: names with dates of birth answer common identity checks"
        }
        "postal_address" => "fraud and unwanted contact at home",
        "order_history" => "convincing fraud that cites their real purchases",
        _ => "misuse of this information",
    }
}

fn t(ns: i64) -> String {
    dwell_core::time::format(ns)
}

/// A Markdown cell or line: log values are written by the attacker, so every character
/// Markdown or HTML would read as markup is escaped and line breaks become spaces.
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

/// The draft.
pub fn markdown(s: &Scope, cx: &Context) -> String {
    let mut o = String::new();
    let deadline = cx.aware + 72 * 3600 * 1_000_000_000;
    let _ = writeln!(o, "# Personal data breach: notification draft\n");
    let _ = writeln!(
        o,
        "Drafted by dwell {} from the logs; every figure cites its evidence. Sections marked **TO COMPLETE** need the controller.\n",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(o, "## Deadline\n");
    let _ = writeln!(
        o,
        "Aware of the breach: {}. Notification to the supervisory authority due within 72 hours: **by {}** (GDPR Art. 33(1)); if later, with the reasons for the delay.\n",
        t(cx.aware),
        t(deadline)
    );
    let _ = writeln!(o, "## Nature of the breach\n");
    let mut who: Vec<&str> = s.accesses.iter().map(|a| a.principal.as_str()).collect();
    let mut from: Vec<&str> = s
        .accesses
        .iter()
        .filter_map(|a| a.client.as_deref())
        .collect();
    who.sort_unstable();
    who.dedup();
    from.sort_unstable();
    from.dedup();
    let _ = writeln!(
        o,
        "Unauthorised access to and extraction of personal data from a database (a breach of confidentiality), as {} from {}.\n",
        md(&who.join(", ")),
        md(&from.join(", "))
    );
    let _ = writeln!(o, "## Timeline\n");
    let _ = writeln!(o, "| event | time | evidence |\n|---|---|---|");
    if let Some((time, at)) = &cx.first_event {
        let _ = writeln!(
            o,
            "| first malicious event of the intrusion | {} | {} |",
            t(*time),
            md(at)
        );
    }
    if let (Some(f), Some(a)) = (s.first_access, s.accesses.first()) {
        let _ = writeln!(
            o,
            "| first access to personal data | {} | {} record {} |",
            t(f),
            md(&a.source),
            a.record
        );
    }
    if let (Some(l), Some(a)) = (s.last_access, s.accesses.last()) {
        let _ = writeln!(
            o,
            "| last access to personal data | {} | {} record {} |",
            t(l),
            md(&a.source),
            a.record
        );
    }
    if let Some((time, at)) = &cx.impact {
        let _ = writeln!(
            o,
            "| impact (first destructive event) | {} | {} |",
            t(*time),
            md(at)
        );
    }
    let _ = writeln!(o, "| awareness | {} | the controller |", t(cx.aware));
    let _ = writeln!(o, "| containment | **TO COMPLETE** | |\n");
    let _ = writeln!(o, "## Categories and approximate numbers\n");
    let _ = writeln!(
        o,
        "- Data subjects affected: **{}**{}.",
        s.people_affected,
        match (s.exact, s.people_upper) {
            (true, _) => " (exact: every access was evaluated against the data)".to_string(),
            (false, Some(u)) => format!(" established exactly, at most {u} counting the accesses that could only be bounded (below)"),
            (false, None) => " established exactly; more may be affected by accesses that could not be bounded (below)".to_string(),
        }
    );
    let _ = writeln!(
        o,
        "- Personal data records affected: **{}** rows of the tables of people.",
        s.records_affected
    );
    let _ = writeln!(
        o,
        "- Categories of data subjects: customers (the tables of people in the data map).\n"
    );
    let _ = writeln!(
        o,
        "| category | people | likely consequence |\n|---|---:|---|"
    );
    for (c, n) in &s.people_by_category {
        let _ = writeln!(o, "| {} | {n} | {} |", md(c), consequence(c));
    }
    let _ = writeln!(o, "\n### Evidence: the accesses\n");
    let _ = writeln!(
        o,
        "| time | who | from | evaluation | people | categories | log |\n|---|---|---|---|---:|---|---|"
    );
    for a in &s.accesses {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} record {} |",
            t(a.time),
            md(&a.principal),
            md(a.client.as_deref().unwrap_or("-")),
            md(&a.evaluation),
            a.people.map_or("-".to_string(), |n| n.to_string()),
            md(&a.categories.join(", ")),
            md(&a.source),
            a.record
        );
    }
    if !s.bounds.is_empty() {
        let _ = writeln!(o, "\nBounded, not established:\n");
        for b in &s.bounds {
            let _ = writeln!(
                o,
                "- access {}: {}; at most {} people.",
                b.access + 1,
                md(&b.why),
                b.upper
                    .map_or("an unknown number of".to_string(), |u| u.to_string())
            );
        }
    }
    if !s.routine.is_empty() {
        let _ = writeln!(
            o,
            "\nSet aside as the principals' routine (reads made the same way since before the intrusion; check that none of it is the intruder's):\n"
        );
        for r in &s.routine {
            let _ = writeln!(
                o,
                "- {} from {}, on {} days since {}: {}",
                md(&r.principal),
                md(r.client.as_deref().unwrap_or("-")),
                r.days,
                t(r.first),
                md(&dwell_core::text::clip(&r.statement, 120))
            );
        }
    }
    let _ = writeln!(o, "\n## Measures taken and proposed\n");
    if !cx.accounts.is_empty() {
        let _ = writeln!(
            o,
            "- Proposed: reset the credentials and revoke the sessions of the accounts the intruder used: {}.",
            md(&cx.accounts.join(", "))
        );
    }
    let _ = writeln!(
        o,
        "- Proposed: tell the people affected without undue delay where the risk to them is high (Art. 34), with what to watch for (the consequences above)."
    );
    let _ = writeln!(
        o,
        "- Taken: **TO COMPLETE** (containment, eradication, recovery).\n"
    );
    let _ = writeln!(
        o,
        "## Contact\n\nThe data-protection officer: **TO COMPLETE**."
    );
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
    }
}
