//! A table's snapshot: a CSV export with a header row (`\copy table TO file CSV HEADER`, or a
//! restored backup exported so), held in memory as one text with the end of each cell, so a
//! million-row table costs its size and four bytes a cell. Quoted fields may hold commas,
//! doubled quotes and line breaks, as PostgreSQL writes them.

use std::collections::HashMap;

/// One table as it stood.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Column names, lower case, in order.
    pub columns: Vec<String>,
    index: HashMap<String, usize>,
    /// Every cell's text, row after row.
    text: String,
    /// Where each cell ends in `text` (it starts where the one before ends).
    ends: Vec<u32>,
}

impl Snapshot {
    /// Reads CSV text; errors name the line.
    pub fn parse(text: &str) -> Result<Snapshot, String> {
        if text.len() > u32::MAX as usize {
            return Err("the snapshot is larger than 4 GiB: split it by rows".into());
        }
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
        let mut s = Snapshot {
            columns,
            index,
            text: String::with_capacity(text.len()),
            ends: Vec::new(),
        };
        while let Some(r) = records.next() {
            let (line, r) = (records.line, r?);
            if r.len() == 1 && r[0].is_empty() {
                continue;
            }
            if r.len() != s.columns.len() {
                return Err(format!(
                    "line {}: {} fields, the header has {}",
                    line - 1,
                    r.len(),
                    s.columns.len()
                ));
            }
            for cell in r {
                s.text.push_str(&cell);
                s.ends.push(s.text.len() as u32);
            }
        }
        s.text.shrink_to_fit();
        Ok(s)
    }

    /// How many rows it has.
    pub fn len(&self) -> usize {
        self.ends.len() / self.columns.len().max(1)
    }

    /// Whether it has no row.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The value of `column` in row `row` (empty for NULL), if both exist.
    pub fn value_at(&self, row: usize, column: &str) -> Option<&str> {
        let k = *self.index.get(column)?;
        let cell = row.checked_mul(self.columns.len())?.checked_add(k)?;
        let end = *self.ends.get(cell)? as usize;
        let start = match cell {
            0 => 0,
            c => self.ends[c - 1] as usize,
        };
        Some(&self.text[start..end])
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
        assert_eq!(s.len(), 2);
        assert_eq!(s.value_at(0, "name"), Some("Owen, Jack"));
        assert_eq!(s.value_at(0, "items"), Some("[{\"sku\":1}]"));
        assert_eq!(s.value_at(1, "items"), Some("two\nlines"));
        assert_eq!(
            s.value_at(1, "name"),
            Some(""),
            "an empty field, NULL to eval"
        );
        assert_eq!(s.value_at(2, "name"), None);
        assert_eq!(s.value_at(0, "nope"), None);
        let e = Snapshot::parse("a,b\n1,2,3\n").unwrap_err();
        assert!(e.starts_with("line 2"), "{e}");
    }
}
