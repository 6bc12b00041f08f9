//! Interned task types and capabilities.
//!
//! A capability set is a 128-bit set, so "the request's needs are a subset of the offer's
//! capabilities" is one AND. Names are interned once by a [`Vocabulary`]; the engine itself works
//! on indices only. Capability 0 is always `confidential`, the attestation that §8 of the rules
//! requires for confidential tasks.
//!
//! An index outside `0..128` is refused with [`MarketError::CapabilityOutOfRange`] by
//! [`CapabilitySet::single`] and [`CapabilitySet::with`] (it was once taken modulo 128 in release
//! builds, turning capability 200 into capability 72); [`CapabilitySet::contains`] answers `false`
//! for it.
//!
//! Interning and looking up a name is one ordered-map lookup: O(log n) comparisons for n names
//! (it was a linear scan comparing every name). A `BTreeMap` rather than a hash map, as the
//! engine's determinism contract asks (`engine/clippy.toml`), though the maps serve lookups only:
//! ids are dense and assigned in the order names are first seen, and every listing iterates the
//! id-ordered `Vec`s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::MarketError;
use crate::ids::TaskTypeId;

/// The most capabilities a vocabulary can hold.
pub const MAX_CAPABILITIES: usize = 128;
/// The name of the attestation capability required for confidential tasks (always index 0).
pub const CONFIDENTIAL: &str = "confidential";

/// A set of capabilities, one bit per interned capability.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CapabilitySet(pub u128);

impl CapabilitySet {
    /// The empty set.
    pub const EMPTY: CapabilitySet = CapabilitySet(0);

    /// A set holding the single capability `index`, or an error for an index outside `0..128`.
    #[inline]
    pub fn single(index: u8) -> Result<Self, MarketError> {
        CapabilitySet::EMPTY.with(index)
    }

    /// The set with capability `index` added, or an error for an index outside `0..128`.
    #[inline]
    pub fn with(self, index: u8) -> Result<Self, MarketError> {
        if (index as usize) < MAX_CAPABILITIES {
            Ok(CapabilitySet(self.0 | (1u128 << index)))
        } else {
            Err(MarketError::CapabilityOutOfRange(index))
        }
    }

    /// True when every capability of `self` is also in `other`.
    #[inline]
    pub fn is_subset_of(self, other: CapabilitySet) -> bool {
        self.0 & !other.0 == 0
    }

    /// True when the set holds capability `index` (always false outside `0..128`).
    #[inline]
    pub fn contains(self, index: u8) -> bool {
        (index as usize) < MAX_CAPABILITIES && self.0 & (1u128 << index) != 0
    }

    /// Union of two sets.
    #[inline]
    pub fn union(self, other: CapabilitySet) -> Self {
        CapabilitySet(self.0 | other.0)
    }

    /// Number of capabilities in the set.
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// True when the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The indices in the set, ascending.
    pub fn indices(self) -> impl Iterator<Item = u8> {
        (0..MAX_CAPABILITIES as u8).filter(move |&i| self.contains(i))
    }
}

/// The names of task types and capabilities, interned to dense indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocabulary {
    /// Task type names, by id.
    task_types: Vec<String>,
    /// Capability names, by bit index.
    capabilities: Vec<String>,
    /// Task type name → id (lookups only).
    task_type_ids: BTreeMap<String, TaskTypeId>,
    /// Capability name → bit index (lookups only).
    capability_ids: BTreeMap<String, u8>,
}

impl Default for Vocabulary {
    fn default() -> Self {
        Vocabulary {
            task_types: Vec::new(),
            capabilities: vec![CONFIDENTIAL.to_string()],
            task_type_ids: BTreeMap::new(),
            capability_ids: BTreeMap::from([(CONFIDENTIAL.to_string(), 0)]),
        }
    }
}

impl Vocabulary {
    /// A vocabulary with only the `confidential` capability.
    pub fn new() -> Self {
        Self::default()
    }

    /// Interns a task type, returning its id (the existing one if already known).
    pub fn task_type(&mut self, name: &str) -> Result<TaskTypeId, MarketError> {
        if let Some(&id) = self.task_type_ids.get(name) {
            return Ok(id);
        }
        if self.task_types.len() >= u16::MAX as usize {
            return Err(MarketError::VocabularyFull);
        }
        let id = TaskTypeId(self.task_types.len() as u16);
        self.task_types.push(name.to_string());
        self.task_type_ids.insert(name.to_string(), id);
        Ok(id)
    }

    /// Interns a capability, returning its bit index.
    pub fn capability(&mut self, name: &str) -> Result<u8, MarketError> {
        if let Some(&i) = self.capability_ids.get(name) {
            return Ok(i);
        }
        if self.capabilities.len() >= MAX_CAPABILITIES {
            return Err(MarketError::VocabularyFull);
        }
        let i = self.capabilities.len() as u8;
        self.capabilities.push(name.to_string());
        self.capability_ids.insert(name.to_string(), i);
        Ok(i)
    }

    /// Interns every name and returns the set.
    pub fn capability_set<'a>(
        &mut self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<CapabilitySet, MarketError> {
        let mut set = CapabilitySet::EMPTY;
        for name in names {
            set = set.with(self.capability(name)?)?;
        }
        Ok(set)
    }

    /// Looks a task type up without interning it.
    pub fn find_task_type(&self, name: &str) -> Option<TaskTypeId> {
        self.task_type_ids.get(name).copied()
    }

    /// Looks a capability up without interning it.
    pub fn find_capability(&self, name: &str) -> Option<u8> {
        self.capability_ids.get(name).copied()
    }

    /// The name of a task type.
    pub fn task_type_name(&self, id: TaskTypeId) -> &str {
        self.task_types.get(id.index()).map(String::as_str).unwrap_or("?")
    }

    /// The names in a capability set, in index order.
    pub fn capability_names(&self, set: CapabilitySet) -> Vec<&str> {
        set.indices().filter_map(|i| self.capabilities.get(i as usize).map(String::as_str)).collect()
    }

    /// Number of task types.
    pub fn task_type_count(&self) -> usize {
        self.task_types.len()
    }

    /// All task type names in id order.
    pub fn task_type_names(&self) -> &[String] {
        &self.task_types
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_is_one_and() {
        let a = CapabilitySet::single(3).unwrap().with(7).unwrap();
        let b = a.with(100).unwrap();
        assert!(a.is_subset_of(b));
        assert!(!b.is_subset_of(a));
        assert!(CapabilitySet::EMPTY.is_subset_of(a));
        assert_eq!(b.len(), 3);
        assert_eq!(b.indices().collect::<Vec<_>>(), vec![3, 7, 100]);
        assert_eq!(a.with(127).unwrap().len(), 3);
        assert_eq!(a.with(128), Err(MarketError::CapabilityOutOfRange(128)));
        assert_eq!(CapabilitySet::single(200), Err(MarketError::CapabilityOutOfRange(200)));
        assert!(!b.contains(200) && !b.contains(255));
    }

    #[test]
    fn vocabulary_interns_once() {
        let mut v = Vocabulary::new();
        assert_eq!(v.find_capability(CONFIDENTIAL), Some(0));
        let r = v.capability("rust").unwrap();
        assert_eq!(v.capability("rust").unwrap(), r);
        let t = v.task_type("code_generation").unwrap();
        assert_eq!(v.task_type("code_generation").unwrap(), t);
        assert_eq!(v.task_type_name(t), "code_generation");
        let set = v.capability_set(["rust", "python"]).unwrap();
        assert_eq!(v.capability_names(set), vec!["rust", "python"]);
    }

    #[test]
    fn map_and_lists_agree_on_every_id() {
        let mut v = Vocabulary::new();
        let names: Vec<String> = (0..300).map(|i| format!("t{}", (i * 37) % 211)).collect();
        let mut first_seen: Vec<&str> = Vec::new();
        for n in &names {
            let id = v.task_type(n).unwrap();
            if !first_seen.contains(&n.as_str()) {
                first_seen.push(n);
            }
            // Ids are dense, in first-seen order, and the map answers the same id as the list.
            assert_eq!(first_seen[id.index()], n.as_str());
            assert_eq!(v.find_task_type(n), Some(id));
            assert_eq!(v.task_type_name(id), n);
        }
        assert_eq!(v.task_type_names(), first_seen.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(v.find_task_type("nope"), None);
        for i in (1..100).rev() {
            let c = v.capability(&format!("c{i}")).unwrap();
            assert_eq!(v.capability(&format!("c{i}")).unwrap(), c);
            assert_eq!(c as usize, 100 - i);
            assert_eq!(v.find_capability(&format!("c{i}")), Some(c));
        }
        assert_eq!(v.capability(CONFIDENTIAL).unwrap(), 0);
        assert_eq!(v.find_capability("nope"), None);
    }

    #[test]
    fn vocabulary_refuses_beyond_limit() {
        let mut v = Vocabulary::new();
        for i in 1..MAX_CAPABILITIES {
            v.capability(&format!("c{i}")).unwrap();
        }
        assert!(matches!(v.capability("one_more"), Err(MarketError::VocabularyFull)));
    }
}
