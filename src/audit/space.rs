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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
        if !c.meets(self) {
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

/// A set's ranges as numbers of either kind (addresses or ports).
fn numbers<T: range_set_blaze::Integer + Into<u128>>(s: &RangeSetBlaze<T>) -> Vec<(u128, u128)> {
    s.ranges()
        .map(|r| ((*r.start()).into(), (*r.end()).into()))
        .collect()
}

/// The four fields of a box, in the order [`first_match`] divides them.
const FIELDS: usize = 4;

impl Space {
    /// A field's values as numbers.
    fn ranges(&self, f: usize) -> Vec<(u128, u128)> {
        match f {
            0 => numbers(&self.src),
            1 => numbers(&self.dst),
            2 => numbers(&self.sport),
            _ => numbers(&self.dport),
        }
    }

    /// The box with field `f` narrowed to `keep` (numbers of that field's kind).
    fn with(&self, f: usize, keep: &[(u128, u128)]) -> Space {
        let addrs = || Addrs::from_iter(keep.iter().map(|&(a, b)| a..=b));
        let ports = || {
            Ports::from_iter(
                keep.iter()
                    .filter_map(|&(a, b)| Some(u16::try_from(a).ok()?..=u16::try_from(b).ok()?)),
            )
        };
        let mut s = self.clone();
        match f {
            0 => s.src = &s.src & &addrs(),
            1 => s.dst = &s.dst & &addrs(),
            2 => s.sport = &s.sport & &ports(),
            _ => s.dport = &s.dport & &ports(),
        }
        s
    }
}

impl Cube {
    /// A field's allowed values as numbers (`None`: any).
    fn ranges(&self, f: usize) -> Option<Vec<(u128, u128)>> {
        match f {
            0 => self.src.as_ref().map(numbers),
            1 => self.dst.as_ref().map(numbers),
            2 => self.sport.as_ref().map(numbers),
            _ => self.dport.as_ref().map(numbers),
        }
    }

    /// Whether the cube holds some packet of `s`.
    pub fn meets(&self, s: &Space) -> bool {
        self.src.as_ref().is_none_or(|a| !a.is_disjoint(&s.src))
            && self.dst.as_ref().is_none_or(|a| !a.is_disjoint(&s.dst))
            && self.sport.as_ref().is_none_or(|p| !p.is_disjoint(&s.sport))
            && self.dport.as_ref().is_none_or(|p| !p.is_disjoint(&s.dport))
    }

    /// The packets both cubes allow (`None`: none).
    pub fn and(&self, o: &Cube) -> Option<Cube> {
        fn both<T: range_set_blaze::Integer>(
            a: Option<&RangeSetBlaze<T>>,
            b: Option<&RangeSetBlaze<T>>,
        ) -> Option<Option<RangeSetBlaze<T>>> {
            let s = match (a, b) {
                (Some(a), Some(b)) => Some(a & b),
                (Some(x), None) | (None, Some(x)) => Some(x.clone()),
                (None, None) => None,
            };
            (!s.as_ref().is_some_and(RangeSetBlaze::is_empty)).then_some(s)
        }
        Some(Cube {
            src: both(self.src.as_ref(), o.src.as_ref())?,
            dst: both(self.dst.as_ref(), o.dst.as_ref())?,
            sport: both(self.sport.as_ref(), o.sport.as_ref())?,
            dport: both(self.dport.as_ref(), o.dport.as_ref())?,
        })
    }
}

/// A cube kept small (a chain's 100,000 rules' cubes are kept at once): each field's
/// allowed values as ranges (`None`: any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounds([Field; FIELDS]);

/// A field's ranges in [`Bounds`] (`None`: any value).
type Field = Option<Box<[(u128, u128)]>>;

impl Bounds {
    pub fn of(c: &Cube) -> Bounds {
        Bounds(std::array::from_fn(|f| {
            c.ranges(f).map(Vec::into_boxed_slice)
        }))
    }

    /// The least and greatest value of field `f` (`None`: any).
    pub fn hull(&self, f: usize) -> Option<(u128, u128)> {
        let r = self.0.get(f)?.as_ref()?;
        Some((r.first().map_or(0, |x| x.0), r.last().map_or(0, |x| x.1)))
    }

    /// Field `f`'s ranges (`None`: any).
    fn field(&self, f: usize) -> Option<&[(u128, u128)]> {
        self.0.get(f)?.as_deref()
    }

    /// Whether the cube holds every packet of `s` in fields `from..` (its ranges are the
    /// maximal ones a set has: a range of `s` inside it is inside one of them).
    fn covers(&self, s: &Space, from: usize) -> bool {
        (from..FIELDS).all(|f| {
            self.field(f).is_none_or(|mine| {
                s.ranges(f).iter().all(|&(a, b)| {
                    let i = mine.partition_point(|r| r.0 <= a);
                    i.checked_sub(1)
                        .and_then(|i| mine.get(i))
                        .is_some_and(|r| r.1 >= b)
                })
            })
        })
    }

    /// Whether the cube holds some packet of `s` (without building its sets).
    pub fn meets(&self, s: &Space) -> bool {
        fn any<T: range_set_blaze::Integer + Into<u128> + TryFrom<u128>>(
            set: &RangeSetBlaze<T>,
            r: Option<&[(u128, u128)]>,
        ) -> bool {
            let Some(r) = r else { return true };
            // The shorter list walked, the longer searched.
            if set.ranges_len() < r.len() {
                return set.ranges().any(|x| {
                    let (a, b): (u128, u128) = ((*x.start()).into(), (*x.end()).into());
                    // The last range that begins at or before `b` reaches `a`.
                    let i = r.partition_point(|y| y.0 <= b);
                    i.checked_sub(1)
                        .and_then(|i| r.get(i))
                        .is_some_and(|y| y.1 >= a)
                });
            }
            r.iter().any(|&(a, b)| {
                let Ok(at) = T::try_from(a) else {
                    return false;
                };
                let (span, inside) = set.range_or_gap_at(at);
                // In the set, or in a gap that ends before `b` (the value after is in it).
                inside || (*span.end()).into() < b
            })
        }
        let [src, dst, sport, dport] = &self.0;
        any(&s.src, src.as_deref())
            && any(&s.dst, dst.as_deref())
            && any(&s.sport, sport.as_deref())
            && any(&s.dport, dport.as_deref())
    }
}

/// Parts held (with the first cube's label) and the rest.
pub type Divided = (Vec<(Space, usize)>, Vec<Space>);

/// `space` divided by many rules' cubes at once (each cube with its rule's position, in
/// order): the parts some cube holds, each with the first position that holds it, and the
/// rest; disjoint boxes. A sweep over one field at a time: the field's values are cut where a
/// cube's begin or end, values held by the same cubes go on together to the next field. Time
/// grows with the cubes, not with cubes times pieces as [`partition`] one cube at a time does.
/// `None` past [`MAX_PIECES`] pieces or `work` steps.
pub fn first_match(space: Space, cubes: &[(usize, &Bounds)], work: &mut usize) -> Option<Divided> {
    let mut out = (Vec::new(), Vec::new());
    let all: Vec<usize> = (0..cubes.len()).collect();
    sweep(space, cubes, all, 0, work, &mut out)?;
    Some(out)
}

fn sweep(
    space: Space,
    cubes: &[(usize, &Bounds)],
    mut held: Vec<usize>,
    f: usize,
    work: &mut usize,
    out: &mut Divided,
) -> Option<()> {
    *work = work.checked_sub(held.len() + 1)?;
    if out.0.len() + out.1.len() >= MAX_PIECES {
        return None;
    }
    // Cubes after the first that holds all of what is left decide none of it.
    if let Some(i) = held
        .iter()
        .position(|&k| cubes.get(k).is_some_and(|c| c.1.covers(&space, f)))
    {
        held.truncate(i + 1);
    }
    let Some(&first) = held.first() else {
        out.1.push(space);
        return Some(());
    };
    let label = |k: usize| cubes.get(k).map_or(0, |c| c.0);
    if f == FIELDS || cubes.get(first).is_some_and(|c| c.1.covers(&space, f)) {
        out.0.push((space, label(first)));
        return Some(());
    }
    let groups = groups(&space, cubes, &held, f, work)?;
    // Each group is at least one piece: past the bound, stop before making any.
    if out.0.len() + out.1.len() + groups.len() > MAX_PIECES {
        return None;
    }
    let mut groups: Vec<(Vec<usize>, Segments)> = groups.into_iter().collect();
    groups.sort_unstable();
    for (key, segs) in groups {
        let part = space.with(f, &segs);
        if part.is_empty() {
            continue;
        }
        sweep(part, cubes, key, f + 1, work, out)?;
    }
    Some(())
}

/// Values of one field, as ranges.
type Segments = Vec<(u128, u128)>;

/// Field `f`'s values of `space` cut where the `held` cubes begin and end, grouped by the
/// cubes that hold them (none: the rest).
fn groups(
    space: &Space,
    cubes: &[(usize, &Bounds)],
    held: &[usize],
    f: usize,
    work: &mut usize,
) -> Option<std::collections::HashMap<Vec<usize>, Segments>> {
    let values = space.ranges(f);
    let (lo, hi) = (
        values.first().map_or(0, |r| r.0),
        values.last().map_or(0, |r| r.1),
    );
    // Where each cube's values begin and end (clipped to the box's), and the cubes that
    // hold every value of the field.
    let mut full = Vec::new();
    let mut edges: Vec<(u128, bool, usize)> = Vec::new();
    for &k in held {
        match cubes.get(k).and_then(|c| c.1.field(f)) {
            None => full.push(k),
            Some(rs) => {
                for &(a, b) in rs {
                    let (a, b) = (a.max(lo), b.min(hi));
                    if a <= b {
                        edges.push((a, true, k));
                        if let Some(after) = b.checked_add(1) {
                            edges.push((after, false, k));
                        }
                    }
                }
            }
        }
    }
    *work = work.checked_sub(edges.len())?;
    edges.sort_unstable();
    // Segments between edges, grouped by the cubes that hold them.
    let mut groups: std::collections::HashMap<Vec<usize>, Vec<(u128, u128)>> =
        std::collections::HashMap::new();
    let mut active: std::collections::BTreeSet<usize> = std::collections::BTreeSet::new();
    let mut at = lo;
    let mut i = 0;
    loop {
        while let Some(&(x, open, k)) = edges.get(i)
            && x == at
        {
            if open {
                active.insert(k);
            } else {
                active.remove(&k);
            }
            i += 1;
        }
        let end = edges.get(i).map_or(hi, |e| e.0 - 1).min(hi);
        let mut key: Vec<usize> = active.iter().copied().chain(full.iter().copied()).collect();
        key.sort_unstable();
        *work = work.checked_sub(key.len())?;
        groups.entry(key).or_default().push((at, end));
        match edges.get(i) {
            Some(e) if e.0 <= hi => at = e.0,
            _ => break,
        }
    }
    Some(groups)
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

    /// Every packet of a tiny universe: in a piece of the inside labelled with the first
    /// cube that holds it, or in the rest when none does; never in two pieces.
    #[test]
    fn first_match_labels_every_packet_with_its_first_cube() {
        use proptest::prelude::*;
        let set =
            |max: u16| proptest::option::of(proptest::collection::vec((0..max, 0..max), 1..3));
        let cube = (set(8), set(4), set(4), set(8));
        let mut runner = proptest::test_runner::TestRunner::default();
        runner
            .run(&proptest::collection::vec(cube, 0..6), |raw| {
                let span = |r: Option<Vec<(u16, u16)>>| {
                    r.map(|v| {
                        v.into_iter()
                            .map(|(a, b)| a.min(b)..=a.max(b))
                            .collect::<Vec<_>>()
                    })
                };
                let cubes: Vec<Cube> = raw
                    .into_iter()
                    .map(|(s, d, sp, dp)| Cube {
                        src: span(s).map(|v| {
                            v.into_iter()
                                .map(|r| u128::from(*r.start())..=u128::from(*r.end()))
                                .collect()
                        }),
                        dst: span(d).map(|v| {
                            v.into_iter()
                                .map(|r| u128::from(*r.start())..=u128::from(*r.end()))
                                .collect()
                        }),
                        sport: span(sp).map(|v| v.into_iter().collect()),
                        dport: span(dp).map(|v| v.into_iter().collect()),
                    })
                    .collect();
                let bounds: Vec<Bounds> = cubes.iter().map(Bounds::of).collect();
                let labelled: Vec<(usize, &Bounds)> = bounds
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (i * 10, c))
                    .collect();
                let universe = Space {
                    src: addrs(0, 7),
                    dst: addrs(0, 3),
                    sport: ports(0, 3),
                    dport: ports(0, 7),
                };
                let mut work = 1_000_000;
                let (inside, rest) = first_match(universe, &labelled, &mut work).expect("small");
                for (s, d, sp, dp) in itertools_product() {
                    let holds = |c: &Cube| {
                        c.src.as_ref().is_none_or(|x| x.contains(s))
                            && c.dst.as_ref().is_none_or(|x| x.contains(d))
                            && c.sport.as_ref().is_none_or(|x| x.contains(sp))
                            && c.dport.as_ref().is_none_or(|x| x.contains(dp))
                    };
                    let inn = |x: &Space| {
                        x.src.contains(s)
                            && x.dst.contains(d)
                            && x.sport.contains(sp)
                            && x.dport.contains(dp)
                    };
                    let want = cubes.iter().position(holds).map(|i| i * 10);
                    let got: Vec<usize> =
                        inside.iter().filter(|p| inn(&p.0)).map(|p| p.1).collect();
                    let rested = rest.iter().filter(|x| inn(x)).count();
                    match want {
                        Some(label) => {
                            prop_assert_eq!(got, vec![label]);
                            prop_assert_eq!(rested, 0);
                        }
                        None => {
                            prop_assert!(got.is_empty());
                            prop_assert_eq!(rested, 1);
                        }
                    }
                }
                Ok(())
            })
            .expect("first_match agrees with the cubes in order");
    }

    fn itertools_product() -> Vec<(u128, u128, u16, u16)> {
        let mut v = Vec::new();
        for s in 0..8u128 {
            for d in 0..4u128 {
                for sp in 0..4u16 {
                    for dp in 0..8u16 {
                        v.push((s, d, sp, dp));
                    }
                }
            }
        }
        v
    }
}
