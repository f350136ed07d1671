//! `fwgen generate`

use std::path::{Path, PathBuf};

use crate::cli::GenerateArgs;
use crate::error::Error;
use crate::model::Catalogue;
use crate::output::{Mode, OutputError, Planned, apply};
use crate::render::{Backend, Output, RenderOptions};
use crate::select::{Request, select};
use crate::site::Site;

use super::Report;

pub fn run(cat: &Catalogue, args: GenerateArgs) -> Result<Report, Error> {
    let mut site = match &args.site {
        Some(p) => Site::load(p)?,
        None => Site::default(),
    };
    site.use_files(args.ip_ranges.as_deref(), args.lock.as_deref())?;
    let req = Request {
        product: args.product,
        version: args.version,
        component: args.component,
        features: args.features,
        all_features: args.all_features,
        no_default_features: args.no_default_features,
        gateway: args.gateway.iter().map(|a| a.net()).collect(),
        strict: args.strict,
        names: args.names.unwrap_or_default(),
    };
    let rules = select(cat, &site, &req)?;
    let opts = RenderOptions {
        placement: args.placement,
        log_drops: args.log_drops,
        policy: args.policy,
    };
    let rendered = args.backend.render(&rules, &opts)?;
    let dnsmasq = match &args.dnsmasq {
        Some(path) => Some((
            path.clone(),
            crate::render::dnsmasq::render(args.backend, &rules, &opts)?,
        )),
        None => None,
    };
    let mut report = Report {
        warnings: rules.warnings.clone(),
        ..Report::default()
    };
    report.warnings.extend(rendered.warnings);
    if let Some(w) = dns_warning(args.backend, &rules, args.dnsmasq.is_some()) {
        report.warnings.push(w);
    }

    // Last on standard error: how much of the ruleset is open to any address.
    let summary = format!("fwgen: {}", rules.any_summary());
    // `-o -` is standard output, as for most tools.
    let to_stdout =
        args.output_dir.is_none() && args.output.as_deref().is_none_or(|p| p == Path::new("-"));
    let target = match (&args.output, &args.output_dir) {
        _ if to_stdout => {
            if args.check {
                return Err(Error::Usage(
                    "--check compares with files: give `-o FILE` or `--output-dir DIR`".into(),
                ));
            }
            report.stdout = stdout_text(rendered.output);
            if let Some((path, text)) = dnsmasq {
                write_dnsmasq(&path, text, args.check, &mut report)?;
            }
            report.notes.push(summary);
            return Ok(report);
        }
        (Some(path), None) if matches!(rendered.output, Output::Single(_)) => {
            Target::File(path.clone())
        }
        (Some(dir), None) | (_, Some(dir)) => Target::Dir(dir.clone()),
        // Covered by `to_stdout` above.
        (None, None) => return Ok(report),
    };
    let mode = if args.check { Mode::Check } else { Mode::Write };
    let (mut planned, obsolete) = plan(args.backend, rendered.output, &target, mode)?;
    if let Some((path, contents)) = dnsmasq {
        planned.push(Planned { path, contents });
    }
    let applied = apply(&planned, &obsolete, mode)?;
    let n = rules.rules.len();
    for p in &applied.written {
        report
            .notes
            .push(format!("wrote {} ({n} rules)", p.display()));
    }
    for p in &applied.unchanged {
        report.notes.push(format!("{} is up to date", p.display()));
    }
    for p in &applied.removed {
        report
            .notes
            .push(format!("removed {} (no longer generated)", p.display()));
    }
    if !applied.stale.is_empty() {
        for (path, diff) in &applied.stale {
            report.notes.push(format!(
                "{} is out of date:\n{}",
                path.display(),
                diff.trim_end()
            ));
        }
        report.exit_code = 1;
    }
    report.notes.push(summary);
    Ok(report)
}

/// The warning for sets that nothing fills: `--names fqdn` on a Linux backend without
/// `--dnsmasq`.
pub fn dns_warning(
    backend: Backend,
    rules: &crate::ruleset::Ruleset,
    dnsmasq: bool,
) -> Option<String> {
    let sets = backend.description().forwarder.is_some();
    (sets && !dnsmasq && !rules.dns_groups.is_empty()).then(|| {
        let groups: Vec<&str> = rules.dns_groups.iter().map(|d| d.group.as_str()).collect();
        format!(
            "the sets of host groups {} are empty until a DNS forwarder fills them: write its configuration with --dnsmasq FILE",
            groups.join(", ")
        )
    })
}

/// `--dnsmasq FILE` beside a ruleset printed on standard output.
fn write_dnsmasq(
    path: &Path,
    contents: String,
    check: bool,
    report: &mut Report,
) -> Result<(), Error> {
    let mode = if check { Mode::Check } else { Mode::Write };
    let applied = apply(
        &[Planned {
            path: path.to_path_buf(),
            contents,
        }],
        &[],
        mode,
    )?;
    for p in &applied.written {
        report.notes.push(format!("wrote {}", p.display()));
    }
    Ok(())
}

/// Where output goes: one file, or a directory of files.
pub enum Target {
    File(PathBuf),
    Dir(PathBuf),
}

/// The files an output becomes at `target`, and the files an earlier run wrote into the
/// same directory that this one no longer writes (removed after the new ones are in place).
/// A directory may be new (its parent must exist) and is created here in write mode; a
/// directory output carries the list of its files (`.fwgen.files`).
pub fn plan(
    backend: Backend,
    output: Output,
    target: &Target,
    mode: Mode,
) -> Result<(Vec<Planned>, Vec<PathBuf>), OutputError> {
    match (target, output) {
        (Target::File(path), Output::Single(text)) => Ok((
            vec![Planned {
                path: path.clone(),
                contents: text,
            }],
            Vec::new(),
        )),
        (Target::File(path), Output::Files(files)) | (Target::Dir(path), Output::Files(files)) => {
            dir_files(path, files, mode)
        }
        (Target::Dir(dir), Output::Single(text)) => {
            dir_files(dir, vec![(backend.file_name().to_string(), text)], mode)
        }
    }
}

fn dir_files(
    dir: &Path,
    files: Vec<(String, String)>,
    mode: Mode,
) -> Result<(Vec<Planned>, Vec<PathBuf>), OutputError> {
    if mode == Mode::Write && !dir.is_dir() {
        // Like mkdir: the directory itself may be new, its parent must exist.
        crate::output::create_dir(dir, "cannot create the output directory")?;
    }
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let obsolete = crate::output::no_longer_written(dir, &names);
    let mut planned = Vec::new();
    for (name, contents) in files {
        let path = dir.join(&name);
        if mode == Mode::Write
            && let Some(parent) = path.parent()
        {
            crate::output::create_dirs(parent)?;
        }
        planned.push(Planned { path, contents });
    }
    planned.push(Planned {
        path: dir.join(crate::output::OWNED_LIST),
        contents: crate::output::owned_list(&names),
    });
    Ok((planned, obsolete))
}

/// Several files on standard output, each after a `# ==> NAME <==` line.
pub fn stdout_text(output: Output) -> String {
    match output {
        Output::Single(text) => text,
        Output::Files(files) => files
            .iter()
            .map(|(name, text)| format!("# ==> {name} <==\n{text}"))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}
