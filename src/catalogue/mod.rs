//! `data/*.yaml` → [`Catalogue`]: parse every file, check every reference, report every
//! problem (not just the first).

mod embedded;
mod files;
use files::read_files;
pub(crate) mod raw;
mod split;
mod version;
use version::Ctx;
pub(crate) use version::site_entries;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sha2::{Digest, Sha256};

pub use crate::diagnostic::{Diagnostic, Diagnostics, Problem};
pub use crate::yaml::{MAX_ALIAS_EXPANSION, MAX_FILE_BYTES, MAX_INDENT, MAX_NESTING};
use crate::yaml::{check_nesting, parse_yaml, read_text};

use crate::model::{
    Catalogue, Component, Direction, Document, Entry, Feature, HostGroup, IcmpTypes, Opens, Peer,
    Platform, PortSet, Product, ProductVersion, Protocol, Retired, Role, Service, Source, Version,
    Written, aggregate,
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
    /// Borrowed from the binary for a built-in file.
    text: std::borrow::Cow<'static, str>,
    /// For a built-in file: what `build.rs` recorded (its JSON, which reads faster than the
    /// YAML, its SHA-256, product and version); `None` for every other file.
    json: Option<&'static embedded::Built>,
}

impl SourceFile {
    /// The file's SHA-256 (the built-in files' from `build.rs`).
    fn digest(&self) -> String {
        self.json.map_or_else(
            || hex(&Sha256::digest(self.text.as_bytes())),
            |b| b.digest.to_string(),
        )
    }

    /// To be read for `only` (see [`build`]).
    fn wanted(&self, only: Only<'_>) -> bool {
        match only {
            Only::All => true,
            // Only build.rs's record says a file describes another product (or version): every
            // file given has none, and a built-in file whose product it could not tell is
            // read too.
            Only::Part(products, version) => self.json.is_none_or(|b| {
                b.product.is_empty()
                    || products.contains(b.product) && version.is_none_or(|v| v == b.version)
            }),
        }
    }

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
    build(&embedded_files(), Only::All)
}

fn embedded_files() -> Vec<SourceFile> {
    embedded::FILES
        .iter()
        .map(|(name, text)| SourceFile {
            display: format!("data/{name}"),
            builtin: true,
            name: (*name).to_string(),
            text: std::borrow::Cow::Borrowed(text),
            json: embedded::built(name),
        })
        .collect()
}

/// Load the built-in catalogue (if `builtin`) and every path's files (a directory of
/// `*.yaml` files or one file each) as one catalogue: a product version defined twice is an
/// error naming both places. The same path given twice is read once.
pub fn load_all(builtin: bool, paths: &[&Path]) -> Result<Catalogue, Diagnostics> {
    load_all_for(builtin, paths, None, None)
}

/// [`load_all`] for a run about `products` only (when given), and about one `version` of
/// them: the built-in files of other products are not read (a run for one product reads a
/// fifth of the built-in catalogue), nor, when no file is given and a built-in file has
/// `version`, those of the products' other versions; the digest is the whole catalogue's.
/// Whenever that could change the answer, all is read, so that the catalogue and every
/// message are [`load_all`]'s: when a product wanted is missing (the unknown-product message
/// lists every product), when a file given defines a product the built-in files left out
/// describe (a version defined twice, a title that differs), and when anything is wrong.
pub fn load_all_for(
    builtin: bool,
    paths: &[&Path],
    products: Option<&BTreeSet<String>>,
    version: Option<&str>,
) -> Result<Catalogue, Diagnostics> {
    let mut files = if builtin {
        embedded_files()
    } else {
        Vec::new()
    };
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for path in paths {
        // The same file named twice (by two paths) is read once.
        let key = if paths.len() == 1 {
            path.to_path_buf()
        } else {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        };
        if seen.insert(key) {
            read_files(path, &mut files, &mut errors);
        }
    }
    if let Some(products) = products.filter(|_| errors.is_empty()) {
        // One version only when nothing but built-in files can define it (they agree with
        // each other) and one of them has it; otherwise all of the products' files, for the
        // message that lists their versions.
        let version = version.filter(|v| {
            files.iter().all(|f| f.builtin)
                && files.iter().any(|f| {
                    f.json
                        .is_some_and(|b| products.contains(b.product) && b.version == *v)
                })
        });
        let only = Only::Part(products, version);
        let left_out: BTreeSet<&str> = files
            .iter()
            .filter(|f| !f.wanted(only))
            .filter_map(|f| f.json.map(|b| b.product))
            .filter(|p| !products.contains(*p))
            .collect();
        if let Ok(cat) = build(&files, only)
            && products.iter().all(|p| cat.products.contains_key(p))
            && cat.products.keys().all(|p| !left_out.contains(p.as_str()))
        {
            return Ok(cat);
        }
    }
    finish(build(&files, Only::All), errors)
}

/// Names of the shipped catalogue files (for tests and `products`).
pub fn embedded_file_names() -> impl Iterator<Item = &'static str> {
    embedded::FILES.iter().map(|(n, _)| *n)
}

/// The SHA-256 of every shipped catalogue file, in name order, as build.rs recorded it; `None`
/// if build.rs could not read a file (its YAML is then read, and reported on, at run time).
pub fn embedded_digests() -> Option<Vec<String>> {
    embedded::FILES
        .iter()
        .map(|(name, _)| embedded::built(name).map(|b| b.digest.to_string()))
        .collect()
}

/// The shipped catalogue files: (name, text).
pub fn embedded_texts() -> impl Iterator<Item = (&'static str, &'static str)> {
    embedded::FILES.iter().copied()
}

/// Load a catalogue from the text of one file named `name` (for tests, fuzzing and tools).
pub fn load_text(name: &str, text: &str) -> Result<Catalogue, Diagnostics> {
    build(
        &[SourceFile {
            display: name.to_string(),
            builtin: false,
            name: name.to_string(),
            text: text.to_string().into(),
            json: None,
        }],
        Only::All,
    )
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
/// where the whole parse fails, and must give the same value where both succeed. A text the
/// scan before parsing refuses (too deep, too many aliases) is never parsed by a run, and
/// the parser alone takes seconds on deep flow nesting (the fuzzer's slow units): skipped.
#[doc(hidden)]
pub fn split_agrees(text: &str) -> bool {
    if crate::yaml::check_nesting(text).is_err() {
        return true;
    }
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
        .and_then(|b| serde_json::from_str::<raw::File>(b.json).ok());
    json.map_or_else(|| parse_file(&f.display, &f.text), Ok)
}

/// Which of its files [`build`] reads; the others count in the digest all the same.
#[derive(Clone, Copy)]
enum Only<'a> {
    All,
    /// Every file but the built-in ones that describe other products or, when a version is
    /// given, other versions.
    Part(&'a BTreeSet<String>, Option<&'a str>),
}

/// The catalogue of the files `only` says, under the digest of all of them.
fn build(files: &[SourceFile], only: Only<'_>) -> Result<Catalogue, Diagnostics> {
    let mut errors = Vec::new();
    let mut hasher = Sha256::new();
    // (path for messages about this file, how other files' messages name it, the version)
    let mut versions: Vec<(String, String, ProductVersion)> = Vec::new();
    for f in files {
        let file_digest = f.digest();
        // The catalogue's digest covers every file's name and digest.
        for part in [f.name.as_bytes(), file_digest.as_bytes()] {
            hasher.update(part);
            hasher.update([0]);
        }
        if !f.wanted(only) {
            continue;
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
    give_back_parsing_memory(files, only);
    Ok(Catalogue { products, digest })
}

/// A big file is parsed on several threads, each in a malloc arena of its own: what a
/// thread's parse freed stays in its arena, where the main thread's selection cannot reuse
/// it, and is counted in the peak (7 of 13 MB in the parsing thread's arena for 20,000
/// entries; 59 to 62 MB peak before, 56 to 57 after; docs/src/performance.md). A parse on
/// this thread freed into the arena the rest of the run allocates from: giving that back
/// would only have the next allocations fault the same pages in again.
fn give_back_parsing_memory(files: &[SourceFile], only: Only<'_>) {
    if files
        .iter()
        .any(|f| f.wanted(only) && f.text.len() >= split::MIN_BYTES)
    {
        crate::sys::give_back_freed_memory();
    }
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
        assert_eq!(from_json, build(&files, super::Only::All).unwrap());
    }

    /// A run for one product (version) reads only its files, and gets exactly what the whole
    /// catalogue has of it, under the whole catalogue's digest; an unknown version reads all
    /// of the product's files, an unknown product the whole catalogue.
    #[test]
    fn one_products_catalogue_is_the_whole_ones_part() {
        let whole = load_embedded().unwrap();
        assert!(whole.products.len() > 1);
        let part = |id: &str, version: Option<&str>| {
            let ids = std::collections::BTreeSet::from([id.to_string()]);
            super::load_all_for(true, &[], Some(&ids), version).unwrap()
        };
        for (id, product) in &whole.products {
            for version in [None, Some("no-such-version")] {
                let part = part(id, version);
                assert_eq!(part.digest, whole.digest);
                assert_eq!(part.products.keys().collect::<Vec<_>>(), [id]);
                assert_eq!(&part.products[id], product);
            }
            for (v, pv) in &product.versions {
                let part = part(id, Some(v.as_str()));
                assert_eq!(part.digest, whole.digest);
                let got: Vec<_> = part.products[id].versions.values().collect();
                assert_eq!(got, [pv]);
            }
        }
        assert_eq!(part("no-such-product", None), whole);
        assert_eq!(part("", None), whole);
    }

    /// A build for some products reads only their built-in files, and gets what the whole
    /// catalogue has of them (and of the files given) under its digest; wherever leaving
    /// files out could change the answer (a product missing, a file given that defines a
    /// product left out), the answer is the whole load's, messages included.
    #[test]
    fn a_build_for_some_products_is_the_whole_loads_part() {
        use std::collections::BTreeSet;
        use std::path::Path;
        let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let fixture =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/catalogue/minimal.yaml");
        let whole = super::load_all(true, &[&fixture]).unwrap();
        assert!(whole.products.len() > 2);
        for id in whole.products.keys() {
            let part = super::load_all_for(true, &[&fixture], Some(&set(&[id])), None).unwrap();
            assert_eq!(part.digest, whole.digest);
            // The file given (product `test-gateway`) is always read.
            let want = BTreeSet::from([id.as_str(), "test-gateway"]);
            let got: BTreeSet<&str> = part.products.keys().map(String::as_str).collect();
            assert_eq!(got, want, "{id}");
            assert_eq!(part.products[id], whole.products[id]);
        }
        // A product no file has: the whole catalogue, whose message lists every product.
        let unknown =
            super::load_all_for(true, &[&fixture], Some(&set(&["no-such"])), None).unwrap();
        assert_eq!(unknown, whole);
        // A file given that defines a product whose built-in files were left out: the whole
        // load's error (a version defined twice), not a catalogue without the other file.
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("copy.yaml");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data/icap-gateway-4.8.yaml"),
            &copy,
        )
        .unwrap();
        let full = super::load_all(true, &[&copy]).unwrap_err();
        assert!(format!("{full}").contains("icap-gateway"), "{full}");
        let part =
            super::load_all_for(true, &[&copy], Some(&set(&["email-gateway"])), None).unwrap_err();
        assert_eq!(format!("{part}"), format!("{full}"));
        // A file given that defines another version of the product wanted: that version's
        // built-in file is read too, for the duplicate.
        let copy = dir.path().join("copy-5.3.yaml");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data/email-gateway-5.3.yaml"),
            &copy,
        )
        .unwrap();
        let full = super::load_all(true, &[&copy]).unwrap_err();
        let part = super::load_all_for(true, &[&copy], Some(&set(&["email-gateway"])), Some("4.9"))
            .unwrap_err();
        assert_eq!(format!("{part}"), format!("{full}"));
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
