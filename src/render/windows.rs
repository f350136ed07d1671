//! `--backend windows`: a PowerShell script for the Windows Firewall of a Windows host of the
//! product (the Exchange Server of the Exchange Gateway), host placement only.
//!
//! ```text
//! Remove-NetFirewallRule -Group 'fwgen exchange-gateway exchange-server' -ErrorAction 'SilentlyContinue'
//! New-NetFirewallRule -Name 'fwgen-exchange-gateway-exchange-server-1' `
//!     -DisplayName 'fwgen exchange-server: in tcp 23953 (sxg-interceptors)' `
//!     -Group 'fwgen exchange-gateway exchange-server' -Direction 'Inbound' -Protocol 'TCP' `
//!     -LocalPort '23953' -RemoteAddress '198.51.100.60' -Action 'Allow' -Profile 'Any' ...
//! ```
//!
//! Re-running the script replaces exactly the rules of its group (fwgen's own, for this
//! product and component) and nothing else; it never changes a profile's default actions.
//!
//! Every argument is a single-quoted literal (PowerShell expands nothing in those), with `'`
//! doubled, and the whole script is ASCII: Windows PowerShell 5.1 reads a script without a
//! byte-order mark in the ANSI code page, where the bytes of a UTF-8 character can read as
//! `‘` or `’`, which PowerShell also takes for single quotes. So text from a catalogue or a
//! site file can never end a string early: non-ASCII characters become `?`. Lists are quoted
//! items (`'Domain','Private'`), never barewords.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::{Direction, Platform, Service};
use crate::ruleset::{Remote, Rule, Ruleset};

use super::comment::header_lines;
use super::{Placement, RenderOptions};
use crate::text::{ascii, flatten, powershell_literal as literal};

/// The longest `-Description` fwgen writes, in bytes (before quotes are doubled).
pub(super) const DESCRIPTION_MAX: usize = 1000;

pub(super) const DESCRIPTION: super::Description = super::Description {
    name: "windows",
    kind: super::Kind::Firewall,
    shape: super::Shape::File,
    file_name: "windows-firewall.ps1",
    placements: &[Placement::Host],
    placement_note: "the Windows Firewall filters the Windows host's own connections; for a \
                     firewall in front of it use nftables, iptables, firewalld or a Cisco backend",
    needs_gateway: false,
    host_platforms: &[Platform::Windows],
    // The script adds allow rules to the host's firewall; its default actions stay.
    replaces_policy: false,
    comment_max: Some(DESCRIPTION_MAX),
    never_emits: &['\n', '\r'],
    names_note: Some(
        "Windows Firewall rules take addresses only. Bind the host group with a lock file \
         (`fwgen resolve`, then --lock), an ip-ranges file or the site file",
    ),
    icmp: super::IcmpSyntax::Numbers,
    forwarder: None,
    render: |rules, opts| super::Rendered::file(render(rules, opts)),
    previous: None,
    check: None,
};

/// A Windows Firewall profile (`-Profile`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Profile {
    /// Every profile
    Any,
    /// Networks with a domain controller of the host's domain
    Domain,
    /// Networks marked private
    Private,
    /// Networks marked public
    Public,
}

impl Profile {
    /// The value as the cmdlet takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "Any",
            Self::Domain => "Domain",
            Self::Private => "Private",
            Self::Public => "Public",
        }
    }
}

/// Options of the Windows Firewall script.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowsOptions {
    /// The profiles the rules apply in; empty = `Any`.
    pub profiles: Vec<Profile>,
    /// A policy store for `-PolicyStore` (a GPO: `domain\GPO name`); `None` = the local
    /// computer's persistent store.
    pub policy_store: Option<String>,
}

impl WindowsOptions {
    /// The profiles, sorted, without repeats; `Any` when none or `Any` is given.
    pub fn profile_list(&self) -> Vec<Profile> {
        let mut p = self.profiles.clone();
        p.sort();
        p.dedup();
        if p.is_empty() || p.contains(&Profile::Any) {
            vec![Profile::Any]
        } else {
            p
        }
    }
}

/// A policy store must reach the script as given: printable ASCII (the script is ASCII, so
/// another character would name another store), not empty, within 1,000 bytes.
pub(super) fn check_policy_store(store: &str) -> Result<(), String> {
    let bad = store.chars().find(|c| !(*c == ' ' || c.is_ascii_graphic()));
    match bad {
        _ if store.trim().is_empty() => Err("policy store: empty; give `domain\\GPO name`, \
             or leave it out for the computer's own store"
            .to_string()),
        Some(c) => Err(format!(
            "policy store: {c:?} is not printable ASCII; the script is ASCII (Windows PowerShell \
             5.1 reads it in the ANSI code page), so it could not name the store as given"
        )),
        None if store.len() > DESCRIPTION_MAX => Err(format!(
            "policy store: {} bytes; at most {DESCRIPTION_MAX}",
            store.len()
        )),
        None => Ok(()),
    }
}

/// A list of literals: `'a','b'`.
fn list<I: IntoIterator<Item = String>>(items: I) -> String {
    items
        .into_iter()
        .map(|i| literal(&i, DESCRIPTION_MAX))
        .collect::<Vec<_>>()
        .join(",")
}

/// The group every rule of this product and component belongs to: what the next run
/// removes. Not the version or the features: an upgrade or a new feature set replaces the
/// rules of the one before.
pub(super) fn group(rules: &Ruleset) -> String {
    format!("fwgen {} {}", rules.meta.product, rules.meta.component)
}

/// Stands for the generation in the rules' text until their digest names it.
const GENERATION: &str = "@GENERATION@";

/// The script: this generation's rules created first, in a group named by their content, and
/// only then the earlier generations' rules removed, so that a creation that fails (the
/// script stops on the first error) leaves the rules in force that were in force.
fn render(rules: &Ruleset, opts: &RenderOptions) -> String {
    let w = &opts.windows;
    let prefix = group(rules);
    let store = w
        .policy_store
        .as_ref()
        .map(|p| format!(" -PolicyStore {}", literal(p, DESCRIPTION_MAX)))
        .unwrap_or_default();
    let common = Common {
        group: literal(&format!("{prefix} {GENERATION}"), DESCRIPTION_MAX),
        profiles: list(w.profile_list().iter().map(|p| p.as_str().to_string())),
        store: store.clone(),
    };
    let descriptions = descriptions(rules);
    let mut body = String::new();
    for (i, rule) in rules.rules.iter().enumerate() {
        let name = format!(
            "fwgen-{}-{}-{GENERATION}-{}",
            rules.meta.product,
            rules.meta.component,
            i + 1
        );
        new_rule(&mut body, rules, rule, &name, &common, &descriptions);
    }
    // The generation: 8 hex digits of the SHA-256 of what the rules match and do, so the same
    // rules give the same group and names, and other rules another (their titles and
    // descriptions, text from the catalogue and the site, do not count).
    use sha2::Digest;
    let matching: String = body
        .lines()
        .filter(|l| {
            !l.starts_with('#')
                && !l.trim_start().starts_with("-DisplayName '")
                && !l.trim_start().starts_with("-Description '")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let digest = crate::text::hex(&sha2::Sha256::digest(matching.as_bytes()));
    let generation = digest.get(..8).unwrap_or_default();
    let body = body.replace(GENERATION, generation);
    let current = format!("{prefix} {generation}");
    let mut s = header(rules, opts, (&prefix, &current));
    s.push_str("$ErrorActionPreference = 'Stop'\n\n");
    s.push_str("# 1. What an interrupted run of this very script left of its generation.\n");
    let _ = writeln!(
        s,
        "Remove-NetFirewallRule -Group {}{store} -ErrorAction 'SilentlyContinue' -WhatIf:$DryRun",
        literal(&current, DESCRIPTION_MAX)
    );
    s.push_str("\n# 2. This generation's rules.\n");
    s.push_str(&body);
    s.push_str(
        "\n# 3. The earlier generations' rules (and those of fwgen's scripts before generations),\n\
         # once every rule above exists.\n",
    );
    s.push_str(&removal(&prefix, &current, &store));
    s
}

/// The last statement: every rule of the product and component's groups but this
/// generation's, removed.
fn removal(prefix: &str, current: &str, store: &str) -> String {
    let all = list([prefix.to_string(), format!("{prefix} *")]);
    format!(
        "Get-NetFirewallRule -Group {all}{store} -ErrorAction 'SilentlyContinue' | Where-Object {{ $_.Group -ne {} }} | Remove-NetFirewallRule -WhatIf:$DryRun\n",
        literal(current, DESCRIPTION_MAX)
    )
}

/// Where each entry comes from, in ASCII: the document's own words where they are ASCII,
/// else its file, line and (transcribed) direction cell.
fn descriptions(rules: &Ruleset) -> BTreeMap<&str, (&str, String)> {
    rules
        .selected
        .iter()
        .map(|e| {
            let read = e
                .read_as()
                .map(|(d, _)| format!(" (written {}, read {d})", e.written))
                .unwrap_or_default();
            let source = if e.source.is_ascii() {
                format!("{}{read}", e.source)
            } else if read.is_empty() {
                format!(
                    "document {} line {}, written {}",
                    rules.meta.document, e.line, e.written
                )
            } else {
                format!("document {} line {}{read}", rules.meta.document, e.line)
            };
            (e.id.as_str(), (e.description.as_str(), source))
        })
        .collect()
}

/// The arguments every rule shares, as literals.
struct Common {
    group: String,
    profiles: String,
    /// ` -PolicyStore '…'`, or nothing.
    store: String,
}

/// The header: what was generated from what (as every backend says it), then how to run
/// the script, what it changes and what it leaves alone.
fn header(rules: &Ruleset, opts: &RenderOptions, (prefix, current): (&str, &str)) -> String {
    let w = &opts.windows;
    let mut s = String::new();
    for l in header_lines(rules, opts) {
        let _ = writeln!(s, "# {}", ascii(&flatten(&l, 1000, &[])));
    }
    let store = w.policy_store.as_deref().map_or_else(
        || "the computer's own store".to_string(),
        |p| format!("the policy store {p}"),
    );
    let profiles: Vec<&str> = w.profile_list().iter().map(|p| p.as_str()).collect();
    // The file as written (`-o`), or its usual name.
    let file = ascii(&flatten(
        opts.output_name.as_deref().unwrap_or(DESCRIPTION.file_name),
        200,
        &['\'', '"', '`'],
    ));
    // fwgen's own words, one sentence to a line; the group and store are ASCII (ids, and a
    // store checked before rendering), and go through `ascii` all the same.
    for l in [
        String::new(),
        format!(
            "Windows Firewall rules for {}. Run in an elevated PowerShell (Windows PowerShell 5.1 \
             or 7, module NetSecurity):",
            rules.meta.host()
        ),
        format!("  powershell.exe -NoProfile -ExecutionPolicy Bypass -File {file}"),
        format!(
            "  powershell.exe -NoProfile -ExecutionPolicy Bypass -File {file} -DryRun   (lists \
             what it would change, by PowerShell's -WhatIf, and changes nothing)"
        ),
        format!(
            "What it changes: it creates the {} rules of the group '{current}' (this generation, \
             named after the rules' digest) in {store}, for the profiles {}; then it removes the \
             rules of the earlier generations (the groups '{prefix}' and '{prefix} *'). It stops \
             at the first error: a rule that cannot be created leaves the earlier rules in force.",
            rules.rules.len(),
            profiles.join(", ")
        ),
        "What it leaves alone: every other rule (Windows' own, other software's, yours), each \
         profile's default actions and whether the firewall is on."
            .to_string(),
        "Windows Firewall blocks unsolicited inbound connections and allows outbound ones by \
         default: the outbound rules restrict nothing unless a profile's DefaultOutboundAction \
         is Block (Set-NetFirewallProfile), which this script does not set."
            .to_string(),
        "The script is ASCII (other characters are written as ?): Windows PowerShell 5.1 reads \
         a script without a byte-order mark in the ANSI code page."
            .to_string(),
    ] {
        let l = ascii(&l);
        if l.is_empty() {
            s.push_str("#\n");
        } else {
            let _ = writeln!(s, "# {l}");
        }
    }
    s.push_str(
        "param([switch]$DryRun)\n#Requires -RunAsAdministrator\n#Requires -Modules NetSecurity\n\n",
    );
    s
}

/// One `New-NetFirewallRule`, after comments that say what it is and why it admits any
/// address.
fn new_rule(
    s: &mut String,
    rules: &Ruleset,
    rule: &Rule,
    name: &str,
    common: &Common,
    descriptions: &BTreeMap<&str, (&str, String)>,
) {
    let port_param = match rule.direction {
        Direction::In => "LocalPort",
        Direction::Out => "RemotePort",
    };
    // (name, protocol, what it matches, remote): TCP and UDP in one rule; ICMP in one per
    // family that has its types (`-Protocol` is ICMPv4 or ICMPv6).
    let variants: Vec<(String, &str, String, Option<String>)> = match &rule.service {
        Service::Tcp(p) | Service::Udp(p) => {
            let remote = match &rule.remote {
                Remote::Any => Some(literal("Any", 10)),
                Remote::Addresses(a) => Some(list(a.iter().map(|n| address(*n)))),
                // Refused before rendering (`names_note`); nothing to admit.
                Remote::Names(_) => None,
            };
            let proto = if matches!(rule.service, Service::Tcp(_)) {
                "TCP"
            } else {
                "UDP"
            };
            let ports = list(p.ranges().iter().map(ToString::to_string));
            vec![(
                name.to_string(),
                proto,
                format!("-{port_param} {ports}"),
                remote,
            )]
        }
        Service::Icmp(t) => [(false, "ICMPv4"), (true, "ICMPv6")]
            .into_iter()
            .filter_map(|(v6, proto)| {
                let types: Vec<String> = t
                    .messages(v6)
                    .into_iter()
                    .map(|(n, code)| match code {
                        Some(c) => format!("{n}:{c}"),
                        None => n.to_string(),
                    })
                    .collect();
                let remote = match &rule.remote {
                    Remote::Any => Some(literal("Any", 10)),
                    Remote::Addresses(a) => {
                        let own: Vec<String> = a
                            .iter()
                            .filter(|n| n.addr().is_ipv6() == v6)
                            .map(|n| address(*n))
                            .collect();
                        (!own.is_empty()).then(|| list(own))
                    }
                    Remote::Names(_) => None,
                };
                let icmp = list(types.iter().map(ToString::to_string));
                let suffix = if v6 { "v6" } else { "v4" };
                (!types.is_empty()).then(|| {
                    (
                        format!("{name}-{suffix}"),
                        proto,
                        format!("-IcmpType {icmp}"),
                        remote,
                    )
                })
            })
            .collect(),
    };
    for (name, proto, matches, remote) in variants {
        let Some(remote) = remote else { continue };
        one_rule(
            s,
            rules,
            rule,
            (&name, proto, &matches, &remote),
            common,
            descriptions,
        );
    }
}

/// One `New-NetFirewallRule` of `rule` with its name, protocol, port or ICMP type argument
/// and remote addresses.
fn one_rule(
    s: &mut String,
    rules: &Ruleset,
    rule: &Rule,
    (name, proto, matches, remote): (&str, &str, &str, &str),
    common: &Common,
    descriptions: &BTreeMap<&str, (&str, String)>,
) {
    s.push('\n');
    let title = title(rules, rule);
    let _ = writeln!(s, "# {}", ascii(&flatten(&title, 1000, &[])));
    for why in &rule.any {
        let why = ascii(&flatten(&why.to_string(), 1000, &[]));
        let _ = writeln!(s, "# any address: {why}");
    }
    let direction = match rule.direction {
        Direction::In => "Inbound",
        Direction::Out => "Outbound",
    };
    let Common {
        group,
        profiles,
        store,
    } = common;
    let _ = writeln!(
        s,
        "New-NetFirewallRule -Name {} `",
        literal(name, DESCRIPTION_MAX)
    );
    let _ = writeln!(s, "    -DisplayName {} `", literal(&title, DESCRIPTION_MAX));
    let _ = writeln!(
        s,
        "    -Group {group} -Direction '{direction}' -Protocol '{proto}' `"
    );
    let _ = writeln!(s, "    {matches} `");
    let _ = writeln!(s, "    -RemoteAddress {remote} `");
    let _ = writeln!(
        s,
        "    -Action 'Allow' -Profile {profiles} -Enabled 'True'{store} `"
    );
    let _ = writeln!(
        s,
        "    -Description {} `",
        literal(&description(rule, descriptions), DESCRIPTION_MAX)
    );
    s.push_str("    -ErrorAction 'Stop' -WhatIf:$DryRun\n");
}

/// `fwgen exchange-server: in tcp 23953 (sxg-interceptors)`.
fn title(rules: &Ruleset, rule: &Rule) -> String {
    let entries: Vec<&str> = rule.entries.iter().map(String::as_str).collect();
    format!(
        "fwgen {}: {} {} ({})",
        rules.meta.host_id(),
        rule.direction,
        rule.service,
        entries.join(", ")
    )
}

/// The catalogue entries of a rule with their document rows, and why it admits any address.
fn description(rule: &Rule, descriptions: &BTreeMap<&str, (&str, String)>) -> String {
    let mut parts: Vec<String> = rule
        .entries
        .iter()
        .map(|id| match descriptions.get(id.as_str()) {
            Some((d, source)) => format!("{id}: {d} ({source})"),
            None => id.clone(),
        })
        .collect();
    if rule.admits_any() {
        let why: Vec<String> = rule.any.iter().map(ToString::to_string).collect();
        parts.push(format!("any address: {}", why.join("; ")));
    }
    format!("fwgen. {}", parts.join(". "))
}

/// An address as Windows takes it: a plain address for a host prefix, else `net/len`.
fn address(net: ipnet::IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_single_quoted_ascii_with_quotes_doubled() {
        assert_eq!(literal("it's", 100), "'it''s'");
        assert_eq!(literal("a $x $(y) `n \"z\"", 100), "'a $x $(y) `n \"z\"'");
        // Curly quotes are quotes to PowerShell: they must not survive.
        assert_eq!(literal("a\u{2019}b\u{2018}c", 100), "'a?b?c'");
        assert_eq!(literal("line\nbreak\ttab", 100), "'line break tab'");
        assert_eq!(literal("受信", 100), "'??'");
        // Never cut inside a doubled quote: the literal is always closed.
        assert_eq!(literal("''''", 3), "''''");
        assert_eq!(literal("ab'cd", 3), "'ab'");
        assert_eq!(literal("ab'cd", 4), "'ab'''");
    }

    #[test]
    fn profiles_are_sorted_and_any_wins() {
        let o = |p: &[Profile]| WindowsOptions {
            profiles: p.to_vec(),
            policy_store: None,
        };
        assert_eq!(o(&[]).profile_list(), [Profile::Any]);
        assert_eq!(
            o(&[Profile::Private, Profile::Domain, Profile::Private]).profile_list(),
            [Profile::Domain, Profile::Private]
        );
        assert_eq!(
            o(&[Profile::Public, Profile::Any]).profile_list(),
            [Profile::Any]
        );
    }
}
