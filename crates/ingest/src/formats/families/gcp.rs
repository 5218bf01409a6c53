//! Google Cloud audit logs (Cloud Logging LogEntry objects with an AuditLog `protoPayload`, as
//! `gcloud logging read --format=json` and sinks write them) and Google Workspace activity
//! (Admin SDK Reports API `admin#reports#activity` records, and Workspace audit logs routed
//! to Cloud Logging). Shapes from the Cloud Audit Logs and Reports API references.
//!
//! The stream `gcp_service` is the service that wrote the record
//! (`admin.googleapis.com`, `login.googleapis.com`, `compute.googleapis.com`), and
//! `eventService` / `eventName` name the service and event in both shapes, as SigmaHQ's
//! Workspace rules do.

use super::super::family::{JsonFamily, set_stream};
use crate::json::{Naming, Scratch};
use dwell_core::{Event, Kind, Role, RoleNames, Section};

fn finish(ev: &mut Event, _: &mut Scratch) {
    let (service, event) = if let Some(s) = ev.get("protoPayload.serviceName") {
        let e = ev.get("protoPayload.metadata.event.eventName");
        (Some(s.to_string()), e.map(str::to_string))
    } else if let Some(app) = ev.get("id.applicationName") {
        let e = ev.get("events.name").map(str::to_string);
        (Some(format!("{app}.googleapis.com")), e)
    } else {
        (None, None)
    };
    if let Some(s) = service {
        set_stream(ev, "gcp_service", &s);
        ev.push(
            "eventService",
            "eventService",
            &s,
            Kind::Str,
            Section::Other,
        );
    }
    if let Some(e) = event {
        ev.push("eventName", "eventName", &e, Kind::Str, Section::Other);
    }
}

/// Google Cloud audit logs and Workspace activity.
pub(crate) const GCP: JsonFamily = JsonFamily {
    name: "gcp",
    describe: "Google Cloud audit logs and Google Workspace activity",
    shapes: &[
        &["protoPayload.methodName", "logName"],
        &["protoPayload.serviceName", "logName"],
        &["kind", "id.applicationName", "events.name"],
    ],
    unwrap: &[],
    naming: Naming::Dotted,
    roles: RoleNames::new(&[("insertId", Role::RecordId), ("timestamp", Role::Time)]),
    time: &["timestamp", "receiveTimestamp", "id.time"],
    mapping: include_str!("../../../data/gcp.yml"),
    accounts: &[
        "protoPayload.authenticationInfo.principalEmail",
        "actor.email",
    ],
    ips: &["protoPayload.requestMetadata.callerIp", "ipAddress"],
    hosts: &[],
    finish: Some(finish),
};
