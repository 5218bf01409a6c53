//! The investigation as a pipeline sink: each detection's entities (named by its input's
//! format), kept for the incidents and stored in the case file as it streams; at the end the
//! incidents are built and the case file completed.

use crate::case::{CaseError, CaseWriter};
use crate::events::{Events, Spill};
use dwell_core::{Entities, Kind, Record, Section};
use dwell_detect::Detection;
use dwell_investigate::{Finding, Investigation, LogonReader, Options, Report};
use dwell_pipeline::{Sink, SinkError, Tables};
use std::borrow::Cow;

/// Collects what the investigation needs while detections are written.
pub struct Investigator<'a> {
    inv: Investigation,
    case: Option<CaseWriter>,
    case_ids: Vec<i64>,
    logons: &'a LogonReader,
    opts: Options,
    report: Option<Report>,
    spill: Option<Spill>,
    events: Events,
    failed_spill: Option<String>,
}

impl<'a> Investigator<'a> {
    /// An investigation whose lateral movements come from `logons` (an observer of the same
    /// run), writing `case` when given.
    pub fn new(logons: &'a LogonReader, case: Option<CaseWriter>, opts: Options) -> Self {
        Investigator {
            inv: Investigation::default(),
            case,
            case_ids: Vec::new(),
            logons,
            opts,
            report: None,
            spill: None,
            events: Events::new(),
            failed_spill: None,
        }
    }

    /// Keeps every detection's content aside, so [`Investigator::events`] can give the
    /// incidents' detections' for the HTML report.
    pub fn keep_events(mut self) -> Self {
        match Spill::new() {
            Ok(s) => self.spill = Some(s),
            Err(e) => self.failed_spill = Some(format!("cannot keep events aside: {e}")),
        }
        self
    }

    /// The contents of the incidents' detections (campaigns first), once the run has
    /// finished; empty unless [`Investigator::keep_events`] was asked for.
    pub fn events(&mut self) -> Events {
        std::mem::take(&mut self.events)
    }

    /// The incidents, once the run has finished.
    pub fn report(&mut self) -> Option<Report> {
        self.report.take()
    }
}

/// The fields an investigation reads of a detection: its event's, or for a correlation
/// (which has no event of its own) its group-by values.
fn fields(d: &Detection) -> Cow<'_, Record> {
    if d.correlation.is_none() {
        return Cow::Borrowed(&d.event);
    }
    let mut r = (*d.event).clone();
    for (k, v) in d.matched.iter().filter(|(_, v)| v != "(none)") {
        if r.get(k).is_none() {
            r.push(k, v, Kind::Str, Section::Other);
        }
    }
    Cow::Owned(r)
}

/// A correlation's group-by values that name an account or address by their field's name
/// (`user`, `TargetUserName`, `IpAddress`...), whatever the format's own account fields are:
/// a correlation's aliases choose its names.
fn correlation_entities(d: &Detection, ents: &mut Entities) {
    for (k, v) in d.matched.iter().filter(|(_, v)| v != "(none)") {
        let k = k.to_ascii_lowercase();
        if ["user", "account", "person", "actor", "principal"]
            .iter()
            .any(|w| k.contains(w))
        {
            let a = dwell_core::entity::account(v, None);
            if ents.account.is_none() {
                ents.account = a.clone();
            }
            ents.add(dwell_core::EntityKind::Account, a);
        } else if k.contains("ip") || k.contains("address") {
            ents.add(dwell_core::EntityKind::Ip, dwell_core::entity::ip(v));
        }
    }
}

fn failed(e: CaseError) -> SinkError {
    SinkError::Failed(e.0)
}

impl Sink for Investigator<'_> {
    fn detection(&mut self, d: &Detection, tables: &Tables<'_>) -> Result<(), SinkError> {
        let record = fields(d);
        let mut ents = Entities::default();
        match tables.inputs.format(d.input) {
            Some(f) => f.entities(&record, &d.host, &mut ents),
            None => {
                ents.host = dwell_core::entity::host(&d.host);
                ents.add(dwell_core::EntityKind::Host, ents.host.clone());
            }
        }
        if d.correlation.is_some() {
            correlation_entities(d, &mut ents);
        }
        let host = ents.host.clone().unwrap_or_default();
        let rule = &tables.rules[d.rule as usize];
        let id = match &mut self.case {
            Some(c) => Some(
                c.detection(d, rule, &host, ents.account.as_deref(), &ents.all)
                    .map_err(failed)?,
            ),
            None => None,
        };
        match d.time {
            Some(time) => {
                if let Some(sp) = &mut self.spill
                    && let Err(e) = sp.push(d)
                {
                    return Err(SinkError::Failed(format!("cannot keep events aside: {e}")));
                }
                self.inv.add_detection(Finding {
                    time,
                    rule: d.rule,
                    host,
                    account: ents.account,
                    entities: ents.all,
                    input: d.input,
                    record: d.record,
                });
                self.case_ids.extend(id);
            }
            None => self.inv.add_undated(),
        }
        Ok(())
    }

    fn finish(&mut self, tables: &Tables<'_>) -> Result<(), SinkError> {
        let mut inv = std::mem::take(&mut self.inv);
        inv.add_logons(self.logons.take());
        inv.add_traces(self.logons.take_traces());
        let report = inv.build(tables.rules, self.opts.clone(), &tables.inputs.names());
        if let Some(case) = self.case.take() {
            case.finish(tables.inputs, &report, &self.case_ids)
                .map_err(failed)?;
        }
        if let Some(e) = self.failed_spill.take() {
            return Err(SinkError::Failed(e));
        }
        if let Some(sp) = self.spill.take() {
            let wanted = report
                .incidents
                .iter()
                .flat_map(|i| i.detections.iter().map(|d| d.index));
            self.events = sp.read(wanted).map_err(|e| {
                SinkError::Failed(format!("cannot read the events kept aside: {e}"))
            })?;
        }
        self.report = Some(report);
        Ok(())
    }
}
