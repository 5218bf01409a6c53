//! Phase one: detections that share a linking entity (host, account, IP, process, logon
//! session) within the gap of each other join one group. Groups are kept in a union-find
//! structure; every join is recorded, so each incident can be explained.

use super::Finding;
use std::collections::HashMap;

/// Groups of detections (by index), joined as links are found.
pub(crate) struct Sets {
    parent: Vec<u32>,
}

impl Sets {
    pub(crate) fn new(n: usize) -> Sets {
        Sets {
            parent: (0..n as u32).collect(),
        }
    }

    pub(crate) fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] as usize != x {
            let p = self.parent[x] as usize;
            self.parent[x] = self.parent[p];
            x = p;
        }
        x
    }

    /// Joins the groups of `a` and `b`; false when they were one already. The earlier
    /// detection's root wins, so roots are stable and output does not depend on hashing.
    pub(crate) fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[hi] = lo as u32;
        true
    }
}

/// One join: via what (`host`, `account`, ..., `movement`), the entity, and the two
/// detections (earlier first).
pub(crate) struct RawLink {
    pub(crate) via: String,
    pub(crate) entity: String,
    pub(crate) from: usize,
    pub(crate) to: usize,
}

/// Joins detections (visited in time order, `order`) that share a linking entity no more
/// than `gap` apart; returns the joins that merged two groups.
pub(crate) fn by_entities(
    f: &[Finding],
    order: &[usize],
    gap: i64,
    sets: &mut Sets,
) -> Vec<RawLink> {
    let mut links = Vec::new();
    let mut last: HashMap<(dwell_core::EntityKind, &str), usize> = HashMap::new();
    for &i in order {
        for e in f[i].entities.iter().filter(|e| e.kind.links()) {
            let key = (e.kind, e.value.as_str());
            if let Some(&j) = last.get(&key)
                && f[i].time - f[j].time <= gap
                && sets.union(i, j)
            {
                links.push(RawLink {
                    via: e.kind.as_str().to_string(),
                    entity: e.value.clone(),
                    from: j,
                    to: i,
                });
            }
            last.insert(key, i);
        }
    }
    links
}
