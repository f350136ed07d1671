//! The top-level error and its exit code.

use crate::catalogue::LoadErrors;
use crate::output::OutputError;
use crate::render::RenderError;
use crate::select::SelectError;

/// Exit codes, as `diff` and `cmp` use them: 0 success (with `--check`: up to date), 1 only
/// for `--check` finding out-of-date files (`command::Report::exit_code`), 2 trouble: bad
/// input, a failed write, or a usage error (clap's own code).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Load(#[from] LoadErrors),
    #[error("{0}")]
    Select(Box<SelectError>),
    #[error("{0}")]
    Render(#[from] RenderError),
    #[error("{0}")]
    Output(#[from] OutputError),
    /// A command-line value clap could not check (exit code 2, like clap's own).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        2
    }
}

impl From<SelectError> for Error {
    fn from(e: SelectError) -> Self {
        Error::Select(Box::new(e))
    }
}
