//! `fwgen build [MANIFEST] [--check]`: every target of a manifest in one run, each target a
//! [`Job`]: selections are shared between targets that make the same one, rendering runs in
//! parallel, and nothing is written unless every target succeeds.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics, Problem};
use crate::error::Error;
use crate::job::{Destination, Job, Runner};
use crate::manifest::{Manifest, Target};
use crate::output::{Mode, Prepared};
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
    let job = |t: &Target| {
        let mut job = job(t);
        job.request.allow_unbound |= args.allow_unbound;
        job
    };
    let mut all = Gathered::default();
    produce_all(&manifest.targets, job, cat, mode, &mut all);
    if !all.errors.is_empty() {
        if mode == Mode::Check {
            if let Some(e) = all.output_error {
                return Err(e.into());
            }
            all.errors.extend(all.stale);
        }
        return Err(manifest_errors(manifest_path, all.errors));
    }
    if let Some(e) = all.output_error {
        return Err(e.into());
    }
    let applied = all.prepared.finish(&all.obsolete, mode)?;
    Ok(report(
        all.warnings,
        &applied,
        manifest.targets.len(),
        all.files,
        check,
    ))
}

/// What is left of a target once its files are staged: its warnings, then how many files it
/// writes, the files of an earlier run it no longer writes, and its staged files (or why they
/// could not be staged); or the target's error.
type Produced = (Vec<String>, Result<Staging, Error>);

/// Every target's staged files, and what the run reports, in manifest order.
#[derive(Default)]
struct Gathered {
    prepared: Prepared,
    files: usize,
    obsolete: Vec<std::path::PathBuf>,
    warnings: Vec<String>,
    /// The targets' errors, by manifest line.
    errors: Vec<(usize, String)>,
    /// `--check`: the files out of date, by target, reported beside the other targets'
    /// errors when some fail, so that a CI log shows every problem of the run.
    stale: Vec<(usize, String)>,
    /// The first staging failure (a full disk, a read-only directory): reported as `apply`
    /// reports it, after the targets' own errors.
    output_error: Option<crate::output::OutputError>,
}

impl Gathered {
    fn add_batch(
        &mut self,
        chosen: &[Chosen<'_, '_>],
        produced: Vec<Option<Produced>>,
        mode: Mode,
    ) {
        for (c, result) in chosen.iter().zip(produced) {
            if let Some(result) = result {
                self.add(c.target, result, mode);
            }
        }
    }

    fn add(&mut self, t: &Target, (warnings, result): Produced, mode: Mode) {
        self.warnings
            .extend(warnings.iter().map(|w| format!("target `{}`: {w}", t.name)));
        let staging = match result {
            Ok(staging) => staging,
            Err(e) => return self.errors.extend(target_errors(t, e)),
        };
        self.files += staging.files;
        self.obsolete.extend(staging.obsolete);
        match staging.prepared {
            Ok(prepared) => {
                if mode == Mode::Check {
                    self.stale.extend(prepared.stale().iter().map(|(path, _)| {
                        let path = path.display();
                        let name = &t.name;
                        let why = "is out of date (regenerating would change it)";
                        (t.line, format!("target `{name}`: {path} {why}"))
                    }));
                }
                self.prepared.append(prepared);
            }
            Err(e) => {
                self.output_error.get_or_insert(e);
            }
        }
    }
}

struct Staging {
    files: usize,
    obsolete: Vec<std::path::PathBuf>,
    prepared: Result<Prepared, crate::output::OutputError>,
}

/// Render a target, plan its files and stage them (compare them, in check mode).
fn produce(job: &Job, rules: &crate::ruleset::Ruleset, mode: Mode) -> Produced {
    let done = match crate::job::render(job, rules) {
        Ok(done) => done,
        Err(e) => return (Vec::new(), Err(e.into())),
    };
    let warnings = done.warnings.clone();
    let staging = crate::job::plan(job, done, mode).map(|plan| Staging {
        files: plan.files.len(),
        prepared: Prepared::new(&plan.files, mode),
        obsolete: plan.obsolete,
    });
    (warnings, staging)
}

/// Targets selected, then rendered, at a time. A fleet's manifest (a target for each gateway,
/// each a selection of its own) holds this many rulesets at once, not every target's; a
/// manifest this short is selected whole before anything is rendered.
const BATCH: usize = 64;

/// Select, render and stage every target into `all`, [`BATCH`] targets at a time, in
/// manifest order. Selections are made once each: targets that differ only in backend,
/// placement or output (the usual manifest: one product, several firewalls) share one
/// ruleset, dropped once the last of them is rendered. The catalogue goes before the last
/// batch is rendered (for most manifests the only one): on a big catalogue it is most of a
/// run's memory, and no backend reads it.
fn produce_all(
    targets: &[Target],
    job: impl Fn(&Target) -> Job,
    cat: crate::model::Catalogue,
    mode: Mode,
    all: &mut Gathered,
) {
    // A job is a few kilobytes (its render options): made a batch at a time, keys for all.
    let keys: Vec<crate::job::Key> = targets.iter().map(|t| Runner::key(&job(t))).collect();
    // Whether each target is the last to use its selection: the first of its key seen from
    // the end.
    let mut seen = std::collections::HashSet::new();
    let mut last: Vec<bool> = keys.iter().rev().map(|k| seen.insert(k)).collect();
    last.reverse();
    let batches: Vec<_> = targets.chunks(BATCH).zip(last.chunks(BATCH)).collect();
    let Some((&(final_batch, final_last), earlier)) = batches.split_last() else {
        return;
    };
    let mut runner = Runner::new(&cat);
    for &(batch, last) in earlier {
        let jobs: Vec<_> = batch.iter().map(|t| (t, job(t))).collect();
        let chosen = select_batch(&mut runner, &jobs, last, &mut all.errors);
        let produced = render_batch(&chosen, |i| runner.ruleset(i), mode);
        all.add_batch(&chosen, produced, mode);
        for c in chosen.iter().filter(|c| c.last) {
            runner.release(c.ruleset);
        }
    }
    let jobs: Vec<_> = final_batch.iter().map(|t| (t, job(t))).collect();
    let chosen = select_batch(&mut runner, &jobs, final_last, &mut all.errors);
    let rulesets = runner.into_rulesets();
    drop(cat);
    let produced = render_batch(&chosen, |i| rulesets.get(i).and_then(Option::as_ref), mode);
    all.add_batch(&chosen, produced, mode);
}

/// A target whose selection is made.
struct Chosen<'j, 'm> {
    target: &'m Target,
    job: &'j Job,
    /// Its ruleset's index in the [`Runner`].
    ruleset: usize,
    /// No later target uses the ruleset.
    last: bool,
}

/// Each target's selection; a target whose selection fails adds its errors instead.
fn select_batch<'j, 'm>(
    runner: &mut Runner<'_>,
    batch: &'j [(&'m Target, Job)],
    last: &[bool],
    errors: &mut Vec<(usize, String)>,
) -> Vec<Chosen<'j, 'm>> {
    let mut chosen = Vec::new();
    for ((target, job), &last) in batch.iter().zip(last) {
        match runner.select(job) {
            Ok(ruleset) => chosen.push(Chosen {
                target,
                job,
                ruleset,
                last,
            }),
            Err(e) => errors.extend(target_errors(target, e)),
        }
    }
    chosen
}

/// Rules and entries rendered (over a batch's targets) past which they are rendered in
/// parallel: about 60 ms of rendering on one thread. Below it, a second thread saves a few
/// milliseconds and holds a second target's text at the same time: compare.py's 2000x10
/// build (8,096) took 0.069 s and 12.1 to 12.9 MB in parallel, 0.081 s and 11.4 to 11.8 MB
/// on one thread.
const PARALLEL_WORK: usize = 20_000;

/// Render and stage the chosen targets, in parallel when there is enough of it (every
/// target is independent; starting threads costs more than a few small targets save);
/// results in the targets' order.
fn render_batch<'r>(
    chosen: &[Chosen<'_, '_>],
    ruleset: impl Fn(usize) -> Option<&'r crate::ruleset::Ruleset> + Sync,
    mode: Mode,
) -> Vec<Option<Produced>> {
    let work: usize = chosen
        .iter()
        .filter_map(|c| ruleset(c.ruleset))
        .map(|r| r.rules.len() + r.selected.len())
        .sum();
    // Each target is also files staged: a batch of many small targets pays off too.
    crate::par::map(chosen, work > PARALLEL_WORK || chosen.len() > 16, |c| {
        ruleset(c.ruleset).map(|rules| produce(c.job, rules, mode))
    })
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
