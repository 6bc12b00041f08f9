//! The offer book: per task type, one price-ordered book per capability class.
//!
//! A *capability class* is a distinct capability set held by resting offers of a task type. Each
//! class keeps its offers in an ordered set by [`OfferKey`] (weighted ask, then order id,
//! i.e. placement order), so a request visits only the classes whose capabilities cover its needs
//! and walks each from the best price: never a scan over all offers. Classes are never removed
//! (their number is bounded by the distinct capability sets seen), so class indices are stable.
//!
//! Finding the class of a capability set ([`TypeBook::class_of`], [`TypeBook::auction_class_of`],
//! [`TypeBook::remove_auction`]) is one `BTreeMap` lookup, O(log c) for c classes (it was a
//! linear scan of the classes). The map is an index into the `Vec`s, which stay in creation order.
//! Class slots are never freed: freeing one would shift the indices that an offer's walk over
//! need classes holds while it closes filled requests (`match_offer`), and a class created again
//! would move from its first position to the end, changing the order in which walks visit
//! classes. Instead a class that becomes empty leaves the *live list* ([`TypeBook::live_classes`],
//! [`TypeBook::live_auction_classes`]: the indices of non-empty classes, ascending) and rejoins it
//! at its own index when it fills again. Walks iterate the live list, so they visit the same
//! classes in the same (creation) order as before, minus empty ones, which gave no cursor: the
//! setup of a walk is O(live classes), no longer O(every class ever seen) (with the heads indexes
//! below, the heads it reaches plus a pass over the classes of its rarest need, or of its need
//! set's entry, that stops at the ninth eligible bucket or the ninth class below its reputation
//! floor; that pass runs through the whole list of its rarest need when few of those classes
//! hold its other needs, until the need set has an entry: once, unless every slot is in steady
//! use). Listing or unlisting a class (only when it turns empty or non-empty) is a binary
//! search and a shift of the list, and, while the heads index is on, of the list of each of its
//! capabilities.
//!
//! Within a class, offers are split into [`REP_BUCKETS`] reputation buckets by their reputation
//! factor `f = clamp(rep / 100, 0.5, 2)`: bucket `b` holds factors in
//! `[0.5·4^(b/32), 0.5·4^((b+1)/32))`. Priority is the weighted ask `ask / f^k`, but a match
//! needs `ask ≤ bid`; in one book ordered by weighted ask, a high-reputation offer priced far above
//! a bid sorts early and every low bid would walk past it. In bucket `b`, `ask ≥ weighted ·
//! floor(b)^k`, so the walk of a bucket stops as soon as `weighted · floor(b)^k > bid`: it visits
//! only the offers that can trade plus a thin band of at most one bucket's width. A request merges
//! the buckets of every eligible class by the same key, so the order of fills is exactly that of a
//! single weighted-ask book. With `k = 0` the key is the raw ask, and the buckets hold raw
//! reputations instead, on a linear grid over the market's range `[reputation.min,
//! reputation.max]` ([`rep_bucket_linear`]): the walk of every bucket stops at the first ask above
//! the bid, and a request with a reputation floor (its `min_reputation`, or the `Private` and
//! `Confidential` minimums) skips the buckets whose reputations all fall below it, so offers that
//! fail the floor are never visited at any `k`. The merge by key keeps the fill order of a single
//! book, so the bucketing changes no result.
//!
//! Open auctions are indexed the same way from the other side: per task type, one set per
//! *need class* (the distinct capability sets requests need; a `Confidential` request is filed
//! under its needs plus the attestation capability 0, which its provider must hold), each ordered
//! by bid, highest first, then by request id (earliest auction first), and split into buckets by
//! the request's reputation floor (its `min_reputation`, raised by its privacy level's minimum) on
//! the linear grid of the reputation range. An incoming offer visits only the need classes its
//! capabilities cover, and in them only the buckets whose floors can be at most its provider's
//! reputation, and merges them by that order: requests its offer cannot serve for want of
//! capabilities, attestation or reputation are never looked at.
//!
//! **Lanes.** A provider's reputation moves the weighted ask of every one of its offers at once.
//! A provider with many resting offers (more than `LANES_FROM`, 256, `matching.rs`) therefore
//! keeps them in *lanes*: one [`Lane`] per (provider, task type, capability class), ordered by
//! (raw ask, id), and only each lane's first offer, its *head*, holds a key in the class book.
//! One provider's offers share its reputation factor, so within a lane the weighted ask rises
//! with the raw ask and the lane's order is the book's order. Asks below 2^52 tokens map to
//! distinct weighted asks (two asks `a < b` with `a + b < 2^53` stay apart after one rounded
//! division); above that, two asks of one provider can round to one weighted ask and the lane
//! orders them by raw ask where a single book would order them by id, the only case where lanes
//! and a single book may disagree. A request's walk merges the bucket streams of heads and, for
//! a head it took whole with cap room left, the stream of the rest of its lane, keyed on the fly
//! by the provider's current reputation (every test of a pick other than the ask and the cap room
//! is the same for the whole lane, and the asks only rise, so a lane whose head did not qualify
//! has nothing to give). A reputation change then moves one head per lane, O(l log n) for l lanes,
//! instead of every offer. Below `LANES_UNTIL` (64) resting offers the provider returns to one
//! key per offer. Lanes cost the matching throughput (an extra lane lookup per placement, a head
//! to re-file per fill; BENCHMARKS.md, "Scaling"), so providers with fewer offers keep one key
//! per offer, whose re-ranking is linear in their offers but bounded by the threshold; the gap
//! between the two thresholds makes each move, O(offers log n), happen at most once per 192
//! placements or removals of the provider. No result depends on the layout: the tests run the
//! same streams with every provider in lanes, with none, and with both mixed
//! (`Market::set_lane_thresholds`).
//!
//! **Heads.** A task type with at least [`HEADS_FROM`] (8) live classes also keeps a *heads
//! index*: per reputation bucket, the best offer of that bucket in every class where it is
//! non-empty, ordered by key ([`HeadKey`]), re-filed whenever a bucket's best changes (an insert
//! below it or the removal of it: one remove and one insert in a set of at most one entry per
//! class, O(log c)). A request's walk merges, besides the bucket streams, one stream of heads per
//! bucket that can serve it, up to that bucket's limit; a head the merge reaches opens a cursor on
//! its class's bucket if the class has the request's needs. So instead of opening a cursor on
//! every bucket of every eligible class before its first pick, a request that fills from the
//! best offers looks at a handful of heads whatever the number of classes. Keys are unique and
//! the book does not change during a walk, so the merge meets the same keys in the same order
//! however it opens its streams: the differential test draws the thresholds (always on, never,
//! flapping) and the bench streams give the same digests under each. The index goes off again
//! at [`HEADS_UNTIL`] (2) live classes: with few classes keeping it costs more (a set update per
//! change of a bucket's best) than opening their buckets directly.
//!
//! **Heads per capability.** A request with needs reads the live classes of its *rarest need*,
//! the capability of its needs that the fewest live classes hold (each capability of a live
//! class has an entry, [`TypeBook::by_capability`], listing them; a need no live class holds
//! ends the walk at once). If its needs admit at most 8 non-empty serving buckets of those
//! classes, it opens them directly. Otherwise it streams a heads index, and heads of classes
//! without its needs cost one step each. The pass that counts those buckets also ends at the
//! ninth class whose buckets all lie below the request's reputation floor: the heads index
//! streams only the serving buckets and skips such classes whole, so a high floor costs no pass
//! over every class of the rarest need (`DIRECT_UNSERVING`, `matching.rs`). When the rarest need has no index of its own, the walk streams the
//! task type's index, which may hold many such heads: a request needing a capability that only
//! the pricier classes hold meets every cheaper class's head first. A walk that has skipped at
//! least `HEAD_SKIPS` (8, `matching.rs`) heads and at least 4 per cursor it opened falls back: it
//! opens the eligible buckets of the rarest need's classes directly, and asks for that need's own
//! index ([`TypeBook::demand_index`]): the heads of the classes holding it, per bucket, kept
//! from then on like the task type's, until only `heads_until` live classes hold it. Walks for
//! that need then stream only heads of classes that hold it: none to skip when it is the only
//! need. Indexes go on on demand, not for every capability, because each one kept adds a set
//! update per change of a bucket's best in every class holding it: kept for every capability,
//! the benches' mix (every class holds 2 capabilities) ran 8–14 % more instructions; on demand
//! it runs 0.1–2.2 % more, and the selective streams 16–65 % fewer (BENCHMARKS.md, "Heads per
//! capability"). Building an index costs one insert per non-empty bucket of the classes holding
//! the need, of the order of the fallback that asked for it (which opens the serving buckets of
//! the classes holding every need). A need held by fewer than `heads_from` (8) live classes
//! never gets an index: its walks open those few classes directly. An index, once on, stays on
//! while more than `heads_until` classes hold its need, whether or not requests still ask for
//! it; a task type whose requests ask for many different selective needs pays the upkeep of each.
//! All of this holds while the task type's heads index is on; below 8 live classes a walk passes
//! every live class, as before the indexes. The 128 entries (64 bytes each, 8 KB, plus their
//! lists and sets) are made when a task type's heads index first goes on.
//!
//! **Heads per need set.** A request with several needs, each held by many classes but held
//! together by few, passes or skips the classes that hold its rarest need but not the others,
//! whichever index it streams. When such a walk falls back, or its pass over the classes of its
//! rarest need meets at least 8 such classes and 4 per eligible bucket, the need set gets an
//! entry of its own ([`TypeBook::by_need_set`]): the list of the live classes holding every
//! need, and their heads once at least `heads_from` (8) classes hold them all, unfiled again at
//! `heads_until` (the entry stays, listing them). Walks for exactly those needs then read that
//! entry: they stream its heads and skip nothing, or, with fewer holders, pass only the listed
//! classes, opened directly or, when more than 8 of their buckets can serve or more than 8 of
//! them none, through the heads the rarest need's walk would stream (its own index if on, else
//! the task type's). A task type keeps at most
//! [`NEED_SETS`] (8) entries at once, since each costs a subset test per change of a bucket's
//! best offer in every class (and a set update in those holding it, while filed). An entry
//! stays until the heads index goes off, or until a need set without one asks for a slot while
//! every slot is taken and the least recently read entry has been read by none of the last
//! [`NEED_SET_IDLE_WALKS`] (64) walks with several needs of the task type: it is evicted for
//! the new need set. A need set that gets no entry (every slot read recently) asks for its
//! rarest need's index instead. What stays linear: while more than 8 need sets are in steady
//! use, walks for those without an entry skip the heads of classes that hold their rarest need
//! but not all their needs, and fall back to one pass over those classes. Need-set entries are
//! not covered by `Market::reserve`: one that goes on after it allocates its list and sets.
//!
//! **Storage.** Every ordered set here (the buckets, the heads, the quote indexes, the rest of
//! each lane) is a B+tree in one of four shared node pools ([`Nodes`], `forest.rs`), one per key type,
//! not a `std` `BTreeSet`: a node freed by any set's removal serves the next split of any set,
//! so books of steady size allocate nothing (`std`'s sets allocate a node on every split even
//! when a merge elsewhere has just freed one: about 0.05 to 0.1 allocations per operation in the
//! allocation test). The price is that the pools keep their peak: a book that shrinks keeps its
//! nodes for the next growth instead of returning them to the allocator. The sets iterate in
//! key order whatever the shape of their trees, so the storage changes no result.
//!
//! **Quotes.** Under every institution but first-accept ([`TypeBook::indexed`]), each task type
//! also keeps two plain price indexes of everything open: `asks` (every resting offer, by raw
//! ask then id, parked ones included) and `bids` (every open request, by bid highest first then
//! id). `best_ask` and `best_bid` read their first entries in O(1), the continuous double
//! auction's improvement rule and the call market's clearing read them, and clearing a book
//! walks them. Keeping them costs one more set insert and remove per order, O(log n), which
//! first-accept, whose
//! walks never read them, does not pay: there `best_bid` takes the least head of the live need
//! classes and `best_ask` walks the class books (`queries.rs`).

use std::cmp::Reverse;
use std::collections::BTreeMap;

use crate::capability::{CapabilitySet, MAX_CAPABILITIES};
use crate::forest::{Forest, Pos, Set};
use crate::ids::{OrderId, PeerId, TaskTypeId};

/// Priority key of a resting offer: the bits of its (positive) weighted ask, which order like
/// the floats, then its id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OfferKey {
    /// `f64::to_bits` of `ask / f(rep)^k`.
    pub weighted_bits: u64,
    /// The offer.
    pub id: OrderId,
}

impl OfferKey {
    /// The weighted ask as a float.
    #[inline]
    pub fn weighted(self) -> f64 {
        f64::from_bits(self.weighted_bits)
    }
}

/// Reputation buckets per class book.
pub const REP_BUCKETS: usize = 32;

/// A task type keeps a heads index once this many of its classes are live (module docs,
/// "Heads"): with fewer, a walk opens each eligible bucket directly, which costs less than
/// keeping the index up to date on every change of a bucket's best offer.
pub const HEADS_FROM: usize = 8;

/// ... and drops it once only this many are left; between the two thresholds the index
/// changes state at most once per `HEADS_FROM − HEADS_UNTIL` classes that fill or empty, so
/// building it (one insert per non-empty bucket) is amortised.
pub const HEADS_UNTIL: usize = 2;

const BUCKET_STEP_LN: f64 = std::f64::consts::LN_2 * 2.0 / REP_BUCKETS as f64; // ln 4 / 32

/// The bucket of reputation factor `f` (in [0.5, 2]).
#[inline]
pub fn rep_bucket(f: f64) -> u8 {
    let b = ((f / 0.5).ln() / BUCKET_STEP_LN).floor();
    if b.is_finite() { b.clamp(0.0, (REP_BUCKETS - 1) as f64) as u8 } else { 0 }
}

/// A lower bound of the factors in bucket `b`, made a hair smaller so that rounding can never
/// prune an offer that could trade.
#[inline]
pub fn bucket_floor(b: u8) -> f64 {
    0.5 * (b as f64 * BUCKET_STEP_LN).exp() * (1.0 - 1e-9)
}

/// An upper bound (exclusive, padded) of the reputations whose offers rest in bucket `b`; the
/// last bucket is unbounded (the factor is clamped at 2).
#[inline]
pub fn bucket_ceiling_reputation(b: u8) -> f64 {
    if b as usize >= REP_BUCKETS - 1 {
        f64::INFINITY
    } else {
        100.0 * 0.5 * ((b as f64 + 1.0) * BUCKET_STEP_LN).exp() * (1.0 + 1e-9)
    }
}

/// The bucket of reputation `rep` when reputation does not weigh (k = 0): `REP_BUCKETS` equal
/// slices of `[lo, hi]`, the market's reputation range (values outside it, which the engine never
/// holds, go to the end buckets).
#[inline]
pub fn rep_bucket_linear(rep: f64, lo: f64, hi: f64) -> u8 {
    let width = (hi - lo) / REP_BUCKETS as f64;
    let b = ((rep - lo) / width).floor();
    if b.is_finite() { b.clamp(0.0, (REP_BUCKETS - 1) as f64) as u8 } else { 0 }
}

/// An upper bound (exclusive, padded by a millionth of a bucket) of the reputations in linear
/// bucket `b` of `[lo, hi]`; the last bucket is unbounded.
#[inline]
pub fn bucket_ceiling_linear(b: u8, lo: f64, hi: f64) -> f64 {
    let width = (hi - lo) / REP_BUCKETS as f64;
    if b as usize >= REP_BUCKETS - 1 || !width.is_finite() || width <= 0.0 {
        f64::INFINITY
    } else {
        lo + (b as f64 + 1.0) * width + width * 1e-6
    }
}

/// A class bucket's best offer as the heads index of its bucket ([`TypeBook::heads`]) files it:
/// its key, then the class index.
pub type HeadKey = (OfferKey, u32);

/// A heads index (module docs, "Heads"): per reputation bucket (created on first use), the best
/// offer of the bucket in every class it covers where the bucket is non-empty, by key, in
/// [`Nodes::heads`].
#[derive(Clone, Debug, Default)]
pub struct Heads {
    /// Per bucket, the heads by key.
    pub sets: Vec<Set>,
    /// Bit `b` set when `sets[b]` is non-empty.
    pub nonempty: u32,
}

impl Heads {
    /// Replaces the head `old` of bucket `b` of class `class` by `new`.
    #[inline]
    fn refile(
        &mut self,
        nodes: &mut Forest<HeadKey>,
        class: usize,
        b: u8,
        old: Option<OfferKey>,
        new: Option<OfferKey>,
    ) {
        if self.sets.is_empty() {
            self.sets.resize_with(REP_BUCKETS, Set::default);
        }
        let set = &mut self.sets[b as usize];
        if let Some(o) = old {
            nodes.remove(set, &(o, class as u32));
        }
        if let Some(n) = new {
            nodes.insert(set, (n, class as u32));
        }
        if set.is_empty() {
            self.nonempty &= !(1 << b);
        } else {
            self.nonempty |= 1 << b;
        }
    }

    /// Files the best offer of every non-empty bucket of class `ci` (`class`), which holds no
    /// head here yet.
    fn file_class(&mut self, nodes: &mut Nodes, ci: usize, class: &ClassBook) {
        let mut bits = class.nonempty;
        while bits != 0 {
            let b = bits.trailing_zeros() as u8;
            bits &= bits - 1;
            self.refile(&mut nodes.heads, ci, b, None, class.first(&nodes.offers, b));
        }
    }

    /// Empties every bucket (the nodes return to the pool).
    fn clear(&mut self, nodes: &mut Forest<HeadKey>) {
        for set in &mut self.sets {
            nodes.clear(set);
        }
        self.nonempty = 0;
    }

    /// The place of the first head of bucket `b` ([`Forest::step`] with [`Nodes::heads`] reads
    /// on).
    #[inline]
    pub fn start(&self, nodes: &Nodes, b: u8) -> Pos {
        self.sets.get(b as usize).map_or_else(Pos::default, |set| nodes.heads.start(set))
    }

    /// See [`TypeBook::check_heads`]: the index holds the heads of the `classes` that hold
    /// every capability of `needs` while `on`, and nothing otherwise.
    fn check(
        &self,
        nodes: &Nodes,
        classes: &[ClassBook],
        on: bool,
        needs: CapabilitySet,
        what: &str,
    ) -> Result<(), String> {
        for b in 0..REP_BUCKETS as u8 {
            let set = self.sets.get(b as usize).copied().unwrap_or_default();
            let mut expected = 0;
            for (ci, class) in classes.iter().enumerate() {
                if !on || !needs.is_subset_of(class.capabilities) {
                    continue;
                }
                if let Some(first) = class.first(&nodes.offers, b) {
                    expected += 1;
                    if !nodes.heads.contains(&set, &(first, ci as u32)) {
                        return Err(format!(
                            "{what}: the best offer {} of class {ci}, bucket {b}, is not filed",
                            first.id
                        ));
                    }
                }
            }
            if set.len() != expected || (self.nonempty >> b & 1 == 1) != (expected > 0) {
                return Err(format!(
                    "{what}: bucket {b} files {} heads (non-empty bit {}), {expected} expected",
                    set.len(),
                    self.nonempty >> b & 1
                ));
            }
        }
        Ok(())
    }
}

/// The entry of one capability in a task type's heads indexes ([`TypeBook::by_capability`]).
#[derive(Clone, Debug, Default)]
pub struct CapabilityHeads {
    /// The capability.
    pub capability: u8,
    /// The live classes holding it, ascending.
    pub live: Vec<u32>,
    /// True while `heads` is kept: from a walk's demand ([`TypeBook::demand_index`]) on,
    /// until only the task type's `heads_until` live classes hold the capability.
    pub on: bool,
    /// The heads of those classes while `on`; empty otherwise.
    pub heads: Heads,
}

/// The most need sets of several capabilities a task type keeps an entry for at once
/// ([`TypeBook::by_need_set`]): each one kept costs a subset test per change of a bucket's best
/// offer in every class, and a set update in those holding it while its heads are filed.
pub const NEED_SETS: usize = 8;

/// Walks with several needs of a task type after which a need-set entry none of them read is
/// idle: a demand for a need set with no entry while every slot is taken evicts the least
/// recently read entry if it is idle (module docs, "Heads per need set").
pub const NEED_SET_IDLE_WALKS: u64 = 64;

/// The entry of one need set of several capabilities ([`TypeBook::by_need_set`]).
#[derive(Clone, Debug, Default)]
pub struct NeedSetHeads {
    /// The needs.
    pub needs: CapabilitySet,
    /// While on, the live classes holding every need, ascending; empty otherwise.
    pub live: Vec<u32>,
    /// True while kept: from a walk's demand on, until it is evicted idle or the heads index
    /// goes off.
    pub on: bool,
    /// True while `heads` is filed: while on, from `heads_from` live classes holding every need
    /// on, until only `heads_until` do. Below, walks open the listed classes directly.
    pub indexed: bool,
    /// The heads of the listed classes while indexed; empty otherwise.
    pub heads: Heads,
    /// [`TypeBook::joint_walks`] when a walk last read the entry (or it went on).
    pub last_walk: u64,
}

impl NeedSetHeads {
    /// Turns the entry off: no classes listed, no heads filed (the nodes return to the pool).
    fn clear(&mut self, nodes: &mut Forest<HeadKey>) {
        self.on = false;
        self.live.clear();
        self.unfile(nodes);
    }

    /// Unfiles the heads: walks open the listed classes directly.
    fn unfile(&mut self, nodes: &mut Forest<HeadKey>) {
        self.indexed = false;
        self.heads.clear(nodes);
    }

    /// Files the heads of the listed classes.
    fn file(&mut self, nodes: &mut Nodes, classes: &[ClassBook]) {
        self.indexed = true;
        for &ci in &self.live {
            self.heads.file_class(nodes, ci as usize, &classes[ci as usize]);
        }
    }

    /// Files or unfiles the heads as the listed classes cross the thresholds: filed from `from`
    /// (at least 1) and more than `until`, unfiled at `until` and below.
    fn settle(&mut self, nodes: &mut Nodes, classes: &[ClassBook], from: usize, until: usize) {
        let n = self.live.len();
        if self.indexed && n <= until {
            self.unfile(&mut nodes.heads);
        } else if !self.indexed && n >= from.max(1) && n > until {
            self.file(nodes, classes);
        }
    }
}

/// What a request's walk reads ([`TypeBook::walk_index`]).
#[derive(Clone, Copy, Debug)]
pub struct WalkIndex<'a> {
    /// The heads index to stream; `None`: open the buckets of `live` directly.
    pub heads: Option<&'a Heads>,
    /// The live classes that may hold the needs, ascending.
    pub live: &'a [u32],
    /// The entry of [`TypeBook::by_need_set`] that gives `live` (and `heads`, if indexed), for
    /// a walk with several needs that has one.
    pub need_set: Option<u8>,
    /// What a walk that falls back, or whose pass meets many classes without its other needs
    /// (`HEAD_SKIPS`, and `SKIPS_PER_OPEN` per eligible bucket, `matching.rs`), asks for ([`TypeBook::demand_index`]): for one need whose own index is off, that need;
    /// for several needs without an entry of their own, the needs. `None` when the walk reads
    /// the index or entry of exactly its needs, or none.
    pub demand: Option<CapabilitySet>,
}

/// The capabilities of `set`, ascending.
#[inline]
fn capabilities(set: CapabilitySet) -> impl Iterator<Item = u8> {
    let mut bits = set.0;
    std::iter::from_fn(move || {
        (bits != 0).then(|| {
            let c = bits.trailing_zeros() as u8;
            bits &= bits - 1;
            c
        })
    })
}

/// The node pools of every ordered set in the books ([`crate::forest`]): one per key type, so
/// that a node freed by any set serves the next split of any other.
#[derive(Clone, Debug, Default)]
pub struct Nodes {
    /// The reputation buckets of every offer class.
    pub offers: Forest<OfferKey>,
    /// The heads indexes of every task type.
    pub heads: Forest<HeadKey>,
    /// The reputation-floor buckets of every need class, and the `bids` quote indexes.
    pub auctions: Forest<AuctionKey>,
    /// The `asks` quote indexes and the lanes (by raw ask, then id).
    pub asks: Forest<(u64, OrderId)>,
}

/// One capability class of a task type.
#[derive(Clone, Debug, Default)]
pub struct ClassBook {
    /// The capability set every offer here holds.
    pub capabilities: CapabilitySet,
    /// Offers by priority, per reputation bucket (created on first use), in [`Nodes::offers`].
    pub buckets: Vec<Set>,
    /// Bit `b` set when bucket `b` holds an offer.
    pub nonempty: u32,
}

impl ClassBook {
    /// Adds an offer to bucket `b`.
    #[inline]
    pub fn insert(&mut self, nodes: &mut Forest<OfferKey>, b: u8, key: OfferKey) {
        if self.buckets.is_empty() {
            self.buckets.resize_with(REP_BUCKETS, Set::default);
        }
        nodes.insert(&mut self.buckets[b as usize], key);
        self.nonempty |= 1 << b;
    }

    /// The best offer of bucket `b`.
    #[inline]
    pub fn first(&self, nodes: &Forest<OfferKey>, b: u8) -> Option<OfferKey> {
        self.buckets.get(b as usize).and_then(|set| nodes.first(set))
    }

    /// Removes an offer from bucket `b`; true if it was there.
    #[inline]
    pub fn remove(&mut self, nodes: &mut Forest<OfferKey>, b: u8, key: &OfferKey) -> bool {
        let Some(set) = self.buckets.get_mut(b as usize) else { return false };
        let found = nodes.remove(set, key);
        if set.is_empty() {
            self.nonempty &= !(1 << b);
        }
        found
    }

    /// Number of offers.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.buckets.iter().map(Set::len).sum()
    }

    /// True when the class holds no offer.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.nonempty == 0
    }
}

/// Priority key of an open auction: highest bid first, then earliest request.
pub type AuctionKey = (Reverse<u64>, OrderId);

/// The open auctions of one need class.
#[derive(Clone, Debug, Default)]
pub struct AuctionClass {
    /// The capabilities every request here needs.
    pub needs: CapabilitySet,
    /// Open auctions by priority, per bucket of the request's reputation floor on the linear
    /// grid of the reputation range ([`rep_bucket_linear`]; created on first use), in
    /// [`Nodes::auctions`].
    pub buckets: Vec<Set>,
    /// Bit `b` set when bucket `b` holds an auction.
    pub nonempty: u32,
    /// Open auctions in all buckets.
    pub len: usize,
}

impl AuctionClass {
    fn insert(&mut self, nodes: &mut Forest<AuctionKey>, b: u8, key: AuctionKey) -> bool {
        if self.buckets.is_empty() {
            self.buckets.resize_with(REP_BUCKETS, Set::default);
        }
        let added = nodes.insert(&mut self.buckets[b as usize], key);
        if added {
            self.nonempty |= 1 << b;
            self.len += 1;
        }
        added
    }

    fn remove(&mut self, nodes: &mut Forest<AuctionKey>, b: u8, key: &AuctionKey) -> bool {
        let Some(set) = self.buckets.get_mut(b as usize) else { return false };
        let removed = nodes.remove(set, key);
        if removed {
            if set.is_empty() {
                self.nonempty &= !(1 << b);
            }
            self.len -= 1;
        }
        removed
    }

    /// No open auction.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first auction by priority over every bucket.
    pub fn first(&self, nodes: &Forest<AuctionKey>) -> Option<AuctionKey> {
        let mut bits = self.nonempty;
        let mut best: Option<AuctionKey> = None;
        while bits != 0 {
            let b = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if let Some(k) = nodes.first(&self.buckets[b]) {
                best = Some(best.map_or(k, |x| x.min(k)));
            }
        }
        best
    }
}

/// Resting offers and open auctions of one task type. Its ordered sets are handles into the
/// book's [`Nodes`], which every method that reads or changes them takes.
#[derive(Clone, Debug, Default)]
pub struct TypeBook {
    /// Capability classes of offers.
    pub classes: Vec<ClassBook>,
    /// Need classes of open auctions.
    pub auction_classes: Vec<AuctionClass>,
    /// Index into `classes` by capability set (lookups only).
    pub class_index: BTreeMap<CapabilitySet, usize>,
    /// Index into `auction_classes` by needs (lookups only).
    pub auction_class_index: BTreeMap<CapabilitySet, usize>,
    /// Indices of the classes holding an offer, ascending: what a request's walk iterates.
    pub live_classes: Vec<u32>,
    /// Indices of the need classes holding an open auction, ascending: what an offer's walk
    /// iterates.
    pub live_auction_classes: Vec<u32>,
    /// Open auctions in all need classes.
    pub open_auctions: usize,
    /// True when the quote indexes `asks` and `bids` are kept (every institution but
    /// first-accept).
    pub indexed: bool,
    /// Every resting offer by (raw ask, id), parked ones included, in [`Nodes::asks`].
    pub asks: Set,
    /// Every open request by (highest bid, id), in [`Nodes::auctions`].
    pub bids: Set,
    /// The heads index of every live class (module docs, "Heads").
    pub heads: Heads,
    /// Once the heads index has gone on, one entry per capability, entry `c` for capability `c`
    /// ([`crate::capability::MAX_CAPABILITIES`] of them; none before): while the index is on,
    /// the live classes holding `c` and their heads index (module docs, "Heads per
    /// capability"). Entries stay when the index goes off, so it allocates nothing when it goes
    /// on again.
    pub by_capability: Vec<CapabilityHeads>,
    /// Bit `c` set while capability `c`'s own index is on ([`CapabilityHeads::on`]).
    pub capabilities_on: u128,
    /// Entries of need sets of several capabilities, made on demand ([`TypeBook::demand_index`]),
    /// at most [`NEED_SETS`]: a slot whose entry is off is reused for the next need set, and,
    /// with every slot on, the least recently read entry once idle ([`NEED_SET_IDLE_WALKS`]).
    pub by_need_set: Vec<NeedSetHeads>,
    /// Entries of `by_need_set` on.
    pub need_sets_on: usize,
    /// Request walks with several needs so far: the clock of need-set entries' idleness
    /// ([`NEED_SET_IDLE_WALKS`]).
    pub joint_walks: u64,
    /// True while the heads index is kept: from `heads_from` live classes on, until only
    /// `heads_until` are left (module docs, "Heads").
    pub heads_on: bool,
    /// Live classes at which the heads index goes on ([`HEADS_FROM`] by default).
    pub heads_from: usize,
    /// Live classes at which it goes off again ([`HEADS_UNTIL`] by default).
    pub heads_until: usize,
    /// Offer units resting in this task type.
    pub resting_units: u64,
    /// Resting offers.
    pub resting_offers: u64,
}

impl TypeBook {
    /// The class index of `capabilities`, creating the class if new.
    pub fn class_of(&mut self, capabilities: CapabilitySet) -> usize {
        if let Some(&i) = self.class_index.get(&capabilities) {
            return i;
        }
        let i = self.classes.len();
        self.classes.push(ClassBook { capabilities, ..ClassBook::default() });
        self.class_index.insert(capabilities, i);
        i
    }

    /// Rests an offer in bucket `b` of class `class`, listing the class if it was empty and
    /// re-filing the bucket's head if the offer is its new best.
    pub fn insert_offer(&mut self, nodes: &mut Nodes, class: usize, b: u8, key: OfferKey) {
        let c = &mut self.classes[class];
        let was_empty = c.nonempty == 0;
        let head = if self.heads_on { c.first(&nodes.offers, b) } else { None };
        c.insert(&mut nodes.offers, b, key);
        if self.heads_on && head.is_none_or(|h| key < h) {
            self.refile_head(nodes, class, b, head, Some(key));
        }
        if was_empty {
            list(&mut self.live_classes, class);
            if self.heads_on {
                self.list_capabilities(nodes, class, true);
            } else if self.live_classes.len() >= self.heads_from {
                self.build_heads(nodes);
            }
        }
    }

    /// Removes an offer from bucket `b` of class `class` (true if it was there), unlisting the
    /// class if it is now empty and re-filing the bucket's head if the offer was its best.
    pub fn remove_offer(&mut self, nodes: &mut Nodes, class: usize, b: u8, key: &OfferKey) -> bool {
        let c = &mut self.classes[class];
        let head = if self.heads_on { c.first(&nodes.offers, b) } else { None };
        let found = c.remove(&mut nodes.offers, b, key);
        if found && head == Some(*key) {
            let next = c.first(&nodes.offers, b);
            self.refile_head(nodes, class, b, head, next);
        }
        if self.classes[class].nonempty == 0 {
            unlist(&mut self.live_classes, class);
            if self.heads_on {
                self.list_capabilities(nodes, class, false);
                if self.live_classes.len() <= self.heads_until {
                    self.drop_heads(nodes);
                }
            }
        }
        found
    }

    /// Replaces the head `old` of bucket `b` of class `class` by `new` in the heads index, in
    /// that of each of the class's capabilities whose index is on, and in that of each need set
    /// on that the class holds.
    fn refile_head(&mut self, nodes: &mut Nodes, class: usize, b: u8, old: Option<OfferKey>, new: Option<OfferKey>) {
        self.heads.refile(&mut nodes.heads, class, b, old, new);
        let caps = self.classes[class].capabilities;
        for c in capabilities(CapabilitySet(caps.0 & self.capabilities_on)) {
            let entry = &mut self.by_capability[c as usize];
            entry.heads.refile(&mut nodes.heads, class, b, old, new);
        }
        if self.need_sets_on > 0 {
            for entry in self.by_need_set.iter_mut().filter(|e| e.indexed && e.needs.is_subset_of(caps)) {
                entry.heads.refile(&mut nodes.heads, class, b, old, new);
            }
        }
    }

    /// Lists (`add`) or unlists live class `class` under each of its capabilities and each need
    /// set on that it holds while the heads index is on, turning each capability's own index on
    /// or off as its live classes cross the thresholds, and filing or unfiling a need set's
    /// heads as its own do ([`NeedSetHeads::settle`]).
    fn list_capabilities(&mut self, nodes: &mut Nodes, class: usize, add: bool) {
        for c in capabilities(self.classes[class].capabilities) {
            let at = c as usize;
            if add {
                list(&mut self.by_capability[at].live, class);
            } else {
                unlist(&mut self.by_capability[at].live, class);
            }
            self.settle_capability(nodes, at);
        }
        if self.need_sets_on > 0 {
            let caps = self.classes[class].capabilities;
            let (from, until) = (self.heads_from, self.heads_until);
            for entry in self.by_need_set.iter_mut().filter(|e| e.on && e.needs.is_subset_of(caps)) {
                if add {
                    list(&mut entry.live, class);
                } else {
                    unlist(&mut entry.live, class);
                }
                entry.settle(nodes, &self.classes, from, until);
            }
        }
    }

    /// Turns the index of entry `at` off once only `heads_until` live classes hold its
    /// capability or the heads index is off, and, when the heads thresholds make every index
    /// eager (`heads_from` 0, a test hook), on as soon as a live class holds it. Otherwise an
    /// index goes on only on demand ([`TypeBook::demand_index`]).
    fn settle_capability(&mut self, nodes: &mut Nodes, at: usize) {
        let entry = &self.by_capability[at];
        if entry.on && (!self.heads_on || entry.live.len() <= self.heads_until) {
            let entry = &mut self.by_capability[at];
            entry.on = false;
            entry.heads.clear(&mut nodes.heads);
            self.capabilities_on &= !(1 << entry.capability);
        } else if !entry.on && self.heads_on && self.heads_from == 0 && !entry.live.is_empty() {
            self.build_capability(nodes, at);
        }
    }

    /// Files the heads of the live classes of entry `at`, whose index goes on.
    fn build_capability(&mut self, nodes: &mut Nodes, at: usize) {
        let entry = &mut self.by_capability[at];
        entry.on = true;
        self.capabilities_on |= 1 << entry.capability;
        for &ci in &entry.live {
            entry.heads.file_class(nodes, ci as usize, &self.classes[ci as usize]);
        }
    }

    /// A request walk with capability `c` as its rarest need streamed the task type's heads
    /// index, skipped many heads of classes without its needs and fell back to opening the
    /// buckets of the classes holding `c` directly: `c`'s own index goes on (if the heads index
    /// is on and at least `heads_from` live classes hold `c`), so that the next such walk streams
    /// only the heads of classes holding `c`. Building it costs one insert per non-empty bucket of
    /// those classes, of the order of the fallback that asked for it; it stays on until only
    /// `heads_until` live classes hold `c`.
    fn demand_capability(&mut self, nodes: &mut Nodes, c: u8) {
        let at = c as usize;
        if !self.heads_on || at >= self.by_capability.len() {
            return;
        }
        let entry = &self.by_capability[at];
        if !entry.on && entry.live.len() >= self.heads_from.max(1) && entry.live.len() > self.heads_until {
            self.build_capability(nodes, at);
        }
    }

    /// A request walk for `needs` fell back, or its pass met many classes without its other
    /// needs ([`WalkIndex::demand`]): the index of its one need goes on (`demand_capability`);
    /// for several needs, the need set gets an entry (`demand_need_set`), or, when it gets none
    /// (every slot taken and read recently), the rarest need's index goes on, so that later
    /// walks at least stream only the classes holding it.
    pub fn demand_index(&mut self, nodes: &mut Nodes, needs: CapabilitySet) {
        if needs.len() == 1 {
            self.demand_capability(nodes, needs.0.trailing_zeros() as u8);
        } else if needs.len() > 1 && !self.demand_need_set(nodes, needs) && self.heads_on {
            let rarest = capabilities(needs).min_by_key(|&c| self.by_capability[c as usize].live.len());
            if let Some(c) = rarest {
                self.demand_capability(nodes, c);
            }
        }
    }

    /// A request walk for several `needs` (no entry of their own) passed or skipped many classes
    /// that hold its rarest need but not all its needs: the need set gets an entry of its own
    /// if the heads index is on and a slot is free (an entry off, fewer than [`NEED_SETS`]
    /// entries, or the least recently read entry idle for [`NEED_SET_IDLE_WALKS`] walks with
    /// several needs, which is evicted). The entry lists the live classes holding every need,
    /// and files their heads if at least `heads_from` and more than `heads_until` do
    /// ([`NeedSetHeads::settle`]). Building it costs one pass over the classes of the rarest
    /// need and one insert per non-empty bucket of those holding every need if filed. It stays
    /// on until evicted or the heads index goes off. Returns whether the need set has an entry.
    fn demand_need_set(&mut self, nodes: &mut Nodes, needs: CapabilitySet) -> bool {
        if !self.heads_on {
            return false;
        }
        if self.by_need_set.iter().any(|e| e.on && e.needs == needs) {
            return true;
        }
        let Some(rarest) = capabilities(needs).min_by_key(|&c| self.by_capability[c as usize].live.len()) else {
            return false;
        };
        // A free slot first, then the least recently read entry if idle (the first of equals).
        let at = match self.by_need_set.iter().position(|e| !e.on) {
            Some(at) => at,
            None if self.by_need_set.len() < NEED_SETS => self.by_need_set.len(),
            None => {
                let lru = (0..self.by_need_set.len()).min_by_key(|&at| self.by_need_set[at].last_walk);
                match lru {
                    Some(at)
                        if self.joint_walks.saturating_sub(self.by_need_set[at].last_walk) >= NEED_SET_IDLE_WALKS =>
                    {
                        self.by_need_set[at].clear(&mut nodes.heads);
                        self.need_sets_on -= 1;
                        at
                    }
                    _ => return false,
                }
            }
        };
        if at == self.by_need_set.len() {
            self.by_need_set.push(NeedSetHeads::default());
        }
        let entry = &mut self.by_need_set[at];
        entry.needs = needs;
        entry.on = true;
        entry.last_walk = self.joint_walks;
        entry.live.clear();
        for &ci in &self.by_capability[rarest as usize].live {
            if needs.is_subset_of(self.classes[ci as usize].capabilities) {
                entry.live.push(ci);
            }
        }
        entry.settle(nodes, &self.classes, self.heads_from, self.heads_until);
        self.need_sets_on += 1;
        true
    }

    /// A request walk with several needs ended: it counts towards the idleness of need-set
    /// entries, and the entry it read (`need_set`, [`WalkIndex::need_set`]) was read now.
    pub fn joint_walk(&mut self, need_set: Option<u8>) {
        self.joint_walks += 1;
        if let Some(e) = need_set.and_then(|at| self.by_need_set.get_mut(at as usize)) {
            e.last_walk = self.joint_walks;
        }
    }

    /// Files the head of every non-empty bucket of every live class and lists the classes under
    /// their capabilities: the heads index goes on.
    fn build_heads(&mut self, nodes: &mut Nodes) {
        self.heads_on = true;
        if self.by_capability.is_empty() {
            self.by_capability = (0..MAX_CAPABILITIES as u8)
                .map(|c| CapabilityHeads { capability: c, ..CapabilityHeads::default() })
                .collect();
        }
        for i in 0..self.live_classes.len() {
            let ci = self.live_classes[i] as usize;
            self.heads.file_class(nodes, ci, &self.classes[ci]);
            for c in capabilities(self.classes[ci].capabilities) {
                list(&mut self.by_capability[c as usize].live, ci);
            }
        }
        for at in 0..self.by_capability.len() {
            self.settle_capability(nodes, at);
        }
    }

    /// Empties the heads indexes, which go off (their nodes return to the pool; the capability
    /// entries stay, empty, for the next time it goes on).
    fn drop_heads(&mut self, nodes: &mut Nodes) {
        self.heads_on = false;
        self.heads.clear(&mut nodes.heads);
        self.capabilities_on = 0;
        for entry in &mut self.by_capability {
            entry.on = false;
            entry.heads.clear(&mut nodes.heads);
            entry.live.clear();
        }
        self.need_sets_on = 0;
        for entry in &mut self.by_need_set {
            entry.clear(&mut nodes.heads);
        }
    }

    /// What a request with `needs` walks ([`WalkIndex`]). For no needs, or while the heads index
    /// is off, the task type's index (if on) over every live class. For several needs whose need
    /// set has an entry on, its classes (each holds every need) and its heads if filed, else the
    /// heads the rarest need's walk would stream (the walk opens those few classes directly
    /// unless more than 8 of their buckets serve, or more than 8 of them have none that
    /// serves). Else the live
    /// classes of the need that the fewest live classes hold (a superset of those holding every
    /// need; none when a need is held by no live class), with that need's own index if it is on
    /// and the task type's if not. O(|needs| + [`NEED_SETS`]).
    #[inline(always)]
    pub fn walk_index(&self, needs: CapabilitySet) -> WalkIndex<'_> {
        if needs == CapabilitySet::EMPTY || !self.heads_on {
            let heads = self.heads_on.then_some(&self.heads);
            return WalkIndex { heads, live: &self.live_classes, demand: None, need_set: None };
        }
        let several = needs.len() > 1;
        if several
            && self.need_sets_on > 0
            && let Some(at) = self.by_need_set.iter().position(|e| e.on && e.needs == needs)
        {
            return self.need_set_walk(at, needs);
        }
        let mut best: Option<&CapabilityHeads> = None;
        for c in capabilities(needs) {
            let entry = &self.by_capability[c as usize];
            if entry.live.is_empty() {
                return WalkIndex { heads: None, live: &[], demand: None, need_set: None };
            }
            if best.is_none_or(|b| entry.live.len() < b.live.len()) {
                best = Some(entry);
            }
        }
        let Some(e) = best else { return WalkIndex { heads: None, live: &[], demand: None, need_set: None } };
        let demand = (several || !e.on).then_some(needs);
        WalkIndex { heads: Some(if e.on { &e.heads } else { &self.heads }), live: &e.live, demand, need_set: None }
    }

    /// What a walk for the `needs` of need-set entry `at` reads: its classes, and its heads if
    /// filed; without, the heads the rarest need's walk would stream, for when more than a few
    /// of those classes' buckets can serve. Out of line, to keep `walk_index` small.
    #[inline(never)]
    fn need_set_walk(&self, at: usize, needs: CapabilitySet) -> WalkIndex<'_> {
        let e = &self.by_need_set[at];
        let heads = if e.indexed {
            Some(&e.heads)
        } else {
            let rarest = capabilities(needs).map(|c| &self.by_capability[c as usize]).min_by_key(|r| r.live.len());
            rarest.map(|r| if r.on { &r.heads } else { &self.heads })
        };
        WalkIndex { heads, live: &e.live, demand: None, need_set: Some(at as u8) }
    }

    /// Checks the heads indexes: while they are on, bucket `b` of the index of every live class
    /// holds exactly the best offer of bucket `b` of every class where it is non-empty; the entry
    /// of capability `c` (entry `c` of 128, made when the index first went on) lists exactly the
    /// live classes holding `c` and, while its own index is on, files the same heads for those
    /// classes only; `capabilities_on` marks the entries on; each non-empty bit says whether its
    /// set holds any head. While they are off, every set and list is empty. `Err` says what
    /// disagrees.
    pub fn check_heads(&self, nodes: &Nodes) -> Result<(), String> {
        self.heads.check(nodes, &self.classes, self.heads_on, CapabilitySet::EMPTY, "the heads index")?;
        if !self.by_capability.is_empty() && self.by_capability.len() != MAX_CAPABILITIES {
            return Err(format!("{} capability entries", self.by_capability.len()));
        }
        // The expected lists, in one pass over the live classes.
        let mut expected: Vec<Vec<u32>> = vec![Vec::new(); self.by_capability.len()];
        if self.heads_on {
            for &ci in &self.live_classes {
                for c in capabilities(self.classes[ci as usize].capabilities) {
                    expected[c as usize].push(ci);
                }
            }
        }
        for (at, (entry, live)) in self.by_capability.iter().zip(expected).enumerate() {
            let c = entry.capability;
            if c as usize != at {
                return Err(format!("capability {c}'s entry is at position {at}"));
            }
            if entry.live != live {
                return Err(format!("capability {c} lists live classes {:?}, {live:?} expected", entry.live));
            }
            if !entry.on {
                // Off: nothing filed (the cheap test first; the debug kernel checks every sample).
                if entry.heads.nonempty != 0 || entry.heads.sets.iter().any(|set| !set.is_empty()) {
                    return Err(format!("capability {c}'s heads index is off but files heads"));
                }
                if self.heads_on && self.heads_from == 0 && !live.is_empty() {
                    return Err(format!("capability {c}'s heads index is off with {} live classes, eager", live.len()));
                }
                continue;
            }
            let what = format!("capability {c}'s heads index");
            if !self.heads_on || live.len() <= self.heads_until {
                return Err(format!("{what} is on with {} live classes", live.len()));
            }
            entry.heads.check(nodes, &self.classes, true, CapabilitySet(1 << c), &what)?;
        }
        let on = self.by_capability.iter().filter(|e| e.on).fold(0u128, |m, e| m | 1 << e.capability);
        if on != self.capabilities_on {
            return Err(format!("capabilities_on is {:#x}, the entries on are {on:#x}", self.capabilities_on));
        }
        if self.heads_on && self.by_capability.is_empty() {
            return Err("the heads index is on without capability entries".into());
        }
        if self.by_need_set.len() > NEED_SETS || self.by_need_set.iter().filter(|e| e.on).count() != self.need_sets_on {
            return Err(format!("{} need-set entries, {} counted on", self.by_need_set.len(), self.need_sets_on));
        }
        let filed = |h: &Heads| h.nonempty != 0 || h.sets.iter().any(|s| !s.is_empty());
        for (at, entry) in self.by_need_set.iter().enumerate() {
            let what = format!("need set {:#x}'s heads index", entry.needs.0);
            if !entry.on {
                if !entry.live.is_empty() || entry.indexed || filed(&entry.heads) {
                    return Err(format!("{what} is off but lists classes or files heads"));
                }
                continue;
            }
            if entry.last_walk > self.joint_walks {
                return Err(format!("{what} was read at walk {} of {}", entry.last_walk, self.joint_walks));
            }
            if !self.heads_on
                || entry.needs.len() < 2
                || self.by_need_set[..at].iter().any(|e| e.on && e.needs == entry.needs)
            {
                return Err(format!("{what} is on with the heads index off, for fewer than 2 needs, or twice"));
            }
            let live: Vec<u32> = self
                .live_classes
                .iter()
                .copied()
                .filter(|&ci| entry.needs.is_subset_of(self.classes[ci as usize].capabilities))
                .collect();
            if entry.live != live {
                return Err(format!("{what} lists live classes {:?}, {live:?} expected", entry.live));
            }
            // Filed from `heads_from` (at least 1) and more than `heads_until` classes on, until
            // only `heads_until` are left; between the two, either.
            let (n, from, until) = (live.len(), self.heads_from.max(1), self.heads_until);
            if (entry.indexed && n <= until) || (!entry.indexed && n >= from && n > until) {
                return Err(format!(
                    "{what} is filed: {} with {n} classes (thresholds {from}, {until})",
                    entry.indexed
                ));
            }
            if entry.indexed {
                entry.heads.check(nodes, &self.classes, true, entry.needs, &what)?;
            } else if filed(&entry.heads) {
                return Err(format!("{what} is not filed but files heads"));
            }
        }
        Ok(())
    }

    /// Sets the live-class counts at which the heads index goes on (at least `from`) and off (at
    /// most `until`), and applies them now.
    pub fn set_heads_thresholds(&mut self, nodes: &mut Nodes, from: usize, until: usize) {
        // `Market::set_heads_thresholds` clamps `until` below `from`, and to 0 at 0: an eager
        // capability index (from 0) must not go on with at most `until` classes.
        debug_assert!(until < from || until == 0, "heads thresholds {from}, {until}");
        (self.heads_from, self.heads_until) = (from, until);
        if self.heads_on && self.live_classes.len() <= until {
            self.drop_heads(nodes);
        }
        if !self.heads_on && self.live_classes.len() >= from {
            self.build_heads(nodes);
        }
        for at in 0..self.by_capability.len() {
            self.settle_capability(nodes, at);
        }
        for entry in self.by_need_set.iter_mut().filter(|e| e.on) {
            entry.settle(nodes, &self.classes, from, until);
        }
    }

    /// The classes of `live` (ascending live classes, as [`TypeBook::walk_index`] gives) that
    /// hold every capability of `needs`, in order, each with its non-empty buckets among the bits
    /// of `buckets` (possibly none): what a request's walk opens. O(|live|).
    #[inline]
    pub fn classes_with<'a>(
        &'a self,
        live: &'a [u32],
        needs: CapabilitySet,
        buckets: u32,
    ) -> impl Iterator<Item = (u32, u32)> + 'a {
        live.iter().filter_map(move |&ci| {
            let class = &self.classes[ci as usize];
            needs.is_subset_of(class.capabilities).then_some((ci, class.nonempty & buckets))
        })
    }

    /// The place just after the best offer of bucket `b` of class `class` (the rest of the
    /// bucket's stream, read on with [`Forest::step`] and [`Nodes::offers`]).
    #[inline]
    pub fn after_first(&self, nodes: &Nodes, class: usize, b: u8) -> Pos {
        let set = &self.classes[class].buckets[b as usize];
        let mut pos = nodes.offers.start(set);
        let _ = nodes.offers.step(&mut pos);
        pos
    }

    /// The first key after `after` (or the first key) in bucket `bucket` of class `class`.
    #[cfg(test)]
    pub fn next_in_class(&self, nodes: &Nodes, class: usize, bucket: u8, after: Option<OfferKey>) -> Option<OfferKey> {
        nodes.offers.next(&self.classes[class].buckets[bucket as usize], after)
    }

    /// The need class of `needs`, creating it if new.
    pub fn auction_class_of(&mut self, needs: CapabilitySet) -> usize {
        if let Some(&i) = self.auction_class_index.get(&needs) {
            return i;
        }
        let i = self.auction_classes.len();
        self.auction_classes.push(AuctionClass { needs, ..AuctionClass::default() });
        self.auction_class_index.insert(needs, i);
        i
    }

    /// Opens an auction in need class `needs`, reputation-floor bucket `floor_bucket`.
    pub fn insert_auction(&mut self, nodes: &mut Nodes, needs: CapabilitySet, floor_bucket: u8, key: AuctionKey) {
        let c = self.auction_class_of(needs);
        let class = &mut self.auction_classes[c];
        if class.insert(&mut nodes.auctions, floor_bucket, key) {
            if self.indexed {
                nodes.auctions.insert(&mut self.bids, key);
            }
            self.open_auctions += 1;
            if class.len == 1 {
                list(&mut self.live_auction_classes, c);
            }
        }
    }

    /// Closes an auction (no-op if it is not open).
    pub fn remove_auction(&mut self, nodes: &mut Nodes, needs: CapabilitySet, floor_bucket: u8, key: AuctionKey) {
        if let Some(&c) = self.auction_class_index.get(&needs)
            && self.auction_classes[c].remove(&mut nodes.auctions, floor_bucket, &key)
        {
            if self.indexed {
                nodes.auctions.remove(&mut self.bids, &key);
            }
            self.open_auctions -= 1;
            if self.auction_classes[c].is_empty() {
                unlist(&mut self.live_auction_classes, c);
            }
        }
    }

    /// The first auction after `after` (or the first) in bucket `bucket` of need class `class`.
    #[inline]
    pub fn next_auction_in(
        &self,
        nodes: &Nodes,
        class: usize,
        bucket: u8,
        after: Option<AuctionKey>,
    ) -> Option<AuctionKey> {
        nodes.auctions.next(&self.auction_classes[class].buckets[bucket as usize], after)
    }

    /// The highest open bid.
    #[inline]
    pub fn best_bid(&self, nodes: &Nodes) -> Option<u64> {
        if self.indexed {
            nodes.auctions.first(&self.bids).map(|(Reverse(b), _)| b)
        } else {
            let heads = self
                .live_auction_classes
                .iter()
                .filter_map(|&c| self.auction_classes[c as usize].first(&nodes.auctions));
            heads.min().map(|(Reverse(b), _)| b)
        }
    }

    /// The lowest resting ask (parked offers included); only with the quote indexes.
    #[inline]
    pub fn best_ask(&self, nodes: &Nodes) -> Option<u64> {
        debug_assert!(self.indexed);
        nodes.asks.first(&self.asks).map(|(a, _)| a)
    }

    /// Lists a resting offer in the quote index (no-op without it).
    #[inline]
    pub fn index_ask(&mut self, nodes: &mut Nodes, ask: u64, id: OrderId) {
        if self.indexed {
            nodes.asks.insert(&mut self.asks, (ask, id));
        }
    }

    /// Unlists a resting offer from the quote index (no-op without it).
    #[inline]
    pub fn unindex_ask(&mut self, nodes: &mut Nodes, ask: u64, id: OrderId) {
        if self.indexed {
            nodes.asks.remove(&mut self.asks, &(ask, id));
        }
    }
}

/// Adds class index `c` to an ascending live list (no-op if listed).
fn list(live: &mut Vec<u32>, c: usize) {
    match live.binary_search(&(c as u32)) {
        Err(pos) if pos == live.len() => live.push(c as u32), // no call to move nothing
        Err(pos) => live.insert(pos, c as u32),
        Ok(_) => {}
    }
}

/// Removes class index `c` from an ascending live list (no-op if not listed).
fn unlist(live: &mut Vec<u32>, c: usize) {
    match live.binary_search(&(c as u32)) {
        Ok(pos) if pos + 1 == live.len() => drop(live.pop()),
        Ok(pos) => drop(live.remove(pos)),
        Err(_) => {}
    }
}

/// One provider's resting offers of one class of one task type, by (raw ask, id): the head (the
/// first) inline, the others in a set of [`Nodes::asks`], so that the head is read without
/// touching a tree and a lane of one offer holds no node.
#[derive(Clone, Debug, Default)]
pub struct Lane {
    head: Option<(u64, OrderId)>,
    rest: Set,
    /// With a head: the bits of the weighted ask its class-book key holds.
    pub head_bits: u64,
    /// With a head: the reputation bucket it is filed under.
    pub bucket: u8,
    /// The task type.
    pub task_type: TaskTypeId,
    /// The capability class (index into the task type's classes).
    pub class: u32,
}

impl Lane {
    /// The first offer `(ask, id)`.
    #[inline]
    pub fn first(&self) -> Option<(u64, OrderId)> {
        self.head
    }

    /// The offer after `(ask, id)`.
    #[inline]
    pub fn next(&self, nodes: &Nodes, ask: u64, id: OrderId) -> Option<(u64, OrderId)> {
        if self.head == Some((ask, id)) {
            nodes.asks.first(&self.rest)
        } else {
            nodes.asks.next_after(&self.rest, (ask, id))
        }
    }

    /// Adds an offer; true if it is the new head.
    #[inline]
    pub fn insert(&mut self, nodes: &mut Nodes, e: (u64, OrderId)) -> bool {
        match self.head {
            Some(h) if h < e => {
                nodes.asks.insert(&mut self.rest, e);
                false
            }
            Some(h) => {
                nodes.asks.insert(&mut self.rest, h);
                self.head = Some(e);
                true
            }
            None => {
                self.head = Some(e);
                true
            }
        }
    }

    /// Removes an offer; true if it was there.
    #[inline]
    pub fn remove(&mut self, nodes: &mut Nodes, e: (u64, OrderId)) -> bool {
        if self.head == Some(e) {
            self.head = nodes.asks.pop_first(&mut self.rest);
            true
        } else {
            nodes.asks.remove(&mut self.rest, &e)
        }
    }

    /// Drops every offer.
    pub fn clear(&mut self, nodes: &mut Nodes) {
        self.head = None;
        nodes.asks.clear(&mut self.rest);
    }

    /// No offer.
    #[cfg(test)]
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// Number of offers.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        usize::from(self.head.is_some()) + self.rest.len()
    }

    /// The offers by (ask, id).
    #[cfg(test)]
    pub fn iter<'a>(&'a self, nodes: &'a Nodes) -> impl Iterator<Item = (u64, OrderId)> + 'a {
        self.head.into_iter().chain(nodes.asks.iter(&self.rest))
    }
}

/// All task types' books.
#[derive(Clone, Debug, Default)]
pub struct OfferBook {
    /// Indexed by task type.
    pub types: Vec<TypeBook>,
    /// The nodes of every ordered set of `types` and `lanes`.
    pub nodes: Nodes,
    /// Keep quote indexes in every task type's book.
    pub indexed: bool,
    /// Lanes: one provider's resting offers of one class of one task type (parked ones
    /// included). Only each lane's head rests in a class book (module docs, "Lanes"). A lane's
    /// slot is never freed, so a lane that empties and fills again allocates nothing new.
    pub lanes: Vec<Lane>,
    /// Per provider, its lanes `(task type, class, lane)`, sorted by task type and class.
    pub peer_lanes: Vec<Vec<(TaskTypeId, u32, u32)>>,
    /// Live classes at which a task type's heads index goes on ([`TypeBook::heads_from`]).
    pub heads_from: usize,
    /// ... and off again ([`TypeBook::heads_until`]).
    pub heads_until: usize,
}

impl OfferBook {
    /// Makes room for `orders` more open orders in the sets of the classes and lanes that exist
    /// now, without allocating ([`Forest::reserve`]); a class or lane created later may still
    /// allocate its first nodes.
    pub fn reserve(&mut self, orders: usize) {
        let buckets = |n: usize| n.saturating_mul(REP_BUCKETS);
        let offer_sets = buckets(self.types.iter().map(|t| t.classes.len()).sum());
        let auction_sets = buckets(self.types.iter().map(|t| t.auction_classes.len()).sum()) + self.types.len();
        let ask_sets = self.types.len() + self.lanes.len();
        let indexed = 1 + usize::from(self.indexed);
        self.nodes.offers.reserve(orders, offer_sets);
        // At most one head per class bucket in the task type's index and one in the index of
        // each of the class's capabilities, whether the indexes are on now or go on later.
        let heads: usize = self.types.iter().flat_map(|t| &t.classes).map(|c| 1 + c.capabilities.len() as usize).sum();
        let capabilities =
            |t: &TypeBook| t.classes.iter().fold(0u128, |m, c| m | c.capabilities.0).count_ones() as usize;
        let head_sets: usize = self.types.iter().map(|t| 1 + capabilities(t)).sum();
        self.nodes.heads.reserve(buckets(heads), buckets(head_sets));
        // The capability entries of the task types whose heads index has gone on, at full size:
        // their bucket sets and room in their lists for every class holding the capability.
        for t in &mut self.types {
            for entry in &mut t.by_capability {
                let holding = t.classes.iter().filter(|c| c.capabilities.contains(entry.capability)).count();
                let _ = entry.live.try_reserve_exact(holding.saturating_sub(entry.live.len()));
                if entry.heads.sets.is_empty() && holding > 0 {
                    entry.heads.sets.resize_with(REP_BUCKETS, Set::default);
                }
            }
        }
        self.nodes.auctions.reserve(orders.saturating_mul(indexed), auction_sets);
        self.nodes.asks.reserve(orders.saturating_mul(indexed), ask_sets);
    }

    /// Sets the heads thresholds of every task type's book, now and to come
    /// ([`TypeBook::set_heads_thresholds`]).
    pub fn set_heads_thresholds(&mut self, from: usize, until: usize) {
        (self.heads_from, self.heads_until) = (from, until);
        for t in &mut self.types {
            t.set_heads_thresholds(&mut self.nodes, from, until);
        }
    }

    /// Bytes of the tree nodes in some set, and of every node the pools hold (free ones too).
    pub fn node_bytes(&self) -> (usize, usize) {
        let n = &self.nodes;
        let parts = [n.offers.node_bytes(), n.heads.node_bytes(), n.auctions.node_bytes(), n.asks.node_bytes()];
        parts.iter().fold((0, 0), |(u, h), &(a, b)| (u + a, h + b))
    }

    /// The lane of `provider` in class `class` of `task_type`, created if new: a binary search
    /// of the provider's lanes.
    pub fn lane(&mut self, provider: PeerId, task_type: TaskTypeId, class: u32) -> u32 {
        if self.peer_lanes.len() <= provider.index() {
            self.peer_lanes.resize_with(provider.index() + 1, Vec::new);
        }
        let mine = &mut self.peer_lanes[provider.index()];
        match mine.binary_search_by_key(&(task_type, class), |&(t, c, _)| (t, c)) {
            Ok(i) => mine[i].2,
            Err(i) => {
                let l = self.lanes.len() as u32;
                self.lanes.push(Lane { task_type, class, ..Lane::default() });
                mine.insert(i, (task_type, class, l));
                l
            }
        }
    }

    /// The lanes of `provider`, sorted by task type and class.
    #[inline]
    pub fn lanes_of(&self, provider: PeerId) -> &[(TaskTypeId, u32, u32)] {
        self.peer_lanes.get(provider.index()).map_or(&[], Vec::as_slice)
    }

    /// The first offer `(ask, id)` of lane `lane`.
    #[inline]
    pub fn lane_first(&self, lane: u32) -> Option<(u64, OrderId)> {
        self.lanes[lane as usize].first()
    }

    /// The offer after `(ask, id)` in lane `lane`.
    #[inline]
    pub fn lane_next(&self, lane: u32, ask: u64, id: OrderId) -> Option<(u64, OrderId)> {
        self.lanes[lane as usize].next(&self.nodes, ask, id)
    }

    /// Adds an offer to lane `lane`; true if it is the new head.
    #[inline]
    pub fn lane_insert(&mut self, lane: u32, e: (u64, OrderId)) -> bool {
        self.lanes[lane as usize].insert(&mut self.nodes, e)
    }

    /// Removes an offer from lane `lane`; true if it was there.
    #[inline]
    pub fn lane_remove(&mut self, lane: u32, e: (u64, OrderId)) -> bool {
        self.lanes[lane as usize].remove(&mut self.nodes, e)
    }

    /// Drops every offer of lane `lane`.
    pub fn lane_clear(&mut self, lane: u32) {
        self.lanes[lane as usize].clear(&mut self.nodes);
    }

    /// Ensures a book exists for `task_type`.
    pub fn ensure(&mut self, task_type: TaskTypeId) {
        if self.types.len() <= task_type.index() {
            let indexed = self.indexed;
            let (heads_from, heads_until) = (self.heads_from, self.heads_until);
            self.types.resize_with(task_type.index() + 1, || TypeBook {
                indexed,
                heads_from,
                heads_until,
                ..TypeBook::default()
            });
        }
    }

    /// The book of a task type.
    #[inline]
    pub fn get(&self, task_type: TaskTypeId) -> &TypeBook {
        &self.types[task_type.index()]
    }

    /// The book of a task type, mutably.
    #[inline]
    pub fn get_mut(&mut self, task_type: TaskTypeId) -> &mut TypeBook {
        &mut self.types[task_type.index()]
    }

    /// The book of a task type, mutably, and the nodes its sets live in.
    #[inline]
    pub fn split_mut(&mut self, task_type: TaskTypeId) -> (&mut TypeBook, &mut Nodes) {
        (&mut self.types[task_type.index()], &mut self.nodes)
    }

    /// Rests an offer in bucket `b` of class `class` of `task_type` ([`TypeBook::insert_offer`]).
    #[inline]
    pub fn insert_offer(&mut self, task_type: TaskTypeId, class: usize, b: u8, key: OfferKey) {
        let (tb, nodes) = self.split_mut(task_type);
        tb.insert_offer(nodes, class, b, key);
    }

    /// Removes an offer from bucket `b` of class `class` of `task_type`; true if it was there
    /// ([`TypeBook::remove_offer`]).
    #[inline]
    pub fn remove_offer(&mut self, task_type: TaskTypeId, class: usize, b: u8, key: &OfferKey) -> bool {
        let (tb, nodes) = self.split_mut(task_type);
        tb.remove_offer(nodes, class, b, key)
    }

    /// The keys of an ordered set of offers, ascending.
    #[inline]
    pub fn offer_keys<'a>(&'a self, set: &Set) -> crate::forest::Iter<'a, OfferKey> {
        self.nodes.offers.iter(set)
    }

    /// Every open request of `task_type` by (highest bid, id); empty without quote indexes.
    pub fn bids(&self, task_type: TaskTypeId) -> crate::forest::Iter<'_, AuctionKey> {
        self.nodes.auctions.iter(&self.get(task_type).bids)
    }

    /// Every resting offer of `task_type` by (raw ask, id); empty without quote indexes.
    pub fn asks(&self, task_type: TaskTypeId) -> crate::forest::Iter<'_, (u64, OrderId)> {
        self.nodes.asks.iter(&self.get(task_type).asks)
    }

    /// The highest open bid of `task_type` ([`TypeBook::best_bid`]).
    #[inline]
    pub fn best_bid(&self, task_type: TaskTypeId) -> Option<u64> {
        self.get(task_type).best_bid(&self.nodes)
    }

    /// The lowest resting ask of `task_type`, with the quote indexes ([`TypeBook::best_ask`]).
    #[inline]
    pub fn best_ask(&self, task_type: TaskTypeId) -> Option<u64> {
        self.get(task_type).best_ask(&self.nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_factor_range_and_floors_bound_them() {
        assert_eq!(rep_bucket(0.5), 0);
        assert_eq!(rep_bucket(2.0), (REP_BUCKETS - 1) as u8);
        let mut last = 0;
        for i in 0..=3000 {
            let f = 0.5 + 1.5 * i as f64 / 3000.0;
            let b = rep_bucket(f);
            assert!(b >= last, "buckets grow with the factor");
            assert!(bucket_floor(b) <= f, "floor {} above factor {f} in bucket {b}", bucket_floor(b));
            assert!(f * 100.0 < bucket_ceiling_reputation(b), "reputation {} above its bucket's ceiling", f * 100.0);
            last = b;
        }
    }

    #[test]
    fn keys_order_by_weighted_ask_then_id() {
        let a = OfferKey { weighted_bits: 45.0f64.to_bits(), id: OrderId(9) };
        let b = OfferKey { weighted_bits: 45.0f64.to_bits(), id: OrderId(10) };
        let c = OfferKey { weighted_bits: 45.5f64.to_bits(), id: OrderId(1) };
        let d = OfferKey { weighted_bits: 100.0f64.to_bits(), id: OrderId(0) };
        let mut v = vec![d, c, b, a];
        v.sort();
        assert_eq!(v, vec![a, b, c, d]);
    }

    #[test]
    fn classes_are_stable_and_walkable() {
        let mut t = TypeBook::default();
        let mut n = Nodes::default();
        let c0 = t.class_of(CapabilitySet::single(1).unwrap());
        let c1 = t.class_of(CapabilitySet::single(2).unwrap());
        assert_eq!(t.class_of(CapabilitySet::single(1).unwrap()), c0);
        assert_ne!(c0, c1);
        for (i, p) in [(1u64, 30.0f64), (2, 20.0), (3, 40.0)] {
            t.classes[c0].insert(&mut n.offers, 0, OfferKey { weighted_bits: p.to_bits(), id: OrderId(i) });
        }
        let first = t.next_in_class(&n, c0, 0, None).unwrap();
        assert_eq!(first.id, OrderId(2));
        let second = t.next_in_class(&n, c0, 0, Some(first)).unwrap();
        assert_eq!(second.id, OrderId(1));
        assert!(t.classes[c1].is_empty());
        assert_eq!(t.classes[c0].len(), 3);
    }

    #[test]
    fn class_index_finds_the_creation_slot_after_emptying_and_refilling() {
        let mut t = TypeBook::default();
        let mut n = Nodes::default();
        let sets: Vec<CapabilitySet> =
            (0..40u8).map(|i| CapabilitySet::single(i % 20).unwrap().with(100 + i / 20).unwrap()).collect();
        // Create in a scrambled order; each set keeps the slot it was created in.
        let order: Vec<usize> = (0..40).map(|i| (i * 17) % 40).collect();
        for &i in &order {
            let c = t.class_of(sets[i]);
            t.insert_offer(&mut n, c, 0, OfferKey { weighted_bits: 1.0f64.to_bits(), id: OrderId(i as u64) });
            let a = t.auction_class_of(sets[i]);
            t.insert_auction(&mut n, sets[i], 0, (Reverse(10), OrderId(i as u64)));
            assert_eq!(t.auction_classes[a].needs, sets[i]);
        }
        for (slot, &i) in order.iter().enumerate() {
            assert_eq!(t.class_of(sets[i]), slot);
            assert_eq!(t.classes[slot].capabilities, sets[i]);
            assert_eq!(t.auction_class_of(sets[i]), slot);
        }
        assert_eq!(t.open_auctions, 40);
        let all: Vec<u32> = (0..40).collect();
        assert_eq!((&t.live_classes, &t.live_auction_classes), (&all, &all));
        // Empty every class in another order, then refill: slots and walk order do not move.
        for i in (0..40).rev() {
            let c = t.class_of(sets[i]);
            assert!(t.remove_offer(&mut n, c, 0, &OfferKey { weighted_bits: 1.0f64.to_bits(), id: OrderId(i as u64) }));
            assert!(!t.remove_offer(
                &mut n,
                c,
                0,
                &OfferKey { weighted_bits: 1.0f64.to_bits(), id: OrderId(i as u64) }
            ));
            t.remove_auction(&mut n, sets[i], 0, (Reverse(10), OrderId(i as u64)));
            t.remove_auction(&mut n, sets[i], 0, (Reverse(10), OrderId(i as u64))); // already closed: no-op
            // The live lists are exactly the non-empty classes, ascending.
            let live: Vec<u32> = (0..40u32).filter(|&k| !t.classes[k as usize].is_empty()).collect();
            assert_eq!(t.live_classes, live);
            let live: Vec<u32> = (0..40u32).filter(|&k| !t.auction_classes[k as usize].is_empty()).collect();
            assert_eq!(t.live_auction_classes, live);
        }
        assert!(t.live_classes.is_empty() && t.live_auction_classes.is_empty());
        assert_eq!(t.open_auctions, 0);
        assert!(t.classes.iter().all(ClassBook::is_empty));
        t.remove_auction(&mut n, CapabilitySet::single(99).unwrap(), 0, (Reverse(1), OrderId(0))); // unknown class
        assert_eq!(t.auction_classes.len(), 40);
        // Refill in reverse and skipping some: each class rejoins the live list at its own slot.
        for (k, &i) in order.iter().enumerate().rev() {
            t.insert_auction(&mut n, sets[i], (i % 3) as u8, (Reverse(5), OrderId(100 + i as u64)));
            if k % 3 != 0 {
                t.insert_offer(
                    &mut n,
                    t.class_index[&sets[i]],
                    1,
                    OfferKey { weighted_bits: 2.0f64.to_bits(), id: OrderId(i as u64) },
                );
            }
        }
        let live: Vec<u32> = (0..40u32).filter(|k| k % 3 != 0).collect();
        assert_eq!(t.live_classes, live);
        assert_eq!(t.live_auction_classes, (0..40).collect::<Vec<u32>>());
        let walked: Vec<CapabilitySet> = t.auction_classes.iter().map(|c| c.needs).collect();
        assert_eq!(walked, order.iter().map(|&i| sets[i]).collect::<Vec<_>>());
        assert_eq!(t.best_bid(&n), Some(5));
        assert_eq!(t.class_of(CapabilitySet::single(99).unwrap()), 40);
    }
}
