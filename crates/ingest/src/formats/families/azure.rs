//! Microsoft Entra ID (sign-in, audit, risk detection) and Azure Activity logs, in the shapes
//! they are exported in: Azure Monitor diagnostic settings (`{"records": [...]}` or one record
//! per line, the body under `properties`), Log Analytics exports (PascalCase columns, `Type`),
//! Microsoft Graph (`{"value": [...]}` of signIns, directoryAudits, riskDetections) and
//! `az monitor activity-log list` (camelCase or, in older CLIs, snake_case, with `{value,
//! localizedValue}` objects). Shapes from Microsoft's "Azure Monitor resource log schema",
//! the Log Analytics table references and the Graph resource types.
//!
//! Which log a record belongs to is its stream, `azure_log` (`SignInLogs`, `AuditLogs`,
//! `RiskDetection`, `Activity`), derived from `category` / `Type` or, for Graph, its shape.

use super::super::family::{JsonFamily, alias, set_stream};
use crate::json::{Naming, Scratch};
use dwell_core::{Event, Role, RoleNames};

/// The stream a record's category or table names.
fn stream_of(category: &str) -> Option<&'static str> {
    let c = category.to_ascii_lowercase();
    Some(match c.as_str() {
        "signinlogs"
        | "noninteractiveusersigninlogs"
        | "serviceprincipalsigninlogs"
        | "managedidentitysigninlogs"
        | "aadnoninteractiveusersigninlogs"
        | "aadserviceprincipalsigninlogs"
        | "aadmanagedidentitysigninlogs" => "SignInLogs",
        "auditlogs" => "AuditLogs",
        "userriskevents"
        | "riskyusers"
        | "aaduserriskevents"
        | "aadriskyusers"
        | "serviceprincipalriskevents"
        | "riskyserviceprincipals" => "RiskDetection",
        "administrative" | "security" | "servicehealth" | "alert" | "recommendation" | "policy"
        | "autoscale" | "resourcehealth" | "azureactivity" => "Activity",
        _ => return None,
    })
}

/// `operation_name` -> `operationName`.
fn camel(name: &str) -> Option<String> {
    if !name.contains('_') || name.starts_with('_') {
        return None;
    }
    let mut out = String::with_capacity(name.len());
    let mut up = false;
    for c in name.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn finish(ev: &mut Event, _: &mut Scratch) {
    // Aliases: snake_case names in camelCase, and `{value, localizedValue}` objects under
    // their own name and as `<Name>Value` (Log Analytics' `OperationNameValue`).
    let n = ev.fields.len();
    for i in 0..n {
        let name = ev.name(&ev.fields[i]).to_string();
        let camelled = camel(&name);
        let base = camelled.as_deref().unwrap_or(&name).to_string();
        if let Some(c) = camelled {
            alias(ev, i, &c);
        }
        if let Some(stem) = base.strip_suffix(".value") {
            alias(ev, i, stem);
            alias(ev, i, &format!("{stem}Value"));
        }
    }
    let named = ["category", "Type", "category.value", "Category"]
        .iter()
        .find_map(|k| ev.get(k).and_then(stream_of));
    let stream = named.or_else(|| {
        if ev.get("riskEventType").is_some() {
            Some("RiskDetection")
        } else if ev.get("activityDisplayName").is_some() {
            Some("AuditLogs")
        } else if ev.get("createdDateTime").is_some() && ev.get("userPrincipalName").is_some() {
            Some("SignInLogs")
        } else {
            None
        }
    });
    if let Some(s) = stream {
        set_stream(ev, "azure_log", s);
    }
}

/// Entra ID and Azure Activity logs.
pub(crate) const AZURE: JsonFamily = JsonFamily {
    name: "azure",
    describe: "Microsoft Entra ID sign-in, audit and risk logs and Azure Activity logs",
    shapes: &[
        &["time", "operationName", "category"],
        &["TimeGenerated", "Type"],
        &["operationName", "eventTimestamp", "caller"],
        &["operation_name", "event_timestamp", "caller"],
        &["createdDateTime", "userPrincipalName", "appDisplayName"],
        &["activityDateTime", "activityDisplayName", "loggedByService"],
        &["riskEventType", "detectedDateTime"],
    ],
    unwrap: &["records", "value"],
    naming: Naming::Lifted(&["properties"]),
    roles: RoleNames::new(&[("correlationId", Role::RecordId)]),
    time: &[
        "time",
        "TimeGenerated",
        "createdDateTime",
        "activityDateTime",
        "eventTimestamp",
        "event_timestamp",
        "detectedDateTime",
    ],
    mapping: include_str!("../../../data/azure.yml"),
    accounts: &[
        "userPrincipalName",
        "UserPrincipalName",
        "initiatedBy.user.userPrincipalName",
        "identity",
        "caller",
    ],
    ips: &[
        "ipAddress",
        "IPAddress",
        "callerIpAddress",
        "httpRequest.clientIpAddress",
        "http_request.client_ip_address",
    ],
    hosts: &[],
    finish: Some(finish),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_tables_name_streams() {
        assert_eq!(stream_of("SignInLogs"), Some("SignInLogs"));
        assert_eq!(
            stream_of("AADNonInteractiveUserSignInLogs"),
            Some("SignInLogs")
        );
        assert_eq!(stream_of("Administrative"), Some("Activity"));
        assert_eq!(stream_of("UserManagement"), None);
        assert_eq!(camel("operation_name").as_deref(), Some("operationName"));
        assert_eq!(camel("_path"), None);
    }
}
