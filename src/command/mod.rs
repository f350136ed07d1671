//! One module per subcommand. Each returns a [`Report`]; only `main` prints and exits.

mod features;
mod generate;
mod products;
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
}

/// Run a parsed command line.
pub fn execute(args: Args) -> Result<Report, Error> {
    let cat_path = args.catalogue.as_deref();
    match args.command {
        Command::Products(a) => products::run(&load(cat_path)?, a.format),
        Command::Features(a) => features::run(&load(cat_path)?, &a),
        Command::Validate(a) => validate::run(a.path.as_deref().or(cat_path), a.site.as_deref()),
        Command::Generate(a) => generate::run(&load(cat_path)?, a),
    }
}

/// The catalogue at `path`, or the built-in one.
pub fn load(path: Option<&Path>) -> Result<Catalogue, Error> {
    Ok(match path {
        Some(p) => catalogue::load(p)?,
        None => catalogue::load_embedded()?,
    })
}
