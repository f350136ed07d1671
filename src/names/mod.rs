//! Addresses for host names that the documents give no address for.
//!
//! Four ways, chosen per host group (see the README, "Hosts without fixed addresses"):
//! published cloud ranges ([`ip_ranges`], offline), a DNS lock file ([`lock`], written by
//! `fwgen resolve` with [`resolve`]), and names the firewall follows itself (ASA FQDN
//! objects, or sets that the gateway's DNS forwarder fills at run time: [`NameMode::Fqdn`]).

pub mod ip_ranges;
pub mod lock;
pub mod resolve;

use serde::Deserialize;

pub use ip_ranges::{Filter, IpRanges};
pub use lock::Lock;

/// A host name as DNS compares it (and as lock files, forwarder configurations and ASA
/// objects write it): lower case, no final dot.
pub fn host_key(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// What is special about an address no Internet host answers from: the ranges of the IANA
/// special-purpose registries that a DNS answer should never hold for a server a gateway
/// talks to (private and documentation ranges are ordinary addresses here). `None` for an
/// ordinary address.
pub fn special_purpose(ip: std::net::IpAddr) -> Option<&'static str> {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            match o {
                [0, ..] => Some("\"this network\" (0.0.0.0/8)"),
                [127, ..] => Some("loopback (127.0.0.0/8)"),
                [169, 254, ..] => Some("link-local (169.254.0.0/16)"),
                [255, 255, 255, 255] => Some("the limited broadcast address"),
                [224..=239, ..] => Some("multicast (224.0.0.0/4)"),
                [240..=255, ..] => Some("reserved (240.0.0.0/4)"),
                _ => None,
            }
        }
        IpAddr::V6(a) => {
            let seg = a.segments();
            if a.is_unspecified() {
                Some("the unspecified address (::)")
            } else if a.is_loopback() {
                Some("loopback (::1)")
            } else if seg[0] & 0xff00 == 0xff00 {
                Some("multicast (ff00::/8)")
            } else if seg[0] & 0xffc0 == 0xfe80 {
                Some("link-local (fe80::/10)")
            } else if seg[..5] == [0; 5] && seg[5] == 0xffff {
                Some("IPv4-mapped (::ffff:0:0/96): it matches no IPv6 packet on the wire")
            } else if seg[..6] == [0; 6] {
                Some("IPv4-compatible (::/96, deprecated)")
            } else {
                None
            }
        }
    }
}

/// How the rules reach host names without a fixed address (`--names`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum NameMode {
    /// Fixed addresses only: the document's, the site file's, an ip-ranges file's or a lock
    /// file's; a host group with none of these admits any address (with a warning)
    #[default]
    Addresses,
    /// The firewall follows the names: Cisco ASA FQDN objects; for nftables, iptables and
    /// firewalld, sets that the gateway's DNS forwarder fills (see --dnsmasq)
    Fqdn,
}

/// How the site file binds one host group (`names:` in the site file): `lock`, `fqdn`, or
/// `{ip_ranges: {service: …, region: …, network_border_group: …}}`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Choice {
    /// The prefixes of the ip-ranges file that the filter selects.
    IpRanges(Filter),
    /// The addresses of the lock file.
    Lock,
    /// Names the firewall follows.
    Fqdn,
}

impl<'de> Deserialize<'de> for Choice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        const EXPECTED: &str = "`lock`, `fqdn` or `{ip_ranges: {service: …, region: …}}`";
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Choice;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Choice, E> {
                match v {
                    "lock" => Ok(Choice::Lock),
                    "fqdn" => Ok(Choice::Fqdn),
                    "ip_ranges" => Err(E::custom(
                        "`ip_ranges` needs a filter: `{ip_ranges: {service: …, region: …}}`",
                    )),
                    _ => Err(E::custom(format!(
                        "expected {EXPECTED}{}",
                        crate::suggest::did_you_mean(v, ["lock", "fqdn", "ip_ranges"])
                            .map(|c| format!("; did you mean `{c}`?"))
                            .unwrap_or_default()
                    ))),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Choice, A::Error> {
                use serde::de::Error;
                let Some(key) = map.next_key::<String>()? else {
                    return Err(A::Error::custom(format!("expected {EXPECTED}")));
                };
                if key != "ip_ranges" {
                    return Err(A::Error::custom(format!(
                        "unknown key `{}`: expected {EXPECTED}",
                        crate::text::sanitize(&key, 40)
                    )));
                }
                let filter: Filter = map.next_value()?;
                if map.next_key::<String>()?.is_some() {
                    return Err(A::Error::custom(format!("one key only: {EXPECTED}")));
                }
                Ok(Choice::IpRanges(filter))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Choice {
    pub fn name(&self) -> &'static str {
        match self {
            Choice::IpRanges(_) => "ip_ranges",
            Choice::Lock => "lock",
            Choice::Fqdn => "fqdn",
        }
    }
}

/// A host group whose rules go to the addresses its names resolve to at run time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct DnsGroup {
    /// The host group's id.
    pub group: String,
    /// Its host names, as the document spells them.
    pub hosts: Vec<String>,
}

/// The file name alone, for headers: the same file gives the same header from any directory.
fn file_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn load_error(
    path: &std::path::Path,
    line: usize,
    column: Option<usize>,
    kind: crate::diagnostic::Problem,
) -> crate::diagnostic::Diagnostics {
    crate::diagnostic::Diagnostics(vec![crate::diagnostic::Diagnostic {
        path: path.display().to_string(),
        line,
        column,
        kind,
    }])
}

/// Read and parse an `ip-ranges.json`.
pub fn load_ip_ranges(path: &std::path::Path) -> Result<IpRanges, crate::diagnostic::Diagnostics> {
    let text = crate::yaml::read_text(path).map_err(|k| load_error(path, 0, None, k))?;
    IpRanges::parse(&file_name(path), &text).map_err(|e| {
        load_error(
            path,
            e.line,
            (e.line > 0).then_some(e.column),
            crate::diagnostic::Problem::Invalid(format!("ip-ranges file: {}", e.message)),
        )
    })
}

/// Read and parse a lock file.
pub fn load_lock(path: &std::path::Path) -> Result<Lock, crate::diagnostic::Diagnostics> {
    let text = crate::yaml::read_text(path).map_err(|k| load_error(path, 0, None, k))?;
    let display = path.display().to_string();
    let mut lock = Lock::parse(&display, &text)?;
    lock.path = file_name(path);
    Ok(lock)
}
