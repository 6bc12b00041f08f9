//! Wallets, escrow balances, the treasury and the hash-chained ledger (§5, §12).
//!
//! Every token movement goes through `Bank::transfer`, which checks the source balance, moves
//! the amount and appends a [`LedgerEntry`] whose fields are folded into a running 128-bit hash
//! chain. The chain is a fingerprint for determinism checks, not a cryptographic commitment: it
//! uses a fast 64-bit mixer in two lanes, so that the hot path pays nanoseconds, not a SHA-256.
//!
//! Conservation: tokens enter only by endowment (from `Mint`) and leave only by withdrawal (to
//! `Mint`, used by period resets), so Σ available + Σ locked + Σ escrow + treasury always equals
//! Σ endowments − Σ withdrawals. [`Bank::check`] proves it.

use serde::{Deserialize, Serialize};

use crate::error::{InvariantError, MarketError};
use crate::ids::{EscrowId, PeerId, SimTime};

/// A place tokens can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Account {
    /// Outside the market: endowments come from here, withdrawals go here.
    Mint,
    /// A peer's spendable tokens.
    Available(PeerId),
    /// A peer's tokens locked behind open requests.
    Locked(PeerId),
    /// An escrow.
    Escrow(EscrowId),
    /// The market's fee income.
    Treasury,
}

impl Account {
    fn code(self) -> (u64, u64) {
        match self {
            Account::Mint => (0, 0),
            Account::Available(p) => (1, p.0 as u64),
            Account::Locked(p) => (2, p.0 as u64),
            Account::Escrow(e) => (3, e.0),
            Account::Treasury => (4, 0),
        }
    }

    /// The peer or escrow number, or -1.
    pub fn owner(self) -> i64 {
        match self {
            Account::Available(p) | Account::Locked(p) => p.0 as i64,
            Account::Escrow(e) => e.0 as i64,
            Account::Mint | Account::Treasury => -1,
        }
    }
}

/// Why tokens moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Mint → available.
    Endowment,
    /// Available → mint (period reset).
    Withdrawal,
    /// Available → locked, at request placement.
    Lock,
    /// Locked → available, for what a request does not spend.
    Unlock,
    /// Locked → escrow, at a match.
    EscrowFund,
    /// Escrow → provider.
    Release,
    /// Escrow → requester (failure, timeout, void, dispute).
    Refund,
    /// Escrow → requester, an SLA penalty.
    Penalty,
    /// Escrow → treasury, the market fee.
    Fee,
    /// Escrow → requester, a payment voided by a compliance violation.
    Forfeit,
}

/// One token movement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Position in the ledger, from 0.
    pub seq: u64,
    /// Simulated time.
    pub time: SimTime,
    /// Why.
    pub kind: EntryKind,
    /// Source.
    pub from: Account,
    /// Destination.
    pub to: Account,
    /// Tokens moved (> 0).
    pub amount: u64,
    /// The order, escrow or peer the movement belongs to.
    pub reference: u64,
}

/// A peer's wallet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallet {
    /// Spendable tokens.
    pub available: u64,
    /// Tokens locked behind open requests.
    pub locked: u64,
}

/// Wallets, escrows, treasury and ledger.
#[derive(Clone, Debug)]
pub struct Bank {
    wallets: Vec<Wallet>,
    escrows: Vec<u64>,
    treasury: u64,
    supply: u64,
    escrow_total: u64,
    entries: Vec<LedgerEntry>,
    retain: bool,
    count: u64,
    chain: [u64; 2],
}

use crate::seed::fmix64 as mix;

impl Bank {
    /// An empty bank. With `retain` false the entries are not kept (the chain still is).
    pub(crate) fn new(retain: bool) -> Self {
        Bank {
            wallets: Vec::new(),
            escrows: Vec::new(),
            treasury: 0,
            supply: 0,
            escrow_total: 0,
            entries: Vec::new(),
            retain,
            count: 0,
            chain: [0x6a09_e667_f3bc_c908, 0xbb67_ae85_84ca_a73b],
        }
    }

    /// Opens a wallet for the next peer id.
    pub(crate) fn add_wallet(&mut self) {
        self.wallets.push(Wallet::default());
    }

    /// Makes room for `escrows` more escrow accounts and, when entries are kept, `entries` more
    /// ledger entries.
    pub(crate) fn reserve(&mut self, escrows: usize, entries: usize) {
        let _ = self.escrows.try_reserve_exact(escrows);
        if self.retain {
            let _ = self.entries.try_reserve_exact(entries);
        }
    }

    /// Opens an empty escrow account for the next escrow id.
    pub(crate) fn add_escrow(&mut self) {
        self.escrows.push(0);
    }

    /// A peer's wallet.
    pub fn wallet(&self, peer: PeerId) -> Wallet {
        self.wallets.get(peer.index()).copied().unwrap_or_default()
    }

    /// Tokens held by an escrow.
    pub fn escrow_balance(&self, escrow: EscrowId) -> u64 {
        self.escrows.get(escrow.index()).copied().unwrap_or(0)
    }

    /// Treasury balance.
    pub fn treasury(&self) -> u64 {
        self.treasury
    }

    /// Σ endowments − Σ withdrawals.
    pub fn supply(&self) -> u64 {
        self.supply
    }

    /// Σ of all escrow balances.
    pub fn escrow_total(&self) -> u64 {
        self.escrow_total
    }

    /// The retained entries (empty when retention is off).
    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }

    /// Number of entries ever appended.
    pub fn entry_count(&self) -> u64 {
        self.count
    }

    /// The hash chain's current value as 32 hex digits.
    pub fn digest(&self) -> String {
        format!("{:016x}{:016x}", self.chain[0], self.chain[1])
    }

    fn balance_mut(&mut self, account: Account) -> Option<&mut u64> {
        match account {
            Account::Mint => None,
            Account::Available(p) => self.wallets.get_mut(p.index()).map(|w| &mut w.available),
            Account::Locked(p) => self.wallets.get_mut(p.index()).map(|w| &mut w.locked),
            Account::Escrow(e) => self.escrows.get_mut(e.index()),
            Account::Treasury => Some(&mut self.treasury),
        }
    }

    /// The balance of an account (`Mint` has none: 0).
    pub fn balance(&self, account: Account) -> u64 {
        match account {
            Account::Mint => 0,
            Account::Available(p) => self.wallet(p).available,
            Account::Locked(p) => self.wallet(p).locked,
            Account::Escrow(e) => self.escrow_balance(e),
            Account::Treasury => self.treasury,
        }
    }

    /// Moves `amount` from `from` to `to`, or refuses and changes nothing. A zero amount is a
    /// no-op that writes no entry.
    pub(crate) fn transfer(
        &mut self,
        kind: EntryKind,
        from: Account,
        to: Account,
        amount: u64,
        reference: u64,
        time: SimTime,
    ) -> Result<(), MarketError> {
        if amount == 0 {
            return Ok(());
        }
        // Check both ends before touching either.
        if from != Account::Mint {
            let have = self.balance(from);
            if have < amount {
                let peer = match from {
                    Account::Available(p) | Account::Locked(p) => p,
                    _ => PeerId(u32::MAX),
                };
                return Err(MarketError::InsufficientFunds { peer, available: have, needed: amount });
            }
        } else if self.supply.checked_add(amount).is_none() {
            return Err(MarketError::SupplyOverflow);
        }
        if to != Account::Mint {
            let have = self.balance(to);
            if have.checked_add(amount).is_none() || self.balance_mut(to).is_none() {
                return Err(MarketError::SupplyOverflow);
            }
        }
        match from {
            Account::Mint => self.supply += amount,
            a => {
                if let Some(b) = self.balance_mut(a) {
                    *b -= amount;
                }
            }
        }
        match to {
            Account::Mint => self.supply -= amount,
            a => {
                if let Some(b) = self.balance_mut(a) {
                    *b += amount;
                }
            }
        }
        if let Account::Escrow(_) = from {
            self.escrow_total -= amount;
        }
        if let Account::Escrow(_) = to {
            self.escrow_total += amount;
        }
        let entry = LedgerEntry { seq: self.count, time, kind, from, to, amount, reference };
        self.fold(&entry);
        self.count += 1;
        if self.retain {
            self.entries.push(entry);
        }
        Ok(())
    }

    fn fold(&mut self, e: &LedgerEntry) {
        let (fk, fo) = e.from.code();
        let (tk, to) = e.to.code();
        let words = [e.seq, e.time, e.kind as u64 | (fk << 8) | (tk << 16), fo, to, e.amount, e.reference];
        for w in words {
            self.chain[0] = mix(self.chain[0] ^ w);
            self.chain[1] = mix(self.chain[1].rotate_left(17) ^ w ^ crate::seed::GOLDEN_GAMMA);
        }
    }

    /// Checks conservation and the running escrow total; returns the first violation.
    pub fn check(&self) -> Result<(), InvariantError> {
        let mut total: u128 = self.treasury as u128;
        for w in &self.wallets {
            total += w.available as u128 + w.locked as u128;
        }
        let escrow_sum: u128 = self.escrows.iter().map(|&e| e as u128).sum();
        if escrow_sum != self.escrow_total as u128 {
            return Err(InvariantError::EscrowTotal { total: self.escrow_total, sum: escrow_sum });
        }
        total += escrow_sum;
        if total != self.supply as u128 {
            return Err(InvariantError::Conservation { held: total, endowed: self.supply });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank() -> Bank {
        let mut b = Bank::new(true);
        b.add_wallet();
        b.add_wallet();
        b.add_escrow();
        b
    }

    #[test]
    fn movements_conserve_and_chain() {
        let mut b = bank();
        let p = PeerId(0);
        b.transfer(EntryKind::Endowment, Account::Mint, Account::Available(p), 1000, 0, 0).unwrap();
        b.transfer(EntryKind::Lock, Account::Available(p), Account::Locked(p), 600, 1, 1).unwrap();
        b.transfer(EntryKind::EscrowFund, Account::Locked(p), Account::Escrow(EscrowId(0)), 500, 0, 2).unwrap();
        b.transfer(EntryKind::Fee, Account::Escrow(EscrowId(0)), Account::Treasury, 5, 0, 3).unwrap();
        b.check().unwrap();
        assert_eq!(b.wallet(p), Wallet { available: 400, locked: 100 });
        assert_eq!(b.escrow_total(), 495);
        assert_eq!(b.entries().len(), 4);
        let d1 = b.digest();
        b.transfer(EntryKind::Unlock, Account::Locked(p), Account::Available(p), 100, 1, 4).unwrap();
        assert_ne!(d1, b.digest());
    }

    #[test]
    fn overdraw_is_refused_and_changes_nothing() {
        let mut b = bank();
        let p = PeerId(1);
        b.transfer(EntryKind::Endowment, Account::Mint, Account::Available(p), 10, 0, 0).unwrap();
        let before = b.digest();
        let err = b.transfer(EntryKind::Lock, Account::Available(p), Account::Locked(p), 11, 0, 0).unwrap_err();
        assert!(matches!(err, MarketError::InsufficientFunds { needed: 11, available: 10, .. }));
        assert_eq!(b.digest(), before);
        assert_eq!(b.wallet(p).available, 10);
        b.check().unwrap();
    }

    #[test]
    fn same_movements_same_digest() {
        let run = || {
            let mut b = bank();
            b.transfer(EntryKind::Endowment, Account::Mint, Account::Available(PeerId(0)), 7, 0, 0).unwrap();
            b.digest()
        };
        assert_eq!(run(), run());
    }
}

crate::named!(Account, EntryKind);
