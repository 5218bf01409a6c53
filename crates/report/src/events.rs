//! The events behind detections, for the HTML report to show each detection's content: kept
//! aside in a temporary file while the run streams (one JSON document per detection: the
//! fields that matched and the whole event), and read back for the detections the incidents
//! hold. Memory holds only each document's place.

use dwell_detect::Detection;
use std::collections::HashMap;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

/// Most detections whose content the report embeds; past it the page says how many it left out.
pub const MAX_SHOWN: usize = 5_000;

/// A document larger than this (bytes) is replaced by a note saying so.
pub const MAX_EVENT_BYTES: usize = 32 * 1024;

/// Detection index → its content, a JSON object `{"matched": {...}, "event": {...}}`.
pub type Events = HashMap<usize, String>;

/// The content of one detection as the report shows it.
pub fn content(matched: &str, event: &str) -> String {
    if matched.len() + event.len() > MAX_EVENT_BYTES {
        return format!(
            "{{\"matched\":{matched},\"event\":{{\"(too large to show)\":\"{} bytes; the case file holds it whole\"}}}}",
            event.len()
        );
    }
    format!("{{\"matched\":{matched},\"event\":{event}}}")
}

/// Detections' contents written aside as a run streams.
pub struct Spill {
    file: BufWriter<std::fs::File>,
    at: u64,
    places: Vec<(u64, u32)>,
}

impl Spill {
    /// A new spill in the system's temporary folder (deleted when dropped).
    pub fn new() -> io::Result<Spill> {
        Ok(Spill {
            file: BufWriter::new(tempfile::tempfile()?),
            at: 0,
            places: Vec::new(),
        })
    }

    /// Keeps detection number `places.len()` (in the order given).
    pub fn push(&mut self, d: &Detection) -> io::Result<()> {
        let mut matched = String::new();
        crate::encode::push_json_object(&mut matched, d.matched.iter().map(|(k, v)| (k, Some(v))));
        let doc = content(&matched, &d.event.to_json());
        self.file.write_all(doc.as_bytes())?;
        self.places.push((self.at, doc.len() as u32));
        self.at += doc.len() as u64;
        Ok(())
    }

    /// The contents of `wanted` (detection indices), at most [`MAX_SHOWN`] of them.
    pub fn read(self, wanted: impl IntoIterator<Item = usize>) -> io::Result<Events> {
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        let mut out = Events::new();
        let mut wanted: Vec<usize> = wanted.into_iter().collect();
        wanted.truncate(MAX_SHOWN);
        wanted.sort_unstable();
        for i in wanted {
            let Some(&(at, len)) = self.places.get(i) else {
                continue;
            };
            file.seek(SeekFrom::Start(at))?;
            let mut buf = vec![0; len as usize];
            file.read_exact(&mut buf)?;
            out.insert(i, String::from_utf8_lossy(&buf).into_owned());
        }
        Ok(out)
    }
}
