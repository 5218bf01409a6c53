//! Okta System Log: LogEvent objects as `GET /api/v1/logs` returns them (a JSON array) or one
//! per line. Shape from Okta's System Log API reference (LogEvent object).

use super::super::family::JsonFamily;
use crate::json::Naming;
use dwell_core::{Role, RoleNames};

/// Okta System Log.
pub(crate) const OKTA: JsonFamily = JsonFamily {
    name: "okta",
    describe: "Okta System Log (JSON lines or the API's JSON array)",
    shapes: &[&["eventType", "published", "actor.alternateId"]],
    unwrap: &[],
    naming: Naming::Dotted,
    roles: RoleNames::new(&[
        ("eventType", Role::Code),
        ("published", Role::Time),
        ("uuid", Role::RecordId),
    ]),
    time: &["published"],
    mapping: "sources:\n  - logsource: {product: okta, service: okta}\n    format: okta\n",
    accounts: &["actor.alternateId", "target.alternateId"],
    ips: &["client.ipAddress", "request.ipChain.ip"],
    hosts: &[],
    finish: None,
};
