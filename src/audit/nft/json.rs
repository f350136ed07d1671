//! The pieces of libnftables JSON the reader turns into typed rules: left sides, elements,
//! comparisons, TCP flags, and the matches nft leaves out of its listings.

use ipnet::IpNet;
use serde_json::Value;

use crate::audit::model::{Elem, Expr, LEAST_MSS, Left, Right, flags};
use crate::model::Protocol;

/// The match nft leaves out of its listing because a statement implies it: `reject with
/// icmpv6 …` only for IPv6 (`meta nfproto ipv6` elided), `with icmp …` only for IPv4,
/// `with tcp reset` only for TCP.
pub(super) fn implied(e: &Value) -> Option<Expr> {
    if let Some((_, key)) = set_key(e) {
        return left(key).ok().map(Expr::has);
    }
    match e.get("reject")?.get("type").and_then(Value::as_str)? {
        "icmpv6" => Some(Expr::family(true, false)),
        "icmp" => Some(Expr::family(false, false)),
        "tcp reset" => Some(Expr::Match {
            negate: false,
            left: Left::L4 { v6: None },
            right: Right::Elems(vec![Elem::Name("tcp".into())]),
        }),
        _ => None,
    }
}

/// `ip frag-off & MASK == VALUE` (or `!=`), as hardening guides drop fragments with: the
/// connections audited are of whole packets, whose fragment offset and more-fragments bit
/// are 0, so the match holds for every IPv4 packet (the field implies IPv4) or for none.
/// The don't-fragment bit is the sending host's choice: a mask with it is unknown. `None`:
/// not such a match.
pub(super) fn fragment(body: &Value) -> Option<Expr> {
    let [field, mask] = body.pointer("/left/&")?.as_array()?.as_slice() else {
        return None;
    };
    let payload = |k: &str| {
        field
            .pointer(&format!("/payload/{k}"))
            .and_then(Value::as_str)
    };
    if payload("protocol")? != "ip" || payload("field")? != "frag-off" {
        return None;
    }
    let (mask, value) = (mask.as_u64()?, body.get("right")?.as_u64()?);
    if mask & 0x4000 != 0 {
        return Some(Expr::Unknown(
            "`ip frag-off` with the don't-fragment bit, which the sending host chooses".into(),
        ));
    }
    let holds = match body.get("op").and_then(Value::as_str).unwrap_or("==") {
        "==" => value == 0,
        "!=" => value != 0,
        _ => return None,
    };
    Some(if holds {
        Expr::family(false, false)
    } else {
        Expr::Never
    })
}

/// `tcp option maxseg size` compared with sizes all below [`LEAST_MSS`] (the 2019 "SACK
/// panic" guard drops SYNs of `1-500`): only SYNs carry the option, and no host announces so
/// little, so the match holds for no packet. `None` for other matches (which stay unknown:
/// the size is the peer's choice).
pub(super) fn small_mss(body: &Value) -> Option<Expr> {
    let left = body.pointer("/left/tcp option")?;
    if left.get("name")? != "maxseg" || left.get("field")? != "size" {
        return None;
    }
    if !matches!(
        body.get("op").and_then(Value::as_str),
        Some("==" | "in") | None
    ) {
        return None;
    }
    let right = body.get("right")?;
    let values: Vec<&Value> = match right.get("set").and_then(Value::as_array) {
        Some(all) => all.iter().collect(),
        None => vec![right],
    };
    let most = |v: &Value| match v.get("range").and_then(Value::as_array) {
        Some(r) => r.get(1).and_then(Value::as_u64),
        None => v.as_u64(),
    };
    values
        .iter()
        .try_fold(0, |m, v| Some(m.max(most(v)?)))
        .filter(|&m| m < LEAST_MSS)
        .map(|_| Expr::Never)
}

/// A set statement's kind (`set`: `add @s { ip saddr }`, `update @s { … }`; or `meter`) and
/// its key. nft loads the key only from packets that have the headers it reads (it puts the
/// dependency in the rule; its listing leaves it out): the rule goes on for no other.
fn set_key(e: &Value) -> Option<(&str, &Value)> {
    let (kind, body) = e.as_object()?.iter().next()?;
    let key = match kind.as_str() {
        "set" => body.get("elem")?,
        "meter" => body.get("key")?,
        _ => return None,
    };
    // An element with a timeout or a comment: `{"elem": {"val": KEY, "timeout": 10}}`.
    Some((kind, key.pointer("/elem/val").unwrap_or(key)))
}

/// A rate limit, quota or connection count (`limit`, `quota`, `ct count`), taken as never
/// reached: one that holds below it (`limit rate 10/second`) holds for every packet, one that
/// holds past it (`limit rate over 10/second`, `inv` in the listing) for none. `None`: not
/// one of these.
pub(super) fn stateful(kind: &str, body: &Value) -> Option<Expr> {
    matches!(kind, "limit" | "quota" | "ct count").then(|| {
        if body.get("inv").and_then(Value::as_bool) == Some(true) {
            Expr::Never
        } else {
            Expr::Nop
        }
    })
}

/// Whether `e` is a rate limit, quota or connection count ([`stateful`], named or not) or
/// a set statement ([`set_key`]): what the audit takes as never reached, for the notes.
pub(super) fn holds_state(e: &Value) -> bool {
    set_key(e).is_some()
        || e.as_object()
            .and_then(|o| o.iter().next())
            .is_some_and(|(kind, body)| stateful(kind, body).is_some())
}

/// A set statement ([`set_key`]), its key's headers aside ([`implied`]): a per-element rate
/// limit, quota or connection count as [`stateful`], a counter as nothing; a set is taken
/// never to be full (an element that does not fit ends the rule). A key or a statement the
/// audit does not read makes the rule unknown.
pub(super) fn set_statement(e: &Value) -> Option<Expr> {
    let (kind, key) = set_key(e)?;
    if let Err(what) = left(key) {
        return Some(Expr::Unknown(format!("a {kind} statement's key: {what}")));
    }
    let stmts = match e.pointer(&format!("/{kind}/stmt")) {
        Some(Value::Array(all)) => all.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let mut out = Expr::Nop;
    for s in stmts {
        let Some((k, body)) = s.as_object().and_then(|o| o.iter().next()) else {
            return Some(Expr::Unknown(format!("a {kind} statement's {s}")));
        };
        match stateful(k, body) {
            Some(Expr::Never) => out = Expr::Never,
            Some(_) => {}
            None if k == "counter" => {}
            None => return Some(Expr::Unknown(format!("`{k}` in a {kind} statement"))),
        }
    }
    Some(out)
}

/// Whether a rule's listing rejects with a TCP reset and names no family (no `meta nfproto`,
/// no IPv4, IPv6 or ICMP header field), which nft 1.0.6 may have left out of it.
pub(super) fn reset_without_family<'v>(mut expr: impl Iterator<Item = &'v Value> + Clone) -> bool {
    let reset = expr
        .clone()
        .any(|e| e.pointer("/reject/type").and_then(Value::as_str) == Some("tcp reset"));
    reset
        && !expr.any(|e| {
            let left = e.pointer("/match/left");
            let key = |path| left.and_then(|l| l.pointer(path)).and_then(Value::as_str);
            key("/meta/key") == Some("nfproto")
                || key("/payload/protocol")
                    .is_some_and(|p| matches!(p, "ip" | "ip6" | "icmp" | "icmpv6"))
        })
}

/// Read a match's left side once.
pub(super) fn left(v: &Value) -> Result<Left, String> {
    // `tcp flags & (syn | ack)`.
    if let Some([inner, mask]) = v.get("&").and_then(Value::as_array).map(Vec::as_slice) {
        return match (left(inner)?, flag_value(mask)) {
            (Left::TcpFlags(all), Some(m)) => Ok(Left::TcpFlags(all & m)),
            _ => Err(format!("a bitwise and {v}")),
        };
    }
    if let Some(pl) = v.get("payload") {
        let proto = pl
            .get("protocol")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = pl.get("field").and_then(Value::as_str).unwrap_or_default();
        let transport = |p: &str| match p {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            _ => None,
        };
        return Ok(match (proto, name) {
            ("ip", "saddr") => Left::Saddr { v6: false },
            ("ip", "daddr") => Left::Daddr { v6: false },
            ("ip6", "saddr") => Left::Saddr { v6: true },
            ("ip6", "daddr") => Left::Daddr { v6: true },
            ("ip", "protocol") => Left::L4 { v6: Some(false) },
            ("ip6", "nexthdr") => Left::L4 { v6: Some(true) },
            ("ip6", "hoplimit") => Left::HopLimit,
            ("tcp" | "udp", "sport") => Left::Sport(transport(proto)),
            ("tcp" | "udp", "dport") => Left::Dport(transport(proto)),
            ("th", "sport") => Left::Sport(None),
            ("th", "dport") => Left::Dport(None),
            ("icmp" | "icmpv6", "type" | "code") => Left::Icmp {
                v6: proto == "icmpv6",
                kind: name == "type",
            },
            // nft lists `th dport` after `meta l4proto icmp` this way: the same two bytes.
            ("icmp" | "icmpv6", "checksum") => Left::IcmpChecksum {
                v6: proto == "icmpv6",
            },
            ("tcp", "flags") => Left::TcpFlags(0xff),
            _ => return Err(format!("payload `{proto} {name}`")),
        });
    }
    if let Some(meta) = v.get("meta") {
        let key = meta.get("key").and_then(Value::as_str).unwrap_or_default();
        return match key {
            "l4proto" => Ok(Left::L4 { v6: None }),
            "nfproto" => Ok(Left::Nfproto),
            "iif" | "iifname" => Ok(Left::Interface(true)),
            "oif" | "oifname" => Ok(Left::Interface(false)),
            "pkttype" => Ok(Left::Pkttype),
            _ => Err(format!("meta `{key}`")),
        };
    }
    if let Some(f) = v.get("fib") {
        return fib(f);
    }
    if let Some(ct) = v.get("ct") {
        let key = ct.get("key").and_then(Value::as_str).unwrap_or_default();
        return match key {
            "state" => Ok(Left::CtState),
            "status" => Ok(Left::CtStatus),
            _ => Err(format!("ct `{key}`")),
        };
    }
    if let Some(parts) = v.get("concat").and_then(Value::as_array) {
        return parts
            .iter()
            .map(left)
            .collect::<Result<_, _>>()
            .map(Left::Concat);
    }
    Err(format!("match on {v}"))
}

/// `syn`, `["syn", "ack"]` (or'ed together) or a number: a value of TCP flags.
/// `fib daddr type` (what kind of address the destination is: local, unicast, …) and the
/// reverse-path filter.
fn fib(fib: &Value) -> Result<Left, String> {
    let daddr_only = fib.get("flags").is_some_and(|f| {
        f == "daddr"
            || f.as_array()
                .is_some_and(|a| a.len() == 1 && a.first().is_some_and(|x| x == "daddr"))
    });
    if fib.get("result").and_then(Value::as_str) == Some("type") && daddr_only {
        return Ok(Left::FibDaddrType);
    }
    // The reverse-path filter (`fib saddr . mark . iif oif missing`, firewalld's
    // IPv6_rpfilter): is there a route back to the source through the interface the
    // packet came in on?
    let flags: Vec<&str> = fib
        .get("flags")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if fib.get("result").and_then(Value::as_str) == Some("oif")
        && flags.contains(&"saddr")
        && flags.contains(&"iif")
        && flags.iter().all(|f| matches!(*f, "saddr" | "mark" | "iif"))
    {
        return Ok(Left::FibReverse);
    }
    Err(format!("fib {fib}"))
}

pub(super) fn flag_value(v: &Value) -> Option<u8> {
    match v {
        Value::String(s) => flags::named(s),
        Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        Value::Array(a) => a.iter().try_fold(0u8, |acc, f| Some(acc | flag_value(f)?)),
        _ => None,
    }
}

/// A match on TCP flags (`tcp flags & MASK`): `in` (nft's `tcp flags syn`) holds when any
/// of the right side's flags is set; `==` and `!=` compare (a set: any of its values).
pub(super) fn tcp_flags(op: &str, mask: u8, right: &Value) -> Expr {
    let values: Option<Vec<u8>> = match right {
        Value::Object(o) if o.contains_key("set") => o["set"]
            .as_array()
            .map(|a| a.iter().map(flag_value).collect())
            .unwrap_or(Some(Vec::new())),
        other => flag_value(other).map(|v| vec![v]),
    };
    let Some(values) = values else {
        return Expr::Unknown(format!("tcp flags compared with {right}"));
    };
    let (negate, elems) = match op {
        // Any flag of the value set: every masked value that shares a bit with it.
        "in" => {
            let any = values.iter().fold(0u8, |a, v| a | v);
            let elems = (0..=255u8)
                .filter(|v| v & !mask == 0 && v & any != 0)
                .map(|v| Elem::Num(u64::from(v)))
                .collect();
            (false, elems)
        }
        "==" | "!=" => (
            op == "!=",
            values.iter().map(|v| Elem::Num(u64::from(*v))).collect(),
        ),
        other => return Expr::Unknown(format!("tcp flags compared by `{other}`")),
    };
    Expr::Match {
        negate,
        left: Left::TcpFlags(mask),
        right: Right::Elems(elems),
    }
}

/// `< n`, `> n`, `<= n`, `>= n` as a range of numbers (empty when nothing compares so).
pub(super) fn compare(op: &str, n: u64) -> Vec<Elem> {
    let range = match op {
        "<" => n.checked_sub(1).map(|hi| (0, hi)),
        "<=" => Some((0, n)),
        ">" => n.checked_add(1).map(|lo| (lo, u64::MAX)),
        _ => Some((n, u64::MAX)),
    };
    range
        .map(|(lo, hi)| Elem::NumRange(lo, hi))
        .into_iter()
        .collect()
}

/// Read one element (or literal) once.
pub(super) fn elem(e: &Value) -> Elem {
    // Elements with options (`{"elem": {"val": …, "timeout": …}}`).
    if let Some(inner) = e.get("elem").and_then(|x| x.get("val")) {
        return elem(inner);
    }
    // `fib … oif missing` prints `false` (and `exists` `true`).
    if let Value::Bool(b) = e {
        return Elem::Name(if *b { "exists" } else { "missing" }.into());
    }
    if let Some(parts) = e.get("concat").and_then(Value::as_array) {
        return Elem::Concat(parts.iter().map(elem).collect());
    }
    if let Some(pre) = e.get("prefix") {
        let addr = pre
            .get("addr")
            .and_then(Value::as_str)
            .and_then(|a| a.parse().ok());
        let len = pre
            .get("len")
            .and_then(Value::as_u64)
            .and_then(|l| u8::try_from(l).ok());
        return match (addr, len) {
            (Some(a), Some(l)) => {
                IpNet::new(a, l).map_or_else(|_| Elem::Unknown(format!("prefix {e}")), Elem::Net)
            }
            _ => Elem::Unknown(format!("prefix {e}")),
        };
    }
    if let Some(range) = e.get("range").and_then(Value::as_array) {
        return match range.as_slice() {
            [Value::Number(lo), Value::Number(hi)] => match (lo.as_u64(), hi.as_u64()) {
                (Some(lo), Some(hi)) if lo > hi => Elem::Unknown(misprinted(lo, hi)),
                (Some(lo), Some(hi)) => Elem::NumRange(lo, hi),
                _ => Elem::Unknown(format!("range {e}")),
            },
            [Value::String(lo), Value::String(hi)] => match (lo.parse(), hi.parse()) {
                (Ok(lo), Ok(hi)) if lo > hi => Elem::Unknown(misprinted(lo, hi)),
                (Ok(lo), Ok(hi)) => Elem::AddrRange(lo, hi),
                _ => Elem::Unknown(format!("range {e}")),
            },
            _ => Elem::Unknown(format!("range {e}")),
        };
    }
    match e {
        Value::Number(n) => n
            .as_u64()
            .map_or_else(|| Elem::Unknown(format!("{e}")), Elem::Num),
        Value::String(s) => s.parse().map_or_else(|_| Elem::Name(s.clone()), Elem::Addr),
        other => Elem::Unknown(format!("{other}")),
    }
}

/// Whether `e` is a match of a header field (`payload`) against one range, as nft 1.0.6 also
/// lists two comparisons of different fields of the same length (`tcp sport >= 1000 tcp dport
/// <= 2000` as `tcp dport 1000-2000`): only the bytecode tells them apart.
pub(super) fn payload_range(e: &Value) -> bool {
    let Some(m) = e.get("match") else {
        return false;
    };
    m.get("left").is_some_and(|l| l.get("payload").is_some())
        && m.get("right").is_some_and(|r| r.get("range").is_some())
}

/// Why a range whose start is above its end is not read: nft never makes one (it refuses
/// `1024-1000`), but nft 1.0.6 lists two comparisons of different fields in one rule as
/// one range of the second field: `tcp sport < 1024 tcp dport > 1000` as `tcp dport !=
/// 1024-1000`. Such a listing does not say what the kernel holds.
fn misprinted(lo: impl std::fmt::Display, hi: impl std::fmt::Display) -> String {
    format!(
        "range {lo}-{hi}, whose start is above its end: nft misprints two comparisons of \
         different fields this way (`tcp sport < 1024 tcp dport > 1000` as `tcp dport != \
         1024-1000`), so this listing does not say what the kernel holds"
    )
}

/// What a rule names whose kernel counterpart starts connection tracking for its table's
/// family while the rule is loaded (`nf_ct_netns_get`): `ct` matches and settings, nat
/// statements, connection counts, flowtables, SYN proxies, and the helper, timeout and
/// expectation objects a rule assigns. Not `notrack`, and not `xt` (whether an iptables
/// match does depends on which).
const TRACKING: &[&str] = &[
    "ct",
    "ct count",
    "ct helper",
    "ct timeout",
    "ct expectation",
    "snat",
    "dnat",
    "masquerade",
    "redirect",
    "flow",
    "synproxy",
];

/// The sets and maps expression `e` names (`@name`, the `@` left out), into `out`.
pub(super) fn set_names<'a>(e: &'a Value, out: &mut Vec<&'a str>) {
    match e {
        Value::String(s) => out.extend(s.strip_prefix('@')),
        Value::Object(o) => o.values().for_each(|v| set_names(v, out)),
        Value::Array(a) => a.iter().for_each(|v| set_names(v, out)),
        _ => {}
    }
}

/// Whether expression `e` (or one inside it) starts connection tracking ([`TRACKING`]).
pub(super) fn starts_tracking(e: &Value) -> bool {
    match e {
        Value::Object(o) => o
            .iter()
            .any(|(k, v)| TRACKING.contains(&k.as_str()) || starts_tracking(v)),
        Value::Array(a) => a.iter().any(starts_tracking),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// nft never makes a range whose start is above its end; nft 1.0.6 lists two comparisons
    /// of different fields as one: such a range is unreadable, never an empty or full set.
    #[test]
    fn a_range_whose_start_is_above_its_end_is_unreadable() {
        let read = |v: Value| elem(&v);
        assert!(matches!(
            read(serde_json::json!({"range": [1000, 2000]})),
            Elem::NumRange(1000, 2000)
        ));
        assert!(matches!(
            read(serde_json::json!({"range": [1024, 1024]})),
            Elem::NumRange(1024, 1024)
        ));
        for inverted in [
            serde_json::json!({"range": [1024, 1000]}),
            serde_json::json!({"range": ["10.0.0.9", "10.0.0.1"]}),
        ] {
            match read(inverted) {
                Elem::Unknown(why) => assert!(why.contains("misprints"), "{why}"),
                other => panic!("{other:?}"),
            }
        }
    }
}
