//! What the ruleset admits toward and from the gateway beyond what the selection needs.

/// The over-broad parts listed one by one (the largest).
const SHOWN: usize = 100;

use ipnet::IpNet;

use super::connect::{Need, addresses, connection, count_text};
use super::space::{self, Addrs, Cube, Ports};
use super::{Firewall, Interfaces, Placement, Verdict};
use crate::model::{Direction, Protocol, icmp_word};
use crate::ruleset::Ruleset;

/// The ICMP request over-broad looks for: echo (ping), at code 0, the one exchange a peer
/// starts in practice. Errors and neighbour discovery are the host's baseline, not a peer's
/// exchange; each further type is a pass of its own over the ruleset (with the timestamp,
/// information and address-mask requests too, the audit of `bench/audit.sh`'s 100,000-rule
/// dump took 790 ms against 640 ms without ICMP; with echo alone no slower within noise).
const ICMP_REQUESTS_V4: &[u16] = &[icmp_word(8, 0)];
const ICMP_REQUESTS_V6: &[u16] = &[icmp_word(128, 0)];

/// Every connection (or ICMP exchange) of a direction and protocol between the gateway
/// address `gw` and every other address.
fn universe(d: Direction, protocol: Protocol, gw: std::net::IpAddr) -> Need {
    let v6 = gw.is_ipv6();
    let own = Addrs::from_iter([space::num(gw)..=space::num(gw)]);
    let ports = match protocol {
        Protocol::Tcp | Protocol::Udp => Ports::from_iter([1..=65535]),
        Protocol::Icmp => {
            let words = if v6 {
                ICMP_REQUESTS_V6
            } else {
                ICMP_REQUESTS_V4
            };
            words.iter().map(|&w| w..=w).collect()
        }
    };
    Need {
        direction: d,
        protocol,
        gateway: gw,
        remote: &space::all_addrs(v6) - &own,
        ports,
    }
}

/// What the ruleset admits toward and from the gateway beyond what the selection needs:
/// each direction and protocol from and to every address on every port (ICMP: echo
/// requests), decided exactly, minus the entries' spaces; aggregated by port, the largest
/// first.
pub(super) fn over_broad(
    rules: &Ruleset,
    placement: (Placement, &Interfaces),
    fw: &dyn Firewall,
) -> Vec<String> {
    let mut found: Vec<(u128, String)> = Vec::new();
    for gw in rules.gateway.iter().map(IpNet::addr) {
        let v6 = gw.is_ipv6();
        for d in [Direction::In, Direction::Out] {
            for protocol in [Protocol::Tcp, Protocol::Udp, Protocol::Icmp] {
                let own = Addrs::from_iter([space::num(gw)..=space::num(gw)]);
                let universe = universe(d, protocol, gw);
                // Entries whose peers the firewall resolves need their ports from anyone
                // here: the audit cannot tell their addresses.
                let needed = needed(rules, d, protocol, gw);
                let bounds: Vec<space::Bounds> = needed.iter().map(space::Bounds::of).collect();
                let mut groups: Vec<(Ports, Verdict, Addrs, String)> = Vec::new();
                for p in connection(fw, placement, &universe) {
                    if p.result == Verdict::Blocked {
                        continue;
                    }
                    // Only the entries that reach this piece divide it.
                    let near: Vec<Cube> = needed
                        .iter()
                        .zip(&bounds)
                        .filter(|(_, b)| b.meets(&p.space))
                        .map(|(c, _)| c.clone())
                        .collect();
                    let Some((_, beyond)) = space::partition(p.space.clone(), &near) else {
                        found.push((
                            0,
                            format!("{d} {protocol} to and from {gw}: too many pieces to compute"),
                        ));
                        continue;
                    };
                    for b in beyond {
                        let remote = if d == Direction::In { b.src } else { b.dst };
                        match groups
                            .iter_mut()
                            .find(|g| g.0 == b.dport && g.1 == p.result)
                        {
                            Some(g) => g.2 = &g.2 | &remote,
                            None => groups.push((b.dport, p.result, remote, p.decided_by.clone())),
                        }
                    }
                }
                for (ports, result, remote, why) in groups {
                    let n = space::count(&remote).saturating_mul(ports.len() as u128);
                    let is = if result == Verdict::Admitted {
                        "is admitted"
                    } else {
                        // What the audit cannot decide may be admitted: said, not left out.
                        "may be admitted"
                    };
                    let (from, to) = match d {
                        Direction::In => (addresses(&remote, v6, &own), gw.to_string()),
                        Direction::Out => (gw.to_string(), addresses(&remote, v6, &own)),
                    };
                    let (name, what) = match protocol {
                        Protocol::Icmp if v6 => ("icmpv6", super::connect::icmp_text(&ports, v6)),
                        Protocol::Icmp => ("icmp", super::connect::icmp_text(&ports, v6)),
                        Protocol::Tcp | Protocol::Udp => {
                            (protocol.as_str(), space::port_text(&ports))
                        }
                    };
                    found.push((
                        n,
                        format!(
                            "{d} {name} {what} {from} -> {to} {is} ({} connections no entry needs): {why}",
                            count_text(n)
                        ),
                    ));
                }
            }
        }
    }
    shown(found)
}

/// The largest first; past a hundred, one line for the rest.
fn shown(mut found: Vec<(u128, String)>) -> Vec<String> {
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    let rest: Vec<(u128, String)> = found.split_off(found.len().min(SHOWN));
    let mut out: Vec<String> = found.into_iter().map(|(_, s)| s).collect();
    if !rest.is_empty() {
        let n = rest.iter().map(|r| r.0).fold(0u128, u128::saturating_add);
        out.push(format!(
            "and {} more parts admitted (or that may be) beyond the selection ({} connections), \
             each smaller than those above",
            rest.len(),
            count_text(n)
        ));
    }
    out
}

/// The cubes of what the selection needs in a direction and protocol from gateway address
/// `gw` (entries whose peers the firewall resolves: their ports from anyone).
fn needed(rules: &Ruleset, d: Direction, protocol: Protocol, gw: std::net::IpAddr) -> Vec<Cube> {
    rules
        .selected
        .iter()
        .filter(|e| e.directions.contains(&d))
        .flat_map(|e| {
            e.services
                .iter()
                .filter(|s| s.protocol() == protocol)
                .map(move |s| {
                    Need::of(e, d, s, gw).unwrap_or_else(|| Need::of_any(e, d, protocol, gw))
                })
        })
        .map(|n| n.cube())
        .collect()
}
