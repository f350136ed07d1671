//! `fwgen build [MANIFEST] [--check]`: every target of a manifest in one run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::catalogue::{LoadError, LoadErrorKind, LoadErrors};
use crate::error::Error;
use crate::manifest::Manifest;
use crate::output::{Mode, apply};
use crate::render::{Output, RenderOptions};
use crate::select::{Request, select};
use crate::site::Site;

use super::Report;
use super::generate::{Target, plan};

pub fn run(
    manifest_path: &Path,
    catalogue_override: Option<&Path>,
    check: bool,
) -> Result<Report, Error> {
    let manifest = Manifest::load(manifest_path)?;
    let cat = super::load(catalogue_override.or(manifest.catalogue.as_deref()))?;
    let mode = if check { Mode::Check } else { Mode::Write };
    let mut sites: BTreeMap<PathBuf, Site> = BTreeMap::new();
    let mut planned = Vec::new();
    let mut warnings = Vec::new();
    let mut errors: Vec<(usize, String)> = Vec::new();
    for t in &manifest.targets {
        let site = match &t.site {
            None => None,
            Some(p) => {
                if !sites.contains_key(p) {
                    match Site::load(p) {
                        Ok(s) => {
                            sites.insert(p.clone(), s);
                        }
                        Err(e) => {
                            errors.push((t.line, format!("target `{}`: {e}", t.name)));
                            continue;
                        }
                    }
                }
                sites.get(p)
            }
        };
        let empty = Site::default();
        let req = Request {
            product: t.product.clone(),
            version: t.version.clone(),
            component: t.component.clone(),
            features: t.features.clone(),
            all_features: t.all_features,
            no_default_features: t.no_default_features,
            gateway: t.gateway.iter().map(|a| a.net()).collect(),
            strict: t.strict,
        };
        let result = select(&cat, site.unwrap_or(&empty), &req)
            .map_err(Error::from)
            .and_then(|rules| {
                let rendered = t.backend.render(
                    &rules,
                    &RenderOptions {
                        placement: t.placement,
                        log_drops: t.log_drops,
                        policy: t.policy,
                    },
                )?;
                warnings.extend(
                    rules
                        .warnings
                        .iter()
                        .chain(&rendered.warnings)
                        .map(|w| format!("target `{}`: {w}", t.name)),
                );
                let target = match rendered.output {
                    Output::Single(_) => Target::File(t.output.clone()),
                    Output::Files(_) => Target::Dir(t.output.clone()),
                };
                if mode == Mode::Write
                    && let Some(parent) = t.output.parent()
                    && !parent.as_os_str().is_empty()
                {
                    crate::output::create_dirs(parent)?;
                }
                Ok(plan(t.backend, rendered.output, &target, mode)?)
            });
        match result {
            Ok(p) => planned.extend(p),
            // Selection errors name the command-line flag (`--features: …`); here the value
            // came from the target's key of the same name.
            Err(e) => {
                let msg = e.to_string();
                let msg = match msg.strip_prefix("--").and_then(|m| m.split_once(": ")) {
                    Some((key, rest)) => format!("{}: {rest}", key.replace('-', "_")),
                    None => msg,
                };
                errors.push((t.line, format!("target `{}`: {msg}", t.name)));
            }
        }
    }
    if !errors.is_empty() {
        let path = manifest_path.display().to_string();
        return Err(LoadErrors(
            errors
                .into_iter()
                .map(|(line, m)| LoadError {
                    path: path.clone(),
                    line,
                    column: None,
                    kind: LoadErrorKind::Invalid(m),
                })
                .collect(),
        )
        .into());
    }
    let applied = apply(&planned, mode)?;
    let mut report = Report {
        warnings,
        ..Report::default()
    };
    for p in &applied.written {
        report.notes.push(format!("wrote {}", p.display()));
    }
    for (path, diff) in &applied.stale {
        report.notes.push(format!(
            "{} is out of date:\n{}",
            path.display(),
            diff.trim_end()
        ));
    }
    report.notes.push(format!(
        "{} targets, {} files: {} written, {} unchanged{}",
        manifest.targets.len(),
        planned.len(),
        applied.written.len(),
        applied.unchanged.len(),
        if check {
            format!(", {} out of date", applied.stale.len())
        } else {
            String::new()
        }
    ));
    if !applied.stale.is_empty() {
        report.exit_code = 1;
    }
    Ok(report)
}
