//! Addresses to hosts, over time: which host held an IP address when, from logons that name
//! the workstation they came from (never the logging host itself), Sysmon's network events
//! (the logging host's own end of a connection) and any other [`Address`] read.

use crate::logon::{Logon, LogonKind};
use crate::trace::Address;
use std::collections::HashMap;

/// Every host seen holding each address, in time order.
#[derive(Debug, Default)]
pub struct Addresses {
    by_ip: HashMap<String, Vec<(i64, String)>>,
}

impl Addresses {
    /// Learns from logon records and address traces.
    pub fn learn(logons: &[Logon], seen: &[Address]) -> Addresses {
        let mut by_ip: HashMap<String, Vec<(i64, String)>> = HashMap::new();
        for l in logons {
            if l.kind == LogonKind::Logon
                && let (Some(ip), Some(from)) = (&l.from_ip, &l.from)
                && from != ip
            {
                by_ip
                    .entry(ip.clone())
                    .or_default()
                    .push((l.time, from.clone()));
            }
        }
        for a in seen {
            by_ip
                .entry(a.ip.clone())
                .or_default()
                .push((a.time, a.host.clone()));
        }
        for v in by_ip.values_mut() {
            v.sort();
            // Only the changes of holder matter.
            v.dedup_by(|later, earlier| later.1 == earlier.1);
        }
        Addresses { by_ip }
    }

    /// The host that held `ip` at `t`: the last one seen with it at or before `t`, or, before
    /// any was, the first one seen.
    pub fn at(&self, ip: &str, t: i64) -> Option<&str> {
        let v = self.by_ip.get(ip)?;
        let k = v.partition_point(|(s, _)| *s <= t);
        let i = if k == 0 { 0 } else { k - 1 };
        v.get(i).map(|(_, h)| h.as_str())
    }

    /// `h` itself, or the host that held it at `t` when it is an address.
    pub fn resolve(&self, h: &str, t: i64) -> String {
        self.at(h, t).unwrap_or(h).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(t: i64, ip: &str, host: &str) -> Address {
        Address {
            time: t,
            ip: ip.into(),
            host: host.into(),
            how: "test",
        }
    }

    #[test]
    fn an_address_is_the_host_that_held_it_then() {
        let a = Addresses::learn(
            &[],
            &[
                addr(100, "10.0.0.5", "WS01"),
                addr(200, "10.0.0.5", "WS01"),
                addr(500, "10.0.0.5", "WS07"),
            ],
        );
        assert_eq!(a.at("10.0.0.5", 50), Some("WS01"));
        assert_eq!(a.at("10.0.0.5", 499), Some("WS01"));
        assert_eq!(a.at("10.0.0.5", 500), Some("WS07"));
        assert_eq!(a.at("10.0.0.9", 500), None);
        assert_eq!(a.resolve("10.0.0.5", 600), "WS07");
        assert_eq!(a.resolve("DC01", 600), "DC01");
    }
}
