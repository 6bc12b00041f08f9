//! Ordered sets that share one pool of nodes, so that the books allocate nothing in the steady
//! state.
//!
//! A [`Forest`] is a pool of B+tree nodes; a [`Set`] is a 16-byte handle (root, first leaf,
//! height, length) to one tree in it. Every set of one key type in the offer book (the buckets
//! of every class, the quote indexes, the lanes) lives in one forest, and a node that a removal
//! frees goes on the forest's free list, where the next split of *any* set takes it. The pool's
//! `Vec`s grow by doubling only while the books as a whole reach a size they never held before,
//! so a book of steady size allocates nothing, where `std`'s `BTreeSet` allocates a fresh node
//! on every split even when a merge elsewhere has just freed one (BENCHMARKS.md,
//! "Allocations").
//!
//! The trees are B+trees: keys live in leaves of up to [`LEAF_CAP`] keys, doubly linked in key
//! order, so that the first key, the successor of a key and iteration read leaves directly.
//! Inner nodes hold up to [`INNER_CAP`] children and, for each child but the first, a lower
//! bound of its keys (every key of child `i` is at least `bounds[i]` and below `bounds[i + 1]`);
//! a bound need not be a key that is still present, so a removal never rewrites the bounds
//! above it. A node that empties is freed, and a node whose keys (or children) and a
//! neighbouring sibling's fit in half a node is merged into that sibling, so every pair of
//! adjacent siblings fills more than half a node: a set of n keys holds at most about
//! `4n / LEAF_CAP + height` nodes whatever the order of its inserts and removals. Every
//! operation is O(log n) with no allocation once the pool holds enough nodes; `first` is O(1).
//! Nodes are searched linearly, as `std`'s B-tree does: on 16 keys that beat a binary search by
//! 5 to 15 % on the matching streams (BENCHMARKS.md, "Book storage").
//!
//! All of this is storage: a set iterates in key order whatever its shape, so the layout of the
//! nodes never reaches a result. The tests compare every operation with `std`'s `BTreeSet` over
//! random sequences on many sets sharing one forest, and check the tree invariants after each.

/// Keys per leaf.
pub const LEAF_CAP: usize = 16;
/// Children per inner node.
pub const INNER_CAP: usize = 16;
/// Keys (or children) a node keeps after a split; two siblings merge when their sum is at most
/// this.
const HALF: usize = 8;
/// The deepest tree: 16^12 keys are more than memory holds.
const MAX_HEIGHT: usize = 12;
/// No node.
const NIL: u32 = u32::MAX;

/// One ordered set in a [`Forest`]: copy it freely, but pass it back only to the forest that
/// made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Set {
    root: u32,
    first: u32,
    len: u32,
    height: u8,
}

impl Default for Set {
    fn default() -> Self {
        Set { root: NIL, first: NIL, len: 0, height: 0 }
    }
}

impl Set {
    /// Number of keys.
    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// No key.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A place in one set's key order, detached from the forest so that a walk can hold it while it
/// changes other state: [`Forest::step`] reads the key there and moves on, O(1) (the leaves are
/// linked). It is valid only while its set is unchanged, since an insert or a removal can move
/// keys between nodes; the request walks that hold one change no set until they are done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    leaf: u32,
    at: u32,
}

impl Default for Pos {
    /// The end of any set.
    fn default() -> Self {
        Pos { leaf: NIL, at: 0 }
    }
}

/// The header first (`repr(C)`), so that a node's length and its first keys share a cache line.
#[derive(Clone, Debug)]
#[repr(C)]
struct Leaf<K> {
    len: u8,
    /// Previous and next leaf of the same set in key order; `next` links the free list.
    prev: u32,
    next: u32,
    keys: [K; LEAF_CAP],
}

#[derive(Clone, Debug)]
#[repr(C)]
struct Inner<K> {
    len: u8,
    /// `children[0]` links the free list.
    children: [u32; INNER_CAP],
    /// `bounds[i]` bounds the keys of `children[i]` from below, for `i ≥ 1`.
    bounds: [K; INNER_CAP],
}

/// A pool of nodes holding any number of ordered [`Set`]s of keys `K`.
#[derive(Debug)]
pub struct Forest<K> {
    leaves: Vec<Leaf<K>>,
    inners: Vec<Inner<K>>,
    free_leaf: u32,
    free_inner: u32,
    /// Nodes in some set (the others are on the free lists).
    live_leaves: usize,
    live_inners: usize,
}

impl<K: Copy + Ord + Default> Default for Forest<K> {
    fn default() -> Self {
        Forest {
            leaves: Vec::new(),
            inners: Vec::new(),
            free_leaf: NIL,
            free_inner: NIL,
            live_leaves: 0,
            live_inners: 0,
        }
    }
}

/// A copy keeps the pool's spare capacity (what [`Forest::reserve`] made room for, or what
/// doubling left): a copied market then grows its books as the original would, without first
/// reallocating (and copying) the whole pool at its first split.
impl<K: Clone> Clone for Forest<K> {
    fn clone(&self) -> Self {
        let mut leaves = Vec::with_capacity(self.leaves.capacity());
        leaves.extend_from_slice(&self.leaves);
        let mut inners = Vec::with_capacity(self.inners.capacity());
        inners.extend_from_slice(&self.inners);
        Forest { leaves, inners, ..*self }
    }
}

/// The path from a root to a leaf: per inner level, the node and the child taken.
type Path = [(u32, u8); MAX_HEIGHT];

impl<K: Copy + Ord + Default> Forest<K> {
    /// The smallest key.
    #[inline]
    pub fn first(&self, set: &Set) -> Option<K> {
        (set.first != NIL).then(|| self.leaves[set.first as usize].keys[0])
    }

    /// The smallest key above `after`.
    #[inline]
    pub fn next_after(&self, set: &Set, after: K) -> Option<K> {
        if set.root == NIL {
            return None;
        }
        let mut node = set.root;
        for _ in 0..set.height {
            let inner = &self.inners[node as usize];
            node = inner.children[child_for(inner, &after)];
        }
        let leaf = &self.leaves[node as usize];
        let keys = &leaf.keys[..leaf.len as usize];
        let at = keys.iter().take_while(|k| **k <= after).count();
        match keys.get(at) {
            Some(&k) => Some(k),
            None => (leaf.next != NIL).then(|| self.leaves[leaf.next as usize].keys[0]),
        }
    }

    /// The smallest key, or the smallest above `after`.
    #[inline]
    pub fn next(&self, set: &Set, after: Option<K>) -> Option<K> {
        match after {
            None => self.first(set),
            Some(k) => self.next_after(set, k),
        }
    }

    /// True if `key` is in the set.
    pub fn contains(&self, set: &Set, key: &K) -> bool {
        if set.root == NIL {
            return false;
        }
        let mut node = set.root;
        for _ in 0..set.height {
            let inner = &self.inners[node as usize];
            node = inner.children[child_for(inner, key)];
        }
        let leaf = &self.leaves[node as usize];
        search(&leaf.keys[..leaf.len as usize], key).is_ok()
    }

    /// The keys in ascending order.
    pub fn iter<'a>(&'a self, set: &Set) -> Iter<'a, K> {
        Iter { forest: self, pos: self.start(set) }
    }

    /// The place of the smallest key of `set` (or its end, if empty).
    #[inline]
    pub fn start(&self, set: &Set) -> Pos {
        Pos { leaf: set.first, at: 0 }
    }

    /// The key at `pos`, moving `pos` to the next one; `None` at the end. `pos` must come from
    /// [`Forest::start`] on a set unchanged since.
    #[inline]
    pub fn step(&self, pos: &mut Pos) -> Option<K> {
        if pos.leaf == NIL {
            return None;
        }
        let leaf = &self.leaves[pos.leaf as usize];
        let k = leaf.keys[pos.at as usize];
        pos.at += 1;
        if pos.at == leaf.len as u32 {
            pos.leaf = leaf.next;
            pos.at = 0;
        }
        Some(k)
    }

    /// Adds `key`; false if it was there.
    pub fn insert(&mut self, set: &mut Set, key: K) -> bool {
        if set.root == NIL {
            let l = self.new_leaf();
            let leaf = &mut self.leaves[l as usize];
            leaf.keys[0] = key;
            leaf.len = 1;
            *set = Set { root: l, first: l, len: 1, height: 0 };
            return true;
        }
        let mut path = [(NIL, 0u8); MAX_HEIGHT];
        let leaf_id = self.descend(set, &key, &mut path);
        let leaf = &mut self.leaves[leaf_id as usize];
        let len = leaf.len as usize;
        let at = match search(&leaf.keys[..len], &key) {
            Ok(_) => return false,
            Err(at) => at,
        };
        set.len += 1;
        if len < LEAF_CAP {
            leaf.keys.copy_within(at..len, at + 1);
            leaf.keys[at] = key;
            leaf.len += 1;
            return true;
        }
        // Split: the upper half moves to a new leaf linked after this one.
        let right = self.new_leaf();
        let next = self.leaves[leaf_id as usize].next;
        {
            let (l, r) = two(&mut self.leaves, leaf_id, right);
            r.keys[..LEAF_CAP - HALF].copy_from_slice(&l.keys[HALF..]);
            r.len = (LEAF_CAP - HALF) as u8;
            l.len = HALF as u8;
            r.prev = leaf_id;
            r.next = next;
            l.next = right;
            let (side, at) = if at <= HALF { (l, at) } else { (r, at - HALF) };
            let n = side.len as usize;
            side.keys.copy_within(at..n, at + 1);
            side.keys[at] = key;
            side.len += 1;
        }
        if next != NIL {
            self.leaves[next as usize].prev = right;
        }
        let bound = self.leaves[right as usize].keys[0];
        self.insert_child(set, &path, bound, right);
        true
    }

    /// Removes `key`; false if it was not there.
    pub fn remove(&mut self, set: &mut Set, key: &K) -> bool {
        if set.root == NIL {
            return false;
        }
        let mut path = [(NIL, 0u8); MAX_HEIGHT];
        let leaf_id = self.descend(set, key, &mut path);
        let leaf = &mut self.leaves[leaf_id as usize];
        let len = leaf.len as usize;
        let Ok(at) = search(&leaf.keys[..len], key) else { return false };
        leaf.keys.copy_within(at + 1..len, at);
        leaf.len -= 1;
        set.len -= 1;
        let height = set.height as usize;
        if height == 0 {
            if set.len == 0 {
                self.free_leaf(leaf_id);
                *set = Set::default();
            }
            return true;
        }
        // The leaf's parent and its place there.
        let (parent, i) = path[height - 1];
        let left = self.leaves[leaf_id as usize].len as usize;
        let gone = if left == 0 {
            self.unlink_leaf(set, leaf_id);
            Some(i as usize)
        } else if left < HALF {
            self.merge_leaf(set, parent, i as usize)
        } else {
            None // no sibling (of at least one key) fits beside it in half a leaf
        };
        if let Some(child) = gone {
            self.remove_child(set, &path, height - 1, child);
        }
        true
    }

    /// Removes and returns the smallest key.
    pub fn pop_first(&mut self, set: &mut Set) -> Option<K> {
        let k = self.first(set)?;
        self.remove(set, &k);
        Some(k)
    }

    /// Removes every key, returning the set's nodes to the pool.
    pub fn clear(&mut self, set: &mut Set) {
        if set.root != NIL {
            self.free_tree(set.root, set.height);
        }
        *set = Set::default();
    }

    /// Makes room for `keys` more keys spread over at most `sets` sets without allocating:
    /// nodes for the worst shape the merges allow, a leaf per `HALF / 2` keys of a set plus one
    /// more per set (a set of one key holds a whole leaf), and an inner node per two leaves (a
    /// root over two leaves).
    pub fn reserve(&mut self, keys: usize, sets: usize) {
        let leaves = keys.div_ceil(HALF / 2).saturating_add(sets.min(keys));
        let _ = self.leaves.try_reserve_exact(leaves);
        let _ = self.inners.try_reserve_exact(leaves.div_ceil(2));
    }

    /// Nodes in use and on the free list: `(leaves, inner nodes)` allocated in all.
    #[cfg(test)]
    pub fn capacity_nodes(&self) -> (usize, usize) {
        (self.leaves.len(), self.inners.len())
    }

    /// Bytes of the nodes in some set, and of every node the pool holds (the free ones too).
    pub fn node_bytes(&self) -> (usize, usize) {
        let (leaf, inner) = (size_of::<Leaf<K>>(), size_of::<Inner<K>>());
        (self.live_leaves * leaf + self.live_inners * inner, self.leaves.len() * leaf + self.inners.len() * inner)
    }

    #[inline]
    fn descend(&self, set: &Set, key: &K, path: &mut Path) -> u32 {
        let mut node = set.root;

        for slot in path.iter_mut().take(set.height as usize) {
            let inner = &self.inners[node as usize];
            let i = child_for(inner, key);
            *slot = (node, i as u8);
            node = inner.children[i];
        }
        node
    }

    /// Files `child` (whose keys are all at least `bound`) right after the child the path took
    /// at the deepest inner level, splitting full nodes upward and growing a new root at the top.
    fn insert_child(&mut self, set: &mut Set, path: &Path, mut bound: K, mut child: u32) {
        for level in (0..set.height as usize).rev() {
            let (node, i) = path[level];
            let at = i as usize + 1;
            let inner = &mut self.inners[node as usize];
            let len = inner.len as usize;
            if len < INNER_CAP {
                inner.bounds.copy_within(at..len, at + 1);
                inner.children.copy_within(at..len, at + 1);
                inner.bounds[at] = bound;
                inner.children[at] = child;
                inner.len += 1;
                return;
            }
            // Split: the node keeps the first HALF children, a new node takes the rest.
            let right = self.new_inner();
            let (l, r) = two(&mut self.inners, node, right);
            let mut bounds = [K::default(); INNER_CAP + 1];
            let mut children = [NIL; INNER_CAP + 1];
            bounds[..at].copy_from_slice(&l.bounds[..at]);
            children[..at].copy_from_slice(&l.children[..at]);
            bounds[at] = bound;
            children[at] = child;
            bounds[at + 1..].copy_from_slice(&l.bounds[at..]);
            children[at + 1..].copy_from_slice(&l.children[at..]);
            let keep = INNER_CAP.div_ceil(2);
            l.bounds[..keep].copy_from_slice(&bounds[..keep]);
            l.children[..keep].copy_from_slice(&children[..keep]);
            l.len = keep as u8;
            let moved = INNER_CAP + 1 - keep;
            r.bounds[..moved].copy_from_slice(&bounds[keep..]);
            r.children[..moved].copy_from_slice(&children[keep..]);
            r.len = moved as u8;
            bound = bounds[keep];
            child = right;
        }
        assert!((set.height as usize) < MAX_HEIGHT, "a set deeper than {MAX_HEIGHT} levels");
        let root = self.new_inner();
        let r = &mut self.inners[root as usize];
        r.children[0] = set.root;
        r.children[1] = child;
        r.bounds[1] = bound;
        r.len = 2;
        set.root = root;
        set.height += 1;
    }

    /// Removes child `child` (already freed) of the inner node at `level` of the path, then
    /// frees or merges that node if it became empty or small, up to the root.
    fn remove_child(&mut self, set: &mut Set, path: &Path, level: usize, child: usize) {
        let (mut level, mut child) = (level, child);
        loop {
            let node = path[level].0;
            let inner = &mut self.inners[node as usize];
            let len = inner.len as usize;
            // Child 0 has no lower bound: the next child takes its place and loses its own.
            let b = child.max(1);
            if b < len {
                inner.bounds.copy_within(b + 1..len, b);
            }
            inner.children.copy_within(child + 1..len, child);
            inner.len -= 1;
            let gone = if level == 0 {
                None
            } else if inner.len == 0 {
                self.free_inner(node);
                Some(path[level - 1].1 as usize)
            } else {
                // The children of `node` are leaves at the last level.
                let child_height = set.height - 1 - level as u8;
                self.merge_inner(set, path[level - 1].0, path[level - 1].1 as usize, child_height)
            };
            match gone {
                Some(c) => {
                    level -= 1;
                    child = c;
                }
                None => break,
            }
        }
        if set.len == 0 {
            // The last leaf went, and with it every inner node but the root.
            self.free_inner(set.root);
            *set = Set::default();
            return;
        }
        // A root with one child hands the set to that child.
        while set.height > 0 && self.inners[set.root as usize].len == 1 {
            let old = set.root;
            set.root = self.inners[old as usize].children[0];
            set.height -= 1;
            self.free_inner(old);
        }
    }

    /// Merges leaf child `i` of `parent` with a sibling when both fit in half a leaf; returns the
    /// index (in `parent`) of the leaf that was merged away and freed.
    fn merge_leaf(&mut self, set: &mut Set, parent: u32, i: usize) -> Option<usize> {
        let p = &self.inners[parent as usize];
        let (left, right, gone) = self.sibling_pair(p, i, |c| self.leaves[c as usize].len as usize)?;
        self.absorb_leaf(set, left, right);
        Some(gone)
    }

    /// Merges inner child `i` of `parent` (whose own children are `child_height` levels above
    /// the leaves, 0 for leaves) with a sibling when both fit in half a node; returns the index
    /// (in `parent`) of the node that was merged away and freed.
    fn merge_inner(&mut self, set: &mut Set, parent: u32, i: usize, child_height: u8) -> Option<usize> {
        let p = &self.inners[parent as usize];
        let (left, right, gone) = self.sibling_pair(p, i, |c| self.inners[c as usize].len as usize)?;
        let between = self.inners[parent as usize].bounds[gone];
        self.absorb_inner(set, left, right, between, child_height);
        Some(gone)
    }

    /// Merges children `i - 1` and `i` of inner node `node` (children `child_height` levels
    /// above the leaves) when they fit in half a node, and so on down the seam between them.
    /// Two nodes become siblings only when their parents merge; each neighbour of the merged
    /// node keeps a sum above half a node (the merged node holds at least what either half
    /// held), so no other pair needs a look: adjacent siblings always fill more than half a node.
    fn merge_seam(&mut self, set: &mut Set, node: u32, i: usize, child_height: u8) {
        let (a, b) = (self.inners[node as usize].children[i - 1], self.inners[node as usize].children[i]);
        let size = |c: u32| {
            if child_height == 0 { self.leaves[c as usize].len as usize } else { self.inners[c as usize].len as usize }
        };
        if size(a) + size(b) > HALF {
            return;
        }
        if child_height == 0 {
            self.absorb_leaf(set, a, b);
        } else {
            let between = self.inners[node as usize].bounds[i];
            self.absorb_inner(set, a, b, between, child_height - 1);
        }
        let inner = &mut self.inners[node as usize];
        let len = inner.len as usize;
        inner.bounds.copy_within(i + 1..len, i);
        inner.children.copy_within(i + 1..len, i);
        inner.len -= 1;
    }

    /// Moves the keys of leaf `right` to the end of its left neighbour `left`, then unlinks and
    /// frees `right` (its parent still lists it).
    fn absorb_leaf(&mut self, set: &mut Set, left: u32, right: u32) {
        let (l, r) = two(&mut self.leaves, left, right);
        let (ln, rn) = (l.len as usize, r.len as usize);
        l.keys[ln..ln + rn].copy_from_slice(&r.keys[..rn]);
        l.len = (ln + rn) as u8;
        r.len = 0;
        self.unlink_leaf(set, right);
    }

    /// Moves the children of inner node `right` (whose lower bound in their parent is
    /// `between`) to the end of its left sibling `left` and frees `right` (its parent still
    /// lists it); their children are `child_height` levels above the leaves. Then merges the
    /// seam: `left`'s last child and `right`'s first are now siblings.
    fn absorb_inner(&mut self, set: &mut Set, left: u32, right: u32, between: K, child_height: u8) {
        let (l, r) = two(&mut self.inners, left, right);
        let (ln, rn) = (l.len as usize, r.len as usize);
        l.bounds[ln..ln + rn].copy_from_slice(&r.bounds[..rn]);
        l.children[ln..ln + rn].copy_from_slice(&r.children[..rn]);
        // The right node's lower bound becomes the bound of its first child.
        l.bounds[ln] = between;
        l.len = (ln + rn) as u8;
        self.free_inner(right);
        self.merge_seam(set, left, ln, child_height);
    }

    /// The sibling pair `(left, right, index of right)` of child `i` of `p` that fits in half a
    /// node (the left sibling first), if any.
    fn sibling_pair(&self, p: &Inner<K>, i: usize, size: impl Fn(u32) -> usize) -> Option<(u32, u32, usize)> {
        let len = p.len as usize;
        let mine = size(p.children[i]);
        if i > 0 && mine + size(p.children[i - 1]) <= HALF {
            return Some((p.children[i - 1], p.children[i], i));
        }
        if i + 1 < len && mine + size(p.children[i + 1]) <= HALF {
            return Some((p.children[i], p.children[i + 1], i + 1));
        }
        None
    }

    /// Takes an emptied leaf out of its set's list of leaves and frees it.
    fn unlink_leaf(&mut self, set: &mut Set, leaf: u32) {
        let (prev, next) = (self.leaves[leaf as usize].prev, self.leaves[leaf as usize].next);
        if prev == NIL {
            set.first = next;
        } else {
            self.leaves[prev as usize].next = next;
        }
        if next != NIL {
            self.leaves[next as usize].prev = prev;
        }
        self.free_leaf(leaf);
    }

    fn free_tree(&mut self, node: u32, height: u8) {
        if height == 0 {
            self.free_leaf(node);
            return;
        }
        for c in 0..self.inners[node as usize].len as usize {
            let child = self.inners[node as usize].children[c];
            self.free_tree(child, height - 1);
        }
        self.free_inner(node);
    }

    fn new_leaf(&mut self) -> u32 {
        self.live_leaves += 1;
        if self.free_leaf == NIL {
            self.leaves.push(Leaf { keys: [K::default(); LEAF_CAP], len: 0, prev: NIL, next: NIL });
            return (self.leaves.len() - 1) as u32;
        }
        // A freed leaf's keys are past its length: only the header is reset.
        let l = self.free_leaf;
        let leaf = &mut self.leaves[l as usize];
        self.free_leaf = leaf.next;
        (leaf.len, leaf.prev, leaf.next) = (0, NIL, NIL);
        l
    }

    fn free_leaf(&mut self, l: u32) {
        self.live_leaves -= 1;
        let leaf = &mut self.leaves[l as usize];
        leaf.len = 0;
        leaf.prev = NIL;
        leaf.next = self.free_leaf;
        self.free_leaf = l;
    }

    fn new_inner(&mut self) -> u32 {
        self.live_inners += 1;
        if self.free_inner == NIL {
            self.inners.push(Inner { bounds: [K::default(); INNER_CAP], children: [NIL; INNER_CAP], len: 0 });
            return (self.inners.len() - 1) as u32;
        }
        let n = self.free_inner;
        let inner = &mut self.inners[n as usize];
        self.free_inner = inner.children[0];
        inner.len = 0;
        n
    }

    fn free_inner(&mut self, n: u32) {
        self.live_inners -= 1;
        let inner = &mut self.inners[n as usize];
        inner.len = 0;
        inner.children[0] = self.free_inner;
        self.free_inner = n;
    }
}

/// The child of `inner` whose range holds `key`: the last child whose lower bound is at most
/// `key` (child 0 has none).
#[inline]
fn child_for<K: Ord>(inner: &Inner<K>, key: &K) -> usize {
    // A linear count: at most 15 bounds, predictable branches (as `std`'s B-tree searches).
    inner.bounds[1..inner.len as usize].iter().take_while(|b| *b <= key).count()
}

/// Where `key` is in the ascending `keys` (`Ok`) or would go (`Err`): a linear scan, which
/// beats a binary search on a node's few keys.
#[inline]
fn search<K: Ord>(keys: &[K], key: &K) -> Result<usize, usize> {
    for (i, k) in keys.iter().enumerate() {
        match k.cmp(key) {
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Equal => return Ok(i),
            std::cmp::Ordering::Greater => return Err(i),
        }
    }
    Err(keys.len())
}

/// Two distinct elements of a slice, mutably.
fn two<T>(v: &mut [T], a: u32, b: u32) -> (&mut T, &mut T) {
    let (a, b) = (a as usize, b as usize);
    debug_assert_ne!(a, b);
    if a < b {
        let (lo, hi) = v.split_at_mut(b);
        (&mut lo[a], &mut hi[0])
    } else {
        let (lo, hi) = v.split_at_mut(a);
        (&mut hi[0], &mut lo[b])
    }
}

/// The keys of a [`Set`] in ascending order.
pub struct Iter<'a, K> {
    forest: &'a Forest<K>,
    pos: Pos,
}

impl<K: Copy + Ord + Default> Iterator for Iter<'_, K> {
    type Item = K;

    #[inline]
    fn next(&mut self) -> Option<K> {
        self.forest.step(&mut self.pos)
    }
}

#[cfg(test)]
impl<K: Copy + Ord + Default + std::fmt::Debug> Forest<K> {
    /// Checks one set's tree: sorted keys within the bounds, the leaf list in key order, no
    /// empty node, adjacent siblings fuller than half a node, the length; returns its nodes.
    fn check(&self, set: &Set) -> usize {
        if set.root == NIL {
            assert_eq!((set.len, set.first, set.height), (0, NIL, 0));
            return 0;
        }
        let mut leaves = Vec::new();
        let nodes = self.check_node(set.root, set.height, None, None, &mut leaves);
        assert_eq!(set.first, leaves[0]);
        let mut prev = NIL;
        let mut total = 0;
        for (j, &l) in leaves.iter().enumerate() {
            let leaf = &self.leaves[l as usize];
            assert_eq!(leaf.prev, prev, "leaf links");
            assert_eq!(leaf.next, leaves.get(j + 1).copied().unwrap_or(NIL), "leaf links");
            total += leaf.len as usize;
            prev = l;
        }
        let keys: Vec<K> = self.iter(set).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys ascend");
        assert_eq!(total, set.len as usize);
        assert_eq!(keys.len(), set.len as usize);
        nodes
    }

    fn check_node(&self, node: u32, height: u8, lo: Option<K>, hi: Option<K>, leaves: &mut Vec<u32>) -> usize {
        if height == 0 {
            let leaf = &self.leaves[node as usize];
            assert!(leaf.len > 0, "empty leaf");
            for k in &leaf.keys[..leaf.len as usize] {
                assert!(lo.is_none_or(|lo| lo <= *k) && hi.is_none_or(|hi| *k < hi), "key {k:?} out of its bounds");
            }
            leaves.push(node);
            return 1;
        }
        let inner = &self.inners[node as usize];
        let len = inner.len as usize;
        assert!(len > 0, "empty inner node");
        let size = |c: u32| {
            if height == 1 { self.leaves[c as usize].len as usize } else { self.inners[c as usize].len as usize }
        };
        let mut nodes = 1;
        for c in 0..len {
            if c + 1 < len {
                assert!(size(inner.children[c]) + size(inner.children[c + 1]) > HALF, "siblings left unmerged");
                assert!(inner.bounds[c + 1] > inner.bounds[c.max(1)] || c == 0, "bounds ascend");
            }
            let clo = if c == 0 { lo } else { Some(inner.bounds[c]) };
            let chi = if c + 1 < len { Some(inner.bounds[c + 1]) } else { hi };
            nodes += self.check_node(inner.children[c], height - 1, clo, chi, leaves);
        }
        nodes
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    /// Live nodes of every set, plus the free list, equal the nodes the forest holds.
    fn free_count<K>(f: &Forest<K>) -> (usize, usize) {
        let (mut leaves, mut inners) = (0, 0);
        let mut l = f.free_leaf;
        while l != NIL {
            leaves += 1;
            l = f.leaves[l as usize].next;
        }
        let mut n = f.free_inner;
        while n != NIL {
            inners += 1;
            n = f.inners[n as usize].children[0];
        }
        (leaves, inners)
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(usize, u16),
        Remove(usize, u16),
        PopFirst(usize),
        Clear(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..4usize, 0..2000u16).prop_map(|(s, k)| Op::Insert(s, k)),
            5 => (0..4usize, 0..2000u16).prop_map(|(s, k)| Op::Remove(s, k)),
            1 => (0..4usize).prop_map(Op::PopFirst),
            1 => (0..4usize).prop_map(Op::Clear),
        ]
    }

    fn agree(f: &Forest<u16>, sets: &[Set], model: &[BTreeSet<u16>], probe: u16) {
        let mut nodes = 0;
        for (s, m) in sets.iter().zip(model) {
            nodes += f.check(s);
            assert_eq!(f.iter(s).collect::<Vec<_>>(), m.iter().copied().collect::<Vec<_>>());
            assert_eq!(f.first(s), m.first().copied());
            assert_eq!(f.next_after(s, probe), m.range(probe + 1..).next().copied());
            assert_eq!(f.contains(s, &probe), m.contains(&probe));
            assert_eq!(s.len(), m.len());
        }
        let (free_l, free_i) = free_count(f);
        let (all_l, all_i) = f.capacity_nodes();
        assert_eq!(nodes + free_l + free_i, all_l + all_i, "every node is in a set or free");
        assert_eq!(f.live_leaves + f.live_inners, nodes, "live node count");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Deep sets (heights up to 3) drained in random order: inner nodes merge, the root
        /// collapses, and every step agrees with `BTreeSet`.
        #[test]
        fn deep_random_drains_agree(keys in prop::collection::vec(0..1_000_000u32, 1..8000), seed in any::<u64>()) {
            let (mut f, mut s, mut model) = (Forest::<u32>::default(), Set::default(), BTreeSet::new());
            for &k in &keys {
                prop_assert_eq!(f.insert(&mut s, k), model.insert(k));
            }
            let mut order: Vec<u32> = model.iter().copied().collect();
            let mut x = seed | 1;
            for i in (1..order.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            for (j, k) in order.iter().enumerate() {
                prop_assert!(f.remove(&mut s, k));
                model.remove(k);
                if j % 7 == 0 || model.len() < 300 {
                    f.check(&s);
                    prop_assert_eq!(f.next_after(&s, *k), model.range(k + 1..).next().copied());
                }
            }
            prop_assert_eq!(s, Set::default());
            prop_assert_eq!((f.live_leaves, f.live_inners), (0, 0));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Four sets sharing one forest agree with four `BTreeSet`s after every operation.
        #[test]
        fn sets_agree_with_btreeset(ops in prop::collection::vec(op(), 1..3000), probe in 0..2000u16) {
            let mut f = Forest::<u16>::default();
            let mut sets = [Set::default(); 4];
            let mut model: [BTreeSet<u16>; 4] = Default::default();
            for (j, op) in ops.iter().enumerate() {
                match *op {
                    Op::Insert(s, k) => prop_assert_eq!(f.insert(&mut sets[s], k), model[s].insert(k)),
                    Op::Remove(s, k) => prop_assert_eq!(f.remove(&mut sets[s], &k), model[s].remove(&k)),
                    Op::PopFirst(s) => prop_assert_eq!(f.pop_first(&mut sets[s]), model[s].pop_first()),
                    Op::Clear(s) if j % 50 == 0 => {
                        f.clear(&mut sets[s]);
                        model[s].clear();
                    }
                    Op::Clear(_) => {}
                }
                if j % 97 == 0 {
                    agree(&f, &sets, &model, probe);
                }
            }
            agree(&f, &sets, &model, probe);
        }
    }

    #[test]
    fn deep_sets_grow_shrink_and_reuse_their_nodes() {
        let mut f = Forest::<u32>::default();
        let mut s = Set::default();
        let mut t = Set::default();
        // Ascending, descending and interleaved inserts: a tree of several levels.
        for k in 0..20_000u32 {
            assert!(f.insert(&mut s, k * 3));
            assert!(f.insert(&mut t, 60_000 - k * 3));
        }
        assert!(!f.insert(&mut s, 300));
        assert!(s.height >= 3, "height {}", s.height);
        assert_eq!(f.check(&s) + f.check(&t), f.capacity_nodes().0 + f.capacity_nodes().1);
        assert_eq!(f.next_after(&s, 301), Some(303));
        assert_eq!(f.next_after(&s, 59_997), None);
        // Drain s by its odd keys, then its first keys: nodes go to the free list ...
        for k in (0..20_000u32).filter(|k| k % 2 == 1) {
            assert!(f.remove(&mut s, &(k * 3)));
        }
        f.check(&s);
        while f.pop_first(&mut s).is_some() {}
        assert_eq!(s, Set::default());
        let held = f.capacity_nodes();
        // ... and t's growth takes them back: the pool does not grow.
        for k in 0..15_000u32 {
            assert!(f.insert(&mut t, 1_000_000 + k));
        }
        f.check(&t);
        assert_eq!(f.capacity_nodes(), held, "a freed node is reused before the pool grows");
        f.clear(&mut t);
        let (free_l, free_i) = free_count(&f);
        assert_eq!((free_l, free_i), held, "clear frees every node");
    }

    /// Two inner nodes that merge make their edge children siblings: the seam merges too (a
    /// sequence found by review, which left two one-key leaves side by side).
    #[test]
    fn merged_inner_nodes_leave_no_small_seam() {
        let mut f = Forest::<u32>::default();
        let mut s = Set::default();
        for k in 0..137u32 {
            f.insert(&mut s, k);
        }
        assert_eq!(s.height, 2);
        for r in [8..16, 24..32, 40..56, 57..64, 65..72, 80..88, 96..104, 112..137u32] {
            for k in r {
                assert!(f.remove(&mut s, &k));
                f.check(&s);
            }
        }
        assert_eq!(s.len(), 50);
    }

    #[test]
    fn reserve_covers_many_tiny_sets() {
        let mut f = Forest::<u32>::default();
        f.reserve(1000, 1000);
        let cap = (f.leaves.capacity(), f.inners.capacity());
        let mut sets = vec![Set::default(); 1000];
        for (i, s) in sets.iter_mut().enumerate() {
            f.insert(s, i as u32);
        }
        // And a few deep sets' worth of keys in one set.
        let mut deep = Set::default();
        f.clear(&mut sets[0]);
        for k in 0..999u32 {
            f.insert(&mut deep, k);
        }
        assert_eq!((f.leaves.capacity(), f.inners.capacity()), cap, "reserve made room for every node");
    }

    #[test]
    fn sparse_removals_keep_the_tree_compact() {
        let mut f = Forest::<u32>::default();
        let mut s = Set::default();
        for k in 0..100_000u32 {
            f.insert(&mut s, k);
        }
        // Keep one key in 16: a tree without merges would keep one leaf per remaining key.
        for k in (0..100_000u32).filter(|k| k % 16 != 0) {
            f.remove(&mut s, &k);
        }
        let nodes = f.check(&s);
        assert_eq!(s.len(), 6250);
        assert!(nodes <= 4 * s.len() / LEAF_CAP + 2 * usize::from(s.height) + 4, "{nodes} nodes for {} keys", s.len());
    }
}
