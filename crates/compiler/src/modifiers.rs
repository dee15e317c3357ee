//! Value modifiers: names, aliases, and the checked set of one detection key.
//!
//! `CommandLine|contains|all` names a field and a chain of modifiers. This
//! module parses the chain into a [`Modifiers`] set, rejecting unknown names
//! (with a suggestion), repetitions and combinations that have no meaning.

use crate::error::ErrorKind;

/// One modifier of the Sigma specification's modifiers appendix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Cased,
    Exists,
    Neq,
    Windash,
    Re,
    /// `i` / `ignorecase`: case-insensitive regular expression.
    ReIgnoreCase,
    /// `m` / `multiline`.
    ReMultiline,
    /// `s` / `dotall`.
    ReDotAll,
    Base64,
    Base64Offset,
    /// `utf16le` / `wide`.
    Utf16Le,
    Utf16Be,
    /// UTF-16 little endian with a byte order mark.
    Utf16,
    Lt,
    Lte,
    Gt,
    Gte,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Cidr,
    Expand,
    FieldRef,
}

const NAMES: &[(&str, Modifier)] = &[
    ("contains", Modifier::Contains),
    ("startswith", Modifier::StartsWith),
    ("endswith", Modifier::EndsWith),
    ("all", Modifier::All),
    ("cased", Modifier::Cased),
    ("exists", Modifier::Exists),
    ("neq", Modifier::Neq),
    ("windash", Modifier::Windash),
    ("re", Modifier::Re),
    ("i", Modifier::ReIgnoreCase),
    ("ignorecase", Modifier::ReIgnoreCase),
    ("m", Modifier::ReMultiline),
    ("multiline", Modifier::ReMultiline),
    ("s", Modifier::ReDotAll),
    ("dotall", Modifier::ReDotAll),
    ("base64", Modifier::Base64),
    ("base64offset", Modifier::Base64Offset),
    ("utf16le", Modifier::Utf16Le),
    ("wide", Modifier::Utf16Le),
    ("utf16be", Modifier::Utf16Be),
    ("utf16", Modifier::Utf16),
    ("lt", Modifier::Lt),
    ("lte", Modifier::Lte),
    ("gt", Modifier::Gt),
    ("gte", Modifier::Gte),
    ("minute", Modifier::Minute),
    ("hour", Modifier::Hour),
    ("day", Modifier::Day),
    ("week", Modifier::Week),
    ("month", Modifier::Month),
    ("year", Modifier::Year),
    ("cidr", Modifier::Cidr),
    ("expand", Modifier::Expand),
    ("fieldref", Modifier::FieldRef),
];

impl Modifier {
    /// Looks a modifier up by the name written in a rule (exact, lowercase).
    pub fn from_name(name: &str) -> Option<Modifier> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, m)| *m == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }
}

/// Where a string value must occur in the field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Position {
    /// The whole value (plain value).
    Whole,
    /// Anywhere (`contains`).
    Contains,
    /// At the start (`startswith`).
    Start,
    /// At the end (`endswith`).
    End,
}

/// A numeric comparison (`lt`, `lte`, `gt`, `gte`; equality for time parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub enum CompareOp {
    Eq,
    Lt,
    Lte,
    Gt,
    Gte,
}

impl CompareOp {
    /// Applies the comparison `left OP right`.
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            CompareOp::Eq => left == right,
            CompareOp::Lt => left < right,
            CompareOp::Lte => left <= right,
            CompareOp::Gt => left > right,
            CompareOp::Gte => left >= right,
        }
    }
}

/// Which part of a timestamp a time modifier extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub enum TimePart {
    Minute,
    Hour,
    /// Day of the month, 1–31.
    Day,
    /// ISO 8601 week of the year, 1–53.
    Week,
    Month,
    Year,
}

/// A value transformation, applied at compile time in the order written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Transform {
    /// `-` or `/` before a word character also as `/`, `-`, en dash, em dash, horizontal bar.
    Windash,
    /// Encode as UTF-16LE.
    Utf16Le,
    /// Encode as UTF-16BE.
    Utf16Be,
    /// Encode as UTF-16LE with a byte order mark.
    Utf16,
    /// Base64-encode.
    Base64,
    /// The three base64 encodings at byte offsets 0, 1, 2, trimmed to stable characters.
    Base64Offset,
}

/// The checked modifiers of one detection key.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Modifiers {
    /// The modifiers as written, in order (for display).
    pub written: Vec<Modifier>,
    /// `contains` / `startswith` / `endswith`, or whole value.
    pub position: Option<Position>,
    /// `all`: every value must match, not one of them.
    pub all: bool,
    /// `cased`: case-sensitive string matching.
    pub cased: bool,
    /// `exists`.
    pub exists: bool,
    /// `neq`: the field is present and differs from the value.
    pub neq: bool,
    /// `re`, with its flags.
    pub regex: Option<RegexFlags>,
    /// Transformations in order.
    pub transforms: Vec<Transform>,
    /// `lt` / `lte` / `gt` / `gte`.
    pub compare: Option<CompareOp>,
    /// `minute` … `year`.
    pub time_part: Option<TimePart>,
    /// `cidr`.
    pub cidr: bool,
    /// `expand`.
    pub expand: bool,
    /// `fieldref`.
    pub fieldref: bool,
}

/// Flags of a `re` modifier.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct RegexFlags {
    /// `i`.
    pub ignore_case: bool,
    /// `m`.
    pub multi_line: bool,
    /// `s`.
    pub dot_all: bool,
}

impl Modifiers {
    /// Parses and checks the modifier names of one key (the parts after the field).
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Modifiers, ErrorKind> {
        let mut m = Modifiers::default();
        let mut flags = RegexFlags::default();
        let mut has_flag = false;
        for name in names {
            let modifier = Modifier::from_name(name).ok_or_else(|| ErrorKind::UnknownModifier {
                name: name.to_string(),
                suggestion: suggest(name),
            })?;
            if m.written.contains(&modifier) {
                return Err(ErrorKind::ModifierConflict(format!(
                    "modifier '{}' is repeated",
                    modifier.name()
                )));
            }
            m.written.push(modifier);
            use Modifier as M;
            match modifier {
                M::Contains | M::StartsWith | M::EndsWith => {
                    if m.position.is_some() {
                        return Err(only_one("contains/startswith/endswith"));
                    }
                    m.position = Some(match modifier {
                        M::Contains => Position::Contains,
                        M::StartsWith => Position::Start,
                        _ => Position::End,
                    });
                }
                M::All => m.all = true,
                M::Cased => m.cased = true,
                M::Exists => m.exists = true,
                M::Neq => m.neq = true,
                M::Re => m.regex = Some(RegexFlags::default()),
                M::ReIgnoreCase => (flags.ignore_case, has_flag) = (true, true),
                M::ReMultiline => (flags.multi_line, has_flag) = (true, true),
                M::ReDotAll => (flags.dot_all, has_flag) = (true, true),
                M::Windash => m.transforms.push(Transform::Windash),
                M::Base64 => m.transforms.push(Transform::Base64),
                M::Base64Offset => m.transforms.push(Transform::Base64Offset),
                M::Utf16Le => m.transforms.push(Transform::Utf16Le),
                M::Utf16Be => m.transforms.push(Transform::Utf16Be),
                M::Utf16 => m.transforms.push(Transform::Utf16),
                M::Lt | M::Lte | M::Gt | M::Gte => {
                    if m.compare.is_some() {
                        return Err(only_one("lt/lte/gt/gte"));
                    }
                    m.compare = Some(match modifier {
                        M::Lt => CompareOp::Lt,
                        M::Lte => CompareOp::Lte,
                        M::Gt => CompareOp::Gt,
                        _ => CompareOp::Gte,
                    });
                }
                M::Minute | M::Hour | M::Day | M::Week | M::Month | M::Year => {
                    if m.time_part.is_some() {
                        return Err(only_one("minute/hour/day/week/month/year"));
                    }
                    m.time_part = Some(match modifier {
                        M::Minute => TimePart::Minute,
                        M::Hour => TimePart::Hour,
                        M::Day => TimePart::Day,
                        M::Week => TimePart::Week,
                        M::Month => TimePart::Month,
                        _ => TimePart::Year,
                    });
                }
                M::Cidr => m.cidr = true,
                M::Expand => m.expand = true,
                M::FieldRef => m.fieldref = true,
            }
        }
        if has_flag {
            match m.regex.as_mut() {
                Some(r) => *r = flags,
                None => {
                    return Err(ErrorKind::ModifierConflict(
                        "regular expression flags (i, m, s) need the 're' modifier".into(),
                    ))
                }
            }
        }
        m.check()?;
        Ok(m)
    }

    /// True when the values are strings matched as text (not regex, number, network, ...).
    pub fn is_string_match(&self) -> bool {
        self.regex.is_none()
            && self.compare.is_none()
            && self.time_part.is_none()
            && !self.cidr
            && !self.exists
            && !self.fieldref
    }

    fn check(&self) -> Result<(), ErrorKind> {
        let pos = self.position.is_some();
        let tr = !self.transforms.is_empty();
        let byte_transforms = self.transforms.iter().filter(|t| **t != Transform::Windash);
        let b64 = byte_transforms
            .clone()
            .filter(|t| matches!(t, Transform::Base64 | Transform::Base64Offset))
            .count();
        if b64 > 1 {
            return Err(conflict("base64", "base64offset"));
        }
        if byte_transforms
            .filter(|t| {
                matches!(
                    t,
                    Transform::Utf16 | Transform::Utf16Le | Transform::Utf16Be
                )
            })
            .count()
            > 1
        {
            return Err(only_one("utf16le/utf16be/utf16/wide"));
        }
        let exclusive: [(&str, bool); 6] = [
            ("re", self.regex.is_some()),
            ("cidr", self.cidr),
            ("exists", self.exists),
            ("fieldref", self.fieldref),
            (
                "lt/lte/gt/gte",
                self.compare.is_some() && self.time_part.is_none(),
            ),
            ("minute/hour/day/week/month/year", self.time_part.is_some()),
        ];
        let active: Vec<&str> = exclusive
            .iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect();
        if active.len() > 1 {
            return Err(conflict(active[0], active[1]));
        }
        if let Some(&special) = active.first() {
            let allowed_position = special == "fieldref";
            if pos && !allowed_position {
                return Err(conflict(special, "contains/startswith/endswith"));
            }
            if tr {
                return Err(conflict(
                    special,
                    "value transformations (base64, utf16, windash)",
                ));
            }
            if self.expand && special != "re" {
                return Err(conflict(special, "expand"));
            }
            if self.cased && special != "fieldref" {
                return Err(conflict(special, "cased"));
            }
            if self.neq && special != "lt/lte/gt/gte" && special != "fieldref" {
                return Err(conflict(special, "neq"));
            }
            if self.neq && special == "lt/lte/gt/gte" {
                return Err(conflict("neq", special));
            }
            if self.exists && self.all {
                return Err(conflict("exists", "all"));
            }
        }
        Ok(())
    }
}

fn conflict(a: &str, b: &str) -> ErrorKind {
    ErrorKind::ModifierConflict(format!("'{a}' cannot be combined with '{b}'"))
}

fn only_one(group: &str) -> ErrorKind {
    ErrorKind::ModifierConflict(format!("only one of {group} may be used"))
}

/// The known modifier closest to a misspelt one, if it is close.
fn suggest(name: &str) -> Option<String> {
    NAMES
        .iter()
        .map(|(n, _)| (edit_distance(name, n), *n))
        .filter(|(d, n)| *d <= 2 && *d < n.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_modifier_suggests() {
        let err = Modifiers::parse(["contans"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown modifier 'contans' (did you mean 'contains'?)"
        );
    }

    #[test]
    fn conflicts_are_rejected() {
        assert!(Modifiers::parse(["contains", "endswith"]).is_err());
        assert!(Modifiers::parse(["re", "contains"]).is_err());
        assert!(Modifiers::parse(["i"]).is_err());
        assert!(Modifiers::parse(["cidr", "base64"]).is_err());
        assert!(Modifiers::parse(["all", "all"]).is_err());
        assert!(Modifiers::parse(["re", "i", "m", "s"]).is_ok());
        assert!(Modifiers::parse(["wide", "base64offset", "contains"]).is_ok());
        assert!(Modifiers::parse(["hour", "gte"]).is_ok());
        assert!(Modifiers::parse(["fieldref", "startswith"]).is_ok());
    }
}
