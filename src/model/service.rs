//! What a connection carries: TCP or UDP to ports, or ICMP messages of some types. One typed
//! value in place of a protocol and a port list, so that every reader of a rule matches on
//! the three kinds and a backend that forgets ICMP does not compile.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::PortSet;

/// Transport protocol of a connection, as the catalogue's `protocols:` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    /// ICMP for IPv4 peers, ICMPv6 for IPv6 peers: `icmp_types:` instead of `ports:`.
    Icmp,
}

impl Protocol {
    /// Lower-case name, as the catalogue spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Icmp => "icmp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named ICMP message: its name (nft's for ICMPv4 where both families have it) and its
/// type number in each family that has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct KnownIcmp {
    name: &'static str,
    v4: Option<u8>,
    v6: Option<u8>,
}

const fn known(name: &'static str, v4: Option<u8>, v6: Option<u8>) -> KnownIcmp {
    KnownIcmp { name, v4, v6 }
}

/// The ICMP messages a site or catalogue may name (RFC 792 and RFC 4443 / 4861 numbers);
/// names are nft's, the IPv6 neighbour-discovery ones nft's `icmpv6 type` names.
const KNOWN_ICMP: &[KnownIcmp] = &[
    known("echo-reply", Some(0), Some(129)),
    known("destination-unreachable", Some(3), Some(1)),
    known("source-quench", Some(4), None),
    known("redirect", Some(5), Some(137)),
    known("echo-request", Some(8), Some(128)),
    known("router-advertisement", Some(9), Some(134)),
    known("router-solicitation", Some(10), Some(133)),
    known("time-exceeded", Some(11), Some(3)),
    known("parameter-problem", Some(12), Some(4)),
    known("timestamp-request", Some(13), None),
    known("timestamp-reply", Some(14), None),
    known("info-request", Some(15), None),
    known("info-reply", Some(16), None),
    known("address-mask-request", Some(17), None),
    known("address-mask-reply", Some(18), None),
    known("packet-too-big", None, Some(2)),
    known("nd-neighbor-solicit", None, Some(135)),
    known("nd-neighbor-advert", None, Some(136)),
];

/// One ICMP message type of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IcmpType {
    /// A message of [`KNOWN_ICMP`] (by index): its number in each family that has it.
    Named(u8),
    /// An ICMPv4 type by number (`8`): IPv4 peers only.
    V4(u8),
    /// An ICMPv6 type by number (`v6:128`): IPv6 peers only.
    V6(u8),
}

impl IcmpType {
    /// The named message `name`.
    pub fn named(name: &str) -> Option<IcmpType> {
        KNOWN_ICMP
            .iter()
            .position(|k| k.name == name)
            .and_then(|i| u8::try_from(i).ok())
            .map(IcmpType::Named)
    }

    /// The type number in the family (`v6`), or `None` when the family has no such message.
    pub fn number(self, v6: bool) -> Option<u8> {
        match self {
            IcmpType::Named(i) => {
                let k = KNOWN_ICMP.get(usize::from(i))?;
                if v6 { k.v6 } else { k.v4 }
            }
            IcmpType::V4(n) => (!v6).then_some(n),
            IcmpType::V6(n) => v6.then_some(n),
        }
    }
}

/// The type of the reply to an ICMP request of type `t` in a family (echo, timestamp), if the
/// request gets one: connection tracking admits it as the request's established traffic.
pub fn icmp_reply(v6: bool, t: u8) -> Option<u8> {
    match (v6, t) {
        (false, 8) => Some(0),
        (false, 13) => Some(14),
        (true, 128) => Some(129),
        _ => None,
    }
}

/// The name nft (and this catalogue) gives type `n` of a family, if it has one.
pub fn icmp_name(n: u8, v6: bool) -> Option<&'static str> {
    KNOWN_ICMP
        .iter()
        .find(|k| (if v6 { k.v6 } else { k.v4 }) == Some(n))
        .map(|k| match (v6, k.name) {
            // nft's ICMPv6 names for the neighbour-discovery messages.
            (true, "redirect") => "nd-redirect",
            (true, "router-advertisement") => "nd-router-advert",
            (true, "router-solicitation") => "nd-router-solicit",
            (_, name) => name,
        })
}

/// The type number nft's name `name` stands for in a family (the inverse of [`icmp_name`]).
pub fn icmp_number(name: &str, v6: bool) -> Option<u8> {
    KNOWN_ICMP.iter().find_map(|k| {
        let n = if v6 { k.v6 } else { k.v4 }?;
        (icmp_name(n, v6) == Some(name)).then_some(n)
    })
}

/// An ICMP message as one 16-bit word, as the transport header's first word (`th sport`)
/// reads it: type * 256 + code. The audit decides ICMP messages as such words.
pub const fn icmp_word(t: u8, code: u8) -> u16 {
    (t as u16) << 8 | code as u16
}

/// The (type, code) of an [`icmp_word`].
pub fn icmp_of_word(word: u16) -> (u8, u8) {
    let [t, code] = word.to_be_bytes();
    (t, code)
}

impl fmt::Display for IcmpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IcmpType::Named(i) => {
                f.write_str(KNOWN_ICMP.get(usize::from(*i)).map_or("?", |k| k.name))
            }
            IcmpType::V4(n) => write!(f, "{n}"),
            IcmpType::V6(n) => write!(f, "v6:{n}"),
        }
    }
}

impl FromStr for IcmpType {
    type Err = String;
    fn from_str(s: &str) -> Result<IcmpType, String> {
        let number = |t: &str| {
            t.parse::<u8>()
                .map_err(|_| format!("ICMP type `{s}` is not a number in 0..=255"))
        };
        if let Some(n) = s.strip_prefix("v6:") {
            return number(n).map(IcmpType::V6);
        }
        if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
            return number(s).map(IcmpType::V4);
        }
        IcmpType::named(s).ok_or_else(|| {
            format!(
                "unknown ICMP type `{s}`{} (or a number: `8` for ICMPv4, `v6:128` for ICMPv6)",
                crate::suggest::hint(s, KNOWN_ICMP.iter().map(|k| k.name))
            )
        })
    }
}

/// One ICMP message of a service: a type, and the one code it matches (`None`: every code
/// of the type). Written `TYPE` or `TYPE/CODE` (`destination-unreachable/4`, `3/4`,
/// `v6:1/4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Icmp {
    pub kind: IcmpType,
    pub code: Option<u8>,
}

impl From<IcmpType> for Icmp {
    fn from(kind: IcmpType) -> Icmp {
        Icmp { kind, code: None }
    }
}

impl fmt::Display for Icmp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        match self.code {
            Some(c) => write!(f, "/{c}"),
            None => Ok(()),
        }
    }
}

impl FromStr for Icmp {
    type Err = String;
    fn from_str(s: &str) -> Result<Icmp, String> {
        let Some((kind, code)) = s.split_once('/') else {
            return s.parse::<IcmpType>().map(Icmp::from);
        };
        let code = code
            .parse::<u8>()
            .map_err(|_| format!("ICMP code `{code}` of `{s}` is not a number in 0..=255"))?;
        Ok(Icmp {
            kind: kind.parse()?,
            code: Some(code),
        })
    }
}

impl<'de> Deserialize<'de> for Icmp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Icmp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "an ICMP type: a name such as `echo-request`, `8` or `v6:128`, with `/CODE` for one code",
                )
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Icmp, E> {
                s.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Icmp, E> {
                u8::try_from(n)
                    .map(|n| IcmpType::V4(n).into())
                    .map_err(|_| E::custom(format!("ICMP type `{n}` is not in 0..=255")))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Icmp, E> {
                Err(E::custom(format!("ICMP type `{n}` is not in 0..=255")))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Icmp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A sorted set of ICMP messages without repeats.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct IcmpTypes(Vec<Icmp>);

impl IcmpTypes {
    pub fn new(types: impl IntoIterator<Item = Icmp>) -> Self {
        let mut v: Vec<Icmp> = types.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        Self(v)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Icmp> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages of one family as (type, code) numbers, sorted, without repeats; a code
    /// of a type the set also has whole is left out (the type admits it). Empty when the
    /// family has none of these messages.
    pub fn messages(&self, v6: bool) -> Vec<(u8, Option<u8>)> {
        let mut n: Vec<(u8, Option<u8>)> = self
            .0
            .iter()
            .filter_map(|m| m.kind.number(v6).map(|t| (t, m.code)))
            .collect();
        n.sort_unstable();
        n.dedup();
        let whole: Vec<u8> = n.iter().filter(|m| m.1.is_none()).map(|m| m.0).collect();
        n.retain(|&(t, code)| code.is_none() || !whole.contains(&t));
        n
    }

    /// Both sets' types.
    pub fn union(&self, other: &IcmpTypes) -> IcmpTypes {
        IcmpTypes::new(self.0.iter().chain(other.0.iter()).copied())
    }
}

impl fmt::Display for IcmpTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

/// What one rule admits: TCP or UDP to ports, or ICMP messages of some types. Orders by
/// kind (TCP, UDP, ICMP), then ports or types.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Tcp(PortSet),
    Udp(PortSet),
    Icmp(IcmpTypes),
}

impl Service {
    /// The service of `protocol` with these ports or types (a port list for TCP and UDP, the
    /// types for ICMP).
    pub fn of(protocol: Protocol, ports: &PortSet, types: &IcmpTypes) -> Service {
        match protocol {
            Protocol::Tcp => Service::Tcp(ports.clone()),
            Protocol::Udp => Service::Udp(ports.clone()),
            Protocol::Icmp => Service::Icmp(types.clone()),
        }
    }

    pub fn protocol(&self) -> Protocol {
        match self {
            Service::Tcp(_) => Protocol::Tcp,
            Service::Udp(_) => Protocol::Udp,
            Service::Icmp(_) => Protocol::Icmp,
        }
    }

    /// The ports of TCP and UDP; `None` for ICMP.
    pub fn ports(&self) -> Option<&PortSet> {
        match self {
            Service::Tcp(p) | Service::Udp(p) => Some(p),
            Service::Icmp(_) => None,
        }
    }

    /// The protocols of an entry's services, in order.
    pub fn protocols(services: &[Service]) -> Vec<Protocol> {
        services.iter().map(Service::protocol).collect()
    }

    /// The ports (or ICMP types) of an entry's services as one cell: its services share
    /// them (TCP and UDP the row's ports; ICMP stands alone).
    pub fn cell(services: &[Service]) -> String {
        services.first().map(Service::what).unwrap_or_default()
    }

    /// Ports or types as one cell: `25,587` or `echo-request`.
    pub fn what(&self) -> String {
        match self {
            Service::Tcp(p) | Service::Udp(p) => p.to_string(),
            Service::Icmp(t) => t.to_string(),
        }
    }

    /// The same kind with `other`'s ports or types added (for merging rules of one kind).
    pub fn absorb(&mut self, other: &Service) {
        match (self, other) {
            (Service::Tcp(a), Service::Tcp(b)) | (Service::Udp(a), Service::Udp(b)) => {
                a.append_unnormalized(b);
            }
            (Service::Icmp(a), Service::Icmp(b)) => *a = a.union(b),
            // Different kinds are never merged (see `ruleset::same_but_ports`).
            _ => {}
        }
    }

    /// Sort and join the ports again after [`Service::absorb`].
    pub fn normalize(&mut self) {
        match self {
            Service::Tcp(p) | Service::Udp(p) => p.normalize(),
            Service::Icmp(_) => {}
        }
    }
}

/// `tcp 25,587`, `icmp echo-request`.
impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.protocol(), self.what())
    }
}

/// `"protocol": "tcp", "ports": […]` or `"protocol": "icmp", "icmp_types": […]`: flattened
/// into a rule, the JSON of TCP and UDP rules is what it was before ICMP.
impl Serialize for Service {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("protocol", &self.protocol())?;
        match self {
            Service::Tcp(p) | Service::Udp(p) => m.serialize_entry("ports", p)?,
            Service::Icmp(t) => m.serialize_entry("icmp_types", t)?,
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_families() {
        let echo: IcmpType = "echo-request".parse().unwrap();
        assert_eq!(
            (echo.number(false), echo.number(true)),
            (Some(8), Some(128))
        );
        let ptb: IcmpType = "packet-too-big".parse().unwrap();
        assert_eq!((ptb.number(false), ptb.number(true)), (None, Some(2)));
        assert_eq!("8".parse::<IcmpType>().unwrap().number(true), None);
        assert_eq!(
            "v6:128".parse::<IcmpType>().unwrap().number(true),
            Some(128)
        );
        let err = "echo-requst".parse::<IcmpType>().unwrap_err();
        assert!(err.contains("did you mean `echo-request`"), "{err}");
        assert!("256".parse::<IcmpType>().is_err());
        assert!("v6:x".parse::<IcmpType>().is_err());
        // Every name reads back as itself, and nft's names match the numbers.
        for k in KNOWN_ICMP {
            let t: IcmpType = k.name.parse().unwrap();
            assert_eq!(t.to_string(), k.name);
            if let Some(n) = k.v4 {
                assert_eq!(icmp_name(n, false), Some(k.name));
            }
        }
        assert_eq!(icmp_name(134, true), Some("nd-router-advert"));
        assert_eq!(icmp_number("nd-router-advert", true), Some(134));
        assert_eq!(
            icmp_number("redirect", true),
            None,
            "ICMPv6's is nd-redirect"
        );
        assert_eq!(icmp_of_word(icmp_word(3, 4)), (3, 4));
    }

    #[test]
    fn tcp_and_udp_serialise_as_before() {
        let p = PortSet::new(["25".parse().unwrap()]);
        let json = serde_json::to_string(&Service::Tcp(p)).unwrap();
        assert_eq!(json, r#"{"protocol":"tcp","ports":[25]}"#);
        let icmp = Service::Icmp(IcmpTypes::new(["echo-request".parse::<Icmp>().unwrap()]));
        assert_eq!(
            serde_json::to_string(&icmp).unwrap(),
            r#"{"protocol":"icmp","icmp_types":["echo-request"]}"#
        );
    }
}
