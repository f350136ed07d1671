//! One job type between the front ends and the pipeline: `generate` turns its flags into one
//! [`Job`], `build` turns each manifest target into one. A [`Runner`] makes each job's
//! selection (reading every site file once, and selecting once for jobs that share one),
//! [`render`] turns a job and its ruleset into text, and [`plan`] into the files to write or
//! check. Writing them is `output::apply`'s.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostics;
use crate::error::Error;
use crate::model::Catalogue;
use crate::output::{Mode, OutputError, Planned};
use crate::render::{Backend, Output, RenderError, RenderOptions, Rendered};
use crate::ruleset::Ruleset;
use crate::select::{Request, select};
use crate::site::Site;

/// Everything one output needs: what to select, how to render it, where it goes.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub request: Request,
    /// The site file, if any.
    pub site: Option<PathBuf>,
    /// Files that replace the ones the site file names (`--ip-ranges`, `--lock`).
    pub ip_ranges: Option<PathBuf>,
    pub lock: Option<PathBuf>,
    pub backend: Backend,
    pub options: RenderOptions,
    pub destination: Destination,
    /// Also write the DNS forwarder's configuration here (`--dnsmasq`).
    pub dnsmasq: Option<PathBuf>,
    /// Create missing parent directories of the destination (a manifest's `out/…`).
    pub create_parents: bool,
    /// Cisco: the file applied last (`--previous`); without it, the file at the destination.
    pub previous: Option<PathBuf>,
}

/// Where a job's output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Destination {
    Stdout,
    /// A file for one-file backends, a directory for the others (`-o`).
    Output(PathBuf),
    /// A directory in any case (`--output-dir`).
    Directory(PathBuf),
}

/// What makes two jobs share a selection: their site, request and name files.
pub(crate) type Key = (Option<PathBuf>, Request, Option<PathBuf>, Option<PathBuf>);

/// Selections made for jobs, each once; site files read once each.
pub(crate) struct Runner<'c> {
    cat: &'c Catalogue,
    sites: BTreeMap<PathBuf, Result<Site, Diagnostics>>,
    /// Each selection made, by index; `None` once released.
    selections: Vec<(Key, Option<Ruleset>)>,
    /// The index of each selection not released, by key: a fleet's manifest has thousands.
    made: HashMap<Key, usize>,
}

impl<'c> Runner<'c> {
    pub(crate) fn new(cat: &'c Catalogue) -> Self {
        Runner {
            cat,
            sites: BTreeMap::new(),
            selections: Vec::new(),
            made: HashMap::new(),
        }
    }

    /// `site`, already read from `path`: jobs that name `path` use it instead of reading it.
    pub(crate) fn add_site(&mut self, path: &Path, site: Site) {
        self.sites.insert(path.to_path_buf(), Ok(site));
    }

    /// The key of `job`'s selection: jobs with equal keys share one ruleset.
    pub(crate) fn key(job: &Job) -> Key {
        (
            job.site.clone(),
            job.request.clone(),
            job.ip_ranges.clone(),
            job.lock.clone(),
        )
    }

    /// The index of `job`'s ruleset (see [`Runner::ruleset`]), selected the first time (and
    /// again after it was released).
    pub(crate) fn select(&mut self, job: &Job) -> Result<usize, Error> {
        let key = Self::key(job);
        if let Some(&i) = self.made.get(&key) {
            return Ok(i);
        }
        let mut site = match &job.site {
            None => Site::default(),
            Some(p) => self
                .sites
                .entry(p.clone())
                .or_insert_with(|| Site::load(p))
                .clone()?,
        };
        site.use_files(job.ip_ranges.as_deref(), job.lock.as_deref())?;
        let rules = select(self.cat, &site, &job.request)?;
        let index = self.selections.len();
        self.made.insert(key.clone(), index);
        self.selections.push((key, Some(rules)));
        Ok(index)
    }

    /// A ruleset [`Runner::select`] made (`None` once released).
    pub(crate) fn ruleset(&self, index: usize) -> Option<&Ruleset> {
        self.selections.get(index).and_then(|(_, r)| r.as_ref())
    }

    /// Drop a ruleset no job needs any more; indices stay as they were.
    pub(crate) fn release(&mut self, index: usize) {
        if let Some((key, r)) = self.selections.get_mut(index) {
            *r = None;
            self.made.remove(key);
        }
    }

    /// The rulesets made, by index (`None` where released), without the catalogue they were
    /// selected from: a command drops the catalogue before rendering, since on a large
    /// catalogue it is most of the memory a run holds, and no backend reads it.
    pub(crate) fn into_rulesets(self) -> Vec<Option<Ruleset>> {
        self.selections.into_iter().map(|(_, r)| r).collect()
    }
}

/// A job's rendered output, its forwarder configuration, and its warnings; pure, so jobs
/// render in parallel.
pub(crate) struct Done {
    pub rendered: Rendered,
    pub dnsmasq: Option<(PathBuf, String)>,
    /// The selection's warnings, the backend's, and the one about sets nothing fills.
    pub warnings: Vec<String>,
}

/// Render `rules` as `job` asks.
pub(crate) fn render(job: &Job, rules: &Ruleset) -> Result<Done, RenderError> {
    let mut options = job.options.clone();
    options.output_name = match &job.destination {
        Destination::Output(p) => p.file_name().map(|f| f.to_string_lossy().into_owned()),
        Destination::Directory(_) => Some(job.backend.file_name().to_string()),
        Destination::Stdout => None,
    };
    if let Some(parse) = job.backend.description().previous {
        options.cisco.previous = previous(job, parse)?;
    }
    let rendered = job.backend.render(rules, &options)?;
    let dnsmasq = match &job.dnsmasq {
        Some(path) => Some((
            path.clone(),
            crate::render::dnsmasq::render(job.backend, rules, &job.options)?,
        )),
        None => None,
    };
    let mut warnings = rules.warnings.clone();
    warnings.extend(rendered.warnings.iter().cloned());
    warnings.extend(dns_warning(job.backend, rules, job.dnsmasq.is_some()));
    Ok(Done {
        rendered,
        dnsmasq,
        warnings,
    })
}

/// The generation a configuration replaces: `--previous FILE` (which must be one fwgen
/// wrote), or else the file at `-o` when fwgen wrote it (a file of another origin there is
/// refused later, when it would be replaced).
fn previous(
    job: &Job,
    parse: crate::render::ReadPrevious,
) -> Result<Option<crate::render::Previous>, RenderError> {
    let (path, given) = match (&job.previous, &job.destination) {
        (Some(p), _) => (p, true),
        (None, Destination::Output(p)) => (p, false),
        (None, _) => return Ok(None),
    };
    // Only a regular file: never a device, a FIFO or what a symbolic link points at.
    let regular = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file());
    if !regular {
        return if given {
            Err(RenderError::Invalid(format!(
                "--previous {}: not a regular file",
                path.display()
            )))
        } else {
            Ok(None)
        };
    }
    let text = crate::yaml::read_text(path)
        .map_err(|e| RenderError::Invalid(format!("--previous {}: {e}", path.display())))?;
    if !given && !crate::text::written_by_fwgen(text.as_bytes()) {
        return Ok(None);
    }
    parse(&text).map(Some).map_err(|e| {
        RenderError::Invalid(format!(
            "{}: cannot read the previous generation: {e}",
            path.display()
        ))
    })
}

/// The warning for sets that nothing fills: names the firewall follows, on a backend whose
/// sets a DNS forwarder fills, without `--dnsmasq`.
fn dns_warning(backend: Backend, rules: &Ruleset, dnsmasq: bool) -> Option<String> {
    let sets = backend.description().forwarder.is_some();
    (sets && !dnsmasq && !rules.dns_groups.is_empty()).then(|| {
        let groups: Vec<&str> = rules.dns_groups.iter().map(|d| d.group.as_str()).collect();
        format!(
            "the sets of host groups {} are empty until a DNS forwarder fills them: write its configuration with --dnsmasq FILE",
            groups.join(", ")
        )
    })
}

/// What a job writes: the text for standard output, the files, and the files an earlier run
/// wrote into the same directory that this one no longer writes.
pub(crate) struct Plan {
    pub stdout: Option<String>,
    pub files: Vec<Planned>,
    pub obsolete: Vec<PathBuf>,
}

/// The files `done` becomes at the job's destination. In write mode, a new output directory
/// (its parent must exist) and, with `create_parents`, missing parents are created here.
pub(crate) fn plan(job: &Job, done: Done, mode: Mode) -> Result<Plan, Error> {
    let output = done.rendered.output;
    let mut plan = match &job.destination {
        Destination::Stdout => {
            if mode == Mode::Check {
                return Err(Error::Usage(
                    "--check compares with files: give `-o FILE` or `--output-dir DIR`".into(),
                ));
            }
            Plan {
                stdout: Some(stdout_text(output)),
                files: Vec::new(),
                obsolete: Vec::new(),
            }
        }
        Destination::Output(path) | Destination::Directory(path) => {
            if mode == Mode::Write
                && job.create_parents
                && let Some(parent) = path.parent()
                && !parent.as_os_str().is_empty()
            {
                crate::output::create_dirs(parent)?;
            }
            let dir = matches!(job.destination, Destination::Directory(_));
            let (files, obsolete) = files_at(job.backend, output, path, dir, mode)?;
            Plan {
                stdout: None,
                files,
                obsolete,
            }
        }
    };
    if let Some((path, contents)) = done.dnsmasq {
        plan.files.push(Planned { path, contents });
    }
    Ok(plan)
}

/// One file at `path`, or the files of a directory there (a one-file backend's file takes
/// its usual name in a directory).
fn files_at(
    backend: Backend,
    output: Output,
    path: &Path,
    dir: bool,
    mode: Mode,
) -> Result<(Vec<Planned>, Vec<PathBuf>), OutputError> {
    match output {
        Output::Single(text) if !dir => Ok((
            vec![Planned {
                path: path.to_path_buf(),
                contents: text,
            }],
            Vec::new(),
        )),
        Output::Single(text) => {
            dir_files(path, vec![(backend.file_name().to_string(), text)], mode)
        }
        Output::Files(files) => dir_files(path, files, mode),
    }
}

/// The files of a directory output, with the list of them (`.fwgen.files`).
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
pub(crate) fn stdout_text(output: Output) -> String {
    match output {
        Output::Single(text) => text,
        Output::Files(files) => files
            .iter()
            .map(|(name, text)| format!("# ==> {name} <==\n{text}"))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}
