//! Field symbols: every field name a rule mentions gets a small integer, so that looking a
//! field up in an event is an array access instead of a string search.
//!
//! Names are compared ASCII-case-insensitively (`CommandLine` and `commandline` are one field),
//! which matches how Sigma rules are written for sources whose own casing differs. Lookups run
//! for every field of every event, so names of up to 32 bytes (nearly all of them) are found in
//! a small open-addressing table keyed by their lowercased bytes as machine words.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A field symbol.
pub type Sym = u32;

/// FxHash: a fast non-cryptographic hash; names come from rules and logs, and a collision
/// costs a comparison, nothing more.
#[derive(Default, Clone, Copy)]
pub struct Fx(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().unwrap());
            h = (h.rotate_left(5) ^ w).wrapping_mul(SEED);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ b as u64).wrapping_mul(SEED);
        }
        self.0 = h;
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(SEED);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FxBuild = BuildHasherDefault<Fx>;

/// A name of up to 32 bytes as four lowercased words and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Short {
    w: [u64; 4],
    len: u32,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// ASCII-lowercases the eight bytes of `x` (SWAR): adds 0x20 to each byte in `A..=Z`.
#[inline(always)]
fn lower(x: u64) -> u64 {
    // High bit of each byte: set where the byte (as 7 bits) is >= 'A' and <= 'Z', for ASCII bytes.
    let ascii = !x & HI;
    let ge_a = (x & !HI).wrapping_add(LO * (0x80 - b'A' as u64)) & HI;
    let gt_z = (x & !HI).wrapping_add(LO * (0x80 - b'Z' as u64 - 1)) & HI;
    let upper = ascii & ge_a & !gt_z;
    x | (upper >> 2)
}

impl Short {
    /// The key of a name of up to 32 bytes. Overlapping loads cover every byte, and with the
    /// length they identify the name exactly, with no copy.
    #[inline(always)]
    fn of(b: &[u8]) -> Option<Short> {
        let n = b.len();
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap()) as u64;
        let w = match n {
            17..=32 => [u64_at(0), u64_at(8), u64_at(n - 16), u64_at(n - 8)],
            8..=16 => [u64_at(0), u64_at(n - 8), 0, 0],
            4..=7 => [u32_at(0) | (u32_at(n - 4) << 32), 0, 0, 0],
            1..=3 => [
                b[0] as u64 | (b[n / 2] as u64) << 8 | (b[n - 1] as u64) << 16,
                0,
                0,
                0,
            ],
            0 => [0; 4],
            _ => return None,
        };
        Some(Short {
            w: [lower(w[0]), lower(w[1]), lower(w[2]), lower(w[3])],
            len: n as u32,
        })
    }

    /// A hash whose high bits depend on every byte (the table takes its index from them).
    #[inline(always)]
    fn hash(&self) -> u64 {
        let [a, b, c, d] = self.w;
        let h = (a
            ^ b.rotate_left(16)
            ^ c.rotate_left(32)
            ^ d.rotate_left(48)
            ^ (self.len as u64) << 59)
            .wrapping_mul(SEED);
        (h ^ (h >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

/// Interned field names.
#[derive(Debug, Default, Clone)]
pub struct FieldTable {
    long: HashMap<Box<[u8]>, Sym, FxBuild>,
    /// Open addressing, power-of-two size, at most half full; `None` slots are empty.
    short: Vec<Option<(Short, Sym)>>,
    names: Vec<String>,
    dotted: bool,
}

impl FieldTable {
    /// The symbol for `name`, creating it if needed.
    pub fn intern(&mut self, name: &str) -> Sym {
        if let Some(s) = self.get(name) {
            return s;
        }
        let s = self.names.len() as Sym;
        self.names.push(name.to_string());
        match Short::of(name.as_bytes()) {
            Some(k) => {
                if (self.names.len()) * 2 > self.short.len() {
                    self.grow();
                }
                self.insert_short(k, s);
            }
            None => {
                self.long
                    .insert(name.as_bytes().to_ascii_lowercase().into_boxed_slice(), s);
            }
        }
        if name.contains('.') {
            self.dotted = true;
        }
        s
    }

    fn grow(&mut self) {
        let size = (self.short.len() * 2).max(64);
        let old = std::mem::replace(&mut self.short, vec![None; size]);
        for (k, s) in old.into_iter().flatten() {
            self.insert_short(k, s);
        }
    }

    fn insert_short(&mut self, k: Short, s: Sym) {
        let mask = self.short.len() - 1;
        let mut i = (k.hash() >> 32) as usize & mask;
        while self.short[i].is_some() {
            i = (i + 1) & mask;
        }
        self.short[i] = Some((k, s));
    }

    /// The symbol for `name`, if any rule uses it.
    #[inline]
    pub fn get(&self, name: &str) -> Option<Sym> {
        let b = name.as_bytes();
        match Short::of(b) {
            Some(k) => {
                if self.short.is_empty() {
                    return None;
                }
                let mask = self.short.len() - 1;
                let mut i = (k.hash() >> 32) as usize & mask;
                loop {
                    match &self.short[i] {
                        None => return None,
                        Some((e, s)) if *e == k => return Some(*s),
                        _ => i = (i + 1) & mask,
                    }
                }
            }
            None => self.long.get(&*b.to_ascii_lowercase()).copied(),
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// The name as first interned.
    #[cfg(test)]
    pub fn name(&self, s: Sym) -> &str {
        &self.names[s as usize]
    }

    /// True when symbol `s` names a dotted path.
    pub fn is_dotted(&self, s: Sym) -> bool {
        self.names.get(s as usize).is_some_and(|n| n.contains('.'))
    }

    /// True when some rule names a field by a dotted path, so event paths need a lookup too.
    pub fn has_dotted(&self) -> bool {
        self.dotted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_interning() {
        let mut t = FieldTable::default();
        let a = t.intern("CommandLine");
        assert_eq!(t.intern("commandline"), a);
        assert_eq!(t.get("COMMANDLINE"), Some(a));
        assert_eq!(t.get("Image"), None);
        let long = "x".repeat(200);
        let l = t.intern(&long);
        assert_eq!(t.get(&long.to_uppercase()), Some(l));
        assert!(!t.has_dotted());
        t.intern("actor.alternateId");
        assert!(t.has_dotted());
        assert_eq!(t.name(a), "CommandLine");
    }

    #[test]
    fn swar_lowercase_matches_ascii_lowercase() {
        let mut bytes: Vec<u8> = (0u8..=255).collect();
        bytes.extend_from_slice(b"@AZ[`az{");
        for w in bytes.windows(8) {
            let x = u64::from_le_bytes(w.try_into().unwrap());
            let want: Vec<u8> = w.iter().map(|b| b.to_ascii_lowercase()).collect();
            assert_eq!(lower(x).to_le_bytes().to_vec(), want, "{w:?}");
        }
    }

    #[test]
    fn many_names_all_found_and_distinct() {
        let mut t = FieldTable::default();
        let names: Vec<String> = (0..2000).map(|i| format!("Field{i}")).collect();
        let syms: Vec<Sym> = names.iter().map(|n| t.intern(n)).collect();
        for (n, s) in names.iter().zip(&syms) {
            assert_eq!(t.get(n), Some(*s));
            assert_eq!(t.get(&n.to_lowercase()), Some(*s));
        }
        assert_eq!(t.get("Field2000"), None);
        assert_eq!(t.get(""), None);
        let e = t.intern("");
        assert_eq!(t.get(""), Some(e));
        // Every length up to and past the short table's limit, with names differing anywhere.
        for n in 1..40 {
            let base: String = (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            let s = t.intern(&base);
            for pos in 0..n {
                let mut other = base.clone().into_bytes();
                other[pos] = b'_';
                let other = String::from_utf8(other).unwrap();
                assert_ne!(t.get(&other), Some(s), "{base} vs {other}");
            }
            assert_eq!(t.get(&base.to_uppercase()), Some(s));
        }
    }
}
