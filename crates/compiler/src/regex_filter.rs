//! A cheap test that rules out most texts a regular expression cannot
//! match, run before the expression's automaton on texts of ASCII
//! characters ([`crate::ir::SigmaRegex::is_match`]).
//!
//! `regex-automata`'s meta engine prefilters by the literals an expression
//! starts with. Some of SigmaHQ's expressions start with nothing rare and
//! read every command line: `\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}` starts
//! with a class, `\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ "']{1}` with a
//! backslash, which every path holds. Their lazy DFA then walks each text
//! to its end (~800 instructions a 116-byte command line each). Two
//! necessary conditions are checked instead, from the expression's syntax
//! tree restricted to ASCII (the tree the automaton is built from):
//!
//! - **A run of one class.** Every match holds `len` consecutive bytes of
//!   one set (`[a-fA-F0-9]{64}`: 64 hexadecimal digits). A window of `len`
//!   bytes is read from its end backwards; the first byte outside the set
//!   moves the next window past it, so a text without such a run costs
//!   about one read per `len` bytes, and no byte is read twice.
//! - **Its suffixes.** Every match ends with one of a few literals of two
//!   bytes or more (`. `, `."`, `.'`), found by `regex-syntax`'s
//!   extractor and searched for by `regex-automata`'s prefilter (memchr,
//!   Teddy).
//!
//! Neither is checked when the expression's prefixes give the meta engine
//! a prefilter of its own worth the name (all of them three bytes or
//! more, or the whole expression a few literals): it then reads little of
//! a text that cannot match.
//! A text that fails either cannot match; one that passes both goes to the
//! automaton, which gives the verdict. Look-around assertions match empty
//! strings and add no bytes, so they change neither condition.

use regex_automata::util::prefilter::Prefilter;
use regex_automata::{MatchKind, Span};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Class, Hir, HirKind};

use crate::modifiers::RegexFlags;

/// Runs shorter than this are not checked (too common to rule texts out).
const MIN_RUN: usize = 8;
/// A run's set holds at most this many bytes (half of ASCII).
const MAX_RUN_SET: usize = 64;
/// Suffix literals at most (more are no longer selective).
const MAX_SUFFIXES: usize = 32;
/// Prefixes this long give the meta engine a prefilter of its own.
const GOOD_PREFIX: usize = 3;

/// A set of bytes, a flag each.
type ByteSet = [bool; 256];

/// The necessary conditions of one expression.
#[derive(Debug, Clone)]
pub struct RegexFilter {
    run: Option<Run>,
    suffixes: Option<Prefilter>,
}

/// `len` consecutive bytes of `set`.
#[derive(Debug, Clone)]
struct Run {
    set: Box<ByteSet>,
    len: usize,
}

impl RegexFilter {
    /// The filter of `hir` (restricted to ASCII characters); `None` when
    /// neither condition is worth checking.
    pub fn of(hir: &Hir) -> Option<RegexFilter> {
        RegexFilter::build(hir, false)
    }

    /// The filter of `hir` for the bodies of JSON strings as written, with
    /// no `\u` or `\/` escape: each character is then written one way
    /// (`"` and `\` escaped, a line feed, tab, carriage return, backspace
    /// or form feed as its two-character escape), so a text holding a
    /// literal has a body holding the literal so written, and a text
    /// holding a run of a class has a body holding as long a run of the
    /// class's bytes and their escapes' bytes. Sound on bodies of ASCII
    /// bytes without those two escapes only; spares the caller the
    /// decoding of the body (~800 instructions a command line).
    pub fn of_json(hir: &Hir) -> Option<RegexFilter> {
        RegexFilter::build(hir, true)
    }

    fn build(hir: &Hir, json: bool) -> Option<RegexFilter> {
        let prefixes = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
        if prefixes.is_exact() || prefixes.min_literal_len().is_some_and(|n| n >= GOOD_PREFIX) {
            return None;
        }
        let run = shape(hir)
            .run
            .filter(|r| r.len >= MIN_RUN && r.set.iter().filter(|&&b| b).count() <= MAX_RUN_SET)
            .map(|r| match json {
                true => Run {
                    set: json_set(&r.set),
                    len: r.len,
                },
                false => r,
            });
        let suffixes = suffix_prefilter(hir, json);
        (run.is_some() || suffixes.is_some()).then_some(RegexFilter { run, suffixes })
    }

    /// The filter of a `re` value with its flags for the bodies of JSON
    /// strings ([`RegexFilter::of_json`]): of its expression cut to ASCII
    /// characters, as [`crate::ir::SigmaRegex::is_match`] runs it on a text
    /// of ASCII characters.
    pub fn of_expression_json(source: &str, flags: RegexFlags) -> Option<RegexFilter> {
        RegexFilter::of_json(&crate::values::ascii_form(source, flags)?)
    }

    /// False when no match of the expression can lie in `text`, a text of
    /// ASCII characters.
    #[inline]
    pub fn may_match(&self, text: &[u8]) -> bool {
        if let Some(run) = &self.run {
            if !has_run(text, &run.set, run.len) {
                return false;
            }
        }
        match &self.suffixes {
            Some(pre) => pre.find(text, Span::from(0..text.len())).is_some(),
            None => true,
        }
    }
}

/// The suffix literals' search (each as a JSON string's body writes it
/// when `json`).
fn suffix_prefilter(hir: &Hir, json: bool) -> Option<Prefilter> {
    let suffixes = Extractor::new().kind(ExtractKind::Suffix).extract(hir);
    let literals = suffixes.literals()?;
    if literals.is_empty()
        || literals.len() > MAX_SUFFIXES
        || suffixes.min_literal_len().is_none_or(|n| n < 2)
    {
        return None;
    }
    let needles = literals
        .iter()
        .map(|l| match json {
            true => json_literal(l.as_bytes()),
            false => Some(l.as_bytes().to_vec()),
        })
        .collect::<Option<Vec<Vec<u8>>>>()?;
    Prefilter::new(MatchKind::All, &needles)
}

/// How a JSON string's body without `\u` escapes writes an ASCII byte
/// that it escapes (the others it writes as themselves, but for the
/// control characters it writes only as `\u00XX`).
fn json_escape(b: u8) -> Option<[u8; 2]> {
    match b {
        b'"' | b'\\' => Some([b'\\', b]),
        0x08 => Some([b'\\', b'b']),
        0x0c => Some([b'\\', b'f']),
        b'\n' => Some([b'\\', b'n']),
        b'\r' => Some([b'\\', b'r']),
        b'\t' => Some([b'\\', b't']),
        _ => None,
    }
}

/// A literal as a JSON string's body writes it; `None` when it holds a
/// control character written only as `\u00XX`, or a byte outside ASCII.
fn json_literal(literal: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(literal.len());
    for &b in literal {
        match json_escape(b) {
            Some(escape) => out.extend_from_slice(&escape),
            None if (0x20..0x80).contains(&b) => out.push(b),
            None => return None,
        }
    }
    Some(out)
}

/// The bytes a JSON string's body writes the bytes of `set` with: each,
/// and its escape's. A control character written only as `\u00XX` (a
/// vertical tab of `\s`) adds none: the text of a body without such
/// escapes never holds one, so no run of the text passes through one.
fn json_set(set: &ByteSet) -> Box<ByteSet> {
    let mut out = Box::new(*set);
    for b in (0..=255u8).filter(|&b| set[usize::from(b)]) {
        if let Some(escape) = json_escape(b) {
            escape.iter().for_each(|&e| out[usize::from(e)] = true);
        }
    }
    out
}

/// What every match of a part of an expression is made of.
struct Shape {
    /// The bytes every match is made of (`None`: any), and the length every
    /// match has at least.
    bytes: Option<Box<ByteSet>>,
    min: usize,
    /// The best run every match holds.
    run: Option<Run>,
}

fn shape(hir: &Hir) -> Shape {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Shape {
            bytes: Some(Box::new([false; 256])),
            min: 0,
            run: None,
        },
        HirKind::Literal(literal) => {
            let mut set = Box::new([false; 256]);
            literal.0.iter().for_each(|&b| set[usize::from(b)] = true);
            whole(Some(set), literal.0.len())
        }
        HirKind::Class(class) => whole(class_bytes(class), 1),
        HirKind::Capture(capture) => shape(&capture.sub),
        HirKind::Repetition(rep) => {
            let sub = shape(&rep.sub);
            let min = sub.min.saturating_mul(rep.min as usize);
            if rep.min == 0 {
                Shape {
                    bytes: sub.bytes,
                    min,
                    run: None,
                }
            } else {
                let mut all = whole(sub.bytes, min);
                all.run = best(all.run, sub.run);
                all
            }
        }
        HirKind::Concat(parts) => concat(&parts.iter().map(shape).collect::<Vec<_>>()),
        HirKind::Alternation(branches) => {
            let shapes: Vec<Shape> = branches.iter().map(shape).collect();
            let min = shapes.iter().map(|s| s.min).min().unwrap_or(0);
            let bytes = union(shapes.iter().map(|s| s.bytes.as_deref()));
            // A run of every branch: the union of their sets, the shortest
            // of their lengths.
            let common = shapes
                .iter()
                .map(|s| s.run.as_ref())
                .collect::<Option<Vec<&Run>>>()
                .and_then(|runs| {
                    let set = union(runs.iter().map(|r| Some(&*r.set)))?;
                    let len = runs.iter().map(|r| r.len).min()?;
                    Some(Run { set, len })
                });
            let mut all = whole(bytes, min);
            all.run = best(all.run, common);
            all
        }
    }
}

/// A part whose every match is `min` bytes or more of `bytes`: the whole
/// match is its run.
fn whole(bytes: Option<Box<ByteSet>>, min: usize) -> Shape {
    let run = bytes.clone().map(|set| Run { set, len: min });
    Shape { bytes, min, run }
}

/// A concatenation: each part's run, and each stretch of consecutive parts
/// of known bytes, whose matches lie next to each other.
fn concat(parts: &[Shape]) -> Shape {
    let mut run = None;
    for (i, part) in parts.iter().enumerate() {
        run = best(run, part.run.clone());
        let mut set: Option<Box<ByteSet>> = None;
        let mut len = 0usize;
        for next in parts.get(i..).unwrap_or_default() {
            let Some(bytes) = &next.bytes else { break };
            let joined = set.get_or_insert_with(|| Box::new([false; 256]));
            add_all(joined, bytes);
            len = len.saturating_add(next.min);
            run = best(
                run,
                Some(Run {
                    set: joined.clone(),
                    len,
                }),
            );
        }
    }
    Shape {
        bytes: union(parts.iter().map(|p| p.bytes.as_deref())),
        min: parts.iter().fold(0usize, |n, p| n.saturating_add(p.min)),
        run,
    }
}

/// The union of `sets`; `None` when one is unknown.
fn union<'a>(sets: impl Iterator<Item = Option<&'a ByteSet>>) -> Option<Box<ByteSet>> {
    let mut all = Box::new([false; 256]);
    for set in sets {
        add_all(&mut all, set?);
    }
    Some(all)
}

/// Adds the bytes of `from` to `into`.
fn add_all(into: &mut ByteSet, from: &ByteSet) {
    into.iter_mut().zip(from.iter()).for_each(|(a, &b)| *a |= b);
}

/// The bytes of a class of ASCII characters; `None` for one that holds
/// other characters (their encodings are longer than a byte).
fn class_bytes(class: &Class) -> Option<Box<ByteSet>> {
    let mut set = Box::new([false; 256]);
    match class {
        Class::Unicode(class) => {
            for range in class.iter() {
                let (lo, hi) = (u32::from(range.start()), u32::from(range.end()));
                if hi > 0x7f {
                    return None;
                }
                (lo..=hi).for_each(|b| set[b as usize] = true);
            }
        }
        Class::Bytes(class) => {
            for range in class.iter() {
                (range.start()..=range.end()).for_each(|b| set[usize::from(b)] = true);
            }
        }
    }
    Some(set)
}

/// The more selective of two runs: the one with more bits of surprise
/// (`len × log2(128 / |set|)`, as if ASCII bytes were equally likely).
fn best(a: Option<Run>, b: Option<Run>) -> Option<Run> {
    let score = |r: &Run| {
        let size = r.set.iter().filter(|&&b| b).count().max(1) as f64;
        r.len as f64 * (128.0 / size).log2()
    };
    match (a, b) {
        (Some(a), Some(b)) => Some(if score(&b) > score(&a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// Whether `text` holds `len` consecutive bytes of `set`. Each window is
/// read from its end back; a byte outside the set moves the next window's
/// start past it, so no byte is read twice.
fn has_run(text: &[u8], set: &ByteSet, len: usize) -> bool {
    let mut start = 0;
    while start + len <= text.len() {
        let window = &text[start..start + len];
        match window.iter().rposition(|&b| !set[usize::from(b)]) {
            None => return true,
            Some(outside) => start += outside + 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(source: &str) -> Option<RegexFilter> {
        RegexFilter::of(&regex_syntax::Parser::new().parse(source).unwrap())
    }

    #[test]
    fn a_run_of_hexadecimal_digits_rules_out_texts_without_one() {
        let f = filter(r"\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}").unwrap();
        let hex64 = "0123456789abcdef".repeat(4);
        assert!(f.may_match(format!("x {hex64} 0123456789ABCDEF").as_bytes()));
        assert!(!f.may_match(b"C:\\Windows\\system32\\svchost.exe -k NetworkService -p"));
        // 63 digits, broken by a letter past `f`.
        let broken = format!("x {}g{} 0123456789abcdef", &hex64[..40], &hex64[..23]);
        assert!(!f.may_match(broken.as_bytes()));
    }

    #[test]
    fn suffixes_rule_out_texts_that_end_no_match() {
        let f = filter(r#"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ "']{1}"#).unwrap();
        assert!(f.run.is_none());
        assert!(f.may_match(br#"rundll32 \\host\a.b. x"#));
        assert!(!f.may_match(br"C:\Windows\system32\svchost.exe -k netsvcs"));
    }

    #[test]
    fn expressions_with_a_prefilter_of_their_own_or_nothing_rare_get_none() {
        assert!(filter("powershell.{0,20}-enc").is_none());
        assert!(filter(r"\w+").is_none());
        assert!(filter("a|b").is_none());
        assert!(filter("[a-z]{0,20}").is_none());
    }

    #[test]
    fn runs_are_found_at_every_position() {
        let set = {
            let mut s = [false; 256];
            s[usize::from(b'a')] = true;
            s
        };
        for n in 0..12 {
            for at in 0..=12usize.saturating_sub(n) {
                let mut text = vec![b'b'; 12];
                text[at..at + n].fill(b'a');
                for len in 1..=12 {
                    assert_eq!(has_run(&text, &set, len), n >= len, "{n} at {at}, {len}");
                }
            }
        }
    }
}
