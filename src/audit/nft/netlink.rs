//! `nft --debug=netlink list ruleset`: the bytecode the kernel holds, rule by rule, read only
//! for what the JSON listing of nft 1.0.6 gets wrong.
//!
//! - It merges two adjacent comparisons into one range when their payloads have the same
//!   base and length, without checking that they are the same field: `tcp sport >= 1000 tcp
//!   dport <= 2000` is listed `tcp dport 1000-2000`, `tcp sport < 1000 tcp dport > 2000` `tcp
//!   dport != 1000-2000` (and a `<` followed by a `>` is never a range: a packet cannot be
//!   both). In the bytecode a real range is one load compared twice; the misprint is two
//!   loads, each compared once. The JSON reader makes such a rule `unknown`.
//! - It leaves a rule's own `meta nfproto` out when `reject with tcp reset` follows it:
//!   `meta nfproto ipv6 reject with tcp reset` is listed `meta l4proto tcp reject with tcp
//!   reset`, which would reject IPv4 too. Every comparison of the family is one the rule
//!   needs (a rule's comparisons all hold for it to act), so the JSON reader adds them back.

use std::collections::{BTreeMap, BTreeSet};

/// A rule by family, table, chain and handle.
pub(crate) type RuleKey = (String, String, String, i64);

/// Whether `text` is `nft --debug=netlink list ruleset` output: header lines of sets and rules
/// (`inet t @seen`, `inet t __set0`, `inet t input 4`), a set's elements (`\telement ...`),
/// up to the first rule's bytecode (`  [ ... ]`); or, for a ruleset without rules, only the
/// listing it ends with (`table inet t {`), which has no bytecode to check. A named set
/// without elements (a dynamic one, filled by the rules) has a header line alone.
pub(crate) fn is_netlink(text: &str) -> bool {
    const FAMILIES: &[&str] = &["ip", "ip6", "inet", "arp", "bridge", "netdev"];
    let mut after_header = false;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if line.starts_with("table ") && line.trim_end().ends_with('{') {
            return true;
        }
        if line.starts_with("  [ ") {
            return after_header;
        }
        if line.starts_with("\telement ") && after_header {
            continue;
        }
        let words: Vec<&str> = line.split(' ').collect();
        let header = matches!(words.first(), Some(f) if FAMILIES.contains(f))
            && (3..=5).contains(&words.len())
            && words.iter().all(|w| !w.is_empty());
        if !header {
            return false;
        }
        after_header = true;
    }
    false
}

/// What the bytecode says that the JSON listing may not.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Bytecode {
    /// The rules whose listing merges two comparisons of different fields into one range.
    pub(crate) merged: BTreeSet<RuleKey>,
    /// Each rule's comparisons of the packet's family (`meta load nfproto`, then `cmp eq` or
    /// `cmp neq`) with IPv4 or IPv6: (equal, IPv6).
    pub(crate) families: BTreeMap<RuleKey, Vec<(bool, bool)>>,
    /// The device of each ingress and egress chain, by family, table and chain, from the
    /// listing the bytecode ends with (nft 1.0.6's JSON leaves it out).
    pub(crate) devices: BTreeMap<(String, String, String), String>,
    /// The named sets and maps (family, table, name) with elements in the bytecode listing
    /// (`inet t @s`, then `\telement …`, [`set_header`]): a JSON listing that shows none of them for one was
    /// made with `nft -t`, which leaves elements out.
    pub(crate) filled: BTreeSet<(String, String, String)>,
}

impl Bytecode {
    /// The bytecode of several listings, as one.
    pub(crate) fn append(&mut self, mut other: Bytecode) {
        self.merged.append(&mut other.merged);
        for (key, mut f) in other.families {
            self.families.entry(key).or_default().append(&mut f);
        }
        self.devices.append(&mut other.devices);
        self.filled.append(&mut other.filled);
    }
}

/// Read the bytecode listing, rule by rule.
pub(crate) fn read(text: &str) -> Bytecode {
    let mut out = Bytecode::default();
    let mut rule: Option<RuleKey> = None;
    let mut code: Vec<&str> = Vec::new();
    let mut end = |rule: &mut Option<RuleKey>, code: &mut Vec<&str>| {
        if let Some(key) = rule.take() {
            let families = families(code);
            if !families.is_empty() {
                out.families.insert(key.clone(), families);
            }
            if merged(code) {
                out.merged.insert(key);
            }
        }
        code.clear();
    };
    // The named set whose header (`FAMILY TABLE @NAME`) came last: its `\telement …` lines
    // follow.
    let mut set: Option<(String, String, String)> = None;
    for line in text.lines() {
        if let Some(op) = line.strip_prefix("  [ ") {
            code.push(op.trim_end().trim_end_matches(']').trim_end());
        } else if line.starts_with("\telement ") {
            out.filled.extend(set.clone());
        } else if !line.starts_with([' ', '\t']) {
            end(&mut rule, &mut code);
            rule = header(line);
            set = set_header(line);
        }
    }
    end(&mut rule, &mut code);
    out.devices = devices(text);
    out
}

/// `FAMILY TABLE @NAME`: a named set's header.
fn set_header(line: &str) -> Option<(String, String, String)> {
    match line.split_whitespace().collect::<Vec<_>>().as_slice() {
        [f, t, n] => n
            .strip_prefix('@')
            .map(|n| (f.to_string(), t.to_string(), n.to_string())),
        _ => None,
    }
}

/// The devices the listing names for its chains: `table inet t {`, then `\tchain c {`, then
/// `\t\ttype filter hook ingress device "eth0" priority filter; policy accept;`. A chain of
/// several devices (`devices = { … }`) or a name that is not whole (a quote inside it) is
/// left out, and stays in doubt.
fn devices(text: &str) -> BTreeMap<(String, String, String), String> {
    let mut out = BTreeMap::new();
    let mut table: Option<(&str, &str)> = None;
    let mut chain: Option<&str> = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["table", family, name, "{"] if !line.starts_with([' ', '\t']) => {
                table = Some((family, name));
                chain = None;
            }
            ["chain", name, "{"] => chain = Some(name),
            ["type", ..] => {
                let (Some((family, name)), Some(c)) = (table, chain) else {
                    continue;
                };
                let device = line
                    .split_once(" device \"")
                    .and_then(|(_, rest)| rest.split_once("\" priority "))
                    .map(|(d, _)| d)
                    .filter(|d| !d.contains('"') && !d.is_empty());
                if let Some(d) = device {
                    out.insert(
                        (family.to_string(), name.to_string(), c.to_string()),
                        d.to_string(),
                    );
                }
            }
            _ => {}
        }
    }
    out
}

/// The comparisons of the family a rule's bytecode makes: `meta load nfproto => reg N`,
/// then `cmp eq reg N 0x0000000a` (or `neq`), with `NFPROTO_IPV4` (2) or `NFPROTO_IPV6`
/// (10), printed as a 32-bit word of this (little-endian) machine.
fn families(code: &[&str]) -> Vec<(bool, bool)> {
    code.windows(2)
        .filter_map(|w| {
            let [l, c] = w else { return None };
            let reg = l.strip_prefix("meta load nfproto => reg ")?.trim();
            let (operation, r) = cmp(c)?;
            let equal = match operation {
                "eq" => true,
                "neq" => false,
                _ => return None,
            };
            let v6 = match c.split_whitespace().last()? {
                "0x00000002" => false,
                "0x0000000a" => true,
                _ => return None,
            };
            (r == reg).then_some((equal, v6))
        })
        .collect()
}

/// `FAMILY TABLE CHAIN HANDLE [POSITION]`; sets (`@name`) and anything else are not rules.
fn header(line: &str) -> Option<RuleKey> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        [family, table, chain, handle] | [family, table, chain, handle, _] => {
            if chain.starts_with('@') {
                return None;
            }
            Some((
                (*family).to_string(),
                (*table).to_string(),
                (*chain).to_string(),
                handle.parse().ok()?,
            ))
        }
        _ => None,
    }
}

/// Whether the bytecode has a load, a comparison, a second load of the same base and
/// length, and a comparison, that nft lists as one range: `gte` then `lte` at another
/// offset, or `lt` then `gt` at any.
fn merged(code: &[&str]) -> bool {
    code.windows(4).any(|w| {
        let [l1, c1, l2, c2] = w else { return false };
        let (Some((field1, reg1)), Some((field2, reg2))) = (load(l1), load(l2)) else {
            return false;
        };
        let (Some((op1, r1)), Some((op2, r2))) = (cmp(c1), cmp(c2)) else {
            return false;
        };
        if reg1 != r1 || reg2 != r2 || field1.0 != field2.0 {
            return false;
        }
        match (op1, op2) {
            ("gte", "lte") => field1.1 != field2.1,
            ("lt", "gt") => true,
            _ => false,
        }
    })
}

/// `payload load 2b @ transport header + 0 => reg 1`: ((length and base, offset), register).
fn load(op: &str) -> Option<((&str, &str), &str)> {
    let rest = op.strip_prefix("payload load ")?;
    let (what, reg) = rest.split_once(" => reg ")?;
    let (base, offset) = what.rsplit_once(" + ")?;
    Some(((base, offset), reg.trim()))
}

/// `cmp gte reg 1 0x0000e803`: (operation, register).
fn cmp(op: &str) -> Option<(&str, &str)> {
    let mut words = op.strip_prefix("cmp ")?.split_whitespace();
    let operation = words.next()?;
    let (Some("reg"), Some(reg)) = (words.next(), words.next()) else {
        return None;
    };
    Some((operation, reg))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What nft 1.0.6 printed on this machine for four rules (`tcp sport >= 1000 tcp dport
    /// <= 2000`, `tcp dport 1000-2000`, `tcp sport < 1024 th dport > 1000`, `tcp sport >
    /// 1000 tcp dport < 2000`) and a set.
    const LISTING: &str = "inet t @s
\telement 00000050  : 0 [end]
inet t u 2
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x00000006 ]
  [ payload load 2b @ transport header + 0 => reg 1 ]
  [ cmp gte reg 1 0x0000e803 ]
  [ payload load 2b @ transport header + 2 => reg 1 ]
  [ cmp lte reg 1 0x0000d007 ]
  [ immediate reg 0 drop ]

inet t u 3 2
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x00000006 ]
  [ payload load 2b @ transport header + 2 => reg 1 ]
  [ cmp gte reg 1 0x0000e803 ]
  [ cmp lte reg 1 0x0000d007 ]
  [ immediate reg 0 drop ]

inet t u 4 3
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x00000006 ]
  [ payload load 2b @ transport header + 0 => reg 1 ]
  [ cmp lt reg 1 0x00000004 ]
  [ payload load 2b @ transport header + 2 => reg 1 ]
  [ cmp gt reg 1 0x0000e803 ]
  [ immediate reg 0 drop ]
  userdata = { \\x00\\x0bfwgen smtp\\x00 }

inet t u 5 4
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x00000006 ]
  [ payload load 2b @ transport header + 0 => reg 1 ]
  [ cmp gt reg 1 0x0000e803 ]
  [ payload load 2b @ transport header + 2 => reg 1 ]
  [ cmp lt reg 1 0x0000d007 ]
  [ immediate reg 0 drop ]

table inet t {
}
";

    #[test]
    fn the_rules_nft_lists_as_one_range_are_found() {
        assert!(is_netlink(LISTING));
        // A ruleset without rules or sets: only the listing, nothing misprinted.
        assert!(is_netlink("table inet t {\n}\n"));
        assert_eq!(read("table inet t {\n}\n"), Bytecode::default());
        assert!(!is_netlink("{\"nftables\": []}"));
        // Dynamic sets (no elements) come first, each a header line alone.
        assert!(is_netlink(&format!("inet t @seen\ninet t @m1\n{LISTING}")));
        assert!(is_netlink("inet t @seen\n\ntable inet t {\n}\n"));
        assert!(!is_netlink("inet t @seen\n"));
        assert!(!is_netlink(
            "ip access-list extended ACL\n permit tcp any any\n"
        ));
        assert!(!is_netlink("*filter\n:INPUT ACCEPT [0:0]\n"));
        let key = |h| ("inet".to_string(), "t".to_string(), "u".to_string(), h);
        assert_eq!(read(LISTING).merged, BTreeSet::from([key(2), key(4)]));
        assert!(read(LISTING).families.is_empty());
    }

    /// What nft 1.0.6 printed for `meta nfproto ipv6 reject with tcp reset` (listed `meta
    /// l4proto tcp reject with tcp reset`), `meta nfproto != ipv4 counter drop` and `ip saddr
    /// 10.0.0.1 drop` (whose family comparison its listing implies).
    /// What nft 1.0.6 printed for an ingress and an egress chain on `d0`, and an `inet`
    /// ingress chain; the other forms are written by hand.
    #[test]
    fn the_devices_of_edge_chains_are_read_from_the_listing() {
        let listing = "netdev e ing 3
  [ immediate reg 0 drop ]

table netdev e {
\tchain ing {
\t\ttype filter hook ingress device \"d0\" priority filter; policy accept;
\t\tudp dport 161 drop
\t}

\tchain eg {
\t\ttype filter hook egress device \"d0\" priority filter; policy accept;
\t}
}
table inet f {
\tchain ing2 {
\t\ttype filter hook ingress device \"d0\" priority filter; policy accept;
\t}
\tchain two {
\t\ttype filter hook ingress devices = { \"d0\", \"d1\" } priority filter; policy accept;
\t}
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t}
}
";
        let key = |f: &str, t: &str, c: &str| (f.to_string(), t.to_string(), c.to_string());
        let got = read(listing).devices;
        let want: BTreeMap<_, _> = [
            (key("netdev", "e", "ing"), "d0".to_string()),
            (key("netdev", "e", "eg"), "d0".to_string()),
            (key("inet", "f", "ing2"), "d0".to_string()),
        ]
        .into_iter()
        .collect();
        assert_eq!(got, want);
    }

    /// A set with elements in the bytecode listing (which a JSON listing made with `nft -t`
    /// leaves out); one without (a dynamic set's header alone) is not counted.
    #[test]
    fn the_sets_with_elements_are_found() {
        let listing = format!("inet t @seen\n{LISTING}");
        let got = read(&listing).filled;
        let want: BTreeSet<_> = [("inet".to_string(), "t".to_string(), "s".to_string())].into();
        assert_eq!(got, want);
    }

    #[test]
    fn a_rules_comparisons_of_the_family_are_found() {
        let listing = "inet t input 2
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x00000006 ]
  [ meta load nfproto => reg 1 ]
  [ cmp eq reg 1 0x0000000a ]
  [ reject type 1 code 0 ]

inet t input 3 2
  [ meta load nfproto => reg 1 ]
  [ cmp neq reg 1 0x00000002 ]
  [ counter pkts 0 bytes 0 ]
  [ immediate reg 0 drop ]

inet t input 4 3
  [ meta load nfproto => reg 1 ]
  [ cmp eq reg 1 0x00000002 ]
  [ payload load 4b @ network header + 12 => reg 1 ]
  [ cmp eq reg 1 0x0100000a ]
  [ immediate reg 0 drop ]
";
        let key = |h| ("inet".to_string(), "t".to_string(), "input".to_string(), h);
        let got = read(listing);
        assert_eq!(
            got.families,
            BTreeMap::from([
                (key(2), vec![(true, true)]),
                (key(3), vec![(false, false)]),
                (key(4), vec![(true, false)]),
            ])
        );
        assert!(got.merged.is_empty());
    }
}
