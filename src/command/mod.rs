//! One module per subcommand. Each returns a [`Report`]; only `main` prints and exits.

mod apply;
mod audit;
mod build;
mod diff;
mod features;
pub(crate) mod generate;
mod products;
mod resolve;
mod site;
mod validate;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use clap::Parser;

use crate::catalogue;
use crate::cli::{Args, Command};
use crate::error::Error;
use crate::model::Catalogue;

/// What a command has to say: standard output, and notes for standard error.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub stdout: String,
    /// Printed as `warning: …`.
    pub warnings: Vec<String>,
    /// Printed as they are (e.g. `wrote rules.json`).
    pub notes: Vec<String>,
    /// Success, or out of date when a check found out-of-date files.
    pub exit_code: crate::error::Exit,
}

impl Report {
    /// A note with the difference for every file `apply` found out of date (`what` follows
    /// "is out of date"), and the out-of-date exit code if there is one.
    fn stale(&mut self, applied: &crate::output::Applied, what: &str) {
        for (path, diff) in &applied.stale {
            self.notes.push(format!(
                "{} is out of date{what}:\n{}",
                path.display(),
                diff.trim_end()
            ));
            self.exit_code = crate::error::Exit::OutOfDate;
        }
    }
}

/// Run a parsed command line.
pub(crate) fn execute(args: Args) -> Result<Report, Error> {
    let source = CatalogueSource::flags(&args.catalogue, args.no_builtin_catalogue);
    match args.command {
        Command::Products(crate::cli::Deferred(a)) => {
            products::run(&source, a.format, a.component.as_deref())
        }
        Command::Features(crate::cli::Deferred(a)) => features::run(&source.load()?, &a),
        Command::Validate(crate::cli::Deferred(a)) => validate::run(
            &a.path.as_deref().map_or(source, CatalogueSource::only),
            a.site.as_deref(),
        ),
        Command::Generate(crate::cli::Deferred(a)) => generate::run(&source, a),
        Command::Build(crate::cli::Deferred(a)) => build::run(&a.manifest, &source, &a),
        Command::Diff(crate::cli::Deferred(a)) => diff::run(&source, &a),
        Command::Resolve(crate::cli::Deferred(a)) => resolve::run(&source.load()?, a),
        Command::Audit(crate::cli::Deferred(a)) => audit::run(&source.load()?, a),
        Command::Apply(crate::cli::Deferred(a)) => apply::run(&source, a),
        Command::Site(crate::cli::SiteCommand::Init(a)) => site::init(&source.load()?, &a),
        Command::Completions { shell } => Ok(Report {
            stdout: completions(shell, &source.load()?),
            ..Report::default()
        }),
        Command::Man { subcommand } => man_page(subcommand.as_deref()).map(|stdout| Report {
            stdout,
            ..Report::default()
        }),
    }
}

/// Select `req` (with `site`) as generate does, for its did-you-mean errors, and the product
/// version it selected.
fn selected<'c>(
    cat: &'c Catalogue,
    site: &crate::site::Site,
    req: &crate::select::Request,
) -> Result<(crate::ruleset::Ruleset, &'c crate::model::ProductVersion), Error> {
    let rules = crate::select::select(cat, site, req)?;
    let pv = cat
        .version(&rules.meta.product, &rules.meta.version)
        .ok_or_else(|| crate::select::SelectError::NoProduct {
            list: String::new(),
        })?;
    Ok((rules, pv))
}

/// Where the catalogue comes from, decided once per command: the built-in catalogue (unless
/// `--no-builtin-catalogue`) plus every `--catalogue PATH` and a manifest's `catalogue:`
/// paths; or a path the command names itself (`validate PATH`), read on its own.
#[derive(Clone, Debug)]
pub(crate) struct CatalogueSource<'a> {
    builtin: bool,
    paths: Vec<&'a Path>,
}

impl<'a> CatalogueSource<'a> {
    /// From the global flags.
    pub(crate) fn flags(paths: &'a [std::path::PathBuf], no_builtin: bool) -> Self {
        CatalogueSource {
            builtin: !no_builtin,
            paths: paths.iter().map(std::path::PathBuf::as_path).collect(),
        }
    }

    /// One path on its own, without the built-in catalogue (`validate PATH`, `diff OLD NEW`).
    pub(crate) fn only(path: &'a Path) -> Self {
        CatalogueSource {
            builtin: false,
            paths: vec![path],
        }
    }

    /// These sources and a manifest's: its paths added, and the built-in catalogue left out
    /// if either leaves it out.
    pub(crate) fn with(mut self, paths: &'a [std::path::PathBuf], builtin: bool) -> Self {
        self.builtin &= builtin;
        self.paths
            .extend(paths.iter().map(std::path::PathBuf::as_path));
        self
    }

    /// `built-in catalogue`, the paths, or both.
    pub(crate) fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if self.builtin {
            parts.push("built-in catalogue".into());
        }
        parts.extend(self.paths.iter().map(|p| p.display().to_string()));
        if parts.is_empty() {
            "no catalogue".into()
        } else {
            parts.join(" + ")
        }
    }

    /// Read it: every file of every source checked together, every problem reported.
    pub(crate) fn load(&self) -> Result<Catalogue, Error> {
        self.load_part(None, None)
    }

    /// [`Self::load`] for a run about these products (and this version of them) only, when
    /// given: of the built-in catalogue, only their files are read (see
    /// [`catalogue::load_all_for`]).
    pub(crate) fn load_part(
        &self,
        products: Option<&std::collections::BTreeSet<String>>,
        version: Option<&str>,
    ) -> Result<Catalogue, Error> {
        if !self.builtin && self.paths.is_empty() {
            return Err(Error::Usage(
                "--no-builtin-catalogue leaves no catalogue: add one with --catalogue PATH".into(),
            ));
        }
        Ok(catalogue::load_all_for(
            self.builtin,
            &self.paths,
            products,
            version,
        )?)
    }

    /// [`Self::load_part`] for a run about one product (version), when it names one.
    pub(crate) fn load_for(
        &self,
        product: Option<&str>,
        version: Option<&str>,
    ) -> Result<Catalogue, Error> {
        let products = product.map(|p| std::collections::BTreeSet::from([p.to_string()]));
        self.load_part(products.as_ref(), version)
    }
}

/// The completion script for `shell`, from the clap definitions, with the catalogue's
/// product, version, component and feature ids as the values of the flags that take them
/// (the script is static: every id of every product, not only the selected product's).
pub(crate) fn completions(shell: clap_complete::Shell, cat: &Catalogue) -> String {
    use clap::CommandFactory;
    let mut ids: [(&[&str], std::collections::BTreeSet<String>); 4] = Default::default();
    ids[0].0 = &["product"];
    ids[1].0 = &["version", "from", "to"];
    ids[2].0 = &["component"];
    ids[3].0 = &["features"];
    for p in cat.products.values() {
        ids[0].1.insert(p.id.clone());
        for v in p.versions.values() {
            ids[1].1.insert(v.version.to_string());
            ids[2].1.extend(v.components.iter().map(|c| c.id.clone()));
            ids[3].1.extend(v.features.iter().map(|f| f.id.clone()));
        }
    }
    // The scripts hold the values in shell words (bash's `compgen -W` expands `$(…)` in
    // them): a version label from a user's catalogue may hold any character but a space, so
    // only plain labels are offered.
    let plain = |v: &String| {
        !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
    };
    for (_, set) in &mut ids {
        set.retain(plain);
    }
    // Every subcommand defined (they are deferred), so that their flags can take the values.
    let mut cmd = Args::command();
    cmd.build();
    let cmd = with_values(cmd, &ids);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd.clone(), "fwgen", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// `cmd` and its subcommands, with `values` as the possible values of the arguments of those
/// ids (for completion only: parsing keeps accepting any text, and reports unknown ids with
/// did-you-mean).
fn with_values(
    mut cmd: clap::Command,
    values: &[(&[&str], std::collections::BTreeSet<String>)],
) -> clap::Command {
    for (names, set) in values {
        for name in *names {
            if cmd.get_arguments().any(|a| a.get_id() == *name) {
                let list: Vec<clap::builder::PossibleValue> = set
                    .iter()
                    .map(|v| clap::builder::PossibleValue::new(v.clone()))
                    .collect();
                cmd = cmd.mut_arg(*name, |a| {
                    a.value_parser(clap::builder::PossibleValuesParser::new(list))
                });
            }
        }
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in subs {
        cmd = cmd.mut_subcommand(name, |s| with_values(s, values));
    }
    cmd
}

/// The man page (roff) of fwgen, or of one subcommand as `fwgen-NAME`, from the clap
/// definitions.
pub(crate) fn man_page(subcommand: Option<&str>) -> Result<String, Error> {
    use clap::CommandFactory;
    let cmd = Args::command();
    let page = match subcommand {
        None => cmd,
        Some(name) => {
            let names: Vec<String> = cmd
                .get_subcommands()
                .map(|s| s.get_name().to_string())
                .collect();
            let sub = cmd.find_subcommand(name).cloned().ok_or_else(|| {
                let hint = crate::suggest::hint(name, names.iter().map(String::as_str));
                Error::Usage(format!("fwgen man: unknown subcommand `{name}`{hint}"))
            })?;
            sub.name(format!("fwgen-{name}"))
        }
    };
    let mut out = Vec::new();
    let _ = clap_mangen::Man::new(page).render(&mut out);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();

/// The whole program: parse the command line, run the command, print its report (warnings
/// and notes to standard error, output to standard output) and return the exit code. The only
/// way into `cli` and `command` from outside the crate.
pub fn run() -> ExitCode {
    let args = match crate::cli::Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // anstream writes colour only to a terminal, and never with NO_COLOR set.
    match execute(args) {
        Ok(report) => {
            // One write: a build's notes are a line per file.
            use std::fmt::Write as _;
            let mut text = String::new();
            for w in &report.warnings {
                let _ = writeln!(text, "{WARNING}warning:{WARNING:#} {w}");
            }
            for n in &report.notes {
                let _ = writeln!(text, "{n}");
            }
            if !text.is_empty() {
                let _ = anstream::stderr().write_all(text.as_bytes());
            }
            // A closed pipe (`fwgen … | head`) is not an error worth reporting; any other
            // write error (a full disk behind `> file`) is: the output is incomplete.
            let mut out = std::io::stdout().lock();
            match out
                .write_all(report.stdout.as_bytes())
                .and_then(|()| out.flush())
            {
                Ok(()) => ExitCode::from(u8::from(report.exit_code)),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    ExitCode::from(u8::from(report.exit_code))
                }
                Err(e) => {
                    anstream::eprintln!(
                        "{ERROR}error:{ERROR:#} cannot write to standard output: {e}"
                    );
                    ExitCode::from(u8::from(crate::error::Exit::Trouble))
                }
            }
        }
        Err(e) => {
            crate::output::remove_created_dirs();
            // Every problem on a line of its own, each with its own (coloured) `error:`.
            for m in e.messages() {
                anstream::eprintln!("{ERROR}error:{ERROR:#} {m}");
            }
            ExitCode::from(u8::from(e.exit_code()))
        }
    }
}
