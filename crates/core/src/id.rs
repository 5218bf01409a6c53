//! Stable identities: the same input, event or alert gets the same id in every run, on every
//! worker and after every restart, so a checkpoint, a second worker or a downstream system can
//! recognise what it has seen.
//!
//! Every id is BLAKE3 in keyed mode over a length-prefixed encoding of the thing's identifying
//! parts, truncated to 64 bits (inputs) or 128 bits (events, alerts). The scheme, version 1, is
//! documented in `docs/identity.md` so that other tools can compute the same ids:
//!
//! - key: the 32 ASCII bytes of [`KEY`];
//! - message: one domain byte (`I` input, `E` event, `A` alert), then each part as its length
//!   (8 bytes, little-endian) and its UTF-8 bytes; integers are written as 8 bytes
//!   little-endian, absent values as a length of `u64::MAX` and nothing else;
//! - output: the first 8 or 16 bytes of the BLAKE3 output, read big-endian, written as hex.
//!
//! A cryptographic hash, not a fast one: anyone who writes to a log knows the key, and with
//! a weaker function could craft two events with one id, so that `--dedup` dropped the one
//! that matters. Ids are computed once per detection or input, never per event.

use std::fmt;

/// The key of version 1 of the identity scheme.
pub const KEY: &[u8; 32] = b"dwell stable identity, version 1";

/// Builds one id from its parts.
pub struct Hasher(blake3::Hasher);

impl Hasher {
    /// Starts an id of the given domain (`b'I'`, `b'E'`, `b'A'`).
    pub fn new(domain: u8) -> Hasher {
        let mut h = blake3::Hasher::new_keyed(KEY);
        h.update(&[domain]);
        Hasher(h)
    }

    /// Adds a text part.
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.0.update(&(s.len() as u64).to_le_bytes());
        self.0.update(s.as_bytes());
        self
    }

    /// Adds an optional text part.
    pub fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => {
                self.0.update(&u64::MAX.to_le_bytes());
                self
            }
        }
    }

    /// Adds an integer part.
    pub fn int(&mut self, v: i64) -> &mut Self {
        self.0.update(&v.to_le_bytes());
        self
    }

    /// Adds an optional integer part.
    pub fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => {
                self.0.update(&[1]);
                self.int(v)
            }
            None => {
                self.0.update(&[0]);
                self
            }
        }
    }

    fn bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        self.0.finalize_xof().fill(&mut out);
        out
    }

    /// The 128-bit id.
    pub fn finish128(&self) -> u128 {
        u128::from_be_bytes(self.bytes())
    }

    /// The 64-bit id.
    pub fn finish64(&self) -> u64 {
        let b = self.bytes();
        u64::from_be_bytes(b[..8].try_into().unwrap_or([0; 8]))
    }
}

/// The stable id of an input: a file's absolute path, standard input, later a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct InputId(pub u64);

impl InputId {
    /// The id of the input found at `kind:location` (`file:/var/log/x.evtx`, `stdin:`).
    pub fn of(kind: &str, location: &str) -> InputId {
        InputId(Hasher::new(b'I').text(kind).text(location).finish64())
    }
}

impl fmt::Display for InputId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// The stable id of an event: the same record read from a live log and from its backup, by
/// any worker, has the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EventKey(pub u128);

impl EventKey {
    /// The id of a record its source numbers: host, stream, record number and time say which
    /// record it is, wherever it was copied.
    pub fn numbered(host: &str, stream: &str, record: &str, time: Option<i64>) -> EventKey {
        EventKey(
            Hasher::new(b'E')
                .text("numbered")
                .text(host)
                .text(stream)
                .text(record)
                .opt_int(time)
                .finish128(),
        )
    }

    /// The id of a record without a number: its whole content (as canonical JSON) and time.
    pub fn content(json: &str, time: Option<i64>) -> EventKey {
        EventKey(
            Hasher::new(b'E')
                .text("content")
                .text(json)
                .opt_int(time)
                .finish128(),
        )
    }
}

impl fmt::Display for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// The stable id of an alert: one rule on one event (or one correlation firing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct AlertId(pub u128);

impl AlertId {
    /// The alert of rule `rule` (its id, or its title when it has none) on `event`.
    pub fn new(event: EventKey, rule: &str) -> AlertId {
        AlertId(
            Hasher::new(b'A')
                .text(&event.to_string())
                .text(rule)
                .finish128(),
        )
    }
}

impl fmt::Display for AlertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ids are a contract: these values must never change within version 1.
    #[test]
    fn ids_are_stable() {
        assert_eq!(
            InputId::of("file", "/var/log/Security.evtx").to_string(),
            InputId::of("file", "/var/log/Security.evtx").to_string()
        );
        let e = EventKey::numbered("DC01", "Security", "1234", Some(1_700_000_000_000_000_000));
        let a = AlertId::new(e, "r-1");
        // Pinned: a change of hash, key or encoding breaks every stored id.
        assert_eq!(
            (
                InputId::of("file", "/var/log/Security.evtx").to_string(),
                e.to_string(),
                a.to_string()
            ),
            (
                PINNED_INPUT.to_string(),
                PINNED_EVENT.to_string(),
                PINNED_ALERT.to_string()
            )
        );
    }

    // Computed with the `blake3` Python package from the scheme in docs/identity.md.
    const PINNED_INPUT: &str = "3702a7fc5f497be2";
    const PINNED_EVENT: &str = "786b81901e8dfb0ea82b2ff702c0eeec";
    const PINNED_ALERT: &str = "0e38ceb71f7c96911298c5daa2fcfa5e";

    #[test]
    fn parts_are_unambiguous() {
        // Length prefixes: moving a byte from one part to the next changes the id.
        assert_ne!(
            EventKey::numbered("ab", "c", "1", None),
            EventKey::numbered("a", "bc", "1", None)
        );
        assert_ne!(
            EventKey::numbered("a", "b", "1", None),
            EventKey::numbered("a", "b", "1", Some(0))
        );
        assert_ne!(
            EventKey::content("{}", None),
            EventKey::numbered("", "", "", None)
        );
        assert_ne!(InputId::of("file", "x"), InputId::of("stdin", "x"));
    }
}
