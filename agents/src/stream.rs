//! Seed derivation: every random stream of a run is a pure function of the root seed and a
//! stream id, never of a position in a list or a thread.
//!
//! `stream_seed(root, tag, index)` mixes with splitmix64 and expands to the 32-byte ChaCha key:
//! `k_i = splitmix64(root ⊕ splitmix64(fnv1a64(tag) ⊕ splitmix64(index)) + i·φ)` for i = 0..4.
//! An agent's stream uses its population's *name* as the tag and its index within the population,
//! so adding an agent or a population leaves every other agent's draws unchanged.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator every agent and population uses.
pub type AgentRng = ChaCha8Rng;

/// splitmix64.
#[inline]
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a over bytes (a stable hash of names).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The 64-bit seed of stream (`tag`, `index`) under `root`.
pub fn stream_seed(root: u64, tag: &str, index: u64) -> u64 {
    splitmix64(root ^ splitmix64(fnv1a64(tag.as_bytes()) ^ splitmix64(index)))
}

/// A ChaCha8 generator for stream (`tag`, `index`) under `root`.
pub fn stream_rng(root: u64, tag: &str, index: u64) -> AgentRng {
    let s = stream_seed(root, tag, index);
    let mut key = [0u8; 32];
    for (i, chunk) in key.chunks_mut(8).enumerate() {
        let w = splitmix64(s.wrapping_add((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_stable_and_distinct() {
        let a: u64 = stream_rng(1, "sellers", 0).random();
        let b: u64 = stream_rng(1, "sellers", 0).random();
        let c: u64 = stream_rng(1, "sellers", 1).random();
        let d: u64 = stream_rng(1, "buyers", 0).random();
        let e: u64 = stream_rng(2, "sellers", 0).random();
        assert_eq!(a, b);
        assert!(a != c && a != d && a != e && c != d);
    }

    #[test]
    fn known_value_pins_the_mixing_function() {
        // Changing the derivation changes every result of every study: this pins it.
        assert_eq!(stream_seed(0, "", 0), splitmix64(splitmix64(0xcbf2_9ce4_8422_2325 ^ splitmix64(0))));
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
    }
}
