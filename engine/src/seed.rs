//! Seeds and deterministic draws: the one home of every mixing function of a run
//! (docs/architecture.md, "Determinism contract").
//!
//! A run has one root seed (the scenario's `seed`). Every random stream is a pure function of
//! (root seed, stream id), never of a position in a list, a thread or a clock:
//!
//! | stream | seed | where it is used |
//! |---|---|---|
//! | an agent (population `name`, member `i`) | [`stream_seed`]`(root, name, i)`, expanded to a ChaCha8 key by `synmarket_agents::stream` | every draw the agent makes |
//! | the market's own sampling | [`market_seed`]`(root)` = `splitmix64(root ^ 0x6d61726b65745f73)` | audits ([`unit_sample`], [`keyed`]); dispute panels ([`rendezvous`]); the arbitrators of an escrow ([`panel_index`]) |
//! | a workload of the engine's benches | `workload::SplitMix` over [`splitmix64`] | seeded command streams |
//! | a sweep run | [`text_seed`] of a canonical text of (`base_seed`, seed mode, point, replication) | the run's root seed |
//! | a random-search sweep point | [`text_seed`] of (sweep seed, sample, key) | the point's values |
//!
//! The functions are SplitMix64 (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number
//! generators") and FNV-1a for names. Their values are pinned by the tests below: changing any of
//! them changes every result of every study.

/// The golden-ratio increment of SplitMix64, `2^64 / φ`.
pub const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// Stream id mixed into the root seed for the market's own seed (ASCII `"market_s"`).
pub const MARKET_SEED_STREAM: u64 = 0x6d61_726b_6574_5f73;

/// The SplitMix64 finaliser (a bijection of 64 bits with full avalanche), without the increment.
#[inline]
pub fn fmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One SplitMix64 output for state `x`: `fmix64(x + GOLDEN_GAMMA)`.
#[inline]
pub fn splitmix64(x: u64) -> u64 {
    fmix64(x.wrapping_add(GOLDEN_GAMMA))
}

/// FNV-1a over bytes: a stable 64-bit hash of a name (population names are stream ids).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The 64-bit seed of stream (`tag`, `index`) under `root`:
/// `splitmix64(root ^ splitmix64(fnv1a64(tag) ^ splitmix64(index)))`.
pub fn stream_seed(root: u64, tag: &str, index: u64) -> u64 {
    splitmix64(root ^ splitmix64(fnv1a64(tag.as_bytes()) ^ splitmix64(index)))
}

/// Word `i` of the 256-bit key expanded from a 64-bit stream seed:
/// `splitmix64(seed + i · GOLDEN_GAMMA)`.
pub fn key_word(seed: u64, i: u64) -> u64 {
    splitmix64(seed.wrapping_add(i.wrapping_mul(GOLDEN_GAMMA)))
}

/// The market's seed for root seed `root`: `splitmix64(root ^ MARKET_SEED_STREAM)`.
pub fn market_seed(root: u64) -> u64 {
    splitmix64(root ^ MARKET_SEED_STREAM)
}

/// A 64-bit seed from a text: the first 8 bytes (big-endian) of its SHA-256. Sweeps derive run
/// seeds and random points from canonical texts with it (`synmarket::sweep`):
/// `synmarket-seed-v1\ncommon\n<base_seed>\n<replication>` (common random numbers: every point's
/// replication `r` gets the same seed), `synmarket-seed-v1\nindependent\n<base_seed>\n<point>\n<r>`,
/// and `synmarket-random-v1\n<seed>\n<sample>\n<key>\n<n>` for random-search points.
pub fn text_seed(text: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes)
}

/// A 64-bit value keyed by (market seed, stream tag, id):
/// `splitmix64(seed ^ splitmix64(stream · GOLDEN_GAMMA ^ splitmix64(id)))`.
#[inline]
pub fn keyed(seed: u64, stream: u64, id: u64) -> u64 {
    splitmix64(seed ^ splitmix64(stream.wrapping_mul(GOLDEN_GAMMA) ^ splitmix64(id)))
}

/// The rendezvous score of peer `peer` for escrow `escrow` in draw `stream` (lower wins): a
/// panel is the `n` eligible arbitrators with the lowest scores, so each escrow draws its own
/// panel, independently of how many other arbitrators exist or in which order they registered:
/// `splitmix64(seed ^ splitmix64(stream ^ splitmix64(escrow ^ (peer << 40))))`.
#[inline]
pub fn rendezvous(seed: u64, stream: u64, escrow: u64, peer: u32) -> u64 {
    splitmix64(seed ^ splitmix64(stream ^ splitmix64(escrow ^ ((peer as u64) << 40))))
}

/// Draw `j` (0, 1, …) of the arbitrators of escrow `escrow` in draw `stream`: an index in
/// `[0, len)`, uniform (Lemire's multiply-shift of a 64-bit word, bias below `len / 2^64`). The
/// words are the SplitMix64 sequence started at [`keyed`]`(seed, stream, escrow)`, so each
/// escrow has its own sequence and draw `j` costs O(1) whatever `len` is. `len` must be > 0.
#[inline]
pub fn panel_index(seed: u64, stream: u64, escrow: u64, j: u64, len: usize) -> usize {
    let word = splitmix64(keyed(seed, stream, escrow).wrapping_add(j.wrapping_mul(GOLDEN_GAMMA)));
    ((word as u128 * len as u128) >> 64) as usize
}

/// A uniform draw in `[0, 1)` keyed by (market seed, stream tag, id): the top 53 bits of
/// [`keyed`]. The same arguments always give the same value.
#[inline]
pub fn unit_sample(seed: u64, stream: u64, id: u64) -> f64 {
    (keyed(seed, stream, id) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendezvous_scores_are_pinned() {
        assert_eq!(rendezvous(1, 2, 3, 4), 0x0983_ffce_15c0_7207);
        assert_ne!(rendezvous(1, 2, 3, 4), rendezvous(1, 2, 3, 5), "each peer scores apart");
    }

    #[test]
    fn panel_indices_are_pinned_in_range_and_uniform() {
        assert_eq!(panel_index(1, 2, 3, 0, 1 << 20), 756_092);
        let mut counts = [0u32; 7];
        for escrow in 0..2_000u64 {
            for j in 0..7 {
                let i = panel_index(9, 0xA5B1, escrow, j, 7);
                assert!(i < 7);
                counts[i] += 1;
            }
        }
        // 14,000 draws in 7 cells: 2,000 each, sd ~41; 5 sd either way.
        assert!(counts.iter().all(|&c| (1_795..=2_205).contains(&c)), "{counts:?}");
    }

    #[test]
    fn known_values_pin_the_mixing_functions() {
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(stream_seed(0, "", 0), splitmix64(splitmix64(0xcbf2_9ce4_8422_2325 ^ splitmix64(0))));
        assert_eq!(market_seed(0), splitmix64(MARKET_SEED_STREAM));
        assert_eq!(text_seed(""), 0xe3b0_c442_98fc_1c14);
    }

    #[test]
    fn draws_are_in_the_unit_interval_and_keyed() {
        for id in 0..1000 {
            let u = unit_sample(7, 3, id);
            assert!((0.0..1.0).contains(&u));
            assert_eq!(u, unit_sample(7, 3, id));
        }
        assert_ne!(unit_sample(7, 3, 1), unit_sample(7, 4, 1));
        assert_ne!(unit_sample(7, 3, 1), unit_sample(8, 3, 1));
    }
}
