//! Whole connections as spaces: what an entry needs, what the ruleset does with each of a
//! connection's packets, neighbour discovery for IPv6, and what it admits beyond the
//! selection.

use std::net::IpAddr;

use super::model::{Context, Decision, Hook, L4, State, flags};
use super::space::{self, Addrs, Cube, Ports};
use super::{Firewall, Interfaces, Part, Placement, Verdict};
use crate::model::{Direction, Protocol, Service, icmp_of_word, icmp_word};
use crate::ruleset::{Remote, Selected};

pub(super) use super::space::Space;

/// The source ports a connection's opener may use: the ephemeral ports of Linux
/// (32768-60999, `ip_local_port_range`) and of Windows and the BSDs (IANA's 49152-65535).
pub(super) const EPHEMERAL: std::ops::RangeInclusive<u16> = 32768..=65535;

/// What one entry needs in one direction, protocol and gateway address.
pub(super) struct Need {
    pub direction: Direction,
    pub protocol: Protocol,
    pub gateway: IpAddr,
    /// The other end: the entry's peers of the gateway's family (every address for `any`).
    pub remote: Addrs,
    /// The ports; for ICMP, the type numbers of the gateway's family (each decided as its
    /// own message, in a space whose destination "port" is the type).
    pub ports: Ports,
}

impl Need {
    /// `None` when the peers are names the firewall resolves. A peer is another host: the
    /// gateway's own address is not one (its connections to itself never leave it).
    pub(super) fn of(
        e: &Selected,
        direction: Direction,
        service: &Service,
        gateway: IpAddr,
    ) -> Option<Need> {
        let v6 = gateway.is_ipv6();
        let own = Addrs::from_iter([space::num(gateway)..=space::num(gateway)]);
        let remote = match &e.remote {
            Remote::Any => space::all_addrs(v6),
            Remote::Addresses(nets) => nets
                .iter()
                .filter(|n| n.addr().is_ipv6() == v6)
                .map(space::net)
                .fold(Addrs::new(), |a, b| &a | &b),
            Remote::Names(_) => return None,
        };
        let remote = &remote - &own;
        Some(Need {
            direction,
            protocol: service.protocol(),
            gateway,
            remote,
            ports: ports_of(service, v6),
        })
    }

    pub(super) fn is_empty(&self) -> bool {
        self.remote.is_empty() || self.ports.is_empty()
    }

    /// Remote addresses × ports.
    pub(super) fn connections(&self) -> u128 {
        space::count(&self.remote).saturating_mul(self.ports.len() as u128)
    }

    pub(super) fn v6(&self) -> bool {
        self.gateway.is_ipv6()
    }

    /// The space of the connections' first packets.
    pub(super) fn space(&self) -> Space {
        let gw = Addrs::from_iter([space::num(self.gateway)..=space::num(self.gateway)]);
        let (src, dst) = match self.direction {
            Direction::In => (self.remote.clone(), gw),
            Direction::Out => (gw, self.remote.clone()),
        };
        Space {
            src,
            dst,
            sport: Ports::from_iter([EPHEMERAL]),
            dport: self.ports.clone(),
        }
    }

    /// The cube of what it needs (for over-broad).
    pub(super) fn cube(&self) -> Cube {
        let (src, dst) = match self.direction {
            Direction::In => (Some(self.remote.clone()), None),
            Direction::Out => (None, Some(self.remote.clone())),
        };
        Cube {
            src,
            dst,
            sport: None,
            dport: Some(self.ports.clone()),
        }
    }
}

/// A service's ports as a set; for ICMP, its messages in the family (`v6`) as words (see
/// [`icmp_word`]).
fn ports_of(service: &Service, v6: bool) -> Ports {
    match service {
        Service::Tcp(p) | Service::Udp(p) => p
            .ranges()
            .iter()
            .map(|r| r.lo().get()..=r.hi().get())
            .collect(),
        // One word per message, as `th sport` reads it: type * 256 + code (a whole type is
        // decided for code 0, the code of echo).
        Service::Icmp(t) => t
            .messages(v6)
            .into_iter()
            .map(|(t, code)| icmp_word(t, code.unwrap_or(0)))
            .map(|w| w..=w)
            .collect(),
    }
}

/// The hooks a connection's first packet and its replies meet.
fn hooks(placement: Placement, d: Direction) -> (Hook, Hook) {
    match (placement, d) {
        (Placement::Perimeter, _) => (Hook::Forward, Hook::Forward),
        (Placement::Host, Direction::In) => (Hook::Input, Hook::Output),
        (Placement::Host, Direction::Out) => (Hook::Output, Hook::Input),
    }
}

/// The interfaces a connection's first packet arrives on and leaves by (the reply's are the
/// other way round): host placement: the gateway's interface, and none on the other side
/// ([`on_host`]); perimeter: the one facing the gateway and the (first) ingress interface.
/// `None` where not named.
fn interfaces(
    placement: Placement,
    d: Direction,
    at: &Interfaces,
) -> (Option<String>, Option<String>) {
    let named = |i: &str| (!i.is_empty()).then(|| i.to_string());
    match (placement, d) {
        (Placement::Host, d) => on_host(d, &at.gateway),
        (Placement::Perimeter, Direction::In) => (at.ingress.first().cloned(), named(&at.gateway)),
        (Placement::Perimeter, Direction::Out) => (named(&at.gateway), at.ingress.first().cloned()),
    }
}

/// The interfaces of what a host receives (`In`) or sends (`Out`) on its interface `iface`
/// (`""`: not named), and none on the other side: the kernel's empty name (a packet the host
/// sends arrives on no interface, one it receives leaves by none). The gateway in host
/// placement; a firewall's own neighbour discovery on one of its links.
pub(super) fn on_host(d: Direction, iface: &str) -> (Option<String>, Option<String>) {
    let named = (!iface.is_empty()).then(|| iface.to_string());
    let none = Some(String::new());
    match d {
        Direction::In => (named, none),
        Direction::Out => (none, named),
    }
}

/// One kind of packet of a connection.
struct Leg {
    reply: bool,
    state: State,
    /// The TCP flags its packets carry (each is decided).
    flags: &'static [u8],
    /// What a drop of it is called.
    label: &'static str,
}

/// A connection's packets: the first, the opener's later ones, the replies. With rules on
/// TCP flags, each set of flags they carry: SYN; ACK and PSH-ACK; SYN-ACK and ACK.
fn legs(tcp_flags: bool) -> [Leg; 3] {
    const SYN: &[u8] = &[flags::SYN];
    const ACK: &[u8] = &[flags::ACK];
    const LATER: &[u8] = &[flags::ACK, flags::ACK | flags::PSH];
    const REPLY: &[u8] = &[flags::SYN | flags::ACK, flags::ACK, flags::ACK | flags::PSH];
    [
        Leg {
            reply: false,
            state: State::New,
            flags: SYN,
            label: "",
        },
        Leg {
            reply: false,
            state: State::Established,
            flags: if tcp_flags { LATER } else { ACK },
            label: "its later packets: ",
        },
        Leg {
            reply: true,
            state: State::Established,
            flags: if tcp_flags { REPLY } else { ACK },
            label: "its replies: ",
        },
    ]
}

/// A piece of a connection space decided: its verdict, why, and the base chains that drop it
/// (and whether it is the reply there).
pub(super) type Done = (Space, Verdict, String, Vec<(super::model::ChainRef, bool)>);

/// A connection whose first packet is dropped may have its replies dropped too: one fix
/// should admit both, so the chains that drop them are added.
fn replies_too(fw: &dyn Firewall, back: Hook, reply: Context, done: &mut [Done]) {
    for (s, verdict, _, chains) in done {
        if *verdict == Verdict::Blocked && chains.iter().all(|(_, reply)| !reply) {
            for piece in fw.decide(back, &reply, s.swapped()) {
                if let (Decision::Drop(_), Some(c)) = (piece.decision, piece.chain) {
                    let c = (c, true);
                    if !chains.contains(&c) {
                        chains.push(c);
                    }
                }
            }
        }
    }
}

/// A piece of a connection space on its way through the legs.
pub(super) struct Going {
    pub(super) space: Space,
    /// The rule that accepted the first packet.
    pub(super) why: Option<String>,
}

/// One leg's packets (with one set of TCP flags) through the ruleset: what passes goes on,
/// the rest is done.
fn leg_step(
    fw: &dyn Firewall,
    (hook, ctx): (Hook, &Context),
    (leg, first): (&Leg, bool),
    going: Vec<Going>,
    done: &mut Vec<Done>,
) -> Vec<Going> {
    let mut next = Vec::new();
    for g in going {
        let view = if leg.reply {
            g.space.swapped()
        } else {
            g.space.clone()
        };
        for piece in fw.decide(hook, ctx, view) {
            let s = if leg.reply {
                piece.space.swapped()
            } else {
                piece.space
            };
            match piece.decision {
                Decision::Accept(why) => next.push(Going {
                    space: s,
                    why: g.why.clone().or(Some(why)),
                }),
                Decision::Drop(why) => done.push((
                    s,
                    Verdict::Blocked,
                    format!("{}{why}", leg.label),
                    piece.chain.map(|c| (c, !first)).into_iter().collect(),
                )),
                Decision::Unknown(why) => done.push((
                    s,
                    Verdict::Unknown,
                    format!("{}{why}", leg.label),
                    Vec::new(),
                )),
            }
        }
    }
    next
}

/// The runs a connection is decided in: (the opener's transport, the replies', the space).
/// TCP and UDP: one run over the whole space. ICMP: one per type, whose messages (and
/// replies, of the reply's type; none for a message without one) are the packets.
fn runs(need: &Need) -> Vec<(L4, Option<L4>, Space)> {
    match L4::transport(need.protocol) {
        Some(l4) => vec![(l4, Some(l4), need.space())],
        None => need
            .ports
            .iter()
            .map(|word| {
                let (t, code) = icmp_of_word(word);
                let reply =
                    crate::model::icmp_reply(need.v6(), t).map(|r| L4::icmp(need.v6(), r, 0));
                let mut space = need.space();
                space.dport = Ports::from_iter([word..=word]);
                (L4::icmp(need.v6(), t, code), reply, space)
            })
            .collect(),
    }
}

/// What the ruleset does with every connection `need` names: a partition of its space.
pub(super) fn connection(
    fw: &dyn Firewall,
    (placement, at): (Placement, &Interfaces),
    need: &Need,
) -> Vec<Part> {
    let (there, back) = hooks(placement, need.direction);
    let (iif, oif) = interfaces(placement, need.direction, at);
    // The audited host's own address (perimeter: the firewall's are not known).
    let own = match placement {
        Placement::Host => Addrs::from_iter([space::num(need.gateway)..=space::num(need.gateway)]),
        Placement::Perimeter => Addrs::new(),
    };
    let runs = runs(need);
    let mut going: Vec<Going> = Vec::new();
    let mut done: Vec<Done> = Vec::new();
    // The replies' transport, for the chains that drop them (ICMP: the last type's).
    let mut back_l4 = None;
    for (opener, reply, space) in runs {
        back_l4 = reply;
        let mut run = vec![Going { space, why: None }];
        for (i, leg) in legs(fw.uses_flags()).iter().enumerate() {
            let flag_sets: &[u8] = if opener == L4::Tcp { leg.flags } else { &[0] };
            // A message without a reply (a router solicitation) is only its own packets.
            let Some(leg_l4) = (if leg.reply { reply } else { Some(opener) }) else {
                continue;
            };
            for &tcp in flag_sets {
                let (hook, iif, oif) = if leg.reply {
                    (back, oif.clone(), iif.clone())
                } else {
                    (there, iif.clone(), oif.clone())
                };
                let ctx = Context {
                    v6: need.v6(),
                    l4: leg_l4,
                    state: leg.state,
                    flags: tcp,
                    iif,
                    oif,
                    local: hook == Hook::Output,
                    own: own.clone(),
                };
                run = leg_step(fw, (hook, &ctx), (leg, i == 0), run, &mut done);
            }
        }
        going.extend(run);
    }
    if need.v6() {
        going = super::nd::neighbour_discovery(fw, need, (placement, at), going, &mut done);
    }
    if let Some(l4) = back_l4 {
        replies_too(
            fw,
            back,
            Context {
                v6: need.v6(),
                l4,
                state: State::Established,
                flags: if l4 == L4::Tcp { flags::ACK } else { 0 },
                iif: oif.clone(),
                oif: iif.clone(),
                local: back == Hook::Output,
                own: own.clone(),
            },
            &mut done,
        );
    }
    done.extend(going.into_iter().map(|g| {
        (
            g.space,
            Verdict::Admitted,
            g.why.unwrap_or_default(),
            Vec::new(),
        )
    }));
    merge(need, done)
}

/// Pieces decided alike that differ in one field only, as one part each (repeated until no
/// two can be joined): the report lists a few parts, not the rules' every cut.
fn merge(need: &Need, mut merged: Vec<Done>) -> Vec<Part> {
    // Pairs are compared: past this many pieces they stay as they are.
    const MERGE_AT_MOST: usize = 2_000;
    let mut joined = true;
    while joined && merged.len() <= MERGE_AT_MOST {
        joined = false;
        let pair = merged.iter().enumerate().find_map(|(i, a)| {
            merged.iter().enumerate().skip(i + 1).find_map(|(j, b)| {
                let alike = a.1 == b.1 && a.2 == b.2 && a.3 == b.3;
                alike
                    .then(|| union_of(&a.0, &b.0))
                    .flatten()
                    .map(|u| (i, j, u))
            })
        });
        if let Some((i, j, u)) = pair {
            if let Some(m) = merged.get_mut(i) {
                m.0 = u;
            }
            merged.remove(j);
            joined = true;
        }
    }
    let v6 = need.v6();
    merged
        .into_iter()
        .map(|(s, result, why, dropped_in)| Part {
            direction: need.direction,
            protocol: need.protocol,
            src: space::prefixes(&s.src, v6),
            dst: space::prefixes(&s.dst, v6),
            ports: match need.protocol {
                Protocol::Icmp => icmp_text(&s.dport, v6),
                Protocol::Tcp | Protocol::Udp => space::port_text(&s.dport),
            },
            source_ports: space::port_text(&s.sport),
            connections: space::count(&s.src)
                .saturating_mul(space::count(&s.dst))
                .saturating_mul(s.dport.len() as u128),
            result,
            // Text from the audited file (rule comments, names, constructs) as one line
            // without control or invisible characters: it cannot forge a line of the report.
            decided_by: crate::text::flatten(&why, 1000, &[]),
            dropped_in,
            space: s,
            v6,
        })
        .collect()
}

/// ICMP messages (a part's "ports", as words) by name where they have one:
/// `echo-request`, `destination-unreachable/4`, `42`.
pub(super) fn icmp_text(words: &Ports, v6: bool) -> String {
    words
        .iter()
        .map(|w| {
            let (t, code) = icmp_of_word(w);
            let name = crate::model::icmp_name(t, v6).map_or_else(|| t.to_string(), str::to_string);
            if code == 0 {
                name
            } else {
                format!("{name}/{code}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Two boxes equal in all fields but one, as one box.
fn union_of(a: &Space, b: &Space) -> Option<Space> {
    let same = [
        a.src == b.src,
        a.dst == b.dst,
        a.sport == b.sport,
        a.dport == b.dport,
    ];
    match same {
        [false, true, true, true] => Some(Space {
            src: &a.src | &b.src,
            ..a.clone()
        }),
        [true, false, true, true] => Some(Space {
            dst: &a.dst | &b.dst,
            ..a.clone()
        }),
        [true, true, false, true] => Some(Space {
            sport: &a.sport | &b.sport,
            ..a.clone()
        }),
        [true, true, true, false] => Some(Space {
            dport: &a.dport | &b.dport,
            ..a.clone()
        }),
        [true, true, true, true] => Some(a.clone()),
        _ => None,
    }
}

/// How many (source, destination, port) triples the boxes cover together, each once
/// (source ports left out).
pub(super) fn triples(boxes: &[&Space]) -> u128 {
    let mut disjoint: Vec<Space> = Vec::new();
    for b in boxes {
        let mut pieces = vec![Space {
            sport: Ports::from_iter([0..=0]),
            ..(*b).clone()
        }];
        for d in &disjoint {
            let cube = Cube {
                src: Some(d.src.clone()),
                dst: Some(d.dst.clone()),
                sport: None,
                dport: Some(d.dport.clone()),
            };
            pieces = pieces.into_iter().flat_map(|p| p.split(&cube).1).collect();
        }
        disjoint.extend(pieces);
    }
    disjoint
        .iter()
        .map(|s| {
            space::count(&s.src)
                .saturating_mul(space::count(&s.dst))
                .saturating_mul(s.dport.len() as u128)
        })
        .fold(0, u128::saturating_add)
}

/// Addresses as a reader wants them: `198.51.100.10/31`, `any IPv4 address`, `any IPv4
/// address except 198.51.100.0/24`, at most a few prefixes and a count. `own` (the
/// gateway's addresses) is never a peer: "any" leaves it out.
pub(super) fn addresses(a: &Addrs, v6: bool, own: &Addrs) -> String {
    if a == own {
        return list_of(a, v6);
    }
    let all = &space::all_addrs(v6) - own;
    let family = if v6 { "IPv6" } else { "IPv4" };
    if *a == all {
        return format!("any {family} address");
    }
    let list = |a: &Addrs| list_of(a, v6);
    let rest = &all - a;
    if space::prefixes(&rest, v6).len() < space::prefixes(a, v6).len() {
        format!("any {family} address except {}", list(&rest))
    } else {
        list(a)
    }
}

/// At most six prefixes, and how many there are.
fn list_of(a: &Addrs, v6: bool) -> String {
    let p = space::prefixes(a, v6);
    let shown: Vec<String> = p.iter().take(6).map(ToString::to_string).collect();
    if p.len() > shown.len() {
        format!("{}, … ({} prefixes in all)", shown.join(", "), p.len())
    } else {
        shown.join(", ")
    }
}

/// `in tcp 443 198.51.100.11/32 -> 192.0.2.25: policy drop of chain inet filter input`.
pub(super) fn describe(p: &Part) -> String {
    let sport = if p.space.sport == Ports::from_iter([EPHEMERAL]) {
        String::new()
    } else {
        format!(" from source ports {}", p.source_ports)
    };
    let own = match p.direction {
        Direction::In => &p.space.dst,
        Direction::Out => &p.space.src,
    };
    format!(
        "{} {} {} {} -> {}{sport}: {}",
        p.direction,
        if p.protocol == Protocol::Icmp && p.v6 {
            "icmpv6"
        } else {
            p.protocol.as_str()
        },
        p.ports,
        addresses(&p.space.src, p.v6, own),
        addresses(&p.space.dst, p.v6, own),
        p.decided_by
    )
}

/// What an entry's verdict rests on: `2 addresses × 1 port: 2 of 2 connections admitted`.
pub(super) fn proven(e: &Selected, needed: u128, admitted: u128, names: bool) -> String {
    if names {
        return "not audited: the firewall resolves its peers' names".into();
    }
    let (ports, unit) = e.services.first().map_or((0, "port"), |s| match s {
        Service::Tcp(p) | Service::Udp(p) => (
            p.ranges()
                .iter()
                .map(|r| u32::from(r.hi().get()) - u32::from(r.lo().get()) + 1)
                .sum(),
            "port",
        ),
        Service::Icmp(t) => (
            u32::try_from(t.iter().count()).unwrap_or(u32::MAX),
            "ICMP type",
        ),
    });
    let remote = match &e.remote {
        Remote::Any => "any address".to_string(),
        Remote::Addresses(nets) => {
            let n = |v6: bool| {
                nets.iter()
                    .filter(|n| n.addr().is_ipv6() == v6)
                    .map(|n| space::count(&space::net(n)))
                    .fold(0u128, u128::saturating_add)
            };
            let (v4, v6) = (n(false), n(true));
            let plural = |n: u128| if n == 1 { "" } else { "es" };
            match (v4, v6) {
                (a, 0) | (0, a) if a < 1_000_000_000 => format!("{a} address{}", plural(a)),
                (a, 0) => format!("{} IPv4 addresses", count_text(a)),
                (0, b) => format!("{} IPv6 addresses", count_text(b)),
                (a, b) => format!(
                    "{} IPv4 and {} IPv6 address{}",
                    count_text(a),
                    count_text(b),
                    plural(b)
                ),
            }
        }
        Remote::Names(_) => String::new(),
    };
    let plural = if ports == 1 { "" } else { "s" };
    let from = if unit == "port" {
        ", from every ephemeral source port"
    } else {
        ""
    };
    let how = if admitted == needed && needed > 0 {
        "every connection admitted".to_string()
    } else if admitted == 0 {
        "none admitted".to_string()
    } else {
        format!("{admitted} of {needed} admitted")
    };
    format!("{remote} × {ports} {unit}{plural}{from}: {how}")
}

impl Need {
    /// An entry's ports from any address (for peers the audit cannot tell).
    pub(super) fn of_any(
        e: &Selected,
        direction: Direction,
        protocol: Protocol,
        gateway: IpAddr,
    ) -> Need {
        Need {
            direction,
            protocol,
            gateway,
            remote: space::all_addrs(gateway.is_ipv6()),
            ports: e
                .services
                .iter()
                .find(|s| s.protocol() == protocol)
                .map(|s| ports_of(s, gateway.is_ipv6()))
                .unwrap_or_default(),
        }
    }
}

/// A count: exact up to a billion, then as a power of two (`2^64`, `about 2^47`).
pub(super) fn count_text(n: u128) -> String {
    if n < 1_000_000_000 {
        n.to_string()
    } else if n.is_power_of_two() {
        format!("2^{}", n.trailing_zeros())
    } else if n == u128::MAX {
        "2^128".into()
    } else {
        format!("about 2^{}", 127 - n.leading_zeros())
    }
}
