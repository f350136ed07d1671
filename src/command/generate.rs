//! `fwgen generate`

use crate::cli::GenerateArgs;
use crate::error::Error;
use crate::model::Catalogue;
use crate::output::write_atomic;
use crate::select::{Request, select};
use crate::site::Site;

use super::Report;

pub fn run(cat: &Catalogue, args: GenerateArgs) -> Result<Report, Error> {
    let site = match &args.site {
        Some(p) => Site::load(p)?,
        None => Site::default(),
    };
    let req = Request {
        product: args.product,
        version: args.version,
        component: args.component,
        features: args.features,
        all_features: args.all_features,
        no_default_features: args.no_default_features,
        gateway: args.gateway.iter().map(|a| a.net()).collect(),
        strict: args.strict,
    };
    let rules = select(cat, &site, &req)?;
    let text = args.backend.render(&rules)?;
    let mut report = Report {
        warnings: rules.warnings.clone(),
        ..Report::default()
    };
    match &args.output {
        Some(path) => {
            write_atomic(path, text.as_bytes())?;
            report.notes.push(format!(
                "wrote {} ({} rules)",
                path.display(),
                rules.rules.len()
            ));
        }
        None => report.stdout = text,
    }
    Ok(report)
}
