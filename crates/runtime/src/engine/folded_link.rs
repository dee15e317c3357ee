//! Whether a verdict may be linked to a place of stage 1's folded key
//! (`verdict_link.rs`): events the candidate memo answered there hold the
//! same values once stage 1's copy folds their long runs of digits, and
//! share the verdict when the candidates' tests cannot tell such values
//! apart.
//!
//! Stage 1 folds a member's runs by what its witness literals can read
//! (`CopyFolds`), this memo's folded key by what the candidates' tests can
//! read (`partial/digit_folds.rs`); the tests read more of a command line
//! (an equality's digits, a regular expression's digit class) than the
//! witnesses. The verdict follows from the values as the tests fold them
//! (the folded key's argument), and those follow from the values as the
//! copy folds them wherever the tests fold every run the copy folded
//! ([`DigitFold::keeps_no_run_beyond`]). A test that can tell runs apart
//! (a regular expression reading `\w`) is decided on the value as written,
//! as the folded key holds its result: a link holds its results, which an
//! event must give too.

use hypersigma_compiler::digit_runs::{DigitFold, Folding, FOLDED_RUN};

use std::sync::Arc;

use super::layout::FoldedLink;
use super::{MemberFilter, ValueFold, VerdictMemo, NO_ID};
use crate::engine::folded_copy::append_folded;

/// The members (positions) whose tests a link's events must give the
/// linked event's results of, with those tests (their `decided` ones).
pub(in crate::engine) type DecidedTests = Arc<[(u32, Arc<ValueFold>)]>;

impl VerdictMemo {
    /// Whether the verdict of the flat event [`VerdictMemo::key_of`] just
    /// keyed with `candidates` holds for every event of its stage-1 layout
    /// and list whose values stage 1's copy folds alike (`verdict_link.rs`):
    /// `None` when it does not, else the tests such an event must give the
    /// same results of (`None` when there are none).
    ///
    /// It does when, for each member the candidates read among those the
    /// copy holds (`in_key`, ascending), the copy's fold (`copy_fold` of
    /// its position; `None`: copied as it is) is absent, or the fold the
    /// candidates' tests allow there keeps no run the copy's fold folds:
    /// values alike under the copy's fold are then alike under the tests'
    /// fold, which the verdict depends on with the results of the tests
    /// decided on the value as written (as this memo's folded key has it).
    /// Worked out once per layout and list where it holds for any values;
    /// else the other members are checked on the event's values as the
    /// copy folds them (`value_of` of a position: its value as written):
    /// next to each folded run where the tests keep runs by some
    /// neighbours, and for none folded where the tests have no fold (a name
    /// with a space, one no test names, a test reading more than the
    /// value). `None` when the event's layout is not a stage-1 layout's.
    pub(in crate::engine) fn folded_link_holds<'f, 'v>(
        &mut self,
        filter: &MemberFilter,
        candidates: &[u32],
        in_key: &[u32],
        copy_fold: impl Fn(usize) -> Option<&'f DigitFold>,
        value_of: impl Fn(usize) -> Option<&'v [u8]>,
    ) -> Option<Option<DecidedTests>> {
        let (at, _serial @ Some(_)) = self.folded.layout? else {
            return None;
        };
        let layout = self.layouts.get_mut(at)?;
        let entry = layout.reads_entry(candidates)?;
        // Made with the entry (`Layout::reads_of`).
        if layout.folded_links.get(entry)?.is_none() {
            let (_, positions) = layout.reads.get(entry)?;
            let mut by_values = Vec::new();
            let mut decided = Vec::new();
            for &k in positions {
                let Some(wider) = in_key
                    .binary_search(&k)
                    .ok()
                    .and_then(|_| copy_fold(k as usize))
                else {
                    // Not in the copy (compared by the link), or copied as
                    // it is.
                    continue;
                };
                let fold = match layout.members.get(k as usize) {
                    Some(&(_, id, false)) if id != NO_ID => {
                        self.folded.value_fold(filter, candidates, id)
                    }
                    _ => None,
                };
                match fold {
                    Some(fold) => {
                        if !fold.fold.keeps_no_run_beyond(wider) {
                            by_values.push((k, Some(fold.clone())));
                        }
                        if !fold.decided.is_empty() {
                            decided.push((k, fold));
                        }
                    }
                    // No fold: only a value with no run folded (so written
                    // alike in every event of the place).
                    None => by_values.push((k, None)),
                }
            }
            let link = FoldedLink {
                by_values,
                decided: (!decided.is_empty()).then(|| decided.into()),
            };
            *layout.folded_links.get_mut(entry)? = Some(link);
        }
        let link = layout.folded_links.get(entry)?.as_ref()?;
        let scratch = &mut self.folded_scratch;
        let holds = link.by_values.iter().all(|(k, fold)| {
            let (Some(wider), Some(value)) = (copy_fold(*k as usize), value_of(*k as usize)) else {
                return false;
            };
            scratch.clear();
            append_folded(scratch, value, Some(wider), Folding::Runs);
            match fold {
                Some(fold) => fold.fold.keeps_no_run_beyond_in(wider, scratch),
                None => !scratch.contains(&FOLDED_RUN[0]),
            }
        });
        holds.then(|| link.decided.clone())
    }
}
