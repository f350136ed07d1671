//! Problems in the files fwgen reads (catalogues, site files, manifests, ip-ranges and lock
//! files, and a manifest's targets), each with the file and line it is about; `main` prints
//! every one after its own `error:`.

use std::fmt;

/// One problem in one file.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{}: {kind}", position(.path, *.line, *.column))]
pub struct Diagnostic {
    /// The file as the user named it (for the shipped catalogue: `data/NAME.yaml`).
    pub path: String,
    /// 1-based line; 0 when the problem concerns the file as a whole.
    pub line: usize,
    pub column: Option<usize>,
    pub kind: Problem,
}

pub(crate) fn position(path: &str, line: usize, column: Option<usize>) -> String {
    match (line, column) {
        (0, _) => path.to_string(),
        (l, Some(c)) => format!("{path}:{l}:{c}"),
        (l, None) => format!("{path}:{l}"),
    }
}

/// What is wrong.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Problem {
    #[error("cannot read: {0}")]
    Read(#[source] std::sync::Arc<std::io::Error>),
    #[error("no catalogue files (`*.yaml`) in this directory")]
    NoFiles,
    #[error("{0}")]
    Syntax(String),
    #[error("duplicate {what} `{id}`: first defined at line {first_line}")]
    Duplicate {
        what: &'static str,
        id: String,
        first_line: usize,
    },
    #[error("product `{product}` version `{version}` is defined again here; first in `{other}`")]
    DuplicateVersion {
        product: String,
        version: String,
        other: String,
    },
    #[error("product `{product}` is titled `{title}` here but `{other_title}` in `{other}`")]
    TitleMismatch {
        product: String,
        title: String,
        other_title: String,
        other: String,
    },
    #[error("{referrer}: unknown {what} `{id}`{hint}")]
    Unknown {
        referrer: String,
        what: &'static str,
        id: String,
        hint: String,
    },
    #[error("feature `{id}` enables no entry, directly or through the features it implies")]
    FeatureEnablesNothing { id: String },
    #[error("{what} `{id}` is used by no entry; remove it or reference it")]
    Unused { what: &'static str, id: String },
    #[error("{what} has an empty `{field}` list")]
    EmptyList { what: String, field: &'static str },
    #[error("host group `{id}`: {message}")]
    Addresses { id: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// Every problem found, sorted by file and line.
#[derive(Clone, Debug)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\nerror: ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl Problem {
    /// A file that could not be read.
    pub fn read(e: std::io::Error) -> Self {
        Problem::Read(std::sync::Arc::new(e))
    }
}

/// Where a value that a selection refuses came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag, by its name (`product` for `--product`).
    Flag(&'static str),
    /// The key of the same name in a manifest target (`build`).
    Key(&'static str),
    /// A line of a file (the site file).
    Line { path: String, line: usize },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag(name) => write!(f, "--{name}"),
            Origin::Key(name) => f.write_str(&name.replace('-', "_")),
            Origin::Line { path, line } => f.write_str(&position(path, *line, None)),
        }
    }
}
