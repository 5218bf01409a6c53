//! GitHub audit log entries (organisation and enterprise), as the REST API and the audit-log
//! streaming and JSON export write them: `action`, `actor`, `@timestamp` in milliseconds.
//! Shape from GitHub's "Reviewing the audit log" and audit-log event documentation.

use super::super::family::JsonFamily;
use crate::json::Naming;
use dwell_core::{Role, RoleNames};

/// GitHub audit log.
pub(crate) const GITHUB: JsonFamily = JsonFamily {
    name: "github",
    describe: "GitHub audit log (API, streaming and JSON export)",
    shapes: &[
        &["action", "actor", "@timestamp"],
        &["action", "actor", "created_at", "org"],
    ],
    unwrap: &[],
    naming: Naming::Dotted,
    roles: RoleNames::new(&[("action", Role::Provider), ("_document_id", Role::RecordId)]),
    time: &["@timestamp", "created_at"],
    mapping: "sources:\n  - logsource: {product: github, service: audit}\n    format: github\n",
    accounts: &["actor", "user"],
    ips: &["actor_ip"],
    hosts: &[],
    finish: None,
};
