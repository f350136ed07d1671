//! IPv6 neighbour discovery a connection's first exchange needs, decided like the
//! connection's own packets.

use super::connect::{Done, Going, Need};
use super::model::{Context, Decision, Hook, L4, State};
use super::space::{self, Addrs, Cube, Ports, Space};
use super::{Firewall, Interfaces, Placement, Verdict};
use crate::model::Direction;

/// What marks a part blocked by neighbour discovery (`--fix` admits it, not the connection).
pub(super) const ND: &str = "IPv6 neighbour discovery: ";

/// IPv6 connections need neighbour discovery on every link they cross (for a peer behind a
/// router, the router's addresses stand in its place). Host placement: an inbound
/// connection the peer's solicitation to the gateway's solicited-node address and the
/// gateway's advertisement back; an outbound one the gateway's solicitation and the peer's
/// advertisement. Perimeter placement: the firewall routes, so it is a host on both links,
/// and these exchanges are its own (its input and output hooks, with prerouting and
/// postrouting): both sides solicit the firewall, the firewall solicits the side that
/// answers (see [`perimeter_messages`]); its own addresses are not known to the audit. (What
/// the first exchange needs: each side learns the other's link address from it.) Connections whose exchange is
/// dropped are blocked; where a construct decides it, or the firewall's own address would,
/// unknown.
pub(super) fn neighbour_discovery(
    fw: &dyn Firewall,
    need: &Need,
    (placement, at): (Placement, &Interfaces),
    going: Vec<Going>,
    done: &mut Vec<Done>,
) -> Vec<Going> {
    let remote: Addrs = going
        .iter()
        .map(|g| match need.direction {
            Direction::In => g.space.src.clone(),
            Direction::Out => g.space.dst.clone(),
        })
        .fold(Addrs::new(), |a, b| &a | &b);
    if remote.is_empty() {
        return going;
    }
    let mut going = going;
    let (messages, own) = match placement {
        Placement::Host => (
            Vec::from(messages(need, remote)),
            Addrs::from_iter([space::num(need.gateway)..=space::num(need.gateway)]),
        ),
        Placement::Perimeter => (perimeter_messages(need, &remote), firewall()),
    };
    for m in messages {
        let input = m.hook == Hook::Input;
        // Whichever way the connection goes, the host on the link (the gateway, or the
        // firewall) receives and sends these messages on the link's interface.
        let way = if input { Direction::In } else { Direction::Out };
        let iface = match m.link {
            Link::Gateway => at.gateway.as_str(),
            Link::Peers => at.ingress.first().map_or("", String::as_str),
        };
        let (iif, oif) = super::connect::on_host(way, iface);
        let ctx = Context {
            v6: true,
            l4: L4::Icmpv6(m.kind, 0),
            state: State::Untracked,
            flags: 0,
            iif,
            oif,
            local: !input,
            own: own.clone(),
        };
        let zero = Ports::from_iter([0..=0]);
        let message = Space {
            src: m.src.clone(),
            dst: m.dst.clone(),
            sport: zero.clone(),
            dport: zero,
        };
        for piece in fw.decide(m.hook, &ctx, message) {
            going = stop((need, placement), &m, piece, going, done);
        }
    }
    going
}

/// One message of neighbour discovery: what it is called, where it is filtered, its ICMPv6
/// type and addresses, which side names the peer (`None`: neither, the gateway with the
/// firewall or a multicast group), and the link it is sent on.
struct Message {
    what: &'static str,
    hook: Hook,
    kind: u8,
    src: Addrs,
    dst: Addrs,
    peer_is_src: Option<bool>,
    link: Link,
}

/// The link a message is sent on: the gateway's (host placement: every message), or, in
/// perimeter placement, the one between the firewall and the peers (its first ingress
/// interface).
#[derive(Clone, Copy)]
enum Link {
    Gateway,
    Peers,
}

/// The firewall's own unicast addresses, which the audit is not given: any but multicast
/// (ff00::/8).
fn firewall() -> Addrs {
    Addrs::from_iter([0..=0xfeff_ffff_ffff_ffff_ffff_ffff_ffff_ffff])
}

/// Solicited-node multicast addresses (ff02::1:ff00:0/104): those of `n` (its last 24 bits),
/// or of every address.
fn solicited(n: Option<u128>) -> Addrs {
    let base = 0xff02_0000_0000_0000_0000_0001_ff00_0000;
    match n {
        Some(n) => Addrs::from_iter([base | (n & 0xff_ffff)..=base | (n & 0xff_ffff)]),
        None => Addrs::from_iter([base..=base | 0xff_ffff]),
    }
}

/// The firewall's messages in perimeter placement, with the peers `remote`. Each side
/// solicits the firewall and hears its advertisement: the side that sends first, to reach
/// it at all; the other side for its replies, because the firewall's own solicitation of a
/// routed packet's next hop comes from its link-local address (the packet's source is not
/// its own), which teaches a side whose route names the firewall's global address nothing.
/// And the firewall solicits the side that answers and hears its advertisement.
fn perimeter_messages(need: &Need, remote: &Addrs) -> Vec<Message> {
    let g = space::num(need.gateway);
    let gateway = Addrs::from_iter([g..=g]);
    let inbound = need.direction == Direction::In;
    let (first, first_link, then, then_link) = if inbound {
        (remote.clone(), Link::Peers, gateway.clone(), Link::Gateway)
    } else {
        (gateway.clone(), Link::Gateway, remote.clone(), Link::Peers)
    };
    // The peer's side names the peers; the gateway's side names neither (every connection
    // of this gateway address needs it).
    let peer = |link: Link, is_src: bool| match link {
        Link::Peers => Some(is_src),
        Link::Gateway => None,
    };
    let then_solicited = if inbound {
        solicited(Some(g))
    } else {
        solicited(None)
    };
    // One side's solicitations of the firewall and the firewall's advertisements back.
    let asks = |what: [&'static str; 2], addrs: &Addrs, link: Link| {
        [
            Message {
                what: what[0],
                hook: Hook::Input,
                kind: 135,
                src: addrs.clone(),
                dst: solicited(None),
                peer_is_src: peer(link, true),
                link,
            },
            Message {
                what: what[1],
                hook: Hook::Output,
                kind: 136,
                src: firewall(),
                dst: addrs.clone(),
                peer_is_src: peer(link, false),
                link,
            },
        ]
    };
    let [first_asks, first_hears] = asks(said(inbound, true), &first, first_link);
    let [then_asks, then_hears] = asks(said(!inbound, false), &then, then_link);
    let (what_solicits, what_answers) = if inbound {
        (
            "the firewall's solicitations of the gateway",
            "the gateway's advertisements to the firewall",
        )
    } else {
        (
            "the firewall's solicitations of the peer",
            "the peer's advertisements to the firewall",
        )
    };
    vec![
        first_asks,
        first_hears,
        Message {
            what: what_solicits,
            hook: Hook::Output,
            kind: 135,
            src: firewall(),
            dst: then_solicited,
            peer_is_src: None,
            link: then_link,
        },
        Message {
            what: what_answers,
            hook: Hook::Input,
            kind: 136,
            src: then,
            dst: firewall(),
            peer_is_src: peer(then_link, true),
            link: then_link,
        },
        then_asks,
        then_hears,
    ]
}

/// What a side's solicitations of the firewall and the firewall's advertisements back are
/// called: the peer's side or the gateway's, the one that sends first or the one that replies.
fn said(peer: bool, first: bool) -> [&'static str; 2] {
    match (peer, first) {
        (true, true) => [
            "the peer's solicitations of the firewall",
            "the firewall's advertisements to the peer",
        ],
        (true, false) => [
            "the peer's solicitations of the firewall for its replies",
            "the firewall's advertisements to the peer for its replies",
        ],
        (false, true) => [
            "the gateway's solicitations of the firewall",
            "the firewall's advertisements to the gateway",
        ],
        (false, false) => [
            "the gateway's solicitations of the firewall for its replies",
            "the firewall's advertisements to the gateway for its replies",
        ],
    }
}

/// The messages a connection's first exchange needs, with the peers `remote`.
fn messages(need: &Need, remote: Addrs) -> [Message; 2] {
    let g = space::num(need.gateway);
    let one = |n: u128| Addrs::from_iter([n..=n]);
    match need.direction {
        Direction::In => [
            Message {
                what: "the peer's solicitations",
                hook: Hook::Input,
                kind: 135,
                src: remote.clone(),
                dst: solicited(Some(g)),
                peer_is_src: Some(true),
                link: Link::Gateway,
            },
            Message {
                what: "the gateway's advertisements",
                hook: Hook::Output,
                kind: 136,
                src: one(g),
                dst: remote,
                peer_is_src: Some(false),
                link: Link::Gateway,
            },
        ],
        Direction::Out => [
            Message {
                what: "the gateway's solicitations",
                hook: Hook::Output,
                kind: 135,
                src: one(g),
                dst: solicited(None),
                peer_is_src: None,
                link: Link::Gateway,
            },
            Message {
                what: "the peer's advertisements",
                hook: Hook::Input,
                kind: 136,
                src: remote,
                dst: one(g),
                peer_is_src: Some(true),
                link: Link::Gateway,
            },
        ],
    }
}

/// The connections a piece of a message's decision stops (blocked where it drops the
/// message; unknown where a construct decides it, or where it is cut on an address the audit
/// cannot tie to peers: the gateway's side, a multicast group, or in perimeter placement the
/// firewall's own addresses).
fn stop(
    (need, placement): (&Need, Placement),
    m: &Message,
    piece: super::model::Piece,
    going: Vec<Going>,
    done: &mut Vec<Done>,
) -> Vec<Going> {
    let (verdict, why) = match piece.decision {
        Decision::Accept(_) => return going,
        Decision::Drop(w) => (Verdict::Blocked, w),
        Decision::Unknown(w) => (Verdict::Unknown, w),
    };
    let whole = match m.peer_is_src {
        Some(true) => piece.space.dst == m.dst,
        Some(false) => piece.space.src == m.src,
        None => piece.space.src == m.src && piece.space.dst == m.dst,
    };
    let peers = match m.peer_is_src {
        Some(true) if whole => piece.space.src.clone(),
        Some(false) if whole => piece.space.dst.clone(),
        _ => space::all_addrs(true),
    };
    let verdict = if whole { verdict } else { Verdict::Unknown };
    let cube = match need.direction {
        Direction::In => Cube {
            src: Some(peers),
            ..Cube::default()
        },
        Direction::Out => Cube {
            dst: Some(peers),
            ..Cube::default()
        },
    };
    let how = if !whole && placement == Placement::Perimeter {
        "depend on the firewall's own address, which the audit is not given, or on a \
         multicast group"
    } else if !whole {
        "are cut on the gateway's side or a multicast group, which the audit cannot tie to \
         peers"
    } else if verdict == Verdict::Blocked {
        "are dropped"
    } else {
        "are decided by what the audit cannot model"
    };
    let mut next = Vec::new();
    for g in going {
        let (inside, rest) = g.space.split(&cube);
        if let Some(s) = inside {
            let chains = piece
                .chain
                .clone()
                .map(|c| (c, false))
                .into_iter()
                .collect();
            done.push((s, verdict, format!("{ND}{} {how}: {why}", m.what), chains));
        }
        next.extend(rest.into_iter().map(|space| Going {
            space,
            why: g.why.clone(),
        }));
    }
    next
}
