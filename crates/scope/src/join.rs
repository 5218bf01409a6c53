//! A read of joined tables evaluated against their snapshots: the rows each table held at the
//! time of the access, joined as PostgreSQL joins them (inner and left joins on their
//! conditions, hashed on an equality of key columns where there is one), then filtered. The
//! result is the tuples the read returned, one row index per table (None on a left join's
//! missing side), so that each table's people can be read off.

use crate::eval::{Row, keeps};
use crate::snapshot::Snapshot;
use crate::sql::{Join, JoinKind};
use sqlparser::ast::{BinaryOperator, Expr};
use std::collections::HashMap;

/// A joined row: one row index per table joined so far.
pub type Tuple = Vec<Option<u32>>;

/// At most this many intermediate rows: a join that would build more (a cross join of large
/// tables) is not evaluated, and the caller falls back to a bound.
pub const MAX_ROWS: usize = 50_000_000;

/// A joined row, for [`crate::eval`]: a qualified column is its table's (by alias, else by
/// name); an unqualified one belongs to the one table that has it.
struct Joined<'a> {
    join: &'a Join,
    snaps: &'a [&'a Snapshot],
    tuple: &'a [Option<u32>],
}

impl Joined<'_> {
    fn table(&self, qualifier: Option<&str>, column: &str) -> Result<usize, String> {
        let n = self.tuple.len();
        match qualifier {
            Some(q) => self.join.tables[..n]
                .iter()
                .position(|(t, a)| match a {
                    Some(a) => a == q,
                    None => t == q || t.rsplit('.').next() == Some(q),
                })
                .ok_or_else(|| format!("no table {q} for {q}.{column}")),
            None => {
                let mut owners = (0..n).filter(|&k| self.snaps[k].has(column));
                match (owners.next(), owners.next()) {
                    (Some(k), None) => Ok(k),
                    (None, _) => Err(format!("no snapshot has a column {column}")),
                    (Some(_), Some(_)) => Err(format!("the column {column} is ambiguous")),
                }
            }
        }
    }
}

impl Row for Joined<'_> {
    fn get(&self, qualifier: Option<&str>, column: &str) -> Result<Option<&str>, String> {
        let k = self.table(qualifier, column)?;
        let snap = self.snaps[k];
        if !snap.has(column) {
            return Err(format!(
                "the snapshot of {} has no column {column}",
                self.join.tables[k].0
            ));
        }
        Ok(self.tuple[k].and_then(|r| snap.value_at(r as usize, column).filter(|v| !v.is_empty())))
    }
}

/// A value as a hash key, so that values equal as [`crate::eval`] compares them (numbers as
/// numbers, else text) hash alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Number(u64),
    Text(String),
}

fn key(v: &str) -> Key {
    match v.trim().parse::<f64>() {
        Ok(f) if f.is_finite() => Key::Number(if f == 0.0 { 0 } else { f.to_bits() }),
        _ => Key::Text(v.to_string()),
    }
}

/// A plain column reference: its qualifier and name.
fn column(e: &Expr) -> Option<(Option<String>, String)> {
    match e {
        Expr::Identifier(i) => Some((None, i.value.to_ascii_lowercase())),
        Expr::CompoundIdentifier(p) if p.len() >= 2 => Some((
            Some(p[p.len() - 2].value.to_ascii_lowercase()),
            p[p.len() - 1].value.to_ascii_lowercase(),
        )),
        _ => None,
    }
}

/// The `AND`ed parts of a condition.
fn conjuncts<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        Expr::Nested(x) => conjuncts(x, out),
        other => out.push(other),
    }
}

/// An equality `a.x = b.y` among `conds` with one side a column of table `new` and the other
/// a column of a table before it: the column of `new`, and the other side.
fn hash_on(
    join: &Join,
    snaps: &[&Snapshot],
    new: usize,
    conds: &[&Expr],
) -> Option<(String, (usize, String))> {
    let probe = Joined {
        join,
        snaps,
        tuple: &vec![None; new + 1],
    };
    for c in conds {
        let Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } = c
        else {
            continue;
        };
        let (Some(l), Some(r)) = (column(left), column(right)) else {
            continue;
        };
        let owner = |(q, c): &(Option<String>, String)| probe.table(q.as_deref(), c).ok();
        match (owner(&l), owner(&r)) {
            (Some(a), Some(b)) if a == new && b < new => return Some((l.1, (b, r.1))),
            (Some(a), Some(b)) if b == new && a < new => return Some((r.1, (a, l.1))),
            _ => {}
        }
    }
    None
}

/// The tuples the read returned from the snapshots (`snaps[k]` is `join.tables[k]`'s), of
/// the rows `visible` lets through (rows created after the access are not).
pub fn rows(
    join: &Join,
    snaps: &[&Snapshot],
    visible: &dyn Fn(usize, usize) -> Result<bool, String>,
) -> Result<Vec<Tuple>, String> {
    let seen = |k: usize| -> Result<Vec<u32>, String> {
        let mut v = Vec::new();
        for r in 0..snaps[k].len() {
            if visible(k, r)? {
                v.push(r as u32);
            }
        }
        Ok(v)
    };
    let mut cur: Vec<Tuple> = seen(0)?.into_iter().map(|r| vec![Some(r)]).collect();
    // A comma join's condition is in WHERE: its equalities may hash the join.
    let mut where_parts = Vec::new();
    if let Some(f) = &join.filter {
        conjuncts(f, &mut where_parts);
    }
    for (k, (kind, on)) in join.steps.iter().enumerate() {
        let new = k + 1;
        let rows = seen(new)?;
        let mut conds = Vec::new();
        if let Some(on) = on {
            conjuncts(on, &mut conds);
        }
        if *kind == JoinKind::Inner {
            conds.extend(where_parts.iter().copied());
        }
        let mut next: Vec<Tuple> = Vec::new();
        let hint = hash_on(join, snaps, new, &conds);
        let keep = |t: &Tuple| -> Result<bool, String> {
            match on {
                Some(on) => keeps(
                    on,
                    &Joined {
                        join,
                        snaps,
                        tuple: t,
                    },
                ),
                None => Ok(true),
            }
        };
        let mut extend = |t: &Tuple, candidates: &mut dyn Iterator<Item = u32>| {
            let mut matched = false;
            for r in candidates {
                let mut u = t.clone();
                u.push(Some(r));
                if keep(&u)? {
                    next.push(u);
                    matched = true;
                }
            }
            if !matched && *kind == JoinKind::Left {
                let mut u = t.clone();
                u.push(None);
                next.push(u);
            }
            if next.len() > MAX_ROWS {
                return Err(format!(
                    "the join builds more than {MAX_ROWS} rows: not evaluated"
                ));
            }
            Ok(())
        };
        match hint {
            Some((col, (other, other_col))) => {
                let mut by: HashMap<Key, Vec<u32>> = HashMap::new();
                for &r in &rows {
                    if let Some(v) = snaps[new]
                        .value_at(r as usize, &col)
                        .filter(|v| !v.is_empty())
                    {
                        by.entry(key(v)).or_default().push(r);
                    }
                }
                for t in &cur {
                    let v = t[other]
                        .and_then(|r| snaps[other].value_at(r as usize, &other_col))
                        .filter(|v| !v.is_empty());
                    let hits = v.and_then(|v| by.get(&key(v)));
                    extend(t, &mut hits.into_iter().flatten().copied())?;
                }
            }
            None => {
                if cur.len().saturating_mul(rows.len()) > MAX_ROWS {
                    return Err(format!(
                        "joining {} without an equality of columns builds more than {MAX_ROWS} rows: not evaluated",
                        join.tables[new].0
                    ));
                }
                for t in &cur {
                    extend(t, &mut rows.iter().copied())?;
                }
            }
        }
        cur = next;
    }
    let Some(filter) = &join.filter else {
        return Ok(cur);
    };
    let mut out = Vec::new();
    for t in cur {
        if keeps(
            filter,
            &Joined {
                join,
                snaps,
                tuple: &t,
            },
        )? {
            out.push(t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{Analysis, analyse};

    fn join(sql: &str) -> Join {
        match analyse(sql) {
            Analysis::Read(r) => r.join.expect(sql),
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn joins_on_keys_return_the_rows_postgresql_would() {
        let customers = Snapshot::parse("customer_id,postcode\n1,LS1\n2,BS8\n3,BS8\n4,\n").unwrap();
        let orders =
            Snapshot::parse("order_id,customer_id\n10,2\n11,2\n12,3\n13,9\n14,\n").unwrap();
        let snaps = [&customers, &orders];
        let all = |_: usize, _: usize| Ok(true);
        let got = |sql: &str| -> Vec<Tuple> { rows(&join(sql), &snaps, &all).unwrap() };
        let inner = got(
            "SELECT c.customer_id FROM customers c JOIN orders o ON o.customer_id = c.customer_id WHERE c.postcode = 'BS8'",
        );
        assert_eq!(
            inner,
            [
                vec![Some(1), Some(0)],
                vec![Some(1), Some(1)],
                vec![Some(2), Some(2)]
            ]
        );
        // A comma join hashes on its WHERE equality; USING is an equality too.
        assert_eq!(
            got("SELECT * FROM customers c, orders o WHERE c.customer_id = o.customer_id").len(),
            3
        );
        assert_eq!(
            got("SELECT * FROM customers JOIN orders USING (customer_id)").len(),
            3
        );
        // A left join keeps customers without orders, with NULLs; NULL keys never match.
        let left =
            got("SELECT * FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id");
        assert_eq!(left.len(), 5);
        assert!(left.contains(&vec![Some(3), None]));
        assert_eq!(
            got("SELECT * FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id WHERE o.order_id IS NULL").len(),
            2
        );
        // Without an equality: every pair, filtered by the condition.
        assert_eq!(
            got("SELECT * FROM customers c JOIN orders o ON o.customer_id > c.customer_id").len(),
            4 + 2 + 1 + 1
        );
        // Rows created after the access are left out before joining.
        let early = |t: usize, r: usize| Ok(t != 1 || r != 0);
        assert_eq!(
            rows(
                &join("SELECT * FROM customers c JOIN orders o ON o.customer_id = c.customer_id"),
                &snaps,
                &early
            )
            .unwrap()
            .len(),
            2
        );
        // An unknown or ambiguous column is not evaluated.
        let e = rows(
            &join("SELECT * FROM customers c JOIN orders o ON o.customer_id = c.customer_id WHERE customer_id = 2"),
            &snaps,
            &all,
        )
        .unwrap_err();
        assert!(e.contains("ambiguous"), "{e}");
        assert!(
            analyse(
                "SELECT * FROM customers WHERE customer_id IN (SELECT customer_id FROM orders)"
            ) != Analysis::NoData
        );
        match analyse(
            "SELECT * FROM customers WHERE customer_id IN (SELECT customer_id FROM orders)",
        ) {
            Analysis::Read(r) => assert!(r.join.is_none()),
            other => panic!("{other:?}"),
        }
    }
}
