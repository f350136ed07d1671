//! (catalogue, site, request) → [`Ruleset`]: pick the product version, component and
//! features, bind peers to addresses, merge. Pure: no I/O.

pub use crate::diagnostic::Origin;
use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;

use crate::diagnostic::Diagnostics;
use crate::model::{Application, Catalogue, Entry, Peer, ProductVersion, Service, aggregate};
mod sources;

use crate::names::NameMode;
use crate::ruleset::{AnyReason, Helper, Meta, Peers, Remote, Rule, Ruleset, Selected};
use crate::site::Site;
use crate::suggest::hint;
use sources::{Source, Sources};

/// What the user asked for on the command line; `None`/empty = take it from the site file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Request {
    pub product: Option<String>,
    pub version: Option<String>,
    pub component: Option<String>,
    /// Features to enable on top of the defaults (`--features`).
    pub features: Vec<String>,
    pub all_features: bool,
    pub no_default_features: bool,
    /// Extra gateway addresses (`--gateway`).
    pub gateway: Vec<IpNet>,
    /// Turn every warning into an error.
    pub strict: bool,
    /// Let a rule admit any address because a role or host group is unbound (a warning);
    /// without it, an error (`--allow-unbound`).
    pub allow_unbound: bool,
    /// How host groups without fixed addresses are reached (`--names`).
    pub names: NameMode,
}

/// A flag becomes the manifest key of the same name; other origins stay.
fn as_key(at: &mut Origin) {
    if let Origin::Flag(name) = *at {
        *at = Origin::Key(name);
    }
}

/// Why a selection failed. `at` says where the offending value came from
/// (`--product`, or `site.yaml:3`).
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("no product given: use `--product` or `product:` in the site file (products: {list})")]
    NoProduct { list: String },
    #[error("{at}: unknown product `{id}`{hint}")]
    UnknownProduct {
        at: Box<Origin>,
        id: String,
        hint: String,
    },
    #[error("{at}: product `{product}` has no version `{id}`{hint}")]
    UnknownVersion {
        at: Box<Origin>,
        product: String,
        id: String,
        hint: String,
    },
    #[error("{at}: {product} {version} has no component `{id}`{hint}")]
    UnknownComponent {
        at: Box<Origin>,
        product: String,
        version: String,
        id: String,
        hint: String,
    },
    #[error("{at}: unknown feature `{id}` for {product} {version}{hint}")]
    UnknownFeature {
        at: Box<Origin>,
        product: String,
        version: String,
        id: String,
        hint: String,
    },
    #[error("{0}")]
    Site(Diagnostics),
    #[error("{}", .warnings.iter().map(|w| format!("{at}: {w}")).collect::<Vec<_>>().join("\nerror: "))]
    Strict {
        at: Box<Origin>,
        warnings: Vec<String>,
    },
    /// Peers left unbound, whose rules would admit any address.
    #[error("{}", unbound_lines(.at, .peers).join("\nerror: "))]
    Unbound { at: Box<Origin>, peers: Vec<String> },
}

/// Each unbound peer on a line of its own, then how to allow them instead.
fn unbound_lines(at: &Origin, peers: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = peers.to_vec();
    let allow = match at {
        Origin::Key(k) => format!("set `{}: true` in the target", k.replace('-', "_")),
        other => format!("pass {other}"),
    };
    lines.push(format!(
        "rules would admit any address because {} unbound: bind {} as said above, or \
         {allow} to let them admit any address (a warning then)",
        if peers.len() == 1 {
            "a peer is"
        } else {
            "peers are"
        },
        if peers.len() == 1 { "it" } else { "each" },
    ));
    lines
}

impl SelectError {
    /// The same error for a manifest target: a flag's value came from the target's key of
    /// the same name.
    pub fn in_manifest(mut self) -> SelectError {
        match &mut self {
            SelectError::UnknownProduct { at, .. }
            | SelectError::UnknownVersion { at, .. }
            | SelectError::UnknownComponent { at, .. }
            | SelectError::UnknownFeature { at, .. }
            | SelectError::Strict { at, .. }
            | SelectError::Unbound { at, .. } => as_key(at),
            SelectError::NoProduct { .. } | SelectError::Site(_) => {}
        }
        self
    }

    /// One message per problem.
    pub fn messages(&self) -> Vec<String> {
        match self {
            SelectError::Site(errs) => errs.0.iter().map(ToString::to_string).collect(),
            SelectError::Strict { at, warnings } => {
                warnings.iter().map(|w| format!("{at}: {w}")).collect()
            }
            SelectError::Unbound { at, peers } => unbound_lines(at, peers),
            other => vec![other.to_string()],
        }
    }
}

/// Select and bind. Warnings (unbound roles, hosts without addresses) are in the ruleset.
pub fn select(cat: &Catalogue, site: &Site, req: &Request) -> Result<Ruleset, SelectError> {
    let pv = product_version(cat, site, req)?;
    let component = component(pv, site, req)?;
    let component_is_gateway = component == pv.default_component();
    // The site's own entries come checked with the rest of the site file.
    let local = site
        .check(pv)
        .map_err(|errors| SelectError::Site(Diagnostics(errors)))?;
    let features = features(pv, site, req)?;

    let mut unbound = Unbound::default();
    let chosen: Vec<&Entry> = pv
        .entries
        .iter()
        .chain(&local)
        .filter(|e| e.component == component)
        .filter(|e| e.feature.as_ref().is_none_or(|f| features.contains(f)))
        .collect();
    let sources = Sources::new(pv, site, req, &chosen)?;
    let (selected, candidates) = bind_entries(pv, site, &sources, &chosen, &mut unbound);

    refuse_unbound(req, pv, &unbound)?;
    let mut warnings = sources.warnings.clone();
    warnings.extend(unbound_warnings(pv, site, &unbound));
    warnings.extend(site_entry_warnings(site, &unbound));
    warnings.extend(selected.iter().filter_map(icmp_warning));
    if req.strict && !warnings.is_empty() {
        return Err(SelectError::Strict {
            at: Box::new(Origin::Flag("strict")),
            warnings,
        });
    }

    // The own addresses of the host whose firewall this is: the gateway's, or another
    // component's (`components:`), never the gateway's for the Exchange Server.
    let mut gateway: Vec<IpNet> = if component_is_gateway {
        site.gateway.clone()
    } else {
        site.components.get(&component).cloned().unwrap_or_default()
    };
    gateway.extend(req.gateway.iter().copied());
    let relevant = pv.features_enabling_something(Some(&component));
    let shown_features: Vec<String> = features
        .into_iter()
        .filter(|f| relevant.contains(f.as_str()))
        .collect();
    let host = pv
        .components
        .iter()
        .find(|c| c.id == component)
        .map(|c| (c.platform, c.description.clone()))
        .unwrap_or_default();
    Ok(Ruleset {
        meta: Meta {
            product: pv.product.clone(),
            title: pv.title.clone(),
            version: pv.version.to_string(),
            component,
            component_description: host.1,
            platform: host.0,
            gateway_component: component_is_gateway,
            // The enabled features that concern this component (`ntp` is on by default, but
            // says nothing about the Exchange Server's firewall).
            features: shown_features,
            catalogue_file: pv.path.clone(),
            document: pv.document.file.clone(),
            document_title: pv.document.title.clone(),
            catalogue_digest: pv.digest.clone(),
            site_digest: site.path.as_ref().map(|_| site.digest.clone()),
            names: sources.notes,
            site_entries: site_entry_refs(&chosen),
        },
        gateway: aggregate(gateway),
        rules: Ruleset::merge(candidates),
        warnings,
        dns_groups: sources
            .by_group
            .values()
            .filter_map(|s| match s {
                Source::Dns(d) => Some(d.clone()),
                Source::Nets(_) => None,
            })
            .collect(),
        selected,
    })
}

/// The site's own entries that admit any address (`peer: any`).
fn site_entry_warnings(site: &Site, unbound: &Unbound<'_>) -> Vec<String> {
    let path = site.name();
    unbound
        .site_entries
        .iter()
        .map(|(line, id)| {
            format!(
                "{}: the site's own entry `{id}` says `peer: any`: its rules admit any address \
                 (name the peer with a role or host group instead)",
                crate::diagnostic::position(path, *line, None)
            )
        })
        .collect()
}

/// The site's own entries among the chosen, for the header.
fn site_entry_refs(chosen: &[&Entry]) -> Vec<crate::ruleset::SiteEntryRef> {
    chosen
        .iter()
        .filter(|e| e.site_addition)
        .map(|e| crate::ruleset::SiteEntryRef {
            id: e.id.clone(),
            line: e.source.line,
        })
        .collect()
}

/// Every chosen entry bound to the site: the review's rows, and the rules before merging.
fn bind_entries<'a>(
    pv: &'a ProductVersion,
    site: &Site,
    sources: &Sources,
    chosen: &[&'a Entry],
    unbound: &mut Unbound<'a>,
) -> (Vec<Selected>, Vec<Rule>) {
    // Sized up front: grown by doubling, these two took up to twice their size (8 MB of
    // slack for 20,000 entries).
    let mut selected = Vec::with_capacity(chosen.len());
    let mut candidates = Vec::with_capacity(
        chosen
            .iter()
            .map(|e| e.directions.len() * e.services.len())
            .sum(),
    );
    for &e in chosen {
        let (remote, peers, any) = bind(pv, site, sources, e, unbound);
        // The site's ports for a configurable entry replace the row's (TCP and UDP share them).
        let services: Vec<Service> = match site.ports.get(&e.id) {
            Some(ports) => e
                .services
                .iter()
                .map(|s| match s {
                    Service::Tcp(_) => Service::Tcp(ports.clone()),
                    Service::Udp(_) => Service::Udp(ports.clone()),
                    Service::Icmp(t) => Service::Icmp(t.clone()),
                })
                .collect(),
            None => e.services.clone(),
        };
        let vendor_ports = e
            .ports()
            .filter(|&vendor| site.ports.get(&e.id).is_some_and(|p| p != vendor))
            .map(|vendor| (vendor.clone(), site.line("ports", &e.id)));
        selected.push(Selected {
            id: e.id.clone(),
            description: e.description.clone(),
            feature: e.feature.clone(),
            directions: e.directions.iter().copied().collect(),
            services: services.clone(),
            peer: match &e.peer {
                Peer::Any => "any".to_string(),
                Peer::Role(r) => format!("role {r}"),
                Peer::Group(g) => format!("group {g}"),
            },
            internal: matches!(e.peer, Peer::Role(_)),
            hosts: peers.hosts.iter().cloned().collect(),
            remote: remote.clone(),
            source: if e.site_addition {
                format!(
                    "{}: the site's own entry (line {})",
                    site.name(),
                    e.source.line
                )
            } else {
                e.source.cite(&pv.document.file)
            },
            line: e.source.line,
            site_addition: e.site_addition,
            vendor_ports,
            written: e.written,
            reply: e.reply(),
            read_other_way: e
                .reads_other_way()
                .then(|| e.reading.clone().unwrap_or_default()),
            any: any.clone(),
        });
        for &direction in &e.directions {
            for service in &services {
                candidates.push(Rule {
                    direction,
                    service: service.clone(),
                    remote: remote.clone(),
                    helper: (e.application == Some(Application::Ftp)
                        && matches!(service, Service::Tcp(_)))
                    .then_some(Helper::Ftp),
                    peers: peers.clone(),
                    entries: [e.id.clone()].into_iter().collect(),
                    any: any.iter().cloned().collect(),
                });
            }
        }
    }

    (selected, candidates)
}

/// An entry whose ICMP types exist in no family of its peers' addresses (`packet-too-big`
/// for IPv4 peers): it admits nothing, which a site that wrote it did not mean.
fn icmp_warning(e: &Selected) -> Option<String> {
    let Remote::Addresses(nets) = &e.remote else {
        return None;
    };
    let families: BTreeSet<bool> = nets.iter().map(|n| n.addr().is_ipv6()).collect();
    e.services.iter().find_map(|s| match s {
        Service::Icmp(types) if families.iter().all(|&v6| types.messages(v6).is_empty()) => {
            Some(format!(
                "entry `{}`: ICMP types {types} exist in no address family of its peers ({}): it admits nothing",
                e.id,
                families
                    .iter()
                    .map(|&v6| if v6 { "IPv6" } else { "IPv4" })
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
        _ => None,
    })
}

/// The warnings about rules that admit any address because of the site: unbound roles and
/// host groups, groups bound by some host names only, bindings to a whole address family.
fn unbound_warnings(pv: &ProductVersion, site: &Site, unbound: &Unbound<'_>) -> Vec<String> {
    let mut warnings = unbound_peers(pv, unbound);
    warnings.extend(site_warnings(pv, site, unbound));
    warnings
}

/// Strict about unbound peers unless told: a rule must not admit any address because a role
/// or host group was left unbound (an unfilled template).
fn refuse_unbound(
    req: &Request,
    pv: &ProductVersion,
    unbound: &Unbound<'_>,
) -> Result<(), SelectError> {
    if req.allow_unbound || (unbound.roles.is_empty() && unbound.groups.is_empty()) {
        return Ok(());
    }
    Err(SelectError::Unbound {
        at: Box::new(Origin::Flag("allow-unbound")),
        peers: unbound_peers(pv, unbound),
    })
}

/// Roles and host groups without an address, each with how to bind it: their rules would
/// admit any address.
fn unbound_peers(pv: &ProductVersion, unbound: &Unbound<'_>) -> Vec<String> {
    let mut warnings = Vec::new();
    for (role, entries) in &unbound.roles {
        warnings.push(format!(
            "role `{role}` has no address (add it under `roles:` in the site file): {} any address",
            entry_list(entries)
        ));
    }
    for (group, entries) in &unbound.groups {
        let g = pv.host_group(group);
        let hosts = g.map(|g| g.hosts.join(", ")).unwrap_or_default();
        let names = if hosts.is_empty() {
            g.map_or(String::new(), |g| format!(" ({})", g.description))
        } else {
            format!(" ({hosts})")
        };
        let why = g.map_or("", |g| g.address_source.as_str());
        let named = g.is_some_and(|g| !g.hosts.is_empty());
        let ranges = g.is_some_and(|g| {
            matches!(
                g.address_source,
                crate::model::AddressSource::AwsIpRanges | crate::model::AddressSource::Cloudfront
            )
        });
        let ways = match (named, ranges) {
            (false, _) => "add them under `hosts:` in the site file, by group id".to_string(),
            (true, false) => "add them under `hosts:` in the site file (by group id or host name), bind a lock file written by `fwgen resolve`, or let the firewall follow the names with `--names fqdn`".to_string(),
            (true, true) => format!("add them under `hosts:` in the site file (by group id or host name), take the ranges AWS publishes (`names: {{{group}: {{ip_ranges: {{service: …, region: …}}}}}}` and an ip-ranges file), bind a lock file written by `fwgen resolve`, or let the firewall follow the names with `--names fqdn`"),
        };
        warnings.push(format!(
            "host group `{group}`{names} has no address (the document: {why}; {ways}): {} any address",
            entry_list(entries)
        ));
    }
    warnings
}

/// What the site file binds that admits too much or too little: groups bound by some host
/// names only, bindings to a whole address family.
fn site_warnings(pv: &ProductVersion, site: &Site, unbound: &Unbound<'_>) -> Vec<String> {
    let mut warnings = Vec::new();
    for (group, (bound, left)) in &unbound.partial {
        let list = |v: &Vec<&String>| {
            v.iter()
                .map(|h| format!("`{h}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        warnings.push(format!(
            "{}: host group `{group}`: the site file gives addresses for {} but not for {}, which the rules therefore do not admit; bind them too, or bind the group by its id",
            crate::diagnostic::position(
                site.name(),
                bound.first().map_or(1, |h| site.line("hosts", h)),
                None
            ),
            list(bound),
            list(left)
        ));
    }
    for ((peer, prefix), entries) in &unbound.site_any {
        // The line of the binding: the role, or the group's id or host name under `hosts:`.
        let line = if site.roles.contains_key(*peer) {
            site.line("roles", peer)
        } else {
            let names = pv.host_group(peer).map(|g| {
                std::iter::once(&g.id)
                    .chain(&g.hosts)
                    .find(|k| site.hosts.get(*k).is_some_and(|a| a.contains(prefix)))
                    .cloned()
            });
            names.flatten().map_or(1, |k| site.line("hosts", &k))
        };
        warnings.push(format!(
            "{}: `{peer}` is bound to {prefix}, which is any {} address: {} any address",
            crate::diagnostic::position(site.name(), line, None),
            if prefix.addr().is_ipv4() {
                "IPv4"
            } else {
                "IPv6"
            },
            entry_list(entries)
        ));
    }
    warnings
}

fn entry_list(entries: &BTreeSet<&str>) -> String {
    let names: Vec<String> = entries.iter().map(|e| format!("`{e}`")).collect();
    let verb = if names.len() == 1 { "allows" } else { "allow" };
    format!(
        "{} {} {verb}",
        if names.len() == 1 { "entry" } else { "entries" },
        names.join(", ")
    )
}

/// The addresses of an entry's peer, the names behind them, and why they are any address
/// (if they are).
fn bind<'a>(
    pv: &'a ProductVersion,
    site: &Site,
    sources: &Sources,
    e: &'a Entry,
    unbound: &mut Unbound<'a>,
) -> (Remote, Peers, Option<AnyReason>) {
    let mut peers = Peers::default();
    let (remote, any) = match &e.peer {
        Peer::Any if e.site_addition => {
            unbound.site_entries.insert((e.source.line, &e.id));
            (
                Remote::Any,
                Some(AnyReason::SiteEntry {
                    entry: e.id.clone(),
                }),
            )
        }
        Peer::Any => (
            Remote::Any,
            Some(AnyReason::Document {
                entry: e.id.clone(),
            }),
        ),
        Peer::Role(r) => {
            peers.roles.insert(r.clone());
            match site.roles.get(r) {
                Some(a) if !a.is_empty() => {
                    let any = unbound.whole_family(r, a, &e.id);
                    (Remote::Addresses(a.clone()), any)
                }
                _ => {
                    unbound.roles.entry(r).or_default().insert(&e.id);
                    (
                        Remote::Any,
                        Some(AnyReason::UnboundRole { role: r.clone() }),
                    )
                }
            }
        }
        Peer::Group(g) => match pv.host_group(g) {
            Some(group) => bind_group(site, sources, group, e, &mut peers, unbound),
            // The loader checked every reference; an unknown group cannot get here.
            None => (
                Remote::Any,
                Some(AnyReason::UnboundGroup { group: g.clone() }),
            ),
        },
    };
    (remote, peers, any)
}

/// The addresses of a host group for entry `e`: the document's, plus the site's `hosts:`
/// bindings; else its source (ip-ranges, lock file, DNS at run time); else any address.
fn bind_group<'a>(
    site: &Site,
    sources: &Sources,
    group: &'a crate::model::HostGroup,
    e: &'a Entry,
    peers: &mut Peers,
    unbound: &mut Unbound<'a>,
) -> (Remote, Option<AnyReason>) {
    let g = &group.id;
    peers.hosts.extend(group.hosts.iter().cloned());
    peers.groups.insert(g.clone());
    // A site file binds a group by its id or by its host names. The group's own addresses
    // are aggregated already; only site additions need another pass.
    let from_site: Vec<IpNet> = std::iter::once(&group.id)
        .chain(&group.hosts)
        .filter_map(|h| site.hosts.get(h))
        .flatten()
        .copied()
        .collect();
    // Some of a group's hosts bound and others not: the others get no address.
    if group.addresses.is_empty() && !site.hosts.contains_key(&group.id) {
        let (bound, left): (Vec<&String>, Vec<&String>) = group
            .hosts
            .iter()
            .partition(|h| site.hosts.contains_key(*h));
        if !bound.is_empty() && !left.is_empty() {
            unbound.partial.entry(g).or_insert((bound, left));
        }
    }
    let mut addrs = if from_site.is_empty() {
        group.addresses.clone()
    } else {
        aggregate(group.addresses.iter().copied().chain(from_site))
    };
    match sources.by_group.get(g.as_str()) {
        Some(Source::Nets(n)) if addrs.is_empty() => addrs = n.clone(),
        Some(Source::Dns(_)) if addrs.is_empty() => {
            let names: crate::ruleset::Names = [g.clone()].into();
            return (Remote::Names(names), None);
        }
        _ => {}
    }
    if addrs.is_empty() {
        peers.unresolved.extend(group.hosts.iter().cloned());
        unbound.groups.entry(g).or_default().insert(&e.id);
        (
            Remote::Any,
            Some(AnyReason::UnboundGroup { group: g.clone() }),
        )
    } else {
        let any = unbound.whole_family(g, &addrs, &e.id);
        (Remote::Addresses(addrs), any)
    }
}

/// Peers that leave a rule open to any address, with the entries that need them.
#[derive(Default)]
struct Unbound<'a> {
    roles: BTreeMap<&'a str, BTreeSet<&'a str>>,
    groups: BTreeMap<&'a str, BTreeSet<&'a str>>,
    site_any: BTreeMap<(&'a str, IpNet), BTreeSet<&'a str>>,
    /// The site's own entries that say `peer: any`: (site file line, id).
    site_entries: BTreeSet<(usize, &'a str)>,
    /// Groups the site binds by some host names only: (bound hosts, hosts left out).
    partial: BTreeMap<&'a str, (Vec<&'a String>, Vec<&'a String>)>,
}

impl<'a> Unbound<'a> {
    /// The reason `peer`'s bound addresses admit any address, if they hold a prefix of
    /// length 0 (`0.0.0.0/0`, `::/0`); `entry` is remembered for the warning.
    fn whole_family(
        &mut self,
        peer: &'a str,
        addrs: &[IpNet],
        entry: &'a str,
    ) -> Option<AnyReason> {
        let prefix = addrs.iter().find(|n| n.prefix_len() == 0).copied()?;
        self.site_any
            .entry((peer, prefix))
            .or_default()
            .insert(entry);
        Some(AnyReason::SiteBinding {
            peer: peer.to_string(),
            prefix,
        })
    }
}

/// The product version a request (and the site file) selects, or why none.
pub fn product_version<'c>(
    cat: &'c Catalogue,
    site: &Site,
    req: &Request,
) -> Result<&'c ProductVersion, SelectError> {
    let (id, at) = match (&req.product, &site.product) {
        (Some(p), _) => (p, Box::new(Origin::Flag("product"))),
        (None, Some(p)) => (p, Box::new(site.origin("product"))),
        (None, None) => {
            let list: Vec<&str> = cat.products.keys().map(String::as_str).collect();
            return Err(SelectError::NoProduct {
                list: list.join(", "),
            });
        }
    };
    let product = cat
        .products
        .get(id)
        .ok_or_else(|| SelectError::UnknownProduct {
            at: at.clone(),
            id: id.clone(),
            hint: hint(id, cat.products.keys().map(String::as_str)),
        })?;
    let version = match (&req.version, &site.version) {
        (Some(v), _) => Some((v, Box::new(Origin::Flag("version")))),
        (None, Some(v)) => Some((v, Box::new(site.origin("version")))),
        (None, None) => None,
    };
    match version {
        None => product.newest().ok_or_else(|| SelectError::UnknownProduct {
            at,
            id: id.clone(),
            hint: String::new(),
        }),
        Some((v, at)) => product
            .versions
            .values()
            .find(|pv| pv.version.as_str() == v)
            .ok_or_else(|| {
                let versions: Vec<&str> = product.versions.keys().map(|v| v.as_str()).collect();
                SelectError::UnknownVersion {
                    at,
                    product: product.id.clone(),
                    id: v.clone(),
                    hint: format!("; versions: {}", versions.join(", ")),
                }
            }),
    }
}

fn component(pv: &ProductVersion, site: &Site, req: &Request) -> Result<String, SelectError> {
    let (id, at) = match (&req.component, &site.component) {
        (Some(c), _) => (c.clone(), Box::new(Origin::Flag("component"))),
        (None, Some(c)) => (c.clone(), Box::new(site.origin("component"))),
        (None, None) => return Ok(pv.default_component().to_string()),
    };
    if pv.components.iter().any(|c| c.id == id) {
        return Ok(id);
    }
    Err(SelectError::UnknownComponent {
        at,
        product: pv.product.clone(),
        version: pv.version.to_string(),
        hint: hint(&id, pv.components.iter().map(|c| c.id.as_str())),
        id,
    })
}

/// Features as in cargo: the defaults (unless turned off), plus the named ones, plus all they imply.
fn features(
    pv: &ProductVersion,
    site: &Site,
    req: &Request,
) -> Result<BTreeSet<String>, SelectError> {
    let known: Vec<&str> = pv.features.iter().map(|f| f.id.as_str()).collect();
    let unknown = |id: &str, at: Origin| SelectError::UnknownFeature {
        at: Box::new(at),
        product: pv.product.clone(),
        version: pv.version.to_string(),
        id: id.to_string(),
        hint: hint(id, known.iter().copied()),
    };
    let mut start: Vec<&str> = Vec::new();
    for f in &site.features {
        if !known.contains(&f.as_str()) {
            return Err(unknown(f, site.origin("features")));
        }
        start.push(f);
    }
    for f in &req.features {
        if !known.contains(&f.as_str()) {
            return Err(unknown(f, Origin::Flag("features")));
        }
        start.push(f);
    }
    let defaults = !req.no_default_features && site.default_features != Some(false);
    if defaults {
        start.extend(
            pv.features
                .iter()
                .filter(|f| f.default)
                .map(|f| f.id.as_str()),
        );
    }
    if req.all_features {
        start.extend(known.iter().copied());
    }
    Ok(pv.feature_closure(start))
}
