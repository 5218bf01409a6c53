//! Zeek logs written as JSON (`LogAscii::use_json`, or Corelight and Filebeat's shipping), one
//! record per line. Zeek's own JSON has no log type, so the stream `_path` is the record's
//! `_path` when the writer added it, and otherwise the log its fields are unique to (conn,
//! dns, http, smb_files, dce_rpc, kerberos, rdp, x509, ssl, files, notice, weird). Shapes from
//! the Zeek log reference.

use super::super::family::{JsonFamily, set_stream};
use crate::json::{Naming, Scratch};
use dwell_core::{Event, Role, RoleNames};

/// The log a record's fields say it is from, tested most specific first.
const SIGNATURES: &[(&str, &[&str])] = &[
    ("dce_rpc", &["endpoint", "operation"]),
    ("kerberos", &["request_type", "client"]),
    ("rdp", &["cookie", "security_protocol"]),
    ("smb_files", &["fuid", "action", "path"]),
    ("smb_mapping", &["share_type"]),
    ("x509", &["certificate.serial"]),
    ("dns", &["query", "qtype_name"]),
    ("dns", &["query", "rcode"]),
    ("http", &["method", "uri"]),
    ("ssl", &["server_name", "version", "cipher"]),
    ("notice", &["note", "msg"]),
    ("weird", &["name", "notice", "peer"]),
    ("files", &["fuid", "mime_type"]),
    ("conn", &["proto", "conn_state"]),
];

fn finish(ev: &mut Event, _: &mut Scratch) {
    if ev.stream().is_some() {
        return;
    }
    if let Some((path, _)) = SIGNATURES
        .iter()
        .find(|(_, keys)| keys.iter().all(|k| ev.get(k).is_some()))
    {
        set_stream(ev, "_path", path);
    }
}

/// Zeek JSON logs.
pub(crate) const ZEEK: JsonFamily = JsonFamily {
    name: "zeek",
    describe: "Zeek logs in JSON",
    shapes: &[&["ts", "uid", "id.orig_h"], &["ts", "_path"]],
    unwrap: &[],
    naming: Naming::Dotted,
    roles: RoleNames::new(&[
        ("_path", Role::Stream),
        ("uid", Role::RecordId),
        ("ts", Role::Time),
    ]),
    time: &["ts"],
    mapping: include_str!("../../../data/zeek.yml"),
    accounts: &["client", "username", "cookie"],
    ips: &["id.orig_h", "id.resp_h"],
    hosts: &["server_name", "host"],
    finish: Some(finish),
};
