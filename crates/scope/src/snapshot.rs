//! A table's snapshot: a CSV export with a header row (`\copy table TO file CSV HEADER`, or a
//! restored backup exported so), held in memory column by name. Quoted fields may hold commas,
//! doubled quotes and line breaks, as PostgreSQL writes them.

use crate::eval::Row;
use std::collections::HashMap;

/// One table as it stood.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Column names, lower case, in order.
    pub columns: Vec<String>,
    index: HashMap<String, usize>,
    /// The rows.
    pub rows: Vec<Vec<String>>,
}

/// One row of a snapshot, for [`crate::eval`].
pub struct SnapRow<'a> {
    snap: &'a Snapshot,
    row: &'a [String],
}

impl Row for SnapRow<'_> {
    fn get(&self, column: &str) -> Result<Option<&str>, String> {
        match self.snap.index.get(column) {
            Some(&k) => Ok(self
                .row
                .get(k)
                .map(String::as_str)
                .filter(|v| !v.is_empty())),
            None => Err(format!("the snapshot has no column {column}")),
        }
    }
}

impl Snapshot {
    /// Reads CSV text; errors name the line.
    pub fn parse(text: &str) -> Result<Snapshot, String> {
        let mut records = Records { s: text, line: 1 };
        let header = records
            .next()
            .ok_or("the snapshot is empty: it needs a header row")??;
        let columns: Vec<String> = header
            .iter()
            .map(|c| c.trim().to_ascii_lowercase())
            .collect();
        let index = columns
            .iter()
            .enumerate()
            .map(|(k, c)| (c.clone(), k))
            .collect();
        let mut rows = Vec::new();
        while let Some(r) = records.next() {
            let (line, r) = (records.line, r?);
            if r.len() == 1 && r[0].is_empty() {
                continue;
            }
            if r.len() != columns.len() {
                return Err(format!(
                    "line {}: {} fields, the header has {}",
                    line - 1,
                    r.len(),
                    columns.len()
                ));
            }
            rows.push(r);
        }
        Ok(Snapshot {
            columns,
            index,
            rows,
        })
    }

    /// Every row, for evaluation.
    pub fn iter(&self) -> impl Iterator<Item = SnapRow<'_>> {
        self.rows.iter().map(move |row| SnapRow { snap: self, row })
    }

    /// The value of `column` in a row, if the snapshot has the column.
    pub fn value<'a>(&self, row: &SnapRow<'a>, column: &str) -> Option<&'a str> {
        self.index
            .get(column)
            .and_then(|&k| row.row.get(k))
            .map(String::as_str)
    }

    /// Whether it has the column.
    pub fn has(&self, column: &str) -> bool {
        self.index.contains_key(column)
    }
}

/// CSV records, each a list of fields.
struct Records<'a> {
    s: &'a str,
    line: usize,
}

impl Iterator for Records<'_> {
    type Item = Result<Vec<String>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.s.is_empty() {
            return None;
        }
        let start = self.line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = self.s.char_indices().peekable();
        let mut quoted = false;
        let mut at_start = true;
        while let Some((i, c)) = chars.next() {
            match (quoted, c) {
                (false, '"') if at_start => {
                    quoted = true;
                    at_start = false;
                }
                (true, '"') => {
                    if chars.peek().map(|p| p.1) == Some('"') {
                        field.push('"');
                        chars.next();
                    } else {
                        quoted = false;
                    }
                }
                (false, ',') => {
                    fields.push(std::mem::take(&mut field));
                    at_start = true;
                }
                (false, '\n') => {
                    self.line += 1;
                    if field.ends_with('\r') {
                        field.pop();
                    }
                    fields.push(std::mem::take(&mut field));
                    self.s = &self.s[i + 1..];
                    return Some(Ok(fields));
                }
                (_, c) => {
                    if c == '\n' {
                        self.line += 1;
                    }
                    field.push(c);
                    at_start = false;
                }
            }
        }
        self.s = "";
        if quoted {
            return Some(Err(format!("line {start}: a quoted field is not closed")));
        }
        fields.push(field);
        Some(Ok(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_exports_are_read_with_quotes_and_breaks() {
        let s = Snapshot::parse(
            "customer_id,Name,items\n1,\"Owen, Jack\",\"[{\"\"sku\"\":1}]\"\n2,,\"two\nlines\"\n",
        )
        .unwrap();
        assert_eq!(s.columns, ["customer_id", "name", "items"]);
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[0][1], "Owen, Jack");
        assert_eq!(s.rows[0][2], "[{\"sku\":1}]");
        assert_eq!(s.rows[1][2], "two\nlines");
        let r: Vec<_> = s.iter().collect();
        assert_eq!(r[1].get("name"), Ok(None), "an empty field is NULL");
        let e = Snapshot::parse("a,b\n1,2,3\n").unwrap_err();
        assert!(e.starts_with("line 2"), "{e}");
    }
}
