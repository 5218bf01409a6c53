//! `dwell scope` on the simulated estate, held to the simulator's own truth: the campaign's
//! reads of personal data, evaluated against the snapshots, give exactly the people and the
//! categories the truth computed from the attack's exports; the nightly job that runs as the
//! same role from the same host is routine and set aside; the keys file is the owner's alone.

mod common;

use common::{browse, chromium, dwell, p, stderr, stdout};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn scope_of_the_campaign_is_the_truths_exposure_exactly() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("demo");
    // The demo writes the estate, its data map and snapshots, and the case file.
    let o = dwell(&[
        "demo",
        "--out",
        p(&out),
        "--scale",
        "0.05",
        "--color",
        "never",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let truth = read_json(&out.join("truth.json"));
    let keys = t.path().join("keys.csv");
    let snap = |table: &str| format!("{table}={}", p(&out.join(format!("snapshots/{table}.csv"))));
    let (customers, orders) = (snap("public.customers"), snap("public.orders"));
    let (map, db_logs) = (out.join("data-map.yml"), out.join("logs/db01"));
    let args = |extra: &[&str]| -> Value {
        let mut a = vec![
            "scope",
            "--data-map",
            p(&map),
            "--snapshot",
            &customers,
            "--snapshot",
            &orders,
            "--format",
            "json",
            "--no-progress",
        ];
        a.extend_from_slice(extra);
        a.push(p(&db_logs));
        let o = dwell(&a);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        serde_json::from_str(&stdout(&o)).expect("one JSON document")
    };
    let notice = t.path().join("notice.md");
    let s = args(&[
        "--case",
        p(&out.join("case.dwell")),
        "--keys",
        p(&keys),
        "--report",
        p(&notice),
        "--aware",
        "2025-04-25T08:00:00Z",
    ]);
    let exposed = &truth["exposed"];
    // The notification draft: the deadline from awareness, the figures, and their evidence.
    let draft = std::fs::read_to_string(&notice).unwrap();
    assert!(draft.contains("by 2025-04-28T08:00:00"), "{draft}");
    assert!(
        draft.contains(&format!(
            "Data subjects affected: **{}**",
            exposed["people"]
        )),
        "{draft}"
    );
    for e in exposed["exports"].as_array().unwrap() {
        assert!(
            draft.contains(&format!(
                "{} record {} |",
                e["file"].as_str().unwrap(),
                e["line"]
            )),
            "{e}"
        );
    }
    let first = &truth["first_malicious"];
    assert!(
        draft.contains(&format!(
            "{} record {}",
            first["file"].as_str().unwrap(),
            first["line"]
        )),
        "{draft}"
    );
    assert!(draft.contains("TO COMPLETE"));
    assert_eq!(s["people_affected"], exposed["people"]);
    let by_cat: BTreeMap<String, u64> =
        serde_json::from_value(s["people_by_category"].clone()).unwrap();
    let want: BTreeMap<String, u64> =
        serde_json::from_value(exposed["by_category"].clone()).unwrap();
    assert_eq!(by_cat, want);
    let rows: u64 = exposed["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rows"].as_u64().unwrap())
        .sum();
    assert_eq!(s["records_affected"].as_u64().unwrap(), rows);
    // Each export the truth lists is an exact access, at its line.
    let accesses = s["accesses"].as_array().unwrap();
    for e in exposed["exports"].as_array().unwrap() {
        let a = accesses
            .iter()
            .find(|a| {
                a["record"] == e["line"]
                    && a["source"]
                        .as_str()
                        .unwrap()
                        .ends_with(e["file"].as_str().unwrap())
            })
            .unwrap_or_else(|| panic!("no access for {e}"));
        assert_eq!(a["evaluation"], "exact");
        assert_eq!(a["people"], e["people"]);
    }
    // The probe with LIMIT and no ORDER BY is a bound, not a set; nothing else is.
    let bounds = s["bounds"].as_array().unwrap();
    assert_eq!(bounds.len(), 1, "{bounds:?}");
    assert!(bounds[0]["why"].as_str().unwrap().contains("LIMIT"));
    assert_eq!(s["exact"], false);
    // Every access is the campaign's role from the jump host: none of the application's.
    for a in accesses {
        assert_ne!(a["principal"], "svc_orders");
    }
    // The nightly reporting job: the same role from the same host, every night since before
    // the intrusion: routine, set aside.
    let routine = s["routine"].as_array().unwrap();
    assert!(
        routine
            .iter()
            .any(|r| r["principal"] == "svc_reports" && r["days"].as_u64().unwrap() >= 3),
        "{routine:?}"
    );
    // The keys: one row per person, the owner's alone.
    let text = std::fs::read_to_string(&keys).unwrap();
    assert_eq!(
        text.lines().count() as u64 - 1,
        exposed["people"].as_u64().unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The same principals given by hand, in the same window, give the same answer.
    let by_hand = args(&[
        "--account",
        "svc_reports",
        "--ip",
        "10.10.30.23",
        "--from",
        s["principals"]["from"].as_str().unwrap(),
        "--to",
        s["principals"]["to"].as_str().unwrap(),
    ]);
    assert_eq!(by_hand["people_affected"], s["people_affected"]);
    assert_eq!(by_hand["people_by_category"], s["people_by_category"]);
}

#[test]
fn a_bad_data_map_or_snapshot_is_refused_with_its_place() {
    let t = tempfile::tempdir().unwrap();
    let map = t.path().join("map.yml");
    std::fs::write(&map, "tables:\n  customers:\n    columns: {email: email}\n").unwrap();
    let log = t.path().join("pg.csv");
    std::fs::write(&log, "").unwrap();
    let o = dwell(&["scope", "--data-map", p(&map), "--account", "x", p(&log)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("line 3") && stderr(&o).contains("person"),
        "{}",
        stderr(&o)
    );
    std::fs::write(
        &map,
        "tables:\n  customers:\n    person: customer_id\n    columns: {email: email}\n",
    )
    .unwrap();
    let snap = t.path().join("c.csv");
    std::fs::write(&snap, "id,email\n1,a@x\n").unwrap();
    let spec = format!("customers={}", p(&snap));
    let o = dwell(&[
        "scope",
        "--data-map",
        p(&map),
        "--snapshot",
        &spec,
        "--account",
        "x",
        p(&log),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("customer_id"), "{}", stderr(&o));
    let o = dwell(&["scope", "--data-map", p(&map), p(&log)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--account"), "{}", stderr(&o));
}

#[test]
fn the_html_draft_renders_the_figures_and_runs_nothing_in_chromium() {
    let Some(browser) = chromium() else { return };
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("demo");
    let o = dwell(&[
        "demo",
        "--out",
        p(&out),
        "--scale",
        "0.05",
        "--color",
        "never",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let truth = read_json(&out.join("truth.json"));
    let snap = |table: &str| format!("{table}={}", p(&out.join(format!("snapshots/{table}.csv"))));
    let (html, md) = (t.path().join("notice.html"), t.path().join("notice.md"));
    for report in [&html, &md] {
        let o = dwell(&[
            "scope",
            "--case",
            p(&out.join("case.dwell")),
            "--data-map",
            p(&out.join("data-map.yml")),
            "--snapshot",
            &snap("public.customers"),
            "--snapshot",
            &snap("public.orders"),
            "--format",
            "json",
            "--no-progress",
            "--report",
            p(report),
            "--aware",
            "2025-04-25T08:00:00Z",
            p(&out.join("logs/db01")),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        !page.contains("<script") && !page.contains("src="),
        "self-contained, inert"
    );
    let (dom, log) = browse(&browser, &html, "", None);
    assert!(
        !log.contains("Refused to"),
        "the page asks for nothing: {log}"
    );
    // What the browser shows is what the Markdown says: the people, and each export's line.
    let people = truth["exposed"]["people"].to_string();
    assert!(
        dom.contains(&format!(
            "Data subjects affected: <strong>{people}</strong>"
        )),
        "the figure is missing from the rendered page"
    );
    let draft = std::fs::read_to_string(&md).unwrap();
    assert!(draft.contains(&format!("Data subjects affected: **{people}**")));
    for e in truth["exposed"]["exports"].as_array().unwrap() {
        let at = format!("{} record {}", e["file"].as_str().unwrap(), e["line"]);
        assert!(dom.contains(&format!("{at}</td>")), "{at}");
    }
    // One evidence row per access in both.
    let rows = dom.matches("<tr>").count();
    let md_rows = draft.lines().filter(|l| l.starts_with("| ")).count();
    assert_eq!(rows, md_rows, "the same tables in both");
    assert!(dom.contains("by 2025-04-28T08:00:00"));
}
