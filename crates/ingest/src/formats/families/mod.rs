//! The JSON log families dwell ships, one file each (see [`super::family::JsonFamily`]).

pub(crate) mod azure;
pub(crate) mod cloudtrail;
pub(crate) mod ecs;
pub(crate) mod gcp;
pub(crate) mod github;
pub(crate) mod kubernetes;
pub(crate) mod m365;
pub(crate) mod okta;
pub(crate) mod servicenow;
pub(crate) mod zeek;
