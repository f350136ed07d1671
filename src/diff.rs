//! What changed between two product versions, or between two catalogues: connections added,
//! removed and changed, matched by entry id.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::Serialize;

use crate::model::{Catalogue, Entry, Peer, ProductVersion};

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
    /// `document: section, row (line N)`.
    pub source: String,
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
        let join = |v: Vec<String>| v.join(",");
        Connection {
            id: e.id.clone(),
            description: e.description.clone(),
            component: e.component.clone(),
            feature: e.feature.clone(),
            protocols: join(e.protocols.iter().map(ToString::to_string).collect()),
            ports: e.ports.to_string(),
            directions: join(e.directions.iter().map(ToString::to_string).collect()),
            written: e.written.to_string(),
            peer,
            hosts,
            addresses,
            configurable: e.configurable,
            source: format!(
                "{}: {}, {} (line {})",
                pv.document.file, e.source.section, e.source.row, e.source.line
            ),
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
        s
    }
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

/// The difference between two versions (or two catalogue files) of one product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionDiff {
    pub product: String,
    pub from: String,
    pub to: String,
    pub added: Vec<Connection>,
    pub removed: Vec<Connection>,
    pub changed: Vec<Changed>,
}

impl VersionDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
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
    let left: BTreeMap<&str, Connection> = a
        .entries
        .iter()
        .filter(|e| keep_a(e))
        .map(|e| (e.id.as_str(), Connection::of(a, e)))
        .collect();
    let right: BTreeMap<&str, Connection> = b
        .entries
        .iter()
        .filter(|e| keep_b(e))
        .map(|e| (e.id.as_str(), Connection::of(b, e)))
        .collect();
    let mut d = VersionDiff {
        product: b.product.clone(),
        from: a.version.to_string(),
        to: b.version.to_string(),
        added: right
            .iter()
            .filter(|(id, _)| !left.contains_key(*id))
            .map(|(_, c)| c.clone())
            .collect(),
        removed: left
            .iter()
            .filter(|(id, _)| !right.contains_key(*id))
            .map(|(_, c)| c.clone())
            .collect(),
        changed: vec![],
    };
    for (id, l) in &left {
        let Some(r) = right.get(id) else { continue };
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
            "configurable",
            l.configurable.to_string(),
            r.configurable.to_string(),
        );
        if with_source {
            field("source", l.source.clone(), r.source.clone());
        }
        if !changes.is_empty() {
            d.changed.push(Changed {
                id: (*id).to_string(),
                changes,
            });
        }
    }
    d
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
            "{} {} -> {}: {} added, {} removed, {} changed",
            d.product,
            d.from,
            d.to,
            d.added.len(),
            d.removed.len(),
            d.changed.len()
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
    }
    s
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Markdown tables for a change ticket.
pub fn markdown(diffs: &[VersionDiff], header: &[String]) -> String {
    let mut s = String::new();
    for h in header {
        let _ = writeln!(s, "{h}\n");
    }
    for d in diffs {
        let _ = writeln!(s, "## {} {} → {}\n", d.product, d.from, d.to);
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
                    c.protocols,
                    c.ports,
                    c.directions,
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
    }
    s
}
