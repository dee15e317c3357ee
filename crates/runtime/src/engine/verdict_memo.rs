//! Stage 2 decides an event once per distinct content its candidates read:
//! verdicts are remembered by the bytes they depend on.
//!
//! Stage 2's verdict on an event whose line the member index's strict pass
//! accepted depends on three things only: the candidate rules, the profile,
//! and the top-level members those candidates can read. The strict pass has
//! validated the whole line; of its members, [`crate::partial::parse_indexed`]
//! builds only the ones the candidates' lookups can reach (a superset of
//! [`MemberFilter::rule_reads`] of each candidate: the members of the names
//! its fields and log sources are read from, the channel, provider and
//! event id members, and names with a space for rules looking fields up at
//! the top level), and each candidate reads its own. Telemetry repeats what
//! rules read (the same images, command lines, parents and users) while
//! times, GUIDs and process ids change in members no candidate reads, so
//! the verdict is remembered under the candidate list and the members its
//! candidates read, names and values as written (lengths first, in line
//! order, duplicate names included). The bytes are compared, not only
//! hashed, so a remembered verdict is exactly the one evaluation would give.
//!
//! A remembered empty verdict skips the partial parse and the evaluation; a
//! remembered match still parses the whole line for output, as evaluation
//! does. Events with an escaped member name, and profiles under which a
//! lookup can reach every member, are evaluated each time; the caller
//! clears the memo when the profile changes.
//!
//! Remembering costs (the key: a copy and a hash of the members read), so:
//! - a verdict is remembered the second time its key is seen;
//! - while fewer than one looked-up event in [`WORTH_SHARE`] per window of
//!   [`WINDOW_EVENTS`] is answered (shapes whose one top-level member holds
//!   the whole event, candidates reading a member that never repeats),
//!   events are not looked up (one in [`PROBE_EVERY`] still is, to notice
//!   a change).
//!
//! Bounded: the memo starts over past [`MAX_VERDICTS`] verdicts or
//! [`MAX_KEY_BYTES`] bytes of keys; keys past [`MAX_KEY_LEN`] bytes are not
//! built.

use std::collections::HashMap;
use std::hash::BuildHasher;

use super::seen_once::SeenOnce;
use crate::partial::MemberFilter;
use crate::strict_json::TopMember;

/// Verdicts remembered at most per scanner (then the memo starts over).
const MAX_VERDICTS: usize = 1 << 15;
/// Bytes of keys remembered at most per scanner (likewise).
const MAX_KEY_BYTES: usize = 8 << 20;
/// Events whose candidates read more bytes are evaluated each time.
const MAX_KEY_LEN: usize = 16384;
/// Looked-up events per window, after which the share of them answered
/// decides whether events keep being looked up.
const WINDOW_EVENTS: u32 = 256;
/// At least one looked-up event in this many must be answered per window.
const WORTH_SHARE: u32 = 16;
/// While events are not looked up, one in this many still is.
const PROBE_EVERY: u32 = 32;
/// Layouts of member names remembered (events of several kinds alternate:
/// see `compact.rs`'s `LAYOUTS`).
const LAYOUTS: usize = 16;
/// The id of a name no rule reads by name.
const NO_ID: u32 = u32::MAX;

/// The remembered stage-2 verdicts of one scanner.
pub(super) struct VerdictMemo {
    map: HashMap<u64, Remembered, foldhash::fast::FixedState>,
    /// The bytes of the keys in `map`.
    key_bytes: usize,
    /// Keys seen once (a verdict is remembered from the second sight).
    seen_once: SeenOnce,
    /// The current event's key (scratch).
    key: Vec<u8>,
    /// The ids of the member names the current candidates read, as a bit
    /// set (scratch).
    read_ids: Vec<u64>,
    /// Per top-level member of the current event: whether its key holds it
    /// (whether a candidate can read it); complete when `key_of` gave a key.
    read_members: Vec<bool>,
    /// Recent layouts (newest last).
    layouts: Vec<Layout>,
    /// Whether events are looked up; events since the start; looked-up
    /// events of the current window and those answered.
    on: bool,
    events: u32,
    looked_up: u32,
    answered: u32,
    /// Events answered since the start.
    answered_total: u64,
}

/// The top-level member names of an event, in order, with their ids in
/// the member filter: events of one kind share them, so the names are
/// compared instead of looked up.
#[derive(Default)]
struct Layout {
    /// The stage-1 layout (`compact.rs`) of the flat events it was built
    /// from: a flat event of that layout has these names.
    serial: Option<u64>,
    /// The names, one after the other.
    names: Vec<u8>,
    /// Per member: where its name ends in `names`, its id ([`NO_ID`]: none)
    /// and whether the name holds a space.
    members: Vec<(u32, u32, bool)>,
}

impl Layout {
    /// Whether `top` (of `raw`) has these names.
    fn is_of(&self, raw: &[u8], top: &[TopMember]) -> bool {
        if self.members.len() != top.len() {
            return false;
        }
        let mut start = 0;
        for (member, &(end, _, _)) in top.iter().zip(&self.members) {
            let name = raw.get(member.name.0 as usize..member.name.1 as usize);
            if member.name_escaped || name != self.names.get(start..end as usize) {
                return false;
            }
            start = end as usize;
        }
        true
    }

    /// The layout of `top`; `None` for an escaped name.
    fn of(&mut self, raw: &[u8], top: &[TopMember], filter: &MemberFilter) -> Option<()> {
        self.names.clear();
        self.members.clear();
        for member in top {
            if member.name_escaped {
                return None;
            }
            // Not escaped: the name is its bytes.
            let name = raw.get(member.name.0 as usize..member.name.1 as usize)?;
            self.names.extend_from_slice(name);
            let id = filter.name_id(name).unwrap_or(NO_ID);
            self.members
                .push((self.names.len() as u32, id, name.contains(&b' ')));
        }
        Some(())
    }
}

struct Remembered {
    key: Box<[u8]>,
    /// The candidates that matched (ascending).
    matched: Box<[u32]>,
}

impl Default for VerdictMemo {
    fn default() -> Self {
        VerdictMemo {
            map: HashMap::default(),
            key_bytes: 0,
            seen_once: SeenOnce::default(),
            key: Vec::new(),
            read_ids: Vec::new(),
            read_members: Vec::new(),
            layouts: Vec::new(),
            on: true,
            events: 0,
            looked_up: 0,
            answered: 0,
            answered_total: 0,
        }
    }
}

/// Appends a length then the bytes.
fn push_counted(key: &mut Vec<u8>, bytes: &[u8]) {
    key.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    key.extend_from_slice(bytes);
}

impl VerdictMemo {
    /// Events answered since the start.
    pub(super) fn answered(&self) -> u64 {
        self.answered_total
    }

    /// Forgets every verdict (the profile changed).
    pub(super) fn clear(&mut self) {
        self.map.clear();
        self.key_bytes = 0;
        self.seen_once.clear();
        // Their ids were the old filter's.
        self.layouts.clear();
    }

    /// Builds the key of an event (`raw`, whose strict pass listed `top`)
    /// with these candidates; its hash, or `None` when the event is not
    /// looked up. `serial`: the event's stage-1 layout when the event is
    /// flat (its top-level names are then that layout's), whose names need
    /// not be compared again.
    pub(super) fn key_of(
        &mut self,
        raw: &[u8],
        top: &[TopMember],
        filter: &MemberFilter,
        candidates: &[u32],
        serial: Option<u64>,
    ) -> Option<u64> {
        self.events = self.events.wrapping_add(1);
        if (!self.on && !self.events.is_multiple_of(PROBE_EVERY)) || filter.reads_everything() {
            return None;
        }
        self.read_ids.clear();
        self.read_ids.resize(filter.id_words(), 0);
        let mut spaced = false;
        for &r in candidates {
            let (ids, rule_spaced) = filter.rule_reads(r)?;
            spaced |= rule_spaced;
            for (w, &bits) in self.read_ids.iter_mut().zip(ids) {
                *w |= bits;
            }
        }
        let known = match serial {
            Some(serial) => self.layouts.iter().position(|l| l.serial == Some(serial)),
            None => self.layouts.iter().position(|l| l.is_of(raw, top)),
        };
        let layout = match known {
            Some(at) => at,
            None => {
                let mut layout = if self.layouts.len() < LAYOUTS {
                    Layout::default()
                } else {
                    self.layouts.remove(0)
                };
                let built = layout.of(raw, top, filter);
                // A layout with an escaped name is not one to find again.
                layout.serial = serial.filter(|_| built.is_some());
                self.layouts.push(layout);
                built?;
                self.layouts.len() - 1
            }
        };
        let layout = self.layouts.get(layout)?;
        let key = &mut self.key;
        key.clear();
        self.read_members.clear();
        key.extend_from_slice(&(candidates.len() as u32).to_le_bytes());
        for &r in candidates {
            key.extend_from_slice(&r.to_le_bytes());
        }
        for (member, &(_, id, has_space)) in top.iter().zip(&layout.members) {
            let read = (spaced && has_space)
                || (id != NO_ID
                    && self
                        .read_ids
                        .get(id as usize / 64)
                        .is_some_and(|w| w & (1 << (id % 64)) != 0));
            self.read_members.push(read);
            if !read {
                continue;
            }
            let name = raw.get(member.name.0 as usize..member.name.1 as usize)?;
            let value = raw.get(member.value.0 as usize..member.value.1 as usize)?;
            push_counted(key, name);
            push_counted(key, value);
            if key.len() > MAX_KEY_LEN {
                return None;
            }
        }
        Some(self.map.hasher().hash_one(&self.key[..]))
    }

    /// Per top-level member of the event [`VerdictMemo::key_of`] just gave a
    /// key for: whether a candidate can read it (the members the key holds,
    /// which are all its verdict depends on).
    pub(super) fn read_members(&self) -> &[bool] {
        &self.read_members
    }

    /// The remembered verdict of the key [`VerdictMemo::key_of`] just built
    /// under `hash`.
    pub(super) fn get(&mut self, hash: u64) -> Option<&[u32]> {
        let answer = self
            .map
            .get(&hash)
            .filter(|r| *r.key == *self.key)
            .map(|r| &*r.matched);
        let found = answer.is_some();
        self.looked_up += 1;
        self.answered += u32::from(found);
        self.answered_total += u64::from(found);
        if self.looked_up >= WINDOW_EVENTS {
            self.on = self.answered * WORTH_SHARE >= WINDOW_EVENTS;
            self.looked_up = 0;
            self.answered = 0;
        }
        answer
    }

    /// Remembers the verdict of the key just built under `hash`, from the
    /// second time the key is seen.
    pub(super) fn remember(&mut self, hash: u64, matched: &[u32]) {
        if !self.seen_once.seen_before(hash) {
            return;
        }
        let full =
            self.map.len() >= MAX_VERDICTS || self.key_bytes + self.key.len() > MAX_KEY_BYTES;
        if full {
            self.map.clear();
            self.key_bytes = 0;
        }
        self.key_bytes += self.key.len();
        let entry = Remembered {
            key: self.key.as_slice().into(),
            matched: matched.into(),
        };
        if let Some(old) = self.map.insert(hash, entry) {
            self.key_bytes = self.key_bytes.saturating_sub(old.key.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::engine;
    use crate::engine::Engine;
    use crate::members::MemberIndex;
    use crate::partial::MemberFilter;
    use hypersigma_compiler::Profile;

    const RULES: [&str; 4] = [
        "    s: {CommandLine|contains: 'whoami'}\n    condition: s",
        "    s: {Image|endswith: '\\rundll32.exe', CommandLine|contains: 'javascript:'}\n    condition: s",
        "    s: {ParentImage|endswith: '\\winword.exe'}\n    f: {User|contains: 'SYSTEM'}\n    condition: s and not f",
        // No witness: every process creation is a candidate.
        "    s: {CommandLine|contains: 'x'}\n    condition: not s",
    ];

    /// A process creation whose time, GUID and process id change with `n`
    /// (no rule reads them).
    fn event(n: usize, image: &str, command: &str, parent: &str, user: &str) -> String {
        format!(
            r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"UtcTime":"2026-11-29 06:{:02}:{:02}.{n:03}","ProcessGuid":"{{{n:08x}-0000}}","ProcessId":{n},"Image":"{image}","CommandLine":"{command}","ParentImage":"{parent}","User":"{user}"}}"#,
            n / 60 % 60,
            n % 60
        )
    }

    const COMMANDS: [&str; 5] = [
        "cmd /c whoami",
        "rundll32 javascript:x",
        "notepad",
        "WHOAMI /all",
        "résumé",
    ];
    const IMAGES: [&str; 2] = ["C:\\\\w\\\\rundll32.exe", "C:\\\\w\\\\cmd.exe"];
    const PARENTS: [&str; 2] = ["C:\\\\o\\\\WINWORD.EXE", "C:\\\\w\\\\explorer.exe"];
    const USERS: [&str; 2] = ["NT AUTHORITY\\\\SYSTEM", "CONTOSO\\\\eve"];

    fn nth_event(n: usize) -> String {
        event(
            n,
            IMAGES[n % 2],
            COMMANDS[n / 2 % COMMANDS.len()],
            PARENTS[n / 10 % 2],
            USERS[n / 20 % 2],
        )
    }

    /// What a scanner that has seen nothing gives for `raw`.
    fn fresh(
        e: &Engine,
        raw: &str,
        profile: &Profile,
    ) -> (crate::engine::Verdict, Option<serde_json::Value>, usize) {
        e.scanner()
            .unwrap()
            .match_event_full(raw.as_bytes(), profile)
    }

    #[test]
    fn remembered_verdicts_are_those_of_a_fresh_scanner() {
        let e = engine(&RULES, false);
        let p = Profile::sysmon();
        let mut warm = e.scanner().unwrap();
        let per_round = 40;
        let mut matched = 0;
        let mut answered_before_last_round = 0;
        for n in 0..3 * per_round {
            if n == 2 * per_round {
                answered_before_last_round = warm.verdict_memo.answered_total;
            }
            // The same contents each round, with other times and ids.
            let raw = event(
                n,
                IMAGES[n % 2],
                COMMANDS[n / 2 % COMMANDS.len()],
                PARENTS[n / 10 % 2],
                USERS[n % per_round / 20],
            );
            let expected = fresh(&e, &raw, &p);
            if matches!(&expected.0, crate::engine::Verdict::Matched(r) if !r.is_empty()) {
                matched += 1;
                assert!(expected.1.is_some());
            }
            assert_eq!(warm.match_event_full(raw.as_bytes(), &p), expected, "{raw}");
        }
        assert!(matched > 0);
        // Seen once, remembered the second time: every event of the third
        // round is answered.
        assert_eq!(
            warm.verdict_memo.answered_total - answered_before_last_round,
            per_round as u64
        );
        assert!(warm.verdict_memo.map.len() <= per_round);
    }

    #[test]
    fn layouts_known_from_stage_one_give_the_verdicts_of_a_fresh_scanner() {
        let options = crate::engine::EngineOptions {
            scope_gate: Some(true),
            ..Default::default()
        };
        let e = crate::engine::tests::engine_with(&RULES, options);
        let p = Profile::sysmon();
        let mut warm = e.scanner().unwrap();
        for n in 0..120 {
            let raw = match n % 3 {
                0 => nth_event(n),
                // Another layout: the same members in another order.
                1 => nth_event(n).replacen("\"Channel\"", "\"RuleName\":\"-\",\"Channel\"", 1),
                // Not flat: a container whose scalars' names are a flat
                // layout's, read through the memo's own comparison.
                _ => nth_event(n).replacen(
                    "\"EventID\":1,",
                    "\"Extra\":{\"EventID\":1},\"EventID\":1,",
                    1,
                ),
            };
            assert_eq!(
                warm.match_event_full(raw.as_bytes(), &p),
                fresh(&e, &raw, &p),
                "{raw}"
            );
        }
        assert!(warm.verdict_memo.answered_total > 0);
        assert!(warm.verdict_memo.layouts.iter().any(|l| l.serial.is_some()));
        assert!(warm.verdict_memo.layouts.iter().any(|l| l.serial.is_none()));
    }

    #[test]
    fn the_key_holds_the_candidates_and_the_members_they_read_only() {
        let e = engine(&RULES, false);
        let p = Profile::sysmon();
        let filter = MemberFilter::new(&p, &e.reads);
        let mut memo = VerdictMemo::default();
        let mut key = |raw: &str, candidates: &[u32]| {
            let index = MemberIndex::built(raw.as_bytes());
            let top = index.top_members().unwrap();
            memo.key_of(raw.as_bytes(), top, &filter, candidates, None)
                .map(|_| memo.key.clone())
        };
        let a = nth_event(0);
        let b = nth_event(COMMANDS.len() * 2 * 2 * 2 * 2);
        assert_ne!(a, b);
        assert_eq!(key(&a, &[0, 3]), key(&b, &[0, 3]));
        assert_ne!(key(&a, &[0, 3]), key(&a, &[0, 1, 3]));
        // Another command line, user or parent is another key when read.
        let other_command = event(0, IMAGES[0], "cmd /c whoami ", PARENTS[0], USERS[0]);
        assert_ne!(key(&a, &[0]), key(&other_command, &[0]));
        let other_user = event(0, IMAGES[0], COMMANDS[0], PARENTS[0], USERS[1]);
        assert_eq!(key(&a, &[0]), key(&other_user, &[0]));
        assert_ne!(key(&a, &[2]), key(&other_user, &[2]));
        // The key names what it holds: the command line, not the user.
        let k = key(&a, &[0]).unwrap();
        let holds = |s: &[u8]| k.windows(s.len()).any(|w| w == s);
        assert!(holds(b"CommandLine") && holds(b"cmd /c whoami") && holds(b"EventID"));
        assert!(!holds(b"User") && !holds(b"UtcTime") && !holds(b"ProcessGuid"));
        // Duplicate names stay in line order: the last one is read.
        let first = r#"{"EventID":1,"CommandLine":"whoami","CommandLine":"x"}"#;
        let last = r#"{"EventID":1,"CommandLine":"x","CommandLine":"whoami"}"#;
        assert_ne!(key(first, &[0]), key(last, &[0]));
        // Names are compared with the remembered layouts', not only counted.
        let renamed = r#"{"EventID":1,"CommandLinX":"whoami","CommandLine":"x"}"#;
        let k = key(renamed, &[0]).unwrap();
        assert!(!k.windows(6).any(|w| w == b"whoami"));
        let k = key(first, &[0]).unwrap();
        assert!(k.windows(6).any(|w| w == b"whoami"));
        // An escaped member name is not looked up.
        let escaped = r#"{"EventID":1,"Command\nLine":"whoami"}"#;
        assert_eq!(key(escaped, &[0]), None);
    }

    #[test]
    fn duplicate_and_spaced_names_get_the_verdicts_of_a_fresh_scanner() {
        let e = engine(&RULES, false);
        let p = Profile::sysmon();
        let mut warm = e.scanner().unwrap();
        let lines = [
            r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"whoami","CommandLine":"x"}"#,
            r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"x","CommandLine":"whoami"}"#,
            r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Command Line":"whoami"}"#,
            r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Command Line":"notepad"}"#,
            r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"who\"ami"}"#,
        ];
        for _ in 0..4 {
            for raw in lines {
                assert_eq!(
                    warm.match_event_full(raw.as_bytes(), &p),
                    fresh(&e, raw, &p),
                    "{raw}"
                );
            }
        }
        assert!(warm.verdict_memo.answered_total > 0);
    }

    #[test]
    fn verdicts_are_forgotten_when_the_profile_changes() {
        let e = engine(&RULES, false);
        let profiles = [Profile::sysmon(), Profile::ecs()];
        let mut warm = e.scanner().unwrap();
        for n in 0..120 {
            let p = &profiles[n / 7 % 2];
            let raw = nth_event(n % 30);
            assert_eq!(
                warm.match_event_full(raw.as_bytes(), p),
                fresh(&e, &raw, p),
                "{raw} {}",
                p.name
            );
        }
    }

    #[test]
    fn contents_that_do_not_repeat_stop_the_lookups_until_they_repeat_again() {
        let e = engine(&RULES, false);
        let p = Profile::sysmon();
        let mut warm = e.scanner().unwrap();
        for n in 0..3 * WINDOW_EVENTS as usize {
            let command = format!("cmd /c whoami {n}");
            let raw = event(n, IMAGES[0], &command, PARENTS[0], USERS[0]);
            assert_eq!(
                warm.match_event_full(raw.as_bytes(), &p),
                fresh(&e, &raw, &p),
                "{raw}"
            );
        }
        assert!(!warm.verdict_memo.on);
        assert_eq!(warm.verdict_memo.answered_total, 0);
        for n in 0..2 * (WINDOW_EVENTS * PROBE_EVERY) as usize {
            let raw = nth_event(n);
            let expected = if n % 97 == 0 {
                Some(fresh(&e, &raw, &p))
            } else {
                None
            };
            let got = warm.match_event_full(raw.as_bytes(), &p);
            if let Some(expected) = expected {
                assert_eq!(got, expected, "{raw}");
            }
        }
        assert!(warm.verdict_memo.on);
        assert!(warm.verdict_memo.answered_total > 0);
    }

    #[test]
    fn the_memo_stays_bounded() {
        fn put(memo: &mut VerdictMemo, key: Vec<u8>) {
            memo.key = key;
            let hash = memo.map.hasher().hash_one(&memo.key[..]);
            memo.remember(hash, &[]);
            memo.remember(hash, &[1]);
        }
        let mut memo = VerdictMemo::default();
        for i in 0..MAX_VERDICTS + 5 {
            put(&mut memo, i.to_le_bytes().to_vec());
        }
        assert!(memo.map.len() <= MAX_VERDICTS);
        for i in 0..3 * MAX_KEY_BYTES / MAX_KEY_LEN {
            let mut key = vec![b'x'; MAX_KEY_LEN];
            key[..8].copy_from_slice(&(i as u64).to_le_bytes());
            put(&mut memo, key);
            assert!(memo.key_bytes <= MAX_KEY_BYTES);
        }
        let held: usize = memo.map.values().map(|r| r.key.len()).sum();
        assert_eq!(held, memo.key_bytes);
        assert!(memo.map.values().all(|r| *r.matched == [1]));
    }
}
