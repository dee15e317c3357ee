//! The typed intermediate representation of a Sigma rule.
//!
//! A [`Rule`] is metadata plus a [`Detection`]: named [`Selection`]s and one
//! [`Condition`] over them. A selection is an OR of groups, each group an AND
//! of [`FieldMatch`]es; a field match tests one field (or, for keywords, every
//! value of the event) against value alternatives, each a set of
//! [`Predicate`]s produced by the value modifiers.

use std::path::PathBuf;

use crate::modifiers::{CompareOp, Modifiers, Position, TimePart};
use crate::pattern::Pattern;

/// A compiled Sigma detection rule.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    /// Metadata kept for output.
    pub meta: Metadata,
    /// What the rule detects.
    pub detection: Detection,
    /// Where the rule came from.
    pub origin: Origin,
    /// The events the rule applies to, from its log source.
    pub scope: crate::logsource::Scope,
}

impl Rule {
    /// The rule id, or the title when the rule has no id.
    pub fn key(&self) -> &str {
        self.meta.id.as_deref().unwrap_or(&self.meta.title)
    }
}

/// The file and line a rule was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Origin {
    /// The rule file, when there is one.
    pub path: Option<PathBuf>,
    /// 1-based line where the rule's YAML document starts.
    pub line: usize,
}

/// Rule metadata (everything but the detection).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Metadata {
    /// `title`.
    pub title: String,
    /// `id`.
    pub id: Option<String>,
    /// `name` (referenced by correlation and filter rules).
    pub name: Option<String>,
    /// `status`.
    pub status: Option<Status>,
    /// `level`.
    pub level: Option<Level>,
    /// `description`.
    pub description: Option<String>,
    /// `tags`, e.g. `attack.t1047`.
    pub tags: Vec<String>,
    /// `logsource`.
    pub logsource: LogSource,
    /// `references`.
    pub references: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `author`.
    pub author: Option<String>,
    /// `date`.
    pub date: Option<String>,
    /// `modified`.
    pub modified: Option<String>,
    /// `related`.
    pub related: Vec<Related>,
    /// `fields`.
    pub fields: Vec<String>,
    /// `license`.
    pub license: Option<String>,
    /// `regression_tests_path`: SigmaHQ's regression test description (`info.yml`),
    /// relative to the root of the rule repository.
    pub regression_tests_path: Option<String>,
}

impl Metadata {
    /// Whether a reference (a filter's or a correlation's `rules` entry)
    /// names this rule: its `id` or its `name`, exactly.
    pub fn answers_to(&self, reference: &str) -> bool {
        self.id.as_deref() == Some(reference) || self.name.as_deref() == Some(reference)
    }

    /// ATT&CK technique ids from the tags (`attack.t1021.003` → `T1021.003`).
    pub fn attack_techniques(&self) -> Vec<String> {
        self.tags
            .iter()
            .filter_map(|t| t.strip_prefix("attack."))
            .filter(|t| {
                let mut c = t.chars();
                matches!(c.next(), Some('t' | 'T')) && c.next().is_some_and(|d| d.is_ascii_digit())
            })
            .map(|t| t.to_uppercase())
            .collect()
    }
}

/// `logsource`: what telemetry the rule applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct LogSource {
    /// `category`, e.g. `process_creation`.
    pub category: Option<String>,
    /// `product`, e.g. `windows`.
    pub product: Option<String>,
    /// `service`, e.g. `security`.
    pub service: Option<String>,
    /// `definition` (free text).
    pub definition: Option<String>,
}

/// A `related` entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Related {
    /// The related rule's id.
    pub id: String,
    /// `derived`, `obsolete`, `merged`, `renamed` or `similar`.
    pub kind: String,
}

/// `status`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[allow(missing_docs)]
pub enum Status {
    Unsupported,
    Deprecated,
    Experimental,
    Test,
    Stable,
}

impl Status {
    /// Parses the specification's status names.
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "stable" => Status::Stable,
            "test" => Status::Test,
            "experimental" => Status::Experimental,
            "deprecated" => Status::Deprecated,
            "unsupported" => Status::Unsupported,
            _ => return None,
        })
    }

    /// The name as written in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Test => "test",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
            Status::Unsupported => "unsupported",
        }
    }
}

/// `level`, ordered by severity.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[allow(missing_docs)]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    /// Parses the specification's level names.
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s {
            "informational" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    /// The name as written in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

/// The `detection` section: named selections and the condition.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Detection {
    /// Selections in the order written.
    pub selections: Vec<Selection>,
    /// The condition (a condition list is already one OR).
    pub condition: Condition,
    /// The condition text(s) as written.
    pub condition_text: Vec<String>,
}

/// A named selection: an OR of groups, each an AND of field matches.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Selection {
    /// The identifier used in the condition.
    pub name: String,
    /// OR of AND-groups.
    pub groups: Vec<Vec<FieldMatch>>,
}

/// A test of one field (or of all event values, for keywords).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FieldMatch {
    /// The field name; `None` for a keyword search over every value of the event.
    pub field: Option<String>,
    /// The key as written (`CommandLine|contains|all`), for messages.
    pub key: String,
    /// The checked modifiers.
    pub modifiers: Modifiers,
    /// The values: one entry per value written, each a set of alternative
    /// predicates (a transformation such as `base64offset` makes several).
    /// Alternatives of one value are ORed; values are ORed, or ANDed with `all`.
    pub values: Vec<Vec<Predicate>>,
}

/// A test of one value.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Predicate {
    /// A string pattern (wildcards resolved, position applied) over the value's text.
    Text {
        /// The pattern, matched against the whole value.
        pattern: Pattern,
        /// Case-sensitive (`cased`, or bytes from a transformation).
        cased: bool,
    },
    /// A number written in the rule: equal to a JSON number, or to its text.
    Number(Number),
    /// A boolean written in the rule: a JSON boolean, or the text `true`/`false`.
    Bool(bool),
    /// `null`: the field is absent or JSON null.
    Null,
    /// `re`: a regular expression searched in the value's text.
    Regex(SigmaRegex),
    /// `lt`/`lte`/`gt`/`gte`: a numeric comparison `value OP number`.
    Compare {
        /// The operator.
        op: CompareOp,
        /// The right-hand side.
        number: Number,
    },
    /// `minute` … `year`: a part of a timestamp compared with a number.
    TimePart {
        /// Which part.
        part: TimePart,
        /// The comparison (equality unless combined with `lt` …).
        op: CompareOp,
        /// The right-hand side.
        number: i64,
    },
    /// `cidr`: an IP address inside a network.
    Cidr(ipnet::IpNet),
    /// `exists`: whether the field is present (and not null).
    Exists(bool),
    /// `fieldref`: compare with the value of another field of the same event.
    FieldRef {
        /// The other field.
        field: String,
        /// Whole value, or where the other value must occur.
        position: Position,
        /// Case-sensitive.
        cased: bool,
    },
}

/// A number from a rule, with the text it is written as.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Number {
    /// The value.
    pub value: f64,
    /// The exact integer, when it is one.
    pub integer: Option<i128>,
    /// The canonical text (`4688`, `1.5`).
    pub text: String,
}

impl Number {
    /// Builds a number from YAML.
    pub fn from_yaml(n: &serde_norway::Number) -> Number {
        let integer = n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from));
        let value = n.as_f64().unwrap_or(f64::NAN);
        Number {
            value,
            integer,
            text: integer.map_or_else(|| n.to_string(), |i| i.to_string()),
        }
    }

    /// Parses a decimal (or `0x` hexadecimal integer) text.
    pub fn parse(text: &str) -> Option<Number> {
        let t = text.trim();
        if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            let i = i128::from_str_radix(hex, 16).ok()?;
            return Some(Number {
                value: i as f64,
                integer: Some(i),
                text: t.to_string(),
            });
        }
        if let Ok(i) = t.parse::<i128>() {
            return Some(Number {
                value: i as f64,
                integer: Some(i),
                text: t.to_string(),
            });
        }
        let v = t.parse::<f64>().ok().filter(|v| v.is_finite())?;
        Some(Number {
            value: v,
            integer: None,
            text: t.to_string(),
        })
    }

    /// Numeric equality (exact for integers).
    pub fn equals(&self, other: &Number) -> bool {
        match (self.integer, other.integer) {
            (Some(a), Some(b)) => a == b,
            _ => self.value == other.value,
        }
    }
}

/// A compiled `re` value.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SigmaRegex {
    /// The expression as written.
    pub source: String,
    /// Its flags.
    pub flags: crate::modifiers::RegexFlags,
    /// The compiled expression (flags applied): built when the rule is
    /// compiled (which rejects a bad expression), or on first use after a
    /// compiled ruleset is loaded; `None` only if it no longer compiles.
    #[serde(skip)]
    pub compiled: std::sync::OnceLock<Option<fancy_regex::Regex>>,
    /// The same expression for texts of ASCII characters (built on first
    /// use; see [`SigmaRegex::is_match`]).
    #[serde(skip)]
    pub ascii: std::sync::OnceLock<Option<AsciiRegex>>,
    /// The checks of the same expression for the bodies of JSON strings as
    /// written (built on first use; see [`SigmaRegex::rules_out_json_body`]).
    #[serde(skip)]
    pub json_filter: std::sync::OnceLock<Option<crate::regex_filter::RegexFilter>>,
}

/// A `re` value's expression restricted to ASCII characters, and the
/// checks that rule out most texts it cannot match before its automaton
/// runs (`regex_filter.rs`).
#[derive(Debug, Clone)]
pub struct AsciiRegex {
    /// The automaton.
    pub regex: regex_automata::meta::Regex,
    /// The checks, when any is worth running.
    pub filter: Option<crate::regex_filter::RegexFilter>,
}

impl SigmaRegex {
    /// A `re` value with its flags, compiled on first use.
    pub fn new(source: String, flags: crate::modifiers::RegexFlags) -> SigmaRegex {
        SigmaRegex {
            source,
            flags,
            compiled: std::sync::OnceLock::new(),
            ascii: std::sync::OnceLock::new(),
            json_filter: std::sync::OnceLock::new(),
        }
    }

    /// The compiled expression.
    pub fn regex(&self) -> Option<&fancy_regex::Regex> {
        self.compiled
            .get_or_init(|| crate::values::build_regex(&self.source, self.flags).ok())
            .as_ref()
    }

    /// Whether the expression matches somewhere in `text`: the verdict of
    /// [`SigmaRegex::regex`] (a search past the backtracking limit does not
    /// match), reached on a text of ASCII characters through the expression
    /// restricted to ASCII characters, which runs in `regex-automata`'s
    /// automata (see `values::build_ascii_regex`) after the checks of
    /// `regex_filter.rs`.
    pub fn is_match(&self, text: &str) -> bool {
        if text.is_ascii() {
            let ascii = self
                .ascii
                .get_or_init(|| crate::values::build_ascii_regex(&self.source, self.flags));
            if let Some(re) = ascii {
                let bytes = text.as_bytes();
                return re.filter.as_ref().is_none_or(|f| f.may_match(bytes))
                    && re.regex.is_match(bytes);
            }
        }
        self.regex()
            .is_some_and(|re| re.is_match(text).unwrap_or(false))
    }

    /// Whether the expression's checks (`regex_filter.rs`) rule out every
    /// match in the text of a JSON string whose body, as written, is
    /// `body`: a body of ASCII bytes without `\u` or `\/` escapes (the
    /// caller's to make sure), read without decoding it. False when there
    /// is no check: the text may match.
    pub fn rules_out_json_body(&self, body: &[u8]) -> bool {
        self.json_filter
            .get_or_init(|| {
                crate::regex_filter::RegexFilter::of_expression_json(&self.source, self.flags)
            })
            .as_ref()
            .is_some_and(|f| !f.may_match(body))
    }
}

/// The condition over selections.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Condition {
    /// The selection at this index of [`Detection::selections`].
    Selection(usize),
    /// `not`.
    Not(Box<Condition>),
    /// `and`.
    And(Vec<Condition>),
    /// `or`.
    Or(Vec<Condition>),
    /// `N of pattern` / `all of pattern`.
    Quantified {
        /// How many must hold.
        quantity: Quantity,
        /// The selections the pattern resolved to.
        selections: Vec<usize>,
    },
}

/// How many of a group of selections must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Quantity {
    /// At least this many (`1 of`).
    AtLeast(usize),
    /// All of them (`all of`).
    All,
}
