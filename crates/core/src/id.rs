//! Stable identities: the same input, event or alert gets the same id in every run, on every
//! worker and after every restart, so a checkpoint, a second worker or a downstream system can
//! recognise what it has seen.
//!
//! Every id is BLAKE3 in keyed mode over a length-prefixed encoding of the thing's identifying
//! parts, truncated to 64 bits (inputs) or 128 bits (events, alerts). The scheme, version 1, is
//! documented in `docs/identity.md` so that other tools can compute the same ids:
//!
//! - key: the 32 ASCII bytes of [`KEY`];
//! - message: one domain byte (`I` input, `E` event, `A` alert), then the parts: a text as
//!   its length (8 bytes, little-endian) and its UTF-8 bytes; an integer as 8 bytes
//!   little-endian; an optional integer as the byte 1 and the integer, or the byte 0; an id
//!   inside another as its 16 bytes, big-endian;
//! - output: the first 8 or 16 bytes of the BLAKE3 output, read big-endian, written as hex.
//!
//! A cryptographic hash, not a fast one: anyone who writes to a log knows the key, and with
//! a weaker function could craft two events with one id, so that `--dedup` dropped the one
//! that matters. Ids are computed once per detection or input, never per event.

use std::fmt;

/// The key of version 1 of the identity scheme.
pub const KEY: &[u8; 32] = b"dwell stable identity, version 1";

/// Builds one id from its parts. The message is gathered first and hashed in one call: ids
/// are short, and BLAKE3 costs more per `update` than per byte on short input.
pub(crate) struct Hasher(Vec<u8>);

impl Hasher {
    /// Starts an id of the given domain (`b'I'`, `b'E'`, `b'A'`).
    pub fn new(domain: u8) -> Hasher {
        let mut m = Vec::with_capacity(256);
        m.push(domain);
        Hasher(m)
    }

    /// Adds a text part.
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.0.extend_from_slice(&(s.len() as u64).to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    /// Adds an integer part.
    pub fn int(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Adds a 128-bit id part.
    pub fn id(&mut self, v: u128) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Adds one byte.
    pub fn byte(&mut self, b: u8) -> &mut Self {
        self.0.push(b);
        self
    }

    /// Adds an optional integer part.
    pub fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => {
                self.0.push(1);
                self.int(v)
            }
            None => {
                self.0.push(0);
                self
            }
        }
    }

    fn bytes(&self) -> [u8; 16] {
        let h = blake3::keyed_hash(KEY, &self.0);
        let mut out = [0u8; 16];
        out.copy_from_slice(&h.as_bytes()[..16]);
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

    /// The id of a record without a number: its whole content and its time. Each field is
    /// its name, one kind byte (`s`, `n`, `b`, `0`) and its value, in the record's order.
    pub fn content(record: &crate::Record, time: Option<i64>) -> EventKey {
        let mut h = Hasher::new(b'E');
        h.text("content").int(record.len() as i64);
        for (name, value, kind) in record.iter() {
            h.text(name)
                .byte(match kind {
                    crate::Kind::Str => b's',
                    crate::Kind::Num => b'n',
                    crate::Kind::Bool => b'b',
                    crate::Kind::Null => b'0',
                })
                .text(value);
        }
        EventKey(h.opt_int(time).finish128())
    }

    /// The id of a correlation firing: its group-by fields (name and value, `None` when the
    /// field was absent) in the correlation's order, and its window in nanoseconds.
    pub fn firing<'a>(
        group: impl ExactSizeIterator<Item = (&'a str, Option<&'a str>)>,
        window: (i64, i64),
        time: Option<i64>,
    ) -> EventKey {
        let mut h = Hasher::new(b'E');
        h.text("firing").int(group.len() as i64);
        for (name, value) in group {
            h.text(name);
            match value {
                Some(v) => h.byte(1).text(v),
                None => h.byte(0),
            };
        }
        EventKey(h.int(window.0).int(window.1).opt_int(time).finish128())
    }
}

/// `v` as 32 lower-case hex digits (one per detection written: without `fmt`'s machinery).
fn hex128(v: u128) -> [u8; 32] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = DIGITS[((v >> (124 - 4 * i)) & 0xf) as usize];
    }
    out
}

impl fmt::Display for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&hex128(self.0)).unwrap_or_default())
    }
}

/// The stable id of an alert: one rule on one event (or one correlation firing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct AlertId(pub u128);

impl AlertId {
    /// The alert of rule `rule` (its id, or its title when it has none) on `event`.
    pub fn new(event: EventKey, rule: &str) -> AlertId {
        AlertId(Hasher::new(b'A').id(event.0).text(rule).finish128())
    }
}

impl fmt::Display for AlertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&hex128(self.0)).unwrap_or_default())
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
    const PINNED_ALERT: &str = "dc0bcd65de3fb50ec81cbae5ff1ca0e6";

    #[test]
    fn firing_ids_are_stable() {
        let group = [("TargetUserName", Some("alice")), ("IpAddress", None)];
        let t = 1_700_000_000_000_000_000;
        let key = EventKey::firing(group.into_iter(), (t - 60_000_000_000, t), Some(t));
        // Computed with the `blake3` Python package from the scheme in docs/identity.md.
        assert_eq!(key.to_string(), PINNED_FIRING);
        let other = [("TargetUserName", Some("alice")), ("IpAddress", Some(""))];
        let differs = EventKey::firing(other.into_iter(), (t - 60_000_000_000, t), Some(t));
        assert_ne!(key, differs, "an absent value is not an empty one");
    }

    const PINNED_FIRING: &str = "007883e565c2a5faa84d26a8421d9a4e";

    #[test]
    fn content_ids_are_stable() {
        let mut r = crate::Record::default();
        r.push("CommandLine", "cmd", crate::Kind::Str, crate::Section::Data);
        r.push("n", "1", crate::Kind::Num, crate::Section::Header);
        // Computed with the `blake3` Python package from the scheme in docs/identity.md.
        assert_eq!(
            EventKey::content(&r, Some(1_700_000_000_000_000_000)).to_string(),
            "de17b7834fb98733872d788b08ea3aab"
        );
    }

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
            EventKey::content(&crate::Record::default(), None),
            EventKey::numbered("", "", "", None)
        );
        let mut a = crate::Record::default();
        a.push("n", "1", crate::Kind::Num, crate::Section::Data);
        let mut b = crate::Record::default();
        b.push("n", "1", crate::Kind::Str, crate::Section::Data);
        assert_ne!(
            EventKey::content(&a, None),
            EventKey::content(&b, None),
            "kinds count"
        );
        assert_eq!(format!("{:032x}", 0xabc_u128), EventKey(0xabc).to_string());
        assert_ne!(InputId::of("file", "x"), InputId::of("stdin", "x"));
    }
}
