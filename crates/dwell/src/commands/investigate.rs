//! `dwell investigate`: the hunt's detections joined into incidents, printed as a summary or
//! one JSON document, with the case file, HTML report and timeline when asked for.

use super::scan::Ran;
use super::{incidents, scan};
use crate::cli::InvestigateArgs;
use crate::messages::Messages;
use crate::options::{Scan, color_err, color_out, incident_format};
use crate::output::Output;
use crate::{Fail, Outcome};
use dwell_investigate::{LogonReader, Report};
use dwell_report::Investigator;
use dwell_report::case::CaseWriter;

pub fn run(args: InvestigateArgs) -> Result<Outcome, Fail> {
    let out = Output::open(args.output.as_deref())?;
    let (report, ran, o) = investigate(args)?;
    let terminal = out.terminal;
    incidents::print(
        &report,
        incident_format(o.format, terminal),
        out,
        color_out(o.color, terminal),
    )?;
    ran.summary(color_err(o.color));
    Ok(Outcome::of(ran.partial))
}

/// What `investigate` was asked for that its printing needs.
pub struct Investigated {
    pub color: crate::cli::ColorChoice,
    format: Option<crate::cli::IncidentFormat>,
}

/// The investigation without its printing: the incidents (with the case file, HTML report and
/// timeline written when asked for) and the run, for `investigate` and `demo`.
pub fn investigate(args: InvestigateArgs) -> Result<(Report, Ran, Investigated), Fail> {
    let o = Scan::from_args(args.scan)?;
    let c = &o.case;
    incidents::check_writable(&[&c.html, &c.timeline, &o.coverage])?;
    let logons = LogonReader::default();
    let case = c.case.as_deref().map(CaseWriter::create).transpose()?;
    let mut inv = Investigator::new(&logons, case, c.investigation());
    if c.html.is_some() {
        inv = inv.keep_events();
    }
    let color = color_err(o.color);
    let (ran, _msgs) = scan::run(
        &o,
        |total| Messages::new(color, o.progress, total),
        &mut [&mut inv],
        &[&logons],
    )?;
    let report = inv
        .report()
        .ok_or_else(|| Fail("the investigation did not finish".into()))?;
    incidents::files(
        &report,
        &inv.events(),
        c.html.as_deref(),
        c.timeline.as_deref(),
    )?;
    Ok((
        report,
        ran,
        Investigated {
            color: o.color,
            format: args.format,
        },
    ))
}
