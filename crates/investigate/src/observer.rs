//! The investigation's reader of lateral-movement evidence, as a pipeline observer: each
//! worker thread's tap keeps the logon records of the events it decodes, and hands them over
//! when it is done.

use crate::logon::{self, Logon};
use crate::trace::{self, Trace};
use dwell_core::{Event, Observer, Place, Role, Tap};
use std::sync::Mutex;

/// Gathers [`Logon`] records and [`Trace`]s from every event that may carry one.
#[derive(Debug, Default)]
pub struct LogonReader {
    found: Mutex<(Vec<Logon>, Vec<Trace>)>,
}

impl LogonReader {
    /// The logon records gathered so far (taken out).
    pub fn take(&self) -> Vec<Logon> {
        std::mem::take(&mut self.found.lock().unwrap_or_else(|e| e.into_inner()).0)
    }

    /// The traces gathered so far (taken out).
    pub fn take_traces(&self) -> Vec<Trace> {
        std::mem::take(&mut self.found.lock().unwrap_or_else(|e| e.into_inner()).1)
    }
}

impl Observer for LogonReader {
    fn tap(&self) -> Box<dyn Tap + '_> {
        Box::new(LogonTap {
            reader: self,
            found: Vec::new(),
            traces: Vec::new(),
        })
    }
}

struct LogonTap<'a> {
    reader: &'a LogonReader,
    found: Vec<Logon>,
    traces: Vec<Trace>,
}

impl Tap for LogonTap<'_> {
    fn wants(&self, ev: &Event) -> bool {
        let stream = ev.stream().unwrap_or("");
        logon::wants(stream, ev.code())
            || logon::wants_program(stream)
            || trace::wants(stream, ev.role(Role::Code).unwrap_or(""))
    }

    fn event(&mut self, ev: &Event, at: Place) {
        let Some(t) = ev.timestamp else { return };
        let stream = ev.stream().unwrap_or("");
        let host = ev.host().unwrap_or("");
        let place = (at.input, at.record);
        let get = |k: &str| ev.get_ci(k);
        let l = if logon::wants_program(stream) {
            logon::extract_program(stream, host, t, place, &get)
        } else {
            logon::extract(stream, ev.code(), host, t, place, &get)
        };
        self.found.extend(l);
        let code = ev.role(Role::Code).unwrap_or("");
        if trace::wants(stream, code) {
            trace::extract(stream, code, host, t, place, &get, &mut self.traces);
        }
    }

    fn finish(self: Box<Self>) {
        let mut all = self.reader.found.lock().unwrap_or_else(|e| e.into_inner());
        all.0.extend(self.found);
        all.1.extend(self.traces);
    }
}
