//! Reading a byte stream into batches of framed records.

use crate::batch::Batch;
use crate::formats::Format;
use crate::framing::Framer;
use crate::source::Feed;
use crate::unit::Unit;
use dwell_core::Problem;
use std::io::{self, Read};
use std::sync::Arc;

/// Target size of a batch.
const BATCH_BYTES: usize = 512 << 10;
/// Largest single record accepted.
pub const MAX_RECORD: usize = 16 << 20;

/// Reads `r` to its end, cut by `framer` into batches for `feed`; `counted` reports the bytes
/// read as progress. Returns false when the feed said stop.
pub(crate) fn read(
    mut r: Box<dyn Read + Send>,
    mut framer: Box<dyn Framer>,
    input: u32,
    format: &Arc<dyn Format>,
    feed: &mut dyn Feed,
    counted: bool,
) -> bool {
    let mut buf: Vec<u8> = Vec::with_capacity(BATCH_BYTES * 2);
    let mut eof = false;
    while !eof {
        // Fill the buffer up to the batch size.
        let target = buf.len().max(BATCH_BYTES) + BATCH_BYTES;
        while buf.len() < target {
            let old = buf.len();
            buf.resize(target, 0);
            match r.read(&mut buf[old..]) {
                Ok(0) => {
                    buf.truncate(old);
                    eof = true;
                    break;
                }
                Ok(n) => buf.truncate(old + n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(old),
                Err(e) => {
                    buf.truncate(old);
                    feed.problem(Problem {
                        input,
                        place: format!("{} {}", framer.unit(), framer.position()),
                        reason: format!("stopped reading: {e}"),
                    });
                    eof = true;
                    break;
                }
            }
        }
        let mut pieces = Vec::new();
        let header = framer.header();
        let consumed = framer.split(&buf, eof, &mut pieces);
        if consumed == 0 && !eof {
            if buf.len() > MAX_RECORD {
                // One record larger than the limit: reported once, skipped to its end.
                feed.problem(Problem {
                    input,
                    place: format!("{} {}", framer.unit(), framer.position()),
                    reason: format!("record larger than {MAX_RECORD} bytes, skipped"),
                });
                framer.drop_record();
            }
            continue;
        }
        let rest = buf[consumed..].to_vec();
        buf.truncate(consumed);
        let text = std::mem::replace(&mut buf, rest);
        let bytes = text.len() as u64;
        if !pieces.is_empty()
            && !feed.batch(Batch {
                input,
                format: format.clone(),
                unit: Unit::Records {
                    text,
                    pieces,
                    unit: framer.unit(),
                    header,
                },
            })
        {
            return false;
        }
        if counted {
            feed.progress(bytes);
        }
    }
    true
}
