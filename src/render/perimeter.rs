//! The perimeter plan: what a firewall in front of the gateway must pass, before any vendor
//! prints it. Per access list (toward the gateway, or from it), the flows of each rule: the
//! connections it lets start and, for lists that do not track connections, their return
//! traffic; each side an address match (any, prefixes, or names the firewall resolves); the
//! remote side labelled by its roles and host groups, and address groups named from that
//! label within a vendor's name rules. The Cisco printers and the Aerleon export print this
//! plan; they decide only how it is written.

use ipnet::IpNet;

use crate::model::{Direction, PortRange, Service};
use crate::ruleset::{Rule, Ruleset};

use super::intern::Interner;
use super::{Family, RemoteMatch, remote_match};

/// One side of a flow.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Side {
    Any,
    Nets(Vec<IpNet>),
    /// The names of these host groups, which the firewall resolves.
    Fqdn(Vec<String>),
}

/// Which connections' return traffic a list needs entries of its own for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Replies {
    /// A stateless list: every connection's (IOS, Junos filters, Arista, NX-OS).
    All,
    /// A stateful firewall that lets replies back by itself, but ICMP's only with ICMP
    /// inspection (the ASA).
    IcmpOnly,
    /// A stateful firewall (zone-based firewalls).
    None,
}

/// One rule as one list sees it.
#[derive(Clone, Debug)]
pub(super) struct Flow<'a> {
    pub rule: &'a Rule,
    pub from: Side,
    pub to: Side,
    /// The connections the rule lets start (`true`), or their return traffic.
    pub forward: bool,
    /// What the remote side's addresses are (`DNS-SERVERS`), for its group's name.
    pub label: Option<String>,
}

/// The flows of the list toward the gateway (`toward_gateway`) or from it, in rule order:
/// in one `family`, or in both at once (`None`) for syntaxes whose lists take both.
pub(super) fn plan(
    rules: &Ruleset,
    family: Option<Family>,
    toward_gateway: bool,
    replies: Replies,
    label_max: usize,
) -> Vec<Flow<'_>> {
    let gateway = Side::Nets(match family {
        Some(f) => f.filter(&rules.gateway),
        None => rules.gateway.clone(),
    });
    let mut out = Vec::new();
    for rule in &rules.rules {
        let Some(remote) = remote_side(rule, family) else {
            continue;
        };
        let forward = (rule.direction == Direction::In) == toward_gateway;
        let icmp = matches!(rule.service, Service::Icmp(_));
        let reply_needed = match replies {
            Replies::All => true,
            Replies::IcmpOnly => icmp,
            Replies::None => false,
        };
        if !forward && !reply_needed {
            continue;
        }
        let (from, to) = if toward_gateway {
            (remote, gateway.clone())
        } else {
            (gateway.clone(), remote)
        };
        out.push(Flow {
            rule,
            from,
            to,
            forward,
            label: peer_label(rule, label_max),
        });
    }
    out
}

/// The remote side of `rule` in one family, or in both (`None`); `None` when it has
/// addresses, but none of the family.
pub(super) fn remote_side(rule: &Rule, family: Option<Family>) -> Option<Side> {
    Some(match remote_match(rule, family)? {
        RemoteMatch::Any => Side::Any,
        RemoteMatch::Nets(n) => Side::Nets(n),
        RemoteMatch::Names(g) => Side::Fqdn(g),
    })
}

/// The ports a host's replies go to: its ephemeral ports, never its services below 1024
/// (Linux uses 32768-60999 unless told otherwise; Windows 49152-65535).
pub(super) fn ephemeral() -> PortRange {
    PortRange::from_bounds(1024, 65535)
}

/// The remote side's roles and host groups, as a group's name takes them: `DNS-SERVERS`,
/// `ADMIN-CLIENTS_DNS-SERVERS`; `None` when there is none, or when it is longer than `max`.
pub(super) fn peer_label(rule: &Rule, max: usize) -> Option<String> {
    let ids: Vec<String> = rule
        .peers
        .roles
        .iter()
        .chain(rule.peers.groups.iter())
        .map(|id| id.to_ascii_uppercase())
        .collect();
    match ids.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        [first, rest @ ..] => {
            let all = ids.join("_");
            Some(if all.len() <= 40 {
                all
            } else {
                format!("{first}-AND-{}-MORE", rest.len())
            })
        }
    }
    .filter(|l| l.len() <= max)
}

/// Names of address groups, given out in order of first use: `FWGEN-GW` for the gateway,
/// else named after the peers they hold (`FWGEN-DNS-SERVERS`), numbered when a name is taken
/// (`FWGEN-NET-1` for addresses of no role or host group). Letters, digits, `-` and `_`:
/// every vendor's object names take them.
#[derive(Debug, Default)]
pub(super) struct NetNames(Interner<Vec<IpNet>>);

impl NetNames {
    /// The group for `nets`.
    pub(super) fn name(&mut self, nets: &[IpNet], gateway: bool, label: Option<&str>) -> String {
        self.0
            .name(&nets.to_vec(), |given| {
                let base = match (gateway, label) {
                    (true, _) => "FWGEN-GW".to_string(),
                    (false, Some(l)) => format!("FWGEN-{l}"),
                    (false, None) => "FWGEN-NET".to_string(),
                };
                let taken = |n: &str| given.iter().any(|(g, _)| g == n);
                if !taken(&base) && (gateway || label.is_some()) {
                    return base;
                }
                (1..)
                    .map(|i| format!("{base}-{i}"))
                    .find(|n| !taken(n))
                    .unwrap_or(base)
            })
            .to_string()
    }

    /// Every (name, prefixes), in order of first use.
    pub(super) fn iter(&self) -> std::slice::Iter<'_, (String, Vec<IpNet>)> {
        self.0.iter()
    }
}
