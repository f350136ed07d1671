//! `--backend aerleon`: the ruleset as an Aerleon policy and definitions (Aerleon 1.18, the
//! maintained successor of Capirca), for the platforms fwgen has no printer of its own for:
//! PAN-OS, Juniper SRX and Junos, FortiGate, Arista, NX-OS, and nftables, iptables and the
//! Windows Firewall through Aerleon's own generators.
//!
//! ```text
//! DIR/policies/pol/fwgen.yaml   filters: one per direction and kind of target, a term per rule
//! DIR/policies/pol/fwgen-inet6.yaml   iptables' IPv6 filters (its output is one family a file)
//! DIR/def/fwgen.yaml            networks (one per peer group, the gateway's) and services
//! aclgen --base_directory DIR/policies --definitions_directory DIR/def --output_directory OUT
//! ```
//!
//! The perimeter plan is the Cisco backends' ([`super::perimeter`]): zone-based firewalls
//! (PAN-OS, SRX, FortiGate) get one policy per direction between `--zone-outside` and
//! `--zone-inside`; the ASA a stateful access list per direction with ICMP replies of their
//! own; the stateless filters (Junos, Arista, NX-OS) also the return traffic of every
//! connection (TCP `tcp-established`, UDP from the service port to ephemeral ports). Every
//! list ends by denying the gateway's other traffic; the access lists then permit what does
//! not involve the gateway. Host rulesets start with the host baseline fwgen's own Linux
//! rulesets have (loopback, replies, ICMP errors, neighbour discovery).
//!
//! Where an Aerleon generator cannot write what the ruleset needs (FQDN networks outside the
//! SRX, ICMP codes, FortiGate's ICMP beside TCP/UDP, nftables' neighbour discovery), a target
//! asked for by name is an error naming it, and a target fwgen chose is left out with a
//! warning.

mod icmp;
mod policy;
mod yaml;

use crate::model::{Platform, Service};
use crate::ruleset::Ruleset;

use super::{Placement, RenderOptions};

pub(super) const DESCRIPTION: super::Description = super::Description {
    name: "aerleon",
    kind: super::Kind::Firewall,
    shape: super::Shape::Directory,
    file_name: "aerleon",
    placements: super::ANY_PLACEMENT,
    placement_note: "",
    needs_gateway: true,
    host_platforms: &[Platform::Linux, Platform::Windows],
    replaces_policy: true,
    comment_max: Some(policy::COMMENT_MAX),
    never_emits: &['\n', '\r'],
    // Checked per target: the SRX follows names, the others do not.
    names_note: None,
    icmp: super::IcmpSyntax::Names(icmp::icmp_name),
    forwarder: None,
    render: policy::render,
    previous: None,
    // Which targets can write the ruleset: an error for one asked for that cannot.
    check: Some(|rules, opts| targets(rules, opts).map(|_| ())),
};

/// Options of `--backend aerleon`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AerleonOptions {
    /// The targets in the policy's headers; empty: every target that fits the placement.
    pub targets: Vec<AerleonTarget>,
    /// The zone-based firewalls' zone of the gateway (default `inside`).
    pub zone_inside: Option<String>,
    /// Their zone of the gateway's peers (default `outside`).
    pub zone_outside: Option<String>,
}

impl AerleonOptions {
    fn zones(&self) -> (&str, &str) {
        (
            self.zone_inside.as_deref().unwrap_or("inside"),
            self.zone_outside.as_deref().unwrap_or("outside"),
        )
    }
}

/// An Aerleon target (its generator's name in a policy header).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum AerleonTarget {
    /// Palo Alto PAN-OS security rules (perimeter; zones)
    Paloalto,
    /// Juniper SRX security policies (perimeter; zones; follows host names)
    #[value(alias = "junipersrx")]
    Srx,
    /// FortiGate firewall policies (perimeter; zones)
    Fortigate,
    /// Junos firewall filters, stateless (perimeter)
    Juniper,
    /// Cisco ASA access lists (perimeter)
    Ciscoasa,
    /// Arista EOS access lists, stateless (perimeter)
    Arista,
    /// Cisco NX-OS access lists, stateless (perimeter)
    Cisconx,
    /// nftables, through Aerleon's generator (perimeter: a Linux router's forward hook; host:
    /// Linux)
    Nftables,
    /// iptables fragments, one file a family (perimeter: FORWARD; host: Linux)
    Iptables,
    /// Windows Firewall `netsh advfirewall` commands (host, Windows)
    #[value(name = "windows_advfirewall", alias = "windows-advfirewall")]
    WindowsAdvfirewall,
}

/// How a kind of target filters, which decides its filters' headers and terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    /// Stateful, between zones: PAN-OS, SRX, FortiGate.
    Zone,
    /// The ASA: stateful access lists, ICMP replies by entries of their own.
    Asa,
    /// Stateless access lists: Junos, Arista, NX-OS.
    Stateless,
    Nftables,
    Iptables,
    Windows,
}

impl AerleonTarget {
    /// Its name in a policy header.
    fn key(self) -> &'static str {
        match self {
            Self::Paloalto => "paloalto",
            Self::Srx => "srx",
            Self::Fortigate => "fortigate",
            Self::Juniper => "juniper",
            Self::Ciscoasa => "ciscoasa",
            Self::Arista => "arista",
            Self::Cisconx => "cisconx",
            Self::Nftables => "nftables",
            Self::Iptables => "iptables",
            Self::WindowsAdvfirewall => "windows_advfirewall",
        }
    }

    fn group(self) -> Group {
        match self {
            Self::Paloalto | Self::Srx | Self::Fortigate => Group::Zone,
            Self::Ciscoasa => Group::Asa,
            Self::Juniper | Self::Arista | Self::Cisconx => Group::Stateless,
            Self::Nftables => Group::Nftables,
            Self::Iptables => Group::Iptables,
            Self::WindowsAdvfirewall => Group::Windows,
        }
    }

    /// The placement it filters, and for the host placement the host's system.
    fn fits(self, placement: Placement, platform: Platform) -> bool {
        match (self.group(), placement) {
            (Group::Zone | Group::Asa | Group::Stateless, p) => p == Placement::Perimeter,
            // A Linux router in front of the gateway (the forward hook), or the gateway.
            (Group::Nftables | Group::Iptables, p) => {
                p == Placement::Perimeter || platform == Platform::Linux
            }
            (Group::Windows, p) => p == Placement::Host && platform == Platform::Windows,
        }
    }

    /// Why its Aerleon generator cannot write `rules`, if it cannot.
    fn cannot(self, rules: &Ruleset, placement: Placement) -> Option<String> {
        let icmp = |v6: bool| {
            rules.rules.iter().any(|r| match &r.service {
                Service::Icmp(t) => !t.messages(v6).is_empty(),
                _ => false,
            })
        };
        let codes = rules.rules.iter().any(|r| match &r.service {
            Service::Icmp(t) => [false, true]
                .iter()
                .any(|&v6| t.messages(v6).iter().any(|(_, c)| c.is_some())),
            _ => false,
        });
        let tcp_udp = rules
            .rules
            .iter()
            .any(|r| !matches!(r.service, Service::Icmp(_)));
        if !rules.dns_groups.is_empty() && self != Self::Srx {
            let groups: Vec<&str> = rules.dns_groups.iter().map(|g| g.group.as_str()).collect();
            return Some(format!(
                "host names that the firewall resolves (host groups {}): Aerleon writes FQDN \
                 networks for srx only; bind the names with a lock file (`fwgen resolve`, then \
                 --lock) or an ip-ranges file",
                groups.join(", ")
            ));
        }
        if codes && !matches!(self.group(), Group::Stateless | Group::Iptables) {
            return Some(
                "ICMP messages of one code: its Aerleon generator matches ICMP types only"
                    .to_string(),
            );
        }
        if self == Self::Fortigate && icmp(true) {
            return Some("ICMPv6: Aerleon 1.18's FortiGate generator refuses it".to_string());
        }
        if self == Self::Fortigate && icmp(false) && tcp_udp {
            return Some(
                "ICMP beside TCP or UDP: Aerleon 1.18's FortiGate generator fails on a policy \
                 with both (it sorts ICMP and port services together)"
                    .to_string(),
            );
        }
        if self == Self::Ciscoasa && has_v6(&rules.gateway) {
            return Some(
                "IPv6 (the gateway has an IPv6 address): Aerleon 1.18's ASA generator writes \
                 IPv4 entries only (fwgen's own -b cisco-asa writes both)"
                    .to_string(),
            );
        }
        if self == Self::Nftables && placement == Placement::Host && ipv6_in_play(rules) {
            return Some(
                "IPv6: Aerleon 1.18's nftables generator matches `ct state new` on every \
                 accepted packet, which neighbour discovery never is, so the host would lose \
                 IPv6 (fwgen's own -b nftables admits it); give the host's addresses, all \
                 IPv4, with `gateway:`, or use the iptables target"
                    .to_string(),
            );
        }
        None
    }
}

/// Whether a host ruleset must admit IPv6: the host has an IPv6 address, or its addresses are
/// not known.
fn ipv6_in_play(rules: &Ruleset) -> bool {
    rules.gateway.is_empty() || has_v6(&rules.gateway)
}

/// Whether `nets` hold an IPv6 prefix.
fn has_v6(nets: &[ipnet::IpNet]) -> bool {
    nets.iter().any(|n| matches!(n, ipnet::IpNet::V6(_)))
}

/// The targets to write, and warnings for those fwgen left out; an error for a target asked
/// for that cannot be written, or when none is left.
pub(super) fn targets(
    rules: &Ruleset,
    opts: &RenderOptions,
) -> Result<(Vec<AerleonTarget>, Vec<String>), String> {
    let platform = rules.meta.platform;
    let asked = &opts.aerleon.targets;
    let mut chosen = Vec::new();
    let mut warnings = Vec::new();
    if asked.is_empty() {
        for &t in <AerleonTarget as clap::ValueEnum>::value_variants() {
            if !t.fits(opts.placement, platform) {
                continue;
            }
            match t.cannot(rules, opts.placement) {
                None => chosen.push(t),
                Some(why) => warnings.push(format!("aerleon: target {} left out: {why}", t.key())),
            }
        }
        if chosen.is_empty() {
            return Err(format!(
                "aerleon: no target can write this ruleset ({})",
                warnings.join("; ")
            ));
        }
        return Ok((chosen, warnings));
    }
    for &t in asked {
        if !t.fits(opts.placement, platform) {
            return Err(format!(
                "aerleon target {} does not fit {} placement on component `{}` ({}): {}",
                t.key(),
                opts.placement.name(),
                rules.meta.component,
                platform.name(),
                fitting(opts.placement, platform)
            ));
        }
        if let Some(why) = t.cannot(rules, opts.placement) {
            return Err(format!("aerleon target {} cannot express {why}", t.key()));
        }
        if !chosen.contains(&t) {
            chosen.push(t);
        }
    }
    chosen.sort();
    Ok((chosen, warnings))
}

/// The targets that fit a placement and platform, said.
fn fitting(placement: Placement, platform: Platform) -> String {
    let names: Vec<&str> = <AerleonTarget as clap::ValueEnum>::value_variants()
        .iter()
        .filter(|t| t.fits(placement, platform))
        .map(|t| t.key())
        .collect();
    if names.is_empty() {
        "no target fits it".to_string()
    } else {
        format!("use {}", names.join(", "))
    }
}

/// A zone name as PAN-OS, the SRX and FortiGate take it: a letter, then letters, digits,
/// `.`, `_` or `-`, at most 31 (PAN-OS).
pub(super) fn check_options(o: &AerleonOptions) -> Result<(), String> {
    let (inside, outside) = o.zones();
    for (flag, z) in [("--zone-inside", inside), ("--zone-outside", outside)] {
        let ok = z.len() <= 31
            && z.starts_with(|c: char| c.is_ascii_alphabetic())
            && z.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok {
            return Err(format!(
                "{flag} `{z}`: a zone name is a letter, then letters, digits, `.`, `_` or `-` \
                 (at most 31)"
            ));
        }
    }
    if inside == outside {
        return Err(format!(
            "--zone-inside and --zone-outside are both `{inside}`: the gateway's zone and its \
             peers' zone differ"
        ));
    }
    Ok(())
}
