//! AWS CloudTrail: `{"Records": [...]}` files as delivered to S3 (gzipped or not), one record
//! per line, and `aws cloudtrail lookup-events` output, whose records are embedded as a JSON
//! string in `CloudTrailEvent` (read as if they stood alone). Shape from the CloudTrail record
//! contents reference (eventVersion 1.08+).

use super::super::family::{JsonFamily, embedded};
use crate::json::{Naming, Scratch};
use dwell_core::{Event, Role, RoleNames};

fn finish(ev: &mut Event, sc: &mut Scratch) {
    embedded(ev, sc, "CloudTrailEvent");
}

/// AWS CloudTrail.
pub(crate) const CLOUDTRAIL: JsonFamily = JsonFamily {
    name: "cloudtrail",
    describe: "AWS CloudTrail (S3 Records files, JSON lines, lookup-events output)",
    shapes: &[
        &["eventSource", "eventName", "eventTime"],
        &["EventId", "EventName", "CloudTrailEvent"],
    ],
    unwrap: &["Records", "Events"],
    naming: Naming::Dotted,
    roles: RoleNames::new(&[("eventTime", Role::Time), ("eventID", Role::RecordId)]),
    time: &["eventTime", "EventTime"],
    mapping: "sources:\n  - logsource: {product: aws, service: cloudtrail}\n    format: cloudtrail\n",
    accounts: &["userIdentity.arn", "userIdentity.userName", "Username"],
    ips: &["sourceIPAddress"],
    hosts: &[],
    finish: Some(finish),
};
