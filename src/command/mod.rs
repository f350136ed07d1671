//! One module per subcommand. Each returns a [`Report`]; only `main` prints and exits.

mod audit;
mod build;
mod diff;
mod features;
pub mod generate;
mod products;
mod resolve;
mod validate;

use std::path::Path;

use crate::catalogue;
use crate::cli::{Args, Command};
use crate::error::Error;
use crate::model::Catalogue;

/// What a command has to say: standard output, and notes for standard error.
#[derive(Debug, Default)]
pub struct Report {
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
pub fn execute(args: Args) -> Result<Report, Error> {
    let source = CatalogueSource::flag(args.catalogue.as_deref());
    match args.command {
        Command::Products(a) => products::run(&source.load()?, a.format, a.component.as_deref()),
        Command::Features(a) => features::run(&source.load()?, &a),
        Command::Validate(a) => validate::run(
            CatalogueSource::flag(a.path.as_deref()).or(source),
            a.site.as_deref(),
        ),
        Command::Generate(a) => generate::run(&source.load()?, a),
        Command::Build(a) => build::run(&a.manifest, source, a.check, a.allow_outside),
        Command::Diff(a) => diff::run(source, &a),
        Command::Resolve(a) => resolve::run(&source.load()?, a),
        Command::Audit(a) => audit::run(&source.load()?, a),
        Command::Completions { shell } => Ok(Report {
            stdout: completions(shell),
            ..Report::default()
        }),
        Command::Man { subcommand } => man_page(subcommand.as_deref()).map(|stdout| Report {
            stdout,
            ..Report::default()
        }),
    }
}

/// Where the catalogue comes from, decided once per command: a path the command names itself
/// (`validate PATH`), else `--catalogue PATH`, else a manifest's `catalogue:`, else the copy
/// built into the binary.
#[derive(Clone, Copy, Debug, Default)]
pub struct CatalogueSource<'a> {
    path: Option<&'a Path>,
}

impl<'a> CatalogueSource<'a> {
    /// From a flag or argument: `None` leaves the choice to what comes later.
    pub fn flag(path: Option<&'a Path>) -> Self {
        CatalogueSource { path }
    }

    /// This source if it names a path, else `later`.
    pub fn or(self, later: CatalogueSource<'a>) -> Self {
        CatalogueSource {
            path: self.path.or(later.path),
        }
    }

    /// `built-in catalogue`, or the path.
    pub fn describe(self) -> String {
        self.path.map_or_else(
            || "built-in catalogue".to_string(),
            |p| p.display().to_string(),
        )
    }

    /// Read it.
    pub fn load(self) -> Result<Catalogue, Error> {
        Ok(match self.path {
            Some(p) => catalogue::load(p)?,
            None => catalogue::load_embedded()?,
        })
    }
}

/// The completion script for `shell`, from the clap definitions.
pub fn completions(shell: clap_complete::Shell) -> String {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Args::command(), "fwgen", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The man page (roff) of fwgen, or of one subcommand as `fwgen-NAME`, from the clap
/// definitions.
pub fn man_page(subcommand: Option<&str>) -> Result<String, Error> {
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
