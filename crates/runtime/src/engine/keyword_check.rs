//! A quick look for a scope set's keyword literals before the keyword path.
//!
//! When a rule of an event's log sources has keywords (literals that count
//! in any value: "Mimikatz Use" applies to every Windows event), stage 1
//! copies every value of the event for its scan and keys the candidate memo
//! by the keyword patterns each value holds (`keyword_values.rs`): ~2,000
//! instructions a generated event more than a scan of the values witnesses
//! count in. Yet such literals (`sekurlsa::`, `gentilkiwi.com`) are nearly
//! never there. So the values the scan of the other values leaves out (those
//! no field-scoped witness counts in: runs of them, with the names between)
//! are first searched for the set's own ASCII keyword literals; when none
//! occurs there, the event is scanned as if its scopes had no keywords: the
//! scan of the values witnesses count in finds the keywords there (the
//! set's database, or the whole one, holds every keyword literal of the
//! set), and the memo keys tell the two kinds of events apart. Non-ASCII
//! keyword literals (in the database of non-ASCII events) are not looked for
//! here: a non-ASCII event of a set that has some keeps the keyword path.
//!
//! The search reads the runs in place, in two steps: a filter by short runs
//! of the literals' bytes (`keyword_grams.rs`), at which nearly every event
//! ends, then, when it finds some, the literals themselves (`aho-corasick`,
//! ASCII case-insensitive, a cased literal's match compared byte for byte).
//! Not Hyperscan: its databases of two or three literals (a set's keywords
//! often are that few) miss some occurrences, by where the text lies in
//! memory (BENCHMARKS.md, "v53": vectorscan 5.4.9, ~0.4 % of planted
//! occurrences; `sekurlsa::` among three literals missed at 19 of 64
//! alignments of one text). Each scanner builds its own check per set, so
//! no worker writes what another reads.

use aho_corasick::AhoCorasick;

use super::keyword_grams::GramFilter;
use super::Scanner;

/// A scope set's keyword check, one per scanner.
pub(crate) struct KeywordCheck {
    /// The set's ASCII keyword literals (JSON form), ASCII case-insensitive,
    /// every match reported (overlapping ones too, so that a caseless
    /// literal cannot hide a cased one at the same place).
    searcher: AhoCorasick,
    /// Per literal of the searcher: its bytes when it is cased (a match must
    /// then be those bytes).
    cased: Vec<Option<Box<[u8]>>>,
    /// The filter before the search (`None`: no AVX2, too many literals, or
    /// one too short for a gram).
    grams: Option<GramFilter>,
}

/// What a scanner knows of a set's keyword check.
pub(crate) enum SetKeywordCheck {
    Ready(Box<KeywordCheck>),
    /// None could be had: the set keeps the keyword path.
    Unavailable,
}

impl KeywordCheck {
    /// The check of `literals` (JSON form, whether cased); `None` when the
    /// searcher cannot be built.
    fn new(literals: &[(&[u8], bool)]) -> Option<KeywordCheck> {
        let searcher = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(literals.iter().map(|&(bytes, _)| bytes))
            .ok()?;
        let cased = literals
            .iter()
            .map(|&(bytes, cased)| cased.then(|| bytes.into()))
            .collect();
        let grams = GramFilter::new(literals.iter().map(|&(bytes, _)| bytes));
        Some(KeywordCheck {
            searcher,
            cased,
            grams,
        })
    }

    /// Whether a literal occurs in one of the ranges `ranges` of `raw`.
    fn holds(&mut self, raw: &[u8], ranges: &[(usize, usize)]) -> bool {
        if let Some(grams) = &mut self.grams {
            if !grams.may_hold(raw, ranges) {
                return false;
            }
        }
        let found = ranges
            .iter()
            .any(|&(start, end)| self.holds_in(raw.get(start..end).unwrap_or_default()));
        if !found {
            if let Some(grams) = &mut self.grams {
                grams.false_alarm();
            }
        }
        found
    }

    /// Whether a literal occurs in `text`.
    fn holds_in(&self, text: &[u8]) -> bool {
        self.searcher.find_overlapping_iter(text).any(|m| {
            match self.cased.get(m.pattern().as_usize()) {
                Some(Some(bytes)) => text.get(m.range()) == Some(&bytes[..]),
                _ => true,
            }
        })
    }
}

impl Scanner<'_> {
    /// Whether a value of the current event (`raw`, indexed and read by the
    /// scope gate: its set is known and has ASCII keywords) that no
    /// field-scoped witness counts in may hold an ASCII keyword literal of
    /// its scope set: false only when the set's keyword check found none
    /// there. Decided once per event.
    pub(super) fn holds_set_keyword(&mut self, raw: &[u8]) -> bool {
        if self.keyword_checked.0 == self.generation {
            return self.keyword_checked.1;
        }
        let current = self.subset_cache.current;
        let found = match current {
            Some(k) if self.set_keyword_check(k) => {
                let mut ranges = std::mem::take(&mut self.keyword_ranges);
                ranges.clear();
                self.nowhere_ranges(raw, &mut ranges);
                let found = match self.subset_cache.keyword_check(k) {
                    Some(SetKeywordCheck::Ready(check)) => check.holds(raw, &ranges),
                    _ => true,
                };
                self.keyword_ranges = ranges;
                found
            }
            _ => true,
        };
        self.keyword_checked = (self.generation, found);
        found
    }

    /// Whether set `k` has a keyword check (made on first ask).
    fn set_keyword_check(&mut self, k: usize) -> bool {
        if self.subset_cache.keyword_check(k).is_none() {
            let engine = self.engine;
            let ids = engine
                .subsets
                .keyword_ids(self.subset_cache.scopes(k).unwrap_or_default());
            let literals: Vec<(&[u8], bool)> = ids
                .iter()
                .filter_map(|&id| engine.literals.get(id as usize))
                .map(|(json, cased)| (json.as_bytes(), *cased))
                .collect();
            let check = match KeywordCheck::new(&literals) {
                Some(check) if !literals.is_empty() => SetKeywordCheck::Ready(Box::new(check)),
                _ => SetKeywordCheck::Unavailable,
            };
            self.subset_cache.set_keyword_check(k, check);
        }
        matches!(
            self.subset_cache.keyword_check(k),
            Some(SetKeywordCheck::Ready(_))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::{rule_of, without_prefilter};
    use crate::engine::{Engine, EngineOptions, Verdict};
    use crate::test_rng::TestRng;
    use hypersigma_compiler::Profile;

    #[test]
    fn the_search_finds_caseless_literals_in_any_case_and_cased_ones_as_written() {
        let literals: [(&[u8], bool); 3] = [
            (b"sekurlsa::", false),
            (b"Kiwi", true),
            (b"kiwi legit", false),
        ];
        let check = KeywordCheck::new(&literals).unwrap();
        assert!(check.holds_in(b"x SEKURLSA::logonpasswords"));
        assert!(check.holds_in(b"a Kiwi b"));
        assert!(!check.holds_in(b"a KIWI b"));
        // A caseless literal overlapping a cased one's place does not hide
        // it, nor the other way round.
        assert!(check.holds_in(b"KIWI LEGIT"));
        assert!(check.holds_in(b"Kiwi Legit"));
        assert!(!check.holds_in(b"sekurlsa:"));
    }

    #[test]
    fn the_keyword_check_never_hides_a_keyword() {
        let rules = vec![
            rule_of(
                "{product: windows, service: security}",
                "keywords: ['sekurlsa::', 'mimikatz', 'gentilkiwi']\n    condition: keywords",
            ),
            rule_of(
                "{product: windows, service: security}",
                "s: {CommandLine|contains: 'whoami'}\n    condition: s",
            ),
        ];
        let mut fast = Engine::new(rules, EngineOptions::default()).unwrap();
        fast.raw.gate = true;
        let reference = without_prefilter(&fast);
        let (mut f, mut r) = (fast.scanner().unwrap(), reference.scanner().unwrap());
        let profile = Profile::sysmon();
        // Values of bytes the literals are made of, so that the gram filter
        // meets false alarms and moves its grams; now and then a literal
        // in mixed case, in a member no field-scoped witness counts in. The
        // values' lengths vary, so the literals lie at many places of the
        // runs and of memory (Hyperscan missed some of them: see above).
        let bytes = b"sekurlamitzgn:. ";
        let mut rng = TestRng::new(0x2545_f491_4f6c_dd1d);
        let mut matched = 0;
        for round in 0..4000 {
            let len = rng.below(60);
            let mut text = rng.text(bytes, len);
            if rng.below(8) == 0 {
                let literal = ["SekurLSA::", "MIMIkatz", "gentilKIWI"][rng.below(3)];
                let at = rng.below(text.len() + 1);
                text.splice(at..at, literal.bytes());
            }
            let text = String::from_utf8(text).unwrap();
            let event = format!(
                r#"{{"Channel":"Security","EventID":4688,"CommandLine":"x","Description":"{text}","Host":"h"}}"#
            );
            let verdict = f.match_event(event.as_bytes(), &profile);
            let expected = r.match_event(event.as_bytes(), &profile);
            assert_eq!(verdict, expected, "round {round}: {event}");
            matched += usize::from(matches!(verdict, Verdict::Matched(ref m) if !m.is_empty()));
        }
        // Both kinds of events were there, and the check (with its gram
        // filter, where the machine has AVX2) was used.
        assert!(matched > 100 && matched < 3900, "{matched}");
        let set = f.subset_cache.current.unwrap();
        let Some(SetKeywordCheck::Ready(check)) = f.subset_cache.keyword_check(set) else {
            panic!("no keyword check");
        };
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            check.grams.is_some(),
            std::arch::is_x86_feature_detected!("avx2")
        );
    }
}
