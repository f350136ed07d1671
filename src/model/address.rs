//! IP addresses and prefixes as the catalogue and site files write them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::Deserialize;

/// An IPv4/IPv6 address (`192.0.2.5`, taken as `/32` or `/128`) or prefix (`192.0.2.0/24`).
/// Prefixes with host bits set are refused: `192.0.2.1/24` is almost always a typo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Address(IpNet);

impl Address {
    pub fn net(self) -> IpNet {
        self.0
    }
}

impl FromStr for Address {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let net = Self::parse_net(s, t)?;
        // An IPv4 address written as IPv6 matches IPv6 packets only: real IPv4 traffic to or
        // from it would not be filtered. Refuse it and say what to write.
        if let IpNet::V6(v6) = net {
            let seg = v6.addr().segments();
            let mapped = seg[..5] == [0; 5] && seg[5] == 0xffff;
            let compatible = seg[..6] == [0; 6]
                && v6.addr().to_ipv4().is_some_and(|v4| {
                    !v4.is_unspecified() && v4 != std::net::Ipv4Addr::new(0, 0, 0, 1)
                });
            if (mapped || compatible) && v6.prefix_len() >= 96 {
                let v4 = v6
                    .addr()
                    .to_ipv4()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                let len = v6.prefix_len() - 96;
                let write = if len == 32 { v4 } else { format!("{v4}/{len}") };
                return Err(format!(
                    "`{s}` is an IPv4 address written as IPv6 ({}); it would match IPv6 packets only: write `{write}`",
                    if mapped {
                        "IPv4-mapped"
                    } else {
                        "IPv4-compatible"
                    }
                ));
            }
        }
        Ok(Self(net))
    }
}

impl Address {
    fn parse_net(s: &str, t: &str) -> Result<IpNet, String> {
        if let Ok(net) = t.parse::<IpNet>() {
            if net.trunc() != net {
                return Err(format!(
                    "`{s}` has host bits set; write the network `{}` or the host `{}`",
                    net.trunc(),
                    net.addr()
                ));
            }
            return Ok(net);
        }
        match t.parse::<IpAddr>() {
            Ok(a) => Ok(IpNet::from(a)),
            Err(_) => Err(format!(
                "`{s}` is not an IP address or prefix (write addresses, not host names: \
                 firewalls resolve names only once, at load time)"
            )),
        }
    }
}

impl TryFrom<String> for Address {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Sort, de-duplicate and aggregate prefixes (adjacent and overlapping ones merge).
pub fn aggregate(nets: impl IntoIterator<Item = IpNet>) -> Vec<IpNet> {
    let v: Vec<IpNet> = nets.into_iter().collect();
    let mut out = IpNet::aggregate(&v);
    out.sort();
    out
}

/// An address or prefix written as the standard library writes it (`192.0.2.5`,
/// `192.0.2.0/24`, `2001:db8::1/128`), IPv4 without `core::fmt`'s machinery: the outputs of
/// big sets write tens of thousands of them, and std's IPv4 `Display` (one formatted integer
/// per octet) took a fifth of such a build. IPv6 goes to std.
#[derive(Clone, Copy, Debug)]
pub struct Shown<T>(pub T);

/// Up to 18 bytes of ASCII (`255.255.255.255/32`), on the stack.
#[derive(Default)]
struct Digits {
    bytes: [u8; 18],
    len: usize,
}

impl Digits {
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// `n` in decimal.
    fn number(&mut self, n: u8) {
        if n >= 100 {
            self.push(b'0' + n / 100);
        }
        if n >= 10 {
            self.push(b'0' + n / 10 % 10);
        }
        self.push(b'0' + n % 10);
    }

    fn ipv4(&mut self, addr: std::net::Ipv4Addr) {
        for (i, octet) in addr.octets().into_iter().enumerate() {
            if i > 0 {
                self.push(b'.');
            }
            self.number(octet);
        }
    }

    fn as_str(&self) -> &str {
        self.bytes
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

impl fmt::Display for Shown<std::net::Ipv4Addr> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = Digits::default();
        d.ipv4(self.0);
        f.pad(d.as_str())
    }
}

impl fmt::Display for Shown<IpAddr> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(a) => Shown(a).fmt(f),
            IpAddr::V6(a) => a.fmt(f),
        }
    }
}

impl fmt::Display for Shown<IpNet> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpNet::V4(v) => {
                let mut d = Digits::default();
                d.ipv4(v.addr());
                d.push(b'/');
                d.number(v.prefix_len());
                f.pad(d.as_str())
            }
            IpNet::V6(v) => v.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte-equal to std's (and ipnet's) `Display` for every octet value and prefix length.
    #[test]
    fn shown_is_std_s_display() {
        for o in 0..=255u8 {
            for a in [
                std::net::Ipv4Addr::new(o, 0, 255, o),
                std::net::Ipv4Addr::new(9, o, 10, 99),
                std::net::Ipv4Addr::new(100, 200, o, 1),
            ] {
                assert_eq!(Shown(a).to_string(), a.to_string());
                assert_eq!(Shown(IpAddr::V4(a)).to_string(), a.to_string());
                for len in 0..=32 {
                    let net = IpNet::V4(ipnet::Ipv4Net::new(a, len).unwrap());
                    assert_eq!(Shown(net).to_string(), net.to_string());
                }
            }
        }
        let v6: IpNet = "2001:db8::1/128".parse().unwrap();
        assert_eq!(Shown(v6).to_string(), "2001:db8::1/128");
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(Shown(a).to_string(), "2001:db8::1");
        assert_eq!(
            format!("[{:>12}]", Shown(IpAddr::V4([1, 2, 3, 4].into()))),
            "[     1.2.3.4]"
        );
    }

    #[test]
    fn ipv4_written_as_ipv6_is_refused_with_the_ipv4_form() {
        let e = "::ffff:192.0.2.25".parse::<Address>().unwrap_err();
        assert!(
            e.contains("IPv4-mapped") && e.contains("write `192.0.2.25`"),
            "{e}"
        );
        let e = "::1.2.3.4".parse::<Address>().unwrap_err();
        assert!(
            e.contains("IPv4-compatible") && e.contains("write `1.2.3.4`"),
            "{e}"
        );
        let e = "::ffff:192.0.2.0/120".parse::<Address>().unwrap_err();
        assert!(e.contains("write `192.0.2.0/24`"), "{e}");
        for ok in ["::1", "::", "2001:db8::25", "::/0", "64:ff9b::192.0.2.1"] {
            assert!(ok.parse::<Address>().is_ok(), "{ok}");
        }
    }

    #[track_caller]
    fn case(input: &str, expected: Result<&str, &str>) {
        let got = input.parse::<Address>().map(|a| a.to_string());
        match expected {
            Ok(want) => assert_eq!(got, Ok(want.to_string()), "{input}"),
            Err(part) => assert!(
                got.as_ref().is_err_and(|e| e.contains(part)),
                "{input}: {got:?} should fail with {part:?}"
            ),
        }
    }

    #[test]
    fn addresses() {
        case("192.0.2.5", Ok("192.0.2.5/32"));
        case("2001:db8::1", Ok("2001:db8::1/128"));
        case("198.51.100.0/24", Ok("198.51.100.0/24"));
        case("192.0.2.300", Err("is not an IP address"));
        case("repo.clearswift.net", Err("is not an IP address"));
        case("192.0.2.1/24", Err("write the network `192.0.2.0/24`"));
        case("192.0.2.0/33", Err("is not an IP address"));
    }

    #[test]
    fn aggregates_adjacent_and_overlapping() {
        let n = |s: &str| s.parse::<IpNet>().unwrap();
        let got = aggregate([
            n("192.0.2.1/32"),
            n("192.0.2.0/32"),
            n("192.0.2.0/31"),
            n("10.0.0.0/8"),
        ]);
        assert_eq!(got, vec![n("10.0.0.0/8"), n("192.0.2.0/31")]);
    }
}
