//! Typed errors of the compiler.
//!
//! Every error says what went wrong in words a rule author understands
//! ([`ErrorKind`]) and where: the file, the rule id and the YAML line when they
//! are known. A rule that fails never takes the other rules of a set with it:
//! the loader collects one [`Error`] per rejected rule.

use std::fmt;
use std::path::PathBuf;

/// Why a rule (or a file of rules) could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    #[error("cannot read file: {0}")]
    Io(String),
    /// The text is not valid YAML.
    #[error("invalid YAML: {0}")]
    Yaml(String),
    /// The document is not a mapping, or a member has the wrong type.
    #[error("invalid rule structure: {0}")]
    Structure(String),
    /// A required member is absent.
    #[error("missing required member '{0}'")]
    MissingMember(&'static str),
    /// A modifier name that the specification does not define.
    #[error("unknown modifier '{name}'{}", suggestion.as_ref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default())]
    UnknownModifier {
        /// The name as written.
        name: String,
        /// The closest known modifier, when one is close.
        suggestion: Option<String>,
    },
    /// Two modifiers that cannot be used together, or a modifier repeated.
    #[error("modifier conflict: {0}")]
    ModifierConflict(String),
    /// A value that the modifiers of its field cannot take.
    #[error("invalid value for '{field}': {reason}")]
    InvalidValue {
        /// The detection key (field and modifiers) as written.
        field: String,
        /// What is wrong with the value.
        reason: String,
    },
    /// A regular expression that does not compile.
    #[error("invalid regular expression '{pattern}': {reason}")]
    InvalidRegex {
        /// The expression as written.
        pattern: String,
        /// The regex engine's complaint.
        reason: String,
    },
    /// The condition does not parse.
    #[error("condition syntax error: {0}")]
    ConditionSyntax(String),
    /// The condition names a selection that the detection does not define.
    #[error("condition references missing selection '{0}'")]
    MissingSelection(String),
    /// `expand` met a placeholder that the placeholder file does not define.
    #[error("placeholder %{0}% has no value")]
    MissingPlaceholder(String),
    /// The rule is larger than the engine accepts (see `parse::MAX_RULE_PREDICATES`).
    #[error("rule too large: {count} values after expansion, the limit is {limit}")]
    TooLarge {
        /// Predicates in the rule.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A valid Sigma document of a kind this version does not evaluate
    /// (correlation and filter rules, Sigma v1 aggregations).
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// A compile error with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The rule file, when the rule came from one.
    pub path: Option<PathBuf>,
    /// The rule's `id`, when it could be read.
    pub rule_id: Option<String>,
    /// The rule's `title`, when it could be read.
    pub title: Option<String>,
    /// The 1-based line in the file where the problem is, when known.
    pub line: Option<usize>,
}

impl Error {
    /// An error with no location yet; the loader fills in file, id and line.
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            kind,
            path: None,
            rule_id: None,
            title: None,
            line: None,
        }
    }

    /// The reason alone, without the location.
    pub fn reason(&self) -> String {
        self.kind.to_string()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.line) {
            (Some(p), Some(l)) => write!(f, "{}:{}: ", p.display(), l)?,
            (Some(p), None) => write!(f, "{}: ", p.display())?,
            (None, Some(l)) => write!(f, "line {l}: ")?,
            (None, None) => {}
        }
        if let Some(id) = &self.rule_id {
            write!(f, "rule {id}: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for Error {}

/// Result alias of the compiler.
pub type Result<T, E = Error> = std::result::Result<T, E>;
