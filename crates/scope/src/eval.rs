//! A read's filter evaluated against a snapshot's row, for the SQL that can be evaluated
//! faithfully: comparisons, `BETWEEN`, `IN`, `LIKE`/`ILIKE`, `IS [NOT] NULL`, booleans,
//! `AND`/`OR`/`NOT`, with SQL's three-valued logic (a NULL comparison is unknown, and an unknown
//! `WHERE` keeps no row). Anything else (functions, parameters, sub-queries) is not evaluable,
//! and the caller falls back to a bound. An empty CSV field is NULL. Values compare as numbers
//! when both sides are numbers, else as text: the snapshot carries no column types.

use sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value};
use std::cmp::Ordering;

/// A row: its value for a column (lower-case name, with the table or alias that qualified it,
/// if any), `None` for NULL; an error for a column it does not have.
pub trait Row {
    /// The column's value, or `None` for NULL.
    fn get(&self, qualifier: Option<&str>, column: &str) -> Result<Option<&str>, String>;
}

#[derive(Debug, Clone, PartialEq)]
enum V<'a> {
    Null,
    Bool(bool),
    Text(std::borrow::Cow<'a, str>),
}

/// Whether the row passes `filter`: `Ok(true)` keeps it, `Err` says why it cannot be decided.
pub fn keeps(filter: &Expr, row: &dyn Row) -> Result<bool, String> {
    Ok(matches!(eval(filter, row)?, V::Bool(true)))
}

fn text(v: &Value) -> Result<V<'_>, String> {
    match v {
        Value::Number(n, _) => Ok(V::Text(n.as_str().into())),
        Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => {
            Ok(V::Text(s.as_str().into()))
        }
        Value::Boolean(b) => Ok(V::Bool(*b)),
        Value::Null => Ok(V::Null),
        Value::Placeholder(p) => Err(format!("parameter {p} is not in the log")),
        other => Err(format!("the value {other} is not evaluated")),
    }
}

fn cmp(a: &str, b: &str) -> Ordering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

fn truth(v: &V<'_>) -> Option<bool> {
    match v {
        V::Bool(b) => Some(*b),
        V::Null => None,
        V::Text(t) => match t.to_ascii_lowercase().as_str() {
            "t" | "true" | "yes" | "on" | "1" => Some(true),
            "f" | "false" | "no" | "off" | "0" => Some(false),
            _ => None,
        },
    }
}

fn b(x: Option<bool>) -> V<'static> {
    x.map_or(V::Null, V::Bool)
}

/// SQL `LIKE`: `%` any run, `_` one character, `\` escapes.
fn like(s: &str, p: &str, fold: bool) -> bool {
    let (s, p): (Vec<char>, Vec<char>) = if fold {
        (
            s.to_lowercase().chars().collect(),
            p.to_lowercase().chars().collect(),
        )
    } else {
        (s.chars().collect(), p.chars().collect())
    };
    fn go(s: &[char], p: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('%') => (0..=s.len()).any(|k| go(&s[k..], &p[1..])),
            Some('_') => !s.is_empty() && go(&s[1..], &p[1..]),
            Some('\\') if p.len() > 1 => s.first() == Some(&p[1]) && go(&s[1..], &p[2..]),
            Some(c) => s.first() == Some(c) && go(&s[1..], &p[1..]),
        }
    }
    go(&s, &p)
}

fn eval<'a>(e: &'a Expr, row: &'a dyn Row) -> Result<V<'a>, String> {
    Ok(match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
            let (q, c) = match e {
                Expr::Identifier(i) => (None, i.value.to_ascii_lowercase()),
                Expr::CompoundIdentifier(p) => {
                    let n = p.len();
                    (
                        n.checked_sub(2).map(|k| p[k].value.to_ascii_lowercase()),
                        p.last()
                            .map(|i| i.value.to_ascii_lowercase())
                            .unwrap_or_default(),
                    )
                }
                _ => unreachable!(),
            };
            match row.get(q.as_deref(), &c)? {
                Some(v) => V::Text(v.into()),
                None => V::Null,
            }
        }
        Expr::Value(v) => text(&v.value)?,
        Expr::Nested(x) => eval(x, row)?,
        Expr::IsNull(x) => V::Bool(eval(x, row)? == V::Null),
        Expr::IsNotNull(x) => V::Bool(eval(x, row)? != V::Null),
        Expr::IsTrue(x) => V::Bool(truth(&eval(x, row)?) == Some(true)),
        Expr::IsFalse(x) => V::Bool(truth(&eval(x, row)?) == Some(false)),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => b(truth(&eval(expr, row)?).map(|x| !x)),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match eval(expr, row)? {
            V::Text(t) => V::Text(format!("-{t}").into()),
            other => other,
        },
        Expr::BinaryOp { left, op, right } => {
            let (l, r) = (eval(left, row)?, eval(right, row)?);
            match op {
                BinaryOperator::And => b(match (truth(&l), truth(&r)) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                }),
                BinaryOperator::Or => b(match (truth(&l), truth(&r)) {
                    (Some(true), _) | (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                }),
                BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq => {
                    let (V::Text(x), V::Text(y)) = (&l, &r) else {
                        return Ok(match (&l, &r) {
                            (V::Null, _) | (_, V::Null) => V::Null,
                            _ => b(truth(&l).zip(truth(&r)).map(|(x, y)| match op {
                                BinaryOperator::Eq => x == y,
                                BinaryOperator::NotEq => x != y,
                                _ => false,
                            })),
                        });
                    };
                    let o = cmp(x, y);
                    V::Bool(match op {
                        BinaryOperator::Eq => o == Ordering::Equal,
                        BinaryOperator::NotEq => o != Ordering::Equal,
                        BinaryOperator::Lt => o == Ordering::Less,
                        BinaryOperator::LtEq => o != Ordering::Greater,
                        BinaryOperator::Gt => o == Ordering::Greater,
                        _ => o != Ordering::Less,
                    })
                }
                other => return Err(format!("the operator {other} is not evaluated")),
            }
        }
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let (x, lo, hi) = (eval(expr, row)?, eval(low, row)?, eval(high, row)?);
            match (x, lo, hi) {
                (V::Text(x), V::Text(lo), V::Text(hi)) => {
                    let inside =
                        cmp(&x, &lo) != Ordering::Less && cmp(&x, &hi) != Ordering::Greater;
                    V::Bool(inside != *negated)
                }
                _ => V::Null,
            }
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let x = eval(expr, row)?;
            let V::Text(x) = x else { return Ok(V::Null) };
            let mut null = false;
            let mut hit = false;
            for item in list {
                match eval(item, row)? {
                    V::Text(y) => hit |= cmp(&x, &y) == Ordering::Equal,
                    _ => null = true,
                }
            }
            if hit {
                V::Bool(!*negated)
            } else if null {
                V::Null
            } else {
                V::Bool(*negated)
            }
        }
        Expr::Like {
            negated,
            expr,
            pattern,
            escape_char: None,
            any: false,
        }
        | Expr::ILike {
            negated,
            expr,
            pattern,
            escape_char: None,
            any: false,
        } => {
            let fold = matches!(e, Expr::ILike { .. });
            match (eval(expr, row)?, eval(pattern, row)?) {
                (V::Text(s), V::Text(p)) => V::Bool(like(&s, &p, fold) != *negated),
                _ => V::Null,
            }
        }
        other => return Err(format!("`{other}` is not evaluated")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{Analysis, analyse};
    use std::collections::HashMap;

    struct R(HashMap<&'static str, &'static str>);
    impl Row for R {
        fn get(&self, _: Option<&str>, c: &str) -> Result<Option<&str>, String> {
            Ok(self.0.get(c).copied().filter(|v| !v.is_empty()))
        }
    }

    fn filter(sql: &str) -> Expr {
        match analyse(&format!("SELECT * FROM customers WHERE {sql}")) {
            Analysis::Read(r) => r.filter.unwrap(),
            other => panic!("{other:?}"),
        }
    }

    fn row() -> R {
        R([
            ("customer_id", "100042"),
            ("postcode", "LS20 6AB"),
            ("email", ""),
            ("opted_out", "f"),
        ]
        .into_iter()
        .collect())
    }

    #[test]
    fn sql_filters_evaluate_as_postgresql_would() {
        let keeps = |sql: &str| keeps(&filter(sql), &row());
        assert_eq!(keeps("customer_id BETWEEN 100001 AND 112000"), Ok(true));
        assert_eq!(keeps("customer_id NOT BETWEEN 100001 AND 100041"), Ok(true));
        assert_eq!(keeps("customer_id IN (1, 100042)"), Ok(true));
        assert_eq!(keeps("customer_id = 42"), Ok(false));
        // Numbers compare as numbers: 100042 > 9.
        assert_eq!(keeps("customer_id > 9"), Ok(true));
        assert_eq!(keeps("postcode ILIKE 'ls%' AND NOT opted_out"), Ok(true));
        assert_eq!(keeps("postcode LIKE 'ls%'"), Ok(false));
        // NULL: unknown, so the row is not kept, whichever way the comparison goes.
        assert_eq!(keeps("email = 'x'"), Ok(false));
        assert_eq!(keeps("NOT (email = 'x')"), Ok(false));
        assert_eq!(keeps("email IS NULL OR customer_id < 0"), Ok(true));
        assert!(keeps("customer_id = $1").is_err());
        assert!(keeps("lower(postcode) = 'x'").is_err());
    }
}
