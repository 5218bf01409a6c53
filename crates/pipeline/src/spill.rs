//! The spill files' record format: each detection as length-prefixed binary fields. The files
//! live only for one run, so the format is private; it replaced JSON lines, whose escaping of
//! each event's JSON text cost more than the rest of the merge.

use dwell_core::{Kind, Record, Section};
use dwell_detect::{CorrelationDetail, Detection, MemberRef};
use std::io::{self, Read};
use std::sync::Arc;

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

fn kind_byte(k: Kind) -> u8 {
    match k {
        Kind::Str => 0,
        Kind::Num => 1,
        Kind::Bool => 2,
        Kind::Null => 3,
    }
}

fn section_byte(s: Section) -> u8 {
    s as u8
}

/// Appends one detection to `out`.
pub(crate) fn encode(d: &Detection, out: &mut Vec<u8>) {
    match d.time {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            u64_(out, t as u64);
        }
    }
    u32_(out, d.rule);
    u32_(out, d.input);
    u64_(out, d.record);
    str_(out, &d.host);
    str_(out, &d.stream);
    match d.code {
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
    u32_(out, d.event.len() as u32);
    for (name, value, kind, section) in d.event.iter_sections() {
        str_(out, name);
        str_(out, value);
        out.push(kind_byte(kind));
        out.push(section_byte(section));
    }
    opt_str(out, d.ident.as_deref());
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

fn kind_of(b: u8) -> io::Result<Kind> {
    Ok(match b {
        0 => Kind::Str,
        1 => Kind::Num,
        2 => Kind::Bool,
        3 => Kind::Null,
        _ => return Err(io::Error::other("bad value kind in spill file")),
    })
}

fn section_of(b: u8) -> io::Result<Section> {
    Ok(match b {
        0 => Section::Header,
        1 => Section::Data,
        2 => Section::Extra,
        3 => Section::Other,
        _ => return Err(io::Error::other("bad section in spill file")),
    })
}

/// Reads the next detection, or `None` at the end of the file.
pub(crate) fn decode<R: Read>(r: &mut R) -> io::Result<Option<Detection>> {
    let mut first = [0u8; 1];
    if r.read(&mut first)? == 0 {
        return Ok(None);
    }
    let mut r = Reader(r);
    let time = match first[0] {
        0 => None,
        _ => Some(r.u64()? as i64),
    };
    let rule = r.u32()?;
    let input = r.u32()?;
    let record = r.u64()?;
    let host = r.string()?;
    let stream = r.string()?;
    let code = if r.flag()? { Some(r.u32()?) } else { None };
    let provider = r.string()?;
    let n = r.u32()? as usize;
    let mut matched = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        matched.push((r.string()?, r.string()?));
    }
    let n = r.u32()? as usize;
    let mut event = Record::default();
    for _ in 0..n {
        let name = r.string()?;
        let value = r.string()?;
        let kind = kind_of(r.u8()?)?;
        let section = section_of(r.u8()?)?;
        event.push(&name, &value, kind, section);
    }
    let ident = r.opt_string()?;
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
        Some(Box::new(CorrelationDetail {
            start,
            end,
            group,
            value,
            members,
            more_members,
        }))
    } else {
        None
    };
    Ok(Some(Detection {
        time,
        rule,
        input,
        record,
        host,
        stream,
        code,
        provider,
        matched,
        event: Arc::new(event),
        ident,
        captured,
        correlation,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut event = Record::default();
        event.push("a", "</script>", Kind::Str, Section::Data);
        event.push("n", "1", Kind::Num, Section::Header);
        event.push("z", "", Kind::Null, Section::Other);
        let plain = Detection {
            time: Some(-5),
            rule: 7,
            input: 2,
            record: u64::MAX,
            host: "ws01".into(),
            stream: "Security".into(),
            code: Some(4624),
            provider: String::new(),
            matched: vec![("CommandLine|contains".into(), "é \n\"x\"".into())],
            event: Arc::new(event),
            ident: Some("42".into()),
            captured: vec![
                ("User".into(), None),
                ("Ip".into(), Some("10.0.0.1".into())),
            ],
            correlation: None,
        };
        let corr = Detection {
            time: None,
            code: None,
            ident: None,
            correlation: Some(Box::new(CorrelationDetail {
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
            })),
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
