//! `data/*.yaml` → [`Catalogue`]: parse every file, check every reference, report every
//! problem (not just the first).

mod checks;
mod directions;
mod embedded;
mod files;
use files::read_files;
pub(crate) mod raw;
mod split;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sha2::{Digest, Sha256};

pub use crate::diagnostic::{Diagnostic, Diagnostics, Problem};
pub use crate::yaml::{MAX_ALIAS_EXPANSION, MAX_FILE_BYTES, MAX_INDENT, MAX_NESTING};
use crate::yaml::{check_nesting, parse_yaml, read_text};

use crate::model::{
    Catalogue, Component, Direction, Document, Entry, Feature, HostGroup, Opens, Peer, Platform,
    PortSet, Product, ProductVersion, Retired, Role, Source, Version, Written, aggregate,
};
use crate::suggest::hint;
use crate::text::hex;
use crate::yaml::Positions;

/// One catalogue file's text, with the names used for it in messages and output.
struct SourceFile {
    /// As the user sees it: `data/x.yaml` for the shipped catalogue, else the path given.
    display: String,
    /// Part of the catalogue built into fwgen.
    builtin: bool,
    /// The file name alone, used in generated output (never an absolute path).
    name: String,
    text: String,
    /// For a built-in file: the same file as JSON and the file's SHA-256 (`build.rs`),
    /// which read faster than the YAML and its bytes.
    json: Option<(&'static str, &'static str)>,
}

impl SourceFile {
    /// How messages about another file name this one.
    fn place(&self) -> String {
        if self.builtin {
            format!(
                "{} (built into fwgen; --no-builtin-catalogue leaves it out)",
                self.display
            )
        } else {
            self.display.clone()
        }
    }
}

/// Load the catalogue shipped inside the binary.
pub fn load_embedded() -> Result<Catalogue, Diagnostics> {
    build(embedded_files())
}

fn embedded_files() -> Vec<SourceFile> {
    embedded::FILES
        .iter()
        .map(|(name, text)| SourceFile {
            display: format!("data/{name}"),
            builtin: true,
            name: (*name).to_string(),
            text: (*text).to_string(),
            json: embedded::json(name),
        })
        .collect()
}

/// Load the built-in catalogue (if `builtin`) and every path's files (a directory of
/// `*.yaml` files or one file each) as one catalogue: a product version defined twice is an
/// error naming both places. The same path given twice is read once.
pub fn load_all(builtin: bool, paths: &[&Path]) -> Result<Catalogue, Diagnostics> {
    let mut files = if builtin {
        embedded_files()
    } else {
        Vec::new()
    };
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for path in paths {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if seen.insert(key) {
            read_files(path, &mut files, &mut errors);
        }
    }
    finish(build(files), errors)
}

/// Names of the shipped catalogue files (for tests and `products`).
pub fn embedded_file_names() -> impl Iterator<Item = &'static str> {
    embedded::FILES.iter().map(|(n, _)| *n)
}

/// The shipped catalogue files: (name, text).
pub fn embedded_texts() -> impl Iterator<Item = (&'static str, &'static str)> {
    embedded::FILES.iter().copied()
}

/// Load a catalogue from the text of one file named `name` (for tests, fuzzing and tools).
pub fn load_text(name: &str, text: &str) -> Result<Catalogue, Diagnostics> {
    build(vec![SourceFile {
        display: name.to_string(),
        builtin: false,
        name: name.to_string(),
        text: text.to_string(),
        json: None,
    }])
}

/// Load a catalogue from a directory of `*.yaml` files (sorted by name) or from one file,
/// on its own.
pub fn load(path: &Path) -> Result<Catalogue, Diagnostics> {
    load_all(false, &[path])
}

/// The built catalogue, unless reading found problems: then those and the build's, sorted.
fn finish(
    built: Result<Catalogue, Diagnostics>,
    mut errors: Vec<Diagnostic>,
) -> Result<Catalogue, Diagnostics> {
    match built {
        Ok(c) if errors.is_empty() => Ok(c),
        Ok(_) => Err(Diagnostics(errors)),
        Err(Diagnostics(mut more)) => {
            errors.append(&mut more);
            errors.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
            Err(Diagnostics(errors))
        }
    }
}

/// Parse a catalogue file: a big one in pieces on every core (see [`split`]), falling back to
/// the whole document, which also gives every error.
fn parse_file(display: &str, text: &str) -> Result<raw::File, Diagnostics> {
    if text.len() >= split::MIN_BYTES
        && check_nesting(text).is_ok()
        && let Some(file) = split::parse(text, split::PIECE_BYTES)
    {
        return Ok(file);
    }
    parse_yaml(display, text).map_err(|whole| {
        // Well-formed YAML that the schema refuses: find every other problem too. (A YAML
        // syntax error stands alone: the text after it has no reliable structure.)
        let schema = whole.0.iter().all(|d| matches!(d.kind, Problem::Syntax(_)))
            && check_nesting(text).is_ok()
            && serde_yaml::from_str::<serde::de::IgnoredAny>(text).is_ok();
        if schema {
            split::problems(display, text).map_or(whole, Diagnostics)
        } else {
            whole
        }
    })
}

/// For the fuzz target and tests: parsed in pieces of a few bytes, `text` must never succeed
/// where the whole parse fails, and must give the same value where both succeed.
#[doc(hidden)]
pub fn split_agrees(text: &str) -> bool {
    let whole = serde_yaml::from_str::<raw::File>(text)
        .ok()
        .map(|f| format!("{f:?}"));
    [1, 64, 4096].iter().all(|&n| {
        split::parse(text, n).is_none_or(|f| whole.as_deref() == Some(format!("{f:?}").as_str()))
    })
}

/// A file's schema form: the built-in files' JSON, which reads as their YAML does (a test
/// compares the catalogues); the YAML where there is none, or should it not read (the YAML
/// then reports the problem).
fn read_raw(f: &SourceFile) -> Result<raw::File, Diagnostics> {
    let json = f
        .json
        .and_then(|(j, _)| serde_json::from_str::<raw::File>(j).ok());
    json.map_or_else(|| parse_file(&f.display, &f.text), Ok)
}

fn build(files: Vec<SourceFile>) -> Result<Catalogue, Diagnostics> {
    let mut errors = Vec::new();
    let mut hasher = Sha256::new();
    // (path for messages about this file, how other files' messages name it, the version)
    let mut versions: Vec<(String, String, ProductVersion)> = Vec::new();
    for f in &files {
        // The catalogue's digest covers every file's name and digest (the file's SHA-256).
        let file_digest = f.json.map_or_else(
            || hex(&Sha256::digest(f.text.as_bytes())),
            |(_, d)| d.to_string(),
        );
        for part in [f.name.as_bytes(), file_digest.as_bytes()] {
            hasher.update(part);
            hasher.update([0]);
        }
        let raw: raw::File = match read_raw(f) {
            Ok(r) => r,
            Err(Diagnostics(mut e)) => {
                errors.append(&mut e);
                continue;
            }
        };
        let mut ctx = Ctx {
            path: &f.display,
            pos: std::cell::OnceCell::new(),
            text: &f.text,
            errors: &mut errors,
        };
        if let Some(mut pv) = ctx.product_version(raw, &f.name) {
            pv.digest = file_digest;
            versions.push((f.display.clone(), f.place(), pv));
        }
    }
    let mut products: BTreeMap<String, Product> = BTreeMap::new();
    let mut origin: BTreeMap<(String, Version), String> = BTreeMap::new();
    for (display, place, pv) in versions {
        let key = (pv.product.clone(), pv.version.clone());
        if let Some(other) = origin.get(&key) {
            errors.push(Diagnostic {
                path: display,
                line: 1,
                column: None,
                kind: Problem::DuplicateVersion {
                    product: pv.product.clone(),
                    version: pv.version.to_string(),
                    other: other.clone(),
                },
            });
            continue;
        }
        origin.insert(key, place);
        let product = products
            .entry(pv.product.clone())
            .or_insert_with(|| Product {
                id: pv.product.clone(),
                title: pv.title.clone(),
                versions: BTreeMap::new(),
            });
        if product.title != pv.title {
            let other = product.newest().map(|v| v.path.clone()).unwrap_or_default();
            errors.push(Diagnostic {
                path: display,
                line: 1,
                column: None,
                kind: Problem::TitleMismatch {
                    product: pv.product.clone(),
                    title: pv.title.clone(),
                    other_title: product.title.clone(),
                    other,
                },
            });
            continue;
        }
        product.versions.insert(pv.version.clone(), pv);
    }
    if !errors.is_empty() {
        errors.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        return Err(Diagnostics(errors));
    }
    let digest = hex(&hasher.finalize());
    Ok(Catalogue { products, digest })
}

/// The ids a product version declares, for checking references to them.
struct Ids {
    components: BTreeSet<String>,
    roles: BTreeSet<String>,
    features: BTreeSet<String>,
    groups: BTreeSet<String>,
    /// `gateway` if declared, else the first component.
    default_component: String,
}

impl Ids {
    /// The ids a built product version declares.
    fn of(pv: &ProductVersion) -> Ids {
        let set = |ids: Vec<&String>| ids.into_iter().cloned().collect();
        Ids {
            components: set(pv.components.iter().map(|c| &c.id).collect()),
            roles: set(pv.roles.iter().map(|r| &r.id).collect()),
            features: set(pv.features.iter().map(|f| &f.id).collect()),
            groups: set(pv.host_groups.iter().map(|g| &g.id).collect()),
            default_component: pv.default_component().to_string(),
        }
    }
}

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
) -> Result<Vec<Entry>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let ids = Ids::of(pv);
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
struct Ctx<'a> {
    path: &'a str,
    /// Item lines, scanned only when an error needs one (big catalogues load faster).
    pos: std::cell::OnceCell<Positions>,
    text: &'a str,
    errors: &'a mut Vec<Diagnostic>,
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

    fn product_version(&mut self, mut raw: raw::File, name: &str) -> Option<ProductVersion> {
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
        let host_groups: Vec<HostGroup> = std::mem::take(&mut raw.host_groups)
            .into_iter()
            .map(|g| self.host_group(g))
            .collect();
        let entries: Vec<Entry> = std::mem::take(&mut raw.entries)
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
            ("ports", e.ports.is_empty()),
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
            protocols: e.protocols.into_iter().collect(),
            ports: PortSet::new(e.ports),
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

#[cfg(test)]
mod tests {
    use super::{SourceFile, build, embedded, embedded_files, load_embedded, split, split_agrees};
    use crate::yaml::{hide_strings, strip_positions};

    /// One parser, one answer: the built-in catalogue read from its build-time JSON (what
    /// every run does) is the catalogue read from its YAML, and every file has its JSON.
    #[test]
    fn the_builtin_json_reads_as_the_yaml() {
        let from_json = load_embedded().unwrap();
        let files: Vec<SourceFile> = embedded_files()
            .into_iter()
            .map(|f| {
                assert!(f.json.is_some(), "{} has no JSON form", f.name);
                SourceFile { json: None, ..f }
            })
            .collect();
        assert_eq!(from_json, build(files).unwrap());
    }

    #[test]
    fn shipped_files_parse_the_same_in_pieces() {
        for (name, text) in embedded::FILES {
            assert!(split_agrees(text), "{name}");
            assert!(split::parse(text, 1).is_some(), "{name} should split");
        }
    }

    #[test]
    fn type_errors_do_not_show_the_files_text() {
        let m = hide_strings(
            r#"invalid type: string "root:x:0:0 \"q\" SECRET=x", expected struct RawSite"#,
        );
        assert!(!m.contains("SECRET") && !m.contains("root:x"), "{m}");
        assert!(
            m.starts_with("invalid type: a string (not shown), expected struct RawSite"),
            "{m}"
        );
        assert_eq!(hide_strings("unknown field `x`"), "unknown field `x`");
        assert_eq!(
            hide_strings("unknown field `root:$6$salt:1::`, expected one of `a`"),
            "unknown field (not shown), expected one of `a`"
        );
    }

    #[test]
    fn strips_libyaml_positions() {
        assert_eq!(
            strip_positions(
                "did not find expected key at line 45 column 18, while parsing a block mapping at line 26 column 5"
            ),
            "did not find expected key, while parsing a block mapping"
        );
        assert_eq!(strip_positions("at line x"), "at line x");
    }
}
