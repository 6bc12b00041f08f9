//! Seed derivation: every random stream of a run is a pure function of the root seed and a
//! stream id, never of a position in a list or a thread.
//!
//! The seed of a stream is `synmarket_engine::seed::stream_seed(root, tag, index)` (the one home
//! of every mixing function); [`stream_rng`] expands it to the 32-byte ChaCha key with
//! `seed::key_word`: `k_i = splitmix64(stream_seed + i·φ)` for i = 0..4.
//! An agent's stream uses its population's *name* as the tag and its index within the population,
//! so adding an agent or a population leaves every other agent's draws unchanged.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator every agent and population uses.
pub type AgentRng = ChaCha8Rng;

pub use synmarket_engine::seed::{fnv1a64, splitmix64, stream_seed};

/// A ChaCha8 generator for stream (`tag`, `index`) under `root`.
pub fn stream_rng(root: u64, tag: &str, index: u64) -> AgentRng {
    let s = stream_seed(root, tag, index);
    let mut key = [0u8; 32];
    for (i, chunk) in key.chunks_mut(8).enumerate() {
        let w = synmarket_engine::seed::key_word(s, i as u64);
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
