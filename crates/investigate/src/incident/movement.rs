//! Phase two: lateral movements join groups. A movement belongs to the intrusion when it
//! starts from a host with a detection (or one the intrusion already reached) within the gap,
//! and either lands on a host with a detection after it (which joins the two groups) or is
//! made by an account the group already uses (the host it reaches is then part of the
//! incident even without a detection of its own).

use super::Finding;
use super::link::{RawLink, Sets};
use crate::logon::Movement;
use dwell_core::EntityKind;
use std::collections::HashMap;

/// Attributes movements to groups; returns (movement index, a detection of its group), and
/// records the joins it made in `links`.
pub(crate) fn attribute(
    f: &[Finding],
    order: &[usize],
    moves: &[Movement],
    gap: i64,
    sets: &mut Sets,
    links: &mut Vec<RawLink>,
) -> Vec<(usize, usize)> {
    let mut on_host: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_account: HashMap<&str, Vec<usize>> = HashMap::new();
    for &i in order {
        if !f[i].host.is_empty() {
            on_host.entry(f[i].host.as_str()).or_default().push(i);
        }
        for e in &f[i].entities {
            if e.kind == EntityKind::Account {
                by_account.entry(e.value.as_str()).or_default().push(i);
            }
        }
    }
    // Each account's groups so far, one detection per group: the movement test below asks
    // whether a group names the account, and a spray names thousands.
    let mut account_groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (a, dets) in &by_account {
        let mut roots: Vec<usize> = dets.iter().map(|&i| sets.find(i)).collect();
        roots.sort_unstable();
        roots.dedup();
        account_groups.insert(a, roots);
    }
    let mut reached: HashMap<String, Vec<(i64, usize)>> = HashMap::new();
    let mut attributed = Vec::new();
    for (mi, m) in moves.iter().enumerate() {
        let src = on_host
            .get(m.from.as_str())
            .and_then(|v| {
                let k = v.partition_point(|&i| f[i].time <= m.time);
                (k > 0).then(|| v[k - 1])
            })
            .filter(|&i| m.time - f[i].time <= gap)
            .or_else(|| {
                reached.get(&m.from).and_then(|v| {
                    v.iter()
                        .rev()
                        .find(|(t, _)| *t <= m.time && m.time - t <= gap)
                        .map(|&(_, i)| i)
                })
            });
        let Some(src) = src else { continue };
        let dst = on_host.get(m.to.as_str()).and_then(|v| {
            let k = v.partition_point(|&i| f[i].time < m.time);
            v.get(k).copied().filter(|&i| f[i].time - m.time <= gap)
        });
        let root = sets.find(src);
        let known_account = account_groups
            .get(m.account.as_str())
            .is_some_and(|v| v.iter().any(|&i| sets.find(i) == root));
        if dst.is_none() && !known_account {
            continue;
        }
        if let Some(d) = dst
            && sets.union(src, d)
        {
            links.push(RawLink {
                via: "movement".into(),
                entity: format!("{} {} -> {}", m.account, m.from, m.to),
                from: src,
                to: d,
            });
        }
        attributed.push((mi, src));
        reached.entry(m.to.clone()).or_default().push((m.time, src));
    }
    attributed
}
