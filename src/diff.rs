//! What changed between two product versions, or between two catalogues: connections added,
//! removed and changed, matched by entry id, then by what they are (component, direction,
//! protocol, ports, peer) where the ids differ, so that a renamed, split or merged row shows
//! as what really changed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::Serialize;

use crate::model::{
    Catalogue, Entry, Peer, PortRange, PortSet, ProductVersion, Service, icmp_name, icmp_of_word,
    icmp_word,
};

/// One catalogue entry as a reviewer reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Connection {
    pub id: String,
    pub description: String,
    pub component: String,
    pub feature: Option<String>,
    pub protocols: String,
    pub ports: String,
    /// The directions fwgen admits connections in (`in`, `out`, `in,out`).
    pub directions: String,
    /// The document's direction cell (`In/Out` read as the gateway's connections and their
    /// replies admits `out` only).
    pub written: String,
    /// `any`, `role NAME` or `group NAME`.
    pub peer: String,
    pub hosts: Vec<String>,
    pub addresses: Vec<String>,
    pub configurable: bool,
    /// `document: section, row (line N)`, or the site file's line for a site addition.
    pub source: String,
    /// The site file's own entry (a diff of bound rulesets).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub site_addition: bool,
    /// TCP and UDP to ports, ICMP of types: for matching connections by what they are.
    #[serde(skip)]
    pub services: Vec<Service>,
}

impl Connection {
    pub fn of(pv: &ProductVersion, e: &Entry) -> Connection {
        let (peer, hosts, addresses) = match &e.peer {
            Peer::Any => ("any".to_string(), vec![], vec![]),
            Peer::Role(r) => (format!("role {r}"), vec![], vec![]),
            Peer::Group(g) => {
                let group = pv.host_group(g);
                (
                    format!("group {g}"),
                    group.map(|g| g.hosts.clone()).unwrap_or_default(),
                    group
                        .map(|g| g.addresses.iter().map(ToString::to_string).collect())
                        .unwrap_or_default(),
                )
            }
        };
        Connection {
            id: e.id.clone(),
            description: e.description.clone(),
            component: e.component.clone(),
            feature: e.feature.clone(),
            protocols: comma(&e.protocols()),
            ports: Service::cell(&e.services),
            directions: comma(&e.directions),
            written: e.written.to_string(),
            peer,
            hosts,
            addresses,
            configurable: e.configurable,
            source: e.source.cite(&pv.document.file),
            site_addition: e.site_addition,
            services: e.services.clone(),
        }
    }

    /// A selected entry as bound to a site: the site's ports and addresses, the site's own
    /// entries marked.
    pub fn bound(s: &crate::ruleset::Selected, component: &str, configurable: bool) -> Connection {
        Connection {
            id: s.id.clone(),
            description: s.description.clone(),
            component: component.to_string(),
            feature: s.feature.clone(),
            protocols: comma(&Service::protocols(&s.services)),
            ports: Service::cell(&s.services),
            directions: comma(&s.directions),
            written: s.written.to_string(),
            peer: s.peer.clone(),
            hosts: s.hosts.clone(),
            addresses: match &s.remote {
                crate::ruleset::Remote::Any => vec!["any".to_string()],
                crate::ruleset::Remote::Addresses(a) => a.iter().map(ToString::to_string).collect(),
                crate::ruleset::Remote::Names(n) => n
                    .into_iter()
                    .map(|g| format!("DNS-filled set of {g}"))
                    .collect(),
            },
            configurable,
            source: s.source.clone(),
            site_addition: s.site_addition,
            services: s.services.clone(),
        }
    }

    /// `tcp 80 out, group x`: the connection in one line.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} {} {} {}",
            self.protocols, self.ports, self.directions, self.peer
        );
        if let Some(f) = &self.feature {
            let _ = write!(s, " [feature {f}]");
        }
        if self.site_addition {
            s.push_str(" [site addition]");
        }
        s
    }
}

/// `tcp,udp`, `in,out`: a list in one cell.
fn comma<'a, T: std::fmt::Display + 'a>(items: impl IntoIterator<Item = &'a T>) -> String {
    items
        .into_iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// One field that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub field: &'static str,
    pub from: String,
    pub to: String,
}

/// An entry present on both sides with different fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub id: String,
    pub changes: Vec<Change>,
}

/// Entries whose ids are on one side only but whose connections overlap entries of the
/// other side: the same connections under other ids (renamed, split, merged), and what of
/// them changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Matched {
    /// The old side's entry ids.
    pub from: Vec<String>,
    /// The new side's entry ids.
    pub to: Vec<String>,
    /// Connections on both sides (`tcp 20,21 out role backup-server`).
    pub kept: Vec<String>,
    /// Connections only the old entries have.
    pub removed: Vec<String>,
    /// Connections only the new entries have.
    pub added: Vec<String>,
    /// With one entry on each side: the other fields that differ.
    pub changes: Vec<Change>,
}

/// The difference between two versions (or two catalogue files) of one product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionDiff {
    pub product: String,
    pub from: String,
    pub to: String,
    /// Entries (by id) whose connections no entry of the other side has.
    pub added: Vec<Connection>,
    pub removed: Vec<Connection>,
    /// Entries of the same id that differ.
    pub changed: Vec<Changed>,
    /// Entries of other ids that share connections.
    pub matched: Vec<Matched>,
}

impl VersionDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.matched.is_empty()
    }
}

/// What one connection is, but for its ports: (component, direction, protocol, peer).
type AtomKey = (String, String, String, String);

/// An entry's connections: ports by (component, direction, protocol, peer). ICMP compares
/// like ports: the messages of each family (`icmp`, `icmpv6`) as type * 256 + code + 1 (a
/// whole type is the range of its 256 codes; the last code of type 255 shares a "port" with
/// the one before it).
fn atoms(c: &Connection) -> BTreeMap<AtomKey, PortSet> {
    let mut out = BTreeMap::new();
    for d in c.directions.split(',') {
        for service in &c.services {
            let sets: Vec<(&str, PortSet)> = match service {
                Service::Tcp(p) => vec![("tcp", p.clone())],
                Service::Udp(p) => vec![("udp", p.clone())],
                Service::Icmp(t) => [("icmp", false), ("icmpv6", true)]
                    .into_iter()
                    .map(|(name, v6)| {
                        let port = |t, code| icmp_word(t, code).saturating_add(1);
                        let ranges = t.messages(v6).into_iter().map(|(t, code)| match code {
                            Some(c) => PortRange::from_bounds(port(t, c), port(t, c)),
                            None => PortRange::from_bounds(port(t, 0), port(t, 255)),
                        });
                        (name, PortSet::new(ranges))
                    })
                    .filter(|(_, set)| !set.is_empty())
                    .collect(),
            };
            for (p, set) in sets {
                let key = (
                    c.component.clone(),
                    d.to_string(),
                    p.to_string(),
                    c.peer.clone(),
                );
                out.insert(key, set);
            }
        }
    }
    out
}

/// Ports as a line shows them; for ICMP the messages' names (see [`atoms`]):
/// `echo-request`, `destination-unreachable/4`.
fn shown(protocol: &str, ports: &PortSet) -> String {
    let v6 = match protocol {
        "icmp" => false,
        "icmpv6" => true,
        _ => return ports.to_string(),
    };
    let name = |t: u8| icmp_name(t, v6).map_or_else(|| t.to_string(), str::to_string);
    let mut out = Vec::new();
    for r in ports.ranges() {
        let (lo, hi) = (r.lo().get() - 1, r.hi().get() - 1);
        // Whole types, then the codes of the types it covers in part.
        let mut at = lo;
        while at <= hi {
            let (t, code) = icmp_of_word(at);
            let last = icmp_word(t, 255);
            let end = last.min(hi);
            if code == 0 && (end == last || end == 65534) {
                out.push(name(t));
            } else {
                let (_, end_code) = icmp_of_word(end);
                out.extend((code..=end_code).map(|c| format!("{}/{c}", name(t))));
            }
            match end.checked_add(1) {
                Some(next) => at = next,
                None => break,
            }
        }
    }
    out.join(",")
}

/// Connections (per key) in one line each: `tcp 20,21 out role backup-server`.
fn lines(map: &BTreeMap<AtomKey, PortSet>) -> Vec<String> {
    map.iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|((component, d, p, peer), ports)| {
            let mut l = format!("{p} {} {d} {peer}", shown(p, ports));
            if component != "gateway" {
                let _ = write!(l, " ({component})");
            }
            l
        })
        .collect()
}

/// Join (in `parent`, a union-find over left entries then right entries) every left entry
/// with every right entry that shares a connection: the same key and an overlapping port.
///
/// A sweep per key over the port ranges of both sides, sorted by their low port, instead of
/// comparing every pair (20,000 renamed entries a side would be 400 million pairs): a range
/// overlaps the other side's ranges that are still open at its low port; once joined, those
/// are one group, and only the one that reaches furthest needs to stay open. Every range is
/// opened and closed once: O(n log n).
fn link_overlaps(left: &Side<'_>, right: &Side<'_>, parent: &mut [usize]) {
    let n = left.len();
    // key -> (lo, hi, entry index in the union-find)
    let mut by_key: BTreeMap<&AtomKey, Vec<(u16, u16, usize)>> = BTreeMap::new();
    for (offset, side) in [(0, left), (n, right)] {
        for (i, (_, _, atoms)) in side.iter().enumerate() {
            for (k, ports) in atoms {
                by_key.entry(k).or_default().extend(
                    ports
                        .ranges()
                        .iter()
                        .map(|r| (r.lo().get(), r.hi().get(), offset + i)),
                );
            }
        }
    }
    for mut items in by_key.into_values() {
        items.sort_unstable();
        // Open ranges of each side: (hi, entry).
        let mut open: [Vec<(u16, usize)>; 2] = [Vec::new(), Vec::new()];
        for (lo, hi, entry) in items {
            let side = usize::from(entry >= n);
            let Some(other) = open.get_mut(1 - side) else {
                continue;
            };
            other.retain(|&(h, _)| h >= lo);
            if let Some(&furthest) = other.iter().max() {
                for &(_, e) in other.iter() {
                    let (a, b) = (root(parent, entry), root(parent, e));
                    if let Some(slot) = parent.get_mut(a) {
                        *slot = b;
                    }
                }
                other.clear();
                other.push(furthest);
            }
            if let Some(own) = open.get_mut(side) {
                own.push((hi, entry));
            }
        }
    }
}

/// Union-find root, with path halving.
fn root(parent: &mut [usize], mut i: usize) -> usize {
    while let Some(&p) = parent.get(i) {
        if p == i {
            break;
        }
        let grand = parent.get(p).copied().unwrap_or(p);
        if let Some(slot) = parent.get_mut(i) {
            *slot = grand;
        }
        i = grand;
    }
    i
}

/// One side's unmatched entries: id, connection, its atoms.
type Side<'c> = Vec<(&'c str, &'c Connection, BTreeMap<AtomKey, PortSet>)>;

/// Group the entries of `left` and `right` (ids on one side only) that share a connection
/// (component, direction, protocol, peer and a port): each group with entries on both sides
/// is a [`Matched`]. Returns the groups and the ids they took.
fn match_by_connection(left: &Side<'_>, right: &Side<'_>) -> (Vec<Matched>, BTreeSet<String>) {
    let n = left.len();
    let mut parent: Vec<usize> = (0..n + right.len()).collect();
    link_overlaps(left, right, &mut parent);
    let mut groups: BTreeMap<usize, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for i in 0..n + right.len() {
        let r = root(&mut parent, i);
        let g = groups.entry(r).or_default();
        if i < n {
            g.0.push(i);
        } else {
            g.1.push(i - n);
        }
    }
    let mut out = Vec::new();
    let mut taken = BTreeSet::new();
    for (ls, rs) in groups.into_values() {
        if ls.is_empty() || rs.is_empty() {
            continue;
        }
        let side = |s: &Side<'_>, idx: &[usize]| {
            let mut map: BTreeMap<AtomKey, PortSet> = BTreeMap::new();
            let mut ids = Vec::new();
            for (id, _, a) in idx.iter().filter_map(|&i| s.get(i)) {
                ids.push((*id).to_string());
                for (k, p) in a {
                    map.entry(k.clone()).or_default().append_unnormalized(p);
                }
            }
            map.values_mut().for_each(PortSet::normalize);
            (ids, map)
        };
        let (from, lmap) = side(left, &ls);
        let (to, rmap) = side(right, &rs);
        let op = |a: &BTreeMap<AtomKey, PortSet>, b: &BTreeMap<AtomKey, PortSet>, both: bool| {
            let m: BTreeMap<AtomKey, PortSet> = a
                .iter()
                .map(|(k, p)| {
                    let other = b.get(k).cloned().unwrap_or_default();
                    let v = if both {
                        p.intersection(&other)
                    } else {
                        p.difference(&other)
                    };
                    (k.clone(), v)
                })
                .collect();
            lines(&m)
        };
        let changes = match (ls.as_slice(), rs.as_slice()) {
            ([i], [j]) => match (left.get(*i), right.get(*j)) {
                (Some((_, l, _)), Some((_, r, _))) => field_changes(l, r, false),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        taken.extend(from.iter().cloned());
        taken.extend(to.iter().cloned());
        out.push(Matched {
            kept: op(&lmap, &rmap, true),
            removed: op(&lmap, &rmap, false),
            added: op(&rmap, &lmap, false),
            from,
            to,
            changes,
        });
    }
    out.sort_by(|a, b| a.from.cmp(&b.from));
    (out, taken)
}

/// Compare the entries of `a` and `b` kept by `keep_a`/`keep_b`; with `with_source`, a moved
/// provenance counts as a change (catalogue reviews), without it not (version comparisons,
/// where the documents differ anyway).
pub fn versions(
    a: &ProductVersion,
    b: &ProductVersion,
    keep_a: &dyn Fn(&Entry) -> bool,
    keep_b: &dyn Fn(&Entry) -> bool,
    with_source: bool,
) -> VersionDiff {
    let side = |pv: &ProductVersion, keep: &dyn Fn(&Entry) -> bool| -> Vec<Connection> {
        pv.entries
            .iter()
            .filter(|e| keep(e))
            .map(|e| Connection::of(pv, e))
            .collect()
    };
    compare(
        &b.product,
        (&a.version.to_string(), side(a, keep_a)),
        (&b.version.to_string(), side(b, keep_b)),
        with_source,
    )
}

/// Compare two lists of connections (by id, then by what they are).
pub fn compare(
    product: &str,
    (from, a): (&str, Vec<Connection>),
    (to, b): (&str, Vec<Connection>),
    with_source: bool,
) -> VersionDiff {
    let left: BTreeMap<&str, &Connection> = a.iter().map(|c| (c.id.as_str(), c)).collect();
    let right: BTreeMap<&str, &Connection> = b.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut d = VersionDiff {
        product: product.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        added: right
            .iter()
            .filter(|(id, _)| !left.contains_key(*id))
            .map(|(_, c)| (*c).clone())
            .collect(),
        removed: left
            .iter()
            .filter(|(id, _)| !right.contains_key(*id))
            .map(|(_, c)| (*c).clone())
            .collect(),
        changed: vec![],
        matched: vec![],
    };
    for (id, l) in &left {
        let Some(r) = right.get(id) else { continue };
        let changes = field_changes(l, r, with_source);
        if !changes.is_empty() {
            d.changed.push(Changed {
                id: (*id).to_string(),
                changes,
            });
        }
    }
    // Ids on one side only: match them by what they are.
    let (ls, rs) = (side(&d.removed), side(&d.added));
    let (matched, taken) = match_by_connection(&ls, &rs);
    d.matched = matched;
    d.removed.retain(|c| !taken.contains(&c.id));
    d.added.retain(|c| !taken.contains(&c.id));
    d
}

/// Connections with their atoms, for [`match_by_connection`].
fn side(only: &[Connection]) -> Side<'_> {
    only.iter().map(|c| (c.id.as_str(), c, atoms(c))).collect()
}

/// The fields of two connections that differ (the source only `with_source`).
fn field_changes(l: &Connection, r: &Connection, with_source: bool) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut field = |name: &'static str, x: String, y: String| {
        if x != y {
            changes.push(Change {
                field: name,
                from: x,
                to: y,
            });
        }
    };
    field("description", l.description.clone(), r.description.clone());
    field("component", l.component.clone(), r.component.clone());
    field(
        "feature",
        l.feature.clone().unwrap_or_else(|| "(always)".into()),
        r.feature.clone().unwrap_or_else(|| "(always)".into()),
    );
    field("protocols", l.protocols.clone(), r.protocols.clone());
    field("ports", l.ports.clone(), r.ports.clone());
    field("directions", l.directions.clone(), r.directions.clone());
    field("written", l.written.clone(), r.written.clone());
    field("peer", l.peer.clone(), r.peer.clone());
    field("hosts", l.hosts.join(","), r.hosts.join(","));
    field("addresses", l.addresses.join(","), r.addresses.join(","));
    field(
        "site addition",
        l.site_addition.to_string(),
        r.site_addition.to_string(),
    );
    field(
        "configurable",
        l.configurable.to_string(),
        r.configurable.to_string(),
    );
    if with_source {
        field("source", l.source.clone(), r.source.clone());
    }
    changes
}

/// The difference between two whole catalogues.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CatalogueDiff {
    /// `product version` present only in the new catalogue.
    pub added_versions: Vec<String>,
    /// `product version` present only in the old catalogue.
    pub removed_versions: Vec<String>,
    /// Versions in both, with their changes (unchanged ones left out).
    pub changed_versions: Vec<VersionDiff>,
}

pub fn catalogues(old: &Catalogue, new: &Catalogue) -> CatalogueDiff {
    let key = |c: &Catalogue| -> BTreeMap<(String, String), ProductVersion> {
        c.products
            .values()
            .flat_map(|p| {
                p.versions
                    .values()
                    .map(|v| ((p.id.clone(), v.version.to_string()), v.clone()))
            })
            .collect()
    };
    let (o, n) = (key(old), key(new));
    let mut d = CatalogueDiff::default();
    let all: BTreeSet<&(String, String)> = o.keys().chain(n.keys()).collect();
    for k in all {
        match (o.get(k), n.get(k)) {
            (None, Some(_)) => d.added_versions.push(format!("{} {}", k.0, k.1)),
            (Some(_), None) => d.removed_versions.push(format!("{} {}", k.0, k.1)),
            (Some(a), Some(b)) => {
                let v = versions(a, b, &|_| true, &|_| true, true);
                if !v.is_empty() {
                    d.changed_versions.push(v);
                }
            }
            (None, None) => {}
        }
    }
    d
}

/// Plain text, one line per connection.
pub fn text(diffs: &[VersionDiff], header: &[String]) -> String {
    let mut s = String::new();
    for h in header {
        let _ = writeln!(s, "{h}");
    }
    for d in diffs {
        let _ = writeln!(
            s,
            "{} {} -> {}: {} added, {} removed, {} changed, {} matched under other ids",
            d.product,
            d.from,
            d.to,
            d.added.len(),
            d.removed.len(),
            d.changed.len(),
            d.matched.len()
        );
        for c in &d.added {
            let _ = writeln!(s, "  + {}  {}", c.id, c.summary());
        }
        for c in &d.removed {
            let _ = writeln!(s, "  - {}  {}", c.id, c.summary());
        }
        for c in &d.changed {
            let _ = writeln!(s, "  ~ {}", c.id);
            for ch in &c.changes {
                let _ = writeln!(s, "      {}: {} -> {}", ch.field, ch.from, ch.to);
            }
        }
        for m in &d.matched {
            let same = m.removed.is_empty() && m.added.is_empty();
            let _ = writeln!(
                s,
                "  {} {} -> {}{}",
                if same { '=' } else { '>' },
                m.from.join(", "),
                m.to.join(", "),
                if same { "  (the same connections)" } else { "" }
            );
            for (what, list) in [
                ("kept", &m.kept),
                ("removed", &m.removed),
                ("added", &m.added),
            ] {
                for l in list {
                    let _ = writeln!(s, "      {what}: {l}");
                }
            }
            for ch in &m.changes {
                let _ = writeln!(s, "      {}: {} -> {}", ch.field, ch.from, ch.to);
            }
        }
    }
    s
}

use crate::text::markdown as md_cell;

/// Markdown tables for a change ticket; `header` lines become headings.
pub fn markdown(diffs: &[VersionDiff], header: &[String]) -> String {
    let mut s = String::new();
    for h in header {
        let _ = writeln!(s, "# {}\n", md_cell(h));
    }
    for d in diffs {
        let _ = writeln!(
            s,
            "## {} {} → {}\n",
            d.product,
            md_cell(&d.from),
            md_cell(&d.to)
        );
        for (title, list) in [("Added", &d.added), ("Removed", &d.removed)] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(
                s,
                "### {title} ({})\n\n| entry | protocol | ports | direction | peer | feature | description |\n|---|---|---|---|---|---|---|",
                list.len()
            );
            for c in list {
                let _ = writeln!(
                    s,
                    "| `{}` | {} | {} | {} | {} | {} | {} |",
                    c.id,
                    md_cell(&c.protocols),
                    md_cell(&c.ports),
                    md_cell(&c.directions),
                    md_cell(&c.peer),
                    c.feature.as_deref().unwrap_or("always"),
                    md_cell(&c.description)
                );
            }
            s.push('\n');
        }
        if !d.changed.is_empty() {
            let _ = writeln!(
                s,
                "### Changed ({})\n\n| entry | field | from | to |\n|---|---|---|---|",
                d.changed.len()
            );
            for c in &d.changed {
                for ch in &c.changes {
                    let _ = writeln!(
                        s,
                        "| `{}` | {} | {} | {} |",
                        c.id,
                        ch.field,
                        md_cell(&ch.from),
                        md_cell(&ch.to)
                    );
                }
            }
            s.push('\n');
        }
        matched_markdown(&mut s, &d.matched);
    }
    s
}

/// The "same connections under other ids" table.
fn matched_markdown(s: &mut String, matched: &[Matched]) {
    if matched.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "### Under other ids ({})\n\n| old entries | new entries | kept | removed | added | other changes |\n|---|---|---|---|---|---|",
        matched.len()
    );
    let ids = |v: &[String]| {
        v.iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let cell = |v: &[String]| md_cell(&v.join("; "));
    for m in matched {
        let changes: Vec<String> = m
            .changes
            .iter()
            .map(|c| format!("{}: {} → {}", c.field, c.from, c.to))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            ids(&m.from),
            ids(&m.to),
            cell(&m.kept),
            cell(&m.removed),
            cell(&m.added),
            cell(&changes)
        );
    }
    s.push('\n');
}
