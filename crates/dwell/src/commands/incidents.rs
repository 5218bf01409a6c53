//! The investigation's outputs, shared by `hunt --case/--html/--timeline`, `investigate` and
//! `report`: the HTML report and the timeline (each written whole or not at all), and the
//! incidents themselves on standard output or `--output`.

use crate::Fail;
use crate::cli::IncidentFormat;
use crate::output::{Output, written};
use dwell_investigate::Report;
use dwell_report::incidents::{write_json, write_table, write_timeline};
use std::io::Write;
use std::path::Path;

/// Fails before the run, not after it, when an output file cannot be written.
pub fn check_writable(paths: &[&Option<std::path::PathBuf>]) -> Result<(), Fail> {
    for p in paths.iter().filter_map(|p| p.as_ref()) {
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if !dir.is_dir() || p.is_dir() {
            return Err(Fail(format!(
                "cannot write {}: no such folder, or it is a folder",
                p.display()
            )));
        }
    }
    Ok(())
}

/// Writes the HTML report (with the detections' contents in `events`) and the timeline, when
/// asked for.
pub fn files(
    report: &Report,
    events: &dwell_report::events::Events,
    html: Option<&Path>,
    timeline: Option<&Path>,
) -> Result<(), Fail> {
    if let Some(p) = html {
        let page = dwell_report::html::render(report, events);
        dwell_report::write_whole(p, |w: &mut dyn Write| w.write_all(page.as_bytes()))
            .map_err(|e| Fail(format!("cannot write {}: {e}", p.display())))?;
    }
    if let Some(p) = timeline {
        let jsonl = p
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"));
        dwell_report::write_whole(p, |w: &mut dyn Write| write_timeline(w, report, jsonl))
            .map_err(|e| Fail(format!("cannot write {}: {e}", p.display())))?;
    }
    Ok(())
}

/// Prints the incidents.
pub fn print(
    report: &Report,
    format: IncidentFormat,
    mut out: Output,
    color: bool,
) -> Result<(), Fail> {
    let r = match format {
        IncidentFormat::Table => write_table(&mut out, report, color),
        IncidentFormat::Json => write_json(&mut out, report),
    };
    written(r, "incidents")?;
    out.done()
}
