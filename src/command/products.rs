//! `fwgen products [--component C]`

use std::fmt::Write;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cli::Format;
use crate::error::Error;
use crate::model::{Catalogue, Component};

use super::Report;

/// What `products` lists of one product, for every component: the same whether it comes from
/// a loaded catalogue or from the built-in catalogue's listing made beforehand
/// (`products.json`, see [`built_in`]).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Listed {
    id: String,
    title: String,
    /// Newest first.
    versions: Vec<ListedVersion>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct ListedVersion {
    version: String,
    newest: bool,
    component_details: Vec<Component>,
    default_component: String,
    catalogue_file: String,
    document: String,
    document_title: String,
    /// Entries of each component.
    entries: BTreeMap<String, usize>,
}

/// The built-in catalogue's listing, as the test that keeps it current wrote it, with the
/// SHA-256 of every built-in file it was made from, in name order.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Summary {
    digests: Vec<String>,
    products: Vec<Listed>,
}

/// The listing of the built-in catalogue alone, made beforehand, when it was made from the
/// files this binary holds: `products` then neither reads nor checks the catalogue (five
/// times the work of the rest of the run; the test `the_built_in_listing_is_current` checks
/// the catalogue and this listing). `None` when the files differ (a build from changed data
/// before the test ran): the catalogue is read instead, so the listing is never stale.
fn built_in() -> Option<Vec<Listed>> {
    made_from(
        include_str!("products.json"),
        &crate::catalogue::embedded_digests()?,
    )
}

/// The listing in `json` if it was made from the files whose digests are `digests`.
fn made_from(json: &str, digests: &[String]) -> Option<Vec<Listed>> {
    let summary: Summary = serde_json::from_str(json).ok()?;
    (summary.digests == digests).then_some(summary.products)
}

/// What `products` lists of `cat`.
fn listing(cat: &Catalogue) -> Vec<Listed> {
    cat.products
        .values()
        .map(|p| {
            let newest = p.newest().map(|v| v.version.clone());
            Listed {
                id: p.id.clone(),
                title: p.title.clone(),
                versions: p
                    .versions
                    .values()
                    .rev()
                    .map(|v| {
                        let mut entries: BTreeMap<String, usize> =
                            v.components.iter().map(|c| (c.id.clone(), 0)).collect();
                        for e in &v.entries {
                            *entries.entry(e.component.clone()).or_default() += 1;
                        }
                        ListedVersion {
                            version: v.version.as_str().to_string(),
                            newest: Some(&v.version) == newest.as_ref(),
                            component_details: v.components.clone(),
                            default_component: v.default_component().to_string(),
                            catalogue_file: v.path.clone(),
                            document: v.document.file.clone(),
                            document_title: v.document.title.clone(),
                            entries,
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

#[derive(Serialize)]
struct ProductOut<'a> {
    id: &'a str,
    title: &'a str,
    versions: Vec<VersionOut<'a>>,
}

#[derive(Serialize)]
struct VersionOut<'a> {
    version: &'a str,
    newest: bool,
    components: Vec<&'a str>,
    /// Each component: what it is and the operating system of its host.
    component_details: &'a [Component],
    default_component: &'a str,
    catalogue_file: &'a str,
    document: &'a str,
    document_title: &'a str,
    /// Entries in all, or of `--component`.
    entries: usize,
}

/// The products of `source`: of the built-in catalogue alone, its listing made beforehand
/// when it is current ([`built_in`]); otherwise the catalogue, read.
pub(super) fn run(
    source: &super::CatalogueSource<'_>,
    format: Format,
    component: Option<&str>,
) -> Result<Report, Error> {
    let built_in = (source.builtin && source.paths.is_empty())
        .then(built_in)
        .flatten();
    let listed = match built_in {
        Some(listed) => listed,
        None => listing(&source.load()?),
    };
    list(&listed, format, component)
}

/// With `component`, only the product versions that have it, and their entries of it.
fn list(listed: &[Listed], format: Format, component: Option<&str>) -> Result<Report, Error> {
    if let Some(c) = component {
        let all: std::collections::BTreeSet<&str> = listed
            .iter()
            .flat_map(|p| &p.versions)
            .flat_map(|v| v.component_details.iter().map(|c| c.id.as_str()))
            .collect();
        if !all.contains(c) {
            return Err(Error::Usage(format!(
                "no product has a component `{c}`{}",
                crate::suggest::hint(c, all.iter().copied())
            )));
        }
    }
    let has =
        |v: &ListedVersion| component.is_none_or(|c| v.component_details.iter().any(|k| k.id == c));
    let products: Vec<ProductOut> = listed
        .iter()
        .filter(|p| p.versions.iter().any(has))
        .map(|p| ProductOut {
            id: &p.id,
            title: &p.title,
            versions: p
                .versions
                .iter()
                .filter(|v| has(v))
                .map(|v| VersionOut {
                    version: &v.version,
                    newest: v.newest,
                    components: v.component_details.iter().map(|c| c.id.as_str()).collect(),
                    component_details: &v.component_details,
                    default_component: &v.default_component,
                    catalogue_file: &v.catalogue_file,
                    document: &v.document,
                    document_title: &v.document_title,
                    entries: match component {
                        Some(c) => v.entries.get(c).copied().unwrap_or(0),
                        None => v.entries.values().sum(),
                    },
                })
                .collect(),
        })
        .collect();
    Ok(Report {
        stdout: print(&products, format, component),
        ..Report::default()
    })
}

/// The listing as text or JSON.
fn print(products: &[ProductOut], format: Format, component: Option<&str>) -> String {
    let mut out = String::new();
    match format {
        Format::Json => {
            out = serde_json::to_string_pretty(products).unwrap_or_default();
            out.push('\n');
        }
        Format::Text => {
            for p in products {
                let _ = writeln!(out, "{}  ({})", p.id, p.title);
                for v in &p.versions {
                    // Hosts that are not Linux say so: their own firewall is another kind.
                    let components: Vec<String> = v
                        .component_details
                        .iter()
                        .map(|c| match c.platform {
                            crate::model::Platform::Linux => c.id.clone(),
                            other => format!("{} ({})", c.id, other.name()),
                        })
                        .collect();
                    let _ = writeln!(
                        out,
                        "  {:<6} {:<7} components: {:<36} {:>3} entries{}  {}",
                        v.version,
                        if v.newest { "newest" } else { "" },
                        components.join(", "),
                        v.entries,
                        component.map(|c| format!(" of {c}")).unwrap_or_default(),
                        v.document
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/command/products.json");

    /// The listing `products` prints of the built-in catalogue, made from it now.
    fn now() -> Summary {
        let cat = crate::catalogue::load_embedded().expect("the built-in catalogue loads");
        Summary {
            digests: crate::catalogue::embedded_digests().expect("build.rs read every file"),
            products: listing(&cat),
        }
    }

    /// `products.json` is the built-in catalogue's listing. After a change to `data/`,
    /// `FWGEN_BLESS=1 cargo test the_built_in_listing_is_current` writes it anew.
    #[test]
    fn the_built_in_listing_is_current() {
        let summary = now();
        let mut text = serde_json::to_string_pretty(&summary).expect("JSON");
        text.push('\n');
        let on_disk = std::fs::read_to_string(LISTING).unwrap_or_default();
        if on_disk == text {
            assert_eq!(built_in(), Some(summary.products));
        } else if std::env::var("FWGEN_BLESS").is_ok_and(|v| v == "1") {
            std::fs::write(LISTING, text).expect("write src/command/products.json");
        } else {
            panic!(
                "src/command/products.json is not the listing of the catalogue in data/: \
                 `FWGEN_BLESS=1 cargo test the_built_in_listing_is_current` writes it"
            );
        }
    }

    /// A listing made from other files is not used: a build from changed data lists what it
    /// holds even before the listing is made anew.
    #[test]
    fn a_listing_made_from_other_files_is_not_used() {
        let summary = now();
        let json = serde_json::to_string(&summary).expect("JSON");
        assert!(made_from(&json, &summary.digests).is_some());
        let mut other = summary.digests.clone();
        if let Some(d) = other.first_mut() {
            d.replace_range(0..1, if d.starts_with('0') { "1" } else { "0" });
        }
        assert_eq!(made_from(&json, &other), None);
        other.pop();
        assert_eq!(made_from(&json, &other), None);
    }
}
