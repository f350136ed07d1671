//! `--dnsmasq FILE`: the configuration of the DNS forwarder that fills the sets of host groups
//! resolved at run time (`--names fqdn`), for the firewall syntax being generated.
//!
//! dnsmasq 2.87 or later puts every A and AAAA answer for the listed names (and their
//! subdomains) into existing sets: `nftset=/NAME/…/4#inet#TABLE#SET,6#inet#TABLE#SET` for
//! nftables, `ipset=/NAME/…/SET4,SET6` for ipsets. The sets must exist first (load the
//! ruleset, then start or reload dnsmasq), and the gateway must resolve through this dnsmasq.

use std::fmt::Write;

use crate::names::DnsGroup;
use crate::ruleset::Ruleset;

use super::comment::header_lines;
use super::{Backend, Family, RenderError, RenderOptions, dns_ipset_name};

/// What a backend with DNS-filled sets tells the forwarder (see [`super::Description`]).
#[derive(Debug)]
pub struct Forwarder {
    /// Lines for the configuration's header about the platform (may be empty).
    pub note: &'static str,
    /// The configuration lines for one host group.
    pub lines: fn(&DnsGroup) -> String,
}

/// The forwarder's configuration for `backend`, or why that backend has none.
pub fn render(
    backend: Backend,
    rules: &Ruleset,
    opts: &RenderOptions,
) -> Result<String, RenderError> {
    let unsupported = |what: &str| RenderError::Unsupported {
        backend: backend.name(),
        what: what.to_string(),
    };
    if rules.dns_groups.is_empty() {
        return Err(unsupported(
            "a DNS forwarder configuration (--dnsmasq) without host groups resolved at run time: \
             use --names fqdn, or `names: {GROUP: fqdn}` in the site file",
        ));
    }
    let Some(forwarder) = &backend.description().forwarder else {
        return Err(unsupported(
            "a DNS forwarder configuration (--dnsmasq): only nftables, iptables and firewalld \
             match sets that DNS fills (the ASA resolves its FQDN objects itself)",
        ));
    };
    let mut out = String::new();
    for l in header_lines(rules, opts) {
        let _ = writeln!(out, "# {l}");
    }
    out.push_str(
        "# dnsmasq (2.87 or later) on the firewall's host, the forwarder the gateway resolves through:\n\
         # every A and AAAA answer for these names (and their subdomains) goes into the ruleset's\n\
         # sets, where it stays for the set's timeout. Load the ruleset first (the sets must exist),\n\
         # then start or reload dnsmasq with this file (conf-file= or /etc/dnsmasq.d/).\n\
         # The gateway must use this forwarder only: CDNs answer by resolver, and DNS over HTTPS\n\
         # would bypass it.\n",
    );
    out.push_str(forwarder.note);
    for g in &rules.dns_groups {
        let _ = writeln!(out, "# host group {}", g.group);
        out.push_str(&(forwarder.lines)(g));
    }
    Ok(out)
}

/// `/name1/name2`: the names of a group as dnsmasq matches them (with their subdomains).
pub fn names(g: &DnsGroup) -> String {
    g.hosts
        .iter()
        .map(|h| format!("/{}", crate::names::host_key(h)))
        .collect()
}

/// `nftset=/NAMES/4#inet#TABLE#SET4,6#inet#TABLE#SET6`.
pub fn nftset(g: &DnsGroup, table: &str, set: fn(&str, Family) -> String) -> String {
    format!(
        "nftset={}/4#inet#{table}#{},6#inet#{table}#{}\n",
        names(g),
        set(&g.group, Family::V4),
        set(&g.group, Family::V6)
    )
}

/// `ipset=/NAMES/SET4,SET6` with the ipsets that iptables and firewalld use.
pub fn ipset(g: &DnsGroup) -> String {
    format!(
        "ipset={}/{},{}\n",
        names(g),
        dns_ipset_name(&g.group, Family::V4),
        dns_ipset_name(&g.group, Family::V6)
    )
}
