//! Kubernetes API server audit events (`audit.k8s.io/v1` Event objects, one per line as the
//! log backend writes them, or an EventList). Shape from the Kubernetes auditing reference.

use super::super::family::JsonFamily;
use crate::json::Naming;
use dwell_core::{Role, RoleNames};

/// Kubernetes audit.
pub(crate) const KUBERNETES: JsonFamily = JsonFamily {
    name: "kubernetes-audit",
    describe: "Kubernetes API server audit events",
    shapes: &[&["auditID", "verb", "stage"]],
    unwrap: &[],
    naming: Naming::Dotted,
    roles: RoleNames::new(&[
        ("auditID", Role::RecordId),
        ("requestReceivedTimestamp", Role::Time),
    ]),
    time: &["requestReceivedTimestamp", "stageTimestamp"],
    mapping: include_str!("../../../data/kubernetes.yml"),
    accounts: &["user.username", "impersonatedUser.username"],
    ips: &["sourceIPs"],
    hosts: &[],
    finish: None,
};
