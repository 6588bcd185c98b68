//! Remote-address patterns of `plain_acl.yml` (`globalWhiteRemoteAddresses`, an account's
//! `whiteRemoteAddress`), protocol.md §8.3: `*` or `*.*.*.*` (any), an exact address, IPv4
//! segments that are a number, `*`, a range `a-b` or a set `{a,b,c}`, and comma-separated lists
//! of these. IPv6 entries match exactly (after parsing) or by `*`. Blank matches nothing.

use std::net::IpAddr;

/// One IPv4 segment's pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Any,
    Range(u8, u8),
    Set(Vec<u8>),
}

impl Segment {
    fn parse(s: &str) -> Option<Segment> {
        let s = s.trim();
        if s == "*" {
            return Some(Segment::Any);
        }
        if let Some(inner) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            return inner
                .split(',')
                .map(|p| p.trim().parse().ok())
                .collect::<Option<Vec<u8>>>()
                .map(Segment::Set);
        }
        if let Some((a, b)) = s.split_once('-') {
            let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            return (a <= b).then_some(Segment::Range(a, b));
        }
        let n = s.parse().ok()?;
        Some(Segment::Range(n, n))
    }

    fn matches(&self, n: u8) -> bool {
        match self {
            Segment::Any => true,
            Segment::Range(a, b) => (*a..=*b).contains(&n),
            Segment::Set(v) => v.contains(&n),
        }
    }
}

/// One entry of an address list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Any,
    V4([Segment; 4]),
    Exact(IpAddr),
}

/// A parsed address pattern; [`AddressPattern::parse`] names what it cannot read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPattern {
    entries: Vec<Entry>,
    /// The items as written (what GET_BROKER_CLUSTER_ACL_CONFIG shows).
    texts: Vec<String>,
}

impl AddressPattern {
    /// Parses `text` (a comma-separated list; commas inside `{}` belong to a set).
    pub fn parse(text: &str) -> Result<AddressPattern, String> {
        let mut entries = Vec::new();
        let mut texts = Vec::new();
        for item in split_top_level(text) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            texts.push(item.to_owned());
            if item == "*" || item == "*.*.*.*" || item == "*:*:*:*:*:*:*:*" {
                entries.push(Entry::Any);
            } else if let Ok(ip) = item.parse::<IpAddr>() {
                entries.push(Entry::Exact(ip));
            } else {
                let segs: Vec<&str> = item.split('.').collect();
                let parsed: Option<Vec<Segment>> = if segs.len() == 4 {
                    segs.iter().map(|s| Segment::parse(s)).collect()
                } else {
                    None
                };
                match parsed.and_then(|v| <[Segment; 4]>::try_from(v).ok()) {
                    Some(s) => entries.push(Entry::V4(s)),
                    None => return Err(format!("unreadable address pattern {item:?}")),
                }
            }
        }
        Ok(AddressPattern { entries, texts })
    }

    /// Parses every string of a list and joins them.
    pub fn parse_all<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<AddressPattern, String> {
        let mut all = AddressPattern::default();
        for item in items {
            let p = AddressPattern::parse(item)?;
            all.entries.extend(p.entries);
            all.texts.extend(p.texts);
        }
        Ok(all)
    }

    /// Both lists.
    pub fn merged(mut a: AddressPattern, b: AddressPattern) -> AddressPattern {
        a.entries.extend(b.entries);
        a.texts.extend(b.texts);
        a
    }

    /// The patterns as written.
    pub fn texts(&self) -> &[String] {
        &self.texts
    }

    pub fn matches(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.entries.iter().any(|e| match (e, ip) {
            (Entry::Any, _) => true,
            (Entry::Exact(x), ip) => x.to_canonical() == ip,
            (Entry::V4(segs), IpAddr::V4(v4)) => segs.iter().zip(v4.octets()).all(|(s, o)| s.matches(o)),
            (Entry::V4(_), IpAddr::V6(_)) => false,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn split_top_level(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, ip: &str) -> bool {
        AddressPattern::parse(p).unwrap().matches(ip.parse().unwrap())
    }

    #[test]
    fn forms_of_section_8_3() {
        assert!(m("*", "10.1.2.3"));
        assert!(m("*.*.*.*", "10.1.2.3"));
        assert!(m("192.168.0.1", "192.168.0.1"));
        assert!(!m("192.168.0.1", "192.168.0.2"));
        assert!(m("192.168.*.*", "192.168.9.200"));
        assert!(!m("192.168.*.*", "192.169.9.200"));
        assert!(m("192.168.1.10-20", "192.168.1.15"));
        assert!(!m("192.168.1.10-20", "192.168.1.21"));
        assert!(m("192.168.1.1,192.168.1.2", "192.168.1.2"));
        assert!(m("192.168.1.{1,2,3}", "192.168.1.3"));
        assert!(!m("192.168.1.{1,2,3}", "192.168.1.4"));
        assert!(
            m("10.10.103.*", "::ffff:10.10.103.7"),
            "IPv4-mapped peers match IPv4 patterns"
        );
        assert!(m("::1", "::1"));
        assert!(!m("", "127.0.0.1"), "blank matches nothing");
        assert!(AddressPattern::parse("").unwrap().is_empty());
        assert!(AddressPattern::parse("192.168.1").is_err());
        assert!(AddressPattern::parse("192.168.1.300").is_err());
    }
}
