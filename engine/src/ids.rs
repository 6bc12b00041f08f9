//! Dense integer identities handed out by the market (never random UUIDs), and simulated time.
//!
//! Every id is a newtype over an integer so that a peer id can never be passed where an order id
//! is expected. Ids are sequential in creation order; `OrderId` order therefore equals placement
//! order, which the book uses as its time-priority tie break.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $inner:ty) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        pub struct $name(pub $inner);

        impl $name {
            /// The id as an index into a dense table.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A participant of the federation. Dense: peers are numbered 0, 1, 2, ... in registration order.
    PeerId,
    u32
);
id_type!(
    /// An order (request or offer). Sequential in placement order.
    OrderId,
    u64
);
id_type!(
    /// A task assignment: one match between a request and an offer.
    AssignmentId,
    u64
);
id_type!(
    /// An escrow. Each assignment has exactly one, with the same number.
    EscrowId,
    u64
);
id_type!(
    /// A provider's own model subscription ("account"), named on execution receipts.
    AccountId,
    u64
);
id_type!(
    /// An interned task type (index into the market's task type table).
    TaskTypeId,
    u16
);

/// Simulated time in milliseconds since the start of the run.
pub type SimTime = u64;
/// A duration of simulated time in milliseconds.
pub type DurationMs = u64;

/// One second of simulated time.
pub const SECOND: DurationMs = 1_000;
/// One minute of simulated time.
pub const MINUTE: DurationMs = 60 * SECOND;
/// One hour of simulated time.
pub const HOUR: DurationMs = 60 * MINUTE;
/// One day of simulated time.
pub const DAY: DurationMs = 24 * HOUR;
