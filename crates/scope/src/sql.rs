//! What a logged statement read, worked out with a SQL parser (sqlparser, PostgreSQL dialect):
//! the tables (through joins, sub-queries, CTEs and `COPY`), the columns it returned, and, for
//! a read of one table, its filter and limit, which the snapshot can evaluate. Anything that
//! writes or changes the database is refused: `scope` only ever evaluates reads.

use crate::map::table_key;
use sqlparser::ast::{
    CopySource, Expr, JoinConstraint, JoinOperator, LimitClause, ObjectName, Query, SelectItem,
    SetExpr, Statement, TableFactor, Value, visit_relations,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// The columns a read returned from a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Columns {
    /// Every column (`*`, `t.*`, `COPY table TO`, or not worked out).
    All,
    /// These, lower case.
    Named(BTreeSet<String>),
}

/// One table a read touched.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRead {
    /// `schema.table`, lower case (`public.` when none was written).
    pub table: String,
    /// What it returned of it.
    pub columns: Columns,
}

/// A read, as far as it could be worked out.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// Every table it touched.
    pub tables: Vec<TableRead>,
    /// For a read of one table: its `WHERE` (None: every row).
    pub filter: Option<Expr>,
    /// The read is of one table with no join or sub-query, so the filter says which rows.
    pub single: bool,
    /// `LIMIT n`, when given as a number.
    pub limit: Option<u64>,
    /// It has an `ORDER BY`.
    pub ordered: bool,
    /// A `COPY ... TO`: pgaudit logs its rows as 0.
    pub copy: bool,
    /// The query itself, to rewrite for the database (None for `COPY table TO`).
    pub query: Option<Box<Query>>,
    /// The top-level tables and their aliases.
    pub top: Vec<(String, Option<String>)>,
    /// The read as tables joined on conditions and filtered, when it is only that (no
    /// sub-query, CTE, grouping or set operation): what a snapshot can evaluate.
    pub join: Option<Join>,
}

/// How a table joins those before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JoinKind {
    /// `JOIN`, `INNER JOIN`, or a comma (with its condition in `WHERE`).
    Inner,
    /// `LEFT [OUTER] JOIN`: every row before it is kept, with NULLs when none matches.
    Left,
}

/// A read of tables joined on conditions, then filtered.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    /// The tables in `FROM` order, with their aliases.
    pub tables: Vec<(String, Option<String>)>,
    /// For each table after the first: how it joins, and on what (None: every pair).
    pub steps: Vec<(JoinKind, Option<Expr>)>,
    /// The `WHERE`.
    pub filter: Option<Expr>,
}

/// `name` as a quoted SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Read {
    /// A query returning, one row per row the read returned from `table`, that row's `person`
    /// as text: the read with its projection replaced, run again against the database. None
    /// when the read cannot be re-run faithfully (a LIMIT, grouping, set operations, or a
    /// table not in its top-level FROM).
    pub fn keys_sql(&self, table: &str, person: &str, as_of: &AsOf<'_>) -> Option<String> {
        if self.limit.is_some() {
            return None;
        }
        let Some(q) = &self.query else {
            // COPY table TO: every row (that existed then).
            let t = self.tables.first().filter(|t| t.table == table)?;
            let (schema, name) = t.table.split_once('.')?;
            let mut sql = format!(
                "SELECT CAST({} AS text) FROM {}.{}",
                quoted(person),
                quoted(schema),
                quoted(name)
            );
            if let Some(c) = (as_of.created)(&t.table) {
                sql += &format!(" WHERE {} <= {}", quoted(&c), as_of.literal());
            }
            return Some(sql);
        };
        let SetExpr::Select(sel) = q.body.as_ref() else {
            return None;
        };
        let grouped = match &sel.group_by {
            sqlparser::ast::GroupByExpr::Expressions(v, _) => !v.is_empty(),
            sqlparser::ast::GroupByExpr::All(_) => true,
        };
        if grouped || sel.having.is_some() || sel.distinct.is_some() {
            return None;
        }
        let qualifier = |t: &str, alias: &Option<String>| {
            alias
                .clone()
                .unwrap_or_else(|| t.rsplit('.').next().unwrap_or(t).to_string())
        };
        let expr = |text: &str| {
            Parser::new(&PostgreSqlDialect {})
                .try_with_sql(text)
                .ok()?
                .parse_expr()
                .ok()
        };
        let (t, alias) = self.top.iter().find(|(t, _)| t == table)?;
        let key = expr(&format!(
            "CAST({}.{} AS text)",
            quoted(&qualifier(t, alias)),
            quoted(person)
        ))?;
        let mut sel = (**sel).clone();
        sel.projection = vec![SelectItem::UnnamedExpr(key)];
        // Rows created after the access were not there to be read.
        for (t, alias) in &self.top {
            if let Some(c) = (as_of.created)(t) {
                let cond = expr(&format!(
                    "{}.{} <= {}",
                    quoted(&qualifier(t, alias)),
                    quoted(&c),
                    as_of.literal()
                ))?;
                sel.selection = Some(match sel.selection.take() {
                    Some(w) => Expr::BinaryOp {
                        left: Box::new(Expr::Nested(Box::new(w))),
                        op: sqlparser::ast::BinaryOperator::And,
                        right: Box::new(cond),
                    },
                    None => cond,
                });
            }
        }
        let mut q = (**q).clone();
        *q.body = SetExpr::Select(Box::new(sel));
        q.order_by = None;
        Some(q.to_string())
    }
}

/// As the data stood at an access: its time, and each table's creation-time column.
pub struct AsOf<'a> {
    /// The access's time, nanoseconds since the epoch.
    pub time: i64,
    /// A table's creation-time column, if the data map names one.
    pub created: &'a dyn Fn(&str) -> Option<String>,
}

impl AsOf<'_> {
    /// The time as a PostgreSQL literal.
    fn literal(&self) -> String {
        format!(
            "CAST('{}' AS timestamptz)",
            dwell_core::time::format(self.time)
        )
    }
}

/// What a statement is to `scope`.
#[derive(Debug, Clone, PartialEq)]
pub enum Analysis {
    /// It reads data.
    Read(Box<Read>),
    /// It reads no table data (`SET`, `BEGIN`, `SHOW`...).
    NoData,
    /// It writes or changes something: never evaluated; the reason.
    Refused(String),
    /// It could not be parsed: the parser's reason.
    Unparsed(String),
}

/// Analyses one logged statement (the SQL text as pgaudit or `log_statement` wrote it).
pub fn analyse(sql: &str) -> Analysis {
    let stmts = match Parser::parse_sql(&PostgreSqlDialect {}, sql) {
        Ok(s) => s,
        Err(e) => return Analysis::Unparsed(e.to_string()),
    };
    match stmts.as_slice() {
        [] => Analysis::NoData,
        [one] => statement(one),
        many => {
            // Several statements in one string: a read only if each is; never evaluated
            // together (pgaudit logs each on its own entry).
            if many
                .iter()
                .all(|s| matches!(statement(s), Analysis::Read(_) | Analysis::NoData))
            {
                Analysis::Refused(format!(
                    "{} statements in one string: each is read from its own entry",
                    many.len()
                ))
            } else {
                Analysis::Refused(format!(
                    "{} statements in one string, not all reads",
                    many.len()
                ))
            }
        }
    }
}

fn statement(s: &Statement) -> Analysis {
    match s {
        Statement::Query(q) => Analysis::Read(Box::new(query(q, false))),
        Statement::Copy {
            source, to: true, ..
        } => match source {
            CopySource::Query(q) => Analysis::Read(Box::new(query(q, true))),
            CopySource::Table {
                table_name,
                columns,
            } => Analysis::Read(Box::new(Read {
                tables: vec![TableRead {
                    table: name(table_name),
                    columns: if columns.is_empty() {
                        Columns::All
                    } else {
                        Columns::Named(
                            columns
                                .iter()
                                .map(|c| c.value.to_ascii_lowercase())
                                .collect(),
                        )
                    },
                }],
                filter: None,
                single: true,
                limit: None,
                ordered: false,
                copy: true,
                query: None,
                top: Vec::new(),
                join: Some(Join {
                    tables: vec![(name(table_name), None)],
                    steps: Vec::new(),
                    filter: None,
                }),
            })),
        },
        Statement::Set(_)
        | Statement::ShowVariable { .. }
        | Statement::ShowVariables { .. }
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Discard { .. }
        | Statement::Deallocate { .. } => Analysis::NoData,
        other => {
            let text = other.to_string();
            let verb = text.split_whitespace().next().unwrap_or("?").to_uppercase();
            Analysis::Refused(format!("{verb} is not a read"))
        }
    }
}

fn name(n: &ObjectName) -> String {
    table_key(&n.to_string().replace('"', ""))
}

/// The last part of a (possibly qualified) column reference, lower case, and its qualifier.
fn column(e: &Expr) -> Option<(Option<String>, String)> {
    match e {
        Expr::Identifier(i) => Some((None, i.value.to_ascii_lowercase())),
        Expr::CompoundIdentifier(parts) => {
            let (last, rest) = parts.split_last()?;
            Some((
                rest.last().map(|q| q.value.to_ascii_lowercase()),
                last.value.to_ascii_lowercase(),
            ))
        }
        _ => None,
    }
}

fn query(q: &Query, copy: bool) -> Read {
    // Every relation anywhere in it (joins, sub-queries, CTE bodies); CTE names are dropped
    // later, as the data map does not list them.
    let mut all: Vec<String> = Vec::new();
    let _ = visit_relations(q, |r| {
        let n = name(r);
        if !all.contains(&n) {
            all.push(n);
        }
        ControlFlow::<()>::Continue(())
    });
    // A CTE's name is no relation of the database.
    if let Some(w) = &q.with {
        let names: Vec<String> = w
            .cte_tables
            .iter()
            .map(|c| table_key(&c.alias.name.value))
            .collect();
        all.retain(|t| !names.contains(t));
    }
    let limit = match &q.limit_clause {
        Some(LimitClause::LimitOffset {
            limit: Some(Expr::Value(v)),
            offset: None,
            ..
        }) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        _ => None,
    };
    let ordered = q.order_by.is_some();
    let mut read = Read {
        tables: all
            .iter()
            .map(|t| TableRead {
                table: t.clone(),
                columns: Columns::All,
            })
            .collect(),
        filter: None,
        single: false,
        limit,
        ordered,
        copy,
        query: Some(Box::new(q.clone())),
        top: Vec::new(),
        join: None,
    };
    let SetExpr::Select(sel) = q.body.as_ref() else {
        return read;
    };
    if q.with.is_some() {
        return read;
    }
    // The top-level FROM: tables and their aliases.
    let mut top: Vec<(String, Option<String>)> = Vec::new();
    let mut joined = false;
    for twj in &sel.from {
        let mut factors = vec![&twj.relation];
        joined |= !twj.joins.is_empty();
        factors.extend(twj.joins.iter().map(|j| &j.relation));
        for f in factors {
            match f {
                TableFactor::Table { name: n, alias, .. } => top.push((
                    name(n),
                    alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()),
                )),
                _ => joined = true,
            }
        }
    }
    joined |= sel.from.len() > 1;
    // Columns returned, per top-level table.
    let mut named: Vec<BTreeSet<String>> = vec![BTreeSet::new(); top.len()];
    let mut all_of: Vec<bool> = vec![false; top.len()];
    let owner = |q: &Option<String>| -> Option<usize> {
        let q = q.as_deref()?;
        top.iter()
            .position(|(t, a)| a.as_deref() == Some(q) || t.rsplit('.').next() == Some(q) || t == q)
    };
    for item in &sel.projection {
        match item {
            SelectItem::Wildcard(_) => all_of.iter_mut().for_each(|x| *x = true),
            SelectItem::QualifiedWildcard(kind, _) => {
                let q = kind.to_string().to_ascii_lowercase();
                let q = q.rsplit('.').next().map(str::to_string);
                match owner(&q) {
                    Some(k) => all_of[k] = true,
                    None => all_of.iter_mut().for_each(|x| *x = true),
                }
            }
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                let mut cols = Vec::new();
                exprs_columns(e, &mut cols);
                for (q, c) in cols {
                    match (owner(&q), top.len()) {
                        (Some(k), _) => {
                            named[k].insert(c);
                        }
                        (None, 1) => {
                            named[0].insert(c);
                        }
                        // Unqualified with several tables: every top table may hold it; the
                        // data map decides which do.
                        (None, _) => named.iter_mut().for_each(|s| {
                            s.insert(c.clone());
                        }),
                    }
                }
            }
        }
    }
    for t in &mut read.tables {
        if let Some(k) = top.iter().position(|(n, _)| *n == t.table) {
            t.columns = if all_of[k] {
                Columns::All
            } else {
                Columns::Named(named[k].clone())
            };
        }
    }
    read.single = top.len() == 1 && !joined && all.len() == 1;
    if !joined
        || sel
            .from
            .iter()
            .all(|t| matches!(t.relation, TableFactor::Table { .. }))
    {
        read.top = top.clone();
    }
    if read.single {
        read.filter = sel.selection.clone();
    }
    read.join = joined_tables(sel, &all);
    read
}

/// The select as a [`Join`], when it reads only its top-level tables, joined on conditions
/// (`ON`, `USING`, or a comma and `WHERE`), without grouping.
fn joined_tables(sel: &sqlparser::ast::Select, all: &[String]) -> Option<Join> {
    let grouped = match &sel.group_by {
        sqlparser::ast::GroupByExpr::Expressions(v, _) => !v.is_empty(),
        sqlparser::ast::GroupByExpr::All(_) => true,
    };
    if grouped || sel.having.is_some() {
        return None;
    }
    let mut tables: Vec<(String, Option<String>)> = Vec::new();
    let mut steps = Vec::new();
    let factor = |f: &TableFactor| match f {
        TableFactor::Table {
            name: n,
            alias,
            args: None,
            ..
        } => Some((
            name(n),
            alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()),
        )),
        _ => None,
    };
    for (k, twj) in sel.from.iter().enumerate() {
        tables.push(factor(&twj.relation)?);
        if k > 0 {
            steps.push((JoinKind::Inner, None));
        }
        for j in &twj.joins {
            let (kind, c) = match &j.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => (JoinKind::Inner, c),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
                JoinOperator::CrossJoin(JoinConstraint::None) => {
                    (JoinKind::Inner, &JoinConstraint::None)
                }
                _ => return None,
            };
            let new = factor(&j.relation)?;
            let on = match c {
                JoinConstraint::On(e) => Some(e.clone()),
                JoinConstraint::None if matches!(j.join_operator, JoinOperator::CrossJoin(_)) => {
                    None
                }
                // `USING (a, b)`: each column equal on the tables either side.
                JoinConstraint::Using(cols) if tables.len() == 1 => {
                    let (left, la) = &tables[0];
                    let q = |t: &str, a: &Option<String>| {
                        a.clone()
                            .unwrap_or_else(|| t.rsplit('.').next().unwrap_or(t).to_string())
                    };
                    let (lq, rq) = (q(left, la), q(&new.0, &new.1));
                    let mut text = Vec::new();
                    for c in cols {
                        let c = quoted(&c.to_string().replace('"', ""));
                        text.push(format!("{}.{c} = {}.{c}", quoted(&lq), quoted(&rq)));
                    }
                    Some(
                        Parser::new(&PostgreSqlDialect {})
                            .try_with_sql(&text.join(" AND "))
                            .ok()?
                            .parse_expr()
                            .ok()?,
                    )
                }
                _ => return None,
            };
            tables.push(new);
            steps.push((kind, on));
        }
    }
    // Nothing read beyond these tables (no sub-query in the filter or the projection).
    if all.iter().any(|t| !tables.iter().any(|(n, _)| n == t)) || tables.is_empty() {
        return None;
    }
    Some(Join {
        tables,
        steps,
        filter: sel.selection.clone(),
    })
}

/// Every column an expression reads, with its qualifier (`count(*)` reads none).
fn exprs_columns(e: &Expr, out: &mut Vec<(Option<String>, String)>) {
    if let Some(c) = column(e) {
        out.push(c);
        return;
    }
    // Walk the expression's children through its textual form's identifiers would be wrong;
    // use the parser's own visitor for expressions.
    let _ = sqlparser::ast::visit_expressions(e, |x| {
        if let Some(c) = column(x) {
            out.push(c);
        }
        ControlFlow::<()>::Continue(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(sql: &str) -> Read {
        match analyse(sql) {
            Analysis::Read(r) => *r,
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn named(r: &Read, t: &str) -> Vec<String> {
        match &r.tables.iter().find(|x| x.table == t).unwrap().columns {
            Columns::Named(s) => s.iter().cloned().collect(),
            Columns::All => vec!["*".into()],
        }
    }

    #[test]
    fn copies_selects_and_joins_name_their_tables_and_columns() {
        let r = read(
            "COPY (SELECT customer_id, first_name, email FROM public.customers WHERE customer_id BETWEEN 1 AND 5) TO STDOUT WITH CSV HEADER",
        );
        assert!(r.copy && r.single && r.filter.is_some());
        assert_eq!(
            named(&r, "public.customers"),
            ["customer_id", "email", "first_name"]
        );
        let r = read("SELECT * FROM customers LIMIT 5");
        assert_eq!((r.limit, r.ordered), (Some(5), false));
        assert_eq!(named(&r, "public.customers"), ["*"]);
        let r = read("COPY public.orders (order_id, customer_id) TO STDOUT");
        assert_eq!(named(&r, "public.orders"), ["customer_id", "order_id"]);
        let r = read(
            "SELECT c.email, o.items_json, lower(c.last_name) FROM customers c JOIN orders o ON o.customer_id = c.customer_id WHERE c.postcode ILIKE 'LS%'",
        );
        assert!(!r.single && r.filter.is_none());
        assert_eq!(named(&r, "public.customers"), ["email", "last_name"]);
        assert_eq!(named(&r, "public.orders"), ["items_json"]);
        let none = |_: &str| None;
        let now = AsOf {
            time: 0,
            created: &none,
        };
        let sql = r.keys_sql("public.orders", "customer_id", &now).unwrap();
        assert!(
            sql.starts_with(
                "SELECT CAST(\"o\".\"customer_id\" AS TEXT) FROM customers AS c JOIN orders AS o"
            ),
            "{sql}"
        );
        assert!(sql.contains("WHERE c.postcode ILIKE 'LS%'"), "{sql}");
        // With creation times: only the rows there at the access.
        let created = |t: &str| (t == "public.customers").then(|| "created_at".to_string());
        let then = AsOf {
            time: 1_700_000_000_000_000_000,
            created: &created,
        };
        let sql = r.keys_sql("public.orders", "customer_id", &then).unwrap();
        assert!(
            sql.ends_with("WHERE (c.postcode ILIKE 'LS%') AND \"c\".\"created_at\" <= CAST('2023-11-14T22:13:20.000000Z' AS TIMESTAMPTZ)"),
            "{sql}"
        );
        let r = read("COPY customers TO STDOUT");
        let sql = r
            .keys_sql("public.customers", "customer_id", &then)
            .unwrap();
        assert!(sql.ends_with("FROM \"public\".\"customers\" WHERE \"created_at\" <= CAST('2023-11-14T22:13:20.000000Z' AS timestamptz)"), "{sql}");
        let r = read("WITH x AS (SELECT * FROM customers) SELECT count(*) FROM x");
        assert!(r.tables.iter().any(|t| t.table == "public.customers"));
        assert!(
            !r.tables.iter().any(|t| t.table == "public.x"),
            "a CTE is no table"
        );
        assert!(!r.single);
    }

    #[test]
    fn writes_and_multiple_statements_are_refused() {
        for sql in [
            "DELETE FROM customers WHERE customer_id = 1",
            "UPDATE customers SET email = 'x'",
            "COPY customers FROM '/tmp/x.csv'",
            "DROP TABLE orders",
            "SELECT 1; DROP TABLE orders",
        ] {
            assert!(matches!(analyse(sql), Analysis::Refused(_)), "{sql}");
        }
        assert_eq!(analyse("BEGIN"), Analysis::NoData);
        assert!(matches!(analyse("SELEC oops"), Analysis::Unparsed(_)));
    }
}
