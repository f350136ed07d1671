//! `fwgen products`

use std::fmt::Write;

use serde::Serialize;

use crate::cli::Format;
use crate::error::Error;
use crate::model::Catalogue;

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
    default_component: &'a str,
    catalogue_file: &'a str,
    document: &'a str,
    document_title: &'a str,
    entries: usize,
}

pub fn run(cat: &Catalogue, format: Format) -> Result<Report, Error> {
    let products: Vec<ProductOut> = cat
        .products
        .values()
        .map(|p| {
            let newest = p.newest().map(|v| v.version.clone());
            ProductOut {
                id: &p.id,
                title: &p.title,
                versions: p
                    .versions
                    .values()
                    .rev()
                    .map(|v| VersionOut {
                        version: v.version.as_str(),
                        newest: Some(&v.version) == newest.as_ref(),
                        components: v.components.iter().map(|c| c.id.as_str()).collect(),
                        default_component: v.default_component(),
                        catalogue_file: &v.path,
                        document: &v.document.file,
                        document_title: &v.document.title,
                        entries: v.entries.len(),
                    })
                    .collect(),
            }
        })
        .collect();
    let mut out = String::new();
    match format {
        Format::Json => {
            out = serde_json::to_string_pretty(&products).unwrap_or_default();
            out.push('\n');
        }
        Format::Text => {
            for p in &products {
                let _ = writeln!(out, "{}  ({})", p.id, p.title);
                for v in &p.versions {
                    let _ = writeln!(
                        out,
                        "  {:<6} {:<7} components: {:<26} {:>3} entries  {}",
                        v.version,
                        if v.newest { "newest" } else { "" },
                        v.components.join(", "),
                        v.entries,
                        v.document
                    );
                }
            }
        }
    }
    Ok(Report {
        stdout: out,
        ..Report::default()
    })
}
