//! IPv6 neighbour discovery a connection's first exchange needs, decided like the
//! connection's own packets.

use super::connect::{Done, Going, Need};
use super::model::{Context, Decision, Hook, L4, State};
use super::space::{self, Addrs, Cube, Ports, Space};
use super::{Firewall, Interfaces, Placement, Verdict};
use crate::model::Direction;

/// What marks a part blocked by neighbour discovery (`--fix` admits it, not the connection).
pub(super) const ND: &str = "IPv6 neighbour discovery: ";

/// IPv6 connections need neighbour discovery with the peer (an on-link peer; for one behind
/// a router, the router's addresses stand in its place): an inbound connection the peer's
/// solicitation to the gateway's solicited-node address and the gateway's advertisement
/// back; an outbound one the gateway's solicitation and the peer's advertisement. (What the
/// first exchange needs: each side learns the other's link address from it.) Connections
/// whose exchange is dropped are blocked; where a construct decides it, unknown.
pub(super) fn neighbour_discovery(
    fw: &dyn Firewall,
    need: &Need,
    at: &Interfaces,
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
    for m in messages(need, remote) {
        let input = m.hook == Hook::Input;
        // Whichever way the connection goes, the peer's messages arrive as an inbound
        // connection's packets do, and the gateway's own leave as an outbound one's.
        let way = if input { Direction::In } else { Direction::Out };
        let (iif, oif) = super::connect::interfaces(Placement::Host, way, at);
        let ctx = Context {
            v6: true,
            l4: L4::Icmpv6(m.kind, 0),
            state: State::Untracked,
            flags: 0,
            iif,
            oif,
            local: !input,
            own: Addrs::from_iter([space::num(need.gateway)..=space::num(need.gateway)]),
        };
        let zero = Ports::from_iter([0..=0]);
        let message = Space {
            src: m.src.clone(),
            dst: m.dst.clone(),
            sport: zero.clone(),
            dport: zero,
        };
        for piece in fw.decide(m.hook, &ctx, message) {
            going = stop(need, &m, piece, going, done);
        }
    }
    going
}

/// One message of neighbour discovery: what it is called, where it is filtered, its ICMPv6
/// type and addresses, and which side names the peer (`None`: neither, a multicast group).
struct Message {
    what: &'static str,
    hook: Hook,
    kind: u8,
    src: Addrs,
    dst: Addrs,
    peer_is_src: Option<bool>,
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
                // ff02::1:ffXX:XXXX, the gateway's solicited-node address.
                dst: one(0xff02_0000_0000_0000_0000_0001_ff00_0000 | (g & 0xff_ffff)),
                peer_is_src: Some(true),
            },
            Message {
                what: "the gateway's advertisements",
                hook: Hook::Output,
                kind: 136,
                src: one(g),
                dst: remote,
                peer_is_src: Some(false),
            },
        ],
        Direction::Out => [
            Message {
                what: "the gateway's solicitations",
                hook: Hook::Output,
                kind: 135,
                src: one(g),
                dst: Addrs::from_iter([0xff02_0000_0000_0000_0000_0001_ff00_0000
                    ..=0xff02_0000_0000_0000_0000_0001_ffff_ffff]),
                peer_is_src: None,
            },
            Message {
                what: "the peer's advertisements",
                hook: Hook::Input,
                kind: 136,
                src: remote,
                dst: one(g),
                peer_is_src: Some(true),
            },
        ],
    }
}

/// The connections a piece of a message's decision stops (blocked where it drops the
/// message; unknown where a construct decides it, or where it is cut on the gateway's side
/// or a multicast group, which the audit cannot tie to peers).
fn stop(
    need: &Need,
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
    let how = if verdict == Verdict::Blocked {
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
