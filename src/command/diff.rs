//! `fwgen diff`

use crate::cli::{DiffArgs, DiffFormat};
use crate::diff::{self, VersionDiff};
use crate::error::Error;
use crate::model::{Catalogue, Entry, ProductVersion};
use crate::select::{Request, SelectError, select};
use crate::site::Site;

use super::Report;

pub fn run(source: super::CatalogueSource<'_>, args: &DiffArgs) -> Result<Report, Error> {
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
            let d = versions(&cat, args)?;
            let header = vec![format!(
                "{} {} -> {} (component {}; {})",
                d.product,
                d.from,
                d.to,
                args.component.as_deref().unwrap_or("gateway"),
                if args.features.is_empty() && !args.no_default_features {
                    "all entries".to_string()
                } else {
                    "selected features".to_string()
                }
            )];
            let json = serde_json::to_value(&d).unwrap_or_default();
            (vec![d], header, json)
        }
    };
    let stdout = match args.format {
        DiffFormat::Text => diff::text(&diffs, &header),
        DiffFormat::Markdown => diff::markdown(
            &diffs,
            &header.iter().map(|h| format!("# {h}")).collect::<Vec<_>>(),
        ),
        DiffFormat::Json => serde_json::to_string_pretty(&json).unwrap_or_default() + "\n",
    };
    Ok(Report {
        stdout,
        ..Report::default()
    })
}

fn versions(cat: &Catalogue, args: &DiffArgs) -> Result<VersionDiff, Error> {
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
                ..Request::default()
            };
            let rules = select(cat, &Site::default(), &req)?;
            let pv = cat
                .version(&rules.meta.product, &rules.meta.version)
                .cloned()
                .ok_or_else(|| SelectError::NoProduct {
                    list: String::new(),
                })?;
            Ok((
                pv,
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
