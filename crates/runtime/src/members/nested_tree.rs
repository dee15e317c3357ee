//! The view of a nested line the strict pass accepted
//! ([`MemberIndex::nested_tree`](super::MemberIndex::nested_tree)): its
//! containers in the order they open, each with the member holding it and
//! the container it is in, and its scalars with the member and container
//! holding each. Stage 2's partial parse and the verdict memo's nested keys
//! walk a nested event through it instead of lexing the line again.

use super::{Span, NO_KEY};

/// The parent of the top-level object in the list of containers
/// ([`NestedTree::opens`]).
pub(crate) const NO_PARENT: u32 = u32::MAX;

/// A container of a line, as the strict nested pass lists them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Open {
    /// The name (byte range inside the quotes, as written) of the member
    /// holding the container, or of the member holding the array it is
    /// in; `None` for the top-level object.
    pub(crate) holder: Option<(u32, u32)>,
    /// The index of the container it is in ([`NO_PARENT`]: none).
    pub(crate) parent: u32,
    /// Where it starts (its opening bracket; the top-level object's: the
    /// line's start).
    pub(crate) start: u32,
}

/// A scalar of a [`NestedTree`]: its byte range, the name of the member
/// holding it (`None` for none) and the index in `opens` of the container
/// holding it.
pub(crate) type TreeScalar = ((u32, u32), Option<(u32, u32)>, u32);

/// The structure of a nested line the strict pass accepted
/// ([`MemberIndex::nested_tree`](super::MemberIndex::nested_tree)).
pub(crate) struct NestedTree<'i> {
    /// Its containers in the order they open, the top-level object first.
    pub(crate) opens: &'i [Open],
    pub(super) spans: &'i [Span],
    pub(super) span_opens: &'i [u32],
}

impl NestedTree<'_> {
    /// How many scalars the line holds.
    pub(crate) fn scalar_count(&self) -> usize {
        self.spans.len()
    }

    /// Scalar `k` ([`NestedTree::scalars`]' `k`-th).
    pub(crate) fn scalar(&self, k: usize) -> Option<TreeScalar> {
        Some(tree_scalar(self.spans.get(k)?, *self.span_opens.get(k)?))
    }

    /// The indices of the scalars that start inside `start..end`.
    pub(crate) fn scalars_within(&self, start: u32, end: u32) -> std::ops::Range<usize> {
        let first = self.spans.partition_point(|s| s.start < start);
        let last = self.spans.partition_point(|s| s.start < end);
        first..last.max(first)
    }

    /// Its scalars in line order: byte range, the name of the member
    /// holding each (`None` for none) and the index in `opens` of the
    /// container holding it.
    pub(crate) fn scalars(&self) -> impl Iterator<Item = TreeScalar> + '_ {
        self.spans
            .iter()
            .zip(self.span_opens)
            .map(|(s, &open)| tree_scalar(s, open))
    }
}

/// A scalar's span and container as [`NestedTree`] gives them.
fn tree_scalar(s: &Span, open: u32) -> TreeScalar {
    let key = (s.key != NO_KEY).then_some(s.key);
    ((s.start, s.end), key, open)
}
