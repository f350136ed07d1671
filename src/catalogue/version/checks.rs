//! The checks made on a product version once it is assembled: the version label, provenance,
//! the other ends of rows, and that everything declared is used.

use super::*;

impl Ctx<'_> {
    /// The version label and the component list.
    pub(super) fn check_top(&mut self, raw: &raw::File) {
        if raw.version.0.trim().is_empty() || raw.version.0.contains(char::is_whitespace) {
            let line = Positions::top(self.text, "version");
            self.err(
                At::Line(line),
                Problem::Invalid(format!(
                    "version `{}` must be a label without spaces, such as `5.3`",
                    raw.version.0
                )),
            );
        }
        if raw.components.is_empty() {
            let line = Positions::top(self.text, "components");
            self.err(
                At::Line(line),
                Problem::EmptyList {
                    what: "the file".into(),
                    field: "components",
                },
            );
        }
        for c in &raw.components {
            if c.platform == Platform::Windows && c.source.is_none() {
                self.err(
                    At::Item("components", &c.id.0),
                    Problem::Invalid(format!(
                        "component `{}` says `platform: windows` without `source:`: cite the \
                         document's line that names its firewall",
                        c.id.0
                    )),
                );
            }
        }
    }
    /// Every `source.line` is a line of the document: 1 or more, and for a table that cites
    /// itself (`document.file` is the catalogue file's own name, as for a product without a
    /// vendor document) a line of this file.
    pub(super) fn check_provenance(&mut self, pv: &ProductVersion) {
        let own = (pv.document.file == pv.path).then(|| self.text.lines().count());
        let mut cited: Vec<(At<'_>, String, usize)> = Vec::new();
        for e in &pv.entries {
            cited.push((
                At::Item("entries", &e.id),
                format!("entry `{}`", e.id),
                e.source.line,
            ));
        }
        for g in &pv.host_groups {
            let at = At::Item("host_groups", &g.id);
            cited.push((at, format!("host group `{}`", g.id), g.source.line));
        }
        for (at, what, line) in cited {
            let problem = match own {
                _ if line == 0 => Some("lines are counted from 1".to_string()),
                Some(n) if line > n => Some(format!("this file has {n} lines")),
                _ => None,
            };
            if let Some(why) = problem {
                self.err(
                    at,
                    Problem::Invalid(format!(
                        "{what}: `source.line: {line}` is no line of `{}`: {why}",
                        pv.document.file
                    )),
                );
            }
        }
    }
    /// Each `other_end_of` names an entry of another component whose connection this one
    /// is the far end of: the same protocols, ports and row, the directions reversed.
    pub(super) fn check_other_ends(&mut self, pv: &ProductVersion) {
        for e in &pv.entries {
            let Some(other) = &e.other_end_of else {
                continue;
            };
            let at = At::Item("entries", &e.id);
            let Some(o) = pv.entries.iter().find(|o| &o.id == other) else {
                let ids: Vec<&str> = pv.entries.iter().map(|o| o.id.as_str()).collect();
                self.err(
                    at,
                    Problem::Invalid(format!(
                        "entry `{}`: `other_end_of: {other}` names no entry{}",
                        e.id,
                        hint(other, ids.iter().copied())
                    )),
                );
                continue;
            };
            let reversed: BTreeSet<Direction> = o.directions.iter().map(|d| d.reversed()).collect();
            let why = if o.component == e.component {
                Some("is of the same component (the other end is another host's)")
            } else if o.services != e.services {
                Some("has other protocols or ports")
            } else if reversed != e.directions {
                Some("is not opened the other way round")
            } else if o.source.line != e.source.line {
                Some("cites another row (the other end cites the same row)")
            } else {
                None
            };
            if let Some(why) = why {
                self.err(
                    at,
                    Problem::Invalid(format!(
                        "entry `{}`: `other_end_of: {other}`: that entry {why}",
                        e.id
                    )),
                );
            }
        }
    }
    /// Every feature enables something, every role and host group is some entry's peer.
    pub(super) fn check_use(&mut self, pv: &ProductVersion) {
        let enabling = pv.features_enabling_something(None);
        for f in &pv.features {
            if !enabling.contains(f.id.as_str()) {
                self.err(
                    At::Item("features", &f.id),
                    Problem::FeatureEnablesNothing { id: f.id.clone() },
                );
            }
        }
        let used: BTreeSet<&Peer> = pv.entries.iter().map(|e| &e.peer).collect();
        for r in &pv.roles {
            if !used.contains(&Peer::Role(r.id.clone())) {
                self.err(
                    At::Item("roles", &r.id),
                    Problem::Unused {
                        what: "role",
                        id: r.id.clone(),
                    },
                );
            }
        }
        for g in &pv.host_groups {
            if !used.contains(&Peer::Group(g.id.clone())) {
                self.err(
                    At::Item("host_groups", &g.id),
                    Problem::Unused {
                        what: "host group",
                        id: g.id.clone(),
                    },
                );
            }
        }
    }
}
