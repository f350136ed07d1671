//! Spaces of packets: what the exact audit decides instead of sample packets.
//!
//! A [`Space`] is a box: every packet whose source address, destination address, source port
//! and destination port lie in the box's four sets (the rest of the packet, its family,
//! protocol, state and interfaces, is fixed by the caller). A match of a rule is a union of
//! [`Cube`]s (a set per field it names); [`Space::split`] divides a box into the part a match
//! holds and the rest, exactly, as disjoint boxes. Sets are `range-set-blaze` interval sets:
//! addresses as `u128` (IPv4 in the low 32 bits, the family being fixed), ports as `u16`.

use std::net::IpAddr;

use ipnet::IpNet;
use range_set_blaze::RangeSetBlaze;

pub type Addrs = RangeSetBlaze<u128>;
pub type Ports = RangeSetBlaze<u16>;

/// The number an address is kept as.
pub fn num(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

/// Every address of a family.
pub fn all_addrs(v6: bool) -> Addrs {
    let hi = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    RangeSetBlaze::from_iter([0..=hi])
}

/// The addresses of a prefix.
pub fn net(n: &IpNet) -> Addrs {
    RangeSetBlaze::from_iter([num(n.network())..=num(n.broadcast())])
}

/// A set of prefixes of one family, as the fewest prefixes that cover exactly it.
pub fn prefixes(a: &Addrs, v6: bool) -> Vec<IpNet> {
    let mut out = Vec::new();
    for r in a.ranges() {
        let (lo, hi) = (*r.start(), *r.end());
        if v6 {
            out.extend(
                ipnet::Ipv6Subnets::new(lo.into(), hi.into(), 0)
                    .map(IpNet::V6)
                    .collect::<Vec<_>>(),
            );
        } else if let (Ok(lo), Ok(hi)) = (u32::try_from(lo), u32::try_from(hi)) {
            out.extend(
                ipnet::Ipv4Subnets::new(lo.into(), hi.into(), 0)
                    .map(IpNet::V4)
                    .collect::<Vec<_>>(),
            );
        }
    }
    out
}

/// How many addresses a set holds (saturating: an IPv6 universe is more than `u128::MAX`).
pub fn count(a: &Addrs) -> u128 {
    a.ranges().fold(0u128, |n, r| {
        n.saturating_add((r.end() - r.start()).saturating_add(1))
    })
}

/// `1-1023, 8080`.
pub fn port_text(p: &Ports) -> String {
    p.ranges()
        .map(|r| {
            if r.start() == r.end() {
                r.start().to_string()
            } else {
                format!("{}-{}", r.start(), r.end())
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A box of packets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Space {
    pub src: Addrs,
    pub dst: Addrs,
    pub sport: Ports,
    pub dport: Ports,
}

/// One box of a match: the values it allows per field (`None`: any).
#[derive(Clone, Debug, Default)]
pub struct Cube {
    pub src: Option<Addrs>,
    pub dst: Option<Addrs>,
    pub sport: Option<Ports>,
    pub dport: Option<Ports>,
}

impl Space {
    pub fn is_empty(&self) -> bool {
        self.src.is_empty() || self.dst.is_empty() || self.sport.is_empty() || self.dport.is_empty()
    }

    /// The same packets seen the other way (a reply's box from its connection's).
    pub fn swapped(&self) -> Space {
        Space {
            src: self.dst.clone(),
            dst: self.src.clone(),
            sport: self.dport.clone(),
            dport: self.sport.clone(),
        }
    }

    /// The packets in both boxes.
    pub fn intersect(&self, o: &Space) -> Option<Space> {
        let s = Space {
            src: &self.src & &o.src,
            dst: &self.dst & &o.dst,
            sport: &self.sport & &o.sport,
            dport: &self.dport & &o.dport,
        };
        (!s.is_empty()).then_some(s)
    }

    /// How many packets (addresses × addresses × ports × ports), saturating.
    pub fn size(&self) -> u128 {
        count(&self.src)
            .saturating_mul(count(&self.dst))
            .saturating_mul(self.sport.len() as u128)
            .saturating_mul(self.dport.len() as u128)
    }

    /// The box divided by one cube: the part inside (if any) and the rest as disjoint boxes.
    pub fn split(&self, c: &Cube) -> (Option<Space>, Vec<Space>) {
        // A cube that misses the box in one field misses it: the box stays whole.
        let misses = c.src.as_ref().is_some_and(|a| a.is_disjoint(&self.src))
            || c.dst.as_ref().is_some_and(|a| a.is_disjoint(&self.dst))
            || c.sport.as_ref().is_some_and(|p| p.is_disjoint(&self.sport))
            || c.dport.as_ref().is_some_and(|p| p.is_disjoint(&self.dport));
        if misses {
            return (None, vec![self.clone()]);
        }
        let mut rest = Vec::new();
        let mut inside = self.clone();
        // Field by field: what the cube leaves out of this field (with the fields before
        // already narrowed to the cube) is outside; the cube's part goes on.
        macro_rules! narrow {
            ($f:ident) => {
                if let Some(allowed) = &c.$f {
                    let out = &inside.$f - allowed;
                    if !out.is_empty() {
                        rest.push(Space {
                            $f: out,
                            ..inside.clone()
                        });
                    }
                    inside.$f = &inside.$f & allowed;
                }
            };
        }
        narrow!(src);
        narrow!(dst);
        narrow!(sport);
        narrow!(dport);
        ((!inside.is_empty()).then_some(inside), rest)
    }
}

/// Boxes are many when a match has many elements on several fields: more than this many
/// pieces of one packet space are not followed (the caller says unknown).
pub const MAX_PIECES: usize = 20_000;

/// `space` divided by a union of cubes: (inside, outside), disjoint boxes; `None` when the
/// pieces would be more than [`MAX_PIECES`].
pub fn partition(space: Space, cubes: &[Cube]) -> Option<(Vec<Space>, Vec<Space>)> {
    let mut inside = Vec::new();
    let mut outside = vec![space];
    for c in cubes {
        let mut next = Vec::new();
        for piece in outside {
            let (i, o) = piece.split(c);
            inside.extend(i);
            next.extend(o);
        }
        outside = next;
        if inside.len() + outside.len() > MAX_PIECES {
            return None;
        }
        if outside.is_empty() {
            break;
        }
    }
    Some((inside, outside))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(lo: u128, hi: u128) -> Addrs {
        RangeSetBlaze::from_iter([lo..=hi])
    }

    fn ports(lo: u16, hi: u16) -> Ports {
        RangeSetBlaze::from_iter([lo..=hi])
    }

    fn space() -> Space {
        Space {
            src: addrs(0, 15),
            dst: addrs(100, 100),
            sport: ports(1024, 65535),
            dport: ports(1, 1000),
        }
    }

    #[test]
    fn a_split_is_exact_and_disjoint() {
        let s = space();
        let c = Cube {
            src: Some(addrs(4, 7)),
            dport: Some(ports(443, 443)),
            ..Cube::default()
        };
        let (inside, rest) = s.split(&c);
        let inside = inside.expect("some inside");
        assert_eq!(inside.src, addrs(4, 7));
        assert_eq!(inside.dport, ports(443, 443));
        let total: u128 = rest.iter().map(Space::size).sum::<u128>() + inside.size();
        assert_eq!(total, s.size(), "the pieces cover the box exactly");
        for (i, a) in rest.iter().enumerate() {
            for b in &rest[i + 1..] {
                let overlap = Cube {
                    src: Some(b.src.clone()),
                    dst: Some(b.dst.clone()),
                    sport: Some(b.sport.clone()),
                    dport: Some(b.dport.clone()),
                };
                assert!(a.split(&overlap).0.is_none(), "{a:?} and {b:?} overlap");
            }
        }
    }

    #[test]
    fn a_union_of_cubes_partitions_the_box() {
        let cubes = [
            Cube {
                src: Some(addrs(0, 3)),
                ..Cube::default()
            },
            Cube {
                src: Some(addrs(2, 9)),
                dport: Some(ports(22, 22)),
                ..Cube::default()
            },
        ];
        let (inside, outside) = partition(space(), &cubes).expect("small");
        let size = |v: &[Space]| v.iter().map(Space::size).sum::<u128>();
        let dst_sport = 64512u128;
        assert_eq!(size(&inside), (4 * 1000 + 6) * dst_sport);
        assert_eq!(size(&inside) + size(&outside), space().size());
    }

    #[test]
    fn prefixes_cover_a_set_exactly() {
        let a: Addrs = RangeSetBlaze::from_iter([
            num("198.51.100.10".parse().unwrap())..=num("198.51.100.17".parse().unwrap())
        ]);
        let p: Vec<String> = prefixes(&a, false)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            p,
            ["198.51.100.10/31", "198.51.100.12/30", "198.51.100.16/31"]
        );
        assert_eq!(count(&all_addrs(false)), 1 << 32);
    }
}
