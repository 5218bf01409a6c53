//! The spill files' record format: each detection as length-prefixed binary fields. The
//! files live only for one run, so the format is private; it replaced JSON lines, whose
//! escaping of each event's JSON text cost more than the rest of the merge.

use crate::detection::{CorrelationDetail, Detection, MemberRef};
use std::io::{self, Read};

fn u32_(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn u64_(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn str_(out: &mut Vec<u8>, s: &str) {
    u32_(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
}

fn opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            str_(out, s);
        }
    }
}

/// Appends one detection to `out`.
pub fn encode(d: &Detection, out: &mut Vec<u8>) {
    match d.timestamp {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            u64_(out, t as u64);
        }
    }
    u32_(out, d.rule);
    u32_(out, d.input);
    u64_(out, d.record);
    str_(out, &d.computer);
    str_(out, &d.channel);
    match d.event_id {
        None => out.push(0),
        Some(e) => {
            out.push(1);
            u32_(out, e);
        }
    }
    str_(out, &d.provider);
    u32_(out, d.matched.len() as u32);
    for (k, v) in &d.matched {
        str_(out, k);
        str_(out, v);
    }
    str_(out, &d.event);
    u64_(out, d.event_key);
    u32_(out, d.captured.len() as u32);
    for (k, v) in &d.captured {
        str_(out, k);
        opt_str(out, v.as_deref());
    }
    match &d.correlation {
        None => out.push(0),
        Some(c) => {
            out.push(1);
            u64_(out, c.start as u64);
            u64_(out, c.end as u64);
            u32_(out, c.group.len() as u32);
            for (k, v) in &c.group {
                str_(out, k);
                opt_str(out, v.as_deref());
            }
            u64_(out, c.value.to_bits());
            u32_(out, c.members.len() as u32);
            for m in &c.members {
                u32_(out, m.rule);
                u64_(out, m.time as u64);
                u32_(out, m.input);
                u64_(out, m.record);
            }
            u64_(out, c.more_members as u64);
        }
    }
}

/// Reads fields back from a spill file.
struct Reader<'a, R: Read>(&'a mut R);

impl<R: Read> Reader<'_, R> {
    fn bytes<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.0.read_exact(&mut b)?;
        Ok(b)
    }

    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.bytes::<1>()?[0])
    }

    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }

    fn string(&mut self) -> io::Result<String> {
        let n = self.u32()? as usize;
        let mut v = vec![0u8; n];
        self.0.read_exact(&mut v)?;
        String::from_utf8(v).map_err(io::Error::other)
    }

    fn opt_string(&mut self) -> io::Result<Option<String>> {
        Ok(match self.u8()? {
            0 => None,
            _ => Some(self.string()?),
        })
    }

    fn flag(&mut self) -> io::Result<bool> {
        Ok(self.u8()? != 0)
    }
}

/// Reads the next detection, or `None` at the end of the file.
pub fn decode<R: Read>(r: &mut R) -> io::Result<Option<Detection>> {
    let mut first = [0u8; 1];
    if r.read(&mut first)? == 0 {
        return Ok(None);
    }
    let mut r = Reader(r);
    let timestamp = match first[0] {
        0 => None,
        _ => Some(r.u64()? as i64),
    };
    let rule = r.u32()?;
    let input = r.u32()?;
    let record = r.u64()?;
    let computer = r.string()?;
    let channel = r.string()?;
    let event_id = if r.flag()? { Some(r.u32()?) } else { None };
    let provider = r.string()?;
    let n = r.u32()? as usize;
    let mut matched = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        matched.push((r.string()?, r.string()?));
    }
    let event = r.string()?;
    let event_key = r.u64()?;
    let n = r.u32()? as usize;
    let mut captured = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        captured.push((r.string()?, r.opt_string()?));
    }
    let correlation = if r.flag()? {
        let start = r.u64()? as i64;
        let end = r.u64()? as i64;
        let n = r.u32()? as usize;
        let mut group = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            group.push((r.string()?, r.opt_string()?));
        }
        let value = f64::from_bits(r.u64()?);
        let n = r.u32()? as usize;
        let mut members = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            members.push(MemberRef {
                rule: r.u32()?,
                time: r.u64()? as i64,
                input: r.u32()?,
                record: r.u64()?,
            });
        }
        let more_members = r.u64()? as usize;
        Some(CorrelationDetail {
            start,
            end,
            group,
            value,
            members,
            more_members,
        })
    } else {
        None
    };
    Ok(Some(Detection {
        timestamp,
        rule,
        input,
        record,
        computer,
        channel,
        event_id,
        provider,
        matched,
        event,
        event_key,
        captured,
        correlation,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let plain = Detection {
            timestamp: Some(-5),
            rule: 7,
            input: 2,
            record: u64::MAX,
            computer: "ws01".into(),
            channel: "Security".into(),
            event_id: Some(4624),
            provider: String::new(),
            matched: vec![("CommandLine|contains".into(), "é \n\"x\"".into())],
            event: "{\"a\":\"</script>\"}".into(),
            event_key: 42,
            captured: vec![
                ("User".into(), None),
                ("Ip".into(), Some("10.0.0.1".into())),
            ],
            correlation: None,
        };
        let corr = Detection {
            timestamp: None,
            event_id: None,
            correlation: Some(CorrelationDetail {
                start: 1,
                end: 2,
                group: vec![("User".into(), Some("bob".into())), ("Host".into(), None)],
                value: 2.5,
                members: vec![MemberRef {
                    rule: 1,
                    time: 3,
                    input: 0,
                    record: 9,
                }],
                more_members: 4,
            }),
            ..plain.clone()
        };
        let mut buf = Vec::new();
        encode(&plain, &mut buf);
        encode(&corr, &mut buf);
        let mut r = &buf[..];
        assert_eq!(decode(&mut r).unwrap(), Some(plain));
        assert_eq!(decode(&mut r).unwrap(), Some(corr));
        assert_eq!(decode(&mut r).unwrap(), None);
        // A file cut short is an error, not a silent end.
        let mut cut = &buf[..buf.len() - 3];
        decode(&mut cut).unwrap();
        assert!(decode(&mut cut).is_err());
    }
}
