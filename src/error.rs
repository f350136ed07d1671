//! The top-level error and its exit code.

use crate::catalogue::LoadErrors;
use crate::output::OutputError;
use crate::render::RenderError;
use crate::select::SelectError;

/// Exit codes: 0 success, 1 bad input or a failed write, 2 usage (clap's own).
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
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }
}

impl From<SelectError> for Error {
    fn from(e: SelectError) -> Self {
        Error::Select(Box::new(e))
    }
}
