//! Stage 1 over values with their long runs of digits folded (see
//! [`hypersigma_compiler::digit_runs`]).
//!
//! A command line that differs from an earlier one only in fresh ids
//! (`--renderer-client-id=83479128 --launch-time-ticks=25771953`) is a new
//! value: the value memo (`value_hits.rs`) and the candidate memo
//! (`candidate_memo.rs`) do not know it, and Hyperscan reads it again
//! (~1.4 ns a byte). Yet no witness that can count in the command line
//! reads those digits: each witness literal allows a fold
//! ([`literal_fold`]), and a member's fold merges those of the literals
//! that can count in it (the groups listing the member, and those counting
//! anywhere). A value of such a member is copied for the scan with its
//! long runs folded: the literals found in it are those found in the value
//! as written, each at a place inside the value (a folded value is never
//! longer), so every hit is placed in the same member and the candidates
//! are the same; the copy, and so the value memo and the candidate memo's
//! key, is then that of the earlier event.
//!
//! Values placed `Anywhere` (an escaped name, `#text`: any literal can
//! count there) and `Nowhere` (copied for keyword witnesses: times, GUIDs,
//! ids, which folding would not make repeat) are copied as they are.
//!
//! When that key is not answered either (or no run folded), a third key
//! folds the values' hexadecimal words as well ([`Folding::RunsAndWords`]:
//! fresh GUIDs and hexadecimal file names such as
//! `...\Cache_Data\f_0a3b2c`), where no witness literal can read them;
//! it is built only when a word folds, and the scan's copy is then made
//! from it.
//!
//! Each memo tries its folded keys only while that pays: a [`Switch`]
//! (`remembered.rs`) per memo and kind of key stops the tries for a while
//! when fewer than one in [`FOLDED_WORTH_SHARE`] is answered (for the key
//! with words, a walk that found none to fold counts as not answered).

use hypersigma_compiler::digit_runs::{
    fold_json_parts, literal_fold, merge_folds, DigitFold, Folded, Folding,
};

use super::places::HitPlace;
#[cfg(doc)]
use super::remembered::Switch;

/// Folded lookups per window, and the share of them (one in this many)
/// that must be answered for them to go on.
pub(super) const FOLDED_WINDOW: u32 = 256;
pub(super) const FOLDED_WORTH_SHARE: u32 = 8;
use super::WitnessGroup;

/// The fold each place's values can be copied with.
#[derive(Debug, Clone, Default)]
pub(crate) struct CopyFolds {
    /// Per member id: the fold of the literals that can count in it, with
    /// those that count anywhere (`None`: some literal can tell long runs
    /// apart).
    members: Vec<Option<DigitFold>>,
}

impl CopyFolds {
    /// The folds of the witnesses' literals (JSON form) by the members
    /// their groups count in.
    pub(crate) fn new(
        literals: &[(String, bool)],
        pattern_groups: &[Vec<u32>],
        groups: &[WitnessGroup],
        member_count: usize,
    ) -> CopyFolds {
        let mut members = vec![Some(DigitFold::default()); member_count];
        let mut anywhere = Some(DigitFold::default());
        for ((json, _), served) in literals.iter().zip(pattern_groups) {
            let fold = literal_fold(json.as_bytes());
            for group in served.iter().filter_map(|&g| groups.get(g as usize)) {
                match &group.members {
                    None => merge_folds(&mut anywhere, fold.as_ref()),
                    Some(ids) => {
                        for &m in ids {
                            if let Some(into) = members.get_mut(m as usize) {
                                merge_folds(into, fold.as_ref());
                            }
                        }
                    }
                }
            }
        }
        for into in &mut members {
            merge_folds(into, anywhere.as_ref());
        }
        CopyFolds { members }
    }

    /// The fold a value at `place` can be copied with.
    pub(super) fn of(&self, place: HitPlace) -> Option<&DigitFold> {
        match place {
            HitPlace::Member(m) => self.members.get(m as usize)?.as_ref(),
            // Values no field-scoped witness counts in (copied for keywords):
            // times, GUIDs and ids, which folding does not make repeat.
            HitPlace::Nowhere => None,
            HitPlace::Anywhere => None,
        }
    }
}

/// Appends `value` (raw, as the line holds it) to `out` with its long
/// runs of digits (and by `folding` its hexadecimal words) folded under
/// `fold`; what was folded (when nothing, it is appended as it is: without
/// a fold, nothing it folds, or when it is not a string or holds a `\u`
/// escape).
#[inline(always)]
pub(super) fn append_folded(
    out: &mut Vec<u8>,
    value: &[u8],
    fold: Option<&DigitFold>,
    folding: Folding,
) -> Folded {
    if let Some(fold) = fold {
        let folded = fold_json_parts(value, fold, folding, out);
        if folded != Folded::Nothing {
            return folded;
        }
    }
    out.extend_from_slice(value);
    Folded::Nothing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_appended_folded_only_when_a_run_folds() {
        let fold = DigitFold::default();
        let mut out = b"k\n".to_vec();
        let id = br#""id=123456 x""#;
        for folding in [Folding::Runs, Folding::RunsAndWords] {
            out.truncate(2);
            assert_eq!(
                append_folded(&mut out, id, Some(&fold), folding),
                Folded::Runs
            );
            assert_eq!(out, b"k\n\"id=\x7f x\"");
        }
        // A hexadecimal word folds only with words.
        out.clear();
        let words = Folding::RunsAndWords;
        let word = br#""ab123456 x123456""#;
        assert_eq!(
            append_folded(&mut out, word, Some(&fold), words),
            Folded::Words
        );
        assert_eq!(out, b"\"\x7f x\x7f\"");
        for (value, fold) in [
            (&br#""id=123456 x""#[..], None),
            (&br#""id=1234 x""#[..], Some(&fold)),
            (&b"1234567"[..], Some(&fold)),
            (&br#""ab123456""#[..], Some(&fold)),
            (&br#""\u0041123456""#[..], Some(&fold)),
        ] {
            out.clear();
            let folded = append_folded(&mut out, value, fold, Folding::Runs);
            assert_eq!(folded, Folded::Nothing);
            assert_eq!(out, value);
        }
    }
}
