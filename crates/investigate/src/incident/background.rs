//! Signal versus background, learned from the detections themselves.
//!
//! A detection's *shape* is its rule, host, accounts and first address. A shape that recurs
//! on [`ROUTINE_DAYS`] or more days is routine (the nightly job, an administrator's weekly
//! session, the legacy device's ticket); so is every shape of a rule that fires on most days
//! in many shapes (the logoff rule, a user agent every browser sends). Routine detections are
//! background, except what is new: a routine shape's first detection after the learning
//! window (the first [`LEARNING_DAYS`] days), and a widespread rule's first detection on a host
//! it had not fired on. The rest is signal at medium level and above, context below it.

use super::Finding;
use dwell_core::EntityKind;
use dwell_detect::RuleInfo;
use dwell_sigma::Level;
use std::collections::{HashMap, HashSet};

/// A shape seen on this many distinct days is routine.
pub const ROUTINE_DAYS: u32 = 3;
/// The first days of the data, in which what is routine is learned rather than judged.
pub const LEARNING_DAYS: i64 = 7;
/// A rule firing on at least this share of the data's days...
pub const WIDE_SHARE: f64 = 0.5;
/// ...in at least this many shapes is routine across the estate.
pub const WIDE_SHAPES: usize = 10;

const DAY: i64 = 86_400 * 1_000_000_000;

/// What a detection is to the campaign model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Medium or above, and not routine: may start or join a campaign.
    Signal,
    /// Informational or low, not routine: joins a campaign only through its entities.
    Context,
    /// Routine; its shape (index into [`Learned::shapes`]).
    Background(u32),
    /// Covered by an approved change (index into the change table).
    Sanctioned(u32),
}

/// One shape: how often it recurred, and its first detection.
pub(crate) struct Shape {
    pub(crate) days: u32,
    pub(crate) first: usize,
}

/// Why a rule's detections were set aside as background.
pub(crate) struct RuleBackground {
    pub(crate) rule: u32,
    pub(crate) detections: usize,
    pub(crate) days: u32,
    pub(crate) shapes: usize,
    pub(crate) wide: bool,
}

/// The classes, per finding index, and what was learned.
pub(crate) struct Learned {
    pub(crate) class: Vec<Class>,
    pub(crate) shapes: Vec<Shape>,
    pub(crate) background: Vec<RuleBackground>,
    pub(crate) span_days: i64,
}

fn day(t: i64) -> i64 {
    t.div_euclid(DAY)
}

/// The shape key of a finding: rule, host, its accounts (sorted) and first address.
fn shape_key(f: &Finding) -> (u32, String) {
    let mut accounts: Vec<&str> = f
        .entities
        .iter()
        .filter(|e| e.kind == EntityKind::Account)
        .map(|e| e.value.as_str())
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    let ip = f
        .entities
        .iter()
        .find(|e| e.kind == EntityKind::Ip)
        .map_or("", |e| e.value.as_str());
    (
        f.rule,
        format!("{}\u{1}{}\u{1}{ip}", f.host, accounts.join("\u{2}")),
    )
}

/// Classifies every finding (visited in time order, `order`). `sanctioned[i]` is the change
/// that covers finding `i`, if any.
pub(crate) fn learn(
    f: &[Finding],
    order: &[usize],
    rules: &[RuleInfo],
    sanctioned: &[Option<u32>],
) -> Learned {
    let n = f.len();
    let (Some(&first), Some(&last)) = (order.first(), order.last()) else {
        return Learned {
            class: Vec::new(),
            shapes: Vec::new(),
            background: Vec::new(),
            span_days: 0,
        };
    };
    let span_days = day(f[last].time) - day(f[first].time) + 1;
    let learning_end = f[first].time + LEARNING_DAYS * DAY;
    // Shapes and, per rule, distinct days and shapes.
    let mut ids: HashMap<(u32, String), u32> = HashMap::new();
    let mut shapes: Vec<Shape> = Vec::new();
    let mut last_day: Vec<i64> = Vec::new();
    let mut shape_of = vec![0u32; n];
    let mut rule_days: HashMap<u32, (u32, i64, usize)> = HashMap::new();
    for &i in order {
        let d = day(f[i].time);
        let id = *ids.entry(shape_key(&f[i])).or_insert_with(|| {
            shapes.push(Shape { days: 0, first: i });
            last_day.push(i64::MIN);
            (shapes.len() - 1) as u32
        });
        shape_of[i] = id;
        let s = id as usize;
        if last_day[s] != d {
            last_day[s] = d;
            shapes[s].days += 1;
        }
        let r = rule_days.entry(f[i].rule).or_insert((0, i64::MIN, 0));
        if r.1 != d {
            r.1 = d;
            r.0 += 1;
        }
        if shapes[s].first == i {
            r.2 += 1;
        }
    }
    let wide = |rule: u32| {
        rule_days.get(&rule).is_some_and(|&(days, _, nshapes)| {
            days >= ROUTINE_DAYS
                && f64::from(days) >= WIDE_SHARE * span_days as f64
                && nshapes >= WIDE_SHAPES
        })
    };
    let mut class = vec![Class::Context; n];
    let mut hosts_seen: HashSet<(u32, &str)> = HashSet::new();
    let mut per_rule: HashMap<u32, RuleBackground> = HashMap::new();
    for &i in order {
        let d = &f[i];
        if let Some(c) = sanctioned[i] {
            class[i] = Class::Sanctioned(c);
            continue;
        }
        let s = shape_of[i];
        let shape = &shapes[s as usize];
        let late = d.time >= learning_end;
        let is_wide = wide(d.rule);
        let background = if is_wide {
            let new_host =
                !d.host.is_empty() && hosts_seen.insert((d.rule, d.host.as_str())) && late;
            !new_host
        } else {
            if !d.host.is_empty() {
                hosts_seen.insert((d.rule, d.host.as_str()));
            }
            shape.days >= ROUTINE_DAYS && !(shape.first == i && late)
        };
        class[i] = if background {
            let b = per_rule.entry(d.rule).or_insert_with(|| RuleBackground {
                rule: d.rule,
                detections: 0,
                days: rule_days.get(&d.rule).map_or(0, |r| r.0),
                shapes: rule_days.get(&d.rule).map_or(0, |r| r.2),
                wide: is_wide,
            });
            b.detections += 1;
            Class::Background(s)
        } else if rules
            .get(d.rule as usize)
            .and_then(|r| r.level)
            .is_some_and(|l| l >= Level::Medium)
        {
            Class::Signal
        } else {
            Class::Context
        };
    }
    let mut background: Vec<RuleBackground> = per_rule.into_values().collect();
    background.sort_by(|a, b| b.detections.cmp(&a.detections).then(a.rule.cmp(&b.rule)));
    Learned {
        class,
        shapes,
        background,
        span_days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dwell_core::Entity;

    fn rule(level: Level) -> RuleInfo {
        RuleInfo {
            id: "r".into(),
            name: None,
            title: "r".into(),
            level: Some(level),
            status: None,
            tactics: Vec::new(),
            tags: Vec::new(),
            path: "r.yml".into(),
            line: 1,
            kind: dwell_detect::RuleKind::Correlation("test"),
            warnings: Vec::new(),
        }
    }

    fn det(t: i64, rule: u32, host: &str, account: &str) -> Finding {
        Finding {
            time: t,
            rule,
            host: host.into(),
            account: Some(account.into()),
            entities: vec![Entity {
                kind: EntityKind::Account,
                value: account.into(),
            }],
            input: 0,
            record: t as u64,
        }
    }

    fn run(f: &[Finding], rules: &[RuleInfo]) -> Learned {
        let mut order: Vec<usize> = (0..f.len()).collect();
        order.sort_by_key(|&i| f[i].time);
        learn(f, &order, rules, &vec![None; f.len()])
    }

    #[test]
    fn a_rule_on_sixty_accounts_daily_is_background_and_its_first_firing_on_a_new_host_is_not() {
        let mut f = Vec::new();
        for day in 0..30 {
            for a in 0..60 {
                f.push(det(
                    day * DAY + a * 1_000_000_000,
                    0,
                    "DC01",
                    &format!("C\\u{a}"),
                ));
            }
        }
        f.push(det(20 * DAY + 3_600_000_000_000, 0, "WS99", "C\\u1"));
        f.push(det(21 * DAY + 3_600_000_000_000, 0, "WS99", "C\\u1"));
        let l = run(&f, &[rule(Level::High)]);
        let n = f.len();
        assert!(matches!(l.class[0], Class::Background(_)));
        assert!(matches!(l.class[n - 3], Class::Background(_)));
        assert_eq!(l.class[n - 2], Class::Signal, "the first firing on WS99");
        assert!(matches!(l.class[n - 1], Class::Background(_)));
        assert!(l.background[0].wide);
    }

    #[test]
    fn a_nightly_shape_is_background_from_its_first_night_and_a_new_one_starts_as_signal() {
        let mut f = Vec::new();
        for day in 0..40 {
            f.push(det(day * DAY, 0, "DC01", "C\\job"));
        }
        // A new nightly shape from day 20: its first night is new, the rest routine.
        for day in 20..40 {
            f.push(det(day * DAY + 60_000_000_000, 0, "DC01", "C\\eve"));
        }
        // Once, twice: not routine.
        f.push(det(30 * DAY + 5, 1, "DC01", "C\\eve"));
        f.push(det(30 * DAY + 6, 2, "DC01", "C\\eve"));
        let l = run(
            &f,
            &[rule(Level::Medium), rule(Level::High), rule(Level::Low)],
        );
        assert!(matches!(l.class[0], Class::Background(_)));
        assert_eq!(l.class[40], Class::Signal);
        assert!(matches!(l.class[41], Class::Background(_)));
        assert_eq!(l.class[60], Class::Signal);
        assert_eq!(l.class[61], Class::Context, "low is context");
        assert_eq!(l.background[0].detections, 40 + 19);
    }
}
