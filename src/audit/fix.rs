//! `fwgen audit --fix`: the rules that would admit what the audit found missing, in the
//! audited ruleset's own syntax, for a person to review before loading.
//!
//! Each blocked connection gets a rule at the top of the base chain that dropped it: the
//! entry's own peers (every prefix of the family, none for `any`), the gateway's address in
//! perimeter placement, its protocol and all its ports; a dropped reply gets an
//! established/related rule. Rules are inserted (`nft insert rule`, `iptables -I`) so that
//! no earlier drop hides them.

use std::fmt::Write;

use ipnet::IpNet;

use super::{Audit, Verdict};
use crate::model::{Direction, Protocol};
use crate::render::Placement;
use crate::ruleset::{Ruleset, Selected};

/// The audited ruleset's syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// `nft` commands; `iptables`: iptables' own tables were read from iptables-save output
    /// given beside the listing, and are fixed with iptables (see [`iptables_table`]).
    Nft { iptables: bool },
    /// `iptables` / `ip6tables` commands.
    Iptables,
    /// A Cisco IOS or ASA configuration: ACEs inserted at the top of the list that denied.
    Cisco { asa: bool },
}

/// The nftables families a fix may name.
const NFT_FAMILIES: &[&str] = &["ip", "ip6", "inet", "arp", "bridge", "netdev"];

/// Whether a table, chain or list name from the audited ruleset can stand in a command as
/// one plain word of `syntax`, meaning nothing but itself. Names come from the audited box,
/// where anyone who can create a chain chooses them: nft accepts any string in its JSON and
/// has no quoting for names in its own syntax (1.0.6 refuses `"a b"`), and the iptables
/// commands run in a shell. A name outside nft's identifier alphabet (a letter, `_` or `.`,
/// then letters, digits, `/`, `-`, `_`, `.`), at most 64 bytes, is not written: the fix says
/// so instead.
fn plain_name(name: &str, syntax: Syntax) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '.');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'));
    let first_any = matches!(syntax, Syntax::Cisco { .. } | Syntax::Iptables)
        && name.starts_with(|c: char| c.is_ascii_digit());
    (first_ok || first_any) && rest_ok && name.len() <= 64
}

/// Whether `family table` is one of iptables' own tables read from iptables-save output
/// beside the listing: what admits a connection there is an iptables command, which an nft
/// script cannot hold (and nft rules in iptables-nft's tables hide them from iptables).
fn iptables_table(syntax: Syntax, family: &str, table: &str) -> bool {
    matches!(syntax, Syntax::Nft { iptables: true })
        && matches!(family, "ip" | "ip6")
        && super::iptables::TABLES.contains(&table)
}

/// The comment that says a fix in one of iptables' tables ([`iptables_table`]) is not
/// written here, and where it is.
fn for_iptables(family: &str, table: &str, chain: &str) -> String {
    format!(
        "# {family} {table} {} is iptables' (iptables-nft): not written here; `fwgen \
         audit --fix` of the iptables-save and ip6tables-save output alone writes its iptables \
         commands",
        visible(chain)
    )
}

/// A name from the audited box as a comment may show it: escaped, on one line, quoted.
fn visible(name: &str) -> String {
    format!(
        "{:?}",
        crate::text::flatten(&name.escape_default().to_string(), 200, &[])
    )
}

/// A comment line that says why a fix is not written: the names as escaped, visible text.
fn unwritable(comment: &str, what: &[&str]) -> String {
    let names: Vec<String> = what.iter().map(|n| visible(n)).collect();
    format!(
        "{comment} not written: the name {} cannot be written safely as a plain name (it has \
         characters outside letters, digits and `/-_.`): rename it, or add the rule by hand",
        names.join(" / ")
    )
}

/// The rules that would add what `a` found missing.
pub fn fix(a: &Audit, rules: &Ruleset, placement: Placement, syntax: Syntax) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut nd_chains: Vec<super::model::ChainRef> = Vec::new();
    for f in a.findings.iter().filter(|f| f.verdict != Verdict::Admitted) {
        let Some(e) = rules.selected.iter().find(|e| e.id == f.id) else {
            continue;
        };
        for p in &f.parts {
            if p.decided_by.starts_with(super::nd::ND) {
                for c in &p.dropped_in {
                    if !nd_chains.contains(&c.0) {
                        nd_chains.push(c.0.clone());
                    }
                }
                continue;
            }
            for ((family, table, chain), reply) in &p.dropped_in {
                let line = lines_for(e, p, (family, table, chain), *reply, (placement, syntax));
                for l in line {
                    if !lines.contains(&l) {
                        lines.push(l);
                    }
                }
            }
        }
    }
    // IPv6 needs neighbour discovery: admitted where it is dropped (Cisco lists permit it
    // implicitly).
    for (family, table, chain) in &nd_chains {
        let names: &[&str] = match syntax {
            Syntax::Nft { .. } => &[family, table, chain],
            Syntax::Iptables => &[chain],
            Syntax::Cisco { .. } => continue,
        };
        let family_ok =
            !matches!(syntax, Syntax::Nft { .. }) || NFT_FAMILIES.contains(&family.as_str());
        let l = if iptables_table(syntax, family, table) {
            for_iptables(family, table, chain)
        } else if !family_ok || names.iter().any(|n| !plain_name(n, syntax)) {
            unwritable(comment_mark(syntax), names)
        } else if matches!(syntax, Syntax::Nft { .. }) {
            format!(
                "insert rule {family} {table} {chain} icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept comment \"fwgen: neighbour discovery\""
            )
        } else {
            format!(
                "ip6tables -I {chain} -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m comment --comment \"fwgen: neighbour discovery\" -j ACCEPT\nip6tables -I {chain} -p ipv6-icmp -m icmp6 --icmpv6-type 136 -m comment --comment \"fwgen: neighbour discovery\" -j ACCEPT"
            )
        };
        for l in l.lines() {
            if !lines.iter().any(|x| x == l) {
                lines.push(l.to_string());
            }
        }
    }
    let comment = comment_mark(syntax);
    let count = lines.iter().filter(|l| !l.starts_with(comment)).count();
    if let Syntax::Cisco { .. } = syntax {
        lines = cisco_blocks(&lines);
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{comment} fwgen audit --fix: {} {} ({}, {} placement): {count} {} that {} what the audit found missing.",
        a.product,
        crate::text::flatten(&a.version, 200, &[]),
        a.component,
        a.placement,
        if count == 1 { "rule" } else { "rules" },
        if count == 1 { "admits" } else { "admit" },
    );
    let _ = writeln!(
        s,
        "{comment} Each goes first in the chain (or list) that dropped the connection: review before running."
    );
    if matches!(syntax, Syntax::Nft { .. }) {
        s.insert_str(0, "#!/usr/sbin/nft -f\n");
    }
    for l in lines {
        let _ = writeln!(s, "{l}");
    }
    s
}

/// The lines that admit one dropped connection (or its replies) in the base chain
/// `(family, table, chain)`, or the comment that says why none is written.
fn lines_for(
    e: &Selected,
    p: &super::Part,
    (family, table, chain): (&str, &str, &str),
    reply: bool,
    (placement, syntax): (Placement, Syntax),
) -> Vec<String> {
    let names: &[&str] = match syntax {
        Syntax::Nft { .. } => &[family, table, chain],
        Syntax::Iptables => &[chain],
        Syntax::Cisco { .. } => &[cisco_list(chain)],
    };
    if iptables_table(syntax, family, table) {
        return vec![for_iptables(family, table, chain)];
    }
    let family_ok = !matches!(syntax, Syntax::Nft { .. }) || NFT_FAMILIES.contains(&family);
    if !family_ok || names.iter().any(|n| !plain_name(n, syntax)) {
        return vec![unwritable(comment_mark(syntax), names)];
    }
    let v6 = p.v6;
    let (gateway, remote) = match p.direction {
        Direction::In => (&p.space.dst, &p.space.src),
        Direction::Out => (&p.space.src, &p.space.dst),
    };
    // Exactly what is missing: its peers (none for every address but the gateway's) and
    // ports.
    let peers = if *remote == &super::space::all_addrs(v6) - gateway {
        Vec::new()
    } else {
        super::space::prefixes(remote, v6)
    };
    let gateway = super::space::prefixes(gateway, v6).first().map(IpNet::addr);
    let parts = Parts {
        entry: e,
        direction: p.direction,
        protocol: p.protocol,
        v6,
        gateway: gateway.filter(|_| reply || placement == Placement::Perimeter),
        peers,
        ports: p
            .space
            .dport
            .ranges()
            .map(|r| (*r.start(), *r.end()))
            .collect(),
    };
    match (syntax, reply) {
        (Syntax::Cisco { asa }, reply) => parts.cisco(chain, asa, reply),
        (_, true) => established(syntax, family, table, chain, v6),
        (Syntax::Nft { .. }, false) => parts.nft(family, table, chain),
        (Syntax::Iptables, false) => parts.iptables(chain),
    }
}

/// What starts a comment line in `syntax`.
fn comment_mark(syntax: Syntax) -> &'static str {
    match syntax {
        Syntax::Cisco { .. } => "!",
        _ => "#",
    }
}

/// A rule that admits the replies of admitted connections.
fn established(syntax: Syntax, family: &str, table: &str, chain: &str, v6: bool) -> Vec<String> {
    vec![match syntax {
        Syntax::Nft { .. } => format!(
            "insert rule {family} {table} {chain} ct state established,related accept comment \"fwgen: replies\""
        ),
        _ => format!(
            "{} -I {chain} -m conntrack --ctstate ESTABLISHED,RELATED -m comment --comment \"fwgen: replies\" -j ACCEPT",
            if v6 { "ip6tables" } else { "iptables" }
        ),
    }]
}

/// What one blocked connection's rule is made of.
struct Parts<'a> {
    entry: &'a Selected,
    direction: Direction,
    protocol: Protocol,
    v6: bool,
    /// Perimeter placement: the gateway's address, matched too.
    gateway: Option<std::net::IpAddr>,
    /// The peers whose connections are missing (none: every address).
    peers: Vec<IpNet>,
    /// The ports missing.
    ports: Vec<(u16, u16)>,
}

/// Cisco lines come as `LIST-HEADER\tENTRY`: under each list's header (IOS), its entries
/// numbered from 1 so that they go first in their order; ASA lines stand alone.
fn cisco_blocks(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut headers: Vec<(String, Vec<String>)> = Vec::new();
    for l in lines {
        match l.split_once('\t') {
            Some((header, entry)) => match headers.iter_mut().find(|(h, _)| h == header) {
                Some((_, entries)) => entries.push(entry.to_string()),
                None => headers.push((header.to_string(), vec![entry.to_string()])),
            },
            None => out.push(l.clone()),
        }
    }
    for (header, entries) in headers {
        let v6 = header.starts_with("ipv6");
        out.push(header);
        for (i, e) in entries.iter().enumerate() {
            let seq = if v6 {
                format!("sequence {}", i + 1)
            } else {
                (i + 1).to_string()
            };
            out.push(format!(" {seq} {e}"));
        }
    }
    out
}

/// The access list a Cisco base chain stands for: `to LIST #0`, `from LIST (IPv6) #1`.
fn cisco_list(base: &str) -> &str {
    base.split_once(' ')
        .map_or(base, |(_, rest)| rest)
        .rsplit_once(" #")
        .map_or(base, |(l, _)| l)
        .trim_end_matches(" (IPv6)")
}

/// A Cisco address: `any`, `host A`, `A WILDCARD` (IOS) or `A NETMASK` (ASA), `P/LEN` (IPv6).
fn cisco_addr(net: Option<&IpNet>, asa: bool) -> String {
    match net {
        None => "any".into(),
        Some(n) if n.prefix_len() == n.max_prefix_len() => format!("host {}", n.addr()),
        Some(IpNet::V4(v)) if asa => format!("{} {}", v.network(), v.netmask()),
        Some(IpNet::V4(v)) => format!("{} {}", v.network(), v.hostmask()),
        Some(n) => n.to_string(),
    }
}

impl Parts<'_> {
    /// ACEs for the list a base chain named (`to LIST #0`, `from LIST (IPv6) #1`): the
    /// connection, or (`reply`, IOS) its return entries.
    fn cisco(&self, base: &str, asa: bool, reply: bool) -> Vec<String> {
        let list = cisco_list(base);
        let gw = self.gateway.map(IpNet::from);
        let peers: Vec<Option<IpNet>> = match self.peers() {
            p if p.is_empty() => vec![None],
            p => p.into_iter().map(Some).collect(),
        };
        let mut out = Vec::new();
        for peer in &peers {
            if self.protocol == Protocol::Icmp {
                out.extend(self.cisco_icmp(peer.as_ref(), gw.as_ref(), (list, asa), reply));
                continue;
            }
            for &(lo, hi) in &self.ports {
                let port = if lo == hi {
                    format!("eq {lo}")
                } else {
                    format!("range {lo} {hi}")
                };
                let peer_side = cisco_addr(peer.as_ref(), asa);
                let gw_side = cisco_addr(gw.as_ref(), asa);
                let proto = self.protocol;
                let ace = match (self.direction, reply) {
                    (Direction::In, false) => {
                        format!("permit {proto} {peer_side} {gw_side} {port}")
                    }
                    (Direction::Out, false) => {
                        format!("permit {proto} {gw_side} {peer_side} {port}")
                    }
                    (Direction::In, true) => {
                        format!("permit {proto} {gw_side} {port} {peer_side} gt 1023")
                    }
                    (Direction::Out, true) => {
                        format!("permit {proto} {peer_side} {port} {gw_side} gt 1023")
                    }
                };
                let ace = if reply && proto == Protocol::Tcp {
                    format!("{ace} established")
                } else {
                    ace
                };
                out.push(self.cisco_line(list, asa, &ace));
            }
        }
        out
    }

    /// An ACE as the line that puts it first in `list`: the ASA's flat form, or the IOS list
    /// of the family and the entry.
    fn cisco_line(&self, list: &str, asa: bool, ace: &str) -> String {
        if asa {
            format!("access-list {list} line 1 extended {ace}")
        } else if self.v6 {
            format!("ipv6 access-list {list}\t{ace}")
        } else {
            format!("ip access-list extended {list}\t{ace}")
        }
    }

    /// ICMP entries (the "ports" are the types): the request's, or (`reply`) its reply's.
    fn cisco_icmp(
        &self,
        peer: Option<&IpNet>,
        gw: Option<&IpNet>,
        (list, asa): (&str, bool),
        reply: bool,
    ) -> Vec<String> {
        let peer_side = cisco_addr(peer, asa);
        let gw_side = cisco_addr(gw, asa);
        let proto = if asa && self.v6 { "icmp6" } else { "icmp" };
        let types = self.icmp_messages().into_iter().filter_map(|(t, code)| {
            if reply {
                crate::model::icmp_reply(self.v6, t).map(|r| r.to_string())
            } else if code == 0 {
                Some(t.to_string())
            } else {
                Some(format!("{t} {code}"))
            }
        });
        types
            .map(|t| {
                let ace = match (self.direction, reply) {
                    (Direction::In, false) | (Direction::Out, true) => {
                        format!("permit {proto} {peer_side} {gw_side} {t}")
                    }
                    (Direction::Out, false) | (Direction::In, true) => {
                        format!("permit {proto} {gw_side} {peer_side} {t}")
                    }
                };
                self.cisco_line(list, asa, &ace)
            })
            .collect()
    }

    /// The missing ICMP messages (the "ports" are words: type * 256 + code) as (type,
    /// code); code 0 is the whole type's (how the audit decides a type without a code).
    fn icmp_messages(&self) -> Vec<(u8, u8)> {
        self.ports
            .iter()
            .flat_map(|&(lo, hi)| lo..=hi)
            .map(crate::model::icmp_of_word)
            .collect()
    }

    /// The transport matches of the missing connections, for nft: `tcp dport { 25 }`; for
    /// ICMP `icmp type 8` or `icmp type 3 icmp code 4`, one per message.
    fn nft_l4(&self) -> Vec<String> {
        if self.protocol != Protocol::Icmp {
            return self
                .ports(", ", "-")
                .into_iter()
                .map(|ports| format!("{} dport {{ {ports} }}", self.protocol))
                .collect();
        }
        let kw = if self.v6 { "icmpv6" } else { "icmp" };
        self.icmp_messages()
            .into_iter()
            .map(|(t, code)| match code {
                0 => format!("{kw} type {t}"),
                c => format!("{kw} type {t} {kw} code {c}"),
            })
            .collect()
    }

    /// The missing peers in the connection's family; empty for any address.
    fn peers(&self) -> Vec<IpNet> {
        self.peers.clone()
    }

    fn ports(&self, sep: &str, range: &str) -> Vec<String> {
        self.ports
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}{range}{hi}")
                }
            })
            .collect::<Vec<_>>()
            .chunks(15)
            .map(|c| c.join(sep))
            .collect()
    }

    fn nft(&self, family: &str, table: &str, chain: &str) -> Vec<String> {
        let ip = if self.v6 { "ip6" } else { "ip" };
        let (peer, own) = match self.direction {
            Direction::In => ("saddr", "daddr"),
            Direction::Out => ("daddr", "saddr"),
        };
        let peers = self.peers();
        let mut m = String::new();
        if let Some(g) = self.gateway {
            let _ = write!(m, "{ip} {own} {g} ");
        }
        if !peers.is_empty() {
            let list: Vec<String> = peers.iter().map(ToString::to_string).collect();
            let _ = write!(m, "{ip} {peer} {{ {} }} ", list.join(", "));
        } else if family == "inet" {
            let _ = write!(m, "meta nfproto {} ", if self.v6 { "ipv6" } else { "ipv4" });
        }
        self.nft_l4()
            .into_iter()
            .map(|l4| {
                format!(
                    "insert rule {family} {table} {chain} {m}{l4} accept comment \"fwgen {}\"",
                    self.entry.id
                )
            })
            .collect()
    }

    fn iptables(&self, chain: &str) -> Vec<String> {
        let tool = if self.v6 { "ip6tables" } else { "iptables" };
        let (peer, own) = match self.direction {
            Direction::In => ("-s", "-d"),
            Direction::Out => ("-d", "-s"),
        };
        let peers = self.peers();
        let peer_parts: Vec<String> = if peers.is_empty() {
            vec![String::new()]
        } else {
            peers.iter().map(|n| format!("{peer} {n} ")).collect()
        };
        let own = self
            .gateway
            .map(|g| format!("{own} {g} "))
            .unwrap_or_default();
        let mut out = Vec::new();
        // ICMP matches one type a rule (the "ports" are the types).
        let l4: Vec<String> = if self.protocol == Protocol::Icmp {
            let (proto, flag) = if self.v6 {
                ("ipv6-icmp", "--icmpv6-type")
            } else {
                ("icmp", "--icmp-type")
            };
            self.icmp_messages()
                .into_iter()
                .map(|(t, code)| match code {
                    0 => format!("-p {proto} {flag} {t}"),
                    c => format!("-p {proto} {flag} {t}/{c}"),
                })
                .collect()
        } else {
            self.ports(",", ":")
                .into_iter()
                .map(|ports| format!("-p {} -m multiport --dports {ports}", self.protocol))
                .collect()
        };
        for p in &peer_parts {
            for m in &l4 {
                out.push(format!(
                    "{tool} -I {chain} {own}{p}{m} -m comment --comment \"fwgen {}\" -j ACCEPT",
                    self.entry.id
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_written() {
        for ok in [
            "filter",
            "input",
            "f2b-sshd",
            "DOCKER-USER",
            "_x",
            ".a",
            "a/b",
        ] {
            assert!(plain_name(ok, Syntax::Nft { iptables: false }), "{ok}");
        }
        for bad in [
            "c accept\nflush ruleset",
            "f;flush ruleset;",
            "$(touch /tmp/x)",
            "`id`",
            "a b",
            "\"q\"",
            "x{",
            "#c",
            "",
            "-F",
            &"a".repeat(65),
        ] {
            for syntax in [
                Syntax::Nft { iptables: false },
                Syntax::Iptables,
                Syntax::Cisco { asa: false },
            ] {
                assert!(!plain_name(bad, syntax), "{bad:?} {syntax:?}");
            }
        }
        // Numbered Cisco lists and iptables chains may start with a digit; nft names not.
        assert!(plain_name("110", Syntax::Cisco { asa: false }));
        assert!(!plain_name("110", Syntax::Nft { iptables: false }));
        let line = unwritable("#", &["c accept\nflush ruleset"]);
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("# not written"), "{line}");
    }
}
