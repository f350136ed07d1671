//! `iptables-save` / `ip6tables-save` output, with `ipset save` for `-m set`, read into the
//! same typed rules as an nftables dump (tables `ip TABLE` and `ip6 TABLE`), so that one
//! evaluator decides both.
//!
//! Understood: the `raw`, `mangle`, `nat`, `filter` and `security` tables, their built-in
//! chains on the hooks and priorities iptables registers them at, and user chains; `-s`,
//! `-d`, `-p`, `-i`/`-o`, `-f`, `!`; `-m tcp`/`udp` `--dport`/`--sport`, `--syn`, `--tcp-flags`, `-m
//! multiport --dports`/`--sports`/`--ports`, `-m conntrack --ctstate`, `-m state --state`, `-m iprange
//! --src-range`/`--dst-range`, `-m pkttype --pkt-type`, `-m addrtype --dst-type`, `-m hl`,
//! `-m rt` (no connection audited has a routing header), `-m tcpmss` below the least MSS,
//! `-m set --match-set NAME src|dst` (hash:ip and hash:net sets) and `NAME src,dst`
//! (hash:ip,port and hash:net,port), `-m
//! comment`, `-m limit`, `-m hashlimit`, `-m connlimit`, `-m quota` and `-m recent` (taken
//! as never reached, as nftables' limits are), `-m icmp`/`icmp6`; targets ACCEPT, DROP, REJECT,
//! RETURN, user chains (`-j`, `-g`), SNAT and MASQUERADE (which end a nat chain), and LOG,
//! NFLOG, MARK, CONNMARK, TCPMSS, CT and the like, which do not decide. DNAT, REDIRECT,
//! NOTRACK and anything else are `unknown`, named. Rules after counters (`iptables-save
//! -c`) are read as without; a table iptables-nft says it cannot show whole makes its
//! family unknown.

mod rule;

use super::model::{Base, Elem, Family, Kind, ParseError, Point, Policy, Ruleset, Tally};
use rule::rule;

/// Whether a text is `iptables-save` (or `ip6tables-save`) output.
pub fn is_save(text: &str) -> bool {
    text.lines().any(|l| {
        l == "*filter"
            || counted(l).starts_with("-A ")
            || l.starts_with(":INPUT ")
            || incompatible(l).is_some()
    })
}

/// Whether a text is `ipset save` output, or `ipset list` output ([`listed`]).
pub fn is_ipset(text: &str) -> bool {
    (text.lines().any(|l| l.starts_with("create ")) || listed(text)) && !is_save(text)
}

/// Whether a text is `ipset list` output: `Name:`, `Type:`, `Header:` … `Members:` and the
/// members, a blank line between sets.
fn listed(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.starts_with("Name: "))
        && text.lines().any(|l| l.starts_with("Type: "))
}

/// `ipset list` output as `ipset save` would print it. A set without its members (`ipset
/// list -t`, or a listing cut short) is refused: its members are not known, and taking it as
/// empty would decide what it matches wrongly.
fn as_saved(text: &str) -> Result<String, ParseError> {
    let mut out = String::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let field = |key: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(str::trim)
        };
        let (Some(name), Some(kind)) = (field("Name:"), field("Type:")) else {
            return Err("ipset list: a set without `Name:` or `Type:`".into());
        };
        let header = field("Header:").unwrap_or_default();
        let Some((_, members)) = block
            .split_once("Members:\n")
            .or_else(|| block.strip_suffix("Members:").map(|head| (head, "")))
        else {
            return Err(format!(
                "ipset list: set {name} is listed without its members (`ipset list -t`): give \
                 `ipset save` output"
            ));
        };
        let members: Vec<&str> = members.lines().filter(|l| !l.trim().is_empty()).collect();
        if let Some(n) = field("Number of entries:").and_then(|n| n.parse::<usize>().ok())
            && n != members.len()
        {
            return Err(format!(
                "ipset list: set {name} has {n} entries and {} are listed: give `ipset save` \
                 output",
                members.len()
            ));
        }
        out.push_str(&format!("create {name} {kind} {header}\n"));
        for m in members {
            out.push_str(&format!("add {name} {}\n", m.trim()));
        }
    }
    Ok(out)
}

/// Read `iptables-save` and `ip6tables-save` texts and `ipset save` texts into one ruleset.
/// Each save text's family is IPv6 when it says `ip6tables` or holds an IPv6 address.
pub fn parse(saves: &[&str], ipsets: &[&str]) -> Result<Ruleset, ParseError> {
    read_into(Ruleset::default(), saves, ipsets, false)
}

/// An nftables listing (`json`, with its `bytecode` listing if given) and [`parse`]'s texts
/// beside it (iptables-nft keeps iptables' tables among nftables' own): each table a save
/// text shows is read from it and not from the listing, which shows iptables' own matches
/// only as `xt` ([`tables`]). A table a save text says it cannot show is the listing's.
/// Every family is then audited, given a save text or not.
pub(crate) fn beside(
    (json, bytecode): (&[&str], Option<super::nft::netlink::Bytecode>),
    saves: &[&str],
    ipsets: &[&str],
) -> Result<Ruleset, ParseError> {
    let r = super::nft::parse_beside(json, bytecode, &tables(saves))?;
    read_into(r, saves, ipsets, true)
}

/// A save text's family: `ip6` when it says `ip6tables` or holds an IPv6 address.
fn family_of(text: &str) -> &'static str {
    let v6 = text.lines().any(|l| {
        (l.starts_with('#') && l.contains("ip6tables"))
            || l.contains("ipv6-icmp")
            || l.split_whitespace()
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| matches!(w, [o, a] if matches!(*o, "-s" | "-d") && a.contains(':')))
    });
    if v6 { "ip6" } else { "ip" }
}

/// The tables (family, name) the save texts show, which [`beside`] reads in place of a
/// listing's ([`in_listing`]).
fn tables(saves: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for text in saves {
        let family = family_of(text);
        out.extend(
            in_listing(text)
                .into_iter()
                .map(|t| (family.to_string(), t)),
        );
    }
    out
}

/// The tables of one save text that nftables' listing shows too, since iptables-nft made
/// them there: not those the text says it cannot show, and none of iptables-legacy's, which
/// run beside nftables' tables, not among them.
pub(crate) fn in_listing(text: &str) -> Vec<String> {
    if legacy(text) {
        return Vec::new();
    }
    let hidden = hidden(text);
    tables_of(text)
        .into_iter()
        .filter(|t| !hidden.contains(t))
        .collect()
}

/// The tables of a save text (its `*table` lines), in its order.
pub(crate) fn tables_of(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix('*'))
        .map(String::from)
        .collect()
}

/// Whether a save text comes from iptables-legacy: its header names no `(nf_tables)`
/// variant (1.8 says `(legacy)`; before 1.8 there was no other). A text without a header
/// is taken as iptables-nft's.
fn legacy(text: &str) -> bool {
    text.lines()
        .find(|l| l.starts_with("# Generated by ip"))
        .is_some_and(|l| !l.contains("(nf_tables)"))
}

fn read_into(
    mut r: Ruleset,
    saves: &[&str],
    ipsets: &[&str],
    beside: bool,
) -> Result<Ruleset, ParseError> {
    for text in ipsets {
        sets(&mut r, text)?;
    }
    let mut given = Vec::new();
    // The rules with a rate limit, quota, connection count or `recent` list, for a note.
    let mut limited = Tally::default();
    for text in saves {
        let family = family_of(text);
        if given.contains(&family) {
            return Err(format!(
                "two {} texts: give one iptables-save and one ip6tables-save",
                tool(family)
            ));
        }
        given.push(family);
        save(&mut r, text, (family, beside), &mut limited)?;
    }
    r.notes.extend(limited.note(
        "",
        "hold",
        "a rate limit, quota or connection count",
        "each taken as never reached: `-m limit`, `--hashlimit-upto`, `--connlimit-upto`, \
         `--quota` and `-m recent --set` hold for every packet, `--hashlimit-above`, \
         `--connlimit-above`, `! --quota` and `-m recent --hitcount` for none. What a flood or \
         a used-up quota would change is not audited",
    ));
    if !beside {
        r.families = Some(given.iter().map(|f| Family::named(f)).collect());
    }
    r.finish();
    Ok(r)
}

/// A save text's tables it says it cannot show, read alone: what they hold is not known, so
/// their family is not decided.
fn unknown_tables(r: &mut Ruleset, family: &str, hidden: &[String]) {
    let save = tool(family);
    r.hidden.extend(hidden.iter().map(|t| {
        let why = format!(
            "{save} says table {t} holds chains it cannot show (nft made them), so what they \
             do is not audited: give `nft -j list ruleset` output as another --ruleset, which \
             shows them"
        );
        (Family::named(family), t.clone(), why)
    }));
}

/// The tool whose output a family's rules are.
fn tool(family: &str) -> &'static str {
    if family == "ip6" {
        "ip6tables-save"
    } else {
        "iptables-save"
    }
}

/// `create NAME TYPE family inet|inet6 …` and `add NAME ELEMENT …` lines.
fn sets(r: &mut Ruleset, text: &str) -> Result<(), ParseError> {
    let saved;
    let text = if listed(text) {
        saved = as_saved(text)?;
        saved.as_str()
    } else {
        text
    };
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
                let kind = set.1.split(' ').nth(1).unwrap_or_default();
                set.2.push(match kind {
                    "hash:ip" | "hash:net" => address(element),
                    "hash:ip,port" | "hash:net,port" => address_port(element),
                    _ => Elem::Unknown(format!("ipset {} of type {}", set.0, set.1)),
                });
            }
            [] => {}
            _ if line.starts_with('#') => {}
            _ => return Err(format!("ipset line {}: not `ipset save` output", i + 1)),
        }
    }
    for (name, kind, elems) in sets {
        let family = kind.split(' ').next().unwrap_or("ip").to_string();
        r.add_set(Family::named(&family), "filter".into(), name, elems);
    }
    Ok(())
}

/// A `hash:ip,port` or `hash:net,port` element: `ADDRESS,[PROTO:]PORT[-PORT]` as the
/// concatenation (address, protocol, port).
fn address_port(text: &str) -> Elem {
    let Some((addr, port)) = text.split_once(',') else {
        return Elem::Unknown(format!("ipset element `{text}`"));
    };
    let (proto, port) = port.split_once(':').unwrap_or(("tcp", port));
    let port = match port.split_once('-') {
        Some((lo, hi)) => match (lo.parse(), hi.parse()) {
            (Ok(lo), Ok(hi)) => Elem::NumRange(lo, hi),
            _ => Elem::Unknown(format!("ipset element `{text}`")),
        },
        None => port.parse().map_or_else(
            |_| Elem::Unknown(format!("ipset element `{text}`")),
            Elem::Num,
        ),
    };
    Elem::Concat(vec![address(addr), Elem::Name(proto.to_string()), port])
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

/// A table's built-in chain: (chain type, hook, priority), as nftables names them (the
/// priorities iptables registers at: raw -300, mangle -150, nat -100/100, filter 0, security
/// 50).
fn builtin(table: &str, chain: &str) -> Option<(&'static str, &'static str, i64)> {
    let hook = match chain {
        "PREROUTING" => "prerouting",
        "INPUT" => "input",
        "FORWARD" => "forward",
        "OUTPUT" => "output",
        "POSTROUTING" => "postrouting",
        _ => return None,
    };
    let (kind, prio) = match (table, hook) {
        ("raw", "prerouting" | "output") => ("filter", -300),
        ("mangle", _) => ("filter", -150),
        ("nat", "prerouting" | "output") => ("nat", -100),
        ("nat", "input" | "postrouting") => ("nat", 100),
        ("filter", "input" | "forward" | "output") => ("filter", 0),
        ("security", "input" | "forward" | "output") => ("filter", 50),
        _ => return None,
    };
    Some((kind, hook, prio))
}

/// The tables read: every one a packet passes through.
pub(crate) const TABLES: &[&str] = &["raw", "mangle", "nat", "filter", "security"];

/// The chains and rules of one save text of `family` (`ip` or `ip6`); the rules with a
/// limit go to `limited`. `beside` a listing, the tables it cannot show are left to that.
fn save(
    r: &mut Ruleset,
    text: &str,
    (family, beside): (&str, bool),
    limited: &mut Tally,
) -> Result<(), ParseError> {
    let mut table = String::new();
    // The tables this text cannot show: beside a listing, the listing's (it shows them
    // whole); alone, unknown.
    let hidden = hidden(text);
    if !beside {
        unknown_tables(r, family, &hidden);
    }
    let at = |i: usize, what: &str| format!("line {}: {what}", i + 1);
    for (i, line) in text.lines().enumerate() {
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_string();
            continue;
        }
        if beside && hidden.contains(&table) {
            continue;
        }
        // `iptables-save -c`: each rule after its counters, `[packets:bytes] -A …`.
        let line = counted(line);
        if !TABLES.contains(&table.as_str())
            || line.starts_with('#')
            || line.trim().is_empty()
            || line == "COMMIT"
        {
            continue;
        }
        if let Some(chain) = line.strip_prefix(':') {
            let mut parts = chain.split_whitespace();
            let name = parts
                .next()
                .ok_or_else(|| at(i, "a chain without a name"))?;
            let policy = parts.next().unwrap_or("-");
            let base = builtin(&table, name).map(|(kind, hook, priority)| Base {
                kind: Kind::named(kind),
                hook: Point::named(hook),
                priority,
                policy: if policy.eq_ignore_ascii_case("accept") {
                    Policy::Accept
                } else {
                    Policy::Drop
                },
            });
            r.add_chain(
                (Family::named(family), table.clone(), name.into()),
                base,
                None,
            );
            continue;
        }
        let tokens = tokens(line).map_err(|e| at(i, &e))?;
        let (chain, rest) = match tokens.as_slice() {
            [(a, false), (c, _), rest @ ..] if a == "-A" || a == "--append" => (c.clone(), rest),
            _ => return Err(at(i, "not a rule (`-A CHAIN …`) of iptables-save")),
        };
        let read = rule(r, (family, &table), rest);
        if read.limited {
            limited.add(|| format!("{}, line {}", tool(family), i + 1));
        }
        if read.tracks {
            r.tracks(&Family::named(family));
        }
        let comment = Some(match &read.comment {
            Some(c) => format!("line {}: {c}", i + 1),
            None => format!("line {}", i + 1),
        });
        let handle = i64::try_from(i + 1).unwrap_or(0);
        for expr in read.rules() {
            r.add_rule(
                (&Family::named(family), &table, &chain),
                handle,
                comment.clone(),
                expr,
            )
            .map_err(|e| at(i, &e))?;
        }
    }
    Ok(())
}

/// The tables a save text says it cannot show whole ([`incompatible`]).
fn hidden(text: &str) -> Vec<String> {
    text.lines().filter_map(incompatible).collect()
}

/// The table iptables-nft says it cannot show whole: it holds chains that nft, not
/// iptables, made (1.8.9: "# Table `filter' contains incompatible base-chains, use 'nft'
/// tool to list them.", followed by what it can show; before: "# Table `filter' is
/// incompatible, use 'nft' tool.", and nothing).
fn incompatible(line: &str) -> Option<String> {
    let rest = line.strip_prefix("# Table `")?;
    let (table, why) = rest.split_once('\'')?;
    why.contains("incompatible").then(|| table.to_string())
}

/// A rule's line without the counters `iptables-save -c` puts before it (`[0:0] -A …`).
fn counted(line: &str) -> &str {
    let Some(rest) = line.strip_prefix('[') else {
        return line;
    };
    let number = |n: &str| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit());
    match rest.split_once(']') {
        Some((counters, rule))
            if counters
                .split_once(':')
                .is_some_and(|(p, b)| number(p) && number(b)) =>
        {
            rule.trim_start()
        }
        _ => line,
    }
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
