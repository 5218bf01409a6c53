//! The investigation's reader of lateral-movement evidence, as a pipeline observer: each
//! worker thread's tap keeps the logon records of the events it decodes, and hands them over
//! when it is done.

use crate::logon::{self, Logon};
use dwell_core::{Event, Observer, Place, Tap};
use std::sync::Mutex;

/// Gathers [`Logon`] records from every event that may carry one.
#[derive(Debug, Default)]
pub struct LogonReader {
    found: Mutex<Vec<Logon>>,
}

impl LogonReader {
    /// Everything gathered so far (taken out).
    pub fn take(&self) -> Vec<Logon> {
        std::mem::take(&mut *self.found.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Observer for LogonReader {
    fn tap(&self) -> Box<dyn Tap + '_> {
        Box::new(LogonTap {
            reader: self,
            found: Vec::new(),
        })
    }
}

struct LogonTap<'a> {
    reader: &'a LogonReader,
    found: Vec<Logon>,
}

impl Tap for LogonTap<'_> {
    fn wants(&self, ev: &Event) -> bool {
        logon::wants(ev.stream().unwrap_or(""), ev.code())
    }

    fn event(&mut self, ev: &Event, at: Place) {
        let Some(t) = ev.timestamp else { return };
        if let Some(l) = logon::extract(
            ev.stream().unwrap_or(""),
            ev.code(),
            ev.host().unwrap_or(""),
            t,
            (at.input, at.record),
            &|k| ev.get_ci(k),
        ) {
            self.found.push(l);
        }
    }

    fn finish(self: Box<Self>) {
        let mut all = self.reader.found.lock().unwrap_or_else(|e| e.into_inner());
        all.extend(self.found);
    }
}
