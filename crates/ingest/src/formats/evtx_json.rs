//! Windows events rendered as JSON: the `evtx` crate's and evtx_dump's rendering
//! (`{"Event": {"System": ..., "EventData": ...}}`, as SigmaHQ's regression data has it) and
//! Winlogbeat / Elastic Agent documents (`winlog.*`), in JSON lines, arrays or concatenated
//! objects. Recognised by the keys of the first record; named as the Windows rules name fields.

use super::json::looks_like_json;
use super::{DecodeError, Fit, Format, Head, Layout, RecordCx, Stamp, windows};
use crate::framing::{Framer, JsonFramer};
use dwell_core::{Entities, Event, Record};

/// Windows events in JSON.
pub struct EvtxJson;

/// The keys of the first JSON object in `head` at depth 1 and, for `Event`, depth 2 (as
/// `Event.System`). Tolerates a cut end.
fn first_keys(head: &[u8]) -> Vec<String> {
    let mut keys = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let mut path: Vec<String> = Vec::new();
    let mut last_key: Option<String> = None;
    while i < head.len() && keys.len() < 256 {
        match head[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < head.len() && head[i] != b'"' {
                    if head[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let text = String::from_utf8_lossy(&head[start..i.min(head.len())]).into_owned();
                // A key is a string followed by ':'.
                let mut j = i + 1;
                while j < head.len() && head[j].is_ascii_whitespace() {
                    j += 1;
                }
                if head.get(j) == Some(&b':') {
                    if depth == 1 {
                        keys.push(text.clone());
                    } else if depth == 2 && path.first().map(String::as_str) == Some("Event") {
                        keys.push(format!("Event.{text}"));
                    }
                    last_key = Some(text);
                }
            }
            b'{' => {
                if depth >= 1 {
                    path.push(last_key.take().unwrap_or_default());
                }
                depth += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                path.pop();
                if depth == 0 {
                    break;
                }
            }
            b'[' if depth == 0 => {}
            _ => {}
        }
        i += 1;
    }
    keys
}

impl Format for EvtxJson {
    fn name(&self) -> &'static str {
        "evtx-json"
    }

    fn describe(&self) -> &'static str {
        "Windows events as JSON (evtx_dump, Winlogbeat)"
    }

    fn recognise(&self, head: &Head<'_>) -> Option<Fit> {
        if !looks_like_json(head.bytes) {
            return None;
        }
        let keys = first_keys(head.bytes);
        let has = |k: &str| keys.iter().any(|x| x == k);
        (has("winlog") || has("Event.System") || (has("System") && has("EventData")))
            .then_some(Fit::Shape)
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
        windows::MAPPING
    }

    fn entities(&self, record: &Record, host: &str, out: &mut Entities) {
        windows::entities(record, host, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(text: &str) -> Option<Fit> {
        EvtxJson.recognise(&Head {
            bytes: text.as_bytes(),
            complete: true,
        })
    }

    #[test]
    fn shapes_are_recognised_by_their_keys() {
        assert_eq!(
            fit(r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"EventID":1}}}"##),
            Some(Fit::Shape)
        );
        assert_eq!(fit("[\n {\"Event\": {\"System\": {}}}]"), Some(Fit::Shape));
        assert_eq!(
            fit(r#"{"@timestamp":"x","message":"{\"winlog\":1}","winlog":{"channel":"Security"}}"#),
            Some(Fit::Shape)
        );
        assert_eq!(fit(r#"{"System":{},"EventData":{}}"#), Some(Fit::Shape));
        // A key named like a shape deeper down, or inside a string, is not one.
        assert_eq!(
            fit(r#"{"a":{"winlog":1},"b":"\"Event\":{\"System\""}"#),
            None
        );
        assert_eq!(fit(r#"{"Channel":"Security","EventID":4624}"#), None);
        assert_eq!(fit("not json"), None);
        // A first record cut by the end of the head still shows its first keys.
        assert_eq!(
            fit(r##"{"Event":{"System":{"Provider":{"#attributes":{"Na"##),
            Some(Fit::Shape)
        );
    }
}
