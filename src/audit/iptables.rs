//! `iptables-save` / `ip6tables-save` output, with `ipset save` for `-m set`, read into the
//! same typed rules as an nftables dump (tables `ip filter` and `ip6 filter`), so that one
//! evaluator decides both.
//!
//! Understood: the `filter` table's INPUT, OUTPUT and FORWARD policies and user chains; `-s`,
//! `-d`, `-p`, `-i`/`-o lo`, `!`; `-m tcp`/`udp` `--dport`/`--sport`, `-m multiport
//! --dports`/`--sports`, `-m conntrack --ctstate`, `-m state --state`, `-m set --match-set
//! NAME src|dst` (hash:ip and hash:net sets), `-m comment`, `-m limit`, `-m icmp`/`icmp6`;
//! targets ACCEPT, DROP, REJECT, RETURN, user chains (`-j`, `-g`), and LOG, NFLOG, MARK,
//! CONNMARK, TCPMSS, CT, NOTRACK, which do not decide. Anything else is `unknown`, named.
//! Other tables (`nat`, `mangle`, `raw`) are not read.

use super::nft::{Elem, Expr, Left, ReadError, Right, Ruleset};
use crate::model::Protocol;

/// Targets that do not end a rule's packet path.
const NON_DECIDING: &[&str] = &[
    "LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "TCPMSS", "CT", "NOTRACK", "TRACE", "AUDIT",
];

/// Whether a text is `iptables-save` (or `ip6tables-save`) output.
pub fn is_save(text: &str) -> bool {
    text.lines()
        .any(|l| l == "*filter" || l.starts_with("-A ") || l.starts_with(":INPUT "))
}

/// Whether a text is `ipset save` output.
pub fn is_ipset(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("create ")) && !is_save(text)
}

/// Read `iptables-save` and `ip6tables-save` texts and `ipset save` texts into one ruleset.
/// Each save text's family is IPv6 when it says `ip6tables` or holds an IPv6 address.
pub fn parse(saves: &[&str], ipsets: &[&str]) -> Result<Ruleset, ReadError> {
    let mut r = Ruleset::default();
    for text in ipsets {
        sets(&mut r, text)?;
    }
    let mut given = Vec::new();
    for text in saves {
        let v6 = text.lines().any(|l| {
            (l.starts_with('#') && l.contains("ip6tables"))
                || l.contains("ipv6-icmp")
                || l.split_whitespace()
                    .collect::<Vec<_>>()
                    .windows(2)
                    .any(|w| matches!(w, [o, a] if matches!(*o, "-s" | "-d") && a.contains(':')))
        });
        let family = if v6 { "ip6" } else { "ip" };
        if given.contains(&family) {
            return Err(format!(
                "two {} texts: give one iptables-save and one ip6tables-save",
                if v6 {
                    "ip6tables-save"
                } else {
                    "iptables-save"
                }
            ));
        }
        given.push(family);
        save(&mut r, text, family)?;
    }
    r.families = Some(given);
    r.finish();
    Ok(r)
}

/// `create NAME TYPE family inet|inet6 …` and `add NAME ELEMENT …` lines.
fn sets(r: &mut Ruleset, text: &str) -> Result<(), ReadError> {
    let mut sets: Vec<(String, String, Vec<Elem>)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t: Vec<&str> = line.split_whitespace().collect();
        match t.as_slice() {
            ["create", name, kind, rest @ ..] => {
                let family = if rest.windows(2).any(|w| w == ["family", "inet6"]) {
                    "ip6"
                } else {
                    "ip"
                };
                let kind = (*kind).to_string();
                sets.push((name.to_string(), format!("{family} {kind}"), Vec::new()));
            }
            ["add", name, element, ..] => {
                let Some(set) = sets.iter_mut().find(|s| s.0 == *name) else {
                    return Err(format!("ipset line {}: `add` to a set not created", i + 1));
                };
                let simple = set.1.ends_with("hash:ip") || set.1.ends_with("hash:net");
                set.2.push(if simple {
                    address(element)
                } else {
                    Elem::Unknown(format!("ipset {} of type {}", set.0, set.1))
                });
            }
            [] => {}
            _ if line.starts_with('#') => {}
            _ => return Err(format!("ipset line {}: not `ipset save` output", i + 1)),
        }
    }
    for (name, kind, elems) in sets {
        let family = kind.split(' ').next().unwrap_or("ip").to_string();
        r.add_set(family, "filter".into(), name, elems);
    }
    Ok(())
}

/// An address, prefix or `a-b` range.
fn address(text: &str) -> Elem {
    if let Some((lo, hi)) = text.split_once('-')
        && let (Ok(lo), Ok(hi)) = (lo.parse(), hi.parse())
    {
        return Elem::AddrRange(lo, hi);
    }
    if let Ok(net) = text.parse::<ipnet::IpNet>() {
        return Elem::Net(net.trunc());
    }
    text.parse()
        .map_or_else(|_| Elem::Unknown(format!("address `{text}`")), Elem::Addr)
}

/// One save text of `family` (`ip` or `ip6`): its filter table.
fn save(r: &mut Ruleset, text: &str, family: &str) -> Result<(), ReadError> {
    let mut table = String::new();
    let at = |i: usize, what: &str| format!("line {}: {what}", i + 1);
    for (i, line) in text.lines().enumerate() {
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_string();
            continue;
        }
        if table != "filter" || line.starts_with('#') || line.trim().is_empty() || line == "COMMIT"
        {
            continue;
        }
        if let Some(chain) = line.strip_prefix(':') {
            let mut parts = chain.split_whitespace();
            let name = parts
                .next()
                .ok_or_else(|| at(i, "a chain without a name"))?;
            let policy = parts.next().unwrap_or("-");
            let hook = match name {
                "INPUT" => Some("input"),
                "OUTPUT" => Some("output"),
                "FORWARD" => Some("forward"),
                _ => None,
            };
            let base = hook.map(|h| {
                (
                    "filter".to_string(),
                    h.to_string(),
                    0,
                    policy.to_ascii_lowercase(),
                )
            });
            r.add_chain(family.into(), "filter".into(), name.into(), base);
            continue;
        }
        let tokens = tokens(line).map_err(|e| at(i, &e))?;
        let (chain, rest) = match tokens.as_slice() {
            [(a, false), (c, _), rest @ ..] if a == "-A" || a == "--append" => (c.clone(), rest),
            _ => return Err(at(i, "not a rule (`-A CHAIN …`) of iptables-save")),
        };
        let (expr, comment) = rule(r, family, rest);
        let comment = Some(match comment {
            Some(c) => format!("line {}: {c}", i + 1),
            None => format!("line {}", i + 1),
        });
        let handle = i64::try_from(i + 1).unwrap_or(0);
        r.add_rule((family, "filter", &chain), handle, comment, expr)
            .map_err(|e| at(i, &e))?;
    }
    Ok(())
}

/// Words of a line, with double-quoted ones unquoted (`true`: it was quoted).
fn tokens(line: &str) -> Result<Vec<(String, bool)>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c == ' ' {
            chars.next();
            continue;
        }
        if c == '"' {
            chars.next();
            let mut word = String::new();
            loop {
                match chars.next() {
                    Some('\\') => word.extend(chars.next()),
                    Some('"') => break,
                    Some(c) => word.push(c),
                    None => return Err("an unclosed quote".into()),
                }
            }
            out.push((word, true));
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push((word, false));
        }
    }
    Ok(out)
}

/// The expressions of one rule (after `-A CHAIN`), and its comment.
fn rule(r: &Ruleset, family: &str, t: &[(String, bool)]) -> (Vec<Expr>, Option<String>) {
    let mut reader = Reader {
        family,
        v6: family == "ip6",
        out: Vec::new(),
        comment: None,
        negate: false,
        proto: None,
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
        if !reader.option(r, word, &args) {
            break;
        }
        i += 1 + args.len();
    }
    (reader.out, reader.comment)
}

/// What is read of one rule so far.
struct Reader<'a> {
    family: &'a str,
    v6: bool,
    out: Vec<Expr>,
    comment: Option<String>,
    /// A `!` before the next match.
    negate: bool,
    /// `-p tcp|udp`, for the ports that follow.
    proto: Option<Protocol>,
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
        match (word, a) {
            ("!", _) => self.negate = !self.negate,
            ("-s" | "--source", [x]) => self.push(Left::Saddr { v6 }, split_addresses(x)),
            ("-d" | "--destination", [x]) => self.push(Left::Daddr { v6 }, split_addresses(x)),
            ("-p" | "--protocol", [p]) => self.protocol(p),
            ("-i" | "--in-interface" | "-o" | "--out-interface", [x]) => {
                let input = word.starts_with("-i") || word.starts_with("--in");
                self.push(Left::Interface(input), vec![Elem::Name((*x).into())]);
            }
            ("-m" | "--match", [m]) => {
                if !matches!(
                    *m,
                    "tcp"
                        | "udp"
                        | "multiport"
                        | "conntrack"
                        | "state"
                        | "set"
                        | "comment"
                        | "limit"
                        | "icmp"
                        | "icmp6"
                ) {
                    self.out.push(Expr::Unknown(format!("-m {m}")));
                }
            }
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
            ("--icmp-type" | "--icmpv6-type", _) => {
                self.push(Left::Icmp, vec![Elem::Name(String::new())])
            }
            ("--limit" | "--limit-burst", _) => {}
            ("-j" | "--jump" | "-g" | "--goto", [target, ..]) => {
                let goto = word == "-g" || word == "--goto";
                self.out.push(match *target {
                    "ACCEPT" => Expr::Accept,
                    "DROP" | "REJECT" => Expr::Drop,
                    "RETURN" => Expr::Return,
                    t if r.has_chain(self.family, "filter", t) => Expr::Jump(t.to_string(), goto),
                    t if NON_DECIDING.contains(&t) => Expr::Nop,
                    t => Expr::Unknown(format!("target {t}")),
                });
                // The target's own options (`--reject-with`, `--log-prefix "…"`) follow it.
                return false;
            }
            (other, _) => {
                self.out.push(Expr::Unknown(format!("option {other}")));
                return false;
            }
        }
        true
    }

    fn protocol(&mut self, p: &str) {
        let p = p.to_ascii_lowercase();
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
        let left = match dir {
            "src" => Left::Saddr { v6 },
            "dst" => Left::Daddr { v6 },
            other => {
                self.out
                    .push(Expr::Unknown(format!("--match-set {name} {other}")));
                return;
            }
        };
        match r.set_index(self.family, "filter", name) {
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
