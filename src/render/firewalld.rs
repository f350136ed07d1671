//! `--backend firewalld`: a directory laid out like `/etc/firewalld` (`zones/`, `policies/`,
//! `services/`, `ipsets/`), for firewalld 0.9 or later (policy objects).
//!
//! Syntax reference: firewalld.zone(5), firewalld.policy(5), firewalld.service(5),
//! firewalld.ipset(5), firewalld.richlanguage(5). Each merged rule becomes a service named
//! `fwgen-in-N` or `fwgen-out-N` holding its ports; a rule with addresses is a rich rule that
//! pairs the service with an ipset (one per family: firewalld drops v6 entries from an `inet`
//! set with only a warning).
//!
//! - host placement: zone `fwgen` (target DROP) for inbound rules; policy `fwgen-out` from
//!   `HOST` to `ANY` (target DROP) for outbound ones.
//! - perimeter placement: zone `fwgen-gateway` holding the gateway's addresses as sources;
//!   policy `fwgen-to-gw` (`ANY` -> that zone) for inbound rules and `fwgen-from-gw`
//!   (that zone -> `ANY`) for outbound ones, both target DROP.
//!
//! ```xml
//! <zone target="DROP">
//!   <short>fwgen</short>
//!   <rule family="ipv4"><source ipset="fwgen-in-1-v4"/><service name="fwgen-in-1"/><accept/></rule>
//! </zone>
//! ```
//!
//! Zone and policy names stay within firewalld's 17 characters.

use std::collections::BTreeMap;
use std::fmt::Write;

use ipnet::IpNet;

use crate::model::{Direction, Shown};
use crate::ruleset::{Rule, Ruleset};

use super::comment::{header_lines, log_prefix};
use super::{Family, Placement, RemoteMatch, RenderOptions, remote_in};
use crate::text::{flatten, sanitize, xml_escape};

pub(super) const DESCRIPTION: super::Description = super::Description {
    previous: None,
    check: None,
    name: "firewalld",
    kind: super::Kind::Firewall,
    shape: super::Shape::Directory,
    file_name: "firewalld",
    placements: super::ANY_PLACEMENT,
    placement_note: "",
    needs_gateway: true,
    host_platforms: &[crate::model::Platform::Linux],
    replaces_policy: true,
    comment_max: None,
    // Escaped, not dropped: `<`, `&` and quotes become entities; `--` never ends a comment.
    never_emits: &[],
    names_note: None,
    icmp: super::IcmpSyntax::Names(icmp_type_name),
    forwarder: Some(super::dnsmasq::Forwarder {
        note: "# firewalld rebuilds its sets on `firewall-cmd --reload`: they are empty afterwards.\n\
               # Clear this dnsmasq's cache then (`kill -HUP` its process), so that the gateway's next\n\
               # lookups go upstream and fill them again. (firewalld's nftables backend also creates\n\
               # the sets without the timeout: an element stays until the next reload.)\n",
        lines: |g| {
            format!(
                "# (firewalld with FirewallBackend=iptables: {})\n{}",
                super::dnsmasq::ipset(g).trim_end(),
                super::dnsmasq::nftset(g, "firewalld", super::dns_ipset_name)
            )
        },
    }),
    render: |rules, opts| super::Rendered {
        output: super::Output::Files(render(rules, opts)),
        warnings: Vec::new(),
    },
};

/// Text that can stand inside an XML comment: no `--` (a space goes between two dashes, so
/// `---` cannot hide a second pair, as a single `replace` would leave it) and no `-` at the
/// end, where it would run into the closing `-->`.
fn comment_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '-' && out.ends_with('-') {
            out.push(' ');
        }
        out.push(c);
    }
    if out.ends_with('-') {
        out.push(' ');
    }
    out
}

/// An XML comment holding the header; `--` may not appear inside one.
fn header_comment(rules: &Ruleset, opts: &RenderOptions) -> String {
    let mut s = String::from("<!--\n");
    for l in header_lines(rules, opts) {
        let _ = writeln!(s, "  {}", comment_safe(&xml_escape(&l)));
    }
    s.push_str("-->\n");
    s
}

fn xml_doc(rules: &Ruleset, opts: &RenderOptions, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{}{body}",
        header_comment(rules, opts)
    )
}

/// Catalogue entry id -> its description.
type Descriptions<'r> = BTreeMap<&'r str, &'r str>;

/// Description of a rule: its entries with their catalogue descriptions.
fn describe(rules: &Ruleset, descriptions: &Descriptions, rule: &Rule) -> String {
    let parts: Vec<String> = rule
        .entries
        .iter()
        .map(|id| match descriptions.get(id.as_str()) {
            Some(d) => format!("{id} ({})", flatten(d, 200, &[])),
            None => id.clone(),
        })
        .collect();
    let mut s = format!(
        "{} {} {}: {}",
        rules.meta.product,
        rules.meta.version,
        rule.direction,
        parts.join(", ")
    );
    if !rule.peers.unresolved.is_empty() {
        let hosts: Vec<String> = rule
            .peers
            .unresolved
            .iter()
            .map(|h| sanitize(h, 200))
            .collect();
        let _ = write!(
            s,
            ". Any address: no address known for {}",
            hosts.join(", ")
        );
    }
    xml_escape(&s)
}

/// A service: one merged rule's ports (and the FTP helper), with its description.
struct Service {
    name: String,
    index: usize,
    description: String,
    protocol: &'static str,
    ports: Vec<crate::model::PortRange>,
    ftp: bool,
}

/// An ipset: fixed prefixes, or one that the DNS forwarder fills for a host group.
#[derive(PartialEq)]
enum IpSet {
    Fixed {
        name: String,
        family: &'static str,
        nets: Vec<IpNet>,
    },
    Dns {
        name: String,
        family: &'static str,
        group: String,
    },
}

/// One element of a zone or policy body.
enum Element {
    /// The service for any address (no family: both).
    Service(String),
    /// The service for the addresses of an ipset, in one family.
    Rule {
        family: &'static str,
        set: String,
        service: String,
    },
    /// ICMP messages of one type (firewalld's name for it) in one family, from the addresses
    /// of an ipset or from any.
    Icmp {
        family: &'static str,
        set: Option<String>,
        icmp: &'static str,
    },
    /// The rate-limited log rule before the target.
    Log,
}

/// One direction, decided: its services, ipsets and body elements.
struct Plan {
    direction: Direction,
    /// `source` (inbound) or `destination` (outbound): the peer's side in a rich rule.
    peer_elem: &'static str,
    services: Vec<Service>,
    ipsets: Vec<IpSet>,
    body: Vec<Element>,
}

impl Plan {
    /// The body elements and ipsets of `rule` (its service, or its ipsets' prefix, is
    /// `name`) in family `f`.
    fn family(&mut self, rule: &Rule, name: &str, f: Family) {
        let (fam, set_family) = match f {
            Family::V4 => ("ipv4", "inet"),
            Family::V6 => ("ipv6", "inet6"),
        };
        // ICMP has no service: one rich rule per type, named as firewalld's icmptypes are.
        let icmp: Option<Vec<&'static str>> = match &rule.service {
            crate::model::Service::Tcp(_) | crate::model::Service::Udp(_) => None,
            crate::model::Service::Icmp(t) => Some(
                t.messages(f == Family::V6)
                    .into_iter()
                    .filter_map(|(n, code)| icmp_type_name(n, code, f == Family::V6))
                    .collect(),
            ),
        };
        if icmp.as_ref().is_some_and(Vec::is_empty) {
            return;
        }
        let rule_for = |set: &str| match &icmp {
            None => vec![Element::Rule {
                family: fam,
                set: set.to_string(),
                service: name.to_string(),
            }],
            Some(types) => types
                .iter()
                .map(|&icmp| Element::Icmp {
                    family: fam,
                    set: Some(set.to_string()),
                    icmp,
                })
                .collect(),
        };
        match remote_in(rule, f) {
            None => {}
            Some(RemoteMatch::Any) if icmp.is_some() => {
                for icmp in icmp.iter().flatten() {
                    self.body.push(Element::Icmp {
                        family: fam,
                        set: None,
                        icmp,
                    });
                }
            }
            // A service element has no family: the V4 pass adds it for both.
            Some(RemoteMatch::Any) if f == Family::V4 => {
                self.body.push(Element::Service(name.to_string()))
            }
            Some(RemoteMatch::Any) => {}
            Some(RemoteMatch::Nets(nets)) => {
                let set = format!("{name}-{}", f.suffix());
                self.body.extend(rule_for(&set));
                self.ipsets.push(IpSet::Fixed {
                    name: set,
                    family: set_family,
                    nets,
                });
            }
            Some(RemoteMatch::Names(groups)) => {
                for g in groups {
                    let set = super::dns_ipset_name(&g, f);
                    self.body.extend(rule_for(&set));
                    let ipset = IpSet::Dns {
                        name: set,
                        family: set_family,
                        group: g,
                    };
                    if !self.ipsets.contains(&ipset) {
                        self.ipsets.push(ipset);
                    }
                }
            }
        }
    }
}

fn plan(
    rules: &Ruleset,
    opts: &RenderOptions,
    direction: Direction,
    peer_elem: &'static str,
) -> Plan {
    let descriptions: Descriptions = rules
        .selected
        .iter()
        .map(|e| (e.id.as_str(), e.description.as_str()))
        .collect();
    let mut p = Plan {
        direction,
        peer_elem,
        services: Vec::new(),
        ipsets: Vec::new(),
        body: Vec::new(),
    };
    let dir = direction.as_str();
    for (i, rule) in rules
        .rules
        .iter()
        .filter(|r| r.direction == direction)
        .enumerate()
    {
        let name = format!("fwgen-{dir}-{}", i + 1);
        // TCP and UDP get a service of their ports; ICMP rich rules name their types
        // themselves (see `Plan::family`).
        let service = match &rule.service {
            crate::model::Service::Tcp(p) => Some(("tcp", p)),
            crate::model::Service::Udp(p) => Some(("udp", p)),
            crate::model::Service::Icmp(_) => None,
        };
        if let Some((protocol, ports)) = service {
            p.services.push(Service {
                name: name.clone(),
                index: i + 1,
                description: describe(rules, &descriptions, rule),
                protocol,
                ports: ports.ranges().to_vec(),
                ftp: rule.is_ftp(),
            });
        }
        for f in Family::BOTH {
            p.family(rule, &name, f);
        }
    }
    if opts.log_drops {
        p.body.push(Element::Log);
    }
    p
}

/// A direction's files (services, ipsets) and the lines of its zone or policy body.
struct Built {
    files: Vec<(String, String)>,
    body: Vec<String>,
}

fn build(
    rules: &Ruleset,
    opts: &RenderOptions,
    direction: Direction,
    peer_elem: &'static str,
) -> Built {
    let plan = plan(rules, opts, direction, peer_elem);
    let dir = plan.direction.as_str();
    let mut files = Vec::new();
    for s in &plan.services {
        let mut svc = String::from("<service>\n");
        let _ = writeln!(
            svc,
            "  <short>{}</short>",
            xml_escape(&format!("fwgen {dir} {}", s.index))
        );
        let _ = writeln!(svc, "  <description>{}</description>", s.description);
        for r in &s.ports {
            let _ = writeln!(svc, "  <port protocol=\"{}\" port=\"{r}\"/>", s.protocol);
        }
        if s.ftp {
            svc.push_str("  <helper name=\"ftp\"/>\n");
        }
        svc.push_str("</service>\n");
        files.push((
            format!("services/{}.xml", s.name),
            xml_doc(rules, opts, &svc),
        ));
    }
    for set in &plan.ipsets {
        let (name, text) = match set {
            IpSet::Fixed { name, family, nets } => (name, ipset(name, family, nets)),
            IpSet::Dns {
                name,
                family,
                group,
            } => (name, dns_ipset(name, family, group)),
        };
        files.push((format!("ipsets/{name}.xml"), xml_doc(rules, opts, &text)));
    }
    let body = plan
        .body
        .iter()
        .map(|e| match e {
            Element::Service(name) => format!("<service name=\"{name}\"/>"),
            Element::Rule {
                family,
                set,
                service,
            } => format!(
                "<rule family=\"{family}\"><{} ipset=\"{set}\"/><service name=\"{service}\"/><accept/></rule>",
                plan.peer_elem
            ),
            Element::Icmp { family, set, icmp } => {
                let source = set.as_ref().map_or(String::new(), |set| {
                    format!("<{} ipset=\"{set}\"/>", plan.peer_elem)
                });
                format!(
                    "<rule family=\"{family}\">{source}<icmp-type name=\"{icmp}\"/><accept/></rule>"
                )
            }
            Element::Log => format!(
                "<rule priority=\"32767\"><log prefix=\"{}\" level=\"info\"><limit value=\"10/m\"/></log><{}/></rule>",
                xml_escape(&log_prefix(opts, dir, 100)),
                opts.policy.nft()
            ),
        })
        .collect();
    Built { files, body }
}

/// firewalld's name (its `icmptypes/` file) for ICMP message `n` (of one code, or every code)
/// of a family, if it has one (`Backend::render` refuses a message without one first).
pub(super) fn icmp_type_name(n: u8, code: Option<u8>, v6: bool) -> Option<&'static str> {
    let Some(code) = code else {
        return match crate::model::icmp_name(n, v6)? {
            "nd-neighbor-solicit" => Some("neighbour-solicitation"),
            "nd-neighbor-advert" => Some("neighbour-advertisement"),
            "nd-router-solicit" => Some("router-solicitation"),
            "nd-router-advert" => Some("router-advertisement"),
            "nd-redirect" => Some("redirect"),
            name => Some(name),
        };
    };
    Some(match (v6, n, code) {
        (false, 3, 0) => "network-unreachable",
        (false, 3, 1) => "host-unreachable",
        (false, 3, 2) => "protocol-unreachable",
        (false, 3, 3) | (true, 1, 4) => "port-unreachable",
        (false, 3, 4) => "fragmentation-needed",
        (false, 3, 5) => "source-route-failed",
        (false, 3, 6) => "network-unknown",
        (false, 3, 7) => "host-unknown",
        (false, 3, 9) => "network-prohibited",
        (false, 3, 10) => "host-prohibited",
        (false, 3, 11) => "tos-network-unreachable",
        (false, 3, 12) => "tos-host-unreachable",
        (false, 3, 13) | (true, 1, 1) => "communication-prohibited",
        (false, 3, 14) => "host-precedence-violation",
        (false, 3, 15) => "precedence-cutoff",
        (false, 5, 0) => "network-redirect",
        (false, 5, 1) => "host-redirect",
        (false, 5, 2) => "tos-network-redirect",
        (false, 5, 3) => "tos-host-redirect",
        (false, 11, 0) | (true, 3, 0) => "ttl-zero-during-transit",
        (false, 11, 1) | (true, 3, 1) => "ttl-zero-during-reassembly",
        (false, 12, 0) => "ip-header-bad",
        (false, 12, 1) => "required-option-missing",
        (true, 1, 0) => "no-route",
        (true, 1, 2) => "beyond-scope",
        (true, 1, 3) => "address-unreachable",
        (true, 1, 5) => "failed-policy",
        (true, 1, 6) => "reject-route",
        (true, 4, 0) => "bad-header",
        (true, 4, 1) => "unknown-header-type",
        (true, 4, 2) => "unknown-option",
        _ => return None,
    })
}

/// The HOST -> ANY policy's zones, and the ICMP a host must be able to send: without
/// neighbour discovery a DROP policy on the host's output cuts IPv6 off entirely (firewalld
/// allows ND inbound with its built-in `allow-host-ipv6` policy, but nothing outbound).
fn host_out_extra() -> Vec<String> {
    let mut v = vec![
        "<ingress-zone name=\"HOST\"/>".to_string(),
        "<egress-zone name=\"ANY\"/>".to_string(),
    ];
    for (family, types) in [
        (
            "ipv4",
            &[
                "destination-unreachable",
                "time-exceeded",
                "parameter-problem",
            ][..],
        ),
        (
            "ipv6",
            &[
                "destination-unreachable",
                "packet-too-big",
                "time-exceeded",
                "parameter-problem",
                "neighbour-solicitation",
                "neighbour-advertisement",
                "router-solicitation",
            ][..],
        ),
    ] {
        for t in types {
            v.push(format!(
                "<rule family=\"{family}\"><icmp-type name=\"{t}\"/><accept/></rule>"
            ));
        }
    }
    v
}

/// An ipset that the DNS forwarder fills at run time: no entries here, and a timeout (which
/// firewalld allows only for sets without permanent entries).
fn dns_ipset(name: &str, family: &str, group: &str) -> String {
    let mut s = String::from("<ipset type=\"hash:ip\">\n");
    let _ = writeln!(s, "  <short>{}</short>", xml_escape(name));
    let _ = writeln!(
        s,
        "  <description>{}</description>",
        xml_escape(&format!(
            "host group {group}: filled at run time by the DNS forwarder (dnsmasq nftset=/ipset=)"
        ))
    );
    let _ = writeln!(s, "  <option name=\"family\" value=\"{family}\"/>");
    let _ = writeln!(
        s,
        "  <option name=\"timeout\" value=\"{}\"/>",
        super::DNS_SET_TIMEOUT
    );
    s.push_str("</ipset>\n");
    s
}

fn ipset(name: &str, family: &str, nets: &[IpNet]) -> String {
    let mut s = String::from("<ipset type=\"hash:net\">\n");
    let _ = writeln!(s, "  <short>{}</short>", xml_escape(name));
    let _ = writeln!(s, "  <option name=\"family\" value=\"{family}\"/>");
    for n in nets {
        let _ = writeln!(s, "  <entry>{}</entry>", Shown(*n));
    }
    s.push_str("</ipset>\n");
    s
}

fn container(
    kind: &str,
    attrs: &str,
    short: &str,
    description: &str,
    extra: &[String],
    body: &[String],
) -> String {
    let mut s = format!("<{kind}{attrs}>\n");
    let _ = writeln!(s, "  <short>{}</short>", xml_escape(short));
    let _ = writeln!(
        s,
        "  <description>{}</description>",
        xml_escape(description)
    );
    for l in extra.iter().chain(body) {
        let _ = writeln!(s, "  {l}");
    }
    let _ = writeln!(s, "</{kind}>");
    s
}

/// Every file of the configuration, by path relative to the output directory, sorted.
pub(super) fn render(rules: &Ruleset, opts: &RenderOptions) -> Vec<(String, String)> {
    let what = format!(
        "{} {} ({})",
        rules.meta.product, rules.meta.version, rules.meta.component
    );
    let mut files = match opts.placement {
        Placement::Host => host_files(rules, opts, &what),
        Placement::Perimeter => perimeter_files(rules, opts, &what),
    };
    files.sort();
    // A DNS-filled set used by inbound and outbound rules is one file.
    files.dedup();
    files
}

/// Host placement: zone `fwgen` for inbound rules, policy `fwgen-out` (HOST -> ANY).
fn host_files(rules: &Ruleset, opts: &RenderOptions, what: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let inb = build(rules, opts, Direction::In, "source");
    let out = build(rules, opts, Direction::Out, "destination");
    let zone = container(
        "zone",
        &format!(" target=\"{}\"", opts.policy.upper()),
        "fwgen",
        &format!("Inbound connections of {what}"),
        &[],
        &inb.body,
    );
    files.push(("zones/fwgen.xml".to_string(), xml_doc(rules, opts, &zone)));
    let policy = container(
        "policy",
        &format!(" target=\"{}\" priority=\"-1\"", opts.policy.upper()),
        "fwgen-out",
        &format!("Outbound connections of {what}"),
        &host_out_extra(),
        &out.body,
    );
    files.push((
        "policies/fwgen-out.xml".to_string(),
        xml_doc(rules, opts, &policy),
    ));
    files.extend(inb.files);
    files.extend(out.files);
    files
}

/// Perimeter placement: zone `fwgen-gateway` and the policies to and from it.
fn perimeter_files(rules: &Ruleset, opts: &RenderOptions, what: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let sources: Vec<String> = rules
        .gateway
        .iter()
        .map(|g| format!("<source address=\"{g}\"/>"))
        .collect();
    let zone = container(
        "zone",
        "",
        "fwgen-gateway",
        &format!("The gateway: {what}"),
        &sources,
        &[],
    );
    files.push((
        "zones/fwgen-gateway.xml".to_string(),
        xml_doc(rules, opts, &zone),
    ));
    let inb = build(rules, opts, Direction::In, "source");
    let out = build(rules, opts, Direction::Out, "destination");
    // Traffic between two gateway addresses matches both policies: the one toward
    // the gateway goes first (priority -2), so the inbound rules decide it, as in
    // nftables and iptables.
    for (name, ingress, egress, built, dir, priority) in [
        ("fwgen-to-gw", "ANY", "fwgen-gateway", &inb, "to", -2),
        ("fwgen-from-gw", "fwgen-gateway", "ANY", &out, "from", -1),
    ] {
        let policy = container(
            "policy",
            &format!(
                " target=\"{}\" priority=\"{priority}\"",
                opts.policy.upper()
            ),
            name,
            &format!("Connections {dir} the gateway, {what}"),
            &[
                format!("<ingress-zone name=\"{ingress}\"/>"),
                format!("<egress-zone name=\"{egress}\"/>"),
            ],
            &built.body,
        );
        files.push((
            format!("policies/{name}.xml"),
            xml_doc(rules, opts, &policy),
        ));
    }
    files.extend(inb.files);
    files.extend(out.files);
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_never_hold_two_dashes_in_a_row() {
        for t in ["a--b", "a---b", "----", "x -->", "end-", "-"] {
            let c = comment_safe(t);
            assert!(!c.contains("--") && !c.ends_with('-'), "{t:?} -> {c:?}");
        }
        assert_eq!(comment_safe("a---b"), "a- - -b");
    }

    #[test]
    fn escapes_markup_and_drops_what_xml_cannot_hold() {
        assert_eq!(
            xml_escape("a<b>&\"c'\u{0}\u{1b}\n"),
            "a&lt;b&gt;&amp;&quot;c&apos; "
        );
    }
}
