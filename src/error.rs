//! The top-level error and its exit code.

use crate::diagnostic::Diagnostics;
use crate::output::OutputError;
use crate::render::RenderError;
use crate::select::SelectError;

/// Exit codes, as `diff` and `cmp` use them: 0 success (with `--check`: up to date), 1 only
/// for `--check` finding out-of-date files (`command::Report::exit_code`), 2 trouble: bad
/// input, a failed write, or a usage error (clap's own code).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("{0}")]
    Load(#[from] Diagnostics),
    #[error("{0}")]
    Select(Box<SelectError>),
    #[error("{0}")]
    Render(#[from] RenderError),
    #[error("{0}")]
    Output(#[from] OutputError),
    /// A ruleset to audit that cannot be read (not a usage error: the command was right).
    #[error("{0}")]
    Audit(#[from] crate::audit::ReadError),
    /// `fwgen apply` stopped: before a change nothing changed; after one, what was live
    /// before was restored.
    #[error("{0}")]
    Apply(#[from] crate::apply::ApplyError),
    /// A command-line value clap could not check (exit code 2, like clap's own).
    #[error("{0}")]
    Usage(String),
}

/// The process's exit codes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Exit {
    /// Done (with `--check`: everything is up to date).
    #[default]
    Success = 0,
    /// `--check` only: some output is out of date.
    OutOfDate = 1,
    /// Bad input, a failed write, or a usage error.
    Trouble = 2,
}

impl From<Exit> for u8 {
    fn from(e: Exit) -> u8 {
        e as u8
    }
}

impl Error {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> Exit {
        Exit::Trouble
    }

    /// One message per problem, each printed after its own `error:` (a catalogue, site or
    /// manifest can hold many).
    pub(crate) fn messages(&self) -> Vec<String> {
        match self {
            Error::Load(e) => e.0.iter().map(ToString::to_string).collect(),
            Error::Select(e) => e.messages(),
            other => vec![other.to_string()],
        }
    }
}

impl From<SelectError> for Error {
    fn from(e: SelectError) -> Self {
        Error::Select(Box::new(e))
    }
}
