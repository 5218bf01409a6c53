//! The data map: which tables hold people, which column identifies the person, and the
//! personal-data category of each column (docs/scope.md). Read from YAML with the same bounded
//! loader as rules; every mistake is refused with its line.

use dwell_sigma::yaml::{Limits, Node, Yaml, load_all};
use std::collections::BTreeMap;

/// One table of people.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The column that identifies a person (`customer_id`).
    pub person: String,
    /// Column → category (`email` → `email`), columns lower case.
    pub columns: BTreeMap<String, String>,
}

/// Tables of people by name (`schema.table`, lower case; `public.` when none was written).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataMap {
    /// The tables.
    pub tables: BTreeMap<String, Table>,
}

/// A table's name as the map keys it: lower case, `public.` when it has no schema.
pub fn table_key(name: &str) -> String {
    let n = name.trim().trim_matches('"').to_ascii_lowercase();
    if n.contains('.') {
        n
    } else {
        format!("public.{n}")
    }
}

impl DataMap {
    /// Reads a data map; errors name the line and what is wrong.
    pub fn parse(text: &str) -> Result<DataMap, String> {
        let docs = load_all(text, Limits::default()).map_err(|e| e.to_string())?;
        let [doc] = docs.as_slice() else {
            return Err(format!("expected one YAML document, found {}", docs.len()));
        };
        let tables = doc
            .get("tables")
            .ok_or_else(|| format!("line {}: no `tables:` mapping", doc.line))?;
        let Yaml::Map(entries) = &tables.value else {
            return Err(format!("line {}: `tables` must be a mapping", tables.line));
        };
        let mut map = DataMap::default();
        for (name, t) in entries {
            let name = name.scalar_text().unwrap_or_default();
            let at = |what: &str| format!("line {}: table {name}: {what}", t.line);
            let person = t
                .get("person")
                .and_then(Node::as_str)
                .ok_or_else(|| at("`person:` (the column that identifies a person) is missing"))?
                .to_ascii_lowercase();
            let cols = t
                .get("columns")
                .ok_or_else(|| at("`columns:` (column: category) is missing"))?;
            let Yaml::Map(cols) = &cols.value else {
                return Err(at("`columns` must be a mapping of column: category"));
            };
            let mut columns = BTreeMap::new();
            for (c, cat) in cols {
                let c = c.scalar_text().unwrap_or_default();
                let cat = cat
                    .as_str()
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| at(&format!("column {c}: the category must be a name")))?;
                columns.insert(c.to_ascii_lowercase(), cat.trim().to_string());
            }
            if map
                .tables
                .insert(table_key(&name), Table { person, columns })
                .is_some()
            {
                return Err(at("listed twice"));
            }
        }
        if map.tables.is_empty() {
            return Err(format!("line {}: `tables` lists no table", tables.line));
        }
        Ok(map)
    }

    /// The table of people called `name`, if the map lists it.
    pub fn table(&self, name: &str) -> Option<(&str, &Table)> {
        let k = table_key(name);
        self.tables.get_key_value(&k).map(|(k, t)| (k.as_str(), t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_is_read_and_its_mistakes_are_named() {
        let m = DataMap::parse(
            "tables:\n  public.customers:\n    person: customer_id\n    columns: {email: email, First_Name: name}\n  orders:\n    person: customer_id\n    columns: {items_json: order_history}\n",
        )
        .unwrap();
        assert_eq!(m.table("CUSTOMERS").unwrap().0, "public.customers");
        assert_eq!(
            m.table("public.orders").unwrap().1.columns["items_json"],
            "order_history"
        );
        assert_eq!(m.tables["public.customers"].columns["first_name"], "name");
        let e = DataMap::parse("tables:\n  customers:\n    columns: {email: email}\n").unwrap_err();
        assert!(e.starts_with("line 3") && e.contains("person"), "{e}");
        let e = DataMap::parse("tables: []\n").unwrap_err();
        assert!(e.contains("mapping"), "{e}");
    }
}
