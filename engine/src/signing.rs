//! Optional ed25519 signatures (§10).
//!
//! Keys are derived deterministically: the signing key of peer `p` under `key_seed` is the
//! ed25519 key whose 32-byte seed is `SHA-256("synmarket-key" ‖ key_seed ‖ p)`. The market
//! registers each peer's verifying key; agents sign the canonical byte encodings below. A forger
//! signs with a key derived for another peer or another seed, and the market refuses the call.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::ids::{EscrowId, PeerId};
use crate::order::{ComputeTaskSpec, OrderType, SignatureBytes};

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

/// Canonical encoding of an order placement: fixed-width little-endian fields.
pub fn order_message(
    order_type: OrderType,
    trader: PeerId,
    price_per_unit: u64,
    total_units: u64,
    spec: &ComputeTaskSpec,
    expires_at: Option<u64>,
) -> [u8; 75] {
    let mut m = [0u8; 75];
    m[0] = match order_type {
        OrderType::RequestCompute => 1,
        OrderType::OfferCompute => 2,
    };
    m[1..5].copy_from_slice(&trader.0.to_le_bytes());
    m[5..13].copy_from_slice(&price_per_unit.to_le_bytes());
    m[13..21].copy_from_slice(&total_units.to_le_bytes());
    m[21..23].copy_from_slice(&spec.task_type.0.to_le_bytes());
    m[23..39].copy_from_slice(&spec.capabilities.0.to_le_bytes());
    m[39..47].copy_from_slice(&spec.min_reputation.to_bits().to_le_bytes());
    m[47] = spec.privacy_level as u8;
    m[48..56].copy_from_slice(&spec.compute_units.to_le_bytes());
    m[56..64].copy_from_slice(&spec.max_duration_ms.to_le_bytes());
    m[64] = expires_at.is_some() as u8;
    m[65..73].copy_from_slice(&expires_at.unwrap_or(0).to_le_bytes());
    m[73..75].copy_from_slice(&(spec.payload_bytes.min(u16::MAX as u32) as u16).to_le_bytes());
    m
}

/// Canonical encoding of a release approval.
pub fn approval_message(escrow: EscrowId, approver: PeerId) -> [u8; 20] {
    let mut m = [0u8; 20];
    m[0..8].copy_from_slice(b"approve\0");
    m[8..16].copy_from_slice(&escrow.0.to_le_bytes());
    m[16..20].copy_from_slice(&approver.0.to_le_bytes());
    m
}

/// Signs a message.
pub fn sign(key: &SigningKey, message: &[u8]) -> SignatureBytes {
    key.sign(message).to_bytes()
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

    #[test]
    fn derived_keys_verify_and_forgeries_do_not() {
        let spec = ComputeTaskSpec::new(TaskTypeId(0), CapabilitySet::single(1));
        let msg = order_message(OrderType::RequestCompute, PeerId(3), 50, 100, &spec, None);
        let good = sign(&derive_signing_key(7, PeerId(3)), &msg);
        let vk = derive_verifying_key(7, PeerId(3));
        assert!(verify(&vk, &msg, &good));
        let forged = sign(&derive_signing_key(7, PeerId(4)), &msg);
        assert!(!verify(&vk, &msg, &forged));
        let other_seed = sign(&derive_signing_key(8, PeerId(3)), &msg);
        assert!(!verify(&vk, &msg, &other_seed));
        let tampered = order_message(OrderType::RequestCompute, PeerId(3), 51, 100, &spec, None);
        assert!(!verify(&vk, &tampered, &good));
    }
}
