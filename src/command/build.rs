//! `fwgen build [MANIFEST] [--check]`: every target of a manifest in one run.

use std::collections::BTreeMap;
use std::path::Path;

use crate::catalogue::{LoadError, LoadErrorKind, LoadErrors};
use crate::error::Error;
use crate::manifest::{Manifest, Target};
use crate::output::{Mode, apply};
use crate::render::{Output, RenderOptions};
use crate::ruleset::Ruleset;
use crate::select::{Request, select};
use crate::site::Site;

use super::Report;
use super::generate::{Target as PlanTarget, plan};

/// One selection, made once for every target that shares it: (site, request, the target's own
/// ip-ranges and lock files, the ruleset).
type Selection<'a> = (
    Option<&'a Path>,
    Request,
    (Option<&'a Path>, Option<&'a Path>),
    Ruleset,
);

pub fn run(
    manifest_path: &Path,
    catalogue_override: Option<&Path>,
    check: bool,
    allow_outside: bool,
) -> Result<Report, Error> {
    let manifest = Manifest::load(manifest_path, allow_outside)?;
    let cat = super::load(catalogue_override.or(manifest.catalogue.as_deref()))?;
    let mode = if check { Mode::Check } else { Mode::Write };
    let mut errors: Vec<(usize, String)> = Vec::new();

    // Sites, each read once (an unreadable one is reported for every target that names it).
    let mut sites: BTreeMap<&Path, Result<Site, String>> = BTreeMap::new();
    for p in manifest.targets.iter().filter_map(|t| t.site.as_deref()) {
        sites
            .entry(p)
            .or_insert_with(|| Site::load(p).map_err(|e| e.to_string()));
    }
    let empty = Site::default();

    // Selections, each made once: targets that differ only in backend, placement or output
    // (the usual manifest: one product, several firewalls) share one ruleset.
    let mut selections: Vec<Selection> = Vec::new();
    let mut jobs: Vec<(&Target, usize)> = Vec::new();
    for t in &manifest.targets {
        let site = match t.site.as_deref() {
            None => &empty,
            Some(p) => match sites.get(p) {
                Some(Ok(s)) => s,
                Some(Err(e)) => {
                    errors.push((t.line, format!("target `{}`: {e}", t.name)));
                    continue;
                }
                None => continue, // not reached: every site was read above
            },
        };
        let req = Request {
            product: t.product.clone(),
            version: t.version.clone(),
            component: t.component.clone(),
            features: t.features.clone(),
            all_features: t.all_features,
            no_default_features: t.no_default_features,
            gateway: t.gateway.iter().map(|a| a.net()).collect(),
            strict: t.strict,
            names: t.names,
        };
        let files = (t.ip_ranges.as_deref(), t.lock.as_deref());
        let known = selections
            .iter()
            .position(|(s, r, f, _)| *s == t.site.as_deref() && *r == req && *f == files);
        // The target's own ip-ranges or lock file replaces the site file's.
        let with_files;
        let site = if files == (None, None) {
            site
        } else {
            let mut s = site.clone();
            if let Err(e) = s.use_files(files.0, files.1) {
                errors.push((t.line, format!("target `{}`: {e}", t.name)));
                continue;
            }
            with_files = s;
            &with_files
        };
        let index = match known {
            Some(i) => i,
            None => match select(&cat, site, &req) {
                Ok(rules) => {
                    selections.push((t.site.as_deref(), req, files, rules));
                    selections.len() - 1
                }
                Err(e) => {
                    errors.push((t.line, target_error(t, &Error::from(e))));
                    continue;
                }
            },
        };
        jobs.push((t, index));
    }

    // Rendering, in parallel when there is enough of it: every target is independent.
    // Results stay in manifest order.
    let work: usize = jobs
        .iter()
        .filter_map(|(_, i)| selections.get(*i))
        .map(|(_, _, _, r)| r.rules.len() + r.selected.len())
        .sum();
    let rendered = crate::par::map(&jobs, work > 2_000, |(t, index)| {
        let rules = selections.get(*index).map(|(_, _, _, r)| r)?;
        let opts = RenderOptions {
            placement: t.placement,
            log_drops: t.log_drops,
            policy: t.policy,
        };
        let rendered = t.backend.render(rules, &opts).and_then(|r| {
            let dnsmasq = t
                .dnsmasq
                .as_ref()
                .map(|p| {
                    crate::render::dnsmasq::render(t.backend, rules, &opts).map(|c| (p.clone(), c))
                })
                .transpose()?;
            Ok((r, dnsmasq))
        });
        Some((rules, rendered))
    });

    let mut planned = Vec::new();
    let mut obsolete = Vec::new();
    let mut warnings = Vec::new();
    for ((t, _), result) in jobs.iter().zip(rendered) {
        let Some((rules, result)) = result else {
            continue;
        };
        let result = result.map_err(Error::from).and_then(|(rendered, dnsmasq)| {
            let unfilled = super::generate::dns_warning(t.backend, rules, dnsmasq.is_some());
            warnings.extend(
                rules
                    .warnings
                    .iter()
                    .chain(&rendered.warnings)
                    .chain(&unfilled)
                    .map(|w| format!("target `{}`: {w}", t.name)),
            );
            let target = match rendered.output {
                Output::Single(_) => PlanTarget::File(t.output.clone()),
                Output::Files(_) => PlanTarget::Dir(t.output.clone()),
            };
            if mode == Mode::Write
                && let Some(parent) = t.output.parent()
                && !parent.as_os_str().is_empty()
            {
                crate::output::create_dirs(parent)?;
            }
            let (mut files, obsolete) = plan(t.backend, rendered.output, &target, mode)?;
            if let Some((path, contents)) = dnsmasq {
                files.push(crate::output::Planned { path, contents });
            }
            Ok((files, obsolete))
        });
        match result {
            Ok((p, o)) => {
                planned.extend(p);
                obsolete.extend(o);
            }
            Err(e) => errors.push((t.line, target_error(t, &e))),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|(line, _)| *line);
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
    let applied = apply(&planned, &obsolete, mode)?;
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

/// A target's error, worded for the manifest. Selection errors name the command-line flag
/// (`--features: …`); here the value came from the target's key of the same name.
fn target_error(t: &Target, e: &Error) -> String {
    let msg = e.to_string();
    let msg = match msg.strip_prefix("--").and_then(|m| m.split_once(": ")) {
        Some((key, rest)) => format!("{}: {rest}", key.replace('-', "_")),
        None => msg,
    };
    format!("target `{}`: {msg}", t.name)
}
