//! Field symbols: every field name a rule mentions gets a small integer, so that looking a
//! field up in an event is an array access instead of a string search.
//!
//! Names are compared ASCII-case-insensitively (`CommandLine` and `commandline` are one field),
//! which matches how Sigma rules are written for sources whose own casing differs.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A field symbol.
pub type Sym = u32;

/// FxHash: a fast non-cryptographic hash; names come from rules and logs, not from an
/// adversary who could pick collisions to any useful end.
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

/// Interned field names.
#[derive(Debug, Default, Clone)]
pub struct FieldTable {
    map: HashMap<Box<[u8]>, Sym, FxBuild>,
    names: Vec<String>,
    dotted: bool,
}

impl FieldTable {
    /// The symbol for `name`, creating it if needed.
    pub fn intern(&mut self, name: &str) -> Sym {
        let key: Box<[u8]> = name.as_bytes().to_ascii_lowercase().into_boxed_slice();
        if let Some(&s) = self.map.get(&key) {
            return s;
        }
        let s = self.names.len() as Sym;
        self.names.push(name.to_string());
        self.map.insert(key, s);
        if name.contains('.') {
            self.dotted = true;
        }
        s
    }

    /// The symbol for `name`, if any rule uses it.
    #[inline]
    pub fn get(&self, name: &str) -> Option<Sym> {
        let b = name.as_bytes();
        if b.len() <= 96 {
            let mut buf = [0u8; 96];
            let key = &mut buf[..b.len()];
            key.copy_from_slice(b);
            key.make_ascii_lowercase();
            self.map.get(&*key).copied()
        } else {
            self.map.get(&*b.to_ascii_lowercase()).copied()
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The name as first interned.
    pub fn name(&self, s: Sym) -> &str {
        &self.names[s as usize]
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
}
