//! Sigma strings: wildcards, escapes, case folding and the reference glob matcher.
//!
//! A Sigma string value is text in which `*` matches any run of characters and
//! `?` exactly one. A backslash escapes only `*`, `?` or another backslash; any
//! other backslash is literal text. So `'\\\\127.0.0.1\\'` (YAML single quotes)
//! is the text `\\127.0.0.1\` and `'Windows\Temp\'` is `Windows\Temp\`.
//!
//! A [`Pattern`] is a sequence of [`Piece`]s. Besides literals and the two
//! wildcards there is [`Piece::OneOf`], a single character out of a set, which
//! the `windash` modifier produces instead of multiplying values.
//!
//! Matching here is the reference: simple and obviously correct, over `char`s.
//! Case-insensitive matching compares [`fold_char`] of both sides, a Unicode
//! simple case folding (one character to one character, so `?` still counts
//! characters the same way on both sides).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

/// One element of a [`Pattern`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Piece {
    /// Literal text (never empty).
    Literal(String),
    /// `*`: any run of characters, the empty run included.
    AnyRun,
    /// `?`: exactly one character.
    AnyChar,
    /// Exactly one character out of this set (from `windash`).
    OneOf(Vec<char>),
}

/// A Sigma string with its wildcards resolved; matches a whole value.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "Vec<Piece>", into = "Vec<Piece>")]
pub struct Pattern {
    pieces: Vec<Piece>,
    /// The pieces as single-character tokens, case-sensitive and folded
    /// (each built on first use).
    tokens: [OnceLock<Compiled>; 2],
}

impl From<Vec<Piece>> for Pattern {
    fn from(pieces: Vec<Piece>) -> Self {
        Pattern::from_pieces(pieces)
    }
}

impl From<Pattern> for Vec<Piece> {
    fn from(p: Pattern) -> Self {
        p.pieces
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.pieces == other.pieces
    }
}

impl Eq for Pattern {}

impl Hash for Pattern {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.pieces.hash(state);
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pattern").field(&self.pieces).finish()
    }
}

impl Pattern {
    /// Parses a Sigma string value with the escape rules of the specification.
    pub fn parse(raw: &str) -> Pattern {
        let mut p = Pattern::default();
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(&next @ ('*' | '?' | '\\')) => {
                        chars.next();
                        p.push_char(next);
                    }
                    _ => p.push_char('\\'),
                },
                '*' => p.push(Piece::AnyRun),
                '?' => p.push(Piece::AnyChar),
                other => p.push_char(other),
            }
        }
        p
    }

    /// A pattern matching exactly `text` (no wildcard interpretation).
    pub fn literal(text: &str) -> Pattern {
        let mut p = Pattern::default();
        for c in text.chars() {
            p.push_char(c);
        }
        p
    }

    /// Builds a pattern from pieces, normalising adjacent literals and runs.
    pub fn from_pieces(pieces: impl IntoIterator<Item = Piece>) -> Pattern {
        let mut p = Pattern::default();
        for piece in pieces {
            p.push(piece);
        }
        p
    }

    /// The pieces, normalised: no empty literal, no two adjacent literals,
    /// no two adjacent `*`.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Appends one piece, keeping the pattern normalised.
    pub fn push(&mut self, piece: Piece) {
        self.tokens = Default::default();
        match piece {
            Piece::Literal(s) => {
                if s.is_empty() {
                    return;
                }
                if let Some(Piece::Literal(last)) = self.pieces.last_mut() {
                    last.push_str(&s);
                } else {
                    self.pieces.push(Piece::Literal(s));
                }
            }
            Piece::AnyRun => {
                if self.pieces.last() != Some(&Piece::AnyRun) {
                    self.pieces.push(Piece::AnyRun);
                }
            }
            other => self.pieces.push(other),
        }
    }

    fn push_char(&mut self, c: char) {
        self.tokens = Default::default();
        if let Some(Piece::Literal(last)) = self.pieces.last_mut() {
            last.push(c);
        } else {
            self.pieces.push(Piece::Literal(c.to_string()));
        }
    }

    /// This pattern with a `*` in front and behind (`contains`).
    pub fn contains(self) -> Pattern {
        self.starts_with().ends_with()
    }

    /// This pattern with a `*` behind (`startswith`).
    pub fn starts_with(mut self) -> Pattern {
        self.push(Piece::AnyRun);
        self
    }

    /// This pattern with a `*` in front (`endswith`).
    pub fn ends_with(self) -> Pattern {
        let mut p = Pattern::from_pieces([Piece::AnyRun]);
        for piece in self.pieces.iter().cloned() {
            p.push(piece);
        }
        p
    }

    /// True when the pattern has `*`, `?` or a character set.
    pub fn has_wildcards(&self) -> bool {
        self.pieces.iter().any(|p| !matches!(p, Piece::Literal(_)))
    }

    /// The text when the pattern is a plain literal (or empty).
    pub fn as_literal(&self) -> Option<String> {
        match self.pieces.as_slice() {
            [] => Some(String::new()),
            [Piece::Literal(s)] => Some(s.clone()),
            _ => None,
        }
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str, cased: bool) -> bool {
        let chars: Vec<char> = if cased {
            text.chars().collect()
        } else {
            text.chars().map(fold_char).collect()
        };
        self.matches_chars(&chars, cased)
    }

    /// [`Pattern::matches`] over text already split into characters, and
    /// already folded with [`fold_char`] unless `cased` (so that a value tested
    /// against many patterns is prepared once).
    pub fn matches_chars(&self, chars: &[char], cased: bool) -> bool {
        self.compiled(cased).matches(chars)
    }

    /// The tokens of one case mode, built on first use.
    fn compiled(&self, cased: bool) -> &Compiled {
        self.tokens[usize::from(!cased)].get_or_init(|| {
            if cased {
                Compiled::new(self.tokenize(|c| c))
            } else {
                Compiled::new(self.tokenize(fold_char))
            }
        })
    }

    /// How the pattern matches, for engines that match it their own way: the
    /// literal is folded with [`fold_char`] unless `cased`.
    pub fn shape(&self, cased: bool) -> Shape {
        // The common shapes read off the pieces, without building (and
        // keeping) the matcher's tokens: an engine lowering thousands of
        // literals needs their text only.
        let fold = |s: &str| if cased { s.to_string() } else { fold_str(s) };
        match self.pieces.as_slice() {
            [Piece::Literal(s)] => return Shape::Exact(fold(s)),
            [Piece::AnyRun, Piece::Literal(s), Piece::AnyRun] => return Shape::Contains(fold(s)),
            [Piece::Literal(s), Piece::AnyRun] => return Shape::Prefix(fold(s)),
            [Piece::AnyRun, Piece::Literal(s)] => return Shape::Suffix(fold(s)),
            _ => {}
        }
        self.compiled_shape(cased)
    }

    /// [`Pattern::shape`] from the matcher's tokens.
    fn compiled_shape(&self, cased: bool) -> Shape {
        let text = |l: &[char]| l.iter().collect::<String>();
        match self.compiled(cased) {
            Compiled::Exact(l) => Shape::Exact(text(l)),
            Compiled::Prefix(l) => Shape::Prefix(text(l)),
            Compiled::Suffix(l) => Shape::Suffix(text(l)),
            Compiled::Contains(l) => Shape::Contains(text(l)),
            Compiled::Glob(_) => Shape::Glob,
        }
    }

    fn tokenize(&self, fold: impl Fn(char) -> char) -> Vec<Token> {
        let mut tokens = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => tokens.extend(s.chars().map(|c| Token::Char(fold(c)))),
                Piece::AnyRun => tokens.push(Token::Run),
                Piece::AnyChar => tokens.push(Token::One),
                Piece::OneOf(set) => {
                    tokens.push(Token::Set(set.iter().map(|&c| fold(c)).collect()))
                }
            }
        }
        tokens
    }
}

impl fmt::Display for Pattern {
    /// Writes the pattern back as a Sigma string (escaping `*`, `?`, `\` where needed).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => {
                    let mut chars = s.chars().peekable();
                    while let Some(c) = chars.next() {
                        match c {
                            '*' | '?' => write!(f, "\\{c}")?,
                            // A backslash needs escaping only where it would escape what follows.
                            '\\' if matches!(chars.peek(), None | Some('*' | '?' | '\\')) => {
                                write!(f, "\\\\")?
                            }
                            other => write!(f, "{other}")?,
                        }
                    }
                }
                Piece::AnyRun => write!(f, "*")?,
                Piece::AnyChar => write!(f, "?")?,
                Piece::OneOf(set) => {
                    write!(f, "[")?;
                    for c in set {
                        write!(f, "{c}")?;
                    }
                    write!(f, "]")?;
                }
            }
        }
        Ok(())
    }
}

/// What a whole value must be for a [`Pattern`] to match it (see [`Pattern::shape`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// Exactly this text.
    Exact(String),
    /// Starts with it.
    Prefix(String),
    /// Ends with it.
    Suffix(String),
    /// Contains it.
    Contains(String),
    /// Anything else (`?`, character sets, several literals).
    Glob,
}

/// Tokens plus the shape of the common cases (whole value, prefix, suffix,
/// substring of one literal), which are matched directly; the shapes are
/// exactly what [`glob`] decides for those token lists.
#[derive(Clone)]
enum Compiled {
    Exact(Vec<char>),
    Prefix(Vec<char>),
    Suffix(Vec<char>),
    Contains(Vec<char>),
    Glob(Vec<Token>),
}

impl Compiled {
    fn new(tokens: Vec<Token>) -> Compiled {
        let literal = |ts: &[Token]| -> Option<Vec<char>> {
            ts.iter()
                .map(|t| match t {
                    Token::Char(c) => Some(*c),
                    _ => None,
                })
                .collect()
        };
        let n = tokens.len();
        let run = |i: usize| matches!(tokens.get(i), Some(Token::Run));
        if let Some(l) = literal(&tokens) {
            return Compiled::Exact(l);
        }
        if n >= 2 && run(0) && run(n - 1) {
            if let Some(l) = literal(&tokens[1..n - 1]) {
                return Compiled::Contains(l);
            }
        }
        if n >= 1 && run(n - 1) {
            if let Some(l) = literal(&tokens[..n - 1]) {
                return Compiled::Prefix(l);
            }
        }
        if n >= 1 && run(0) {
            if let Some(l) = literal(&tokens[1..]) {
                return Compiled::Suffix(l);
            }
        }
        Compiled::Glob(tokens)
    }

    fn matches(&self, text: &[char]) -> bool {
        match self {
            Compiled::Exact(l) => text == l.as_slice(),
            Compiled::Prefix(l) => text.starts_with(l),
            Compiled::Suffix(l) => text.ends_with(l),
            Compiled::Contains(l) => match l.split_first() {
                None => true,
                Some((first, rest)) => text
                    .iter()
                    .enumerate()
                    .any(|(i, c)| c == first && text[i + 1..].starts_with(rest)),
            },
            Compiled::Glob(tokens) => glob(tokens, text),
        }
    }
}

#[derive(Clone)]
enum Token {
    Char(char),
    Run,
    One,
    Set(Vec<char>),
}

/// Classic wildcard matching with backtracking to the last `*`: O(n·m) at worst.
fn glob(pattern: &[Token], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        let step = match pattern.get(p) {
            Some(Token::Char(c)) => *c == text[t],
            Some(Token::One) => true,
            Some(Token::Set(set)) => set.contains(&text[t]),
            Some(Token::Run) => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            None => false,
        };
        if step {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p.min(pattern.len())..]
        .iter()
        .all(|tok| matches!(tok, Token::Run))
}

/// Unicode simple case folding of one character.
///
/// Characters whose lowercase is one character fold to it; the few lowercase
/// letters that have a distinct folded form (final sigma, the Greek symbol
/// variants, long s, micro sign, ...) fold to that form; characters whose
/// lowercase is several characters (U+0130) have no simple folding and stay.
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    match c {
        'ς' => return 'σ',
        'ϐ' => return 'β',
        'ϑ' => return 'θ',
        'ϕ' => return 'φ',
        'ϖ' => return 'π',
        'ϰ' => return 'κ',
        'ϱ' => return 'ρ',
        'ϵ' => return 'ε',
        'ẛ' => return 'ṡ',
        '\u{1FBE}' | '\u{0345}' => return 'ι',
        'µ' => return 'μ',
        'ſ' => return 's',
        _ => {}
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// [`fold_char`] over a whole string.
pub fn fold_str(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars().map(fold_char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_specification() {
        assert_eq!(
            Pattern::parse(r"\\\\127.0.0.1\\").as_literal().as_deref(),
            Some(r"\\127.0.0.1\")
        );
        assert_eq!(
            Pattern::parse(r"Windows\Temp\").as_literal().as_deref(),
            Some(r"Windows\Temp\")
        );
        assert_eq!(Pattern::parse(r"a\*b").as_literal().as_deref(), Some("a*b"));
        assert_eq!(Pattern::parse(r"a\?b").as_literal().as_deref(), Some("a?b"));
        assert!(Pattern::parse(r"a\\*b").has_wildcards());
    }

    #[test]
    fn glob_matches() {
        let p = Pattern::parse("*cmd?exe*");
        assert!(p.matches("C:\\CMD.exe /c", false));
        assert!(!p.matches("C:\\CMD.exe /c", true));
        assert!(!p.matches("cmdexe", false));
        assert!(Pattern::parse("").matches("", false));
        assert!(!Pattern::parse("").matches("a", false));
        assert!(Pattern::parse("*").matches("", false));
    }

    #[test]
    fn fast_shapes_agree_with_the_glob() {
        let patterns = [
            "abc", "abc*", "*abc", "*abc*", "*", "", "a*c", "*a?c*", "**", "*aab", "aa*",
        ];
        let texts = [
            "", "a", "abc", "xabc", "abcx", "xabcx", "aabc", "ac", "aaab", "aab", "abab",
        ];
        for p in patterns {
            let pattern = Pattern::parse(p);
            let tokens = pattern.tokenize(|c| c);
            for t in texts {
                let chars: Vec<char> = t.chars().collect();
                assert_eq!(
                    pattern.matches_chars(&chars, true),
                    glob(&tokens, &chars),
                    "{p} on {t}"
                );
            }
        }
    }

    #[test]
    fn shapes_read_off_the_pieces_are_the_tokens_shapes() {
        let patterns = [
            "abc",
            "abc*",
            "*abc",
            "*abc*",
            "*",
            "",
            "**",
            "a*c",
            "*a?c*",
            r"a\*b*",
            r"*a\?*",
            "ΣΊΣΥΦΟΣ*",
            "*STRASSE",
            "*ſK*",
            "ÄÖÜ",
            "*Mixed\\Case.EXE",
        ];
        for p in patterns {
            let pattern = Pattern::parse(p);
            for cased in [false, true] {
                assert_eq!(
                    pattern.shape(cased),
                    Pattern::parse(p).compiled_shape(cased),
                    "{p} cased {cased}"
                );
            }
        }
    }

    #[test]
    fn unicode_folding() {
        assert!(Pattern::parse("ΣΊΣΥΦΟΣ").matches("σίσυφος", false));
        assert!(Pattern::parse("STRASSE").matches("strasse", false));
        assert!(Pattern::parse("ÄÖÜ").matches("äöü", false));
    }

    #[test]
    fn display_round_trips() {
        for raw in [r"\\\\127.0.0.1\\", r"a\*b*c?", r"Windows\Temp\", r"x\\"] {
            let p = Pattern::parse(raw);
            assert_eq!(Pattern::parse(&p.to_string()), p, "{raw}");
        }
    }
}
