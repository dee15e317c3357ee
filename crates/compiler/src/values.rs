//! From YAML values and modifiers to [`Predicate`]s.
//!
//! String values go through, in order: placeholder expansion (`expand`),
//! wildcard and escape parsing, the transformations in the order written
//! (`windash`, `utf16*`/`wide`, `base64`, `base64offset`), and finally the
//! position (`contains`, `startswith`, `endswith`). Numbers, booleans and
//! `null` keep their type; `re`, `cidr`, comparisons, time parts, `exists` and
//! `fieldref` build their own typed predicates.

use base64::Engine as _;
use serde_norway::Value;

use crate::error::ErrorKind;
use crate::ir::{Number, Predicate, SigmaRegex};
use crate::modifiers::{CompareOp, Modifiers, Position, Transform};
use crate::pattern::{Pattern, Piece};
use crate::placeholders::{split_placeholders, Placeholders, Segment};

/// Most alternatives one value may expand to (placeholders × transformations).
pub const MAX_EXPANSION: usize = 4096;

/// The characters `windash` accepts for a `-` or `/`.
pub const WINDASH_CHARS: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Context for building predicates of one key.
pub(crate) struct ValueContext<'a> {
    pub key: &'a str,
    pub modifiers: &'a Modifiers,
    pub keyword: bool,
    pub placeholders: Option<&'a Placeholders>,
}

impl ValueContext<'_> {
    fn invalid(&self, reason: impl Into<String>) -> ErrorKind {
        ErrorKind::InvalidValue {
            field: self.key.to_string(),
            reason: reason.into(),
        }
    }

    /// The alternatives of one written value.
    pub fn predicates(&self, value: &Value) -> Result<Vec<Predicate>, ErrorKind> {
        let m = self.modifiers;
        if m.exists {
            return match value {
                Value::Bool(b) => Ok(vec![Predicate::Exists(*b)]),
                _ => Err(self.invalid("'exists' takes true or false")),
            };
        }
        if let Value::Null = value {
            if m.written
                .iter()
                .all(|x| *x == crate::modifiers::Modifier::All)
                && !self.keyword
            {
                return Ok(vec![Predicate::Null]);
            }
            return Err(self.invalid("null cannot be used with modifiers or as a keyword"));
        }
        if let Some(flags) = m.regex {
            let text = self.scalar_text(value)?;
            let mut sources = vec![text];
            if m.expand {
                sources = self.expand(&sources[0])?;
            }
            return sources
                .into_iter()
                .map(|s| compile_regex(&s, flags).map(Predicate::Regex))
                .collect();
        }
        if m.cidr {
            let text = self.scalar_text(value)?;
            let net = parse_cidr(text.trim()).ok_or_else(|| {
                self.invalid(format!("'{text}' is not an IPv4 or IPv6 network (CIDR)"))
            })?;
            return Ok(vec![Predicate::Cidr(net)]);
        }
        if let Some(part) = m.time_part {
            let number = self.number(value)?;
            let number = number
                .integer
                .and_then(|i| i64::try_from(i).ok())
                .ok_or_else(|| self.invalid("time part modifiers take an integer"))?;
            let op = m.compare.unwrap_or(CompareOp::Eq);
            return Ok(vec![Predicate::TimePart { part, op, number }]);
        }
        if let Some(op) = m.compare {
            return Ok(vec![Predicate::Compare {
                op,
                number: self.number(value)?,
            }]);
        }
        if m.fieldref {
            let field = self.scalar_text(value)?;
            if Pattern::parse(&field).has_wildcards() {
                return Err(self.invalid("field references cannot contain wildcards"));
            }
            return Ok(vec![Predicate::FieldRef {
                field,
                position: m.position.unwrap_or(Position::Whole),
                cased: m.cased,
            }]);
        }
        let plain = m.transforms.is_empty() && m.position.is_none() && !m.expand && !self.keyword;
        match value {
            Value::Number(n) if plain => Ok(vec![Predicate::Number(Number::from_yaml(n))]),
            Value::Bool(b) if plain => Ok(vec![Predicate::Bool(*b)]),
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                let raw = self.scalar_text(value)?;
                self.text_predicates(&raw)
            }
            _ => Err(self.invalid("values must be strings, numbers, booleans or null")),
        }
    }

    fn scalar_text(&self, value: &Value) -> Result<String, ErrorKind> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(Number::from_yaml(n).text),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(self.invalid("expected a string, number or boolean")),
        }
    }

    fn number(&self, value: &Value) -> Result<Number, ErrorKind> {
        match value {
            Value::Number(n) => Ok(Number::from_yaml(n)),
            Value::String(s) => {
                Number::parse(s).ok_or_else(|| self.invalid(format!("'{s}' is not a number")))
            }
            _ => Err(self.invalid("expected a number")),
        }
    }

    fn expand(&self, raw: &str) -> Result<Vec<String>, ErrorKind> {
        let mut results = vec![String::new()];
        for segment in split_placeholders(raw) {
            match segment {
                Segment::Text(t) => results.iter_mut().for_each(|r| r.push_str(t)),
                Segment::Placeholder(name) => {
                    let values = self
                        .placeholders
                        .and_then(|p| p.get(name))
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| ErrorKind::MissingPlaceholder(name.to_string()))?;
                    if results.len() * values.len() > MAX_EXPANSION {
                        return Err(self.invalid(format!(
                            "placeholders expand to more than {MAX_EXPANSION} values"
                        )));
                    }
                    results = results
                        .iter()
                        .flat_map(|r| values.iter().map(move |v| format!("{r}{v}")))
                        .collect();
                }
            }
        }
        Ok(results)
    }

    fn text_predicates(&self, raw: &str) -> Result<Vec<Predicate>, ErrorKind> {
        let m = self.modifiers;
        let raws = if m.expand {
            self.expand(raw)?
        } else {
            vec![raw.to_string()]
        };
        let mut values: Vec<Working> = raws
            .iter()
            .map(|r| Working {
                pattern: Pattern::parse(r),
                bytes: None,
                cased: m.cased,
            })
            .collect();
        for transform in &m.transforms {
            let mut next = Vec::new();
            for value in values {
                if *transform == Transform::Windash {
                    next.push(Working {
                        pattern: windash(&value.pattern),
                        ..value
                    });
                    continue;
                }
                for variant in expand_sets(&value)? {
                    next.extend(self.byte_transform(*transform, &variant)?);
                }
                if next.len() > MAX_EXPANSION {
                    return Err(self.invalid(format!(
                        "transformations expand to more than {MAX_EXPANSION} values"
                    )));
                }
            }
            values = next;
        }
        let position = match m.position {
            Some(p) => p,
            // A keyword without wildcards is searched for anywhere in a value.
            None if self.keyword && values.iter().all(|v| !v.pattern.has_wildcards()) => {
                Position::Contains
            }
            None => Position::Whole,
        };
        Ok(values
            .into_iter()
            .map(|v| Predicate::Text {
                pattern: match position {
                    Position::Whole => v.pattern,
                    Position::Contains => v.pattern.contains(),
                    Position::Start => v.pattern.starts_with(),
                    Position::End => v.pattern.ends_with(),
                },
                cased: v.cased,
            })
            .collect())
    }

    /// utf16/base64 transformations work on bytes: utf16 keeps `*`/`?` in
    /// place around encoded literals, base64 cannot encode wildcards.
    fn byte_transform(&self, t: Transform, value: &Working) -> Result<Vec<Working>, ErrorKind> {
        let big_endian = t == Transform::Utf16Be;
        let bom: &[u8] = if t == Transform::Utf16 {
            &[0xFF, 0xFE]
        } else {
            &[]
        };
        match t {
            Transform::Utf16 | Transform::Utf16Le | Transform::Utf16Be => {
                if let Some(text) = value.pattern.as_literal().filter(|_| value.bytes.is_none()) {
                    let mut bytes = bom.to_vec();
                    bytes.extend(utf16_bytes(&text, big_endian));
                    return Ok(vec![Working::from_bytes(bytes)]);
                }
                if value.bytes.is_some() {
                    return Err(self.invalid("utf16 cannot encode an already encoded value"));
                }
                let mut out = Pattern::from_pieces([Piece::Literal(bytes_to_text(bom))]);
                for piece in value.pattern.pieces() {
                    match piece {
                        Piece::Literal(s) => {
                            out.push(Piece::Literal(bytes_to_text(&utf16_bytes(s, big_endian))))
                        }
                        other => out.push(other.clone()),
                    }
                }
                Ok(vec![Working {
                    pattern: out,
                    bytes: None,
                    cased: true,
                }])
            }
            Transform::Base64 | Transform::Base64Offset => {
                let bytes =
                    match (&value.bytes, value.pattern.as_literal()) {
                        (Some(b), _) => b.clone(),
                        (None, Some(text)) => text.into_bytes(),
                        (None, None) => return Err(self.invalid(
                            "base64 cannot encode wildcards; escape '*' and '?' as '\\*' and '\\?'",
                        )),
                    };
                let engine = base64::engine::general_purpose::STANDARD;
                if t == Transform::Base64 {
                    return Ok(vec![Working::from_bytes(
                        engine.encode(&bytes).into_bytes(),
                    )]);
                }
                const START: [usize; 3] = [0, 2, 3];
                const END_TRIM: [usize; 3] = [0, 3, 2];
                let mut out = Vec::new();
                for shift in 0..3 {
                    let mut shifted = vec![b' '; shift];
                    shifted.extend_from_slice(&bytes);
                    let enc = engine.encode(&shifted);
                    let trim = END_TRIM[(bytes.len() + shift) % 3];
                    let end = enc.len().saturating_sub(trim);
                    let text = enc.get(START[shift]..end).unwrap_or("");
                    if !text.is_empty() {
                        out.push(Working::from_bytes(text.as_bytes().to_vec()));
                    }
                }
                if out.is_empty() {
                    return Err(self.invalid("base64offset of an empty value"));
                }
                Ok(out)
            }
            Transform::Windash => Ok(vec![Working {
                pattern: windash(&value.pattern),
                ..value.clone()
            }]),
        }
    }
}

/// A value between transformation steps.
#[derive(Debug, Clone)]
struct Working {
    /// What is matched.
    pattern: Pattern,
    /// The exact bytes, when a byte transformation produced a literal.
    bytes: Option<Vec<u8>>,
    /// Case-sensitive matching.
    cased: bool,
}

impl Working {
    /// A literal made of bytes; encoded bytes are matched case-sensitively.
    fn from_bytes(bytes: Vec<u8>) -> Working {
        Working {
            pattern: Pattern::literal(&bytes_to_text(&bytes)),
            bytes: Some(bytes),
            cased: true,
        }
    }
}

/// UTF-16 code units of `s` as bytes, without a byte order mark.
fn utf16_bytes(s: &str, big_endian: bool) -> Vec<u8> {
    s.encode_utf16()
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

/// Text made of bytes: UTF-8 when the bytes are valid UTF-8, else one char per byte (Latin-1).
pub(crate) fn bytes_to_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// `windash`: every `-` or `/` that follows a non-word character (or the start
/// of a literal) and precedes a word character becomes a [`Piece::OneOf`].
fn windash(p: &Pattern) -> Pattern {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Pattern::default();
    for piece in p.pieces() {
        let Piece::Literal(s) = piece else {
            out.push(piece.clone());
            continue;
        };
        let chars: Vec<char> = s.chars().collect();
        let mut lit = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev_word = i > 0 && is_word(chars[i - 1]);
            let next_word = chars.get(i + 1).is_some_and(|&n| is_word(n));
            if (c == '-' || c == '/') && !prev_word && next_word {
                out.push(Piece::Literal(std::mem::take(&mut lit)));
                out.push(Piece::OneOf(WINDASH_CHARS.to_vec()));
            } else {
                lit.push(c);
            }
        }
        out.push(Piece::Literal(lit));
    }
    out
}

/// Replaces every [`Piece::OneOf`] by each of its characters (for byte transforms).
fn expand_sets(value: &Working) -> Result<Vec<Working>, ErrorKind> {
    if !value
        .pattern
        .pieces()
        .iter()
        .any(|p| matches!(p, Piece::OneOf(_)))
    {
        return Ok(vec![value.clone()]);
    }
    let mut out = vec![Pattern::default()];
    for piece in value.pattern.pieces() {
        match piece {
            Piece::OneOf(set) => {
                if out.len() * set.len() > MAX_EXPANSION {
                    return Err(ErrorKind::InvalidValue {
                        field: String::new(),
                        reason: format!("windash expands to more than {MAX_EXPANSION} values"),
                    });
                }
                out = out
                    .into_iter()
                    .flat_map(|o| {
                        set.iter().map(move |c| {
                            let mut n = o.clone();
                            n.push(Piece::Literal(c.to_string()));
                            n
                        })
                    })
                    .collect();
            }
            other => out.iter_mut().for_each(|o| o.push(other.clone())),
        }
    }
    Ok(out
        .into_iter()
        .map(|pattern| Working {
            pattern,
            bytes: None,
            cased: value.cased,
        })
        .collect())
}

/// Compiles a `re` value with its flags; the search is unanchored.
pub(crate) fn compile_regex(
    source: &str,
    flags: crate::modifiers::RegexFlags,
) -> Result<SigmaRegex, ErrorKind> {
    let regex = build_regex(source, flags)?;
    let compiled = SigmaRegex::new(source.to_string(), flags);
    let _ = compiled.compiled.set(Some(regex));
    Ok(compiled)
}

/// A `re` value's flags as an inline group (empty without flags).
pub(crate) fn inline_flags(flags: crate::modifiers::RegexFlags) -> String {
    let mut prefix = String::new();
    if flags.ignore_case || flags.multi_line || flags.dot_all {
        prefix.push_str("(?");
        if flags.ignore_case {
            prefix.push('i');
        }
        if flags.multi_line {
            prefix.push('m');
        }
        if flags.dot_all {
            prefix.push('s');
        }
        prefix.push(')');
    }
    prefix
}

/// The `fancy-regex` form of a `re` value (flags as an inline group).
pub(crate) fn build_regex(
    source: &str,
    flags: crate::modifiers::RegexFlags,
) -> Result<fancy_regex::Regex, ErrorKind> {
    fancy_regex::RegexBuilder::new(&format!("{}{source}", inline_flags(flags)))
        .backtrack_limit(1_000_000)
        .delegate_size_limit(10 << 20)
        .build()
        .map_err(|e| ErrorKind::InvalidRegex {
            pattern: source.to_string(),
            reason: e.to_string(),
        })
}

/// The form of a `re` value for texts of ASCII characters: the expression
/// as `regex-syntax` reads it (Unicode classes and case folding, the flags),
/// each class and literal cut to its ASCII characters and each Unicode word
/// boundary made an ASCII one. On a text of ASCII characters nothing else
/// can match, and ASCII characters are words for the same ones, so the
/// verdict is the expression's; the automata then need no Unicode tables
/// (a Unicode `\w{1,64}` otherwise goes to a backtracker). `None` for an
/// expression `regex-syntax` does not take (lookaround, backreferences):
/// those keep `fancy-regex`.
pub(crate) fn build_ascii_regex(
    source: &str,
    flags: crate::modifiers::RegexFlags,
) -> Option<crate::ir::AsciiRegex> {
    let ascii = ascii_form(source, flags)?;
    let regex = regex_automata::meta::Builder::new()
        .configure(regex_automata::meta::Config::new().nfa_size_limit(Some(10 << 20)))
        .build_from_hir(&ascii)
        .ok()?;
    Some(crate::ir::AsciiRegex {
        regex,
        filter: crate::regex_filter::RegexFilter::of(&ascii),
    })
}

/// The syntax tree of a `re` value with its flags, cut to ASCII
/// characters (see [`build_ascii_regex`]); `None` for an expression
/// `regex-syntax` does not take.
pub(crate) fn ascii_form(
    source: &str,
    flags: crate::modifiers::RegexFlags,
) -> Option<regex_syntax::hir::Hir> {
    let hir = regex_syntax::Parser::new()
        .parse(&format!("{}{source}", inline_flags(flags)))
        .ok()?;
    Some(ascii_hir(&hir))
}

/// `hir` restricted to ASCII characters (see [`build_ascii_regex`]).
fn ascii_hir(hir: &regex_syntax::hir::Hir) -> regex_syntax::hir::Hir {
    use regex_syntax::hir::{
        Capture, Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange, Hir, HirKind,
        Look, Repetition,
    };
    match hir.kind() {
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(literal) if literal.0.is_ascii() => Hir::literal(literal.0.clone()),
        HirKind::Literal(_) => Hir::fail(),
        HirKind::Class(Class::Unicode(class)) => {
            let mut ascii = ClassUnicode::new([ClassUnicodeRange::new('\0', '\x7f')]);
            ascii.intersect(class);
            Hir::class(Class::Unicode(ascii))
        }
        HirKind::Class(Class::Bytes(class)) => {
            let mut ascii = ClassBytes::new([ClassBytesRange::new(0, 0x7f)]);
            ascii.intersect(class);
            Hir::class(Class::Bytes(ascii))
        }
        HirKind::Look(look) => Hir::look(match *look {
            Look::WordUnicode => Look::WordAscii,
            Look::WordUnicodeNegate => Look::WordAsciiNegate,
            Look::WordStartUnicode => Look::WordStartAscii,
            Look::WordEndUnicode => Look::WordEndAscii,
            Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
            Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
            other => other,
        }),
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            min: rep.min,
            max: rep.max,
            greedy: rep.greedy,
            sub: Box::new(ascii_hir(&rep.sub)),
        }),
        HirKind::Capture(capture) => Hir::capture(Capture {
            index: capture.index,
            name: capture.name.clone(),
            sub: Box::new(ascii_hir(&capture.sub)),
        }),
        HirKind::Concat(parts) => Hir::concat(parts.iter().map(ascii_hir).collect()),
        HirKind::Alternation(parts) => Hir::alternation(parts.iter().map(ascii_hir).collect()),
    }
}

/// Parses `a.b.c.d/n`, `v6/n` or a bare address (a host network).
fn parse_cidr(text: &str) -> Option<ipnet::IpNet> {
    if let Ok(net) = text.parse::<ipnet::IpNet>() {
        return Some(net.trunc());
    }
    text.parse::<std::net::IpAddr>()
        .ok()
        .map(ipnet::IpNet::from)
}
