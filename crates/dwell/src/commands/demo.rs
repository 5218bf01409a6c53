//! `dwell demo`: simulate, investigate with the built-in rules, and answer the responder's
//! questions on one screen beside the simulator's ground truth; the answers are also written as
//! `demo.json`, which the tests hold against `truth.json`.

use super::investigate::investigate;
use super::simulate::{parse_until, write};
use crate::cli::{Cli, ColorChoice, Command, DemoArgs, InputArgs};
use crate::{Fail, Outcome};
use clap::Parser;
use dwell_investigate::Report;
use dwell_scope::Scope;
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

/// dwell's answers, from the gravest campaign.
struct Answers {
    campaigns: usize,
    first: Option<(i64, String, String)>,
    severity: String,
    impact: Option<i64>,
    hosts: BTreeSet<String>,
    people: BTreeSet<String>,
    stages: Vec<String>,
    exports: usize,
    egress: usize,
    detections: usize,
    /// Critical and high detections in the campaign.
    critical: usize,
    high: usize,
    set_aside: usize,
}

fn answers(report: &Report) -> Answers {
    let id = |n| dwell_builtin::id_of(n).unwrap_or_default();
    let (export, egress) = (
        id("dwell_pgaudit_bulk_export_personal_data"),
        id("dwell_proxy_egress_volume_file_sharing_or_relay"),
    );
    let mut a = Answers {
        campaigns: report.campaigns,
        first: None,
        severity: String::new(),
        impact: None,
        hosts: BTreeSet::new(),
        people: BTreeSet::new(),
        stages: Vec::new(),
        exports: 0,
        egress: 0,
        detections: 0,
        critical: 0,
        high: 0,
        set_aside: report.set_aside.iter().map(|s| s.detections).sum(),
    };
    // Campaigns come first, gravest first.
    let Some(c) = report.incidents.iter().find(|i| i.campaign) else {
        return a;
    };
    a.first = Some((
        c.first.time,
        c.first.rule_title.clone(),
        format!("{} record {}", c.first.source, c.first.record),
    ));
    a.severity = c.severity.clone();
    a.impact = c.impact.as_ref().map(|d| d.time);
    for x in &c.compromised {
        match x.kind.as_str() {
            "host" => {
                a.hosts.insert(x.name.clone());
            }
            "account" => {
                a.people.insert(person(&x.name));
            }
            _ => {}
        }
    }
    for s in &c.stages {
        a.stages.push(format!(
            "{} {}: {}",
            time(s.first).get(..16).unwrap_or(""),
            s.hosts.join(", "),
            s.headline.join("; ")
        ));
    }
    for d in &c.detections {
        a.detections += 1;
        a.critical += usize::from(d.level == "critical");
        a.high += usize::from(d.level == "high");
        a.exports += usize::from(d.rule_id == export);
        a.egress += usize::from(d.rule_id == egress);
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
    // ESXi's and PostgreSQL's own log files name no host; the estate's layout does.
    for (host, dir) in [("ESX01", "esx01"), ("DB01", "db01")] {
        argv.extend([
            "--host".to_string(),
            format!("{host}={}", logs.join(dir).display()),
        ]);
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
    let taken = taken(&out, &report, args.color)?;
    print(
        &out,
        &truth,
        &a,
        &report,
        taken.as_ref(),
        simulated,
        ran.seconds,
    );
    let doc = json!({
        "out": out,
        "incidents": report.incidents.len(),
        "campaigns": a.campaigns,
        "detections": report.detections,
        "campaign_detections": a.detections,
        "set_aside": a.set_aside,
        "first": a.first.as_ref().map(|f| json!({"time": time(f.0), "ms": f.0 / 1_000_000, "rule": f.1, "where": f.2})),
        "impact_ms": a.impact.map(|i| i / 1_000_000),
        "hosts": a.hosts,
        "people": a.people,
        "bulk_exports": a.exports,
        "egress_alerts": a.egress,
        "people_affected": taken.as_ref().map(|s| s.people_affected),
        "people_upper": taken.as_ref().and_then(|s| s.people_upper),
        "people_by_category": taken.as_ref().map(|s| &s.people_by_category),
        "records_affected": taken.as_ref().map(|s| s.records_affected),
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

/// Whose data the gravest campaign read: `dwell scope` of it over the estate's logs, with its
/// data map and snapshots.
fn taken(out: &Path, report: &Report, color: ColorChoice) -> Result<Option<Scope>, Fail> {
    if !report.incidents.iter().any(|i| i.campaign) {
        return Ok(None);
    }
    let snaps: Vec<String> = ["public.customers", "public.orders"]
        .iter()
        .map(|t| format!("{t}={}", out.join(format!("snapshots/{t}.csv")).display()))
        .collect();
    let (map, snapshots) = super::scope::load(&out.join("data-map.yml"), &snaps)?;
    let who = super::scope::principals_of(report, None, &out.join("case.dwell"))?;
    let input = InputArgs {
        timezone: "UTC".into(),
        read_as: Vec::new(),
        squid_logformat: None,
        threads: None,
        color,
        no_progress: true,
    };
    let (s, _) =
        super::scope::measure(vec![out.join("logs")], &input, &who, &map, &snapshots, None)?;
    Ok(Some(s))
}

fn print(
    out: &Path,
    truth: &Truth,
    a: &Answers,
    report: &Report,
    taken: Option<&Scope>,
    sim: f64,
    hunt: f64,
) {
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
         {} detections, {} set aside as routine, sanctioned or unattached; {} campaign(s), {} lead(s).\n",
        dwell_builtin::RULES.len(),
        report.detections,
        a.set_aside,
        a.campaigns,
        report.incidents.len() - a.campaigns
    );
    if a.first.is_none() {
        println!("  Is someone in here?   No campaign: nothing shows an intrusion.");
    } else {
        println!(
            "  Is someone in here?   Yes: a {} campaign of {} detections ({} critical, {} high)",
            a.severity, a.detections, a.critical, a.high
        );
    }
    if let Some((t, rule, place)) = &a.first {
        println!("  Since when?           {}: {rule} ({place})", time(*t));
        if let Some(i) = a.impact {
            println!(
                "  Dwell time            {} until the first encryption ({})",
                span(i - t),
                time(i)
            );
        }
    }
    println!("  Where?                hosts {}", list(&a.hosts));
    println!("  Who?                  accounts of {}", list(&a.people));
    match taken {
        Some(s) => {
            let cats: Vec<String> = s
                .people_by_category
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            println!(
                "  What was taken?       {} people's data{} ({}), {} records, in {} read(s); {} egress alert(s) to file sharing",
                s.people_affected,
                match (s.exact, s.people_upper) {
                    (true, _) => " exactly".to_string(),
                    (false, Some(u)) if u > s.people_affected =>
                        format!(", at most {u} with the bounded reads"),
                    _ => String::new(),
                },
                cats.join(", "),
                s.records_affected,
                s.accesses.len(),
                a.egress
            );
        }
        None => println!(
            "  What was taken?       {} bulk export(s) of personal-data tables, {} egress alert(s) to file sharing",
            a.exports, a.egress
        ),
    }
    if !a.stages.is_empty() {
        println!("\n  The storyline, stage by stage:");
        for s in &a.stages {
            println!("    {s}");
        }
    }
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
