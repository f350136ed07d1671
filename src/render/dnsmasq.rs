//! `--dnsmasq FILE`: the configuration of the DNS forwarder that fills the sets of host groups
//! resolved at run time (`--names fqdn`), for the firewall syntax being generated.
//!
//! dnsmasq 2.87 or later puts every A and AAAA answer for the listed names (and their
//! subdomains) into existing sets: `nftset=/NAME/…/4#inet#TABLE#SET,6#inet#TABLE#SET` for
//! nftables, `ipset=/NAME/…/SET4,SET6` for ipsets. The sets must exist first (load the
//! ruleset, then start or reload dnsmasq), and the gateway must resolve through this dnsmasq.

use std::fmt::Write;

use crate::ruleset::Ruleset;

use super::comment::header_lines;
use super::{Backend, Family, RenderError, RenderOptions, dns_ipset_name};

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
    if !matches!(
        backend,
        Backend::Nftables | Backend::Iptables | Backend::Firewalld
    ) {
        return Err(unsupported(
            "a DNS forwarder configuration (--dnsmasq): only nftables, iptables and firewalld \
             match sets that DNS fills (the ASA resolves its FQDN objects itself)",
        ));
    }
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
    if backend == Backend::Firewalld {
        out.push_str(
            "# firewalld rebuilds its sets on `firewall-cmd --reload`: they are empty afterwards.\n\
             # Clear this dnsmasq's cache then (`kill -HUP` its process), so that the gateway's next\n\
             # lookups go upstream and fill them again. (firewalld's nftables backend also creates\n\
             # the sets without the timeout: an element stays until the next reload.)\n",
        );
    }
    for g in &rules.dns_groups {
        let _ = writeln!(out, "# host group {}", g.group);
        out.push_str(&group_lines(backend, g));
    }
    Ok(out)
}

/// The configuration lines for one host group: its names, then the sets their answers go
/// into (`nftset=` for nftables and firewalld's nftables backend, `ipset=` for ipsets).
fn group_lines(backend: Backend, g: &crate::names::DnsGroup) -> String {
    let names: String = g
        .hosts
        .iter()
        .map(|h| format!("/{}", crate::names::lock::key(h)))
        .collect();
    let ipsets = format!(
        "{},{}",
        dns_ipset_name(&g.group, Family::V4),
        dns_ipset_name(&g.group, Family::V6)
    );
    let nftset = |table: &str, name: &dyn Fn(Family) -> String| {
        format!(
            "nftset={names}/4#inet#{table}#{},6#inet#{table}#{}\n",
            name(Family::V4),
            name(Family::V6)
        )
    };
    match backend {
        Backend::Iptables => format!("ipset={names}/{ipsets}\n"),
        Backend::Firewalld => format!(
            "# (firewalld with FirewallBackend=iptables: ipset={names}/{ipsets})\n{}",
            nftset("firewalld", &|f| dns_ipset_name(&g.group, f))
        ),
        _ => nftset("fwgen", &|f| super::nftables::dns_set_name(&g.group, f)),
    }
}
