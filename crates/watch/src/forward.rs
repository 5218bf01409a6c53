//! Forwarding to a partitioned NATS stream: an edge watcher reads its sources with dwell's own
//! formats, takes each record's partition key from the decoded event (by default its host,
//! normalised as investigations name hosts; or any field, `--partition-key`), and publishes the
//! record as it was written to `PREFIX.KEY`, for the workers of the stream to detect on. Each
//! record is published with a `Nats-Msg-Id` derived from its input, place and content, so that
//! a replay after a crash is dropped by the stream; positions are committed only after the
//! stream has acknowledged what they cover.

use dwell_ingest::{Batch, Decoder};

/// Where and how records are forwarded.
#[derive(Debug, Clone)]
pub struct Forward {
    /// The server.
    pub url: String,
    /// The subject prefix (`dwell.events`).
    pub prefix: String,
    /// The field whose value keys a record; `None`: the event's host.
    pub key: Option<String>,
}

/// A key as one subject token: lower case, anything but letters, digits, `-` and `_` as `_`.
pub fn token(key: &str) -> String {
    let t: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if t.is_empty() { "_".into() } else { t }
}

/// The records of `batch` as (subject, raw record, message id), and how many could not be
/// decoded (with their problems, for the caller to report).
pub fn records(
    f: &Forward,
    decoder: &mut Decoder,
    batch: &Batch,
    input_key: &str,
    problems: &mut Vec<dwell_core::Problem>,
) -> Vec<(String, Vec<u8>, String)> {
    let mut out = Vec::new();
    decoder.decode_gated(
        batch,
        None,
        &mut |_, _| dwell_core::Gate::All,
        &mut |ev, raw| {
            let key = match &f.key {
                Some(field) => ev.get_ci(field).map(str::to_string),
                None => ev.host().and_then(dwell_core::entity::host),
            };
            let subject = format!("{}.{}", f.prefix, token(key.as_deref().unwrap_or("_")));
            let mut h = blake3::Hasher::new();
            h.update(b"dwell-forward-1\0");
            h.update(input_key.as_bytes());
            h.update(&[0]);
            h.update(&ev.line.to_le_bytes());
            h.update(raw);
            let id = h.finalize().to_hex()[..32].to_string();
            out.push((subject, raw.to_vec(), format!("f.{id}")));
        },
        &mut |p| problems.push(p),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_one_token() {
        assert_eq!(token("DC01.corp.example"), "dc01_corp_example");
        assert_eq!(token("a b*>"), "a_b__");
        assert_eq!(token(""), "_");
    }
}
