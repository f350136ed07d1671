//! `fwgen audit`: the selection's entries against an existing ruleset.

use crate::audit::{self, nft};
use crate::cli::{AuditArgs, DiffFormat};
use crate::error::{Error, Exit};
use crate::model::Catalogue;
use crate::render::Placement;
use crate::select::Request;

use super::Report;

pub fn run(cat: &Catalogue, args: AuditArgs) -> Result<Report, Error> {
    let (request, site) = args.selection.request();
    let job = crate::job::Job {
        request: Request {
            gateway: args.gateway.iter().map(|a| a.net()).collect(),
            ..request
        },
        site,
        ip_ranges: args.ip_ranges.clone(),
        lock: args.lock.clone(),
        backend: crate::render::Backend::Json,
        options: crate::render::RenderOptions::default(),
        destination: crate::job::Destination::Stdout,
        dnsmasq: None,
        create_parents: false,
        previous: None,
    };
    let mut runner = crate::job::Runner::new(cat);
    let index = runner.select(&job)?;
    let Some(rules) = runner.ruleset(index) else {
        return Ok(Report::default());
    };
    if rules.gateway.is_empty() {
        return Err(Error::Usage(
            "audit needs the gateway's addresses: `gateway:` in the site file or --gateway ADDR"
                .into(),
        ));
    }
    let cisco = crate::audit::Interfaces {
        gateway: args.interface.clone().unwrap_or_default(),
        ingress: args.ingress_interface.clone(),
    };
    let (fw, syntax) = read(&args.ruleset, &rules.gateway, &cisco)?;
    if let audit::Syntax::Cisco { .. } = syntax
        && args.placement != Placement::Perimeter
    {
        return Err(Error::Usage(
            "a Cisco configuration filters traffic through a router or ASA in front of the \
                 gateway: audit it with --placement perimeter"
                .into(),
        ));
    }
    let placement: Placement = args.placement;
    let a = audit::audit(rules, placement, &fw, &cisco);
    let stdout = match args.format {
        _ if args.fix => audit::fix(&a, rules, placement, syntax),
        DiffFormat::Text => audit::text(&a),
        DiffFormat::Json => {
            let mut s = serde_json::to_string_pretty(&a).unwrap_or_default();
            s.push('\n');
            s
        }
        DiffFormat::Markdown => audit::markdown(&a),
    };
    let fails = a.failures() > 0 || (args.strict && !a.over_broad.is_empty());
    Ok(Report {
        stdout,
        notes: vec![format!("fwgen audit: {}", audit::summary(&a))],
        exit_code: if fails {
            Exit::OutOfDate
        } else {
            Exit::Success
        },
        ..Report::default()
    })
}

/// The largest ruleset file read: `nft -j list ruleset` of a 100,000-rule ruleset is about
/// 25 MB.
pub const MAX_RULESET_BYTES: u64 = 64 * 1024 * 1024;

/// Read the ruleset files (bounded), recognising the format from the content: nftables
/// JSON, or iptables-save / ip6tables-save with ipset save (not mixed).
fn read(
    paths: &[std::path::PathBuf],
    gateway: &[ipnet::IpNet],
    interfaces: &crate::audit::Interfaces,
) -> Result<(nft::Ruleset, audit::Syntax), Error> {
    use crate::audit::{cisco, iptables};
    let mut json = Vec::new();
    let mut saves = Vec::new();
    let mut ipsets = Vec::new();
    for p in paths {
        let text = crate::yaml::read_text_within(p, MAX_RULESET_BYTES)
            .map_err(|e| Error::Usage(format!("--ruleset {}: {e}", p.display())))?;
        if cisco::is_cisco(&text) {
            if paths.len() > 1 {
                return Err(Error::Usage(
                    "a Cisco configuration is audited on its own: give one --ruleset".into(),
                ));
            }
            if interfaces.gateway.is_empty() {
                return Err(Error::Usage(format!(
                    "--ruleset {}: a Cisco configuration needs --interface (IOS: the interface \
                     that faces the gateway; ASA: the gateway's interface, with \
                     --ingress-interface for the others)",
                    p.display()
                )));
            }
            let asa = cisco::is_asa(&text);
            return cisco::parse(&text, gateway, interfaces)
                .map(|r| (r, audit::Syntax::Cisco { asa }))
                .map_err(|e| Error::Usage(format!("--ruleset {}: {e}", p.display())));
        }
        if text.trim_start().starts_with('{') {
            json.push(text);
        } else if iptables::is_save(&text) {
            saves.push(text);
        } else if iptables::is_ipset(&text) || text.trim().is_empty() {
            // `ipset save` with no set prints nothing.
            ipsets.push(text);
        } else {
            return Err(Error::Usage(format!(
                "--ruleset {}: not `nft -j list ruleset`, iptables-save, ipset save or Cisco \
                 configuration output",
                p.display()
            )));
        }
    }
    let all = || {
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let parsed = match (json.is_empty(), saves.is_empty()) {
        (false, true) if ipsets.is_empty() => {
            nft::Ruleset::parse(&strs(&json)).map(|r| (r, audit::Syntax::Nft))
        }
        (true, false) => {
            iptables::parse(&strs(&saves), &strs(&ipsets)).map(|r| (r, audit::Syntax::Iptables))
        }
        (true, true) => Err("ipset save output alone: give the iptables-save output too".into()),
        _ => Err("nftables JSON and iptables-save are two firewalls: audit one at a time".into()),
    };
    parsed.map_err(|e| Error::Usage(format!("--ruleset {}: {e}", all())))
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
