//! Sorting detections by time in bounded memory: beyond a budget, sorted runs are spilled to
//! temporary files and merged at the end.

use crate::detection::Detection;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Seek, Write};

/// Collects detections and yields them in [`Detection::sort_key`] order.
pub struct Sorter {
    buf: Vec<Detection>,
    bytes: usize,
    budget: usize,
    runs: Vec<File>,
    spilled: usize,
}

impl Sorter {
    /// `budget` is the memory, in bytes, detections may use before they are spilled.
    pub fn new(budget: usize) -> Sorter {
        Sorter {
            buf: Vec::new(),
            bytes: 0,
            budget: budget.max(1),
            runs: Vec::new(),
            spilled: 0,
        }
    }

    pub fn push(&mut self, d: Detection) -> io::Result<()> {
        self.bytes += d.footprint();
        self.buf.push(d);
        if self.bytes > self.budget {
            self.spill()?;
        }
        Ok(())
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
                crate::spill::encode(&d, &mut rec);
                w.write_all(&rec)?;
                self.spilled += 1;
            }
            w.flush()?;
        }
        f.rewind()?;
        self.runs.push(f);
        self.bytes = 0;
        Ok(())
    }

    /// All detections, in order.
    pub fn finish(mut self) -> io::Result<Sorted> {
        if self.runs.is_empty() {
            self.buf.sort_by_key(Detection::sort_key);
            return Ok(Sorted(Inner::Memory(self.buf.into_iter())));
        }
        self.spill()?;
        let mut readers = Vec::with_capacity(self.runs.len());
        let mut heap = BinaryHeap::new();
        for (i, f) in self.runs.into_iter().enumerate() {
            let mut r = BufReader::with_capacity(256 << 10, f);
            if let Some(d) = next(&mut r)? {
                heap.push(Reverse(Entry(d, i)));
            }
            readers.push(r);
        }
        Ok(Sorted(Inner::Merge { readers, heap }))
    }
}

type Lines = BufReader<File>;

fn next(r: &mut Lines) -> io::Result<Option<Detection>> {
    crate::spill::decode(r)
}

struct Entry(Detection, usize);

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.0.sort_key() == o.0.sort_key() && self.1 == o.1
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
        (self.0.sort_key(), self.1).cmp(&(o.0.sort_key(), o.1))
    }
}

/// Detections in order, from memory or merged from spilled runs.
pub struct Sorted(Inner);

enum Inner {
    Memory(std::vec::IntoIter<Detection>),
    Merge {
        readers: Vec<Lines>,
        heap: BinaryHeap<Reverse<Entry>>,
    },
}

impl Iterator for Sorted {
    type Item = io::Result<Detection>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Inner::Memory(it) => it.next().map(Ok),
            Inner::Merge { readers, heap } => {
                let Reverse(Entry(d, i)) = heap.pop()?;
                match next(&mut readers[i]) {
                    Ok(Some(n)) => heap.push(Reverse(Entry(n, i))),
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
                Some(Ok(d))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(t: Option<i64>, input: u32, record: u64, rule: u32) -> Detection {
        Detection {
            timestamp: t,
            rule,
            input,
            record,
            computer: "h".into(),
            channel: "c".into(),
            event_id: Some(1),
            provider: String::new(),
            matched: vec![("a".into(), "b".into())],
            event: "{\"x\":1}".into(),
            event_key: record,
            captured: vec![("User".into(), Some("u".into()))],
            correlation: None,
        }
    }

    fn order(budget: usize) -> (Vec<crate::detection::SortKey>, usize) {
        let mut s = Sorter::new(budget);
        // A deterministic shuffle of 500 detections.
        for k in 0..500u64 {
            let x = (k * 7919) % 500;
            let t = if x % 50 == 0 {
                None
            } else {
                Some((x / 3) as i64)
            };
            s.push(det(t, (x % 4) as u32, x, (x % 3) as u32)).unwrap();
        }
        let spilled = s.spilled();
        let out: Vec<_> = s.finish().unwrap().map(|d| d.unwrap().sort_key()).collect();
        (out, spilled)
    }

    #[test]
    fn spilled_and_in_memory_sorts_agree() {
        let (mem, s0) = order(usize::MAX);
        let (disk, s1) = order(2_000);
        assert_eq!(s0, 0);
        assert!(s1 > 0, "the small budget must spill");
        assert_eq!(mem.len(), 500);
        assert_eq!(mem, disk);
        let mut sorted = mem.clone();
        sorted.sort();
        assert_eq!(mem, sorted);
        // Events without a time come last.
        assert!(mem.last().unwrap().0);
    }
}
