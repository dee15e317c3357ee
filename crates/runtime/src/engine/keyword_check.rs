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
//! are first scanned with a small database of the set's own ASCII keyword
//! literals; when none occurs there, the
//! event is scanned as if its scopes had no keywords: the scan of the
//! values witnesses count in finds the keywords there (the set's database,
//! or the whole one, holds every keyword literal of the set), and the memo
//! keys tell the two kinds of events apart. Non-ASCII keyword literals (in
//! the database of non-ASCII events) are not looked for here: a non-ASCII
//! event of a set that has some keeps the keyword path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use hyperscan::prelude::{BlockDatabase, Builder, Matching, Patterns};

use super::{witness_pattern, Scanner};

/// Most distinct keyword databases one engine builds (one per distinct
/// set of keyword literals; scope sets share them).
const MAX_KEYWORD_DBS: usize = 64;

/// The keyword databases of an engine, by sorted pattern ids; `None` when
/// Hyperscan refused one (its sets keep the keyword path).
#[derive(Default)]
pub(crate) struct KeywordDbs {
    built: Mutex<HashMap<Vec<u32>, Option<Arc<BlockDatabase>>>>,
}

impl KeywordDbs {
    fn lock(&self) -> MutexGuard<'_, HashMap<Vec<u32>, Option<Arc<BlockDatabase>>>> {
        // A panic while building leaves nothing half-written in the map.
        self.built.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The database of the patterns `ids` (sorted, into `literals`), built
    /// on first ask; `None` when it cannot be built or there are too many.
    fn get_or_build(&self, literals: &[(String, bool)], ids: &[u32]) -> Option<Arc<BlockDatabase>> {
        if let Some(done) = self.lock().get(ids) {
            return done.clone();
        }
        // A few dozen literals: built in a millisecond, outside the lock
        // (two threads may build the same one; the first kept wins).
        let patterns: Option<Vec<_>> = ids
            .iter()
            .map(|&id| {
                let (json, cased) = literals.get(id as usize)?;
                witness_pattern(json, *cased, id as usize).ok()
            })
            .collect();
        let db = patterns
            .filter(|p| !p.is_empty())
            .and_then(|p| Patterns::from(p).build().ok())
            .map(Arc::new);
        let mut built = self.lock();
        if built.len() >= MAX_KEYWORD_DBS && !built.contains_key(ids) {
            return None;
        }
        built.entry(ids.to_vec()).or_insert(db).clone()
    }
}

/// A scanner's own handle on a shared keyword database: every event's
/// `clone` and drop of the handle write a count no other worker writes
/// (the database's own count, shared, is written once per scanner).
pub(super) struct OwnKeywordDb(Arc<BlockDatabase>);

/// One scanner's keyword database for a scope set, its scratch fitted.
pub(super) enum SetKeywordDb {
    /// The set's ASCII keyword literals' database.
    Ready(Arc<OwnKeywordDb>),
    /// None could be had: the set keeps the keyword path.
    Unavailable,
}

impl Scanner<'_> {
    /// Whether a value of the current event (`raw`, indexed and read by the
    /// scope gate: its set is known and has ASCII keywords) that no
    /// field-scoped witness counts in may hold an ASCII keyword literal of
    /// its scope set: false only when a scan of those values with the set's
    /// keyword database found none. Decided once per event.
    pub(super) fn holds_set_keyword(&mut self, raw: &[u8]) -> bool {
        if self.keyword_checked.0 == self.generation {
            return self.keyword_checked.1;
        }
        let found = match self.set_keyword_db() {
            Some(db) => {
                let mut ranges = std::mem::take(&mut self.keyword_ranges);
                ranges.clear();
                self.nowhere_ranges(raw, &mut ranges);
                let values = &mut self.keyword_values_buf;
                values.clear();
                for &(start, end) in &ranges {
                    values.extend_from_slice(raw.get(start..end).unwrap_or_default());
                    values.push(b'\n');
                }
                self.keyword_ranges = ranges;
                let mut found = false;
                let scanned = if values.is_empty() {
                    Ok(())
                } else {
                    db.0.scan(&values[..], &self.scratch, |_, _, _, _| {
                        found = true;
                        Matching::Terminate
                    })
                };
                found || scanned.is_err()
            }
            None => true,
        };
        self.keyword_checked = (self.generation, found);
        found
    }

    /// The current scope set's keyword database (adopted on first ask).
    fn set_keyword_db(&mut self) -> Option<Arc<OwnKeywordDb>> {
        let engine = self.engine;
        let k = self.subset_cache.current?;
        if let Some(known) = self.subset_cache.keyword_db(k) {
            return match known {
                SetKeywordDb::Ready(db) => Some(db.clone()),
                SetKeywordDb::Unavailable => None,
            };
        }
        let ids = engine
            .subsets
            .keyword_ids(self.subset_cache.scopes(k).unwrap_or_default());
        let db = engine
            .subsets
            .keyword_dbs
            .get_or_build(&engine.literals, &ids)
            .filter(|db| db.realloc_scratch(&mut self.scratch).is_ok());
        let own = db.map(|db| Arc::new(OwnKeywordDb(db)));
        let state = match &own {
            Some(own) => SetKeywordDb::Ready(own.clone()),
            None => SetKeywordDb::Unavailable,
        };
        self.subset_cache.set_keyword_db(k, state);
        own
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::engine::tests::rule_of;
    use crate::engine::{Engine, EngineOptions};

    #[test]
    fn each_scanner_reads_a_keyword_database_through_a_handle_of_its_own() {
        let rules = vec![
            rule_of(
                "{product: windows, service: security}",
                "keywords: ['mimikatz', 'sekurlsa::']\n    condition: keywords",
            ),
            rule_of(
                "{product: windows, service: security}",
                "s: {CommandLine|contains: 'whoami'}\n    condition: s",
            ),
        ];
        let mut e = Engine::new(rules, EngineOptions::default()).unwrap();
        e.raw.gate = true;
        let event =
            r#"{"Channel":"Security","EventID":4688,"CommandLine":"whoami","Description":"x"}"#;
        let (mut first, mut second) = (e.scanner().unwrap(), e.scanner().unwrap());
        first.candidates(event.as_bytes());
        second.candidates(event.as_bytes());
        let (a, b) = (first.set_keyword_db(), second.set_keyword_db());
        let (a, b) = (a.unwrap(), b.unwrap());
        // Each event clones and drops the handle: two workers must not
        // write one count. The database itself is built once.
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert!(Arc::ptr_eq(&a, &first.set_keyword_db().unwrap()));
    }
}
