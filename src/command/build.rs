//! `fwgen build [MANIFEST] [--check]`: every target of a manifest in one run, each target a
//! [`Job`]: selections are shared between targets that make the same one, rendering runs in
//! parallel, and nothing is written unless every target succeeds.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics, Problem};
use crate::error::Error;
use crate::job::{Destination, Job, Runner};
use crate::manifest::{Manifest, Target};
use crate::output::{Mode, apply};
use crate::render::RenderOptions;
use crate::select::Request;

use super::Report;

/// The job of one manifest target.
fn job(t: &Target) -> Job {
    Job {
        request: Request {
            product: t.product.clone(),
            version: t.version.clone(),
            component: t.component.clone(),
            features: t.features.clone(),
            all_features: t.all_features,
            no_default_features: t.no_default_features,
            gateway: t.gateway.iter().map(|a| a.net()).collect(),
            strict: t.strict,
            allow_unbound: t.allow_unbound,
            names: t.names,
        },
        site: t.site.clone(),
        ip_ranges: t.ip_ranges.clone(),
        lock: t.lock.clone(),
        backend: t.backend,
        options: RenderOptions {
            placement: t.placement,
            log_drops: t.log_drops,
            policy: t.policy,
            windows: t.windows.clone(),
            cisco: t.cisco.clone(),
            aerleon: t.aerleon.clone(),
            // Set from the destination when rendering.
            output_name: None,
        },
        previous: t.previous.clone(),
        destination: Destination::Output(t.output.clone()),
        dnsmasq: t.dnsmasq.clone(),
        create_parents: true,
    }
}

pub(super) fn run(
    manifest_path: &Path,
    catalogue: &super::CatalogueSource<'_>,
    args: &crate::cli::BuildArgs,
) -> Result<Report, Error> {
    let check = args.check;
    let manifest = Manifest::load(manifest_path, args.allow_outside)?;
    // When every target names its product, the built-in files of the others are not read
    // (a target's product wins over its site file's).
    let products: Option<std::collections::BTreeSet<String>> =
        manifest.targets.iter().map(|t| t.product.clone()).collect();
    let cat = catalogue
        .clone()
        .with(&manifest.catalogue, manifest.builtin_catalogue)
        .load_part(products.as_ref(), None)?;
    let mode = if check { Mode::Check } else { Mode::Write };
    let mut errors: Vec<(usize, String)> = Vec::new();
    // The rulesets own what they need: the catalogue goes before rendering, which holds
    // every target's text at once.
    let (jobs, rulesets) = select(&manifest, cat, args.allow_unbound, &mut errors);

    // Rendering, in parallel when there is enough of it: every target is independent.
    // Results stay in manifest order.
    let work: usize = jobs
        .iter()
        .filter_map(|(_, _, i)| rulesets.get(*i))
        .map(|r| r.rules.len() + r.selected.len())
        .sum();
    let rendered = crate::par::map(&jobs, work > 2_000, |(_, job, index)| {
        rulesets
            .get(*index)
            .map(|rules| crate::job::render(job, rules))
    });

    let mut planned = Vec::new();
    let mut obsolete = Vec::new();
    let mut warnings = Vec::new();
    // Which target each planned file is of (its manifest line and name).
    let mut owners: Vec<(usize, &str)> = Vec::new();
    for ((t, job, _), result) in jobs.iter().zip(rendered) {
        let Some(result) = result else { continue };
        let result = result.map_err(Error::from).and_then(|done| {
            warnings.extend(
                done.warnings
                    .iter()
                    .map(|w| format!("target `{}`: {w}", t.name)),
            );
            crate::job::plan(job, done, mode)
        });
        match result {
            Ok(plan) => {
                owners.extend(plan.files.iter().map(|_| (t.line, t.name.as_str())));
                planned.extend(plan.files);
                obsolete.extend(plan.obsolete);
            }
            Err(e) => errors.extend(target_errors(t, e)),
        }
    }
    if !errors.is_empty() {
        // `--check` still says which of the other targets are out of date: a CI log shows
        // every problem of the run, not only the first kind.
        if mode == Mode::Check {
            let applied = apply(&planned, &[], Mode::Check)?;
            for (path, _) in &applied.stale {
                if let Some((_, &(line, name))) =
                    planned.iter().zip(&owners).find(|(p, _)| &p.path == path)
                {
                    errors.push((
                        line,
                        format!(
                            "target `{name}`: {} is out of date (regenerating would change it)",
                            path.display()
                        ),
                    ));
                }
            }
        }
        return Err(manifest_errors(manifest_path, errors));
    }
    let applied = apply(&planned, &obsolete, mode)?;
    Ok(report(
        warnings,
        &applied,
        manifest.targets.len(),
        planned.len(),
        check,
    ))
}

/// Each target's job and the index of its ruleset among those returned; a target whose
/// selection fails adds its errors instead. Selections are made once each: targets that differ
/// only in backend, placement or output (the usual manifest: one product, several firewalls)
/// share one ruleset. The catalogue is dropped on return.
fn select<'m>(
    manifest: &'m Manifest,
    cat: crate::model::Catalogue,
    allow_unbound: bool,
    errors: &mut Vec<(usize, String)>,
) -> (Vec<(&'m Target, Job, usize)>, Vec<crate::ruleset::Ruleset>) {
    let mut runner = Runner::new(&cat);
    let mut jobs = Vec::new();
    for t in &manifest.targets {
        let mut job = job(t);
        job.request.allow_unbound |= allow_unbound;
        match runner.select(&job) {
            Ok(index) => jobs.push((t, job, index)),
            Err(e) => errors.extend(target_errors(t, e)),
        }
    }
    (jobs, runner.into_rulesets())
}

/// What a build says: the files written, removed and out of date, and a summary line.
fn report(
    warnings: Vec<String>,
    applied: &crate::output::Applied,
    targets: usize,
    files: usize,
    check: bool,
) -> Report {
    let mut report = Report {
        warnings,
        ..Report::default()
    };
    for p in &applied.written {
        report.notes.push(format!("wrote {}", p.display()));
    }
    for p in &applied.removed {
        report
            .notes
            .push(format!("removed {} (no longer generated)", p.display()));
    }
    report.stale(applied, "");
    report.notes.push(format!(
        "{targets} targets, {files} files: {} written, {} unchanged{}",
        applied.written.len(),
        applied.unchanged.len(),
        if check {
            format!(", {} out of date", applied.stale.len())
        } else {
            String::new()
        }
    ));
    report
}

/// Every target's errors, by manifest line.
fn manifest_errors(manifest_path: &Path, mut errors: Vec<(usize, String)>) -> Error {
    errors.sort_by_key(|(line, _)| *line);
    let path = manifest_path.display().to_string();
    Diagnostics(
        errors
            .into_iter()
            .map(|(line, m)| Diagnostic {
                path: path.clone(),
                line,
                column: None,
                kind: Problem::Invalid(m),
            })
            .collect(),
    )
    .into()
}

/// A target's error, worded for the manifest, one message per problem, each naming the
/// target: a value a flag would give came from the target's key of the same name.
fn target_errors(t: &Target, e: Error) -> Vec<(usize, String)> {
    let e = match e {
        Error::Select(se) => Error::from(se.in_manifest()),
        other => other,
    };
    e.messages()
        .into_iter()
        .map(|m| (t.line, format!("target `{}`: {m}", t.name)))
        .collect()
}
