//! The HTML report: one self-contained file (inline style and script, no network, a
//! Content-Security-Policy that forbids any fetch) that draws the incidents from data
//! embedded in the page.
//!
//! The page, not the server, draws charts and tables, so a report of 100,000 detections is
//! one compact JSON block plus tables drawn a page at a time; `report.html` is the page.

use crate::events::Events;
use dwell_investigate::{DetectionRef, Report, Touched};
use serde_json::{Value, json};
use std::collections::HashMap;

const PAGE: &str = include_str!("report.html");

fn ms(ns: i64) -> f64 {
    ns as f64 / 1e6
}

/// Interns strings into a table the page indexes.
#[derive(Default)]
struct Table {
    list: Vec<Value>,
    index: HashMap<String, usize>,
}

impl Table {
    fn id(&mut self, key: String, value: impl FnOnce() -> Value) -> usize {
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        self.list.push(value());
        self.index.insert(key, self.list.len() - 1);
        self.list.len() - 1
    }
}

/// The data the page draws: the report with sources and rules interned and detections as
/// short arrays, so the embedded block stays small; `events` holds the contents of the
/// detections the page can show.
pub fn data(r: &Report, events: &Events, generated: &str) -> Value {
    let mut sources = Table::default();
    let mut rules = Table::default();
    let mut src = |s: &str| sources.id(s.to_string(), || json!(s));
    let mut rule = |d: &DetectionRef| {
        rules.id(
            format!("{}\u{1}{}\u{1}{}", d.rule_id, d.rule_title, d.level),
            || json!([d.rule_id, d.rule_title, d.level]),
        )
    };
    let mut incidents = Vec::with_capacity(r.incidents.len());
    for inc in &r.incidents {
        let mut one = |d: &DetectionRef| json!({"t": ms(d.time), "r": rule(d), "host": d.host, "a": d.account, "s": src(&d.source), "n": d.record, "i": d.index});
        let first = one(&inc.first);
        let last = one(&inc.last);
        let impact = inc.impact.as_ref().map(&mut one);
        let touched = |t: &Touched| {
            json!({
                "name": t.name, "first": ms(t.first), "last": ms(t.last), "detections": t.detections,
                "reached": t.reached.as_deref().and_then(dwell_core::time::parse).map(ms),
            })
        };
        let hosts: Vec<Value> = inc.hosts.iter().map(touched).collect();
        let accounts: Vec<Value> = inc.accounts.iter().map(touched).collect();
        let tactics: Vec<Value> = inc
            .tactics
            .iter()
            .map(|t| json!({"tactic": t.tactic, "first": ms(t.first)}))
            .collect();
        let movements: Vec<Value> = inc
            .movements
            .iter()
            .map(|m| {
                json!({
                    "t": ms(m.time), "account": m.account, "from": m.from, "to": m.to,
                    "logon_type": m.logon_type, "methods": m.methods, "admin": m.admin,
                    "evidence": m.evidence.iter().map(|e| json!({"kind": e.kind, "t": ms(e.time), "s": src(&e.source), "n": e.record})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let dets: Vec<Value> = inc
            .detections
            .iter()
            .map(|d| {
                let e = events
                    .get(&d.index)
                    .and_then(|t| serde_json::from_str::<Value>(t).ok())
                    .unwrap_or(Value::Null);
                json!([
                    ms(d.time),
                    rule(d),
                    d.host,
                    d.account,
                    src(&d.source),
                    d.record,
                    d.role,
                    d.why,
                    e
                ])
            })
            .collect();
        let links: Vec<Value> = inc
            .links
            .iter()
            .map(|l| {
                json!([
                    l.via,
                    l.entity,
                    ms(l.from.time),
                    src(&l.from.source),
                    l.from.record,
                    ms(l.to.time),
                    src(&l.to.source),
                    l.to.record
                ])
            })
            .collect();
        let compromised: Vec<Value> = inc
            .compromised
            .iter()
            .map(|c| {
                json!({
                    "kind": c.kind, "name": c.name, "first": ms(c.first_abuse), "since": ms(c.since),
                    "how": c.how, "confidence": c.confidence,
                    "remediated": c.remediated.as_ref().map(|m| json!({"t": ms(m.time), "how": m.how})),
                })
            })
            .collect();
        let stages: Vec<Value> = inc
            .stages
            .iter()
            .map(|st| {
                json!({
                    "n": st.stage, "first": ms(st.first), "last": ms(st.last), "hosts": st.hosts,
                    "accounts": st.accounts, "tactics": st.tactics, "count": st.detections,
                    "headline": st.headline,
                })
            })
            .collect();
        incidents.push(json!({
            "id": inc.id, "campaign": inc.campaign, "severity": inc.severity, "dwell": inc.dwell_seconds,
            "impact": impact, "to_impact": inc.dwell_to_impact_seconds,
            "compromised": compromised, "stages": stages,
            "first": first, "last": last,
            "pz": {"host": inc.patient_zero.host, "account": inc.patient_zero.account},
            "hosts": hosts, "accounts": accounts, "tactics": tactics, "movements": movements,
            "rules": inc.rules, "dets": dets, "links": links,
        }));
    }
    json!({
        "dwell_version": env!("CARGO_PKG_VERSION"),
        "generated": generated,
        "gap": r.gap_seconds,
        "detections": r.detections,
        "undated": r.undated_detections,
        "sources": sources.list,
        "rules": rules.list,
        "incidents": incidents,
        "campaigns": r.campaigns,
        "set_aside": r.set_aside.iter().map(|x| json!([x.rule_title, x.level, x.reason, x.detections, x.why])).collect::<Vec<_>>(),
        "sanctioned": r.sanctioned.iter().map(|x| json!([x.ticket, x.summary, x.host, x.account, ms(x.start), ms(x.end), x.detections.len()])).collect::<Vec<_>>(),
        "identities": r.identities.iter().map(|x| json!([x.name, x.account, x.rule, x.why])).collect::<Vec<_>>(),
        "events": events.len(),
        "events_max": crate::events::MAX_SHOWN,
    })
}

/// The whole page for a report, with the contents of the detections in `events`.
pub fn render(r: &Report, events: &Events) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let json = data(r, events, &dwell_core::time::format(now)).to_string();
    // Inside a script element `</script` and `<!--` change how the text is read; `<` only
    // occurs inside JSON strings, where `\u003c` means the same.
    let json = json.replace('<', "\\u003c");
    PAGE.replacen("/*DATA*/", &json, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evil_incident(s: &str) -> dwell_investigate::Incident {
        use dwell_investigate::{DetectionRef, Incident, PatientZero};
        let d = DetectionRef {
            time: 0,
            rule_id: s.into(),
            rule_title: s.into(),
            level: "high".into(),
            host: s.into(),
            account: Some(s.into()),
            source: s.into(),
            record: 1,
            ..Default::default()
        };
        Incident {
            id: 1,
            severity: "high".into(),
            first: d.clone(),
            last: d.clone(),
            dwell_seconds: 0,
            patient_zero: PatientZero {
                host: Some(s.into()),
                account: Some(s.into()),
            },
            hosts: Vec::new(),
            accounts: Vec::new(),
            tactics: Vec::new(),
            movements: Vec::new(),
            rules: Vec::new(),
            detections: vec![d],
            links: Vec::new(),
            ..Default::default()
        }
    }

    #[test]
    fn embedded_data_cannot_close_the_script() {
        let r = Report {
            version: 1,
            gap_seconds: 60,
            detections: 0,
            undated_detections: 0,
            movements_seen: 0,
            incidents: Vec::new(),
            ..Default::default()
        };
        let page = render(&r, &Events::new());
        assert!(page.contains("\"gap\":60"));
        assert!(!page.contains("/*DATA*/"));
        // No address the browser could fetch.
        for needle in ["src=\"http", "href=\"http", "url(http", "@import"] {
            assert!(!page.contains(needle), "{needle}");
        }
        // Values from logs that could end the script or start a comment stay data.
        let mut r = r;
        r.incidents
            .push(evil_incident("x</script><script>alert(1)</script><!--"));
        let page = render(&r, &Events::new());
        let start = page.find("id=\"data\">").unwrap() + "id=\"data\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        let block = &page[start..end];
        assert!(!block.contains('<'));
        let back: Value = serde_json::from_str(block).expect("the block is valid JSON");
        assert_eq!(
            back["incidents"][0]["pz"]["account"],
            "x</script><script>alert(1)</script><!--"
        );
    }
}
