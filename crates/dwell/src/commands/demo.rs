//! `dwell demo`: simulate, investigate with the built-in rules, and answer the responder's
//! questions on one screen beside the simulator's ground truth; the answers are also written as
//! `demo.json`, which the tests hold against `truth.json`.

use super::investigate::investigate;
use super::simulate::{parse_until, write};
use crate::cli::{Cli, ColorChoice, Command, DemoArgs};
use crate::{Fail, Outcome};
use clap::Parser;
use dwell_investigate::Report;
use dwell_simulate::{Config, Truth};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A new folder for the demo under the system's temporary folder.
fn fresh_dir() -> Result<PathBuf, Fail> {
    let base = std::env::temp_dir();
    for i in 0..1000u32 {
        let p = base.join(format!("dwell-demo-{}-{i}", std::process::id()));
        if std::fs::create_dir(&p).is_ok() {
            return Ok(p);
        }
    }
    Err(Fail(format!(
        "cannot create a folder under {}",
        base.display()
    )))
}

/// Detection times are nanoseconds since the epoch.
fn time(ns: i64) -> String {
    dwell_core::time::format(ns)
}

fn span(ns: i64) -> String {
    let ms = ns / 1_000_000;
    let (d, h, m) = (ms / 86_400_000, ms / 3_600_000 % 24, ms / 60_000 % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else {
        format!("{h}h {m}m")
    }
}

/// The person an account names, without its domain (`NORTHGATE\j.doe`, `j.doe@x` -> `j.doe`).
fn person(a: &str) -> String {
    let a = a.rsplit('\\').next().unwrap_or(a);
    a.split('@').next().unwrap_or(a).to_lowercase()
}

/// dwell's answers, from the incidents the investigation rates high or critical.
struct Answers {
    first: Option<(i64, String, String)>,
    gravest: Option<(String, i64, String)>,
    impact: Option<i64>,
    hosts: BTreeSet<String>,
    people: BTreeSet<String>,
    exports: usize,
    egress: usize,
    grave: usize,
    /// Critical and high detections in the grave incidents.
    critical: usize,
    high: usize,
}

fn answers(report: &Report) -> Answers {
    let id = |n| dwell_builtin::id_of(n).unwrap_or_default();
    let (export, egress, kill) = (
        id("dwell_pgaudit_bulk_export_personal_data"),
        id("dwell_proxy_egress_volume_file_sharing_or_relay"),
        id("dwell_esxi_kill_chain"),
    );
    let grave: Vec<_> = report
        .incidents
        .iter()
        .filter(|i| matches!(i.severity.as_str(), "high" | "critical"))
        .collect();
    let mut a = Answers {
        first: None,
        gravest: None,
        impact: None,
        hosts: BTreeSet::new(),
        people: BTreeSet::new(),
        exports: 0,
        egress: 0,
        grave: grave.len(),
        critical: 0,
        high: 0,
    };
    for inc in &grave {
        for d in &inc.detections {
            if !matches!(d.level.as_str(), "high" | "critical" | "medium") {
                continue;
            }
            if a.first.as_ref().is_none_or(|f| d.time < f.0) {
                a.first = Some((
                    d.time,
                    d.rule_title.clone(),
                    format!("{} record {}", d.source, d.record),
                ));
            }
            let rank = |l: &str| ["medium", "high", "critical"].iter().position(|x| *x == l);
            if a.gravest.as_ref().is_none_or(|g| {
                rank(&d.level) > rank(&g.2) || (rank(&d.level) == rank(&g.2) && d.time < g.1)
            }) {
                a.gravest = Some((d.rule_title.clone(), d.time, d.level.clone()));
            }
            if d.rule_id == kill && a.impact.is_none_or(|t| d.time < t) {
                a.impact = Some(d.time);
            }
            a.critical += usize::from(d.level == "critical");
            a.high += usize::from(d.level == "high");
            a.exports += usize::from(d.rule_id == export);
            a.egress += usize::from(d.rule_id == egress);
        }
        for h in &inc.hosts {
            a.hosts
                .insert(h.name.split('.').next().unwrap_or(&h.name).to_uppercase());
        }
        for acc in &inc.accounts {
            a.people.insert(person(&acc.name));
        }
    }
    a
}

pub fn run(args: DemoArgs) -> Result<Outcome, Fail> {
    let out = match &args.out {
        Some(p) => p.clone(),
        None => fresh_dir()?,
    };
    let cfg = Config {
        seed: args.seed,
        scale: args.scale,
        until: args.until.as_deref().map(parse_until).transpose()?,
    };
    let started = std::time::Instant::now();
    let truth = write(&out, &cfg)?;
    let simulated = started.elapsed().as_secs_f64();
    let logs = out.join("logs");
    let (case, html) = (out.join("case.dwell"), out.join("report.html"));
    let color = match args.color {
        ColorChoice::Always => "always",
        ColorChoice::Never => "never",
        ColorChoice::Auto => "auto",
    };
    let mut argv: Vec<String> = ["dwell", "investigate", "--no-progress", "--color", color]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for r in &args.rules {
        argv.extend(["--rules".to_string(), r.display().to_string()]);
    }
    if !args.rules.is_empty() {
        argv.push("--with-builtin".into());
    }
    for (flag, p) in [("--case", &case), ("--html", &html)] {
        argv.extend([flag.to_string(), p.display().to_string()]);
    }
    argv.push(logs.display().to_string());
    let Command::Investigate(inv) = Cli::try_parse_from(&argv)
        .map_err(|e| Fail(format!("internal error building the investigation: {e}")))?
        .command
    else {
        return Err(Fail("internal error building the investigation".into()));
    };
    let (report, ran, _) = investigate(inv)?;
    let a = answers(&report);
    print(&out, &truth, &a, &report, simulated, ran.seconds);
    let doc = json!({
        "out": out,
        "incidents": report.incidents.len(),
        "grave_incidents": a.grave,
        "detections": report.detections,
        "first": a.first.as_ref().map(|f| json!({"time": time(f.0), "ms": f.0 / 1_000_000, "rule": f.1, "where": f.2})),
        "impact_ms": a.impact.map(|i| i / 1_000_000),
        "hosts": a.hosts,
        "people": a.people,
        "bulk_exports": a.exports,
        "egress_alerts": a.egress,
    });
    let path = out.join("demo.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n",
    )
    .map_err(|e| Fail(format!("cannot write {}: {e}", path.display())))?;
    ran.summary(crate::options::color_err(args.color));
    Ok(Outcome::of(ran.partial))
}

fn print(out: &Path, truth: &Truth, a: &Answers, report: &Report, sim: f64, hunt: f64) {
    let files = truth.json["files"].as_object().map_or(0, |f| f.len());
    let records: u64 = truth.json["files"]
        .as_object()
        .map_or(0, |f| f.values().filter_map(|v| v.as_u64()).sum());
    let list = |s: &BTreeSet<String>| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    println!(
        "dwell demo: a retailer's estate, simulated in {sim:.1}s: {files} log files, {records} records \
         (Okta, ServiceNow, Windows DC01/JMP01/BKP01 with Sysmon, PostgreSQL with pgaudit, Linux, ESXi, \
         Squid, nginx), an intruder among them; investigated with dwell's {} built-in rules in {hunt:.1}s: \
         {} detections, {} incidents, {} of them high or critical.\n",
        dwell_builtin::RULES.len(),
        report.detections,
        report.incidents.len(),
        a.grave
    );
    match &a.gravest {
        Some((rule, t, level)) => println!(
            "  Is someone in here?   Yes: {} critical and {} high detections. First of the gravest: {rule} ({level}) at {}",
            a.critical,
            a.high,
            time(*t)
        ),
        None => println!("  Is someone in here?   Nothing high or critical fired."),
    }
    if let Some((t, rule, place)) = &a.first {
        println!("  Since when?           {}: {rule} ({place})", time(*t));
        if let Some(i) = a.impact {
            println!(
                "  Dwell time            {} until the hypervisor was hit ({})",
                span(i - t),
                time(i)
            );
        }
    }
    println!("  Where?                hosts {}", list(&a.hosts));
    println!("  Who?                  accounts of {}", list(&a.people));
    println!(
        "  What was taken?       {} bulk export(s) of personal-data tables, {} egress alert(s) to file sharing \
         (whose data: `dwell scope`, a later release)",
        a.exports, a.egress
    );
    let t = &truth.json;
    println!(
        "\n  The simulator's truth: began {} ({}), hit the hypervisor {}; people {}; hosts {}; \
         {} customers' data taken.",
        t["first_malicious"]["time"].as_str().unwrap_or("-"),
        t["first_malicious"]["file"].as_str().unwrap_or("-"),
        t["impact"].as_str().unwrap_or("(not reached)"),
        truth.people.join(", "),
        truth.hosts.join(", "),
        truth.exposed_people
    );
    println!(
        "\n  Report     {}\n  Case file  {}\n  Logs       {}\n  Truth      {}",
        out.join("report.html").display(),
        out.join("case.dwell").display(),
        out.join("logs").display(),
        out.join("truth.json").display()
    );
}
