//! Ports, port ranges and normalised port sets.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A TCP or UDP port number, 1..=65535 (port 0 is never a valid firewall match).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port(u16);

impl Port {
    /// Validate a number as a port.
    pub fn new(n: u64) -> Result<Self, String> {
        match u16::try_from(n) {
            Ok(p) if p != 0 => Ok(Self(p)),
            _ => Err(format!("port `{n}` is outside 1..=65535")),
        }
    }

    /// The port number.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An inclusive port range `lo..=hi`; a single port has `lo == hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    lo: Port,
    hi: Port,
}

impl PortRange {
    /// A range, refused when reversed.
    pub fn new(lo: Port, hi: Port) -> Result<Self, String> {
        if lo > hi {
            return Err(format!(
                "port range `{lo}-{hi}` is reversed; write `{hi}-{lo}`"
            ));
        }
        Ok(Self { lo, hi })
    }

    /// The range `lo..=hi` of two constants; `lo` is raised to 1 and the bounds are ordered,
    /// so the result is always a valid range.
    pub const fn from_bounds(lo: u16, hi: u16) -> Self {
        let lo = if lo == 0 { 1 } else { lo };
        let hi = if hi < lo { lo } else { hi };
        Self {
            lo: Port(lo),
            hi: Port(hi),
        }
    }

    /// A range holding one port.
    pub fn single(p: Port) -> Self {
        Self { lo: p, hi: p }
    }

    /// The first port.
    pub fn lo(self) -> Port {
        self.lo
    }

    /// The last port.
    pub fn hi(self) -> Port {
        self.hi
    }

    /// True when the range holds exactly one port.
    pub fn is_single(self) -> bool {
        self.lo == self.hi
    }

    /// True when `p` lies in the range.
    pub fn contains(self, p: u16) -> bool {
        self.lo.0 <= p && p <= self.hi.0
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_single() {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

impl FromStr for PortRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let num = |t: &str| -> Result<Port, String> {
            let t = t.trim();
            let n: u64 = t
                .parse()
                .map_err(|_| format!("`{s}` is not a port or a port range such as `8000-8010`"))?;
            Port::new(n)
        };
        match s.split_once('-') {
            Some((a, b)) => PortRange::new(num(a)?, num(b)?),
            None => Ok(PortRange::single(num(s)?)),
        }
    }
}

/// YAML accepts `25` or `"8000-8010"`.
impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PortRange;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a port (1..=65535) or a range such as \"8000-8010\"")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<PortRange, E> {
                Port::new(n).map(PortRange::single).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<PortRange, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!("port `{n}` is outside 1..=65535"))),
                }
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<PortRange, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// JSON writes a single port as a number and a range as `"LO-HI"`.
impl Serialize for PortRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_single() {
            s.serialize_u16(self.lo.0)
        } else {
            s.collect_str(self)
        }
    }
}

/// A sorted set of port ranges in which no two ranges overlap.
///
/// Adjacent single ports stay separate (`20, 21` rather than `20-21`) so the output reads like
/// the vendor tables; overlapping ranges are merged.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PortSet(Vec<PortRange>);

impl PortSet {
    /// Normalise any collection of ranges.
    pub fn new(ranges: impl IntoIterator<Item = PortRange>) -> Self {
        let mut v: Vec<PortRange> = ranges.into_iter().collect();
        v.sort();
        let mut out: Vec<PortRange> = Vec::with_capacity(v.len());
        for r in v {
            match out.last_mut() {
                Some(last) if r.lo <= last.hi => {
                    if r.hi > last.hi {
                        last.hi = r.hi;
                    }
                }
                _ => out.push(r),
            }
        }
        Self(out)
    }

    /// The ranges, sorted.
    pub fn ranges(&self) -> &[PortRange] {
        &self.0
    }

    /// Add `other`'s ranges as they are, unsorted: for merging many sets, followed by one
    /// [`PortSet::normalize`] (normalising after each addition is quadratic).
    pub fn append_unnormalized(&mut self, other: &PortSet) {
        self.0.extend_from_slice(&other.0);
    }

    /// Sort and join the ranges again after [`PortSet::append_unnormalized`].
    pub fn normalize(&mut self) {
        *self = PortSet::new(std::mem::take(&mut self.0));
    }

    /// Union of two sets.
    pub fn union(&self, other: &PortSet) -> PortSet {
        PortSet::new(self.0.iter().chain(other.0.iter()).copied())
    }

    /// The ports in both sets (both are sorted and disjoint: one pass over each).
    pub fn intersection(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        let (mut a, mut b) = (self.0.iter().peekable(), other.0.iter().peekable());
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            let (lo, hi) = (x.lo.max(y.lo), x.hi.min(y.hi));
            if lo <= hi {
                out.push(PortRange { lo, hi });
            }
            if x.hi < y.hi {
                a.next();
            } else {
                b.next();
            }
        }
        PortSet::new(out)
    }

    /// The ports of this set that `other` does not have (one pass over each).
    pub fn difference(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        let mut cut = other.0.iter().peekable();
        for a in &self.0 {
            // What is left of `a`, from `lo` on, in u32 so that `hi + 1` cannot overflow.
            let mut lo = u32::from(a.lo.0);
            let hi = u32::from(a.hi.0);
            while let Some(b) = cut.peek() {
                let (blo, bhi) = (u32::from(b.lo.0), u32::from(b.hi.0));
                if bhi < lo {
                    cut.next();
                    continue;
                }
                if blo > hi {
                    break;
                }
                if blo > lo {
                    out.extend(range(lo, blo - 1));
                }
                lo = bhi + 1;
                if bhi > hi {
                    break;
                }
                cut.next();
            }
            if lo <= hi {
                out.extend(range(lo, hi));
            }
        }
        PortSet::new(out)
    }

    /// True when the set has no port.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `p` is in the set.
    pub fn contains(&self, p: u16) -> bool {
        self.0.iter().any(|r| r.contains(p))
    }

    /// Every port in the set, expanded.
    pub fn iter_ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.0.iter().flat_map(|r| r.lo.0..=r.hi.0)
    }
}

/// `lo..=hi` as a range, when both are ports.
fn range(lo: u32, hi: u32) -> Option<PortRange> {
    Some(PortRange {
        lo: Port(u16::try_from(lo).ok()?),
        hi: Port(u16::try_from(hi).ok()?),
    })
}

impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Intersection and difference agree with the same operations on every port, for sets
    /// of small ranges at the edges of the port space and in between.
    #[test]
    fn intersection_and_difference_agree_with_the_ports() {
        let set = |v: &[(u16, u16)]| {
            PortSet::new(
                v.iter()
                    .map(|&(lo, hi)| PortRange::new(Port(lo), Port(hi)).expect("lo <= hi")),
            )
        };
        let samples = [
            set(&[]),
            set(&[(1, 1)]),
            set(&[(1, 65535)]),
            set(&[(20, 21), (25, 25)]),
            set(&[(21, 30), (65530, 65535)]),
            set(&[(10, 20), (22, 22), (65535, 65535)]),
        ];
        let ports = |s: &PortSet| s.iter_ports().collect::<std::collections::BTreeSet<u16>>();
        for a in &samples {
            for b in &samples {
                let (pa, pb) = (ports(a), ports(b));
                let both: std::collections::BTreeSet<u16> = pa.intersection(&pb).copied().collect();
                let only: std::collections::BTreeSet<u16> = pa.difference(&pb).copied().collect();
                assert_eq!(ports(&a.intersection(b)), both, "{a} & {b}");
                assert_eq!(ports(&a.difference(b)), only, "{a} - {b}");
                assert_eq!(a.difference(b).is_empty(), only.is_empty());
            }
        }
    }

    #[track_caller]
    fn parse(s: &str) -> Result<String, String> {
        s.parse::<PortRange>().map(|r| r.to_string())
    }

    #[test]
    fn parses_ports_and_ranges() {
        assert_eq!(parse("25"), Ok("25".into()));
        assert_eq!(parse("8000-8010"), Ok("8000-8010".into()));
        assert_eq!(parse("80-80"), Ok("80".into()));
        assert_eq!(parse("0"), Err("port `0` is outside 1..=65535".into()));
        assert_eq!(
            parse("65536"),
            Err("port `65536` is outside 1..=65535".into())
        );
        assert_eq!(
            parse("90-80"),
            Err("port range `90-80` is reversed; write `80-90`".into())
        );
        assert!(parse("http").unwrap_err().contains("not a port"));
        assert!(parse("-5").unwrap_err().contains("not a port"));
    }

    #[test]
    fn port_set_merges_overlaps_but_not_adjacent_singles() {
        let r = |s: &str| s.parse::<PortRange>().unwrap();
        let set = PortSet::new([r("21"), r("20"), r("8000-8010"), r("8005-8020"), r("21")]);
        assert_eq!(set.to_string(), "20,21,8000-8020");
        assert!(set.contains(8015));
        assert!(!set.contains(22));
        assert_eq!(set.iter_ports().count(), 23);
    }
}
