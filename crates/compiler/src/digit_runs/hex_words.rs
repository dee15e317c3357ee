//! Hexadecimal words that a rule's tests cannot tell apart.
//!
//! Telemetry also fills values with fresh hexadecimal numbers: GUIDs,
//! hashes, cache and prefetch file names (`...\Cache_Data\f_0a3b2c`,
//! `NOTEPAD.EXE-000E37C9.pf`). Their runs of decimal digits are short or
//! glued to letters, so the fold of long runs of digits leaves them, and a
//! value with one is new to the memos every time. This fold replaces such
//! a word by [`FOLDED_RUN`](super::FOLDED_RUN) when no test can read it.
//!
//! A *word* of a text is a maximal run of word bytes: ASCII letters and
//! digits, and every byte of a character outside ASCII (which
//! case-insensitive matching can take for an ASCII letter: the Kelvin sign
//! for `k`). A word is folded when it is at least [`HEX_RUN`] bytes long,
//! made of ASCII hexadecimal digits only, holds a decimal digit and a
//! letter (a run of decimal digits alone is the digit fold's; a word of
//! letters alone is a word of the language), and no test keeps it.
//!
//! What a test keeps ([`HexKeep`]): split each stretch of its pattern (the
//! text between `*` wildcards) into *pieces*, its maximal runs of word
//! characters. An occurrence of the stretch that overlaps a word `w` of a
//! value lines its pieces up with `w`: the characters on either side of
//! `w` are ASCII characters that are neither letters nor digits, which
//! only the same characters match (no case folding reaches them), and the
//! characters of `w` are letters and digits, which only word characters
//! match. So the piece over `w` is either an inner piece of the stretch
//! (bounded by other characters on both sides), equal to `w`; or the
//! stretch's first piece, which `w` ends with; or its last, which `w`
//! starts with; or the whole stretch, when it is one piece, which `w`
//! holds. A piece with a character other than a hexadecimal digit is in
//! no foldable word; the others are kept in `equal`, `ending`, `starting`
//! and `within` (as lower-case ASCII, compared ignoring case). Every word
//! a test's occurrence could overlap is then kept, so each occurrence in
//! the value is found in the folded value at the same place among the
//! rest; and an occurrence in the folded value reads no folded word, as
//! no test that folds reads the mark. A pattern with a `?` or a character
//! set, and a regular expression, keep no fold of words at all.
//!
//! Values are folded as written in JSON (`fold_json_string`): a word right
//! after an escaping backslash is never folded (its first letter is an
//! escape's: `\b`, `\f`), and a string with a `\u` escape is not folded. The bytes
//! around any other word then decode to themselves or to control
//! characters: the word is a word of the decoded value too. A stage-1
//! witness, matched on those raw bytes, keeps words by its raw bytes.

use super::long_runs::hex_runs;
use std::collections::HashSet;

use foldhash::fast::FixedState;

use super::{add_sorted, decoded_at, escaped, HEX_RUN};

/// Whether a byte belongs to a word: an ASCII letter or digit, or a byte
/// of a character outside ASCII.
fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// One character (or raw byte) of a stretch, as the fold of words sees it.
#[derive(Clone, Copy)]
pub(super) enum Unit {
    /// An ASCII character that is neither a letter nor a digit.
    Boundary(u8),
    /// A word character: a hexadecimal digit (lower case), or another.
    Word(Option<u8>),
}

impl Unit {
    /// The unit of a pattern's character.
    pub(super) fn of_char(c: char) -> Unit {
        if c.is_ascii() {
            Unit::of_byte(c as u8)
        } else {
            Unit::Word(None)
        }
    }

    /// The unit of a raw byte (any byte outside ASCII is a word's).
    pub(super) fn of_byte(b: u8) -> Unit {
        if !word_byte(b) {
            Unit::Boundary(b)
        } else if b.is_ascii_hexdigit() {
            Unit::Word(Some(b.to_ascii_lowercase()))
        } else {
            Unit::Word(None)
        }
    }
}

/// The hexadecimal words kept as they are (see the module's text), as
/// lower-case ASCII compared ignoring case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HexKeep {
    /// Words equal to one of these.
    equal: Pieces,
    /// Words ending with one of these, followed by its character (each
    /// held as the piece then the character).
    ending: Pieces,
    /// Words starting with one of these, after its character (held as
    /// the character then the piece).
    starting: Pieces,
    /// Words holding one of these (sorted).
    within: Vec<Box<[u8]>>,
}

/// A set of pieces (each with its character, where one is asked), and the
/// lengths of the pieces: a word is looked up by its parts of those
/// lengths (a rule set can list thousands of hashes, `SHA256=...`, among
/// the tests of one field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Pieces {
    keys: HashSet<Box<[u8]>, FixedState>,
    lengths: Vec<usize>,
}

impl Pieces {
    /// Adds `key`, of a piece `len` bytes long.
    fn add(&mut self, key: &[u8], len: usize) {
        if !self.keys.contains(key) {
            self.keys.insert(key.into());
        }
        if let Err(at) = self.lengths.binary_search(&len) {
            self.lengths.insert(at, len);
        }
    }

    /// The lengths of the pieces, up to `most`.
    fn lengths_to(&self, most: usize) -> impl Iterator<Item = usize> + '_ {
        self.lengths.iter().copied().take_while(move |&n| n <= most)
    }

    fn merge(&mut self, other: &Pieces) {
        self.keys.extend(other.keys.iter().cloned());
        for &len in &other.lengths {
            if let Err(at) = self.lengths.binary_search(&len) {
                self.lengths.insert(at, len);
            }
        }
    }
}

/// The most pieces a word is looked for within, past which every word is
/// kept (each is a search through the word).
const MOST_WITHIN: usize = 16;

/// The longest word compared with the kept pieces; a longer one is kept.
const LONGEST_COMPARED: usize = 256;

impl HexKeep {
    /// Whether it keeps no word.
    pub fn is_empty(&self) -> bool {
        self.equal.keys.is_empty()
            && self.ending.keys.is_empty()
            && self.starting.keys.is_empty()
            && self.within.is_empty()
    }

    /// How many pieces it keeps words by.
    pub fn len(&self) -> usize {
        self.equal.keys.len()
            + self.ending.keys.len()
            + self.starting.keys.len()
            + self.within.len()
    }

    /// Keeps the words `other` keeps, too.
    pub fn merge(&mut self, other: &HexKeep) {
        self.equal.merge(&other.equal);
        self.ending.merge(&other.ending);
        self.starting.merge(&other.starting);
        for piece in &other.within {
            add_sorted(&mut self.within, piece);
        }
    }

    /// Keeps the words an occurrence of `stretch` could overlap.
    pub(super) fn add_stretch(&mut self, stretch: &[Unit]) {
        let whole = !stretch.iter().any(|u| matches!(u, Unit::Boundary(_)));
        let mut start = 0;
        while start < stretch.len() {
            if matches!(stretch[start], Unit::Boundary(_)) {
                start += 1;
                continue;
            }
            let end = stretch[start..]
                .iter()
                .position(|u| matches!(u, Unit::Boundary(_)))
                .map_or(stretch.len(), |n| start + n);
            // A piece with another character is in no foldable word.
            let hex: Option<Vec<u8>> = stretch[start..end]
                .iter()
                .map(|u| match u {
                    Unit::Word(h) => *h,
                    Unit::Boundary(_) => None,
                })
                .collect();
            if let Some(mut hex) = hex {
                let boundary = |at: Option<usize>| match at.and_then(|at| stretch.get(at)) {
                    Some(Unit::Boundary(c)) => Some(*c),
                    _ => None,
                };
                let len = hex.len();
                if whole {
                    add_sorted(&mut self.within, &hex);
                } else if start == 0 {
                    if let Some(c) = boundary(Some(end)) {
                        hex.push(c);
                        self.ending.add(&hex, len);
                    }
                } else if end == stretch.len() {
                    if let Some(c) = boundary(start.checked_sub(1)) {
                        hex.insert(0, c);
                        self.starting.add(&hex, len);
                    }
                } else if len >= HEX_RUN {
                    self.equal.add(&hex, len);
                }
            }
            start = end;
        }
    }

    /// Whether the word `word` is kept, after the byte `before` and
    /// followed by the bytes `after` (the byte written, and the character
    /// it starts an escape of).
    fn keeps(&self, word: &[u8], before: Option<u8>, after: [Option<u8>; 2]) -> bool {
        if self.is_empty() {
            return false;
        }
        if self.within.len() > MOST_WITHIN {
            return true;
        }
        // The word in lower case, a byte free on either side for the
        // character next to it.
        let mut buffer = [0u8; LONGEST_COMPARED + 2];
        let n = word.len();
        let Some(lower) = buffer.get_mut(1..n + 1) else {
            return true;
        };
        for (l, b) in lower.iter_mut().zip(word) {
            *l = b.to_ascii_lowercase();
        }
        if self.equal.keys.contains(&buffer[1..n + 1])
            || self.within.iter().any(|piece| {
                buffer[1..n + 1]
                    .windows(piece.len())
                    .any(|part| part == &piece[..])
            })
        {
            return true;
        }
        if let Some(c) = before {
            buffer[0] = c;
            if self
                .starting
                .lengths_to(n)
                .any(|len| self.starting.keys.contains(&buffer[..len + 1]))
            {
                return true;
            }
        }
        after.iter().flatten().any(|&c| {
            buffer[n + 1] = c;
            self.ending
                .lengths_to(n)
                .any(|len| self.ending.keys.contains(&buffer[n + 1 - len..n + 2]))
        })
    }
}

/// The words of `body` (a JSON string's bytes between its quotes) that
/// `keep` lets fold, as `(start, end)` byte ranges in order.
pub(super) fn folded_words<'b>(
    body: &'b [u8],
    keep: &'b HexKeep,
) -> impl Iterator<Item = (usize, usize)> + 'b {
    hex_runs(body).filter(move |&(start, end)| {
        let before = start.checked_sub(1).and_then(|at| body.get(at));
        let word = &body[start..end];
        // After an escaping backslash, the first letter is an escape's
        // (`\b`, `\f`).
        !before.is_some_and(|&b| word_byte(b))
            && !escaped(body, start)
            && !body.get(end).is_some_and(|&b| word_byte(b))
            && word.iter().any(u8::is_ascii_digit)
            && word.iter().any(u8::is_ascii_alphabetic)
            && !keep.keeps(word, before.copied(), after_word(body, end))
    })
}

/// The byte after a word ending at `end` of a JSON string's bytes, and
/// the character it stands for when it starts an escape (a word never
/// ends inside one: its last byte would be an escape's letter, after an
/// escaping backslash, which is not a word's).
fn after_word(body: &[u8], end: usize) -> [Option<u8>; 2] {
    [body.get(end).copied(), decoded_at(body, end)]
}
