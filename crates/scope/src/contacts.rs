//! The names and contact details of the people affected, to tell them (GDPR Art. 34): read
//! from the snapshots of the tables of people, else from the database with one query per
//! table that dwell writes itself, and only ever when the user asks for them.

use crate::map::DataMap;
use crate::snapshot::Snapshot;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The categories that are contact details, in the order the keys file lists them.
pub const CONTACT: &[&str] = &["name", "email", "phone", "postal_address"];

/// Where contact details come from when no snapshot has them.
pub trait Lookup {
    /// The rows of `table` whose `person` (as text) is among `keys`: the person, then each
    /// of `columns`, as text.
    fn lookup(
        &mut self,
        table: &str,
        person: &str,
        columns: &[String],
        keys: &[String],
    ) -> Result<Vec<Vec<Option<String>>>, String>;
}

/// Person → contact category → value (a category's columns joined with spaces, in column
/// order: `first_name last_name`). A table without a snapshot is looked up in `db`, if given;
/// the errors say which tables could not be read.
pub fn contacts(
    map: &DataMap,
    snapshots: &HashMap<String, Snapshot>,
    mut db: Option<&mut dyn Lookup>,
    keys: &BTreeSet<String>,
) -> (BTreeMap<String, BTreeMap<String, String>>, Vec<String>) {
    let mut found: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut errors = Vec::new();
    for (name, table) in &map.tables {
        let columns: Vec<(String, String)> = table
            .columns
            .iter()
            .filter(|(_, c)| CONTACT.contains(&c.as_str()))
            .map(|(col, c)| (col.clone(), c.clone()))
            .collect();
        // A view without a person column cannot be looked up by person.
        if columns.is_empty() || table.person.is_empty() {
            continue;
        }
        let mut add = |person: &str, values: Vec<Option<&str>>| {
            if !keys.contains(person) {
                return;
            }
            let entry = found.entry(person.to_string()).or_default();
            for ((_, cat), v) in columns.iter().zip(values) {
                let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
                    continue;
                };
                // The same person in two tables (or a view): each value once.
                let slot = entry.entry(cat.clone()).or_default();
                if !slot.iter().any(|x| x == v) {
                    slot.push(v.to_string());
                }
            }
        };
        if let Some(s) = snapshots.get(name) {
            for r in 0..s.len() {
                let Some(person) = s.value_at(r, &table.person) else {
                    continue;
                };
                add(
                    person,
                    columns.iter().map(|(c, _)| s.value_at(r, c)).collect(),
                );
            }
        } else if let Some(db) = db.as_deref_mut() {
            let cols: Vec<String> = columns.iter().map(|(c, _)| c.clone()).collect();
            let wanted: Vec<String> = keys.iter().cloned().collect();
            match db.lookup(name, &table.person, &cols, &wanted) {
                Ok(rows) => {
                    for row in rows {
                        let Some(Some(person)) = row.first() else {
                            continue;
                        };
                        add(person, row[1..].iter().map(|v| v.as_deref()).collect());
                    }
                }
                Err(e) => errors.push(format!("{name}: {e}")),
            }
        } else {
            errors.push(format!(
                "{name}: no snapshot and no database to read it from"
            ));
        }
    }
    let out = found
        .into_iter()
        .map(|(k, cats)| (k, cats.into_iter().map(|(c, v)| (c, v.join(" "))).collect()))
        .collect();
    (out, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_details_come_from_the_snapshots_of_the_people_asked_for() {
        let map = DataMap::parse(
            "tables:\n  customers:\n    person: id\n    columns: {first_name: name, last_name: name, email: email, dob: date_of_birth}\n  orders:\n    person: id\n    columns: {items: order_history}\n",
        )
        .unwrap();
        let s = Snapshot::parse("id,first_name,last_name,email,dob\n1,Ann,Lee,a@x,1990\n2,Bo,,b@x,1980\n3,Cy,Ng,c@x,1970\n").unwrap();
        let snaps = [("public.customers".to_string(), s)].into_iter().collect();
        let keys = ["1", "2"].iter().map(|k| k.to_string()).collect();
        let (c, errors) = contacts(&map, &snaps, None, &keys);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(c.len(), 2);
        assert_eq!(c["1"]["name"], "Ann Lee");
        assert_eq!(c["2"]["name"], "Bo");
        assert_eq!(c["1"]["email"], "a@x");
        assert!(
            !c["1"].contains_key("date_of_birth"),
            "not a contact detail"
        );
    }
}
