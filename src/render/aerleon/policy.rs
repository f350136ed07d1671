//! The Aerleon policy's content: which filters each kind of target gets, their terms from
//! the perimeter plan or the host's rules, and the networks and services they name.

use std::collections::BTreeMap;

use crate::model::{PortSet, Protocol, Service, icmp_reply};
use crate::ruleset::{Rule, Ruleset};

use super::super::comment::header_lines;
use super::super::intern::Interner;
use super::super::perimeter::{self, Flow, NetNames, Replies, Side, ephemeral};
use super::super::{Family, Output, Placement, Policy, RenderOptions, Rendered};
use super::icmp::{BASELINE_V4, BASELINE_V6, icmp_name};
use super::yaml::{Addr, Filter, Term, definitions, policy_text};
use super::{AerleonTarget, Group};
use crate::text::{aerleon_comment, sanitize};

/// The longest line of a term's comment fwgen writes (the ASA's remark; Aerleon cuts longer
/// ones there).
pub(super) const COMMENT_MAX: usize = 100;

/// The longest peer label in a network's name (`FWGEN-` and it, within Aerleon's tokens).
const LABEL_MAX: usize = 40;

/// nft's longest comment, in bytes.
const NFT_COMMENT_MAX: usize = 128;

/// The networks and services the terms name.
#[derive(Default)]
struct Defs {
    nets: NetNames,
    services: Interner<(Protocol, PortSet)>,
    /// FQDN networks: name, host names.
    fqdn: BTreeMap<String, Vec<String>>,
    /// The longest term name of the filter being written.
    max: usize,
}

impl Defs {
    fn service(&mut self, protocol: Protocol, ports: &PortSet) -> String {
        self.services
            .name(&(protocol, ports.clone()), |given| {
                let text: Vec<String> = ports.ranges().iter().map(ToString::to_string).collect();
                let name = format!(
                    "FWGEN-{}-{}",
                    protocol.to_string().to_ascii_uppercase(),
                    text.join("_")
                );
                if name.len() <= 48 && !given.iter().any(|(g, _)| *g == name) {
                    name
                } else {
                    format!("FWGEN-SVC-{}", given.len() + 1)
                }
            })
            .to_string()
    }

    fn side(
        &mut self,
        side: &Side,
        rules: &Ruleset,
        gateway: bool,
        label: Option<&str>,
    ) -> Option<Addr> {
        match side {
            Side::Any => None,
            Side::Nets(n) => Some(Addr::Net(self.nets.name(n, gateway, label))),
            Side::Fqdn(groups) => Some(Addr::Fqdn(
                groups
                    .iter()
                    .map(|g| {
                        let name = format!("FWGEN-DNS-{}", g.to_ascii_uppercase());
                        let hosts = rules
                            .dns_groups
                            .iter()
                            .find(|d| d.group == *g)
                            .map(|d| d.hosts.iter().map(|h| crate::names::host_key(h)).collect())
                            .unwrap_or_default();
                        self.fqdn.insert(name.clone(), hosts);
                        name
                    })
                    .collect(),
            )),
        }
    }
}

/// The policy, the definitions and what was left out.
pub(super) fn render(rules: &Ruleset, opts: &RenderOptions) -> Rendered {
    // Checked before rendering (`Description::check`): an error cannot reach here.
    let (targets, warnings) = super::targets(rules, opts).unwrap_or_default();
    let mut defs = Defs::default();
    let mut filters = Vec::new();
    let mut inet6 = Vec::new();
    let mut groups: Vec<Group> = targets.iter().map(|t| t.group()).collect();
    groups.sort();
    groups.dedup();
    for group in groups {
        let in_group: Vec<AerleonTarget> = targets
            .iter()
            .copied()
            .filter(|t| t.group() == group)
            .collect();
        // Names are unique in a group's filters: PAN-OS's security rules share one namespace.
        let mut given = Vec::new();
        for toward in [true, false] {
            let (main, v6) = group_filters(
                rules,
                opts,
                (group, &in_group),
                toward,
                &mut defs,
                &mut given,
            );
            filters.extend(main);
            inet6.extend(v6);
        }
    }
    let header: String = header_lines(rules, opts)
        .iter()
        .map(|l| format!("# {}\n", sanitize(l, COMMENT_MAX)))
        .collect();
    let mut files = vec![
        (
            "def/fwgen.yaml".to_string(),
            format!(
                "{header}{}",
                definitions(&defs.nets, &defs.fqdn, &defs.services)
            ),
        ),
        (
            "policies/pol/fwgen.yaml".to_string(),
            format!("{header}{}", policy_text(&filters)),
        ),
    ];
    if !inet6.is_empty() {
        files.push((
            "policies/pol/fwgen-inet6.yaml".to_string(),
            format!(
                "{header}# iptables' IPv6 filters: Aerleon writes one iptables file a policy, and \
                 iptables-restore takes one family a file.\n{}",
                policy_text(&inet6)
            ),
        ));
    }
    files.sort();
    Rendered {
        output: Output::Files(files),
        warnings,
    }
}

/// The filters of one group of targets for one direction (toward the gateway: `in` on a
/// host), and for iptables those of IPv6.
fn group_filters(
    rules: &Ruleset,
    opts: &RenderOptions,
    (group, targets): (Group, &[AerleonTarget]),
    toward: bool,
    defs: &mut Defs,
    given: &mut Vec<String>,
) -> (Vec<Filter>, Vec<Filter>) {
    // iptables: 24 (its chain names); PAN-OS: 63 for `service-NAME-tcp`; the others 62.
    let max = if targets.contains(&AerleonTarget::Iptables) {
        24
    } else {
        50
    };
    defs.max = max;
    let mut terms = if opts.placement == Placement::Perimeter {
        perimeter_terms(rules, opts, group, toward, defs)
    } else {
        host_terms(rules, opts, group, toward, defs)
    };
    if group == Group::Nftables {
        // Aerleon 1.18's nftables generator fails on a list of one ICMP type (it joins the
        // list as a string): the type is listed twice, which nft takes as one.
        // It also writes each line of a comment as a chain comment of its own, and nft takes
        // one: the lines are joined, within nft's 128 bytes.
        for t in &mut terms {
            if let [one] = t.icmp_types[..] {
                t.icmp_types.push(one);
            }
            t.comment = vec![aerleon_comment(&t.comment.join(". "), NFT_COMMENT_MAX)];
        }
    }
    name_terms(&mut terms, max, given);
    let h = Header::new(opts, toward);
    let filter = |targets: Vec<(&'static str, String)>, terms: Vec<Term>| Filter {
        comment: h.comment.clone(),
        targets,
        terms,
    };
    let main = targets
        .iter()
        .map(|&t| (t.key(), h.options(group)))
        .collect();
    let out = match group {
        Group::Iptables => {
            let v6 = format!("{} inet6", h.options(group));
            return (
                vec![filter(main, terms.clone())],
                vec![filter(vec![("iptables", v6)], terms)],
            );
        }
        // The Windows generator writes ICMPv6 only in an IPv6 filter.
        Group::Windows => {
            let (six, rest): (Vec<Term>, Vec<Term>) = terms
                .into_iter()
                .partition(|t| t.protocol == Some("icmpv6"));
            let v6 = vec![("windows_advfirewall", format!("{} inet6", h.win))];
            vec![filter(main, rest), filter(v6, six)]
        }
        _ => vec![filter(main, terms)],
    };
    (
        out.into_iter().filter(|f| !f.terms.is_empty()).collect(),
        Vec::new(),
    )
}

/// What a filter's header says for one direction.
struct Header {
    comment: String,
    list: &'static str,
    zones: (String, String),
    hook: &'static str,
    chain: &'static str,
    win: &'static str,
    policy: Policy,
}

impl Header {
    fn new(opts: &RenderOptions, toward: bool) -> Header {
        let (inside, outside) = opts.aerleon.zones();
        let perimeter = opts.placement == Placement::Perimeter;
        let (hook, chain, win) = match (perimeter, toward) {
            (true, _) => ("forward", "FORWARD", ""),
            (false, true) => ("input", "INPUT", "in"),
            (false, false) => ("output", "OUTPUT", "out"),
        };
        let dir = if toward { "to" } else { "from" };
        Header {
            comment: if perimeter {
                format!("fwgen: connections {dir} the gateway")
            } else {
                format!("fwgen: the host's {win}bound connections")
            },
            list: if toward {
                "FWGEN-TO-GW"
            } else {
                "FWGEN-FROM-GW"
            },
            zones: if toward {
                (outside.to_string(), inside.to_string())
            } else {
                (inside.to_string(), outside.to_string())
            },
            hook,
            chain,
            win,
            // In front of the gateway, the chain passes what does not involve the gateway;
            // its last term decides the gateway's other traffic.
            policy: if perimeter {
                Policy::Accept
            } else {
                opts.policy
            },
        }
    }

    /// The header options of a group's targets.
    fn options(&self, group: Group) -> String {
        let (from, to) = &self.zones;
        let (list, hook, chain) = (self.list, self.hook, self.chain);
        match group {
            Group::Zone => format!("from-zone {from} to-zone {to} mixed"),
            Group::Asa => list.to_string(),
            Group::Stateless => format!("{list} mixed"),
            Group::Nftables if self.policy == Policy::Accept => format!("mixed {hook} ACCEPT"),
            Group::Nftables => format!("mixed {hook}"),
            Group::Iptables => format!("{chain} {}", self.policy.upper()),
            Group::Windows => self.win.to_string(),
        }
    }
}

/// A perimeter list's terms: its flows, then the gateway's other traffic denied and (access
/// lists) what does not involve the gateway permitted.
fn perimeter_terms(
    rules: &Ruleset,
    opts: &RenderOptions,
    group: Group,
    toward: bool,
    defs: &mut Defs,
) -> Vec<Term> {
    let replies = match group {
        Group::Stateless => Replies::All,
        Group::Asa => Replies::IcmpOnly,
        _ => Replies::None,
    };
    let mut terms = Vec::new();
    // Aerleon's iptables generator leaves replies to a term of their own.
    if group == Group::Iptables {
        terms.push(established(if toward { "to" } else { "from" }));
    }
    for flow in perimeter::plan(rules, None, toward, replies, LABEL_MAX) {
        let label = flow.label.as_deref();
        let src = defs.side(&flow.from, rules, !toward, label.filter(|_| toward));
        let dst = defs.side(&flow.to, rules, toward, label.filter(|_| !toward));
        terms.extend(flow_terms(rules, &flow, src, dst, defs));
    }
    let gw = defs.side(&Side::Nets(rules.gateway.clone()), rules, true, None);
    let (src, dst) = if toward { (None, gw) } else { (gw, None) };
    terms.push(Term {
        name: format!("{}-gateway-other", if toward { "to" } else { "from" }),
        comment: vec![match opts.policy {
            Policy::Drop => "the gateway's other traffic".to_string(),
            Policy::Accept => "the gateway's other traffic (STAGED ROLL-OUT: accepted)".to_string(),
        }],
        src,
        dst,
        accept: opts.policy == Policy::Accept,
        logging: opts.log_drops,
        ..Term::default()
    });
    if matches!(group, Group::Asa | Group::Stateless) {
        terms.push(Term {
            name: format!("{}-not-gateway", if toward { "to" } else { "from" }),
            comment: vec!["traffic without the gateway: not this list's to decide".into()],
            accept: true,
            ..Term::default()
        });
    }
    terms
}

/// A host's terms for one direction: the baseline (Linux), the rules of that direction,
/// and with --log-drops the rest logged.
fn host_terms(
    rules: &Ruleset,
    opts: &RenderOptions,
    group: Group,
    inbound: bool,
    defs: &mut Defs,
) -> Vec<Term> {
    let mut terms = Vec::new();
    if group != Group::Windows {
        terms.extend(baseline(group, inbound));
    }
    let direction = if inbound {
        crate::model::Direction::In
    } else {
        crate::model::Direction::Out
    };
    for rule in rules.rules.iter().filter(|r| r.direction == direction) {
        // A rule bound to no address at all admits nothing (as in the perimeter plan).
        let Some(remote) = perimeter::remote_side(rule, None) else {
            continue;
        };
        let flow = Flow {
            rule,
            from: if inbound { remote.clone() } else { Side::Any },
            to: if inbound { Side::Any } else { remote },
            forward: true,
            label: None,
        };
        let label = perimeter::peer_label(rule, LABEL_MAX);
        let addr = defs.side(
            if inbound { &flow.from } else { &flow.to },
            rules,
            false,
            label.as_deref(),
        );
        let (src, dst) = if inbound { (addr, None) } else { (None, addr) };
        terms.extend(flow_terms(rules, &flow, src, dst, defs));
    }
    if opts.log_drops {
        terms.push(Term {
            name: format!("{}-other", if inbound { "in" } else { "out" }),
            comment: vec!["everything else, logged".into()],
            accept: opts.policy == Policy::Accept,
            logging: true,
            ..Term::default()
        });
    }
    terms
}

/// Replies and related traffic (iptables; nftables' generator accepts them itself).
fn established(prefix: &str) -> Term {
    Term {
        name: format!("{prefix}-established"),
        comment: vec!["replies and related traffic of admitted connections".into()],
        options: vec!["established"],
        accept: true,
        ..Term::default()
    }
}

/// The host baseline of fwgen's Linux rulesets, as terms.
fn baseline(group: Group, inbound: bool) -> Vec<Term> {
    let mut terms = vec![Term {
        name: format!("{}-loopback", if inbound { "in" } else { "out" }),
        comment: vec!["the loopback interface".into()],
        source_interface: inbound.then_some("lo"),
        destination_interface: (!inbound).then_some("lo"),
        accept: true,
        ..Term::default()
    }];
    // nftables' generator accepts established and related traffic itself.
    if group == Group::Iptables {
        terms.push(established(if inbound { "in" } else { "out" }));
    }
    terms.push(Term {
        name: format!("{}-icmp-errors", if inbound { "in" } else { "out" }),
        comment: vec!["ICMP errors a host needs".into()],
        protocol: Some("icmp"),
        icmp_types: BASELINE_V4.to_vec(),
        accept: true,
        ..Term::default()
    });
    terms.push(Term {
        name: format!("{}-icmpv6-basics", if inbound { "in" } else { "out" }),
        comment: vec!["ICMPv6 errors, path MTU discovery, neighbour discovery".into()],
        protocol: Some("icmpv6"),
        icmp_types: BASELINE_V6.to_vec(),
        accept: true,
        ..Term::default()
    });
    terms
}

/// The terms of one flow: one for TCP or UDP (its replies: from the service ports to the
/// ephemeral ports), ICMP one a family and one a message of one code.
fn flow_terms(
    rules: &Ruleset,
    flow: &Flow<'_>,
    src: Option<Addr>,
    dst: Option<Addr>,
    defs: &mut Defs,
) -> Vec<Term> {
    let rule = flow.rule;
    let base = Term {
        name: term_base(rule, flow.forward, defs.max),
        comment: comment(rules, rule, flow.forward),
        src,
        dst,
        accept: true,
        ..Term::default()
    };
    let (protocol, ports) = match &rule.service {
        Service::Tcp(p) => (Protocol::Tcp, p),
        Service::Udp(p) => (Protocol::Udp, p),
        Service::Icmp(types) => return icmp_terms(flow, types, &base),
    };
    let proto = if protocol == Protocol::Tcp {
        "tcp"
    } else {
        "udp"
    };
    if flow.forward {
        return vec![Term {
            protocol: Some(proto),
            dport: Some(defs.service(protocol, ports)),
            ..base
        }];
    }
    vec![Term {
        protocol: Some(proto),
        sport: Some(defs.service(protocol, ports)),
        dport: Some(defs.service(protocol, &PortSet::new([ephemeral()]))),
        options: if protocol == Protocol::Tcp {
            vec!["tcp-established"]
        } else {
            Vec::new()
        },
        ..base
    }]
}

/// The ICMP terms of one flow: one a family, and one a message of one code.
fn icmp_terms(flow: &Flow<'_>, types: &crate::model::IcmpTypes, base: &Term) -> Vec<Term> {
    let mut out = Vec::new();
    for family in Family::BOTH {
        let v6 = family == Family::V6;
        if !has(&flow.from, family) || !has(&flow.to, family) {
            continue;
        }
        let messages: Vec<(u8, Option<u8>)> = types
            .messages(v6)
            .into_iter()
            .filter_map(|(t, code)| {
                if flow.forward {
                    Some((t, code))
                } else {
                    icmp_reply(v6, t).map(|r| (r, None))
                }
            })
            .collect();
        let protocol = if v6 { "icmpv6" } else { "icmp" };
        let suffix = if v6 { "-v6" } else { "" };
        let whole: Vec<&'static str> = messages
            .iter()
            .filter(|(_, c)| c.is_none())
            .filter_map(|&(t, _)| icmp_name(t, None, v6))
            .collect();
        if !whole.is_empty() {
            out.push(Term {
                name: format!("{}{suffix}", base.name),
                protocol: Some(protocol),
                icmp_types: whole,
                ..base.clone()
            });
        }
        for &(t, code) in &messages {
            let (Some(c), Some(name)) = (code, icmp_name(t, code, v6)) else {
                continue;
            };
            out.push(Term {
                name: format!("{}{suffix}-{t}-{c}", base.name),
                protocol: Some(protocol),
                icmp_types: vec![name],
                icmp_code: Some(c),
                ..base.clone()
            });
        }
    }
    out
}

/// Whether a side has addresses of `family` (any address and names have both).
fn has(side: &Side, family: Family) -> bool {
    match side {
        Side::Nets(n) => n.iter().any(|n| family.holds(n)),
        Side::Any | Side::Fqdn(_) => true,
    }
}

/// A term's name before it is made unique and short: the rule's entries, `-rep` for return
/// traffic.
fn term_base(rule: &Rule, forward: bool, max: usize) -> String {
    let ids: Vec<&str> = rule.entries.iter().map(String::as_str).collect();
    let mut name = ids.join("_");
    if let [first, rest @ ..] = ids.as_slice()
        && name.len() + 4 > max
        && !rest.is_empty()
    {
        name = format!("{first}-and-{}-more", rest.len());
    }
    if !forward {
        name.push_str("-rep");
    }
    name
}

/// Names within Aerleon's rules: letters, digits, `-` and `_`, at most `max` (iptables: 24,
/// the others 50), unique in the filter: cut names end in 4 hex digits of the whole name's
/// SHA-256, taken names in `-2`, `-3`.
fn name_terms(terms: &mut [Term], max: usize, given: &mut Vec<String>) {
    use sha2::Digest;
    for t in terms.iter_mut() {
        let clean: String = t
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let base = if clean.len() <= max {
            clean.clone()
        } else {
            let hex = crate::text::hex(&sha2::Sha256::digest(clean.as_bytes()));
            let keep = clean
                .get(..max - 5)
                .unwrap_or_default()
                .trim_end_matches(['-', '_']);
            format!("{keep}-{}", hex.get(..4).unwrap_or_default())
        };
        let mut name = base.clone();
        let mut n = 2;
        while given.contains(&name) {
            let suffix = format!("-{n}");
            let keep = base
                .get(..base.len().min(max.saturating_sub(suffix.len())))
                .unwrap_or_default();
            name = format!("{keep}{suffix}");
            n += 1;
        }
        given.push(name.clone());
        t.name = name;
    }
}

/// A term's comment: each entry with its description and document row, why it admits any
/// address, and host names with no address.
fn comment(rules: &Ruleset, rule: &Rule, forward: bool) -> Vec<String> {
    let replies = if forward { "" } else { "replies: " };
    let mut out = Vec::new();
    for id in rule.entries.iter() {
        match rules.selected.iter().find(|e| e.id == *id) {
            Some(e) => {
                out.push(aerleon_comment(
                    &format!("{replies}fwgen {id}: {}", e.description),
                    COMMENT_MAX,
                ));
                out.push(aerleon_comment(&e.source, COMMENT_MAX));
            }
            None => out.push(aerleon_comment(
                &format!("{replies}fwgen {id}"),
                COMMENT_MAX,
            )),
        }
    }
    for reason in &rule.any {
        out.push(aerleon_comment(
            &format!("any address: {reason}"),
            COMMENT_MAX,
        ));
    }
    if !rule.peers.unresolved.is_empty() {
        let hosts: Vec<&str> = rule.peers.unresolved.iter().map(String::as_str).collect();
        out.push(aerleon_comment(
            &format!("any address: no address known for {}", hosts.join(", ")),
            COMMENT_MAX,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(given: &[&str], max: usize) -> Vec<String> {
        let mut terms: Vec<Term> = given
            .iter()
            .map(|n| Term {
                name: n.to_string(),
                ..Term::default()
            })
            .collect();
        name_terms(&mut terms, max, &mut Vec::new());
        terms.into_iter().map(|t| t.name).collect()
    }

    #[test]
    fn names_are_short_unique_and_of_aerleons_characters() {
        let long = "a-very-long-entry-id-of-forty-characters_and-another-one";
        let got = names(&["smtp", "smtp", "smtp", long, long, "web ui/é"], 24);
        assert_eq!(got[..3], ["smtp", "smtp-2", "smtp-3"]);
        assert!(got.iter().all(|n| n.len() <= 24), "{got:?}");
        assert_ne!(got[3], got[4]);
        assert!(got[3].starts_with("a-very-long-entry-i"), "{got:?}");
        assert_eq!(got[5], "web-ui--");
        let mut unique = got.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), got.len());
    }

    #[test]
    fn icmp_names_are_aerleons_and_codes_only_where_it_takes_them() {
        assert_eq!(icmp_name(8, None, false), Some("echo-request"));
        assert_eq!(icmp_name(128, None, true), Some("echo-request"));
        assert_eq!(icmp_name(135, None, true), Some("neighbor-solicit"));
        assert_eq!(icmp_name(5, Some(1), false), Some("redirect"));
        assert_eq!(icmp_name(8, Some(0), false), None);
        assert_eq!(icmp_name(7, None, false), None);
    }
}
