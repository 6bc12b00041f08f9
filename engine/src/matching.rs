//! Matching (§3): the walk of an incoming request over the offer book, the walk of an incoming
//! offer over open auctions, the creation of an assignment and its funded escrow, book
//! maintenance when reputations change, and closing orders (fill, expiry, window end, cancel).
//!
//! See `book.rs` for how the book is indexed (capability classes, reputation buckets, need
//! classes) and why no walk scans offers that cannot trade. Closing an order unlinks it from its
//! owner's open list in O(1) (`open_list.rs`; it was a linear search and shift of the list).
//!
//! **Reputation changes** re-key only the changed provider's resting offers ([`Market::rekey_offers`]).
//! A provider with few resting offers (at most [`LANES_FROM`]) has one key per offer in the class
//! books: each offer whose weighted ask or bucket moved leaves its bucket's set and re-enters under
//! the new key, O(log n) per offer. A provider with more keeps them in lanes (`book.rs`,
//! "Lanes"), where only the head of each lane has a key: a change moves one key per lane, O(l log
//! n) for l lanes however many offers each holds (it was O(m log n) for m offers). Either way the
//! keys are the ones a full re-sort would compute (weighted ask bits, then order id), so the
//! order, ties included, is the same.
//!
//! **Cap-exhausted providers** are parked: once request walks have met as many offers of a
//! provider without usage-cap room as it has resting offers (m), its offers leave the class
//! books ([`Market::park_if_exhausted`], O(m log n), paid for by those m visits of O(log n) each,
//! so a provider that is exhausted only briefly costs at most a constant factor more than
//! before) and a heap entry records the first time its window frees room: the time
//! the oldest entries whose expiry brings the sum below the cap leave the window. Nothing can
//! add usage meanwhile (every match needs room), so that time is exact. Each placement first
//! returns the offers of the providers due by then ([`Market::unpark_due`]). A request's walk
//! used to visit every offer of such a provider and find no room at each, O(offers of
//! exhausted providers) per request; once parked they are not in the walk at all (m visits
//! per exhaustion in total, not m per request). Parked offers keep their rank keys (re-keyed in place) and stay counted in
//! `resting_units`/`resting_offers`; `best_ask` also reads them. Parking only drops offers that
//! could not be picked, and the walk merges by unique keys, so the picks are unchanged.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::bank::{Account, EntryKind};
use crate::book::{OfferKey, rep_bucket, rep_bucket_linear};
use crate::capability::CapabilitySet;
use crate::config::{Institution, PriceRule, SealedBidPrice};
use crate::error::MarketError;
use crate::escrow::{Escrow, EscrowState, EscrowTransition, TaskAssignment, TaskStatus, Violations};
use crate::events::{CloseReason, MarketEvent};
use crate::ids::{AssignmentId, EscrowId, OrderId, PeerId, SimTime, TaskTypeId};
use crate::market::{Cursor, HeadStream, Market, Pick, TimerKind, Walk, weighted_ask_bits};
use crate::order::{OrderStatus, PrivacyLevel, QualityValues, Side};

/// The uniform clearing price of crossing `bids` (price descending, units) and `asks` (price
/// ascending, units), by the rule of [`Market::run_call`]; `None` if nothing crosses.
pub(crate) fn clearing_price(bids: &[(u64, u64)], asks: &[(u64, u64)]) -> Option<u64> {
    let (lo, hi) = (asks.first()?.0, bids.first()?.0);
    if hi < lo {
        return None;
    }
    // Candidate prices in [lo, hi], ascending and distinct.
    let mut prices: Vec<u64> =
        bids.iter().map(|b| b.0).chain(asks.iter().map(|a| a.0)).filter(|p| (lo..=hi).contains(p)).collect();
    prices.sort_unstable();
    prices.dedup();
    // demand(p): units bid at >= p, supply(p): units asked at <= p, both by one pointer each as
    // p rises (bids are descending, so the pointer runs from their end).
    let total_bid: u128 = bids.iter().map(|b| b.1 as u128).sum();
    let (mut below, mut bi) = (0u128, bids.len()); // units bid below p; bids[bi..] are below p
    let (mut supply, mut ai) = (0u128, 0usize); // units asked at <= p; asks[..ai] counted
    let mut at = |p: u64| -> (u128, u128) {
        while bi > 0 && bids[bi - 1].0 < p {
            bi -= 1;
            below += bids[bi].1 as u128;
        }
        while ai < asks.len() && asks[ai].0 <= p {
            supply += asks[ai].1 as u128;
            ai += 1;
        }
        (total_bid - below, supply)
    };
    // Every piece: a candidate price, or the open gap between two (demand of the upper price,
    // supply of the lower one). Score = (volume, −imbalance).
    let curve: Vec<(u64, u128, u128)> = prices
        .iter()
        .map(|&p| {
            let (d, s) = at(p);
            (p, d, s)
        })
        .collect();
    let mut pieces: Vec<(u64, u64, u128, u128)> = Vec::with_capacity(2 * curve.len());
    for (i, &(p, d, s)) in curve.iter().enumerate() {
        pieces.push((p, p, d.min(s), d.abs_diff(s)));
        if let Some(&(q, dq, _)) = curve.get(i + 1)
            && q - p >= 2
        {
            pieces.push((p + 1, q - 1, dq.min(s), dq.abs_diff(s)));
        }
    }
    let best = pieces.iter().map(|&(_, _, v, imb)| (v, Reverse(imb))).max()?;
    pieces.retain(|&(_, _, v, imb)| (v, Reverse(imb)) == best);
    let (first, last) = (pieces.first()?.0, pieces.last()?.1);
    let mid = first + (last - first) / 2;
    // The optimal price nearest to the middle (lower on a tie).
    pieces
        .iter()
        .map(|&(a, b, _, _)| {
            let x = mid.clamp(a, b);
            (x.abs_diff(mid), x)
        })
        .min()
        .map(|(_, x)| x)
}

/// A provider's offers move into lanes once it rests more than this many (`book.rs`, "Lanes"),
/// by default. Below it a re-ranking re-keys each offer, at most this many per change; lanes make
/// a provider's placements and fills 12–20 % dearer (an extra lane lookup per placement, a head
/// to re-file per fill: BENCHMARKS.md, "Scaling"), so only providers that rest many offers use
/// them.
pub(crate) const LANES_FROM: u64 = 256;

/// ... and back out, one by one, once it rests fewer than this many: between the two, a
/// provider changes layout at most once per `LANES_FROM − LANES_UNTIL` placements or removals,
/// so the O(offers · log n) move is amortised to O(log n) per operation.
pub(crate) const LANES_UNTIL: u64 = 64;

/// Adds the next key of stream `i` to a walk's merge. A key above its cursor's `limit` (the
/// weighted ask past which the stream cannot give a pick) ends the stream here: keys only rise
/// along a stream, so the merge would pop it only to drop it.
#[inline]
fn push_stream(heap: &mut BinaryHeap<Reverse<(OfferKey, u32)>>, key: OfferKey, i: u32, limit: f64) {
    if key.weighted() <= limit {
        heap.push(Reverse((key, i)));
    }
}

/// Opens a cursor on each bucket of `classes` (class index, mask of non-empty buckets, as
/// [`TypeBook::classes_with`](crate::book::TypeBook::classes_with) gives) of `tb` whose best key
/// is within the limit `limit(bucket, best key)` gives (`None`: not this bucket).
fn open_buckets(
    tb: &crate::book::TypeBook,
    nodes: &crate::book::Nodes,
    classes: impl Iterator<Item = (u32, u32)>,
    heap: &mut BinaryHeap<Reverse<(OfferKey, u32)>>,
    cursors: &mut Vec<Cursor>,
    limit: impl Fn(u8, OfferKey) -> Option<f64>,
) {
    for (ci, mask) in classes {
        let class = &tb.classes[ci as usize];
        let mut bits = mask;
        while bits != 0 {
            let b = bits.trailing_zeros() as u8;
            bits &= bits - 1;
            if let Some(first) = class.first(&nodes.offers, b)
                && let Some(limit) = limit(b, first)
                && first.weighted() <= limit
            {
                let rest = tb.after_first(nodes, ci as usize, b);
                heap.push(Reverse((first, cursors.len() as u32)));
                cursors.push(Cursor { limit, rest });
            }
        }
    }
}

/// A request whose needs admit at most this many non-empty serving buckets opens them directly
/// rather than through the heads index (book.rs, "Heads").
const DIRECT_BUCKETS: u32 = 8;

/// Classes holding a request's needs whose non-empty buckets all lie below its reputation floor
/// that the pass counting its eligible buckets may meet before the walk streams the heads index
/// instead (book.rs, "Heads per capability"): the serving buckets' heads skip such classes
/// whole, so a high floor does not make the pass run through every class of the rarest need.
const DIRECT_UNSERVING: u32 = 8;

/// Heads of classes without its needs that a request's walk may meet in the heads index before
/// it opens the remaining eligible buckets directly (book.rs, "Heads"), as long as they also
/// outnumber the buckets it opened by `SKIPS_PER_OPEN` to one (needs that many classes have
/// keep the index).
const HEAD_SKIPS: u32 = 8;

/// See [`HEAD_SKIPS`].
const SKIPS_PER_OPEN: u32 = 4;

/// Marks a walk's heap entry as a bucket's stream of heads from the heads index (the rest of
/// the entry is the stream's index in [`HeadWalk::streams`]).
const HEADS: u32 = 1 << 30;

/// A request walk's streams of heads from the heads index (book.rs, "Heads"). Kept out of line
/// from the walk's loop, which the walks of books without the index run alone.
struct HeadWalk {
    /// One stream per serving bucket whose first head is within the bucket's limit.
    streams: Vec<HeadStream>,
    /// Bit `b` set while bucket `b`'s stream is in the merge.
    live: u32,
    /// Heads of classes without the request's needs met so far.
    skipped: u32,
    /// What a fallback asks an index for: the rarest need whose own index is off, or several
    /// needs without an index of their own ([`WalkIndex::demand`](crate::book::WalkIndex::demand)).
    demand_on_fallback: Option<CapabilitySet>,
    /// Set when the walk fell back to opening the eligible buckets directly.
    fell_back: bool,
    /// The need-set entry the walk reads ([`WalkIndex::need_set`](crate::book::WalkIndex::need_set)).
    need_set: Option<u8>,
    /// Classes the pass counting the eligible buckets visited (a test-only measure).
    #[cfg(test)]
    passed: u64,
    /// Set when the walk streams heads (a test-only measure).
    #[cfg(test)]
    streamed: bool,
    /// Set to `demand_on_fallback` when the walk fell back, or when its pass ran through the
    /// classes of its rarest need and met `HEAD_SKIPS` without its other needs: that index or
    /// entry should go on ([`TypeBook::demand_index`](crate::book::TypeBook::demand_index)).
    demand: Option<CapabilitySet>,
}

impl HeadWalk {
    /// Opens the walk of a request with `needs` over the buckets in `serving`, `limit(b)` being
    /// bucket `b`'s limit. The walk reads the live classes and the heads index of the need that
    /// the fewest live classes hold, or of every class for no needs
    /// ([`TypeBook::walk_index`](crate::book::TypeBook::walk_index)). It opens the eligible
    /// buckets of those classes directly when that index is off or when its (non-empty) needs
    /// admit at most [`DIRECT_BUCKETS`] of them (found in one pass over those classes, into
    /// `eligible`, that also ends past [`DIRECT_UNSERVING`] classes with no serving bucket),
    /// else one head stream per serving bucket.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn start(
        &mut self,
        tb: &crate::book::TypeBook,
        nodes: &crate::book::Nodes,
        needs: CapabilitySet,
        serving: u32,
        limit: impl Fn(u8) -> f64,
        eligible: &mut Vec<(u32, u32)>,
        heap: &mut BinaryHeap<Reverse<(OfferKey, u32)>>,
        cursors: &mut Vec<Cursor>,
    ) {
        self.streams.clear();
        eligible.clear();
        let walk = tb.walk_index(needs);
        let (live, index) = (walk.live, walk.heads);
        self.demand_on_fallback = walk.demand;
        self.need_set = walk.need_set;
        let Some(index) = index else {
            #[cfg(test)]
            {
                self.passed += live.len() as u64;
            }
            open_buckets(tb, nodes, tb.classes_with(live, needs, serving), heap, cursors, |b, _| Some(limit(b)));
            return;
        };
        if needs != CapabilitySet::EMPTY {
            // The pass ends at the ninth eligible bucket, or at the ninth class whose buckets
            // all lie below the reputation floor: past that many, the heads of the serving
            // buckets (which skip those classes whole) cost less than the rest of the pass.
            // Classes without every need count like heads skipped: a pass that ends having
            // met `HEAD_SKIPS` of them asks for its need set's entry, whose list holds only
            // the classes with every need (book.rs, "Heads per need set").
            let (mut pairs, mut unserving, mut lacking) = (0u32, 0u32, 0u32);
            for &ci in live {
                #[cfg(test)]
                {
                    self.passed += 1;
                }
                let class = &tb.classes[ci as usize];
                if !needs.is_subset_of(class.capabilities) {
                    lacking += 1;
                    continue;
                }
                let mask = class.nonempty & serving;
                if mask == 0 {
                    unserving += 1;
                    if unserving > DIRECT_UNSERVING {
                        break;
                    }
                    continue;
                }
                eligible.push((ci, mask));
                pairs += mask.count_ones();
                if pairs > DIRECT_BUCKETS {
                    break;
                }
            }
            // A pass that met `HEAD_SKIPS` classes without the other needs, and
            // `SKIPS_PER_OPEN` per eligible bucket, as a fallback does: later walks should read
            // the need set's entry. (An early stop with few such classes asks for none: the
            // need set's many holders are better streamed than filed.)
            if lacking >= HEAD_SKIPS && lacking >= SKIPS_PER_OPEN.saturating_mul(pairs) {
                self.demand = self.demand_on_fallback.filter(|d| d.len() > 1);
            }
            if pairs <= DIRECT_BUCKETS && unserving <= DIRECT_UNSERVING {
                open_buckets(tb, nodes, eligible.iter().copied(), heap, cursors, |b, _| Some(limit(b)));
                return;
            }
        }
        let mut bits = index.nonempty & serving;
        while bits != 0 {
            let b = bits.trailing_zeros() as u8;
            bits &= bits - 1;
            let limit = limit(b);
            #[cfg(test)]
            {
                self.streamed = true;
            }
            let mut at = index.start(nodes, b);
            if let Some(next) = nodes.heads.step(&mut at)
                && next.0.weighted() <= limit
            {
                heap.push(Reverse((next.0, HEADS | self.streams.len() as u32)));
                self.streams.push(HeadStream { at, next, limit, bucket: b });
                self.live |= 1 << b;
            }
        }
    }

    /// The merge popped the head of stream entry `tag`: moves the stream on and, if the head's
    /// class has `needs`, opens a cursor on its bucket (the popped key is that bucket's first)
    /// and returns the cursor's index; `None` for a head to skip. A walk that has skipped
    /// [`HEAD_SKIPS`] heads, and [`SKIPS_PER_OPEN`] per cursor it opened, opens every eligible
    /// bucket not reached yet at once (of the classes the walk reads: its need set's entry's, or
    /// its rarest need's) and closes the
    /// head streams; if it was streaming the task type's index for want of that need's own, it
    /// records the demand for it.
    #[inline(never)]
    fn take(
        &mut self,
        tag: u32,
        tb: &crate::book::TypeBook,
        nodes: &crate::book::Nodes,
        needs: CapabilitySet,
        heap: &mut BinaryHeap<Reverse<(OfferKey, u32)>>,
        cursors: &mut Vec<Cursor>,
    ) -> Option<u32> {
        let stream = &mut self.streams[(tag & !HEADS) as usize];
        let (b, limit, (_, ci)) = (stream.bucket, stream.limit, stream.next);
        if self.live & (1 << b) == 0 {
            return None; // a stream closed by the selective path below
        }
        match nodes.heads.step(&mut stream.at) {
            Some(next) if next.0.weighted() <= limit => {
                stream.next = next;
                heap.push(Reverse((next.0, tag)));
            }
            _ => self.live &= !(1 << b),
        }
        if needs.is_subset_of(tb.classes[ci as usize].capabilities) {
            let rest = tb.after_first(nodes, ci as usize, b);
            cursors.push(Cursor { limit, rest });
            return Some((cursors.len() - 1) as u32);
        }
        self.skipped += 1;
        if self.skipped >= HEAD_SKIPS
            && self.skipped as usize >= (SKIPS_PER_OPEN as usize).saturating_mul(cursors.len())
            && self.live != 0
        {
            self.fall_back(tb, nodes, needs, heap, cursors);
        }
        None
    }

    /// Opens every eligible bucket not reached yet (of the classes the walk reads) and closes
    /// the head streams; records the demand for an index (`take`). Out of line: rare.
    #[cold]
    #[inline(never)]
    fn fall_back(
        &mut self,
        tb: &crate::book::TypeBook,
        nodes: &crate::book::Nodes,
        needs: CapabilitySet,
        heap: &mut BinaryHeap<Reverse<(OfferKey, u32)>>,
        cursors: &mut Vec<Cursor>,
    ) {
        let streams = &self.streams;
        let live = tb.walk_index(needs).live;
        open_buckets(tb, nodes, tb.classes_with(live, needs, self.live), heap, cursors, |b, first| {
            let h = streams.iter().find(|h| h.bucket == b)?;
            (first >= h.next.0).then_some(h.limit)
        });
        self.live = 0;
        self.fell_back = true;
        self.demand = self.demand_on_fallback;
    }
}

/// Marks a walk's heap entry as the stream of one provider's lane (the rest of the entry is the
/// index of the bucket cursor whose head started it); unmarked entries are a bucket's heads.
const LANE: u32 = 1 << 31;

impl Market {
    /// Units the provider may still be assigned in the cap window ending now.
    pub(crate) fn cap_room(&mut self, provider: PeerId, now: SimTime) -> u64 {
        let window = self.config.usage_cap_window_ms;
        let p = &mut self.peers[provider.index()];
        let Some(cap) = p.usage_cap_units else {
            return u64::MAX;
        };
        while let Some(&(t, u)) = p.usage.front() {
            // In the window while `now − t < window` (no sum that could wrap at the end of time).
            if now - t < window {
                break;
            }
            p.usage.pop_front();
            p.usage_sum -= u;
        }
        cap.saturating_sub(p.usage_sum)
    }

    /// The reputation bucket an offer of a provider with reputation `rep` rests in: by reputation
    /// factor when reputation weighs, on a linear grid of the reputation range when it does not
    /// (book.rs).
    #[inline]
    pub(crate) fn bucket_of(&self, rep: f64) -> u8 {
        let r = &self.config.reputation;
        if self.config.reputation_weight == 0.0 {
            rep_bucket_linear(rep, r.min, r.max)
        } else {
            rep_bucket((rep / 100.0).clamp(0.5, 2.0))
        }
    }

    /// The lowest provider reputation that may serve a request: its `min_reputation`, raised to
    /// its privacy level's minimum.
    #[inline]
    pub(crate) fn rep_floor(&self, min_rep: f64, privacy: PrivacyLevel) -> f64 {
        match privacy {
            PrivacyLevel::Public => min_rep,
            PrivacyLevel::Private => min_rep.max(self.config.private_min_reputation),
            PrivacyLevel::Confidential => min_rep.max(self.config.confidential_min_reputation),
        }
    }

    /// Where a request is filed in the auction index (book.rs): its need class (a confidential
    /// request's needs include the attestation capability 0) and its reputation-floor bucket.
    #[inline]
    pub(crate) fn auction_slot(&self, spec: &crate::order::ComputeTaskSpec) -> (CapabilitySet, u8) {
        let r = &self.config.reputation;
        let floor = self.rep_floor(spec.min_reputation, spec.privacy_level);
        let needs = match spec.privacy_level {
            PrivacyLevel::Confidential => spec.capabilities.with(0).unwrap_or(spec.capabilities),
            _ => spec.capabilities,
        };
        (needs, rep_bucket_linear(floor, r.min, r.max))
    }

    /// True when the provider (reputation `rep`, offer capabilities `caps`) may serve a request
    /// with these needs.
    #[inline]
    pub(crate) fn privacy_ok(&self, level: PrivacyLevel, rep: f64, caps: CapabilitySet) -> bool {
        match level {
            PrivacyLevel::Public => true,
            PrivacyLevel::Private => rep >= self.config.private_min_reputation,
            PrivacyLevel::Confidential => caps.contains(0) && rep >= self.config.confidential_min_reputation,
        }
    }

    /// The price of a trade on arrival: `pricing` under first-accept, the resting order's price
    /// under the continuous double auction.
    pub(crate) fn trade_price(&self, bid: u64, ask: u64, offer_was_resting: bool) -> u64 {
        let rule = match self.config.institution {
            Institution::ContinuousDoubleAuction => PriceRule::Resting,
            _ => self.config.pricing,
        };
        match rule {
            PriceRule::Ask => ask,
            PriceRule::Bid => bid,
            PriceRule::Midpoint => ask + (bid - ask) / 2,
            PriceRule::Resting => {
                if offer_was_resting {
                    ask
                } else {
                    bid
                }
            }
        }
    }

    /// A request takes qualifying resting offers, best weighted ask first: on arrival, at the end
    /// of a sealed-bid window, or at a call (`walk`).
    pub(crate) fn match_request(&mut self, rid: OrderId, now: SimTime, walk: Walk) {
        let r = &self.orders[rid.index()];
        let (tt, needs, min_rep, privacy, bid, requester) = (
            r.spec.task_type,
            r.spec.capabilities,
            r.spec.min_reputation,
            r.spec.privacy_level,
            r.price_per_unit,
            r.trader,
        );
        let mut remaining = r.remaining();
        let mut slots = (r.max_providers - r.providers_used) as u64;
        // Offers up to `limit` can be picked: the bid, or a call's price.
        let limit_price = match walk {
            Walk::Uniform(p) => p.min(bid),
            Walk::Immediate | Walk::Award => bid,
        };
        // Second price: after the picks, the walk goes on to the best qualifying offer of a
        // provider not picked, whose weighted ask sets the price.
        let want_runner_up = walk == Walk::Award && self.config.sealed_bid_price == SealedBidPrice::SecondPrice;
        let mut runner_up: Option<f64> = None;
        let k = self.config.reputation_weight;
        // The lowest reputation that can serve: buckets whose providers all fall below it are
        // skipped whole (buckets follow current reputation, at every k).
        let rep_floor = self.rep_floor(min_rep, privacy);
        let mut cursors = std::mem::take(&mut self.cursors);
        let mut heap = std::mem::take(&mut self.cursor_heap);
        let mut picks = std::mem::take(&mut self.picks);
        let mut to_park = std::mem::take(&mut self.to_park);
        to_park.clear();
        cursors.clear();
        heap.clear();
        picks.clear();
        // Ceilings rise with the bucket, so the buckets that can serve are those from the first
        // whose ceiling reaches the floor up.
        let lowest = self.bucket_ceiling.partition_point(|&c| c < rep_floor);
        let serving = u32::MAX.checked_shl(lowest as u32).unwrap_or(0);
        // Each serving bucket's heads join the merge from the heads index as one more stream
        // (tagged HEADS | stream), in key order and up to the bucket's limit (book.rs,
        // "Heads"); without the index, or for needs few classes have, the walk opens the
        // eligible buckets directly.
        let mut heads = HeadWalk {
            streams: std::mem::take(&mut self.head_streams),
            live: 0,
            skipped: 0,
            demand_on_fallback: None,
            fell_back: false,
            demand: None,
            need_set: None,
            #[cfg(test)]
            passed: 0,
            #[cfg(test)]
            streamed: false,
        };
        let mut eligible = std::mem::take(&mut self.eligible);
        let limits = |b: u8| limit_price as f64 * (1.0 + 1e-9) / self.bucket_floor_k[b as usize];
        heads.start(
            self.book.get(tt),
            &self.book.nodes,
            needs,
            serving,
            limits,
            &mut eligible,
            &mut heap,
            &mut cursors,
        );
        let mut lane_pending: Option<(OrderId, u64, f64, u32)> = None;
        loop {
            let picking = remaining > 0 && slots > 0;
            if !picking && (!want_runner_up || runner_up.is_some()) {
                break;
            }
            if let Some((id, ask, rep, j)) = lane_pending.take()
                && let Some((a, next)) = self.book.lane_next(self.lane_of[id.index()], ask, id)
            {
                let next = OfferKey { weighted_bits: weighted_ask_bits(a, rep, k), id: next };
                push_stream(&mut heap, next, j, cursors[(j & !LANE) as usize].limit);
            }
            let Some(Reverse((key, tag))) = heap.pop() else { break };
            let i = if tag & HEADS == 0 {
                tag
            } else {
                match heads.take(tag, self.book.get(tt), &self.book.nodes, needs, &mut heap, &mut cursors) {
                    Some(i) => i,
                    None => continue,
                }
            };
            let limit = cursors[(i & !LANE) as usize].limit;
            // Streams end at their limit (`push_stream`), so every key popped is within it.
            debug_assert!(key.weighted() <= limit, "a key above its cursor's limit was merged");
            let o = &self.orders[key.id.index()];
            let (ask, provider, caps, offer_left) = (o.price_per_unit, o.trader, o.spec.capabilities, o.remaining());
            let rep = self.reputation.score(provider);
            let qualifies = ask <= limit_price
                && provider != requester
                && rep >= min_rep
                && self.privacy_ok(privacy, rep, caps)
                && !self.peers[provider.index()].banned;
            // Whether the rest of this offer's lane can still give a pick. Every test above is
            // the same for the whole lane (one provider, one class, and asks only rise), and so
            // is its usage-cap room; a provider already picked cannot be the runner-up. So the
            // lane goes on only after a full pick that left the provider room.
            let mut lane_goes_on = false;
            if qualifies && !picking {
                if !picks.iter().any(|p| p.provider == provider) && self.cap_room(provider, now) > 0 {
                    runner_up = Some(key.weighted());
                }
            } else if qualifies {
                let used: u64 = picks.iter().filter(|p| p.provider == provider).map(|p| p.units).sum();
                let room_now = self.cap_room(provider, now);
                if room_now == 0 {
                    // Park once walks have met as many of its offers (with lanes, of its lane
                    // heads) as parking moves.
                    let lanes = self.book.lanes_of(provider).len() as u64;
                    let p = &mut self.peers[provider.index()];
                    p.wasted += 1;
                    if p.wasted >= if p.laned { lanes } else { p.resting } {
                        to_park.push(provider);
                    }
                }
                let room = room_now.saturating_sub(used);
                let units = remaining.min(offer_left).min(room);
                if units > 0 {
                    picks.push(Pick { offer: key.id, provider, units });
                    remaining -= units;
                    slots -= 1;
                    lane_goes_on = units == offer_left && room > units && self.peers[provider.index()].laned;
                }
            }
            // A head continues its bucket's stream of heads, and every offer its lane's stream,
            // keyed by the provider's reputation now (what its head was keyed by).
            let bucket_next =
                if i & LANE == 0 { self.book.nodes.offers.step(&mut cursors[i as usize].rest) } else { None };
            if let Some(next) = bucket_next {
                push_stream(&mut heap, next, i, limit);
            }
            // The lane's next offer is looked up only if the walk goes on (most stop here).
            if lane_goes_on {
                lane_pending = Some((key.id, ask, rep, i | LANE));
            }
        }
        self.cursor_heap = heap;
        #[cfg(test)]
        {
            self.head_fallbacks += u64::from(heads.fell_back);
            self.walk_classes_passed += heads.passed;
            let entries = &self.book.get(tt).by_need_set;
            let unfiled = heads.need_set.is_some_and(|at| !entries[at as usize].indexed);
            self.unfiled_walks += u64::from(unfiled);
            self.unfiled_streamed += u64::from(unfiled && heads.streamed);
        }
        if needs.len() > 1 {
            self.book.get_mut(tt).joint_walk(heads.need_set);
        }
        if let Some(needs) = heads.demand {
            let (tb, nodes) = self.book.split_mut(tt);
            tb.demand_index(nodes, needs);
        }
        self.head_streams = heads.streams;
        self.eligible = eligible;
        for &p in &picks {
            let ask = self.orders[p.offer.index()].price_per_unit;
            let price = match walk {
                Walk::Immediate => self.trade_price(bid, ask, true),
                Walk::Uniform(price) => price,
                Walk::Award if !want_runner_up => ask,
                Walk::Award => match runner_up {
                    // The ask at which this provider's weighted ask equals the runner-up's.
                    Some(w) => {
                        let factor = if k == 0.0 {
                            1.0
                        } else {
                            let f = (self.reputation.score(p.provider) / 100.0).clamp(0.5, 2.0);
                            if k == 1.0 { f } else { f.powf(k) }
                        };
                        let threshold = (w * factor * (1.0 + 1e-12)).floor();
                        if threshold >= bid as f64 { bid } else { (threshold as u64).clamp(ask, bid) }
                    }
                    None => bid,
                },
            };
            self.execute_match(rid, p.offer, p.units, price, true, now);
            if self.orders[p.offer.index()].remaining() == 0 {
                self.remove_resting_offer(p.offer);
                self.orders[p.offer.index()].status = OrderStatus::Filled;
            }
        }
        for &p in &to_park {
            self.park_if_exhausted(p, now);
        }
        self.to_park = to_park;
        self.cursors = cursors;
        self.picks = picks;
    }

    /// An incoming offer serves open auctions of its task type: highest bid, earliest, lowest id,
    /// merged over the need classes its capabilities cover.
    pub(crate) fn match_offer(&mut self, oid: OrderId, now: SimTime) {
        let o = &self.orders[oid.index()];
        let (tt, caps, ask, provider) = (o.spec.task_type, o.spec.capabilities, o.price_per_unit, o.trader);
        let rep = self.reputation.score(provider);
        // Requests whose reputation floor lies in a bucket above the provider's cannot be served.
        let top = {
            let r = &self.config.reputation;
            rep_bucket_linear(rep, r.min, r.max)
        };
        let mut cursors = std::mem::take(&mut self.auction_cursors);
        cursors.clear();
        {
            let tb = self.book.get(tt);
            for &ci in &tb.live_auction_classes {
                let class = &tb.auction_classes[ci as usize];
                if !class.needs.is_subset_of(caps) {
                    continue;
                }
                let mut bits = class.nonempty & (u32::MAX >> (31 - top as u32));
                while bits != 0 {
                    let b = bits.trailing_zeros() as u8;
                    bits &= bits - 1;
                    if let Some(first) = self.book.nodes.auctions.first(&class.buckets[b as usize]) {
                        cursors.push((first, ci, b));
                    }
                }
            }
        }
        while !cursors.is_empty() {
            let remaining = self.orders[oid.index()].remaining();
            if remaining == 0 {
                break;
            }
            let mut best = 0;
            for i in 1..cursors.len() {
                if cursors[i].0 < cursors[best].0 {
                    best = i;
                }
            }
            let (key, ci, bucket) = cursors[best];
            let (Reverse(bid), rid) = key;
            if bid < ask {
                break; // the highest remaining bid of every class is below the ask
            }
            let r = &self.orders[rid.index()];
            let qualifies = r.trader != provider
                && rep >= r.spec.min_reputation
                && self.privacy_ok(r.spec.privacy_level, rep, caps)
                && r.providers_used < r.max_providers;
            if qualifies {
                let request_left = r.remaining();
                let room = self.cap_room(provider, now);
                if room == 0 {
                    break;
                }
                let units = remaining.min(request_left).min(room);
                let price = self.trade_price(bid, ask, false);
                self.execute_match(rid, oid, units, price, false, now);
                self.close_request_if_done(rid, now);
            }
            match self.book.get(tt).next_auction_in(&self.book.nodes, ci as usize, bucket, Some(key)) {
                Some(next) => cursors[best].0 = next,
                None => {
                    cursors.swap_remove(best);
                }
            }
        }
        self.auction_cursors = cursors;
    }

    /// Continuous double auction with `clear_book_after_trade`: cancels every open order of the
    /// task type, requests first (highest bid, earliest), then offers (lowest ask, earliest),
    /// with [`CloseReason::BookCleared`]. O(orders cancelled · log n).
    pub(crate) fn clear_book(&mut self, tt: crate::ids::TaskTypeId, now: SimTime) {
        let mut ids = std::mem::take(&mut self.scratch_ids);
        ids.clear();
        ids.extend(self.book.bids(tt).map(|(_, id)| id));
        ids.extend(self.book.asks(tt).map(|(_, id)| id));
        for &id in &ids {
            self.close_order(id, OrderStatus::Cancelled, CloseReason::BookCleared, now);
        }
        self.scratch_ids = ids;
    }

    /// A call of the call market: every task type with an open request clears at one price.
    ///
    /// **The price.** Only the crossing part of the book counts: requests bidding at least the
    /// best ask and offers asking at most the best bid, each with its remaining units. At a price
    /// `p`, demand `D(p)` is the units bid at `p` or more and supply `S(p)` the units asked at `p`
    /// or less. The call picks, among the whole-token prices from the best ask to the best bid,
    /// those that maximise the volume `min(D, S)`, then among them those that minimise the
    /// imbalance `|D − S|`; of that set it takes the middle of its lowest and highest price
    /// (rounded down) if that price is in the set, else the price of the set nearest to it (the
    /// lower one on a tie). The curves are step functions, so the set is a union of the book's
    /// prices and of the open gaps between two consecutive prices; it is found in one pass,
    /// O(c log c) for c crossing orders.
    ///
    /// **The trades.** At price `p`, requests bidding at least `p` take, in priority order
    /// (highest bid, then earliest), the qualifying offers asking at most `p` exactly as a
    /// request's walk does (best weighted ask first; capabilities, reputation, privacy, provider
    /// slots, usage caps and self-trade all apply), every unit at `p`. The price is set from the
    /// price curves alone, so these rules can leave part of the volume `min(D, S)` unmatched;
    /// offers of cap-exhausted providers count in the curves but cannot trade. Requests left
    /// open wait for the next call until their window ends.
    pub(crate) fn run_call(&mut self, now: SimTime) {
        self.unpark_due(now);
        let mut types = std::mem::take(&mut self.scratch_types);
        types.clear();
        types.extend(self.call_books.iter().copied());
        for &tt in &types {
            if let Some(p) = self.call_price(tt) {
                let mut ids = std::mem::take(&mut self.scratch_ids);
                ids.clear();
                ids.extend(self.book.bids(tt).take_while(|(Reverse(b), _)| *b >= p).map(|(_, id)| id));
                for &rid in &ids {
                    if self.orders[rid.index()].status.is_open() {
                        self.match_request(rid, now, Walk::Uniform(p));
                        self.close_request_if_done(rid, now);
                    }
                }
                self.scratch_ids = ids;
            }
        }
        self.scratch_types = types;
    }

    /// The uniform price of a call in task type `tt` (see [`Market::run_call`]), or `None` when
    /// the book does not cross.
    pub(crate) fn call_price(&mut self, tt: crate::ids::TaskTypeId) -> Option<u64> {
        let (best_bid, best_ask) = (self.book.best_bid(tt)?, self.book.best_ask(tt)?);
        if best_bid < best_ask {
            return None;
        }
        let mut bids = std::mem::take(&mut self.call_bids);
        let mut asks = std::mem::take(&mut self.call_asks);
        bids.clear();
        asks.clear();
        // Bids descending, asks ascending: the book's own orders.
        for (Reverse(b), id) in self.book.bids(tt).take_while(|(Reverse(b), _)| *b >= best_ask) {
            bids.push((b, self.orders[id.index()].remaining()));
        }
        for (a, id) in self.book.asks(tt).take_while(|(a, _)| *a <= best_bid) {
            asks.push((a, self.orders[id.index()].remaining()));
        }
        let price = clearing_price(&bids, &asks);
        self.call_bids = bids;
        self.call_asks = asks;
        price
    }

    /// Takes a provider's resting offers out of the class books when its usage cap has no room
    /// left at `now`, and schedules its return for the first time its window frees room. No-op
    /// for an uncapped, already parked or not exhausted provider. Called after a request's walk
    /// for the providers whose offers it met without room once they were met `resting` times.
    pub(crate) fn park_if_exhausted(&mut self, provider: PeerId, now: SimTime) {
        let p = &self.peers[provider.index()];
        if p.cap_parked || p.usage_cap_units.is_none() || self.cap_room(provider, now) > 0 {
            return;
        }
        let window = self.config.usage_cap_window_ms;
        let p = &mut self.peers[provider.index()];
        let cap = p.usage_cap_units.unwrap_or(u64::MAX);
        // The room is 0 until enough of the oldest entries leave the window for the sum to fall
        // below the cap: entry t leaves at t + window (`now − t < window` keeps it). No new
        // usage can come meanwhile (every match needs room), so that time is exact.
        let mut sum = p.usage_sum;
        let mut frees_at = None;
        for &(t, u) in &p.usage {
            sum -= u;
            if sum < cap {
                frees_at = t.checked_add(window);
                break;
            }
        }
        p.cap_parked = true;
        p.wasted = 0;
        // Never within simulated time if t + window overflows; returning at the end of time
        // anyway is harmless (a walk then finds no room, as it would have without parking).
        self.cap_unpark.push(Reverse((frees_at.unwrap_or(SimTime::MAX), provider)));
        self.move_offers(provider, false);
    }

    /// Returns to the class books the offers of every parked provider whose window has freed
    /// room by `now`.
    pub(crate) fn unpark_due(&mut self, now: SimTime) {
        while let Some(&Reverse((at, provider))) = self.cap_unpark.peek() {
            if at > now {
                break;
            }
            self.cap_unpark.pop();
            let p = &mut self.peers[provider.index()];
            p.cap_parked = false;
            p.wasted = 0;
            self.move_offers(provider, true);
        }
    }

    /// Inserts (`insert`) or removes every resting offer of `provider` in its class book (with
    /// lanes, the head of every lane: O(l log n) for l lanes), under its current rank key and
    /// bucket. The counts of resting offers and units do not change.
    fn move_offers(&mut self, provider: PeerId, insert: bool) {
        if self.peers[provider.index()].laned {
            for j in 0..self.book.lanes_of(provider).len() {
                let (tt, class, lane) = self.book.lanes_of(provider)[j];
                let l = &self.book.lanes[lane as usize];
                let Some((_, head)) = l.first() else { continue };
                let (key, bucket) = (OfferKey { weighted_bits: l.head_bits, id: head }, l.bucket);
                if insert {
                    self.book.insert_offer(tt, class as usize, bucket, key);
                } else {
                    self.book.remove_offer(tt, class as usize, bucket, &key);
                }
            }
            return;
        }
        let mut next = self.open.first(provider);
        while let Some(oid) = next {
            next = self.open.next(oid);
            let o = &self.orders[oid.index()];
            if o.side != Side::Sell {
                continue;
            }
            let (tt, caps) = (o.spec.task_type, o.spec.capabilities);
            let key = OfferKey { weighted_bits: self.rank_keys[oid.index()], id: oid };
            let bucket = self.rank_buckets[oid.index()];
            let class = self.book.get_mut(tt).class_of(caps);
            if insert {
                self.book.insert_offer(tt, class, bucket, key);
            } else {
                self.book.remove_offer(tt, class, bucket, &key);
            }
        }
    }

    /// Closes a request whose units are all assigned (`Filled`) or whose provider slots are all
    /// used (`Expired`, §3); returns whether it closed.
    pub(crate) fn close_request_if_done(&mut self, rid: OrderId, now: SimTime) -> bool {
        let r = &self.orders[rid.index()];
        if r.remaining() == 0 {
            self.close_order(rid, OrderStatus::Filled, CloseReason::Filled, now);
        } else if r.providers_used >= r.max_providers {
            self.close_order(rid, OrderStatus::Expired, CloseReason::SlotsUsed, now);
        } else {
            return false;
        }
        true
    }

    /// Creates the assignment and its funded escrow, moves the tokens and updates both orders.
    pub(crate) fn execute_match(
        &mut self,
        rid: OrderId,
        oid: OrderId,
        units: u64,
        price: u64,
        offer_was_resting: bool,
        now: SimTime,
    ) {
        let (r, o) = (&self.orders[rid.index()], &self.orders[oid.index()]);
        let bid = r.price_per_unit;
        let ask = o.price_per_unit;
        debug_assert!(ask <= price && price <= bid, "price {price} outside [{ask}, {bid}]");
        let requester = r.trader;
        let provider = o.trader;
        let tt = r.spec.task_type;
        let sla = r.sla;
        let privacy = r.spec.privacy_level;
        let max_response_ms = sla.map(|s| s.max_response_time_ms).unwrap_or(self.config.default_max_response_ms);
        let max_duration_ms = match sla {
            Some(s) if s.max_duration_ms > 0 => s.max_duration_ms,
            _ if r.spec.max_duration_ms > 0 => r.spec.max_duration_ms,
            _ => self.config.default_max_duration_ms,
        };
        let aid = AssignmentId(self.assignments.len() as u64);
        let eid = EscrowId(aid.0);
        let amount = price * units;
        self.bank.add_escrow();
        // The request's lock covers bid × units ≥ price × units: these cannot fail.
        let _ = self.bank.transfer(
            EntryKind::EscrowFund,
            Account::Locked(requester),
            Account::Escrow(eid),
            amount,
            eid.0,
            now,
        );
        let _ = self.bank.transfer(
            EntryKind::Unlock,
            Account::Locked(requester),
            Account::Available(requester),
            (bid - price) * units,
            rid.0,
            now,
        );
        self.assignments.push(TaskAssignment {
            id: aid,
            request: rid,
            offer: oid,
            requester,
            provider,
            task_type: tt,
            units,
            price_per_unit: price,
            bid,
            ask,
            privacy,
            provider_reputation: self.reputation.score(provider),
            sla,
            max_response_ms,
            max_duration_ms,
            assigned_at: now,
            started_at: None,
            finished_at: None,
            status: TaskStatus::Assigned,
            failure: None,
            violations: Violations::default(),
            penalty: 0,
            quality: QualityValues::EMPTY,
            uptime: 1.0,
            receipt_account: None,
            audited: false,
            feedback: [None, None],
        });
        let arbitrators = match self.config.escrow {
            crate::config::MultiSigType::Arbitrators { total, .. } => {
                self.draw_escrow_arbitrators(eid, requester, provider, total as usize, 0xA5B1)
            }
            _ => Vec::new(),
        };
        self.escrows.push(Escrow {
            id: eid,
            assignment: aid,
            requester,
            provider,
            amount,
            multisig: self.config.escrow,
            state: EscrowState::Created,
            funded_at: now,
            completed_at: None,
            settled_at: None,
            requester_approved: false,
            provider_approved: false,
            arbitrators,
            arbitrator_approvals: Vec::new(),
            dispute: None,
            paid_provider: 0,
            paid_requester: 0,
            fee: 0,
        });
        self.trail.push(EscrowTransition {
            escrow: eid,
            time: now,
            from: EscrowState::Created,
            to: EscrowState::Created,
            actor: None,
        });
        self.transition(eid, EscrowState::Funded, None, now);
        for (id, is_request) in [(rid, true), (oid, false)] {
            let order = &mut self.orders[id.index()];
            order.filled_units += units;
            if order.first_fill_at.is_none() {
                order.first_fill_at = Some(now);
            }
            if order.filled_units < order.total_units && order.status == OrderStatus::Active {
                order.status = OrderStatus::PartiallyFilled;
            }
            if is_request {
                order.providers_used += 1;
            }
        }
        if offer_was_resting {
            self.book.get_mut(tt).resting_units -= units;
        }
        let p = &mut self.peers[provider.index()];
        if p.usage_cap_units.is_some() {
            p.usage.push_back((now, units));
            p.usage_sum += units;
        }
        self.prices.record(tt.index(), now, price, units);
        self.counters.matches += 1;
        let start_deadline = now.saturating_add(max_response_ms).saturating_add(self.config.deadline_grace_ms);
        self.schedule(start_deadline, TimerKind::StartDeadline, aid.0);
        self.schedule(now.saturating_add(self.config.escrow_timeout_ms), TimerKind::EscrowTimeout, eid.0);
        self.events.push(MarketEvent::Assigned {
            time: now,
            assignment: aid,
            request: rid,
            offer: oid,
            requester,
            provider,
            task_type: tt,
            units,
            price_per_unit: price,
            offer_was_resting,
        });
    }

    /// Removes a resting offer from its class book, or from its lane (and, if it led the lane,
    /// from its class book), and from its owner's open list.
    pub(crate) fn remove_resting_offer(&mut self, oid: OrderId) {
        let o = &self.orders[oid.index()];
        let (tt, caps, remaining, trader, o_price) =
            (o.spec.task_type, o.spec.capabilities, o.remaining(), o.trader, o.price_per_unit);
        let p = &self.peers[trader.index()];
        let (laned, parked) = (p.laned, p.cap_parked);
        let was_resting = if laned {
            self.leave_lane(trader, o_price, oid)
        } else {
            let key = OfferKey { weighted_bits: self.rank_keys[oid.index()], id: oid };
            let bucket = self.rank_buckets[oid.index()];
            let class = self.book.get_mut(tt).class_of(caps);
            // A parked provider's resting offers are out of the class books but still counted.
            parked || self.book.remove_offer(tt, class, bucket, &key)
        };
        self.open.remove(trader, oid);
        if was_resting {
            let (tb, nodes) = self.book.split_mut(tt);
            tb.unindex_ask(nodes, o_price, oid);
            tb.resting_units -= remaining;
            tb.resting_offers -= 1;
            let p = &mut self.peers[trader.index()];
            p.resting -= 1;
            if laned && p.resting < self.lanes_until {
                self.lanes_down(trader);
            }
        }
    }

    /// Rests an offer of a provider without lanes directly in its class book, keyed by the
    /// provider's current reputation (not in the book while the provider is parked).
    pub(crate) fn rest_plain(&mut self, provider: PeerId, oid: OrderId) {
        let o = &self.orders[oid.index()];
        let (tt, caps, ask) = (o.spec.task_type, o.spec.capabilities, o.price_per_unit);
        let rep = self.reputation.score(provider);
        let bits = weighted_ask_bits(ask, rep, self.config.reputation_weight);
        let bucket = self.bucket_of(rep);
        self.rank_keys[oid.index()] = bits;
        self.rank_buckets[oid.index()] = bucket;
        if !self.peers[provider.index()].cap_parked {
            let class = self.book.get_mut(tt).class_of(caps);
            self.book.insert_offer(tt, class, bucket, OfferKey { weighted_bits: bits, id: oid });
        }
    }

    /// The lane of `provider` for offers of `caps` in `tt`, created if new; the provider's last
    /// lane answers without a search.
    pub(crate) fn lane_for(&mut self, provider: PeerId, tt: TaskTypeId, caps: CapabilitySet) -> u32 {
        if let Some((t, c, l)) = self.peers[provider.index()].last_lane
            && (t, c) == (tt, caps)
        {
            return l;
        }
        let class = self.book.get_mut(tt).class_of(caps) as u32;
        let l = self.book.lane(provider, tt, class);
        self.peers[provider.index()].last_lane = Some((tt, caps, l));
        l
    }

    /// Moves a provider's resting offers into lanes once it rests more than `lanes_from`
    /// ([`LANES_FROM`] unless a test set it).
    pub(crate) fn lane_up_if_many(&mut self, provider: PeerId) {
        let p = &self.peers[provider.index()];
        if p.laned || p.resting <= self.lanes_from {
            return;
        }
        let parked = p.cap_parked;
        let mut ids = std::mem::take(&mut self.scratch_ids);
        ids.clear();
        ids.extend(self.open.view(provider).iter().filter(|id| self.orders[id.index()].side == Side::Sell));
        if !parked {
            for &oid in &ids {
                let o = &self.orders[oid.index()];
                let key = OfferKey { weighted_bits: self.rank_keys[oid.index()], id: oid };
                let bucket = self.rank_buckets[oid.index()];
                let tt = o.spec.task_type;
                let class = self.book.get_mut(tt).class_of(o.spec.capabilities);
                self.book.remove_offer(tt, class, bucket, &key);
            }
        }
        self.peers[provider.index()].laned = true;
        for &oid in &ids {
            let o = &self.orders[oid.index()];
            let (tt, caps, ask) = (o.spec.task_type, o.spec.capabilities, o.price_per_unit);
            let lane = self.lane_for(provider, tt, caps);
            self.join_lane(provider, lane, ask, oid);
        }
        self.scratch_ids = ids;
    }

    /// Moves a provider's resting offers out of its lanes, back into the class books one by one
    /// (it rests fewer than `lanes_until`).
    fn lanes_down(&mut self, provider: PeerId) {
        let parked = self.peers[provider.index()].cap_parked;
        for j in 0..self.book.lanes_of(provider).len() {
            let (tt, class, lane) = self.book.lanes_of(provider)[j];
            let l = &self.book.lanes[lane as usize];
            if let Some((_, head)) = l.first()
                && !parked
            {
                let key = OfferKey { weighted_bits: l.head_bits, id: head };
                let bucket = l.bucket;
                self.book.remove_offer(tt, class as usize, bucket, &key);
            }
            self.book.lane_clear(lane);
        }
        self.peers[provider.index()].laned = false;
        let mut next = self.open.first(provider);
        while let Some(oid) = next {
            next = self.open.next(oid);
            if self.orders[oid.index()].side == Side::Sell {
                self.rest_plain(provider, oid);
            }
        }
    }

    /// Files a new resting offer of `provider` asking `ask` in lane `lane` (the provider's, of
    /// the offer's class); if it now leads the lane it becomes the lane's head in the class book.
    /// O(log n).
    pub(crate) fn join_lane(&mut self, provider: PeerId, lane: u32, ask: u64, oid: OrderId) {
        self.lane_of[oid.index()] = lane;
        let l = &self.book.lanes[lane as usize];
        let old = l.first().map(|(_, h)| (OfferKey { weighted_bits: l.head_bits, id: h }, l.bucket));
        if self.book.lane_insert(lane, (ask, oid)) {
            self.refile_head(provider, lane, old);
        }
    }

    /// Takes a resting offer out of its lane; if it led the lane, the next offer becomes the
    /// head. False if the offer was not resting. O(log n).
    fn leave_lane(&mut self, provider: PeerId, ask: u64, oid: OrderId) -> bool {
        let lane = self.lane_of[oid.index()];
        let l = &self.book.lanes[lane as usize];
        let old =
            (l.first() == Some((ask, oid))).then_some((OfferKey { weighted_bits: l.head_bits, id: oid }, l.bucket));
        if !self.book.lane_remove(lane, (ask, oid)) {
            return false;
        }
        if old.is_some() {
            self.refile_head(provider, lane, old);
        }
        true
    }

    /// Keys the head of lane `lane` by its provider's current reputation and, unless the
    /// provider is parked, moves it in the class book from `old` (the key and bucket it was
    /// filed under, if any): inserted before the old key is removed, so the class never turns
    /// empty in between and its live listing stays put. Nothing moves when nothing changed.
    fn refile_head(&mut self, provider: PeerId, lane: u32, old: Option<(OfferKey, u8)>) {
        let rep = self.reputation.score(provider);
        let bucket = self.bucket_of(rep);
        let k = self.config.reputation_weight;
        let l = &mut self.book.lanes[lane as usize];
        let new = l.first().map(|(ask, id)| OfferKey { weighted_bits: weighted_ask_bits(ask, rep, k), id });
        if let Some(n) = new {
            (l.head_bits, l.bucket) = (n.weighted_bits, bucket);
        }
        let (tt, class) = (l.task_type, l.class as usize);
        if new.map(|n| (n, bucket)) == old || self.peers[provider.index()].cap_parked {
            return;
        }
        if let Some(n) = new {
            self.book.insert_offer(tt, class, bucket, n);
        }
        if let Some((o, b)) = old {
            self.book.remove_offer(tt, class, b, &o);
        }
    }

    /// Re-ranks a provider's resting offers after its reputation changed. With lanes, only the
    /// head of each lane has a key in a class book, so each lane whose head key or bucket moved
    /// costs one insert and one remove: O(l log n) for a provider with l lanes however many
    /// offers they hold (the walks key the rest of a lane on the fly). Without lanes (at most
    /// [`LANES_FROM`] resting offers) each offer whose key or bucket moved is re-inserted. A
    /// parked provider's offers only get their new keys.
    pub(crate) fn rekey_offers(&mut self, peer: PeerId) {
        if self.peers[peer.index()].laned {
            for j in 0..self.book.lanes_of(peer).len() {
                let lane = self.book.lanes_of(peer)[j].2;
                let l = &self.book.lanes[lane as usize];
                if let Some((_, head)) = l.first() {
                    let old = (OfferKey { weighted_bits: l.head_bits, id: head }, l.bucket);
                    self.refile_head(peer, lane, Some(old));
                }
            }
            return;
        }
        let k = self.config.reputation_weight;
        let rep = self.reputation.score(peer);
        let new_bucket = self.bucket_of(rep);
        let mut left = self.peers[peer.index()].resting;
        let mut next = self.open.first(peer);
        while let Some(oid) = next
            && left > 0
        {
            next = self.open.next(oid);
            let o = &self.orders[oid.index()];
            if o.side != Side::Sell {
                continue;
            }
            left -= 1;
            let (tt, caps, ask) = (o.spec.task_type, o.spec.capabilities, o.price_per_unit);
            let old = OfferKey { weighted_bits: self.rank_keys[oid.index()], id: oid };
            let old_bucket = self.rank_buckets[oid.index()];
            let new_bits = weighted_ask_bits(ask, rep, k);
            if new_bits == old.weighted_bits && new_bucket == old_bucket {
                continue;
            }
            self.rank_keys[oid.index()] = new_bits;
            self.rank_buckets[oid.index()] = new_bucket;
            if self.peers[peer.index()].cap_parked {
                continue; // out of the books: it rejoins under the new key
            }
            let class = self.book.get_mut(tt).class_of(caps);
            // Insert before removing: the class never turns empty, so its live listing stays put.
            self.book.insert_offer(tt, class, new_bucket, OfferKey { weighted_bits: new_bits, id: oid });
            self.book.remove_offer(tt, class, old_bucket, &old);
        }
    }

    /// Closes an open order: withdraws its remainder from the book or auction list, unlocks a
    /// request's unspent tokens, sets the final status and reports it.
    pub(crate) fn close_order(&mut self, id: OrderId, status: OrderStatus, reason: CloseReason, now: SimTime) {
        let o = &self.orders[id.index()];
        let (side, trader, remaining, bid, tt, filled) =
            (o.side, o.trader, o.remaining(), o.price_per_unit, o.spec.task_type, o.filled_units);
        let (needs, floor_bucket) = self.auction_slot(&o.spec);
        match side {
            Side::Buy => {
                let (tb, nodes) = self.book.split_mut(tt);
                tb.remove_auction(nodes, needs, floor_bucket, (Reverse(bid), id));
                if tb.bids.is_empty() && self.config.institution == Institution::CallMarket {
                    self.call_books.remove(&tt);
                }
                self.open.remove(trader, id);
                let _ = self.bank.transfer(
                    EntryKind::Unlock,
                    Account::Locked(trader),
                    Account::Available(trader),
                    remaining * bid,
                    id.0,
                    now,
                );
                self.events.push(MarketEvent::AuctionClosed { time: now, request: id, reason, filled_units: filled });
            }
            Side::Sell => self.remove_resting_offer(id),
        }
        self.orders[id.index()].status = status;
        if remaining > 0 {
            match status {
                OrderStatus::Cancelled => {
                    self.events.push(MarketEvent::OrderCancelled { time: now, order: id, unfilled_units: remaining })
                }
                OrderStatus::Expired => {
                    self.events.push(MarketEvent::OrderExpired { time: now, order: id, unfilled_units: remaining })
                }
                _ => {}
            }
        }
    }

    /// Cancels the unfilled remainder of an order. Only its owner may; assigned work continues.
    pub fn cancel_order(&mut self, id: OrderId, trader: PeerId, now: SimTime) -> Result<(), MarketError> {
        self.advance_to(now)?;
        let o = self.orders.get(id.index()).ok_or(MarketError::UnknownOrder(id))?;
        if o.trader != trader {
            return Err(self
                .refuse(trader, MarketError::NotAuthorized { caller: trader, action: "cancel another peer's order" }));
        }
        if !o.status.is_open() {
            return Err(MarketError::WrongState { action: "cancel", state: o.status.as_str() });
        }
        self.close_order(id, OrderStatus::Cancelled, CloseReason::Cancelled, now);
        Ok(())
    }

    pub(crate) fn close_open_orders(&mut self, peer: PeerId, only: Option<Side>) {
        let now = self.clock;
        // Closing an order unlinks only that order, so its successor, read first, stays valid.
        let mut next = self.open.first(peer);
        while let Some(oid) = next {
            next = self.open.next(oid);
            if only.is_none_or(|t| self.orders[oid.index()].side == t) {
                self.close_order(oid, OrderStatus::Cancelled, CloseReason::Cancelled, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::Lane;
    use crate::reputation::ReputationEvent;
    use crate::workload::SplitMix;
    use crate::{AccountId, ComputeTaskSpec, MarketConfig, NewOrder, PeerSpec, ReputationConfig};

    impl Market {
        /// Every parked provider's offers back in the books: the walks then see every resting
        /// offer, as they did before cap-exhausted providers were parked.
        fn unpark_all(&mut self) {
            while let Some(Reverse((_, p))) = self.cap_unpark.pop() {
                self.peers[p.index()].cap_parked = false;
                self.move_offers(p, true);
            }
        }

        /// The class books hold exactly the resting offers of providers that are not parked, each
        /// in its class under the key and bucket of its provider's current reputation: what a
        /// full re-sort of the open offers would give. A parked provider has no room (or is due).
        fn check_book_index(&self) {
            let k = self.config.reputation_weight;
            let mut held = Vec::new();
            // Each head in a class book, then the rest of its lane keyed as a walk keys it.
            let mut heads = 0;
            for (t, tb) in self.book.types.iter().enumerate() {
                for class in &tb.classes {
                    for (b, set) in class.buckets.iter().enumerate() {
                        for key in self.book.offer_keys(set) {
                            let o = &self.orders[key.id.index()];
                            if !self.peers[o.trader.index()].laned {
                                held.push((t, class.capabilities, b as u8, key));
                                continue;
                            }
                            let lane = self.lane_of[key.id.index()];
                            assert_eq!(self.book.lane_first(lane), Some((o.price_per_unit, key.id)), "head");
                            let rep = self.reputation.score(o.trader);
                            held.push((t, class.capabilities, b as u8, key));
                            let mut next = self.book.lane_next(lane, o.price_per_unit, key.id);
                            while let Some((a, id)) = next {
                                let key = OfferKey { weighted_bits: weighted_ask_bits(a, rep, k), id };
                                held.push((t, class.capabilities, b as u8, key));
                                next = self.book.lane_next(lane, a, id);
                            }
                            heads += 1;
                        }
                    }
                }
            }
            let resting: u64 = self.peers.iter().filter(|p| p.laned).map(|p| p.resting).sum();
            let in_lanes: usize = self.book.lanes.iter().map(Lane::len).sum();
            assert_eq!(in_lanes as u64, resting, "every resting offer is in a lane");
            let mut lanes_in_books = 0;
            for i in 0..self.peers.len() {
                for &(t, c, l) in self.book.lanes_of(PeerId(i as u32)) {
                    let lane = &self.book.lanes[l as usize];
                    // Each lane is its provider's, in the class of its offers, by (ask, id).
                    assert_eq!((lane.task_type, lane.class), (t, c));
                    for (ask, id) in lane.iter(&self.book.nodes) {
                        let o = &self.orders[id.index()];
                        assert_eq!((o.trader.index(), o.spec.task_type, o.price_per_unit), (i, t, ask));
                        assert_eq!(self.book.get(t).classes[c as usize].capabilities, o.spec.capabilities);
                    }
                    assert!(self.peers[i].laned || lane.is_empty(), "a provider without lanes has empty lanes");
                    lanes_in_books += usize::from(!lane.is_empty() && !self.peers[i].cap_parked);
                }
            }
            assert_eq!(heads, lanes_in_books, "one head per lane of every provider not parked");
            let mut expected = Vec::new();
            for (i, peer) in self.peers.iter().enumerate() {
                let p = PeerId(i as u32);
                let resting = self.open.view(p).iter().filter(|id| self.orders[id.index()].side == Side::Sell).count();
                assert_eq!(peer.resting, resting as u64, "{p:?} resting offers");
                if peer.cap_parked {
                    let due = self.cap_unpark.iter().any(|&Reverse((at, q))| q == p && at <= self.clock);
                    assert!(due || self.cap_room_now(p) == 0, "{p:?} parked with room");
                    continue;
                }
                let rep = self.reputation.score(p);
                let mut next = self.open.first(p);
                while let Some(oid) = next {
                    next = self.open.next(oid);
                    let o = &self.orders[oid.index()];
                    if o.side == Side::Sell {
                        let bucket = self.bucket_of(rep);
                        let key = OfferKey { weighted_bits: weighted_ask_bits(o.price_per_unit, rep, k), id: oid };
                        expected.push((o.spec.task_type.index(), o.spec.capabilities, bucket, key));
                    }
                }
            }
            held.sort();
            expected.sort();
            assert_eq!(held, expected);
        }
    }

    /// Placements, cancels, reputation changes (events and decay) and cap windows interleaved:
    /// the market that parks cap-exhausted providers and re-keys only the changed provider's
    /// offers gives the same events, digests and best asks as a twin whose walks see every
    /// offer, and its books always equal a full re-sort of the open offers.
    #[test]
    fn parking_and_rekeying_change_nothing() {
        for (seed, k, decay) in [(1u64, 1.0, false), (2, 2.0, true), (3, 0.0, true), (4, 0.5, false)] {
            let config = MarketConfig {
                reputation_weight: k,
                usage_cap_window_ms: 900,
                reputation: ReputationConfig {
                    decay_half_life_ms: if decay { 3_000 } else { 0 },
                    decay_step_ms: 700,
                    ..Default::default()
                },
                ..Default::default()
            };
            let mut m = Market::new(config).unwrap();
            let tts = [m.register_task_type("a").unwrap(), m.register_task_type("b").unwrap()];
            let caps =
                [m.capabilities(["x"]).unwrap(), m.capabilities(["x", "y"]).unwrap(), m.capabilities(["y"]).unwrap()];
            let mut requesters = Vec::new();
            for _ in 0..4 {
                requesters.push(m.register_peer(PeerSpec { endowment: 1 << 40, ..Default::default() }, 0).unwrap());
            }
            let mut providers = Vec::new();
            for i in 0..12u64 {
                let spec = PeerSpec {
                    account: Some(AccountId(10 + i)),
                    usage_cap_units: if i % 4 == 3 { None } else { Some(200 + 100 * (i % 3)) },
                    initial_reputation: Some([30.0, 80.0, 120.0, 190.0][i as usize % 4]),
                    endowment: 1 << 30,
                    ..Default::default()
                };
                providers.push(m.register_peer(spec, 0).unwrap());
            }
            m.drain_events().for_each(drop);
            // The twin's walks see every offer; `laned` moves providers into lanes from 3
            // resting offers and out below 1, so it changes layout all the time.
            let mut twin = m.clone();
            let mut laned = m.clone();
            laned.set_lane_thresholds(3, 1);
            let mut rng = SplitMix::seed_from_u64(seed);
            let (mut now, mut placed, mut parked_seen, mut unparked_seen) = (0u64, Vec::new(), 0, 0);
            let mut laned_seen = 0;
            for step in 0..6_000 {
                now += rng.below(0, 40);
                twin.unpark_all();
                let was_parked = m.cap_unpark.len();
                let x = rng.below(0, 100);
                let tt = tts[rng.below(0, 2) as usize];
                let cap = caps[rng.below(0, 3) as usize];
                let mut all = [&mut m, &mut twin, &mut laned];
                if x < 40 {
                    let p = providers[rng.below(0, providers.len() as u64) as usize];
                    let order =
                        NewOrder::sell(p, rng.below(50, 150), rng.below(1, 4) * 50, ComputeTaskSpec::new(tt, cap));
                    let got: Vec<_> = all.iter_mut().map(|w| w.place_order(order, now)).collect();
                    assert!(got.iter().all(|g| *g == got[0]), "step {step}");
                    placed.extend(got[0].clone().ok().map(|id| (id, p)));
                } else if x < 80 {
                    let r = requesters[rng.below(0, requesters.len() as u64) as usize];
                    let mut spec = ComputeTaskSpec::new(tt, if rng.below(0, 2) == 0 { caps[0] } else { cap });
                    if rng.below(0, 4) == 0 {
                        spec.min_reputation = 90.0;
                    }
                    if rng.below(0, 5) == 0 {
                        spec.privacy_level = PrivacyLevel::Private;
                    }
                    let order = NewOrder::buy(r, rng.below(60, 200), rng.below(1, 8) * 50, spec);
                    let got: Vec<_> = all.iter_mut().map(|w| w.place_order(order, now)).collect();
                    assert!(got.iter().all(|g| *g == got[0]), "step {step}");
                    placed.extend(got[0].clone().ok().map(|id| (id, r)));
                } else if x < 88 && !placed.is_empty() {
                    let (id, owner) = placed[rng.below(0, placed.len() as u64) as usize];
                    let got: Vec<_> = all.iter_mut().map(|w| w.cancel_order(id, owner, now)).collect();
                    assert!(got.iter().all(|g| *g == got[0]), "step {step}");
                } else {
                    let p = providers[rng.below(0, providers.len() as u64) as usize];
                    let event =
                        [ReputationEvent::TradeCompleted, ReputationEvent::SlaViolation, ReputationEvent::DisputeLost]
                            [rng.below(0, 3) as usize];
                    let times = rng.below(1, 3) as u32;
                    for w in all.iter_mut() {
                        w.advance_to(now).unwrap();
                        w.reputation.apply(p, event, times);
                        w.rekey_offers(p);
                    }
                }
                parked_seen += usize::from(m.cap_unpark.len() > was_parked);
                unparked_seen += usize::from(m.cap_unpark.len() < was_parked);
                let events = m.drain_events().collect::<Vec<_>>();
                assert_eq!(events, twin.drain_events().collect::<Vec<_>>(), "step {step}");
                assert_eq!(events, laned.drain_events().collect::<Vec<_>>(), "step {step}");
                for w in [&twin, &laned] {
                    assert_eq!(m.state_digest(), w.state_digest(), "step {step}");
                    for tt in tts {
                        assert_eq!(m.best_ask(tt), w.best_ask(tt), "step {step}");
                        assert_eq!(m.resting_units(tt), w.resting_units(tt), "step {step}");
                        assert_eq!(m.resting_offers(tt), w.resting_offers(tt), "step {step}");
                    }
                }
                m.check_book_index();
                twin.check_book_index();
                laned.check_book_index();
                laned_seen += laned.peers.iter().filter(|p| p.laned).count();
            }
            assert!(laned_seen > 10_000, "seed {seed}: {laned_seen} provider-steps in lanes");
            assert!(
                parked_seen > 40 && unparked_seen > 40,
                "seed {seed}: {parked_seen} parked, {unparked_seen} unparked"
            );
            assert!(m.counters.matches > 500, "seed {seed}: {} matches", m.counters.matches);
        }
    }

    /// The scenario of the two tests below: one task type whose classes `classes` (capabilities,
    /// ask) each rest one offer; three times, a cheap offer holding `needs` and 127 and a request
    /// needing `needs` that takes it, the first falling back and turning on the index `on` tells
    /// of; then the offers of the classes holding `needs` cancelled one by one, the index going
    /// off once only `heads_until` of them are left. A twin without heads indexes ends every
    /// step in the same state.
    fn fallback_turns_index_on(classes: &[(u128, u64)], needs: u128, on: impl Fn(&Market, TaskTypeId) -> bool) {
        let day = 86_400_000;
        let config =
            MarketConfig { auction_window_ms: 365 * day, escrow_timeout_ms: 365 * day, ..MarketConfig::default() };
        let mut m = Market::new(config).unwrap();
        let tt = m.register_task_type("t").unwrap();
        let p = m.register_peer(PeerSpec { account: Some(AccountId(1)), ..PeerSpec::default() }, 0).unwrap();
        let cheap = m.register_peer(PeerSpec { account: Some(AccountId(2)), ..PeerSpec::default() }, 0).unwrap();
        let r = m.register_peer(PeerSpec { endowment: 1 << 40, ..PeerSpec::default() }, 0).unwrap();
        let mut holders = Vec::new();
        for &(caps, ask) in classes {
            let id =
                m.place_order(NewOrder::sell(p, ask, 1, ComputeTaskSpec::new(tt, CapabilitySet(caps))), 0).unwrap();
            if caps & needs == needs {
                holders.push(id);
            }
        }
        let mut twin = m.clone();
        twin.set_heads_thresholds(usize::MAX, usize::MAX);
        assert!(m.book.get(tt).heads_on && !on(&m, tt), "the heads index is on, the needs' own index not yet");
        for step in 0..3 {
            for w in [&mut m, &mut twin] {
                let offer = ComputeTaskSpec::new(tt, CapabilitySet(needs | 1 << 127));
                w.place_order(NewOrder::sell(cheap, 100, 1, offer), 0).unwrap();
                w.place_order(NewOrder::buy(r, 120, 1, ComputeTaskSpec::new(tt, CapabilitySet(needs))), 0).unwrap();
            }
            assert!(on(&m, tt), "step {step}: the fallback turned the needs' index on");
            assert_eq!(m.head_fallbacks, 1, "step {step}: only the first walk fell back");
            assert_eq!(m.state_digest(), twin.state_digest(), "step {step}");
            m.check_invariants().unwrap();
        }
        let until = m.book.get(tt).heads_until;
        for (i, &id) in holders.iter().enumerate() {
            m.cancel_order(id, p, 0).unwrap();
            twin.cancel_order(id, p, 0).unwrap();
            // The cheap offers were taken: the holders left are the live classes holding the needs.
            assert_eq!(on(&m, tt), holders.len() - i - 1 > until, "{} holders left", holders.len() - i - 1);
            m.check_invariants().unwrap();
        }
        assert_eq!(m.state_digest(), twin.state_digest());
    }

    /// A request with a reputation floor, among many classes holding its need whose offers all
    /// lie below the floor: the pass counting its eligible buckets stops past
    /// `DIRECT_UNSERVING` such classes, and the walk streams the serving buckets' heads, which
    /// skip them whole. It takes the one offer above the floor as a walk that opens every class
    /// directly does (twin with the heads index never on).
    #[test]
    fn a_high_floor_does_not_make_the_walk_pass_every_class() {
        let day = 86_400_000;
        let config =
            MarketConfig { auction_window_ms: 365 * day, escrow_timeout_ms: 365 * day, ..MarketConfig::default() };
        let mut m = Market::new(config).unwrap();
        let tt = m.register_task_type("t").unwrap();
        let with = |account: u64, reputation: f64| PeerSpec {
            account: Some(AccountId(account)),
            initial_reputation: Some(reputation),
            ..PeerSpec::default()
        };
        let low = m.register_peer(with(1, 50.0), 0).unwrap();
        let high = m.register_peer(with(2, 150.0), 0).unwrap();
        let r = m.register_peer(PeerSpec { endowment: 1 << 40, ..PeerSpec::default() }, 0).unwrap();
        let need = 1u128 << 121;
        for k in 0..200u32 {
            let caps = CapabilitySet(need | 1 << (k % 100) | 1 << (100 + k / 100));
            m.place_order(NewOrder::sell(low, 90, 1, ComputeTaskSpec::new(tt, caps)), 0).unwrap();
        }
        let mut twin = m.clone();
        twin.set_heads_thresholds(usize::MAX, usize::MAX);
        let mut request = ComputeTaskSpec::new(tt, CapabilitySet(need));
        request.min_reputation = 120.0;
        for step in 1..=3u64 {
            for w in [&mut m, &mut twin] {
                let offer = ComputeTaskSpec::new(tt, CapabilitySet(need | 1 << 127));
                w.place_order(NewOrder::sell(high, 100, 1, offer), 0).unwrap();
                w.place_order(NewOrder::buy(r, 120, 1, request), 0).unwrap();
            }
            assert_eq!(m.open_orders(r).len(), 0, "step {step}: the request took the offer above its floor");
            assert!(
                m.walk_classes_passed <= step * u64::from(DIRECT_UNSERVING + 1),
                "step {step}: the passes visited {} classes",
                m.walk_classes_passed
            );
            assert_eq!(m.head_fallbacks, 0, "step {step}: the serving heads skip nothing");
            assert_eq!(m.state_digest(), twin.state_digest(), "step {step}");
            m.check_invariants().unwrap();
        }
        assert_eq!(m.best_ask(tt), Some(90), "the offers below the floor still rest");
    }

    /// A market for need-set tests: for each `(caps, ask)`, a class resting one offer of that
    /// ask, its twin with the heads index never on, the taker of the cheap offers and the
    /// requester.
    fn need_set_world(classes: &[(u128, u64)]) -> (Market, Market, TaskTypeId, PeerId, PeerId) {
        let day = 86_400_000;
        let config =
            MarketConfig { auction_window_ms: 365 * day, escrow_timeout_ms: 365 * day, ..MarketConfig::default() };
        let mut m = Market::new(config).unwrap();
        let tt = m.register_task_type("t").unwrap();
        let p = m.register_peer(PeerSpec { account: Some(AccountId(1)), ..PeerSpec::default() }, 0).unwrap();
        let cheap = m.register_peer(PeerSpec { account: Some(AccountId(2)), ..PeerSpec::default() }, 0).unwrap();
        let r = m.register_peer(PeerSpec { endowment: 1 << 40, ..PeerSpec::default() }, 0).unwrap();
        for &(caps, ask) in classes {
            m.place_order(NewOrder::sell(p, ask, 1, ComputeTaskSpec::new(tt, CapabilitySet(caps))), 0).unwrap();
        }
        let mut twin = m.clone();
        twin.set_heads_thresholds(usize::MAX, usize::MAX);
        (m, twin, tt, cheap, r)
    }

    /// In `m` and `twin`, an offer holding `needs` and 127 at 100 and a request needing `needs`
    /// at 120 that takes it; the two end in the same state.
    fn take_cheap(m: &mut Market, twin: &mut Market, tt: TaskTypeId, cheap: PeerId, r: PeerId, needs: u128) {
        for w in [&mut *m, &mut *twin] {
            let offer = ComputeTaskSpec::new(tt, CapabilitySet(needs | 1 << 127));
            w.place_order(NewOrder::sell(cheap, 100, 1, offer), 0).unwrap();
            w.place_order(NewOrder::buy(r, 120, 1, ComputeTaskSpec::new(tt, CapabilitySet(needs))), 0).unwrap();
        }
        assert_eq!(m.open_orders(r).len(), 0, "the request took the cheap offer");
        assert_eq!(m.state_digest(), twin.state_digest());
        m.check_invariants().unwrap();
    }

    /// A request with two needs held together by 3 classes, each need held apart by 50 cheaper
    /// classes (too few holders for a need set's heads): the first walk passes the classes of
    /// its rarest need and asks for the need set's entry, which lists the 3 holders without
    /// heads; later walks open those classes directly and pass no other (book.rs, "Heads per
    /// need set").
    #[test]
    fn a_need_set_few_classes_hold_is_listed_and_opened_directly() {
        let (a, b) = (1u128 << 120, 1u128 << 121);
        let classes: Vec<(u128, u64)> = (0..103u128)
            .map(|k| match k {
                0..100 if k % 2 == 0 => (1 << k | a, 90),
                0..100 => (1 << k | b, 90),
                _ => (1 << (k - 100) | 1 << 110 | a | b, 150),
            })
            .collect();
        let (mut m, mut twin, tt, cheap, r) = need_set_world(&classes);
        take_cheap(&mut m, &mut twin, tt, cheap, r, a | b);
        let first = m.walk_classes_passed;
        assert!(first >= 50, "the first walk passed {first} classes");
        let entry = m.book.get(tt).by_need_set.iter().find(|e| e.on && e.needs == CapabilitySet(a | b)).cloned();
        let entry = entry.expect("the need set has an entry");
        assert!(!entry.indexed && entry.live.len() == 3, "listed, not filed: {:?}", entry.live);
        for step in 1..=5u64 {
            take_cheap(&mut m, &mut twin, tt, cheap, r, a | b);
            // The cheap offer's class, {a, b, 127}, is live while the walk runs: 4 classes.
            assert!(m.walk_classes_passed <= first + 4 * step, "step {step}: {} classes passed", m.walk_classes_passed);
        }
        assert_eq!(m.head_fallbacks, 0, "no walk fell back");
        assert_eq!(m.unfiled_walks, 5, "the later walks read the entry without filed heads");
    }

    /// The same with the 3 holders' offers spread over 5 reputation buckets each (15 serving
    /// buckets): walks that read the unfiled entry stream heads instead of opening every bucket,
    /// pass only the listed classes, and take what a walk opening every class takes.
    #[test]
    fn an_unfiled_entry_with_many_serving_buckets_streams_heads() {
        let (a, b) = (1u128 << 120, 1u128 << 121);
        let day = 86_400_000;
        let config =
            MarketConfig { auction_window_ms: 365 * day, escrow_timeout_ms: 365 * day, ..MarketConfig::default() };
        let mut m = Market::new(config).unwrap();
        let tt = m.register_task_type("t").unwrap();
        let with = |account: u64, reputation: f64| PeerSpec {
            account: Some(AccountId(account)),
            initial_reputation: Some(reputation),
            ..PeerSpec::default()
        };
        let providers: Vec<PeerId> = [60.0, 90.0, 120.0, 150.0, 180.0]
            .iter()
            .zip(1..)
            .map(|(&r, i)| m.register_peer(with(i, r), 0).unwrap())
            .collect();
        let cheap = m.register_peer(with(9, 100.0), 0).unwrap();
        let r = m.register_peer(PeerSpec { endowment: 1 << 40, ..PeerSpec::default() }, 0).unwrap();
        for k in 0..100u128 {
            let caps = CapabilitySet(1 << k | if k % 2 == 0 { a } else { b });
            m.place_order(NewOrder::sell(providers[0], 90, 1, ComputeTaskSpec::new(tt, caps)), 0).unwrap();
        }
        for k in 0..3u128 {
            let caps = CapabilitySet(1 << k | 1 << 110 | a | b);
            for &p in &providers {
                m.place_order(NewOrder::sell(p, 150, 1, ComputeTaskSpec::new(tt, caps)), 0).unwrap();
            }
        }
        let mut twin = m.clone();
        twin.set_heads_thresholds(usize::MAX, usize::MAX);
        take_cheap(&mut m, &mut twin, tt, cheap, r, a | b);
        let entry = m.book.get(tt).by_need_set.iter().find(|e| e.on && e.needs == CapabilitySet(a | b)).cloned();
        assert!(entry.is_some_and(|e| !e.indexed), "the first walk made an entry without filed heads");
        let first = m.walk_classes_passed;
        for step in 1..=5u64 {
            take_cheap(&mut m, &mut twin, tt, cheap, r, a | b);
            assert!(m.walk_classes_passed <= first + 4 * step, "step {step}: {} classes passed", m.walk_classes_passed);
        }
        assert_eq!((m.unfiled_walks, m.unfiled_streamed), (5, 5), "every later walk streamed the heads");
    }

    /// Nine need sets, each held together by 3 classes and apart by 20 cheaper ones: walks for
    /// the first eight take every slot; walks for the ninth first ask in vain, then, once the
    /// least recently read entry has been idle for `NEED_SET_IDLE_WALKS` walks with several
    /// needs, evict it and get an entry (book.rs, "Heads per need set").
    #[test]
    fn an_idle_need_set_entry_gives_its_slot_to_a_new_need_set() {
        let b = 1u128 << 121;
        let need = |i: u128| 1u128 << (100 + i);
        let classes: Vec<(u128, u64)> = (0..9u128)
            .flat_map(|i| {
                let apart = (0..20u128).map(move |k| (1 << (k + 20 * (i % 4)) | need(i), 90));
                let together = (0..3u128).map(move |k| (1 << (80 + k) | 1 << (90 + i) | need(i) | b, 150));
                apart.chain(together)
            })
            .collect();
        let (mut m, mut twin, tt, cheap, r) = need_set_world(&classes);
        let has_entry = |m: &Market, i: u128| {
            m.book.get(tt).by_need_set.iter().any(|e| e.on && e.needs == CapabilitySet(need(i) | b))
        };
        for i in 0..8 {
            take_cheap(&mut m, &mut twin, tt, cheap, r, need(i) | b);
        }
        assert!((0..8).all(|i| has_entry(&m, i)), "the first eight need sets have entries");
        assert_eq!(m.book.get(tt).need_sets_on, crate::book::NEED_SETS);
        let mut walks = 8;
        while !has_entry(&m, 8) {
            take_cheap(&mut m, &mut twin, tt, cheap, r, need(8) | b);
            walks += 1;
            assert!(walks <= 1 + crate::book::NEED_SET_IDLE_WALKS, "no slot after {walks} walks");
        }
        assert_eq!(walks, 1 + crate::book::NEED_SET_IDLE_WALKS, "the first entry was idle after 64 walks");
        assert!(!has_entry(&m, 0) && (1..8).all(|i| has_entry(&m, i)), "the least recently read entry went");
        let passed = m.walk_classes_passed;
        take_cheap(&mut m, &mut twin, tt, cheap, r, need(8) | b);
        assert!(m.walk_classes_passed - passed <= 4, "the ninth need set's walks open its classes directly");
    }

    /// A request whose only need is held by the pricier half of many classes skips the cheaper
    /// half's heads in the task type's index, falls back, and turns its need's own index on
    /// (book.rs, "Heads per capability"); the next requests stream that index and never fall
    /// back. The index goes off again once only `heads_until` live classes hold the need.
    #[test]
    fn a_walk_that_falls_back_turns_its_needs_index_on() {
        let need = 1u128 << 121;
        let classes: Vec<(u128, u64)> =
            (0..100).map(|k| if k % 2 == 0 { (1 << k | need, 150) } else { (1 << k, 90) }).collect();
        fallback_turns_index_on(&classes, need, |m, tt| m.book.get(tt).capabilities_on >> 121 & 1 == 1);
    }

    /// The same for a request with two needs, each held by many cheaper classes that lack the
    /// other, held together by few (book.rs, "Heads per need set"): its fallback turns the need
    /// set's own index on, the next requests stream it and never fall back, and its heads are
    /// unfiled once only `heads_until` live classes hold both needs (the entry stays, listing
    /// them).
    #[test]
    fn a_walk_with_several_needs_that_falls_back_turns_their_index_on() {
        let (a, b) = (1u128 << 120, 1u128 << 121);
        let classes: Vec<(u128, u64)> = (0..110u128)
            .map(|k| match k {
                0..100 if k % 2 == 0 => (1 << k | a, 90),
                0..100 => (1 << k | b, 90),
                _ => (1 << (k - 100) | 1 << 110 | a | b, 150),
            })
            .collect();
        let needs = CapabilitySet(a | b);
        fallback_turns_index_on(&classes, a | b, |m, tt| {
            m.book.get(tt).by_need_set.iter().any(|e| e.indexed && e.needs == needs)
        });
    }

    /// Requests with no, one or two needs and reputation floors of 0, 90 or 130 among 600
    /// classes, offers of providers of reputations 40 to 140 placed, taken and cancelled at
    /// random, in phases that fill and drain the book (floors make walks stream the serving
    /// buckets' heads past classes with none serving). Twelve need sets {1 + i, 13 + i} are
    /// each held by 20 classes that ask more, and their capabilities apart by 30 cheaper classes
    /// each: the capability and need-set indexes go on and off on demand, all 8 need-set slots
    /// fill, slots are reused, and the thresholds change twice mid-run. The market ends every
    /// step in the state of twins with the heads indexes never on and always (eagerly) on, its
    /// invariants holding.
    #[test]
    fn needs_indexes_on_demand_change_no_result() {
        let class = |k: u64| {
            let own = 1u128 << (30 + k % 90);
            let (i, j) = (k % 12, (k / 12) % 12);
            CapabilitySet(
                match k {
                    0..240 => 1 << (1 + i) | 1 << (13 + i),
                    _ if i == j => 1 << (1 + i) | 1 << (13 + (i + 1) % 12),
                    _ => 1 << (1 + i) | 1 << (13 + j),
                } | own,
            )
        };
        let (mut full, mut evicted, mut listed, mut unfiled) = (0, 0, 0, 0);
        for seed in 0..3u64 {
            let mut rng = SplitMix::seed_from_u64(seed);
            let day = 86_400_000;
            let config =
                MarketConfig { auction_window_ms: 365 * day, escrow_timeout_ms: 365 * day, ..MarketConfig::default() };
            let mut m = Market::new(config).unwrap();
            let tt = m.register_task_type("t").unwrap();
            // Reputations 40 to 140, so that request floors leave some classes no serving bucket.
            let providers: Vec<PeerId> = (0..6)
                .map(|i| {
                    let spec = PeerSpec {
                        account: Some(AccountId(i + 1)),
                        initial_reputation: Some(40.0 + 20.0 * i as f64),
                        ..PeerSpec::default()
                    };
                    m.register_peer(spec, 0).unwrap()
                })
                .collect();
            let r = m.register_peer(PeerSpec { endowment: 1 << 50, ..PeerSpec::default() }, 0).unwrap();
            let mut off = m.clone();
            off.set_heads_thresholds(usize::MAX, usize::MAX);
            let mut eager = m.clone();
            eager.set_heads_thresholds(0, 0);
            let mut resting: Vec<(OrderId, PeerId)> = Vec::new();
            let (mut was_on, mut went_on, mut went_off) = (0, 0, 0);
            let mut slots: Vec<(bool, CapabilitySet)> = Vec::new();
            for step in 0..6_000 {
                match step {
                    2_000 => m.set_heads_thresholds(30, 29),
                    3_000 => m.set_heads_thresholds(8, 2),
                    _ => {}
                }
                // Phases of 1,000 steps that fill the book and drain it, so that classes empty.
                let (place, request) = if step / 1_000 % 2 == 0 { (60, 92) } else { (15, 45) };
                let x = rng.below(0, 100);
                if x < place {
                    let p = providers[rng.below(0, 6) as usize];
                    let k = rng.below(0, 600);
                    let ask = if k < 240 { rng.below(100, 150) } else { rng.below(50, 110) };
                    let order = NewOrder::sell(p, ask, 1, ComputeTaskSpec::new(tt, class(k)));
                    let got: Vec<_> =
                        [&mut m, &mut off, &mut eager].into_iter().map(|w| w.place_order(order, 0)).collect();
                    assert!(got.iter().all(|g| *g == got[0]), "step {step}");
                    resting.push((got[0].clone().unwrap(), p));
                } else if x < request {
                    let i = rng.below(0, 12);
                    let needs = match rng.below(0, 6) {
                        0 => CapabilitySet::EMPTY,
                        1 => CapabilitySet(1 << (1 + i)),
                        _ => CapabilitySet(1 << (1 + i) | 1 << (13 + i)),
                    };
                    let mut spec = ComputeTaskSpec::new(tt, needs);
                    spec.min_reputation = [0.0, 0.0, 90.0, 130.0][rng.below(0, 4) as usize];
                    let order = NewOrder::buy(r, rng.below(60, 160), rng.below(1, 4), spec);
                    let got: Vec<_> =
                        [&mut m, &mut off, &mut eager].into_iter().map(|w| w.place_order(order, 0)).collect();
                    assert!(got.iter().all(|g| *g == got[0]), "step {step}");
                    if let Ok(id) = got[0] {
                        for w in [&mut m, &mut off, &mut eager] {
                            let _ = w.cancel_order(id, r, 0);
                        }
                    }
                } else if !resting.is_empty() {
                    let (id, p) = resting.swap_remove(rng.below(0, resting.len() as u64) as usize);
                    let got: Vec<_> =
                        [&mut m, &mut off, &mut eager].into_iter().map(|w| w.cancel_order(id, p, 0)).collect();
                    assert!(got.iter().all(|g| *g == got[0]), "step {step}");
                }
                assert_eq!(m.state_digest(), off.state_digest(), "seed {seed}, step {step}");
                assert_eq!(m.state_digest(), eager.state_digest(), "seed {seed}, step {step}");
                if step % 100 == 0 {
                    m.check_invariants().unwrap();
                    eager.check_invariants().unwrap();
                }
                let tb = m.book.get(tt);
                let now_filed = tb.by_need_set.iter().filter(|e| e.indexed).count();
                went_on += usize::from(now_filed > was_on);
                went_off += usize::from(now_filed < was_on);
                full += usize::from(tb.need_sets_on == crate::book::NEED_SETS);
                was_on = now_filed;
                let now: Vec<(bool, CapabilitySet)> = tb.by_need_set.iter().map(|e| (e.on, e.needs)).collect();
                evicted += now.iter().zip(&slots).filter(|(n, s)| n.0 && s.0 && n.1 != s.1).count();
                listed += tb.by_need_set.iter().filter(|e| e.on && !e.indexed && !e.live.is_empty()).count();
                slots = now;
            }
            m.check_invariants().unwrap();
            unfiled += m.unfiled_walks;
            assert!(m.head_fallbacks > 0, "seed {seed}: no walk fell back");
            assert!(
                went_on > crate::book::NEED_SETS && went_off > 2,
                "seed {seed}: need-set heads were filed {went_on} and unfiled {went_off} times"
            );
        }
        assert!(full > 0, "every need-set slot was never taken at once");
        assert!(evicted > 0 && listed > 0, "{evicted} idle entries evicted, {listed} listed without heads");
        assert!(unfiled > 0, "no walk read an entry without filed heads");
    }
}
