//! One product version's file, read, into the model: every id, reference, port and address
//! checked on the way, every problem reported with its line.

mod checks;
mod directions;

use super::*;

/// A site file's own entries (`entries:`) for one product version, with the checks of a
/// catalogue entry (references, directions, empty lists) and two more: an id no entry of the
/// product version has, and no `source:` (the site file's line is the provenance, recorded
/// as the entry's source line with section `site file`). `path` and `text` are the site
/// file's, for positions.
pub(crate) fn site_entries(
    path: &str,
    text: &str,
    pv: &ProductVersion,
    raw: &[raw::Entry],
    own_roles: &[&str],
) -> Result<Vec<Entry>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut ids = Ids::of(pv);
    // The site's own roles (its `roles:` that the catalogue lacks) serve its own entries.
    ids.roles.extend(own_roles.iter().map(|r| r.to_string()));
    let mut ctx = Ctx {
        path,
        pos: std::cell::OnceCell::new(),
        text,
        errors: &mut errors,
    };
    ctx.unique_ids("entries", "site entry", raw.iter().map(|e| e.id.0.as_str()));
    let mut out = Vec::with_capacity(raw.len());
    for e in raw {
        let at = At::Item("entries", &e.id.0);
        if pv.entries.iter().any(|c| c.id == e.id.0) {
            ctx.err(
                at,
                Problem::Invalid(format!(
                    "site entry `{}`: {} {} has an entry of that id; give the site's own entry \
                     another id (to change a catalogue entry's ports, use `ports:`)",
                    e.id.0, pv.product, pv.version
                )),
            );
        }
        if e.source.is_some() {
            ctx.err(
                at,
                Problem::Invalid(format!(
                    "site entry `{}`: `source:` is for catalogue entries; a site entry's \
                     provenance is its line in the site file (say why in `notes:`)",
                    e.id.0
                )),
            );
        }
        if e.other_end_of.is_some() {
            ctx.err(
                at,
                Problem::Invalid(format!(
                    "site entry `{}`: `other_end_of:` is for catalogue entries (the other end of \
                     a row); a site entry says what it admits itself",
                    e.id.0
                )),
            );
        }
        let line = ctx.line_of(at);
        let mut entry = ctx.entry(e.clone(), &ids);
        entry.source = Source {
            section: "site file".into(),
            row: e.id.0.clone(),
            line,
        };
        entry.site_addition = true;
        out.push(entry);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The model of one product version from what is left of its file.
fn assemble(
    raw: raw::File,
    name: &str,
    host_groups: Vec<HostGroup>,
    entries: Vec<Entry>,
) -> ProductVersion {
    ProductVersion {
        digest: String::new(),
        product: raw.product.0,
        title: raw.title,
        version: Version::new(raw.version.0),
        path: name.to_string(),
        document: Document {
            file: raw.document.file,
            title: raw.document.title,
        },
        notes: raw.notes,
        components: raw
            .components
            .into_iter()
            .map(|c| Component {
                id: c.id.0,
                description: c.description,
                platform: c.platform,
                source: c.source.map(source),
            })
            .collect(),
        roles: raw
            .roles
            .into_iter()
            .map(|r| Role {
                id: r.id.0,
                description: r.description,
            })
            .collect(),
        features: raw
            .features
            .into_iter()
            .map(|f| Feature {
                id: f.id.0,
                description: f.description,
                default: f.default,
                implies: f.implies.into_iter().map(|i| i.0).collect(),
            })
            .collect(),
        group_index: host_groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.clone(), i))
            .collect(),
        host_groups,
        entries,
    }
}

/// Validation context for one file.
pub(super) struct Ctx<'a> {
    pub(super) path: &'a str,
    /// Item lines, scanned only when an error needs one (big catalogues load faster).
    pub(super) pos: std::cell::OnceCell<Positions>,
    pub(super) text: &'a str,
    pub(super) errors: &'a mut Vec<Diagnostic>,
}

/// Where an item sits, resolved to a line only when reported.
#[derive(Clone, Copy)]
enum At<'s> {
    Line(usize),
    Item(&'static str, &'s str),
}

impl Ctx<'_> {
    fn pos(&self) -> &Positions {
        self.pos.get_or_init(|| Positions::scan(self.text))
    }

    fn line_of(&self, at: At<'_>) -> usize {
        match at {
            At::Line(l) => l,
            At::Item(section, id) => self.pos().line(section, id),
        }
    }

    fn err(&mut self, at: At<'_>, kind: Problem) {
        let line = self.line_of(at);
        self.errors.push(Diagnostic {
            path: self.path.to_string(),
            line,
            column: None,
            kind,
        });
    }

    /// Report duplicate ids in one section; return the set of ids.
    fn unique_ids<'i>(
        &mut self,
        section: &str,
        what: &'static str,
        ids: impl Iterator<Item = &'i str>,
    ) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        for id in ids {
            if !seen.insert(id.to_string()) {
                let lines = self.pos().lines(section, id);
                let first_line = lines.first().copied().unwrap_or(1);
                let line = lines.get(1).copied().unwrap_or(first_line);
                self.err(
                    At::Line(line),
                    Problem::Duplicate {
                        what,
                        id: id.to_string(),
                        first_line,
                    },
                );
            }
        }
        seen
    }

    fn check_ref(
        &mut self,
        at: At<'_>,
        referrer: String,
        what: &'static str,
        id: &str,
        known: &BTreeSet<String>,
    ) -> bool {
        if known.contains(id) {
            return true;
        }
        let hint = hint(id, known.iter().map(String::as_str));
        self.err(
            at,
            Problem::Unknown {
                referrer,
                what,
                id: id.to_string(),
                hint,
            },
        );
        false
    }

    pub(super) fn product_version(
        &mut self,
        mut raw: raw::File,
        name: &str,
    ) -> Option<ProductVersion> {
        let before = self.errors.len();
        self.check_top(&raw);
        let ids = Ids {
            components: self.unique_ids(
                "components",
                "component",
                raw.components.iter().map(|c| c.id.0.as_str()),
            ),
            roles: self.unique_ids("roles", "role", raw.roles.iter().map(|r| r.id.0.as_str())),
            features: self.unique_ids(
                "features",
                "feature",
                raw.features.iter().map(|f| f.id.0.as_str()),
            ),
            groups: self.unique_ids(
                "host_groups",
                "host group",
                raw.host_groups.iter().map(|g| g.id.0.as_str()),
            ),
            default_component: if raw.components.iter().any(|c| c.id.0 == "gateway") {
                "gateway".to_string()
            } else {
                raw.components
                    .first()
                    .map(|c| c.id.0.clone())
                    .unwrap_or_default()
            },
        };
        self.unique_ids(
            "entries",
            "entry",
            raw.entries.iter().map(|e| e.id.0.as_str()),
        );
        for f in &raw.features {
            let line = At::Item("features", &f.id.0);
            for imp in &f.implies {
                self.check_ref(
                    line,
                    format!("feature `{}`", f.id.0),
                    "feature",
                    &imp.0,
                    &ids.features,
                );
            }
        }
        // `collect` builds these in the raw lists' buffers (grown by doubling as pieces were
        // appended, and of larger items): shrunk, they hold only the model, which lives
        // until every selection is made.
        let mut host_groups: Vec<HostGroup> = std::mem::take(&mut raw.host_groups)
            .into_iter()
            .map(|g| self.host_group(g))
            .collect();
        host_groups.shrink_to_fit();
        let mut entries: Vec<Entry> = std::mem::take(&mut raw.entries)
            .into_iter()
            .map(|e| {
                if e.source.is_none() {
                    self.err(
                        At::Item("entries", &e.id.0),
                        Problem::Invalid(format!(
                            "entry `{}`: missing field `source` (the document's row: section, \
                             row and line)",
                            e.id.0
                        )),
                    );
                }
                self.entry(e, &ids)
            })
            .collect();
        entries.shrink_to_fit();
        let pv = assemble(raw, name, host_groups, entries);
        // Everything declared must be used: a feature that enables nothing is a mistake.
        // After a broken reference these checks would only repeat it, so they wait for a fix.
        if self.errors.len() > before {
            return None;
        }
        self.check_use(&pv);
        self.check_provenance(&pv);
        self.check_other_ends(&pv);
        (self.errors.len() == before).then_some(pv)
    }

    /// One entry, its references checked against `ids`.
    fn entry(&mut self, e: raw::Entry, ids: &Ids) -> Entry {
        let line = At::Item("entries", &e.id.0);
        let referrer = format!("entry `{}`", e.id.0);
        let services = self.services(line, &referrer, &e);
        let component = e
            .component
            .map_or_else(|| ids.default_component.clone(), |c| c.0);
        self.check_ref(
            line,
            referrer.clone(),
            "component",
            &component,
            &ids.components,
        );
        if let Some(f) = &e.feature {
            self.check_ref(line, referrer.clone(), "feature", &f.0, &ids.features);
        }
        let peer = match e.peer {
            raw::Peer::Any => Peer::Any,
            raw::Peer::Role(r) => {
                self.check_ref(line, referrer.clone(), "role", &r.0, &ids.roles);
                Peer::Role(r.0)
            }
            raw::Peer::Group(g) => {
                self.check_ref(line, referrer.clone(), "host group", &g.0, &ids.groups);
                Peer::Group(g.0)
            }
        };
        for (field, empty) in [
            ("protocols", e.protocols.is_empty()),
            ("directions", e.directions.is_empty()),
        ] {
            if empty {
                self.err(
                    line,
                    Problem::EmptyList {
                        what: referrer.clone(),
                        field,
                    },
                );
            }
        }
        let written = Written::from_list(&e.directions);
        if written.is_none() && !e.directions.is_empty() {
            let list: Vec<&str> = e.directions.iter().map(|d| d.as_str()).collect();
            self.err(
                line,
                Problem::Invalid(format!(
                    "{referrer}: directions `[{}]` must be the document's cell: `[in]`, `[out]`, \
                     `[in, out]` (In/Out) or `[out, in]` (Out/In)",
                    list.join(", ")
                )),
            );
        }
        let directions = self.directions(line, &referrer, written, e.opens, &e.reading);
        Entry {
            id: e.id.0,
            component,
            description: e.description,
            services,
            written: written.unwrap_or(Written::Out),
            directions,
            opens: e.opens,
            reading: e.reading,
            other_end_of: e.other_end_of.map(|i| i.0),
            application: e.application,
            peer,
            feature: e.feature.map(|f| f.0),
            configurable: e.configurable,
            notes: e.notes,
            source: e.source.map(source).unwrap_or_default(),
            site_addition: false,
        }
    }

    /// An entry's services: TCP and UDP with `ports:`, or ICMP with `icmp_types:`; one
    /// error for a list that does not fit its protocols.
    fn services(&mut self, line: At<'_>, referrer: &str, e: &raw::Entry) -> Vec<Service> {
        let protocols: BTreeSet<Protocol> = e.protocols.iter().copied().collect();
        let icmp = protocols.contains(&Protocol::Icmp);
        let problem = if icmp && protocols.len() > 1 {
            Some(format!(
                "{referrer}: `icmp` cannot share an entry with `tcp` or `udp` (ICMP has types, \
                 not ports): give ICMP an entry of its own"
            ))
        } else if icmp && !e.ports.is_empty() {
            Some(format!(
                "{referrer}: `ports:` with `protocols: [icmp]`: ICMP has no ports; name its \
                 messages with `icmp_types:` (for example `[echo-request]`)"
            ))
        } else if icmp && e.icmp_types.is_empty() {
            Some(format!(
                "{referrer}: `protocols: [icmp]` needs `icmp_types:` (for example `[echo-request]`)"
            ))
        } else if icmp && e.configurable {
            Some(format!(
                "{referrer}: `configurable: true` is for ports; ICMP has none"
            ))
        } else if !icmp && !e.icmp_types.is_empty() {
            Some(format!(
                "{referrer}: `icmp_types:` with `protocols: [{}]`: only ICMP has types; use \
                 `ports:` for TCP and UDP",
                protocols
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        } else if !protocols.is_empty() && !icmp && e.ports.is_empty() {
            self.err(
                line,
                Problem::EmptyList {
                    what: referrer.to_string(),
                    field: "ports",
                },
            );
            None
        } else {
            None
        };
        if let Some(message) = problem {
            self.err(line, Problem::Invalid(message));
        }
        let ports = PortSet::new(e.ports.iter().copied());
        let types = IcmpTypes::new(e.icmp_types.iter().copied());
        protocols
            .into_iter()
            .map(|p| Service::of(p, &ports, &types))
            .collect()
    }

    fn host_group(&mut self, g: raw::HostGroup) -> HostGroup {
        use crate::model::AddressSource as A;
        let id = g.id.0;
        let line = At::Item("host_groups", &id);
        let listed = !g.addresses.is_empty();
        match (g.address_source, listed) {
            (A::Document, false) => self.err(
                line,
                Problem::Addresses {
                    id: id.clone(),
                    message: "`address_source: document` needs at least one address".into(),
                },
            ),
            (other, true) if other != A::Document => self.err(
                line,
                Problem::Addresses {
                    id: id.clone(),
                    message: format!(
                        "lists addresses but says `address_source: {}`; use `document`",
                        other.as_str()
                    ),
                },
            ),
            _ => {}
        }
        // A server the document describes without a host name or an address ("the Clearswift
        // Update Server") is a group of its own, bound by id in the site file.
        if g.hosts.is_empty() && !listed && g.address_source != A::NotGiven {
            self.err(
                line,
                Problem::Addresses {
                    id: id.clone(),
                    message: format!(
                        "names no host and no address: use `address_source: not-given` for a server \
                         the document describes without either (was `{}`)",
                        g.address_source.as_str()
                    ),
                },
            );
        }
        HostGroup {
            id,
            description: g.description,
            hosts: g.hosts,
            addresses: aggregate(g.addresses.into_iter().map(|a| a.net())),
            address_source: g.address_source,
            reference: g.reference,
            retired: g
                .retired
                .into_iter()
                .map(|r| Retired {
                    addresses: aggregate(r.addresses.into_iter().map(|a| a.net())),
                    date: r.date,
                    source: source(r.source),
                })
                .collect(),
            source: source(g.source),
        }
    }
}

fn source(s: raw::Source) -> Source {
    Source {
        section: s.section,
        row: s.row,
        line: s.line,
    }
}
