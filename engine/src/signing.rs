//! Optional ed25519 signatures (§10).
//!
//! Keys are derived deterministically: the signing key of peer `p` under `key_seed` is the
//! ed25519 key whose 32-byte seed is `SHA-256("synmarket-key" ‖ key_seed ‖ p)`. The market
//! registers each peer's verifying key; agents sign the canonical byte encodings below. A forger
//! signs with a key derived for another peer or another seed, and the market refuses the call.
//!
//! **What is signed.** [`order_message`] covers every field that changes what an order means: the
//! side, the trader, price and units, the whole task spec (task type, compute units, maximum
//! duration, capabilities, minimum reputation, privacy level, the full 32-bit payload size), the
//! whole SLA (its presence, both durations, the uptime requirement, every quality minimum and the
//! penalty) and the expiry. [`approval_message`] covers the escrow and the approver. Each message
//! starts with a distinct tag, so an order signature is never a valid approval.
//!
//! Layout, all integers little-endian, floats as their IEEE bits: order ([`ORDER_MESSAGE_LEN`] =
//! 147 bytes) — `"order\0\0\0"`, seq u64, side u8 (request 1, offer 2), trader u32, price u64,
//! units u64, task type u16, compute units u64, max duration u64, capabilities u128, min
//! reputation f64, privacy u8 (public 0, private 1, confidential 2), payload bytes u32, expiry flag
//! u8 and expiry u64 (0 when absent), SLA flag u8, then for an SLA: max response u64, max duration
//! u64, uptime f64, penalty u64, number of quality minimums u8 and each minimum as metric u8 and
//! f32 bits; absent parts are zeros. Approval ([`APPROVAL_MESSAGE_LEN`] = 28 bytes) —
//! `"approve\0"`, seq u64, escrow u64, approver u32.
//!
//! **Sequence numbers.** Every signed message carries the signer's sequence number `seq`, inside
//! the signed bytes and beside the signature ([`Signed`]). The market accepts a signed message only
//! when `seq` is above the last sequence number it accepted from that peer (gaps are allowed); a
//! replayed message, or one overtaken by a later one, is refused with
//! [`crate::MarketError::Replayed`] and nothing changes. A message is *accepted* when the call it
//! authorises succeeds: a call refused for another reason (no funds, wrong state) leaves the
//! number unused. [`crate::Market::next_signature_seq`] tells a signer the next number accepted.
//! Checks run in this order: the signature verifies against the claimed signer's key
//! (`BadSignature` otherwise), then the sequence number is fresh (`Replayed` otherwise).

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::ids::{EscrowId, PeerId};
use crate::order::{MAX_QUALITY_VALUES, NewOrder, Side, SignatureBytes};

pub use crate::order::Signed;

/// The signing key of `peer` under `key_seed`.
pub fn derive_signing_key(key_seed: u64, peer: PeerId) -> SigningKey {
    let mut h = Sha256::new();
    h.update(b"synmarket-key");
    h.update(key_seed.to_le_bytes());
    h.update(peer.0.to_le_bytes());
    let seed: [u8; 32] = h.finalize().into();
    SigningKey::from_bytes(&seed)
}

/// The verifying key of `peer` under `key_seed`.
pub fn derive_verifying_key(key_seed: u64, peer: PeerId) -> VerifyingKey {
    derive_signing_key(key_seed, peer).verifying_key()
}

/// Length of an order message.
pub const ORDER_MESSAGE_LEN: usize = 147;
/// Length of an approval message.
pub const APPROVAL_MESSAGE_LEN: usize = 28;

/// Little-endian writer into a fixed buffer.
struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

/// Canonical encoding of an order placement with sequence number `seq`: fixed-width
/// little-endian fields (layout in the module docs; absent options are a 0 flag and zeros). The
/// order's own `signature` field is not part of the message.
pub fn order_message(order: &NewOrder, seq: u64) -> [u8; ORDER_MESSAGE_LEN] {
    let NewOrder { side, trader, price_per_unit, total_units, ref spec, sla, expires_at, signature: _ } = *order;
    let sla = sla.as_ref();
    let mut m = [0u8; ORDER_MESSAGE_LEN];
    let mut w = Writer { buf: &mut m, at: 0 };
    w.put(b"order\0\0\0");
    w.put(&seq.to_le_bytes());
    w.put(&[match side {
        Side::Buy => 1,
        Side::Sell => 2,
    }]);
    w.put(&trader.0.to_le_bytes());
    w.put(&price_per_unit.to_le_bytes());
    w.put(&total_units.to_le_bytes());
    w.put(&spec.task_type.0.to_le_bytes());
    w.put(&spec.compute_units.to_le_bytes());
    w.put(&spec.max_duration_ms.to_le_bytes());
    w.put(&spec.capabilities.0.to_le_bytes());
    w.put(&spec.min_reputation.to_bits().to_le_bytes());
    w.put(&[spec.privacy_level as u8]);
    w.put(&spec.payload_bytes.to_le_bytes());
    w.put(&[expires_at.is_some() as u8]);
    w.put(&expires_at.unwrap_or(0).to_le_bytes());
    w.put(&[sla.is_some() as u8]);
    if let Some(s) = sla {
        w.put(&s.max_response_time_ms.to_le_bytes());
        w.put(&s.max_duration_ms.to_le_bytes());
        w.put(&s.uptime_requirement.to_bits().to_le_bytes());
        w.put(&s.violation_penalty.to_le_bytes());
        w.put(&[s.quality_minimums.len() as u8]);
        for (metric, min) in s.quality_minimums.iter() {
            w.put(&[metric]);
            w.put(&(min as f32).to_bits().to_le_bytes());
        }
    }
    // The SLA block is fixed-width: 33 bytes, then 5 per quality slot (unused slots stay zero).
    debug_assert!(w.at <= ORDER_MESSAGE_LEN);
    debug_assert_eq!(ORDER_MESSAGE_LEN, 94 + 33 + 5 * MAX_QUALITY_VALUES);
    m
}

/// Canonical encoding of a release approval with sequence number `seq`.
pub fn approval_message(escrow: EscrowId, approver: PeerId, seq: u64) -> [u8; APPROVAL_MESSAGE_LEN] {
    let mut m = [0u8; APPROVAL_MESSAGE_LEN];
    let mut w = Writer { buf: &mut m, at: 0 };
    w.put(b"approve\0");
    w.put(&seq.to_le_bytes());
    w.put(&escrow.0.to_le_bytes());
    w.put(&approver.0.to_le_bytes());
    m
}

/// Signs a message.
pub fn sign(key: &SigningKey, message: &[u8]) -> SignatureBytes {
    key.sign(message).to_bytes()
}

/// Signs a message that carries sequence number `seq` (the `seq` given to the message builder).
pub fn sign_seq(key: &SigningKey, seq: u64, message: &[u8]) -> Signed {
    Signed { seq, bytes: sign(key, message) }
}

/// True when `signature` is `key`'s signature of `message`.
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &SignatureBytes) -> bool {
    key.verify(message, &Signature::from_bytes(signature)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::CapabilitySet;
    use crate::ids::TaskTypeId;
    use crate::order::{ComputeTaskSpec, QualityValues, SlaSpec};

    #[test]
    fn derived_keys_verify_and_forgeries_do_not() {
        let spec = ComputeTaskSpec::new(TaskTypeId(0), CapabilitySet::single(1).unwrap());
        let msg = order_message(&NewOrder::buy(PeerId(3), 50, 100, spec), 0);
        let good = sign(&derive_signing_key(7, PeerId(3)), &msg);
        let vk = derive_verifying_key(7, PeerId(3));
        assert!(verify(&vk, &msg, &good));
        let forged = sign(&derive_signing_key(7, PeerId(4)), &msg);
        assert!(!verify(&vk, &msg, &forged));
        let other_seed = sign(&derive_signing_key(8, PeerId(3)), &msg);
        assert!(!verify(&vk, &msg, &other_seed));
        let tampered = order_message(&NewOrder::buy(PeerId(3), 51, 100, spec), 0);
        assert!(!verify(&vk, &tampered, &good));
    }

    #[test]
    fn every_field_changes_the_message() {
        let spec = ComputeTaskSpec::new(TaskTypeId(0), CapabilitySet::single(1).unwrap());
        let sla = SlaSpec {
            max_response_time_ms: 1,
            max_duration_ms: 2,
            uptime_requirement: 0.5,
            quality_minimums: QualityValues::new(&[(1, 0.5)]).unwrap(),
            violation_penalty: 3,
        };
        let base = order_message(
            &NewOrder { sla: Some(sla), expires_at: Some(9), ..NewOrder::sell(PeerId(1), 2, 3, spec) },
            4,
        );
        let mut variants = Vec::new();
        let mut s2 = spec;
        s2.payload_bytes = 65_536;
        variants.push(order_message(
            &NewOrder { sla: Some(sla), expires_at: Some(9), ..NewOrder::sell(PeerId(1), 2, 3, s2) },
            4,
        ));
        let mut s3 = spec;
        s3.payload_bytes = 65_535;
        let mut s4 = spec;
        s4.payload_bytes = u32::MAX;
        assert_ne!(
            order_message(&NewOrder::sell(PeerId(1), 2, 3, s3), 0),
            order_message(&NewOrder::sell(PeerId(1), 2, 3, s4), 0),
        );
        for change in 0..8 {
            let mut t = sla;
            match change {
                0 => t.max_response_time_ms += 1,
                1 => t.max_duration_ms += 1,
                2 => t.uptime_requirement = 0.6,
                3 => t.violation_penalty += 1,
                4 => t.quality_minimums = QualityValues::new(&[(1, 0.6)]).unwrap(),
                5 => t.quality_minimums = QualityValues::new(&[(2, 0.5)]).unwrap(),
                6 => t.quality_minimums = QualityValues::new(&[(1, 0.5), (2, 0.5)]).unwrap(),
                _ => t.quality_minimums = QualityValues::EMPTY,
            }
            variants.push(order_message(
                &NewOrder { sla: Some(t), expires_at: Some(9), ..NewOrder::sell(PeerId(1), 2, 3, spec) },
                4,
            ));
        }
        variants.push(order_message(&NewOrder { expires_at: Some(9), ..NewOrder::sell(PeerId(1), 2, 3, spec) }, 4));
        variants.push(order_message(&NewOrder { sla: Some(sla), ..NewOrder::sell(PeerId(1), 2, 3, spec) }, 4));
        variants.push(order_message(
            &NewOrder { sla: Some(sla), expires_at: Some(9), ..NewOrder::sell(PeerId(1), 2, 3, spec) },
            5,
        ));
        for v in &variants {
            assert_ne!(&base, v);
        }
        assert_ne!(approval_message(EscrowId(1), PeerId(2), 3), approval_message(EscrowId(1), PeerId(2), 4));
    }
}
