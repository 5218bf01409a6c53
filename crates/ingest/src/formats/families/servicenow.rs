//! ServiceNow incident, change and request records as the Table API returns them
//! (`/api/now/table/<table>`, display values; `{"result": [...]}` or one record per line).
//! Shape from the Table API reference; `sys_created_on` is UTC. dwell's own log source:
//! `product: servicenow`, `service:` the table (`incident`, `change_request`, `sc_task`...),
//! derived from `sys_class_name` or the record number's prefix (docs/sources/service-desk.md).

use super::super::family::{JsonFamily, set_stream};
use crate::json::{Naming, Scratch};
use dwell_core::{Event, Role, RoleNames};

const PREFIXES: &[(&str, &str)] = &[
    ("INC", "incident"),
    ("CHG", "change_request"),
    ("CTASK", "change_task"),
    ("RITM", "sc_req_item"),
    ("REQ", "sc_request"),
    ("SCTASK", "sc_task"),
    ("PRB", "problem"),
    ("TASK", "task"),
];

fn finish(ev: &mut Event, _: &mut Scratch) {
    let table = ev.get("sys_class_name").map(str::to_string).or_else(|| {
        let n = ev.get("number")?;
        PREFIXES
            .iter()
            .find(|(p, _)| {
                n.starts_with(p) && n[p.len()..].starts_with(|c: char| c.is_ascii_digit())
            })
            .map(|(_, t)| t.to_string())
    });
    if let Some(t) = table {
        set_stream(ev, "servicenow_table", &t);
    }
}

/// ServiceNow Table API records.
pub(crate) const SERVICENOW: JsonFamily = JsonFamily {
    name: "servicenow",
    describe: "ServiceNow incident, change and request records (Table API JSON)",
    shapes: &[
        &["number", "sys_created_on"],
        &["number", "sys_id", "short_description"],
    ],
    unwrap: &["result"],
    naming: Naming::Dotted,
    roles: RoleNames::new(&[("sys_id", Role::RecordId), ("sys_created_on", Role::Time)]),
    time: &["sys_created_on", "opened_at"],
    mapping: include_str!("../../../data/servicenow.yml"),
    accounts: &["caller_id", "opened_by", "assigned_to", "requested_for"],
    ips: &[],
    hosts: &["cmdb_ci"],
    finish: Some(finish),
};
