//! Problems and failures inside inputs, from every thread: counted per input, the first few
//! kept for the coverage document, each told to the monitor as it happens.

use crate::monitor::Monitor;
use crate::sink::InputTable;
use crate::stats::InputStats;
use dwell_core::Problem;
use dwell_ingest::ReadError;
use std::sync::Mutex;

/// Problems kept per input for the coverage document (the rest are counted).
pub const SAMPLES_PER_INPUT: usize = 10;

/// Problems and failures per input, from every thread.
pub(crate) struct ProblemLog<'a> {
    pub(crate) stats: Mutex<Vec<InputStats>>,
    inputs: &'a InputTable,
    monitor: &'a dyn Monitor,
}

impl<'a> ProblemLog<'a> {
    pub(crate) fn new(inputs: &'a InputTable, monitor: &'a dyn Monitor) -> Self {
        ProblemLog {
            stats: Mutex::new(vec![InputStats::default(); inputs.len()]),
            inputs,
            monitor,
        }
    }

    pub(crate) fn problem(&self, p: Problem) {
        let nth = {
            let mut s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
            let Some(one) = s.get_mut(p.input as usize) else {
                return;
            };
            one.problems += 1;
            if one.samples.len() < SAMPLES_PER_INPUT {
                one.samples.push(p.to_string());
            }
            one.problems
        };
        if let Some(info) = self.inputs.get(p.input) {
            self.monitor.problem(&info, &p, nth);
        }
    }

    pub(crate) fn failed(&self, input: u32, e: ReadError) {
        if let Some(one) = self
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(input as usize)
        {
            one.failed = Some(e.to_string());
        }
        if let Some(info) = self.inputs.get(input) {
            self.monitor.failed(&info, &e);
        }
    }
}
