//! `fwgen site init`: a commented site file for a selection, ready to fill in.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::cli::SiteInitArgs;
use crate::error::Error;
use crate::model::{AddressSource, Catalogue, ProductVersion, Service};
use crate::ruleset::{Ruleset, Selected};
use crate::select::Request;
use crate::site::Site;

use super::Report;

pub(super) fn init(cat: &Catalogue, args: &SiteInitArgs) -> Result<Report, Error> {
    let req = Request {
        product: Some(args.product.clone()),
        version: args.version.clone(),
        component: args.component.clone(),
        features: args.features.features.clone(),
        all_features: args.features.all_features,
        no_default_features: args.features.no_default_features,
        // The template lists what is still to bind.
        allow_unbound: true,
        ..Request::default()
    };
    let (rules, pv) = super::selected(cat, &Site::default(), &req)?;
    Ok(Report {
        stdout: site_file(pv, &rules, args),
        ..Report::default()
    })
}

/// Catalogue text in a YAML comment: one line of printable text, as in every ruleset's
/// comments (line breaks become spaces; control and invisible characters go).
fn text(s: &str) -> String {
    crate::text::flatten(s, usize::MAX, &[])
}

/// `in tcp 443` for each direction and protocol of a selected entry.
fn connection(s: &Selected) -> String {
    let mut parts = Vec::new();
    for d in &s.directions {
        for service in &s.services {
            parts.push(format!("{} {service}", d.as_str()));
        }
    }
    format!("{} ({})", s.id, parts.join(", "))
}

/// The entries that need each peer, by peer.
fn needed_by(rules: &Ruleset) -> BTreeMap<&str, Vec<&Selected>> {
    let mut by: BTreeMap<&str, Vec<&Selected>> = BTreeMap::new();
    for s in &rules.selected {
        by.entry(s.peer.as_str()).or_default().push(s);
    }
    by
}

fn needs(out: &mut String, entries: &[&Selected]) {
    let list: Vec<String> = entries.iter().map(|s| connection(s)).collect();
    let _ = writeln!(out, "  # needed by: {}", text(&list.join("; ")));
}

fn site_file(pv: &ProductVersion, rules: &Ruleset, args: &SiteInitArgs) -> String {
    let m = &rules.meta;
    let by_peer = needed_by(rules);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Site file for {} {} ({}), component {}.\n\
         # Written by `fwgen site init`: replace every `[]` with the addresses (IPv4/IPv6\n\
         # addresses or prefixes) of your site, then check it with\n\
         # `fwgen generate --site FILE --strict -b json`. An empty list binds nothing: the\n\
         # peer is not bound here (a lock file, an ip-ranges file or `names:` may bind it),\n\
         # and a ruleset with an unbound peer is an error unless --allow-unbound.",
        text(&m.title),
        m.version,
        m.product,
        m.component
    );
    // A version label may hold any character but a space: quoted as a JSON string, which is
    // a YAML double-quoted scalar, it stays one value.
    let version = serde_json::to_string(&m.version).unwrap_or_default();
    let _ = writeln!(out, "product: {}\nversion: {version}", m.product);
    if !m.gateway_component {
        let _ = writeln!(out, "component: {}", m.component);
    }
    if args.features.no_default_features {
        let _ = writeln!(out, "default_features: false");
    }
    let defaults: std::collections::BTreeSet<&str> = pv
        .features
        .iter()
        .filter(|f| f.default)
        .map(|f| f.id.as_str())
        .collect();
    let extra: Vec<&String> = m
        .features
        .iter()
        .filter(|f| args.features.no_default_features || !defaults.contains(f.as_str()))
        .collect();
    let list: Vec<&str> = extra.iter().map(|f| f.as_str()).collect();
    let _ = writeln!(
        out,
        "# Enabled features: {} (see `fwgen features --product {}`).\nfeatures: [{}]\n",
        if m.features.is_empty() {
            "none".to_string()
        } else {
            m.features.join(", ")
        },
        m.product,
        list.join(", ")
    );
    let host = text(&m.component_description);
    if m.gateway_component {
        let _ = writeln!(
            out,
            "# The gateway's own addresses ({host}).\ngateway: []\n"
        );
    } else {
        let _ = writeln!(
            out,
            "# The own addresses of `{}` ({host}).\ncomponents:\n  {}: []\n",
            m.component, m.component
        );
    }
    roles(&mut out, pv, &by_peer);
    hosts(&mut out, pv, &by_peer);
    ports(&mut out, pv, rules);
    out
}

fn roles(out: &mut String, pv: &ProductVersion, by_peer: &BTreeMap<&str, Vec<&Selected>>) {
    let used: Vec<_> = pv
        .roles
        .iter()
        .filter_map(|r| {
            by_peer
                .get(format!("role {}", r.id).as_str())
                .map(|e| (r, e))
        })
        .collect();
    if used.is_empty() {
        let _ = writeln!(
            out,
            "# No internal role: the selection's peers are all external. A role of your own\n\
             # (`monitoring: [ADDR]`) may be added for the site's own `entries:` that name it.\nroles: {{}}\n"
        );
        return;
    }
    let _ = writeln!(
        out,
        "# Internal roles: who these servers and clients are at your site. A role of your\n\
         # own (`monitoring: [ADDR]`) may be added here for the site's own `entries:` that\n\
         # name it as their peer (`peer: {{role: monitoring}}`); one no entry names is an error.\nroles:"
    );
    for (r, entries) in used {
        let _ = writeln!(out, "  # {}", text(&r.description));
        needs(out, entries);
        let _ = writeln!(out, "  {}: []", r.id);
    }
    out.push('\n');
}

fn hosts(out: &mut String, pv: &ProductVersion, by_peer: &BTreeMap<&str, Vec<&Selected>>) {
    let mut listed = Vec::new();
    let mut open = Vec::new();
    for g in &pv.host_groups {
        let Some(entries) = by_peer.get(format!("group {}", g.id).as_str()) else {
            continue;
        };
        if g.address_source == AddressSource::Document {
            listed.push(g);
        } else {
            open.push((g, entries));
        }
    }
    for g in &listed {
        let _ = writeln!(
            out,
            "# Host group `{}` ({}): the document lists its addresses; nothing to add.",
            g.id,
            text(&g.description)
        );
    }
    if open.is_empty() {
        let _ = writeln!(out, "hosts: {{}}\n");
        return;
    }
    let _ = writeln!(
        out,
        "# External hosts the document gives no address for. Bind each group by its id (or by\n\
         # host name), or say how under `names:` (a lock file from `fwgen resolve`, the AWS\n\
         # ranges, or names the firewall follows): see the user guide, docs/src/names.md.\nhosts:"
    );
    for (g, entries) in open {
        let names = if g.hosts.is_empty() {
            String::new()
        } else {
            format!(": {}", g.hosts.join(", "))
        };
        let _ = writeln!(
            out,
            "  # {}{} (the document: {})",
            text(&g.description),
            text(&names),
            g.address_source.as_str()
        );
        needs(out, entries);
        let _ = writeln!(out, "  {}: []", g.id);
    }
    out.push('\n');
}

fn ports(out: &mut String, pv: &ProductVersion, rules: &Ruleset) {
    let configurable: Vec<&Selected> = rules
        .selected
        .iter()
        .filter(|s| pv.entries.iter().any(|e| e.id == s.id && e.configurable))
        .collect();
    if configurable.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "# Ports the document says can be changed: uncomment to give yours.\n# ports:"
    );
    for s in configurable {
        let _ = writeln!(
            out,
            "#   {}: [{}]      # {}",
            s.id,
            Service::cell(&s.services),
            text(&connection(s))
        );
    }
}
