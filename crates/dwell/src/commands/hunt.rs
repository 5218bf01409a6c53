//! `dwell hunt`: every detection, in time order, in the chosen format; with `--case`, `--html`
//! or `--timeline` the incidents too.

use super::{incidents, scan};
use crate::cli::{HuntArgs, ProfileArg};
use crate::messages::Messages;
use crate::options::{Scan, color_err, color_out, detection_format};
use crate::output::Output;
use crate::{Fail, Outcome};
use dwell_core::Observer;
use dwell_investigate::LogonReader;
use dwell_pipeline::Sink;
use dwell_report::case::CaseWriter;
use dwell_report::{Investigator, Profile, Writer};

pub fn run(args: HuntArgs) -> Result<Outcome, Fail> {
    let mut o = Scan::from_args(args.scan)?;
    o.pipeline.parse_only = args.parse_only;
    let c = &o.case;
    incidents::check_writable(&[&c.html, &c.timeline, &o.coverage])?;
    let out = Output::open(args.output.as_deref())?;
    let terminal = out.terminal;
    let width = console::Term::stdout()
        .size_checked()
        .map_or(160, |(_, w)| w as usize);
    let format = detection_format(args.format, terminal);
    let mut writer = Writer::new(format, out, color_out(o.color, terminal), width)
        .neutralise(!args.csv_formulas);
    if let Some(p) = args.profile {
        writer = writer.profile(match p {
            ProfileArg::Minimal => Profile::Minimal,
            ProfileArg::Standard => Profile::Standard,
            ProfileArg::Verbose => Profile::Verbose,
            ProfileArg::All => Profile::All,
        });
    }
    let logons = LogonReader::default();
    let case = c.case.as_deref().map(CaseWriter::create).transpose()?;
    let mut inv = Investigator::new(&logons, case, c.investigation());
    if c.html.is_some() {
        inv = inv.keep_events();
    }
    let investigating = c.any();
    let mut sinks: Vec<&mut dyn Sink> = vec![&mut writer];
    let mut observers: Vec<&dyn Observer> = Vec::new();
    if investigating {
        sinks.push(&mut inv);
        observers.push(&logons);
    }
    let color = color_err(o.color);
    let (ran, _msgs) = scan::run(
        &o,
        |total| Messages::new(color, o.progress, total),
        &mut sinks,
        &observers,
    )?;
    drop(sinks);
    if writer.undated() > 0 {
        let why = match format {
            dwell_report::Format::Ocsf => "an OCSF finding requires a time",
            _ => "Timesketch drops a document without a datetime",
        };
        eprintln!(
            "warning: {} detection(s) of events without a time were not written: {why} (--format jsonl or csv keeps them)",
            writer.undated()
        );
    }
    if let Some(report) = inv.report() {
        incidents::files(
            &report,
            &inv.events(),
            c.html.as_deref(),
            c.timeline.as_deref(),
        )?;
    }
    ran.summary(color);
    Ok(Outcome::of(ran.partial))
}
