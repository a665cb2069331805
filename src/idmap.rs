//! Hash maps keyed by OIDs (relations) and other small integer ids, hashed
//! with one multiply instead of SipHash: relation lookups run for every
//! change (SipHash was ~1% of W2's decoding time). The keys are not chosen
//! by an attacker who could flood one bucket.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

#[derive(Default)]
pub struct IdHasher(u64);

/// Fibonacci hashing: the multiply spreads consecutive ids over the bits
/// hashbrown takes its bucket index and tag from.
const SPREAD: u64 = 0x9E37_79B9_7F4A_7C15;

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | *b as u64).wrapping_mul(SPREAD);
        }
    }

    fn write_u16(&mut self, value: u16) {
        self.write_u32(value.into());
    }

    fn write_u32(&mut self, value: u32) {
        self.0 = (value as u64).wrapping_mul(SPREAD);
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (value ^ value >> 32).wrapping_mul(SPREAD);
    }
}

pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_oids_spread_and_round_trip() {
        let mut map: IdMap<u32, u32> = IdMap::default();
        for oid in 16_384..26_384 {
            map.insert(oid, oid * 2);
        }
        assert!((16_384..26_384).all(|oid| map[&oid] == oid * 2));
        let hash = |v: u32| {
            use std::hash::{BuildHasher, Hasher};
            let mut h = BuildHasherDefault::<IdHasher>::default().build_hasher();
            h.write_u32(v);
            h.finish()
        };
        assert_ne!(
            hash(16_384) >> 57,
            hash(16_385) >> 57,
            "top bits (hashbrown's tag) differ"
        );
    }
}
