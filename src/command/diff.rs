//! `fwgen diff`

use crate::cli::{DiffArgs, DiffFormat};
use crate::diff::{self, Connection, VersionDiff};
use crate::error::Error;
use crate::model::{Catalogue, Entry, ProductVersion};
use crate::select::{Request, select};
use crate::site::Site;

use super::Report;

pub(super) fn run(source: &super::CatalogueSource<'_>, args: &DiffArgs) -> Result<Report, Error> {
    let mut notes = Vec::new();
    let (diffs, header, json) = match (&args.old, &args.new) {
        (Some(old), Some(new)) => {
            let d = diff::catalogues(&crate::catalogue::load(old)?, &crate::catalogue::load(new)?);
            let mut header = vec![format!("catalogue {} -> {}", old.display(), new.display())];
            header.extend(
                d.added_versions
                    .iter()
                    .map(|v| format!("added version: {v}")),
            );
            header.extend(
                d.removed_versions
                    .iter()
                    .map(|v| format!("removed version: {v}")),
            );
            if d.added_versions.is_empty()
                && d.removed_versions.is_empty()
                && d.changed_versions.is_empty()
            {
                header.push("no changes".into());
            }
            let json = serde_json::to_value(&d).unwrap_or_default();
            (d.changed_versions, header, json)
        }
        _ => {
            let cat = source.load()?;
            let d = versions(&cat, args, &mut notes)?;
            let header = vec![format!(
                "{} {} -> {} (component {}; {})",
                d.product,
                d.from,
                d.to,
                args.component.as_deref().unwrap_or("gateway"),
                match &args.site {
                    Some(site) => format!(
                        "the rulesets bound to {}: its features, addresses, ports and own entries",
                        site.display()
                    ),
                    None if args.features.is_empty() && !args.no_default_features => {
                        "all entries".to_string()
                    }
                    None => "selected features".to_string(),
                }
            )];
            let json = serde_json::to_value(&d).unwrap_or_default();
            (vec![d], header, json)
        }
    };
    let stdout = match args.format {
        DiffFormat::Text => diff::text(&diffs, &header),
        DiffFormat::Markdown => diff::markdown(&diffs, &header),
        DiffFormat::Json => serde_json::to_string_pretty(&json).unwrap_or_default() + "\n",
    };
    Ok(Report {
        stdout,
        warnings: notes,
        ..Report::default()
    })
}

/// Both versions selected and bound to the site file as `generate --site` does, compared
/// rule by rule (the site's ports, addresses and own entries included).
fn bound(
    cat: &Catalogue,
    args: &DiffArgs,
    path: &std::path::Path,
    notes: &mut Vec<String>,
) -> Result<VersionDiff, Error> {
    let site = Site::load(path)?;
    let mut side = |version: &Option<String>| -> Result<(String, String, Vec<Connection>), Error> {
        let req = Request {
            product: args.product.clone(),
            version: version.clone(),
            component: args.component.clone(),
            features: args.features.clone(),
            no_default_features: args.no_default_features,
            // A comparison of what the versions need, not a ruleset to load.
            allow_unbound: true,
            ..Request::default()
        };
        // The site file is written for one of the two versions: what the other does not
        // know is left out of its side, with a note.
        let pv = crate::select::product_version(cat, &site, &req)?;
        let (site, left_out) = site.known_to(pv);
        notes.extend(left_out);
        let rules = select(cat, &site, &req)?;
        let pv = cat.version(&rules.meta.product, &rules.meta.version);
        let configurable =
            |id: &str| pv.is_some_and(|pv| pv.entries.iter().any(|e| e.id == id && e.configurable));
        let list = rules
            .selected
            .iter()
            .map(|s| Connection::bound(s, &rules.meta.component, configurable(&s.id)))
            .collect();
        Ok((rules.meta.product.clone(), rules.meta.version.clone(), list))
    };
    let (product, from, a) = side(&args.from)?;
    let (_, to, b) = side(&args.to)?;
    Ok(diff::compare(&product, (&from, a), (&to, b), false))
}

fn versions(
    cat: &Catalogue,
    args: &DiffArgs,
    notes: &mut Vec<String>,
) -> Result<VersionDiff, Error> {
    if let Some(path) = &args.site {
        return bound(cat, args, path, notes);
    }
    let product = args.product.clone().unwrap_or_default();
    let filtered = !args.features.is_empty() || args.no_default_features;
    // Select each side as generate would, for its features and its (did-you-mean) errors.
    let side =
        |version: &Option<String>| -> Result<(ProductVersion, Option<Vec<String>>, String), Error> {
            let req = Request {
                product: Some(product.clone()),
                version: version.clone(),
                component: args.component.clone(),
                features: args.features.clone(),
                no_default_features: args.no_default_features,
                allow_unbound: true,
                ..Request::default()
            };
            let (rules, pv) = super::selected(cat, &Site::default(), &req)?;
            Ok((
                pv.clone(),
                filtered.then_some(rules.meta.features),
                rules.meta.component,
            ))
        };
    let (a, fa, component) = side(&args.from)?;
    let (b, fb, _) = side(&args.to)?;
    let keep = |features: Option<Vec<String>>| {
        let component = component.clone();
        move |e: &Entry| {
            e.component == component
                && e.feature
                    .as_ref()
                    .is_none_or(|f| features.as_ref().is_none_or(|list| list.contains(f)))
        }
    };
    let (ka, kb) = (keep(fa), keep(fb));
    Ok(diff::versions(&a, &b, &ka, &kb, false))
}
