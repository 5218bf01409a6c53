//! `dwell report CASE`: the incidents of a case file, again, in any of the investigation's
//! outputs. The case file is only read.

use super::incidents;
use crate::cli::{ColorChoice, ReportArgs};
use crate::options::{color_out, incident_format};
use crate::output::Output;
use crate::{Fail, Outcome};

pub fn run(args: ReportArgs) -> Result<Outcome, Fail> {
    let report = dwell_report::case::read(&args.case)?;
    let out = Output::open(args.output.as_deref())?;
    let terminal = out.terminal;
    let events = match &args.html {
        Some(_) => dwell_report::case::events(&args.case)?,
        None => Default::default(),
    };
    incidents::files(
        &report,
        &events,
        args.html.as_deref(),
        args.timeline.as_deref(),
    )?;
    incidents::print(
        &report,
        incident_format(args.format, terminal),
        out,
        color_out(ColorChoice::Auto, terminal),
    )?;
    Ok(Outcome::Complete)
}
