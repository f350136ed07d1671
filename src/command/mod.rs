//! One module per subcommand. Each returns a [`Report`]; only `main` prints and exits.

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

/// Run a parsed command line.
pub fn execute(args: Args) -> Result<Report, Error> {
    let cat_path = args.catalogue.as_deref();
    match args.command {
        Command::Products(a) => products::run(&load(cat_path)?, a.format),
        Command::Features(a) => features::run(&load(cat_path)?, &a),
        Command::Validate(a) => validate::run(a.path.as_deref().or(cat_path), a.site.as_deref()),
        Command::Generate(a) => generate::run(&load(cat_path)?, a),
        Command::Build(a) => build::run(&a.manifest, cat_path, a.check, a.allow_outside),
        Command::Diff(a) => diff::run(cat_path, &a),
        Command::Resolve(a) => resolve::run(&load(cat_path)?, a),
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

/// The catalogue at `path`, or the built-in one.
pub fn load(path: Option<&Path>) -> Result<Catalogue, Error> {
    Ok(match path {
        Some(p) => catalogue::load(p)?,
        None => catalogue::load_embedded()?,
    })
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
