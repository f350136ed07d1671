//! Cisco ASA: the plan printed as `access-list NAME extended` lines with network and
//! service object groups, FQDN objects for names the firewall resolves, and the
//! `access-group` bindings.

use super::*;

/// ASA: `access-group` lines: the list from the gateway inbound on its interface, the list
/// to the gateway inbound on each interface traffic to it arrives on.
pub(super) fn asa_bindings(list: &dyn Fn(&str) -> Option<String>, o: &CiscoOptions) -> Vec<String> {
    let interface = o.interface.as_deref().unwrap_or("dmz");
    let ingress: Vec<&str> = if o.ingress.is_empty() {
        vec!["outside"]
    } else {
        o.ingress.iter().map(String::as_str).collect()
    };
    let mut lines = Vec::new();
    if let Some(from) = list("FWGEN-FROM-GW") {
        lines.push(format!("access-group {from} in interface {interface}"));
    }
    if let Some(to) = list("FWGEN-TO-GW") {
        for i in ingress {
            lines.push(format!("access-group {to} in interface {i}"));
        }
    }
    lines
}

/// ASA: returns the configuration and warnings.
pub(super) fn render_asa(rules: &Ruleset, opts: &RenderOptions) -> crate::render::Rendered {
    let mut groups = Groups::default();
    let mut body = String::new();
    let ftp = !ftp_entries(rules).is_empty();
    for toward in [true, false] {
        asa_list(&mut body, rules, opts, &mut groups, toward, ftp);
    }
    let mut out = String::new();
    if !groups.fqdn.is_empty() {
        fqdn_objects(&mut out, rules, &groups);
    }
    for (name, nets) in groups.nets.iter() {
        let _ = writeln!(out, "object-group network {name}");
        for n in nets {
            match n {
                IpNet::V4(v) if v.prefix_len() == 32 => {
                    let _ = writeln!(out, " network-object host {}", Shown(v.addr()));
                }
                IpNet::V6(v) if v.prefix_len() == 128 => {
                    let _ = writeln!(out, " network-object host {}", v.addr());
                }
                IpNet::V4(v) => {
                    let _ = writeln!(
                        out,
                        " network-object {} {}",
                        Shown(v.network()),
                        Shown(v.netmask())
                    );
                }
                IpNet::V6(_) => {
                    let _ = writeln!(out, " network-object {n}");
                }
            }
        }
    }
    for (name, (protocol, ports)) in groups.svcs.iter() {
        let _ = writeln!(out, "object-group service {name} {protocol}");
        for p in ports.ranges() {
            let _ = writeln!(out, " port-object {}", port_spec(*p));
        }
    }
    out.push_str(&body);
    // The copies of a large configuration add up: each is dropped as soon as it is copied.
    drop(body);
    crate::render::Rendered::file(finish(rules, opts, Dialect::Asa, out))
}

/// How to bind the ASA's lists, and why: an ASA admits a connection by the inbound list of
/// the interface it arrives on (or a global one); an outbound list on the gateway's
/// interface only filters what was admitted, so traffic from a lower security level (the
/// Internet toward the DMZ) would still be dropped with `out interface dmz`.
pub(super) const ASA_BINDING: &str = "! Binding: the ASA admits a connection by the inbound access list of the interface it\n\
! arrives on (or a global one); an outbound list only filters what was admitted, so the\n\
! list to the gateway bound outbound on the gateway's interface would not admit traffic\n\
! from a lower security level. So the list from the gateway goes inbound on the gateway's\n\
! interface (--interface, dmz above without it), the list to the gateway inbound on every\n\
! interface that traffic to it arrives on (--ingress-interface, outside above without it).\n\
! Each list ends by denying the gateway's other traffic and permitting what does not\n\
! involve the gateway. An interface has one inbound list: where one is bound already, put\n\
! these entries, without the final permit, in front of its own.\n!\n";

/// One ASA access list (both families), then its final entry.
pub(super) fn asa_list(
    body: &mut String,
    rules: &Ruleset,
    opts: &RenderOptions,
    groups: &mut Groups,
    toward: bool,
    ftp: bool,
) {
    let name = if toward {
        "FWGEN-TO-GW"
    } else {
        "FWGEN-FROM-GW"
    };
    let mut entries: Vec<(Vec<String>, Vec<Ace>)> = Vec::new();
    for family in Family::BOTH {
        if family.filter(&rules.gateway).is_empty() {
            continue;
        }
        entries.extend(plan(rules, family, toward, Dialect::Asa));
    }
    // One ACE per rule and family; the ASA's `any` covers both families, so an `any` rule is
    // written once.
    let mut seen = std::collections::BTreeSet::new();
    for (remarks, aces) in entries {
        let lines: Vec<String> = aces
            .iter()
            .map(|a| {
                ace_text(
                    &widen_gateway(a, rules, toward),
                    groups,
                    Dialect::Asa,
                    toward,
                )
            })
            .filter(|l| seen.insert(l.clone()))
            .collect();
        if lines.is_empty() {
            continue;
        }
        for text in remarks {
            let _ = writeln!(body, "access-list {name} remark {text}");
        }
        for l in lines {
            let _ = writeln!(body, "access-list {name} extended {l}");
        }
    }
    if ftp {
        let _ = writeln!(
            body,
            "access-list {name} remark FTP data connections: the default inspect ftp policy opens them"
        );
    }
    let gw = side(
        &Side::Nets(rules.gateway.clone()),
        groups,
        Dialect::Asa,
        true,
        None,
    );
    final_entry(
        body,
        &format!("access-list {name} "),
        "extended ",
        "ip",
        &[gw],
        toward,
        opts,
    );
}

/// The FQDN objects the lists use, with how to turn DNS lookups on, and their groups.
pub(super) fn fqdn_objects(out: &mut String, rules: &Ruleset, groups: &Groups) {
    out.push_str(
        "! FQDN objects: the ASA resolves these names itself (8.4(2) or later). It needs DNS\n\
         ! lookups on the interface that reaches the resolver the gateway uses (here inside):\n\
         !  dns domain-lookup inside\n\
         !  dns server-group DefaultDNS\n\
         !   name-server ADDRESS-OF-THE-GATEWAYS-RESOLVER\n\
         ! The ASA looks a name up when an access list uses it, again every `dns poll-timer`\n\
         ! (240 minutes by default) and when the answer's TTL expires (`dns expire-entry-timer`);\n\
         ! an ACE whose names do not resolve is inactive. `show dns-hosts` lists the answers.\n!\n",
    );
    let hosts_of = |g: &str| {
        rules
            .dns_groups
            .iter()
            .find(|d| d.group == g)
            .map(|d| d.hosts.clone())
            .unwrap_or_default()
    };
    // Only the families the gateway has: the lists hold no other.
    let families: Vec<Family> = Family::BOTH
        .into_iter()
        .filter(|f| !f.filter(&rules.gateway).is_empty())
        .collect();
    let mut defined = std::collections::BTreeSet::new();
    for (_, ids) in groups.fqdn.iter() {
        for h in ids.iter().flat_map(|g| hosts_of(g)) {
            for f in families.iter().copied() {
                let name = fqdn_object_name(&h, f);
                if defined.insert(name.clone()) {
                    let _ = writeln!(
                        out,
                        "object network {name}\n fqdn {} {}",
                        f.suffix(),
                        crate::names::host_key(&h)
                    );
                }
            }
        }
    }
    for (name, ids) in groups.fqdn.iter() {
        let _ = writeln!(out, "object-group network {name}");
        let _ = writeln!(
            out,
            " description fwgen: host group {}, resolved by the ASA",
            ids.join(", ")
        );
        for h in ids.iter().flat_map(|g| hosts_of(g)) {
            for f in families.iter().copied() {
                let _ = writeln!(out, " network-object object {}", fqdn_object_name(&h, f));
            }
        }
    }
}

/// ASA: the gateway side names every gateway address (both families) in one group, so one
/// ACE covers both families when the remote is `any`.
pub(super) fn widen_gateway(a: &Ace, rules: &Ruleset, toward: bool) -> Ace {
    let mut a = a.clone();
    let all = Side::Nets(rules.gateway.clone());
    let remote_any = if toward {
        a.src == Side::Any
    } else {
        a.dst == Side::Any
    };
    if remote_any {
        if toward {
            a.dst = all;
        } else {
            a.src = all;
        }
    }
    a
}
