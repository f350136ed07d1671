//! `fwgen products [--component C]`

use std::fmt::Write;

use serde::Serialize;

use crate::cli::Format;
use crate::error::Error;
use crate::model::{Catalogue, Component};

use super::Report;

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

/// With `component`, only the product versions that have it, and their entries of it.
pub(super) fn run(
    cat: &Catalogue,
    format: Format,
    component: Option<&str>,
) -> Result<Report, Error> {
    if let Some(c) = component {
        let all: std::collections::BTreeSet<&str> = cat
            .products
            .values()
            .flat_map(|p| p.versions.values())
            .flat_map(|v| v.components.iter().map(|c| c.id.as_str()))
            .collect();
        if !all.contains(c) {
            return Err(Error::Usage(format!(
                "no product has a component `{c}`{}",
                crate::suggest::hint(c, all.iter().copied())
            )));
        }
    }
    let has = |v: &crate::model::ProductVersion| {
        component.is_none_or(|c| v.components.iter().any(|k| k.id == c))
    };
    let products: Vec<ProductOut> = cat
        .products
        .values()
        .filter(|p| p.versions.values().any(has))
        .map(|p| {
            let newest = p.newest().map(|v| v.version.clone());
            ProductOut {
                id: &p.id,
                title: &p.title,
                versions: p
                    .versions
                    .values()
                    .rev()
                    .filter(|v| has(v))
                    .map(|v| VersionOut {
                        version: v.version.as_str(),
                        newest: Some(&v.version) == newest.as_ref(),
                        components: v.components.iter().map(|c| c.id.as_str()).collect(),
                        component_details: &v.components,
                        default_component: v.default_component(),
                        catalogue_file: &v.path,
                        document: &v.document.file,
                        document_title: &v.document.title,
                        entries: v
                            .entries
                            .iter()
                            .filter(|e| component.is_none_or(|c| e.component == c))
                            .count(),
                    })
                    .collect(),
            }
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
