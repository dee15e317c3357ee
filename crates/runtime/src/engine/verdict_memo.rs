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
//! A nested event (an `evtx_dump` record: one `Event` member holding
//! everything) has no top-level member left out, so its key is its whole
//! line with the values no candidate can read cut out
//! ([`VerdictMemo::nested_key_of`]): lookups walk objects by name, so a
//! value is read only under a name that is one of the candidates' leaves
//! ([`LeafNames`]: field names, last names of paths), or inside a member of
//! such a name. The record id, times and GUIDs drop out; names, brackets
//! and the values read stay, byte for byte.
//!
//! A remembered empty verdict skips the partial parse and the evaluation; a
//! remembered match still parses the whole line for output, as evaluation
//! does. Events with an escaped member name, and profiles under which a
//! lookup can reach every member, are evaluated each time; the caller
//! clears the memo when the profile changes.
//!
//! Remembering costs (the key: a copy and a hash of the members read), so:
//! - a verdict is remembered the second time its key is seen;
//! - when fewer than one looked-up event in [`WORTH_SHARE`] of a window of
//!   [`WINDOW_EVENTS`] was answered (candidates reading a member that never
//!   repeats), the next [`OFF_EVENTS`] events are not looked up, then a new
//!   window decides (nested events have their own switch, with longer
//!   windows and a lower share: their evaluation costs far more).
//!
//! Bounded: the memo starts over past [`MAX_VERDICTS`] verdicts or
//! [`MAX_KEY_BYTES`] bytes of keys; keys past [`MAX_KEY_LEN`] bytes are not
//! built.

use std::collections::HashMap;
use std::hash::BuildHasher;

use super::seen_once::SeenOnce;
use crate::members::NestedTree;
use crate::partial::{LeafNames, MemberFilter};
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
/// The same for nested events, whose evaluation (a parse of the whole
/// event, dozens of candidates) costs far more than their key, over longer
/// windows (what repeats comes in bursts).
const WINDOW_EVENTS_NESTED: u32 = 1024;
const WORTH_SHARE_NESTED: u32 = 32;
/// Events not looked up after a window that did not pay.
const OFF_EVENTS: u32 = 8192;
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
    /// The last `key_of` gave no key because a candidate reads a top-level
    /// member holding an object (see [`VerdictMemo::nested_key_of`]).
    object_read: bool,
    /// Recent layouts (newest last).
    layouts: Vec<Layout>,
    /// Whether flat events (keyed by their top-level members) are looked up.
    flat: Switch,
    /// Whether nested events (keyed by their line, unread values cut out)
    /// are looked up.
    nested: Switch,
    /// The switch of the key just built.
    current: Kind,
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

/// The two kinds of keys.
#[derive(Clone, Copy)]
enum Kind {
    Flat,
    Nested,
}

/// Whether events of one kind are looked up: on while at least one
/// looked-up event in `worth_share` per window of [`WINDOW_EVENTS`] is
/// answered; once off, for [`OFF_EVENTS`] events, then on again for a
/// window (what repeats changes along a log).
struct Switch {
    on: bool,
    window: u32,
    worth_share: u32,
    /// While off: events left before the next window.
    off_left: u32,
    /// Looked-up events of the current window and those answered.
    looked_up: u32,
    answered: u32,
}

impl Switch {
    fn new(window: u32, worth_share: u32) -> Switch {
        Switch {
            on: true,
            window,
            worth_share,
            off_left: 0,
            looked_up: 0,
            answered: 0,
        }
    }

    fn looks_up(&mut self) -> bool {
        if !self.on {
            self.off_left = self.off_left.saturating_sub(1);
            self.on = self.off_left == 0;
        }
        self.on
    }

    fn count(&mut self, answered: bool) {
        self.looked_up += 1;
        self.answered += u32::from(answered);
        if self.looked_up >= self.window {
            self.on = self.answered * self.worth_share >= self.window;
            self.off_left = OFF_EVENTS;
            self.looked_up = 0;
            self.answered = 0;
        }
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
            object_read: false,
            layouts: Vec::new(),
            flat: Switch::new(WINDOW_EVENTS, WORTH_SHARE),
            nested: Switch::new(WINDOW_EVENTS_NESTED, WORTH_SHARE_NESTED),
            current: Kind::Flat,
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
        self.object_read = false;
        if !self.looks_up(Kind::Flat) || filter.reads_everything() {
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
            if value.first() == Some(&b'{') {
                // An object read whole (an `evtx_dump` record's `Event`):
                // its record id and times would be in the key.
                self.object_read = true;
                return None;
            }
            push_counted(key, name);
            push_counted(key, value);
            if key.len() > MAX_KEY_LEN {
                return None;
            }
        }
        Some(self.map.hasher().hash_one(&self.key[..]))
    }

    /// Counts an event of `kind` asking for a key; whether it is looked up.
    fn looks_up(&mut self, kind: Kind) -> bool {
        self.current = kind;
        match kind {
            Kind::Flat => self.flat.looks_up(),
            Kind::Nested => self.nested.looks_up(),
        }
    }

    /// Whether the last [`VerdictMemo::key_of`] gave no key because a
    /// candidate reads a top-level member holding an object: the event's
    /// [`VerdictMemo::nested_key_of`] is then the one to try.
    pub(super) fn object_read(&self) -> bool {
        self.object_read
    }

    /// [`VerdictMemo::key_of`] for a nested event (`raw`, whose strict
    /// pass gave `tree` and saw no escape that could hide a name): the key
    /// is the candidate list and the line with the value of each scalar no
    /// candidate can read cut out, a zero byte (which a line the strict
    /// pass accepts never holds) in its place. A scalar can be read when
    /// its member's name is one of the candidates' leaves
    /// ([`LeafNames`]), or when a member holding it at any depth has such
    /// a name; the rest of the line (every name, bracket and comma, every
    /// other value) stays, so two events with one key differ only in
    /// values no lookup of the candidates reaches, and have one verdict.
    pub(super) fn nested_key_of(
        &mut self,
        raw: &[u8],
        tree: &NestedTree<'_>,
        leaves: &LeafNames,
        candidates: &[u32],
    ) -> Option<u64> {
        if !self.looks_up(Kind::Nested) {
            return None;
        }
        let bits = &mut self.read_ids;
        bits.clear();
        bits.resize(leaves.words(), 0);
        for &r in candidates {
            for (w, &b) in bits.iter_mut().zip(leaves.rule_bits(r)?) {
                *w |= b;
            }
        }
        let read = |name: Option<(u32, u32)>| {
            name.and_then(|(a, b)| raw.get(a as usize..b as usize))
                .is_some_and(|name| leaves.reads(bits, name))
        };
        // Containers open before those they hold: one pass decides which
        // are read whole.
        let held = &mut self.read_members;
        held.clear();
        for open in tree.opens {
            let by_parent = held.get(open.parent as usize).copied().unwrap_or(false);
            held.push(by_parent || read(open.holder));
        }
        let key = &mut self.key;
        key.clear();
        key.extend_from_slice(&(candidates.len() as u32).to_le_bytes());
        for &r in candidates {
            key.extend_from_slice(&r.to_le_bytes());
        }
        let mut from = 0usize;
        for ((start, end), name, open) in tree.scalars() {
            if held.get(open as usize).copied().unwrap_or(true) || read(name) {
                continue;
            }
            key.extend_from_slice(raw.get(from..start as usize)?);
            key.push(0);
            from = end as usize;
        }
        key.extend_from_slice(raw.get(from..)?);
        if std::env::var_os("HS_DEBUG_KEY").is_some() {
            eprintln!(
                "KEY {}",
                String::from_utf8_lossy(&key[4 + 4 * candidates.len()..]).replace('\0', "~")
            );
        }
        // `read_members` held the containers: no flags for a nested key.
        self.read_members.clear();
        if self.key.len() > MAX_KEY_LEN {
            return None;
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
        let switch = match self.current {
            Kind::Flat => &mut self.flat,
            Kind::Nested => &mut self.nested,
        };
        let answer = self
            .map
            .get(&hash)
            .filter(|r| *r.key == *self.key)
            .map(|r| &*r.matched);
        let found = answer.is_some();
        switch.count(found);
        self.answered_total += u64::from(found);
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
        assert!(!warm.verdict_memo.flat.on);
        assert_eq!(warm.verdict_memo.answered_total, 0);
        for n in 0..(OFF_EVENTS + 2 * WINDOW_EVENTS) as usize {
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
        assert!(warm.verdict_memo.flat.on);
        assert!(warm.verdict_memo.answered_total > 0);
    }

    /// An `evtx_dump` record of a process creation: the record id, times,
    /// GUIDs and process ids change with `n` (no rule reads them); the
    /// event id is written plainly or as `#text`, the hashes as one string
    /// or as a list, and one in seven records carries a `\u` escape.
    fn nested_event(n: usize, image: &str, command: &str, parent: &str, user: &str) -> String {
        let event_id = if n.is_multiple_of(3) {
            r##"{"#attributes":{"Qualifiers":0},"#text":1}"##
        } else {
            "1"
        };
        let hashes = match n / 4 % 3 {
            0 => r#""MD5=AB12,SHA1=77""#,
            1 => r#"["SHA1=77","MD5=AB12"]"#,
            _ => r#"["SHA1=77","MD5=CD34"]"#,
        };
        let note = if n.is_multiple_of(7) { "\\u0041" } else { "A" };
        format!(
            r##"{{"Event":{{"#attributes":{{"xmlns":"x"}},"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Sysmon","Guid":"{{{n:08x}}}"}}}},"EventID":{event_id},"EventRecordID":{n},"TimeCreated":{{"#attributes":{{"SystemTime":"2026-11-29T06:{:02}:{:02}.{n:03}Z"}}}},"Execution":{{"#attributes":{{"ProcessID":{n},"ThreadID":{}}}}},"Channel":"Microsoft-Windows-Sysmon/Operational"}},"EventData":{{"UtcTime":"{n}","ProcessGuid":"{{{n:08x}-0000}}","ProcessId":{n},"Image":"{image}","CommandLine":"{command}","ParentImage":"{parent}","User":"{user}","Hashes":{hashes},"Note":"{note}"}}}}}}"##,
            n / 60 % 60,
            n % 60,
            n * 7
        )
    }

    #[test]
    fn remembered_verdicts_of_nested_events_are_those_of_a_fresh_scanner() {
        let mut rules = RULES.to_vec();
        // Reads a member that holds a list in some records.
        rules.push("    s: {Hashes|contains: 'MD5=AB'}\n    condition: s");
        let e = engine(&rules, false);
        let p = Profile::evtx();
        let mut warm = e.scanner().unwrap();
        let per_round = 60;
        let mut matched = 0;
        for n in 0..4 * per_round {
            let k = n % per_round;
            let raw = nested_event(
                n,
                IMAGES[k % 2],
                COMMANDS[k / 2 % COMMANDS.len()],
                PARENTS[k / 10 % 2],
                USERS[k / 30 % 2],
            );
            assert!(
                MemberIndex::built(raw.as_bytes()).nested_tree().is_some(),
                "{raw}"
            );
            let expected = fresh(&e, &raw, &p);
            if matches!(&expected.0, crate::engine::Verdict::Matched(r) if !r.is_empty()) {
                matched += 1;
            }
            assert_eq!(warm.match_event_full(raw.as_bytes(), &p), expected, "{raw}");
        }
        assert!(matched > 0);
        // The same contents each round (the event id's and hashes' forms
        // follow `n`, so they come back every twelfth round at the latest):
        // many records are answered.
        assert!(
            warm.verdict_memo.answered_total > per_round as u64,
            "{}",
            warm.verdict_memo.answered_total
        );
    }

    #[test]
    fn a_nested_key_cuts_out_exactly_the_values_no_candidate_reads() {
        let e = engine(&RULES, false);
        let p = Profile::evtx();
        let filter = MemberFilter::new(&p, &e.reads);
        let raw = nested_event(1, IMAGES[0], COMMANDS[0], PARENTS[0], USERS[0]);
        let index = MemberIndex::built(raw.as_bytes());
        let tree = index.nested_tree().unwrap();
        let mut memo = VerdictMemo::default();
        // Rule 0 reads the command line only (and the log-source members).
        memo.nested_key_of(raw.as_bytes(), &tree, filter.leaves(), &[0])
            .unwrap();
        let kept = String::from_utf8_lossy(&memo.key[8..]).replace('\0', "~");
        assert_eq!(
            kept,
            r##"{"Event":{"#attributes":{"xmlns":~},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":~}},"EventID":1,"EventRecordID":~,"TimeCreated":{"#attributes":{"SystemTime":~}},"Execution":{"#attributes":{"ProcessID":~,"ThreadID":~}},"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"UtcTime":~,"ProcessGuid":~,"ProcessId":~,"Image":~,"CommandLine":"cmd /c whoami","ParentImage":~,"User":~,"Hashes":~,"Note":~}}}"##
        );
        // Rule 2 reads the parent image and the user.
        memo.nested_key_of(raw.as_bytes(), &tree, filter.leaves(), &[2])
            .unwrap();
        let kept = String::from_utf8_lossy(&memo.key[8..]).replace('\0', "~");
        assert!(
            kept.contains(r#""ParentImage":"C:\\o\\WINWORD.EXE","User":"NT AUTHORITY\\SYSTEM""#),
            "{kept}"
        );
        assert!(kept.contains(r#""CommandLine":~"#), "{kept}");
        // Under a member that is read, every value stays.
        let listed = nested_event(4, IMAGES[0], COMMANDS[0], PARENTS[0], USERS[0]);
        let rule = "    s: {Hashes|contains: 'MD5=AB'}\n    condition: s";
        let e = engine(&[rule], false);
        let filter = MemberFilter::new(&p, &e.reads);
        let index = MemberIndex::built(listed.as_bytes());
        memo.nested_key_of(
            listed.as_bytes(),
            &index.nested_tree().unwrap(),
            filter.leaves(),
            &[0],
        )
        .unwrap();
        let kept = String::from_utf8_lossy(&memo.key[8..]).replace('\0', "~");
        assert!(
            kept.contains(r#""Hashes":["SHA1=77","MD5=AB12"]"#),
            "{kept}"
        );
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
