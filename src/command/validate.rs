//! `fwgen validate [PATH] [--site FILE]`

use std::path::Path;

use crate::diagnostic::Diagnostics;
use crate::error::Error;
use crate::site::Site;

use super::Report;

pub(super) fn run(
    source: &super::CatalogueSource<'_>,
    site: Option<&Path>,
) -> Result<Report, Error> {
    let cat = source.load()?;
    let mut notes = Vec::new();
    if let Some(site_path) = site {
        let site = Site::load(site_path)?;
        // Check against the site's own product version when it names one, else against every
        // version: a role or host is fine if any version knows it.
        let versions: Vec<_> = cat
            .products
            .values()
            .filter(|p| site.product.as_ref().is_none_or(|id| *id == p.id))
            .flat_map(|p| p.versions.values())
            .filter(|v| {
                site.version
                    .as_ref()
                    .is_none_or(|s| s == v.version.as_str())
            })
            .collect();
        if let Some(id) = &site.product
            && versions.is_empty()
        {
            let req = crate::select::Request {
                product: Some(id.clone()),
                version: site.version.clone(),
                // Validation checks the file, not that it binds every peer.
                allow_unbound: true,
                ..Default::default()
            };
            crate::select::select(&cat, &site, &req)?;
        }
        let per_version: Vec<Vec<_>> = versions
            .iter()
            .map(|v| site.check(v).err().unwrap_or_default())
            .collect();
        if let Some(best) = per_version.into_iter().min_by_key(Vec::len)
            && !best.is_empty()
        {
            return Err(Diagnostics(best).into());
        }
        notes.push(format!("{}: ok", site_path.display()));
    }
    let versions: usize = cat.products.values().map(|p| p.versions.len()).sum();
    let entries: usize = cat
        .products
        .values()
        .flat_map(|p| p.versions.values())
        .map(|v| v.entries.len())
        .sum();
    let what = source.describe();
    let count = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    Ok(Report {
        stdout: format!(
            "{what}: ok: {}, {}, {} (digest {})\n",
            count(cat.products.len(), "product"),
            count(versions, "version"),
            count(entries, "entry").replace("entrys", "entries"),
            &cat.digest[..16]
        ),
        notes,
        ..Report::default()
    })
}
