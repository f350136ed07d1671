//! Backends: turn a [`Ruleset`] into text for one firewall syntax.
//!
//! A closed enum, matched exhaustively: adding a backend makes the compiler list every place
//! that must learn about it. Each backend module exposes a pure `render(&Ruleset)`.

mod json;

use crate::ruleset::Ruleset;

/// Output syntaxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Backend {
    /// The selected ruleset as JSON (for review, diffing and other tools)
    Json,
}

/// Why a ruleset cannot be expressed in a backend's syntax.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{backend} cannot express {what}")]
    Unsupported { backend: &'static str, what: String },
}

impl Backend {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
        }
    }

    /// Render `rules` in this backend's syntax.
    pub fn render(self, rules: &Ruleset) -> Result<String, RenderError> {
        match self {
            Self::Json => Ok(json::render(rules)),
        }
    }
}
