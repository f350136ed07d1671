//! `fwgen generate`

use crate::cli::GenerateArgs;
use crate::error::Error;
use crate::model::Catalogue;
use crate::output::{OutputError, write_atomic};
use crate::render::{Output, RenderOptions};
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
    let opts = RenderOptions {
        placement: args.placement,
        log_drops: args.log_drops,
    };
    let rendered = args.backend.render(&rules, &opts)?;
    let output = rendered.output;
    let mut warnings = rules.warnings.clone();
    warnings.extend(rendered.warnings);
    let mut report = Report {
        warnings,
        ..Report::default()
    };
    let n = rules.rules.len();
    let dir = match (&args.output, &args.output_dir, &output) {
        (None, None, _) => {
            report.stdout = match output {
                Output::Single(text) => text,
                Output::Files(files) => files
                    .iter()
                    .map(|(name, text)| format!("# ==> {name} <==\n{text}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            };
            return Ok(report);
        }
        (Some(path), None, Output::Single(text)) => {
            write_atomic(path, text.as_bytes())?;
            report
                .notes
                .push(format!("wrote {} ({n} rules)", path.display()));
            return Ok(report);
        }
        (Some(dir), None, Output::Files(_)) | (_, Some(dir), _) => dir,
    };
    if !dir.is_dir() {
        // Like mkdir: the directory itself may be new, its parent must exist.
        std::fs::create_dir(dir).map_err(|e| OutputError {
            path: dir.clone(),
            reason: format!("cannot create the output directory: {e}"),
        })?;
    }
    let files = match output {
        Output::Single(text) => vec![(args.backend.file_name().to_string(), text)],
        Output::Files(files) => files,
    };
    for (name, text) in files {
        let path = dir.join(&name);
        if let Some(parent) = path.parent()
            && !parent.is_dir()
        {
            std::fs::create_dir_all(parent).map_err(|e| OutputError {
                path: parent.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
        write_atomic(&path, text.as_bytes())?;
        report
            .notes
            .push(format!("wrote {} ({n} rules)", path.display()));
    }
    Ok(report)
}
