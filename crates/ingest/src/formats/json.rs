//! JSON logs of any shape: JSON lines, a JSON array of objects, or concatenated (pretty-printed)
//! objects. Windows events in JSON are named as Sigma's Windows rules name them, so a file that
//! mixes shapes loses nothing; anything else is named by its dotted path (`actor.alternateId`).
//!
//! This is the smallest complete format: recognition, framing, decoding, time, mapping and
//! entities, each a few lines.

use super::{DecodeError, Fit, Format, Head, Layout, RecordCx, Stamp, windows};
use crate::framing::{Framer, JsonFramer};
use dwell_core::{Entities, Event, Record};

/// Generic JSON.
pub struct Json;

/// Windows events in JSON run Windows rules; any other JSON record is an application's own
/// log, Sigma's `category: application` (rules that also name a `product` need that
/// product's own format, so none of SigmaHQ's runs on every JSON line).
const MAPPING: &str = concat!(
    include_str!("../../data/windows.yml"),
    "  - logsource: {category: application}\n    format: json\n"
);

/// True when `head` starts (after a byte-order mark and white space) like JSON text.
pub(crate) fn looks_like_json(head: &[u8]) -> bool {
    let body = head.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(head);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    matches!(first, Some(b'{' | b'[')) && !body.iter().take(512).any(|b| *b == 0)
}

impl Format for Json {
    fn name(&self) -> &'static str {
        "json"
    }

    fn describe(&self) -> &'static str {
        "JSON lines, JSON arrays and concatenated JSON objects"
    }

    fn recognise(&self, head: &Head<'_>) -> Option<Fit> {
        looks_like_json(head.bytes).then_some(Fit::Fallback)
    }

    fn layout(&self) -> Layout {
        Layout::Stream(|| Box::new(JsonFramer::default()) as Box<dyn Framer>)
    }

    fn decode_record(
        &self,
        raw: &[u8],
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
    ) -> Result<(), DecodeError> {
        windows::decode_json(raw, ev, cx)
    }

    fn timestamp(&self, ev: &Event) -> Stamp {
        windows::timestamp(ev, &windows::TIME_FIELDS)
    }

    fn mapping(&self) -> &'static str {
        // Flat JSON with Windows field names (`Channel`, `EventID`) runs Windows rules.
        MAPPING
    }

    fn entities(&self, record: &Record, host: &str, out: &mut Entities) {
        windows::entities(record, host, out);
    }
}
