//! Ordering: detections arrive from worker threads in no particular order and leave in
//! [`Detection::sort_key`] order. [`SortSpill`] is for archives: everything is sorted, in
//! bounded memory (sorted runs spill to temporary files and are merged at the end).
//! [`Watermark`] is for streams: a detection leaves once no earlier one can still arrive, that
//! is once the newest time seen is more than the allowed lateness past it.

use crate::spill;
use dwell_detect::{Detection, SortKey};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Seek, Write};

/// Detections in order, from an [`Ordering`].
pub type Ordered = Box<dyn Iterator<Item = io::Result<Detection>> + Send>;

/// An ordering strategy.
pub trait Ordering: Send {
    /// Takes one detection.
    fn push(&mut self, d: Detection) -> io::Result<()>;
    /// Moves the detections that may leave now, in order, to `out` (a streaming strategy;
    /// the archive sort releases nothing before [`Ordering::finish`]).
    fn ready(&mut self, out: &mut Vec<Detection>) {
        let _ = out;
    }
    /// Everything still held, in order.
    fn finish(self: Box<Self>) -> io::Result<Ordered>;
    /// Detections that arrived after others later than them had left (streaming only).
    fn late(&self) -> u64 {
        0
    }
}

/// Sorts all detections, spilling sorted runs beyond a memory budget.
pub struct SortSpill {
    buf: Vec<Detection>,
    bytes: usize,
    budget: usize,
    runs: Vec<File>,
    spilled: usize,
}

impl SortSpill {
    /// `budget` is the memory, in bytes, detections may use before they are spilled.
    pub fn new(budget: usize) -> SortSpill {
        SortSpill {
            buf: Vec::new(),
            bytes: 0,
            budget: budget.max(1),
            runs: Vec::new(),
            spilled: 0,
        }
    }

    /// Number of detections written to temporary files so far.
    pub fn spilled(&self) -> usize {
        self.spilled
    }

    fn spill(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.buf.sort_by_key(Detection::sort_key);
        let mut f = tempfile::tempfile()?;
        {
            let mut w = BufWriter::with_capacity(1 << 20, &mut f);
            let mut rec = Vec::with_capacity(4096);
            for d in self.buf.drain(..) {
                rec.clear();
                spill::encode(&d, &mut rec);
                w.write_all(&rec)?;
                self.spilled += 1;
            }
            w.flush()?;
        }
        // The buffer's own capacity counts against the budget too: give it back.
        self.buf = Vec::new();
        f.rewind()?;
        self.runs.push(f);
        self.bytes = 0;
        Ok(())
    }
}

impl Ordering for SortSpill {
    fn push(&mut self, d: Detection) -> io::Result<()> {
        self.bytes += d.footprint() + std::mem::size_of::<Detection>();
        self.buf.push(d);
        if self.bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> io::Result<Ordered> {
        if self.runs.is_empty() {
            let mut buf = std::mem::take(&mut self.buf);
            buf.sort_by_key(Detection::sort_key);
            return Ok(Box::new(buf.into_iter().map(Ok)));
        }
        self.spill()?;
        let mut readers = Vec::with_capacity(self.runs.len());
        let mut heap = BinaryHeap::new();
        for (i, f) in std::mem::take(&mut self.runs).into_iter().enumerate() {
            let mut r = BufReader::with_capacity(256 << 10, f);
            if let Some(d) = spill::decode(&mut r)? {
                heap.push(Reverse(Entry(d.sort_key(), i, d)));
            }
            readers.push(r);
        }
        Ok(Box::new(Merge { readers, heap }))
    }
}

struct Entry(SortKey, usize, Detection);

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.0, self.1) == (o.0, o.1)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.0, self.1).cmp(&(o.0, o.1))
    }
}

/// The k-way merge of spilled runs.
struct Merge {
    readers: Vec<BufReader<File>>,
    heap: BinaryHeap<Reverse<Entry>>,
}

impl Iterator for Merge {
    type Item = io::Result<Detection>;

    fn next(&mut self) -> Option<Self::Item> {
        let Reverse(Entry(_, i, d)) = self.heap.pop()?;
        match spill::decode(&mut self.readers[i]) {
            Ok(Some(n)) => self.heap.push(Reverse(Entry(n.sort_key(), i, n))),
            Ok(None) => {}
            Err(e) => return Some(Err(e)),
        }
        Some(Ok(d))
    }
}

/// Releases detections in time order once the newest time seen is more than `lateness` past
/// them. A detection older than one already released is late: it is released at once (out of
/// order) and counted. Detections without a time are held to the end.
pub struct Watermark {
    lateness: i64,
    newest: Option<i64>,
    released: Option<SortKey>,
    heap: BinaryHeap<Reverse<Entry>>,
    undated: Vec<Detection>,
    late: u64,
    late_out: Vec<Detection>,
    seq: usize,
}

impl Watermark {
    /// A watermark allowing `lateness` nanoseconds.
    pub fn new(lateness: i64) -> Watermark {
        Watermark {
            lateness: lateness.max(0),
            newest: None,
            released: None,
            heap: BinaryHeap::new(),
            undated: Vec::new(),
            late: 0,
            late_out: Vec::new(),
            seq: 0,
        }
    }
}

impl Ordering for Watermark {
    fn push(&mut self, d: Detection) -> io::Result<()> {
        let Some(t) = d.time else {
            self.undated.push(d);
            return Ok(());
        };
        let key = d.sort_key();
        if self.released.is_some_and(|r| key < r) {
            self.late += 1;
            self.late_out.push(d);
            return Ok(());
        }
        self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
        self.seq += 1;
        self.heap.push(Reverse(Entry(key, self.seq, d)));
        Ok(())
    }

    fn ready(&mut self, out: &mut Vec<Detection>) {
        out.append(&mut self.late_out);
        let Some(newest) = self.newest else { return };
        let mark = newest.saturating_sub(self.lateness);
        while let Some(Reverse(Entry(key, _, _))) = self.heap.peek() {
            if key.1 >= mark {
                break;
            }
            let Some(Reverse(Entry(key, _, d))) = self.heap.pop() else {
                break;
            };
            self.released = Some(key);
            out.push(d);
        }
    }

    fn finish(mut self: Box<Self>) -> io::Result<Ordered> {
        let mut out = std::mem::take(&mut self.late_out);
        while let Some(Reverse(Entry(_, _, d))) = self.heap.pop() {
            out.push(d);
        }
        self.undated.sort_by_key(Detection::sort_key);
        out.append(&mut self.undated);
        Ok(Box::new(out.into_iter().map(Ok)))
    }

    fn late(&self) -> u64 {
        self.late
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dwell_core::Record;
    use std::sync::Arc;

    fn det(t: Option<i64>, input: u32, record: u64, rule: u32) -> Detection {
        Detection {
            time: t,
            rule,
            input,
            record,
            host: "h".into(),
            stream: "c".into(),
            code: Some(1),
            provider: String::new(),
            matched: vec![("a".into(), "b".into())],
            event: Arc::new(Record::default()),
            ident: Some(record.to_string()),
            captured: vec![("User".into(), Some("u".into()))],
            correlation: None,
        }
    }

    /// A deterministic shuffle of 500 detections.
    fn shuffled() -> Vec<Detection> {
        (0..500u64)
            .map(|k| {
                let x = (k * 7919) % 500;
                let t = if x % 50 == 0 {
                    None
                } else {
                    Some((x / 3) as i64)
                };
                det(t, (x % 4) as u32, x, (x % 3) as u32)
            })
            .collect()
    }

    fn order(mut o: Box<dyn Ordering>, input: Vec<Detection>) -> Vec<SortKey> {
        let mut out = Vec::new();
        for d in input {
            o.push(d).unwrap();
            o.ready(&mut out);
        }
        let mut keys: Vec<SortKey> = out.iter().map(Detection::sort_key).collect();
        keys.extend(o.finish().unwrap().map(|d| d.unwrap().sort_key()));
        keys
    }

    #[test]
    fn spilled_and_in_memory_sorts_agree() {
        let mem = order(Box::new(SortSpill::new(usize::MAX)), shuffled());
        let mut small = SortSpill::new(2_000);
        for d in shuffled() {
            small.push(d).unwrap();
        }
        assert!(small.spilled() > 0, "the small budget must spill");
        let disk: Vec<SortKey> = Box::new(small)
            .finish()
            .unwrap()
            .map(|d| d.unwrap().sort_key())
            .collect();
        assert_eq!(mem.len(), 500);
        assert_eq!(mem, disk);
        let mut sorted = mem.clone();
        sorted.sort();
        assert_eq!(mem, sorted);
        // Events without a time come last.
        assert!(mem.last().unwrap().0);
    }

    #[test]
    fn a_watermark_orders_what_arrives_within_its_lateness() {
        // Enough lateness for the whole shuffle: the same order as a full sort.
        let all = order(Box::new(Watermark::new(i64::MAX)), shuffled());
        let sorted = order(Box::new(SortSpill::new(usize::MAX)), shuffled());
        assert_eq!(all, sorted);
        // Times arriving at most 5 behind the newest come out in order, and early.
        let mut w = Watermark::new(5);
        let mut out = Vec::new();
        for (i, t) in [10, 8, 12, 20, 16, 30, 3].into_iter().enumerate() {
            w.push(det(Some(t), 0, i as u64, 0)).unwrap();
            w.ready(&mut out);
        }
        let early: Vec<i64> = out.iter().map(|d| d.time.unwrap()).collect();
        assert_eq!(early, [8, 10, 12, 16, 20, 3]);
        assert_eq!(w.late(), 1, "3 arrived after 20 had left");
        let rest: Vec<i64> = Box::new(w)
            .finish()
            .unwrap()
            .map(|d| d.unwrap().time.unwrap())
            .collect();
        assert_eq!(rest, [30]);
    }
}
