//! Why an input line, record or file is not an evaluated event, and the
//! counts every run keeps: events read = events evaluated + lines rejected,
//! with the rejections broken down by [`RejectKind`].

use std::fmt;

/// Why a line or record was not evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RejectKind {
    /// Not valid JSON (syntax, invalid UTF-8, nesting beyond the parser's limit, truncation).
    InvalidJson,
    /// Valid JSON, but not an object.
    NotAnObject,
    /// Longer than the configured maximum line length (skipped unread).
    LineTooLong,
    /// An EVTX record the parser could not read.
    InvalidRecord,
    /// Reading the input failed part-way (a truncated `.gz`, an I/O error).
    ReadError,
}

impl RejectKind {
    /// Every kind, in report order.
    pub const ALL: [RejectKind; 5] = [
        RejectKind::InvalidJson,
        RejectKind::NotAnObject,
        RejectKind::LineTooLong,
        RejectKind::InvalidRecord,
        RejectKind::ReadError,
    ];

    /// The name used in summaries and `--stats` (`invalid_json`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RejectKind::InvalidJson => "invalid_json",
            RejectKind::NotAnObject => "not_an_object",
            RejectKind::LineTooLong => "line_too_long",
            RejectKind::InvalidRecord => "invalid_record",
            RejectKind::ReadError => "read_error",
        }
    }

    fn index(self) -> usize {
        RejectKind::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// A rejected line or record: the kind and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Why, as a category.
    pub kind: RejectKind,
    /// Why, in words.
    pub message: String,
}

impl Rejection {
    /// A rejection of `kind`.
    pub fn new(kind: RejectKind, message: impl Into<String>) -> Self {
        Rejection {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Rejections counted by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RejectCounts([u64; 5]);

impl RejectCounts {
    /// Counts one.
    pub fn add(&mut self, kind: RejectKind) {
        self.0[kind.index()] += 1;
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, other: &RejectCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// The count of one kind.
    pub fn get(&self, kind: RejectKind) -> u64 {
        self.0[kind.index()]
    }

    /// All rejections.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// (name, count) for the kinds that occurred.
    pub fn nonzero(&self) -> Vec<(&'static str, u64)> {
        RejectKind::ALL
            .iter()
            .map(|k| (k.as_str(), self.get(*k)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}
