//! Cisco IOS: the plan printed as extended access lists (numbered sequence entries,
//! IPv6 lists apart, return entries for a stateless router) with their interface bindings.

use super::*;

/// IOS: returns the configuration and warnings.
pub(super) fn render_ios(rules: &Ruleset, opts: &RenderOptions) -> crate::render::Rendered {
    let mut warnings = Vec::new();
    let mut groups = Groups::default();
    let mut body = String::new();
    let ftp = ftp_entries(rules);
    if !ftp.is_empty() {
        warnings.push(format!(
            "cisco-ios: a stateless ACL cannot follow FTP data connections of {}; the control connection is permitted, \
             enable FTP inspection on the router (ip inspect or a zone-based firewall) for the data connections",
            ftp.join(", ")
        ));
    }
    for family in Family::BOTH {
        if family.filter(&rules.gateway).is_empty() {
            continue;
        }
        for toward in [true, false] {
            ios_list(
                &mut body,
                rules,
                opts,
                &mut groups,
                family,
                toward,
                !ftp.is_empty(),
            );
        }
    }
    let mut out = String::new();
    for (name, nets) in groups.nets.iter() {
        let _ = writeln!(out, "object-group network {name}");
        for n in nets {
            match n {
                IpNet::V4(v) if v.prefix_len() == 32 => {
                    let _ = writeln!(out, " host {}", Shown(v.addr()));
                }
                IpNet::V4(v) => {
                    let _ = writeln!(out, " {} {}", Shown(v.network()), Shown(v.netmask()));
                }
                // IOS object groups are built from IPv4 ACEs only: IPv6 ACEs list prefixes.
                IpNet::V6(_) => {}
            }
        }
        out.push_str("!\n");
    }
    out.push_str(&body);
    // The copies of a large configuration add up: each is dropped as soon as it is copied.
    drop(body);
    crate::render::Rendered {
        output: crate::render::Output::Single(finish(rules, opts, Dialect::Ios, out)),
        warnings,
    }
}

/// What an IOS list slot is bound as: `ip access-group` for IPv4, `ipv6 traffic-filter`,
/// and its direction on the interface that faces the gateway.
pub(super) fn ios_slot(slot: &str) -> (&'static str, &'static str) {
    let command = if slot.ends_with("-V6") {
        "ipv6 traffic-filter"
    } else {
        "ip access-group"
    };
    let direction = if slot.starts_with("FWGEN-TO-GW") {
        "out"
    } else {
        "in"
    };
    (command, direction)
}

/// IOS: the interface block that binds this generation's lists, and unbinds a removed list
/// whose slot this generation leaves empty (the gateway lost its IPv6 address).
pub(super) fn ios_bindings(
    list: &dyn Fn(&str) -> Option<String>,
    succession: &generation::Succession,
) -> Vec<String> {
    let mut lines = Vec::new();
    for slot in [
        "FWGEN-TO-GW",
        "FWGEN-FROM-GW",
        "FWGEN-TO-GW-V6",
        "FWGEN-FROM-GW-V6",
    ] {
        let (command, direction) = ios_slot(slot);
        if let Some(name) = list(slot) {
            lines.push(format!(" {command} {name} {direction}"));
        } else if let Some(old) = succession
            .removed_lists()
            .find(|d| generation::base(&d.name) == slot)
        {
            lines.push(format!(" no {command} {} {direction}", old.name));
        }
    }
    lines
}

/// What an IOS list filters, and how to combine it with a list of one's own.
pub(super) const IOS_SCOPE: &str = "! Each list ends by denying the gateway's other traffic and permitting what does not\n\
! involve the gateway. Where the interface has a list already, put these entries,\n\
! without the final permit, in front of its own.\n!\n";

/// One IOS access list: the rules' ACEs, then ICMP and the final entry.
pub(super) fn ios_list(
    body: &mut String,
    rules: &Ruleset,
    opts: &RenderOptions,
    groups: &mut Groups,
    family: Family,
    toward: bool,
    ftp: bool,
) {
    let name = match (toward, family) {
        (true, Family::V4) => "FWGEN-TO-GW",
        (false, Family::V4) => "FWGEN-FROM-GW",
        (true, Family::V6) => "FWGEN-TO-GW-V6",
        (false, Family::V6) => "FWGEN-FROM-GW-V6",
    };
    let kind = match family {
        Family::V4 => "ip access-list extended",
        Family::V6 => "ipv6 access-list",
    };
    let _ = writeln!(body, "{kind} {name}");
    for (remarks, aces) in plan(rules, family, toward, Dialect::Ios) {
        for text in remarks {
            let _ = writeln!(body, " remark {text}");
        }
        for a in &aces {
            let line = if family == Family::V6 {
                ace_v6(a)
            } else {
                ace_text(a, groups, Dialect::Ios, toward)
            };
            let _ = writeln!(body, " {line}");
        }
    }
    if ftp {
        let _ = writeln!(
            body,
            " remark FTP data connections need FTP inspection on the router"
        );
    }
    ios_tail(body, rules, opts, groups, family, toward);
    body.push_str("!\n");
}

/// The end of an IOS list: the ICMP a host needs, then the final entries.
pub(super) fn ios_tail(
    body: &mut String,
    rules: &Ruleset,
    opts: &RenderOptions,
    groups: &mut Groups,
    family: Family,
    toward: bool,
) {
    match family {
        Family::V4 => {
            let g = side(
                &Side::Nets(family.filter(&rules.gateway)),
                groups,
                Dialect::Ios,
                true,
                None,
            );
            let _ = writeln!(
                body,
                " remark ICMP errors (unreachable, PMTU discovery, time exceeded)"
            );
            for t in ["unreachable", "time-exceeded"] {
                if toward {
                    let _ = writeln!(body, " permit icmp any {g} {t}");
                } else {
                    let _ = writeln!(body, " permit icmp {g} any {t}");
                }
            }
            final_entry(body, " ", "", "ip", &[g], toward, opts);
        }
        Family::V6 => {
            let _ = writeln!(body, " remark ICMPv6 errors and neighbour discovery");
            for t in [
                "unreachable",
                "packet-too-big",
                "time-exceeded",
                "parameter-problem",
                "nd-na",
                "nd-ns",
            ] {
                let _ = writeln!(body, " permit icmp any any {t}");
            }
            let gws: Vec<String> = family
                .filter(&rules.gateway)
                .iter()
                .map(|n| {
                    if n.prefix_len() == 128 {
                        format!("host {}", n.addr())
                    } else {
                        n.to_string()
                    }
                })
                .collect();
            final_entry(body, " ", "", "ipv6", &gws, toward, opts);
        }
    }
}

/// An IPv6 ACE: prefixes, no wildcards, no object groups (one ACE per prefix pair).
pub(super) fn ace_v6(a: &Ace) -> String {
    let side = |s: &Side| -> Vec<String> {
        match s {
            Side::Any => vec!["any".into()],
            // IOS takes no names: `Backend::render` refuses such a ruleset first.
            Side::Fqdn(_) => Vec::new(),
            Side::Nets(nets) => nets
                .iter()
                .map(|n| {
                    if n.prefix_len() == 128 {
                        format!("host {}", n.addr())
                    } else {
                        n.to_string()
                    }
                })
                .collect(),
        }
    };
    let mut lines = Vec::new();
    for src in side(&a.src) {
        for dst in side(&a.dst) {
            let mut s = ace_line(a, &src, &dst, Dialect::Ios);
            if a.reply && a.protocol == Protocol::Tcp {
                s.push_str(" established");
            }
            lines.push(s);
        }
    }
    lines.join("\n ")
}
