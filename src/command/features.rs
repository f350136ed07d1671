//! `fwgen features --product P [--version V] [--component C]`

use std::fmt::Write;

use serde::Serialize;

use crate::cli::{FeaturesArgs, Format};
use crate::error::Error;
use crate::model::Catalogue;
use crate::select::Request;
use crate::site::Site;

use super::Report;

#[derive(Serialize)]
struct FeatureOut<'a> {
    id: &'a str,
    description: &'a str,
    default: bool,
    implies: &'a [String],
    /// Entries enabled, directly or through implied features.
    entries: Vec<&'a str>,
}

pub(super) fn run(cat: &Catalogue, args: &FeaturesArgs) -> Result<Report, Error> {
    // Reuse selection's product/version lookup (and its did-you-mean errors).
    let req = Request {
        product: Some(args.product.clone()),
        version: args.version.clone(),
        component: args.component.clone(),
        allow_unbound: true,
        ..Request::default()
    };
    let (_, pv) = super::selected(cat, &Site::default(), &req)?;
    // With --component, the features that enable something there, and its entries only.
    let component = args.component.as_deref();
    let relevant = pv.features_enabling_something(component);
    let features: Vec<FeatureOut> = pv
        .features
        .iter()
        .filter(|f| component.is_none() || relevant.contains(f.id.as_str()))
        .map(|f| FeatureOut {
            id: &f.id,
            description: &f.description,
            default: f.default,
            implies: &f.implies,
            entries: pv
                .entries_enabled_by(&f.id)
                .iter()
                .filter(|e| component.is_none_or(|c| e.component == c))
                .map(|e| e.id.as_str())
                .collect(),
        })
        .collect();
    let mut out = String::new();
    match args.format {
        Format::Json => {
            out = serde_json::to_string_pretty(&features).unwrap_or_default();
            out.push('\n');
        }
        Format::Text => {
            let _ = write!(out, "{} {} ({})", pv.product, pv.version, pv.document.file);
            match component {
                Some(c) => {
                    let _ = writeln!(out, ", component {c}");
                }
                None => out.push('\n'),
            }
            if features.is_empty() {
                out.push_str("  no feature: every entry of this component is always required\n");
            }
            // The entries no feature turns off: in every ruleset of this product version.
            let always: Vec<&str> = pv
                .entries
                .iter()
                .filter(|e| e.feature.is_none())
                .filter(|e| component.is_none_or(|c| e.component == c))
                .map(|e| e.id.as_str())
                .collect();
            if !features.is_empty() && !always.is_empty() {
                let _ = writeln!(
                    out,
                    "  {:<22} {:<3}  entries of no feature",
                    "(always)", "on"
                );
                let _ = writeln!(out, "  {:<22}      entries: {}", "", always.join(", "));
            }
            for f in &features {
                let implies = if f.implies.is_empty() {
                    String::new()
                } else {
                    format!(" (implies {})", f.implies.join(", "))
                };
                let _ = writeln!(
                    out,
                    "  {:<22} {:<3}  {}{implies}",
                    f.id,
                    if f.default { "on" } else { "off" },
                    f.description
                );
                let _ = writeln!(out, "  {:<22}      entries: {}", "", f.entries.join(", "));
            }
        }
    }
    Ok(Report {
        stdout: out,
        ..Report::default()
    })
}
