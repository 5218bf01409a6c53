//! A detection: one rule matching one event (or one correlation firing), with what an analyst
//! needs to act on it. This is the one type every later stage reads.

use dwell_core::{AlertId, EventKey, Record};
use std::sync::Arc;

/// One rule firing on one event. Rule and input are indexes into the run's tables, which
/// keeps detections small enough to sort millions of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Event time, nanoseconds since the Unix epoch (UTC).
    pub time: Option<i64>,
    /// Index into the run's rule table (detection rules, then correlations).
    pub rule: u32,
    /// Index into the run's input table.
    pub input: u32,
    /// The record number (EVTX), or the line for text inputs.
    pub record: u64,
    /// The host that logged the event (Windows: `Computer`).
    pub host: String,
    /// The event's stream (Windows: `Channel`).
    pub stream: String,
    /// The event's code (Windows: `EventID`).
    pub code: Option<u32>,
    /// The component that wrote it (Windows: `Provider_Name`).
    pub provider: String,
    /// The fields and values that made the rule match.
    pub matched: Vec<(String, String)>,
    /// The event's fields, shared by every detection on the same event.
    pub event: Arc<Record>,
    /// The source's own identifier of the record (Windows: `EventRecordID`), which with host,
    /// stream and time makes its stable identity (see [`Detection::event_key`]).
    pub ident: Option<String>,
    /// Event fields kept for the correlation rules that use this detection's rule.
    pub captured: Vec<(String, Option<String>)>,
    /// Set when this detection is a correlation rule firing.
    pub correlation: Option<Box<CorrelationDetail>>,
}

/// What a correlation firing is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationDetail {
    /// The window `(start, end]`, nanoseconds since the Unix epoch.
    pub start: i64,
    /// The end of the window.
    pub end: i64,
    /// Group-by names and values (`None`: the field was absent).
    pub group: Vec<(String, Option<String>)>,
    /// The value the condition tested.
    pub value: f64,
    /// The matches in the window, oldest first.
    pub members: Vec<MemberRef>,
    /// Matches in the window beyond those listed.
    pub more_members: usize,
}

/// One detection (or correlation firing) inside a correlation firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberRef {
    /// Index into the run's rule table.
    pub rule: u32,
    /// Its time.
    pub time: i64,
    /// Index into the run's input table.
    pub input: u32,
    /// Its record or line.
    pub record: u64,
}

/// See [`Detection::sort_key`].
pub type SortKey = (bool, i64, u32, u64, u32);

impl Detection {
    /// The total order detections are written in: by time (events without a time last), then
    /// input, record and rule, so output is identical from run to run.
    pub fn sort_key(&self) -> SortKey {
        (
            self.time.is_none(),
            self.time.unwrap_or(0),
            self.input,
            self.record,
            self.rule,
        )
    }

    /// The event's stable identity: equal for the same record read from a live log and from
    /// its backup, by any worker, in any run (see [`dwell_core::EventKey`]). A correlation firing is
    /// identified by its group and window.
    pub fn event_key(&self) -> EventKey {
        if let Some(c) = &self.correlation {
            let group = c.group.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
            return EventKey::firing(group, (c.start, c.end), self.time);
        }
        match &self.ident {
            Some(id) => EventKey::numbered(&self.host, &self.stream, id, self.time),
            None => EventKey::content(&self.event, self.time),
        }
    }

    /// The alert's stable id: this rule (by `rule_key`: its id, or its title when it has
    /// none) on this event.
    pub fn alert_id(&self, rule_key: &str) -> AlertId {
        AlertId::new(self.event_key(), rule_key)
    }

    /// Approximate heap footprint, for memory budgets. Allocations are rounded up and charged
    /// their allocator overhead, since the budget is the process's memory, not the bytes
    /// of payload.
    pub fn footprint(&self) -> usize {
        fn alloc(n: usize) -> usize {
            if n == 0 {
                0
            } else {
                (n + 16).next_power_of_two().max(32)
            }
        }
        let record = alloc(self.event.text_len()) + alloc(self.event.len() * 24) + 64;
        std::mem::size_of::<Detection>()
            + alloc(self.host.capacity())
            + alloc(self.stream.capacity())
            + alloc(self.provider.capacity())
            + record
            + self.ident.as_ref().map_or(0, |s| alloc(s.capacity()))
            + alloc(self.matched.capacity() * 48)
            + self
                .matched
                .iter()
                .map(|(a, b)| alloc(a.capacity()) + alloc(b.capacity()))
                .sum::<usize>()
            + alloc(self.captured.capacity() * 48)
            + self
                .captured
                .iter()
                .map(|(a, b)| alloc(a.capacity()) + b.as_ref().map_or(0, |b| alloc(b.capacity())))
                .sum::<usize>()
            + self.correlation.as_ref().map_or(0, |c| {
                alloc(std::mem::size_of::<CorrelationDetail>())
                    + alloc(c.members.capacity() * std::mem::size_of::<MemberRef>())
                    + c.group
                        .iter()
                        .map(|(a, b)| {
                            48 + alloc(a.len()) + b.as_ref().map_or(0, |b| alloc(b.len()))
                        })
                        .sum::<usize>()
            })
    }
}
