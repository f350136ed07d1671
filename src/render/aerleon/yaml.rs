//! The Aerleon policy and definitions as documents: terms, filters, and the YAML they are
//! written as, every text from a catalogue or site file double-quoted (`text::yaml_quoted`).

use std::collections::BTreeMap;
use std::fmt::Write;

use ipnet::IpNet;

use crate::model::{PortSet, Protocol};
use crate::text::yaml_quoted;

use super::super::intern::Interner;
use super::super::perimeter::NetNames;

/// An address match of a term.
#[derive(Clone, Debug)]
pub(super) enum Addr {
    /// A network of the definitions.
    Net(String),
    /// FQDN networks (the SRX resolves them).
    Fqdn(Vec<String>),
}

/// One term before it is written.
#[derive(Clone, Debug, Default)]
pub(super) struct Term {
    pub(super) name: String,
    pub(super) comment: Vec<String>,
    pub(super) src: Option<Addr>,
    pub(super) dst: Option<Addr>,
    pub(super) sport: Option<String>,
    pub(super) dport: Option<String>,
    pub(super) protocol: Option<&'static str>,
    pub(super) icmp_types: Vec<&'static str>,
    pub(super) icmp_code: Option<u8>,
    pub(super) options: Vec<&'static str>,
    pub(super) source_interface: Option<&'static str>,
    pub(super) destination_interface: Option<&'static str>,
    pub(super) accept: bool,
    pub(super) logging: bool,
}

/// One filter: its header's targets and options, and its terms.
pub(super) struct Filter {
    pub(super) comment: String,
    pub(super) targets: Vec<(&'static str, String)>,
    pub(super) terms: Vec<Term>,
}

/// The policy file's text.
pub(super) fn policy_text(filters: &[Filter]) -> String {
    let mut s = String::from("filters:\n");
    for f in filters {
        s.push_str("  - header:\n");
        let _ = writeln!(s, "      comment: {}", yaml_quoted(&f.comment));
        s.push_str("      targets:\n");
        for (k, v) in &f.targets {
            let _ = writeln!(s, "        {k}: {v}");
        }
        s.push_str("    terms:\n");
        for t in &f.terms {
            term_text(&mut s, t);
        }
    }
    s
}

fn term_text(s: &mut String, t: &Term) {
    let _ = writeln!(s, "      - name: {}", t.name);
    if !t.comment.is_empty() {
        let _ = writeln!(s, "        comment: {}", yaml_quoted(&t.comment.join("\n")));
    }
    for (key, addr) in [("source", &t.src), ("destination", &t.dst)] {
        match addr {
            None => {}
            Some(Addr::Net(n)) => {
                let _ = writeln!(s, "        {key}-address: {n}");
            }
            Some(Addr::Fqdn(names)) => {
                let _ = writeln!(s, "        {key}-fqdn: {}", names.join(" "));
            }
        }
    }
    if let Some(i) = t.source_interface {
        let _ = writeln!(s, "        source-interface: {i}");
    }
    if let Some(i) = t.destination_interface {
        let _ = writeln!(s, "        destination-interface: {i}");
    }
    if let Some(p) = &t.sport {
        let _ = writeln!(s, "        source-port: {p}");
    }
    if let Some(p) = &t.dport {
        let _ = writeln!(s, "        destination-port: {p}");
    }
    if let Some(p) = t.protocol {
        let _ = writeln!(s, "        protocol: {p}");
    }
    if !t.icmp_types.is_empty() {
        let _ = writeln!(s, "        icmp-type: [{}]", t.icmp_types.join(", "));
    }
    if let Some(c) = t.icmp_code {
        let _ = writeln!(s, "        icmp-code: [{c}]");
    }
    if !t.options.is_empty() {
        let _ = writeln!(s, "        option: [{}]", t.options.join(", "));
    }
    let _ = writeln!(
        s,
        "        action: {}",
        if t.accept { "accept" } else { "deny" }
    );
    if t.logging {
        s.push_str("        logging: true\n");
    }
}

/// The definitions file's text.
pub(super) fn definitions(
    nets: &NetNames,
    fqdn: &BTreeMap<String, Vec<String>>,
    services: &Interner<(Protocol, PortSet)>,
) -> String {
    let mut s = String::from("networks:\n");
    for (name, nets) in nets.iter() {
        let _ = writeln!(s, "  {name}:\n    values:");
        for n in nets {
            let n = match n {
                IpNet::V4(v) => IpNet::V4(v.trunc()),
                IpNet::V6(v) => IpNet::V6(v.trunc()),
            };
            let _ = writeln!(s, "      - address: {n}");
        }
    }
    for (name, hosts) in fqdn {
        let _ = writeln!(s, "  {name}:\n    values:");
        for h in hosts {
            let _ = writeln!(s, "      - fqdn: {}", yaml_quoted(h));
        }
    }
    if nets.iter().len() == 0 && fqdn.is_empty() {
        s = "networks: {}\n".to_string();
    }
    if services.is_empty() {
        s.push_str("services: {}\n");
        return s;
    }
    s.push_str("services:\n");
    for (name, (protocol, ports)) in services.iter() {
        let _ = writeln!(s, "  {name}:");
        for p in ports.ranges() {
            let _ = writeln!(s, "    - port: {p}\n      protocol: {protocol}");
        }
    }
    s
}
