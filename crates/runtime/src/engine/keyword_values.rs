//! Keys of keyword scans that repeat: a value no field-scoped witness counts
//! in is keyed by the keywords' literals it holds, not by its bytes.
//!
//! When a keyword's witness may be scanned for (`subsets.rs`), the copy of
//! an event's values (`compact.rs`) holds every value, the times, GUIDs,
//! process ids and host names included, so the candidate memo's key, the
//! copy, never repeats. Yet a hit in a value whose member no field-scoped
//! witness counts in (its place is `Nowhere`) counts only for a literal
//! that counts anywhere (a keyword's witness or clause), so stage 1's
//! candidates depend on such a value only through which of those literals
//! it holds. The candidate memo's key of a keyword scan therefore holds,
//! for each of those values, the sorted ids of the keyword patterns found
//! in it instead of its bytes:
//! - a value made only of the bytes of times, GUIDs, numbers and hex ids
//!   ([`is_narrow`]) holds none when no keyword literal of the rules of
//!   the event's possible scopes can be written with those bytes in any
//!   case ([`literal_fits_narrow`], decided once per scope set; another
//!   scope's keyword found there makes only candidates the scope filter
//!   drops): its list is empty, no search needed;
//! - any other value's list is the one remembered when an earlier event
//!   holding it was scanned with the same database ([`KeywordValues`]:
//!   values such as host names, users and channels repeat); an event with
//!   a value not remembered gets no key and is scanned, and the hits of
//!   the scan then give each of its values' lists.
//!
//! Bounded: the cache starts over past [`MAX_VALUES`] values or
//! [`MAX_BYTES`] bytes; a value is remembered the second time it is
//! scanned, so values that never repeat push nothing out.

use std::collections::HashMap;
use std::hash::BuildHasher;

use hyperscan::prelude::BlockDatabase;

use super::compact::each_copied_value;
use super::places::HitPlace;
use super::seen_once::SeenOnce;
use super::subsets::Subset;
use super::Scanner;

/// Values remembered at most per scanner (then the cache starts over).
const MAX_VALUES: usize = 4096;
/// Bytes of values remembered at most per scanner (likewise).
const MAX_BYTES: usize = 1 << 20;

/// The bytes of times (`2026-11-02T08:00:00.011Z`, `2026-11-02
/// 08:00:00.011`, `+00:00`), GUIDs (`{22ced577-dd85-…}`), numbers, hex ids
/// (`0x3e7`) and IP addresses (`10.0.0.5`, `::ffff:10.0.0.5`, `fe80::1%12`),
/// lists of them (`,`, `;`), with the quotes of the string tokens that hold
/// them.
const fn narrow_bytes() -> [bool; 256] {
    let mut table = [false; 256];
    let extra = b"xXtTzZ-:. {}\"+%,;";
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_hexdigit();
        b += 1;
    }
    let mut k = 0;
    while k < extra.len() {
        table[extra[k] as usize] = true;
        k += 1;
    }
    table
}

static NARROW: [bool; 256] = narrow_bytes();

/// Whether every byte of `value` is one of a time's, a GUID's, a number's
/// or a hex id's.
pub(super) fn is_narrow(value: &[u8]) -> bool {
    // Eight bytes a step without a branch per byte (times and GUIDs run
    // to dozens of bytes).
    let (words, tail) = value.as_chunks::<8>();
    words
        .iter()
        .all(|word| word.iter().fold(true, |all, &b| all & NARROW[b as usize]))
        && tail.iter().all(|&b| NARROW[b as usize])
}

/// Whether the literal `json` (as the scan looks for it, ASCII case aside)
/// could lie inside a value [`is_narrow`] accepts: every byte of it is one
/// of those bytes in some case.
pub(crate) fn literal_fits_narrow(json: &str) -> bool {
    json.bytes()
        .all(|b| NARROW[b.to_ascii_lowercase() as usize] || NARROW[b.to_ascii_uppercase() as usize])
}

/// The keyword patterns found in recently scanned values, per database.
#[derive(Default)]
pub(super) struct KeywordValues {
    map: HashMap<u64, Remembered, foldhash::fast::FixedState>,
    /// The bytes of the values in `map`.
    bytes: usize,
    seen_once: SeenOnce,
    /// (value index, pattern id) of the keyword hits of the last scan
    /// (scratch).
    pub(super) found: Vec<(u32, u32)>,
    /// The ids of one value (scratch).
    ids: Vec<u32>,
    /// Whether the current event got no key for lack of a remembered value
    /// (its scan then gives them).
    pub(super) pending: bool,
}

/// A value's entry in a key: its bytes follow (a value some field-scoped
/// witness counts in), or the keyword patterns it holds.
const BYTES: u8 = 0;
const PATTERNS: u8 = 1;

struct Remembered {
    /// The database the value was scanned with (its address, see
    /// `value_hits.rs`: never reused while a scanner remembers it).
    db: usize,
    bytes: Box<[u8]>,
    /// The keyword patterns found in it, ascending, once each.
    ids: Box<[u32]>,
}

impl KeywordValues {
    fn key(&self, db: usize, value: &[u8]) -> u64 {
        self.map.hasher().hash_one((db, value))
    }

    /// The keyword patterns remembered for `value` under database `db`.
    pub(super) fn get(&self, db: usize, value: &[u8]) -> Option<&[u32]> {
        let r = self.map.get(&self.key(db, value))?;
        (r.db == db && *r.bytes == *value).then_some(&*r.ids)
    }

    /// Notes the keyword patterns `ids` (ascending, once each) of `value`
    /// scanned with database `db`; remembered the second time.
    pub(super) fn remember(&mut self, db: usize, value: &[u8], ids: &[u32]) {
        let key = self.key(db, value);
        if !self.seen_once.seen_before(key) {
            return;
        }
        let full = self.map.len() >= MAX_VALUES || self.bytes + value.len() > MAX_BYTES;
        if full && !self.map.contains_key(&key) {
            self.map.clear();
            self.bytes = 0;
        }
        self.bytes += value.len();
        let old = self.map.insert(
            key,
            Remembered {
                db,
                bytes: value.into(),
                ids: ids.into(),
            },
        );
        if let Some(old) = old {
            self.bytes = self.bytes.saturating_sub(old.bytes.len());
        }
    }
}

impl Scanner<'_> {
    /// The address of the database an event scanned with `subset` is
    /// scanned with (0 for none: the non-ASCII literals' only), which,
    /// with the engine's database of non-ASCII literals, finds its hits.
    fn scan_db(&self, subset: Option<&Subset>) -> usize {
        Subset::database(subset, &self.engine.db)
            .map_or(0, |db| db as *const BlockDatabase as usize)
    }

    /// Whether the current event's values of narrow bytes hold no keyword
    /// literal of its scopes ([`super::subsets::Subsets::narrow_free`],
    /// worked out once per scope set; false while the set is unknown).
    pub(super) fn narrow_free(&mut self) -> bool {
        let engine = self.engine;
        self.subset_cache
            .current_narrow_free(&engine.subsets, &engine.literals)
            .unwrap_or(false)
    }

    /// Appends to the candidate memo's key the values of an event of a
    /// keyword scan with `subset` (`raw`, whose places `span_places` holds:
    /// every value, as the copy holds them, `compact.rs`): a value some
    /// field-scoped witness counts in by its bytes, any other by the
    /// keyword patterns it holds. False (the key is then not used) when
    /// such a value's patterns are not known: the event is scanned, and
    /// [`Scanner::note_keyword_values`] notes them.
    pub(super) fn keyword_values_key(&mut self, raw: &[u8], subset: Option<&Subset>) -> bool {
        let db = self.scan_db(subset);
        let narrow_free = self.narrow_free();
        let cache = &self.keyword_values;
        let key = &mut self.candidate_memo.key;
        let every = (true, false);
        each_copied_value(
            &self.members,
            (&self.span_places, &self.span_copied),
            raw,
            every,
            |_, value, place| {
                if !matches!(place, HitPlace::Nowhere) {
                    key.push(BYTES);
                    key.extend_from_slice(&(value.len() as u32).to_le_bytes());
                    key.extend_from_slice(value);
                    return true;
                }
                let ids = if narrow_free && is_narrow(value) {
                    &[]
                } else {
                    match cache.get(db, value) {
                        Some(ids) => ids,
                        None => return false,
                    }
                };
                key.push(PATTERNS);
                key.extend_from_slice(&(ids.len() as u32).to_le_bytes());
                for id in ids {
                    key.extend_from_slice(&id.to_le_bytes());
                }
                true
            },
        )
    }

    /// After the scan of an event [`Scanner::keyword_values_key`] gave no
    /// key: notes the keyword patterns its scan found in each value of the
    /// copy no field-scoped witness counts in (the copy leaves out those of
    /// narrow bytes when they hold none: `compact.rs`).
    pub(super) fn note_keyword_values(&mut self, subset: Option<&Subset>) {
        self.keyword_values.pending = false;
        // The hits lie in the copy only when the copy was scanned.
        if !self.compact.active {
            return;
        }
        let db = self.scan_db(subset);
        let engine = self.engine;
        let compact = &mut self.compact;
        let cache = &mut self.keyword_values;
        cache.found.clear();
        for &(id, end) in &self.hits {
            if !engine.subsets.is_keyword(id) {
                continue;
            }
            let len = engine.literals.get(id).map_or(0, |(json, _)| json.len());
            let Some(k) = compact.value_at(end.saturating_sub(len), end) else {
                continue;
            };
            if matches!(compact.values.get(k), Some((_, _, HitPlace::Nowhere, _))) {
                cache.found.push((k as u32, id as u32));
            }
        }
        cache.found.sort_unstable();
        cache.found.dedup();
        let mut next = 0;
        for (k, &(start, end, place, _)) in compact.values.iter().enumerate() {
            let first = next;
            while cache.found.get(next).is_some_and(|&(v, _)| v as usize == k) {
                next += 1;
            }
            let Some(value) = compact.bytes.get(start as usize..end as usize) else {
                continue;
            };
            if !matches!(place, HitPlace::Nowhere) || cache.get(db, value).is_some() {
                continue;
            }
            let mut ids = std::mem::take(&mut cache.ids);
            ids.clear();
            ids.extend(
                cache
                    .found
                    .get(first..next)
                    .unwrap_or_default()
                    .iter()
                    .map(|&(_, id)| id),
            );
            cache.remember(db, value, &ids);
            cache.ids = ids;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_guids_and_ids_are_narrow_and_names_are_not() {
        for value in [
            "\"2026-11-02T08:00:00.011Z\"",
            "\"2026-11-02 08:00:00.011\"",
            "\"{22ced577-dd85-f576-56a9-c9bb30000000}\"",
            "\"0x3e7\"",
            "4242",
            "-1.5e+3",
            "\"10.0.0.5\"",
            "\"+00:00\"",
            "\"::ffff:10.0.0.5;fe80::1%12,1\"",
        ] {
            assert!(is_narrow(value.as_bytes()), "{value}");
        }
        for value in [
            "\"SRV-WEB03\"",
            "\"-\\\\x\"",
            "\"a\nb\"",
            "\"Ä\"",
            "\"cafe/\"",
        ] {
            assert!(!is_narrow(value.as_bytes()), "{value}");
        }
    }

    #[test]
    fn a_value_is_narrow_when_each_byte_is_wherever_the_others_lie() {
        for len in 1..40 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut value = vec![b'0'; len];
                    value[at] = b;
                    assert_eq!(is_narrow(&value), NARROW[b as usize], "{value:?}");
                }
            }
        }
        assert!(is_narrow(b""));
    }

    #[test]
    fn a_literal_fits_when_each_byte_is_narrow_in_some_case() {
        for literal in [
            "deadbeef", "DEADBEEF", "0x", "Tz", ".exe", "\"1\"", "x", "{",
        ] {
            assert!(literal_fits_narrow(literal), "{literal}");
        }
        for literal in ["mimikatz", "sekurlsa::", "\\\\", "dpapi", "é", "a/b"] {
            assert!(!literal_fits_narrow(literal), "{literal}");
        }
        // Whatever a narrow value holds, a literal found in it fits.
        let value = "\"2026-11-02T08:00:00.011Z {0xdead-BEEF} +1\"";
        assert!(is_narrow(value.as_bytes()));
        for start in 0..value.len() {
            for end in start + 1..=value.len() {
                let piece = &value[start..end];
                assert!(literal_fits_narrow(piece), "{piece}");
                assert!(literal_fits_narrow(&piece.to_ascii_lowercase()), "{piece}");
            }
        }
    }

    #[test]
    fn values_are_remembered_from_the_second_sight_per_database() {
        let mut cache = KeywordValues::default();
        cache.remember(1, b"\"SRV\"", &[3, 5]);
        assert_eq!(cache.get(1, b"\"SRV\""), None);
        cache.remember(1, b"\"SRV\"", &[3, 5]);
        assert_eq!(cache.get(1, b"\"SRV\""), Some(&[3, 5][..]));
        assert_eq!(cache.get(2, b"\"SRV\""), None);
        assert_eq!(cache.get(1, b"\"SRW\""), None);
        // Bounded: past its values it starts over.
        for n in 0..2 * MAX_VALUES {
            let value = format!("\"v{n}\"");
            cache.remember(1, value.as_bytes(), &[]);
            cache.remember(1, value.as_bytes(), &[]);
        }
        assert!(cache.map.len() <= MAX_VALUES);
        assert!(cache.bytes <= MAX_BYTES);
    }
}
