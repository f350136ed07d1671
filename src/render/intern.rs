//! Names given out in order of first use: the same key always gets the same name, and the
//! names print in the order the rules first needed them (named sets, ipsets, object groups).

use std::collections::BTreeMap;

/// Keys and the names given to them, in order of first use.
#[derive(Debug)]
pub(super) struct Interner<K> {
    names: BTreeMap<K, usize>,
    order: Vec<(String, K)>,
}

impl<K> Default for Interner<K> {
    fn default() -> Self {
        Interner {
            names: BTreeMap::new(),
            order: Vec::new(),
        }
    }
}

impl<K: Ord + Clone> Interner<K> {
    /// The name of `key`; the first time, `make` gives it one, seeing the names given so far.
    pub(super) fn name(&mut self, key: &K, make: impl FnOnce(&[(String, K)]) -> String) -> &str {
        let i = match self.names.get(key) {
            Some(&i) => i,
            None => {
                let name = make(&self.order);
                self.order.push((name, key.clone()));
                self.names.insert(key.clone(), self.order.len() - 1);
                self.order.len() - 1
            }
        };
        self.order.get(i).map_or("", |(n, _)| n.as_str())
    }

    /// Every (name, key), in order of first use.
    pub(super) fn iter(&self) -> std::slice::Iter<'_, (String, K)> {
        self.order.iter()
    }

    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_key_keeps_its_name_and_order_is_first_use() {
        let mut i = Interner::default();
        let n = |o: &[(String, &str)]| format!("s{}", o.len() + 1);
        assert_eq!(i.name(&"b", n), "s1");
        assert_eq!(i.name(&"a", n), "s2");
        assert_eq!(i.name(&"b", |_| unreachable!()), "s1");
        let names: Vec<&str> = i.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["s1", "s2"]);
    }
}
