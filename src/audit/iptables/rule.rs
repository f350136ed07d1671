//! One rule of a save text (the words after `-A CHAIN`): its matches and target as the
//! audit's expressions, which modules it names that the notes count, and what it reads of
//! each option.

use super::address;
use crate::audit::model::{self, Elem, Expr, Family, LEAST_MSS, Left, Right, Ruleset};
use crate::model::Protocol;

/// Targets that do not end a rule's packet path.
const NON_DECIDING: &[&str] = &[
    "LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "TCPMSS", "CT", "TRACE", "AUDIT", "DSCP", "TOS",
    "CLASSIFY", "TTL", "HL",
];

/// The modules of rate limits, quotas, connection counts and `recent` lists, which the
/// audit takes as never reached.
const LIMITS: &[&str] = &["limit", "hashlimit", "connlimit", "quota", "recent"];

/// The modules and targets that start connection tracking for their family while a rule
/// names them (their kernel checks call `nf_ct_netns_get`), which nat chains need to see
/// packets (see `Ruleset::tracks`).
const TRACKING: &[&str] = &[
    "conntrack",
    "state",
    "connlimit",
    "connmark",
    "connbytes",
    "helper",
    "SNAT",
    "DNAT",
    "MASQUERADE",
    "REDIRECT",
    "NETMAP",
    "CT",
    "CONNMARK",
];

/// The match modules read (their options are).
const MODULES: &[&str] = &[
    "tcp",
    "udp",
    "multiport",
    "conntrack",
    "state",
    "set",
    "comment",
    "limit",
    "hashlimit",
    "connlimit",
    "quota",
    "recent",
    "addrtype",
    "hl",
    "rt",
    "tcpmss",
    "icmp",
    "icmp6",
    "iprange",
    "pkttype",
];

/// The expressions of one rule (after `-A CHAIN`), and its comment.
pub(super) fn rule(r: &Ruleset, (family, table): (&str, &str), t: &[(String, bool)]) -> Read {
    let mut reader = Reader {
        family,
        table,
        v6: family == "ip6",
        out: Vec::new(),
        comment: None,
        negate: false,
        proto: None,
        limited: false,
        tracks: false,
        either: None,
    };
    let mut i = 0;
    while let Some((word, _)) = t.get(i) {
        // The option's arguments: the words up to the next option.
        let args: Vec<&str> = t
            .iter()
            .skip(i + 1)
            .take_while(|(w, quoted)| *quoted || !(w.starts_with('-') || w == "!"))
            .map(|(w, _)| w.as_str())
            .collect();
        if matches!(word.as_str(), "-m" | "--match") && args == ["recent"] {
            // The module's options, up to the next module or the target.
            let options: Vec<&str> = t
                .iter()
                .skip(i + 2)
                .map(|(w, _)| w.as_str())
                .take_while(|w| !matches!(*w, "-m" | "--match" | "-j" | "--jump" | "-g" | "--goto"))
                .collect();
            reader.out.push(recent(&options));
            reader.limited = true;
            i += 2 + options.len();
            continue;
        }
        if !reader.option(r, word, &args) {
            break;
        }
        i += 1 + args.len();
    }
    Read {
        expr: reader.out,
        comment: reader.comment,
        limited: reader.limited,
        tracks: reader.tracks,
        either: reader.either,
    }
}

/// One rule as read: its expressions, its comment, whether it has a rate limit, quota,
/// connection count or `recent` list (for the note on them), and whether it starts
/// connection tracking ([`TRACKING`]).
pub(super) struct Read {
    expr: Vec<Expr>,
    pub(super) comment: Option<String>,
    pub(super) limited: bool,
    pub(super) tracks: bool,
    /// `-m multiport --ports`: where in `expr` it stands (a `Nop` there), the protocol
    /// (`-p`) and its ports.
    either: Option<(usize, Option<Protocol>, Vec<Elem>)>,
}

impl Read {
    /// The rule's expressions; a rule with `--ports` (the source port or the destination
    /// port in the list) as two, which together match what it does and never both: the
    /// source port in the list, then the source port not in it and the destination port in
    /// it.
    pub(super) fn rules(self) -> Vec<Vec<Expr>> {
        let Some((at, proto, ports)) = self.either else {
            return vec![self.expr];
        };
        let with = |matches: Vec<Expr>| {
            let mut expr = self.expr.clone();
            expr.splice(at..=at, matches);
            expr
        };
        let port = |negate, left| Expr::Match {
            negate,
            left,
            right: Right::Elems(ports.clone()),
        };
        vec![
            with(vec![port(false, Left::Sport(proto))]),
            with(vec![
                port(true, Left::Sport(proto)),
                port(false, Left::Dport(proto)),
            ]),
        ]
    }
}

/// `-m recent` and its options, taken as never reached, as the rate limits are: `--set`
/// (which adds the source to the list) holds for every packet; `--rcheck` or `--update` with
/// `--hitcount N` (the source seen N times within `--seconds`) for none, `!` the other way.
/// Without `--hitcount`, whether the source is on the list depends on the packets before:
/// unknown, as is `--remove`.
fn recent(options: &[&str]) -> Expr {
    let has = |o: &str| options.contains(&o);
    let negated = options
        .windows(2)
        .any(|w| matches!(w, ["!", "--rcheck" | "--update"]));
    if has("--set") && !has("!") {
        Expr::Nop
    } else if (has("--rcheck") || has("--update")) && has("--hitcount") {
        if negated { Expr::Nop } else { Expr::Never }
    } else {
        Expr::Unknown(format!(
            "-m recent {}: whether the source is on the list depends on the packets before",
            options.join(" ")
        ))
    }
}

/// What is read of one rule so far.
struct Reader<'a> {
    family: &'a str,
    table: &'a str,
    v6: bool,
    out: Vec<Expr>,
    comment: Option<String>,
    /// A `!` before the next match.
    negate: bool,
    /// `-p tcp|udp`, for the ports that follow.
    proto: Option<Protocol>,
    /// A module of [`LIMITS`] was named.
    limited: bool,
    /// A module or target of [`TRACKING`] was named.
    tracks: bool,
    /// `--ports`: where it stands, the protocol and its ports ([`Read::rules`]).
    either: Option<(usize, Option<Protocol>, Vec<Elem>)>,
}

impl Reader<'_> {
    fn push(&mut self, left: Left, elems: Vec<Elem>) {
        self.out.push(Expr::Match {
            negate: std::mem::take(&mut self.negate),
            left,
            right: Right::Elems(elems),
        });
    }

    /// One option and its arguments; `false` when the rule ends here (a target, or an
    /// option this reader does not know).
    fn option(&mut self, r: &Ruleset, word: &str, a: &[&str]) -> bool {
        let v6 = self.v6;
        if let ("-m" | "--match" | "-j" | "--jump", [name, ..]) = (word, a) {
            self.tracks |= TRACKING.contains(name);
        }
        match (word, a) {
            ("!", _) => self.negate = !self.negate,
            ("-s" | "--source", [x]) => self.push(Left::Saddr { v6 }, split_addresses(x)),
            ("-d" | "--destination", [x]) => self.push(Left::Daddr { v6 }, split_addresses(x)),
            ("-p" | "--protocol", [p]) => self.protocol(p),
            ("-i" | "--in-interface" | "-o" | "--out-interface", [x]) => {
                let input = word.starts_with("-i") || word.starts_with("--in");
                self.push(Left::Interface(input), vec![Elem::Name((*x).into())]);
            }
            ("-m" | "--match", [m]) if !MODULES.contains(m) => {
                self.out.push(Expr::Unknown(format!("-m {m}")));
            }
            // An IPv6 routing header, which no connection the audit decides carries: the
            // match holds for none of them (`!` applies to its fields, the header is still
            // needed).
            ("-m" | "--match", ["rt"]) => self.out.push(Expr::Never),
            ("-m" | "--match", [m]) => self.limited |= LIMITS.contains(m),
            ("--dport" | "--destination-port", [x]) => {
                self.push(Left::Dport(self.proto), vec![port(x)])
            }
            ("--sport" | "--source-port", [x]) => self.push(Left::Sport(self.proto), vec![port(x)]),
            ("--dports" | "--destination-ports", [x]) => {
                self.push(Left::Dport(self.proto), x.split(',').map(port).collect());
            }
            ("--sports" | "--source-ports", [x]) => {
                self.push(Left::Sport(self.proto), x.split(',').map(port).collect());
            }
            ("--ctstate" | "--state", [x]) => {
                let states = x
                    .split(',')
                    .map(|s| Elem::Name(s.to_ascii_lowercase()))
                    .collect();
                self.push(Left::CtState, states);
            }
            ("--match-set", [name, dir]) => self.set(r, name, dir),
            ("--comment", [c]) => self.comment = Some((*c).to_string()),
            ("--icmp-type" | "--icmpv6-type", [x]) => {
                let v6 = word == "--icmpv6-type";
                self.push(Left::Icmp { v6, kind: true }, vec![icmp_type(x, v6)]);
                // `TYPE/CODE`: one code (without one, every code of the type).
                if let Some((_, code)) = x.split_once('/') {
                    let code = code
                        .parse()
                        .map_or_else(|_| Elem::Unknown(format!("ICMP code {code}")), Elem::Num);
                    self.push(Left::Icmp { v6, kind: false }, vec![code]);
                }
            }
            ("-j" | "--jump" | "-g" | "--goto", [target, ..]) => {
                let goto = word == "-g" || word == "--goto";
                let notrack = a.contains(&"--notrack");
                self.out.push(match *target {
                    "ACCEPT" => Expr::Accept,
                    "DROP" | "REJECT" => Expr::Drop,
                    "RETURN" => Expr::Return,
                    "SNAT" | "MASQUERADE" => Expr::Snat,
                    "NOTRACK" => Expr::Unknown(
                        "target NOTRACK: connection tracking skips these packets".into(),
                    ),
                    "CT" if notrack => Expr::Unknown(
                        "target CT --notrack: connection tracking skips these packets".into(),
                    ),
                    "DNAT" | "REDIRECT" | "TPROXY" => Expr::Unknown(format!(
                        "target {target} rewrites the destination: the connections it touches \
                         are not decided"
                    )),
                    t if r.has_chain(&Family::named(self.family), self.table, t) => {
                        Expr::Jump(t.to_string(), goto)
                    }
                    t if NON_DECIDING.contains(&t) => Expr::Nop,
                    t => Expr::Unknown(format!("target {t}")),
                });
                // The target's own options (`--reject-with`, `--log-prefix "…"`) follow it.
                return false;
            }
            (other, _) if !self.more(other, a) => {
                self.out.push(Expr::Unknown(format!("option {other}")));
                return false;
            }
            _ => {}
        }
        true
    }

    /// `-m multiport --ports X`: the source port or the destination port in X, which
    /// [`Read::rules`] makes two rules of; `! --ports X`, neither.
    fn either_port(&mut self, x: &str) {
        let ports: Vec<Elem> = x.split(',').map(port).collect();
        if std::mem::take(&mut self.negate) {
            for left in [Left::Sport(self.proto), Left::Dport(self.proto)] {
                self.negate = true;
                self.push(left, ports.clone());
            }
        } else if self.either.is_some() {
            self.out
                .push(Expr::Unknown("two `--ports` in one rule".into()));
        } else {
            self.either = Some((self.out.len(), self.proto, ports));
            self.out.push(Expr::Nop);
        }
    }

    /// Options of `-m multiport --ports`, `-m iprange`, `-m pkttype` and TCP flags; `false`
    /// when `word` is none.
    fn more(&mut self, word: &str, a: &[&str]) -> bool {
        match (word, a) {
            // Either port in the list: the rule is read as two ([`Read::rules`]); `!`, neither.
            ("--ports", [x]) => self.either_port(x),
            ("--src-range" | "--dst-range", [x]) => {
                let v6 = self.v6;
                let left = if word == "--src-range" {
                    Left::Saddr { v6 }
                } else {
                    Left::Daddr { v6 }
                };
                self.push(left, vec![address(x)]);
            }
            ("--pkt-type", [x]) => self.push(Left::Pkttype, vec![Elem::Name((*x).into())]),
            // `-f`: the second and later fragments of a packet. The connections audited are
            // of whole packets: it holds for none of them (`! -f` for all).
            ("-f" | "--fragment", []) => {
                let whole = std::mem::take(&mut self.negate);
                self.out.push(if whole { Expr::Nop } else { Expr::Never });
            }
            // `-m tcpmss`: sizes all below the least a host announces match no SYN (and
            // no other packet carries the option); any other is the peer's choice.
            ("--mss", [x]) => {
                let most = x.rsplit(':').next().and_then(|m| m.parse::<u64>().ok());
                let negate = std::mem::take(&mut self.negate);
                self.out.push(match most {
                    Some(m) if m < LEAST_MSS && !negate => Expr::Never,
                    _ => Expr::Unknown(format!("-m tcpmss --mss {x}: the peer's choice")),
                });
            }
            // `-m addrtype`: for IPv4, nft's `fib daddr type` (any of the types).
            ("--dst-type", [x]) if !self.v6 => self.push(
                Left::FibDaddrType,
                x.split(',')
                    .map(|t| Elem::Name(t.to_ascii_lowercase()))
                    .collect(),
            ),
            // For IPv6 the kernel checks every type given, and UNICAST is any address but
            // multicast and `::`, the host's own included (`fib daddr type unicast` excludes
            // them): one type of UNICAST, MULTICAST and LOCAL is read, others are unknown.
            ("--dst-type", [x]) => match x.to_ascii_lowercase().as_str() {
                t @ ("multicast" | "local") => {
                    self.push(Left::FibDaddrType, vec![Elem::Name(t.into())])
                }
                "unicast" => self.push(Left::FibDaddrType, vec![Elem::Name("any-unicast".into())]),
                _ => self.out.push(Expr::Unknown(format!(
                    "ip6tables' -m addrtype --dst-type {x}"
                ))),
            },
            // `-m hl` (IPv6's hop limit): nft's `ip6 hoplimit`.
            ("--hl-eq" | "--hl-lt" | "--hl-gt", [x]) => {
                let elem = match (word, x.parse::<u64>()) {
                    (_, Err(_)) => Elem::Unknown(format!("{word} {x}")),
                    ("--hl-eq", Ok(n)) => Elem::Num(n),
                    ("--hl-lt", Ok(0)) => Elem::NumRange(1, 0),
                    ("--hl-lt", Ok(n)) => Elem::NumRange(0, n - 1),
                    (_, Ok(n)) => Elem::NumRange(n.saturating_add(1), 255),
                };
                self.push(Left::HopLimit, vec![elem]);
            }
            // `-m rt`'s fields: the match holds for no packet whatever they are.
            (
                "--rt-type" | "--rt-segsleft" | "--rt-len" | "--rt-0-res" | "--rt-0-addrs"
                | "--rt-0-not-strict",
                _,
            ) => self.negate = false,
            ("--syn", []) => {
                use model::flags::{ACK, FIN, RST, SYN};
                self.push(
                    Left::TcpFlags(FIN | SYN | RST | ACK),
                    vec![Elem::Num(u64::from(SYN))],
                );
            }
            ("--tcp-flags", [mask, comp]) => {
                let bits = |x: &str| {
                    x.split(',')
                        .try_fold(0u8, |a, f| Some(a | model::flags::named(f)?))
                };
                match (bits(mask), bits(comp)) {
                    (Some(m), Some(c)) => {
                        self.push(Left::TcpFlags(m), vec![Elem::Num(u64::from(c & m))]);
                    }
                    _ => self
                        .out
                        .push(Expr::Unknown(format!("--tcp-flags {mask} {comp}"))),
                }
            }
            _ => return self.stateful(word, a),
        }
        true
    }

    /// A rate limit, quota or connection count (`-m hashlimit`, `-m connlimit`, `-m quota`;
    /// `-m limit` has no option that decides), taken as never reached, as nftables' are:
    /// `--hashlimit-upto`, `--connlimit-upto` and `--quota` hold for every packet,
    /// `--hashlimit-above`, `--connlimit-above` and `! --quota` for none. `false` when
    /// `word` is none of their options.
    fn stateful(&mut self, word: &str, a: &[&str]) -> bool {
        let over = match (word, a) {
            ("--hashlimit-above" | "--connlimit-above", [_]) => true,
            ("--hashlimit-upto" | "--connlimit-upto" | "--quota", [_]) => false,
            ("--connlimit-saddr" | "--connlimit-daddr", []) => return true,
            (
                "--limit"
                | "--limit-burst"
                | "--connlimit-mask"
                | "--hashlimit-burst"
                | "--hashlimit-mode"
                | "--hashlimit-name"
                | "--hashlimit-srcmask"
                | "--hashlimit-dstmask"
                | "--hashlimit-htable-size"
                | "--hashlimit-htable-max"
                | "--hashlimit-htable-expire"
                | "--hashlimit-htable-gcinterval",
                [_],
            ) => return true,
            _ => return false,
        };
        // `!` turns one into the other (`! --connlimit-above 10` is `--connlimit-upto 10`).
        if over != std::mem::take(&mut self.negate) {
            self.out.push(Expr::Never);
        }
        true
    }

    fn protocol(&mut self, p: &str) {
        let mut p = p.to_ascii_lowercase();
        if p == "icmpv6" {
            p = "ipv6-icmp".into();
        }
        self.proto = match p.as_str() {
            "tcp" | "6" => Some(Protocol::Tcp),
            "udp" | "17" => Some(Protocol::Udp),
            _ => None,
        };
        if p != "all" && p != "0" {
            let elem = p.parse().map_or_else(|_| Elem::Name(p.clone()), Elem::Num);
            self.push(Left::L4 { v6: None }, vec![elem]);
        }
    }

    /// `-m set --match-set NAME src|dst`: a set from the ipset save given.
    fn set(&mut self, r: &Ruleset, name: &str, dir: &str) {
        let v6 = self.v6;
        let addr = |d: &str| match d {
            "src" => Some(Left::Saddr { v6 }),
            "dst" => Some(Left::Daddr { v6 }),
            _ => None,
        };
        let port = |d: &str| match d {
            "src" => Some(Left::Sport(None)),
            "dst" => Some(Left::Dport(None)),
            _ => None,
        };
        let two = dir.split_once(',').and_then(|(a, p)| {
            Some(Left::Concat(vec![
                addr(a)?,
                Left::L4 { v6: None },
                port(p)?,
            ]))
        });
        let left = match (addr(dir), two) {
            (Some(l), _) | (None, Some(l)) => l,
            (None, None) => {
                let other = dir;
                self.out
                    .push(Expr::Unknown(format!("--match-set {name} {other}")));
                return;
            }
        };
        match r.set_index(&Family::named(self.family), "filter", name) {
            Some(index) => self.out.push(Expr::Match {
                negate: std::mem::take(&mut self.negate),
                left,
                right: Right::Named(index),
            }),
            None => self.out.push(Expr::Unknown(format!(
                "set {name} (not in the ipset save given)"
            ))),
        }
    }
}

/// An ICMP type as iptables-save prints it: a number, `TYPE/CODE` (the code is not
/// modelled unless 0), or a name.
fn icmp_type(x: &str, v6: bool) -> Elem {
    // The code, after a `/`, is a match of its own (see `--icmp-type`).
    let kind = x.split_once('/').map_or(x, |(kind, _)| kind);
    if let Ok(n) = kind.parse::<u64>() {
        return Elem::Num(n);
    }
    // iptables takes nft's names, and names of its own for neighbour discovery.
    let own = match (v6, kind) {
        (true, "neighbour-solicitation" | "neighbor-solicitation") => Some(135),
        (true, "neighbour-advertisement" | "neighbor-advertisement") => Some(136),
        (true, "router-solicitation") => Some(133),
        (true, "router-advertisement") => Some(134),
        (_, "ttl-exceeded") => crate::model::icmp_number("time-exceeded", v6),
        _ => None,
    };
    match own.or_else(|| crate::model::icmp_number(kind, v6)) {
        Some(n) => Elem::Num(u64::from(n)),
        None => Elem::Unknown(format!("ICMP type {x}")),
    }
}

/// `-s a,b` lists several addresses.
fn split_addresses(x: &str) -> Vec<Elem> {
    x.split(',').map(address).collect()
}

/// A port or `lo:hi` range (either end may be left out).
fn port(x: &str) -> Elem {
    let num = |s: &str, default: u64| {
        if s.is_empty() {
            Some(default)
        } else {
            s.parse().ok()
        }
    };
    match x.split_once(':') {
        Some((lo, hi)) => match (num(lo, 0), num(hi, 65535)) {
            (Some(lo), Some(hi)) => Elem::NumRange(lo, hi),
            _ => Elem::Unknown(format!("port range `{x}`")),
        },
        None => x
            .parse()
            .map_or_else(|_| Elem::Unknown(format!("port `{x}`")), Elem::Num),
    }
}
