//! Each peer's open orders (requests with open auctions, resting offers) in the order they were
//! opened, as a doubly linked list threaded through the orders.
//!
//! The order of a peer's list is observable: [`crate::Market::open_orders`] shows it, and a ban
//! or a pause closes the peer's orders in that order (`close_open_orders`), which fixes the order
//! of their events. So removal must keep the order of the others, and a `Vec` paid for it with a
//! linear search and shift on every close (O(n) for a peer with n open orders). Each order now
//! has a link slot (indexed by order id, appended at placement like the rank keys); opening
//! appends at the tail and closing unlinks, both O(1) with no allocation, and walking the list
//! visits exactly the order the `Vec` held.

use crate::ids::{OrderId, PeerId};

/// "No order" in a link.
const NIL: u64 = u64::MAX;
/// The `prev` of an order that is in no list (not yet opened, or closed).
const UNLISTED: u64 = u64::MAX - 1;

/// One order's neighbours in its owner's list.
#[derive(Clone, Copy, Debug)]
struct Link {
    prev: u64,
    next: u64,
}

/// The two ends and length of one peer's list.
#[derive(Clone, Copy, Debug)]
struct Ends {
    head: Option<OrderId>,
    tail: Option<OrderId>,
    len: usize,
}

const NO_ORDERS: Ends = Ends { head: None, tail: None, len: 0 };

/// Every peer's list of open orders.
#[derive(Clone, Debug, Default)]
pub(crate) struct OpenLists {
    /// Indexed by order id.
    links: Vec<Link>,
    /// Indexed by peer id.
    peers: Vec<Ends>,
}

impl OpenLists {
    /// Makes room for the next peer id.
    pub fn add_peer(&mut self) {
        self.peers.push(NO_ORDERS);
    }

    /// Makes room for `orders` more order ids.
    pub fn reserve_orders(&mut self, orders: usize) {
        let _ = self.links.try_reserve_exact(orders);
    }

    /// Makes room for the next order id (in no list yet).
    pub fn add_order(&mut self) {
        self.links.push(Link { prev: UNLISTED, next: NIL });
    }

    /// Appends `id` to the end of `peer`'s list. O(1).
    pub fn push(&mut self, peer: PeerId, id: OrderId) {
        let ends = &mut self.peers[peer.index()];
        let prev = ends.tail.map_or(NIL, |t| t.0);
        self.links[id.index()] = Link { prev, next: NIL };
        match ends.tail {
            Some(t) => self.links[t.index()].next = id.0,
            None => ends.head = Some(id),
        }
        ends.tail = Some(id);
        ends.len += 1;
    }

    /// Unlinks `id` from `peer`'s list, keeping the order of the rest; false (and nothing
    /// changes) if it is not listed. O(1).
    pub fn remove(&mut self, peer: PeerId, id: OrderId) -> bool {
        let Some(&Link { prev, next }) = self.links.get(id.index()) else { return false };
        if prev == UNLISTED {
            return false;
        }
        let ends = &mut self.peers[peer.index()];
        match prev {
            NIL => ends.head = (next != NIL).then_some(OrderId(next)),
            p => self.links[p as usize].next = next,
        }
        match next {
            NIL => ends.tail = (prev != NIL).then_some(OrderId(prev)),
            n => self.links[n as usize].prev = prev,
        }
        ends.len -= 1;
        self.links[id.index()] = Link { prev: UNLISTED, next: NIL };
        true
    }

    /// The first open order of `peer`.
    #[inline]
    pub fn first(&self, peer: PeerId) -> Option<OrderId> {
        self.peers.get(peer.index()).and_then(|e| e.head)
    }

    /// The open order after `id` in its owner's list.
    #[inline]
    pub fn next(&self, id: OrderId) -> Option<OrderId> {
        self.links.get(id.index()).and_then(|l| (l.next != NIL && l.prev != UNLISTED).then_some(OrderId(l.next)))
    }

    /// A view of `peer`'s list (empty for an unknown peer).
    pub fn view(&self, peer: PeerId) -> OpenOrders<'_> {
        OpenOrders { lists: self, ends: self.peers.get(peer.index()).unwrap_or(&NO_ORDERS) }
    }
}

/// A peer's open orders (requests with open auctions and resting offers), in the order they
/// were opened, which is placement order. Answers `first`, `len` and `is_empty` in O(1);
/// iterating yields the ids by value.
#[derive(Clone, Copy)]
pub struct OpenOrders<'a> {
    lists: &'a OpenLists,
    ends: &'a Ends,
}

impl<'a> OpenOrders<'a> {
    /// The earliest open order.
    pub fn first(&self) -> Option<&'a OrderId> {
        self.ends.head.as_ref()
    }

    /// The latest open order.
    pub fn last(&self) -> Option<&'a OrderId> {
        self.ends.tail.as_ref()
    }

    /// Number of open orders.
    pub fn len(&self) -> usize {
        self.ends.len
    }

    /// True when the peer has no open order.
    pub fn is_empty(&self) -> bool {
        self.ends.len == 0
    }

    /// The open orders, earliest first.
    pub fn iter(&self) -> OpenOrdersIter<'a> {
        OpenOrdersIter { lists: self.lists, next: self.ends.head, left: self.ends.len }
    }

    /// The open orders, earliest first, in a `Vec`.
    pub fn to_vec(&self) -> Vec<OrderId> {
        self.iter().collect()
    }
}

impl std::fmt::Debug for OpenOrders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for OpenOrders<'a> {
    type Item = OrderId;
    type IntoIter = OpenOrdersIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over a peer's open orders, earliest first.
#[derive(Clone, Debug)]
pub struct OpenOrdersIter<'a> {
    lists: &'a OpenLists,
    next: Option<OrderId>,
    left: usize,
}

impl Iterator for OpenOrdersIter<'_> {
    type Item = OrderId;

    fn next(&mut self) -> Option<OrderId> {
        let id = self.next?;
        self.next = self.lists.next(id);
        self.left = self.left.saturating_sub(1);
        Some(id)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for OpenOrdersIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_in_any_order_keeps_the_rest_in_opening_order() {
        let mut l = OpenLists::default();
        l.add_peer();
        l.add_peer();
        let (a, b) = (PeerId(0), PeerId(1));
        let mut model: [Vec<OrderId>; 2] = [Vec::new(), Vec::new()];
        let mut x: u64 = 7;
        for i in 0..400u64 {
            l.add_order();
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let peer = if x >> 63 == 0 { a } else { b };
            // Some orders never open (filled at placement): they are in no list.
            if !(x >> 40).is_multiple_of(5) {
                l.push(peer, OrderId(i));
                model[peer.index()].push(OrderId(i));
            }
            // Close a pseudo-random open order now and then: head, tail or middle.
            if (x >> 20).is_multiple_of(3) && !model[peer.index()].is_empty() {
                let m = &mut model[peer.index()];
                let pos = ((x >> 8) as usize) % m.len();
                let id = m.remove(pos);
                assert!(l.remove(peer, id));
                assert!(!l.remove(peer, id), "a closed order is in no list");
            }
            for p in [a, b] {
                let v = l.view(p);
                assert_eq!(v.to_vec(), model[p.index()]);
                assert_eq!(v.len(), model[p.index()].len());
                assert_eq!(v.iter().len(), model[p.index()].len());
                assert_eq!(v.first(), model[p.index()].first());
                assert_eq!(v.last(), model[p.index()].last());
                assert_eq!(l.first(p), model[p.index()].first().copied());
            }
        }
        // Drain one peer from the tail, the other from the head.
        while let Some(&id) = l.view(a).last() {
            assert!(l.remove(a, id));
        }
        while let Some(&id) = l.view(b).first() {
            assert_eq!(l.next(id), l.view(b).iter().nth(1));
            assert!(l.remove(b, id));
        }
        assert!(l.view(a).is_empty() && l.view(b).is_empty());
        assert_eq!(l.view(PeerId(9)).len(), 0);
        assert!(!l.remove(a, OrderId(10_000)));
        // Lists reopen cleanly after being emptied.
        l.add_order();
        l.push(b, OrderId(400));
        assert_eq!(l.view(b).to_vec(), vec![OrderId(400)]);
        assert_eq!(l.next(OrderId(400)), None);
    }
}
