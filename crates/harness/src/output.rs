//! Detection output formats shared by `scan` (and `demo`): JSON lines (one
//! object per detection, the machine format), CSV (an RFC 4180 timeline for
//! spreadsheets and Timeline Explorer-style tools) and an aligned table
//! coloured by level (for terminals).

use std::io::IsTerminal;
use std::sync::OnceLock;

use hypersigma_compiler::correlation::Correlation;
use hypersigma_compiler::ir::{Level, Predicate};
use hypersigma_compiler::{Evaluation, Profile, Rule};
use hypersigma_runtime::correlate::{CorrelationHit, EventRef};
use hypersigma_runtime::pipeline::Detection;
use serde_json::{json, Value};

/// How detections are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per detection (default when stdout is not a terminal).
    Jsonl,
    /// A CSV timeline with a header row (RFC 4180 quoting).
    Csv,
    /// Aligned columns coloured by level (default on a terminal).
    Table,
}

impl Format {
    /// The format asked for, else `table` on a terminal and `jsonl` otherwise.
    pub fn resolve(asked: Option<Format>) -> Format {
        asked.unwrap_or_else(|| {
            if std::io::stdout().is_terminal() {
                Format::Table
            } else {
                Format::Jsonl
            }
        })
    }

    /// Text written before the first detection.
    pub fn header(self, colour: bool) -> Vec<u8> {
        match self {
            Format::Jsonl => Vec::new(),
            Format::Csv => csv_line(&CSV_HEADER.map(str::to_string)),
            Format::Table => {
                let line = table_line("Timestamp", "Computer", "Level", "Rule", "Details");
                if colour {
                    format!("\x1b[1m{line}\x1b[0m\n").into_bytes()
                } else {
                    format!("{line}\n").into_bytes()
                }
            }
        }
    }
}

const CSV_HEADER: [&str; 11] = [
    "Timestamp",
    "Computer",
    "Channel",
    "EventID",
    "Level",
    "RuleTitle",
    "RuleID",
    "Details",
    "Source",
    "Tags",
    "Selections",
];

/// One correlation detection, formatted.
pub struct CorrelationRecord<'a> {
    /// The correlation rule.
    pub correlation: &'a Correlation,
    /// What fired.
    pub hit: &'a CorrelationHit,
}

/// The level's name (empty when the rule has none).
fn level_name(level: Option<Level>) -> &'static str {
    level.map_or("", |l| l.as_str())
}

/// One table row (time, computer, level, rule, details), coloured by level
/// when asked; the level shows as `info` for informational.
fn table_row(
    out: &mut Vec<u8>,
    colour: bool,
    level: Option<Level>,
    [time, computer, rule, details]: [&str; 4],
) {
    let shown = match level {
        Some(Level::Informational) => "info",
        _ => level_name(level),
    };
    let line = table_line(time, computer, shown, rule, details);
    match (colour, level_colour(level)) {
        (true, Some(code)) => out.extend(format!("\x1b[{code}m{line}\x1b[0m\n").into_bytes()),
        _ => out.extend(format!("{line}\n").into_bytes()),
    }
}

fn iso_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

impl CorrelationRecord<'_> {
    /// The JSON-lines object: the correlation, its group, window, aggregate
    /// and the contributing events.
    pub fn json(&self) -> Value {
        let m = &self.correlation.meta;
        let h = self.hit;
        let group: serde_json::Map<String, Value> = h.group.iter().cloned().collect();
        json!({
            "correlation": {
                "id": m.id, "name": m.name, "title": m.title,
                "type": self.correlation.kind.as_str(),
                "level": m.level.map(|l| l.as_str()),
                "status": m.status.map(|s| s.as_str()),
                "tags": m.tags,
            },
            "group": group,
            "window": {"start": iso_ms(h.start_ms), "end": iso_ms(h.end_ms),
                       "timespan_ms": self.correlation.timespan_ms},
            "value": h.value,
            "events": h.events,
        })
    }

    /// `User=bob, Computer=ws1; 12 (event_count), 12 events`.
    fn details(&self) -> String {
        let group: Vec<String> = self
            .hit
            .group
            .iter()
            .map(|(k, v)| format!("{k}={}", text_of(Some(v))))
            .collect();
        format!(
            "{}{}{} ({}), {} events",
            group.join(", "),
            if group.is_empty() { "" } else { "; " },
            self.hit.value,
            self.correlation.kind.as_str(),
            self.hit.events.len()
        )
    }

    /// Appends the detection to `out` in `format`.
    pub fn write(&self, format: Format, colour: bool, out: &mut Vec<u8>) {
        let m = &self.correlation.meta;
        let level = level_name(m.level);
        let end = iso_ms(self.hit.end_ms);
        let computer = self
            .hit
            .group
            .iter()
            .find(|(k, _)| matches!(k.as_str(), "Computer" | "ComputerName" | "Hostname"))
            .map(|(_, v)| text_of(Some(v)))
            .unwrap_or_default();
        match format {
            Format::Jsonl => {
                if serde_json::to_writer(&mut *out, &self.json()).is_ok() {
                    out.push(b'\n');
                }
            }
            Format::Csv => {
                let first = self.hit.events.first().map(EventRef::text);
                out.extend(csv_line(&[
                    end,
                    computer,
                    String::new(),
                    String::new(),
                    level.to_string(),
                    m.title.clone(),
                    m.id.clone().unwrap_or_default(),
                    self.details(),
                    first.unwrap_or_default(),
                    m.tags.join(" "),
                    String::new(),
                ]))
            }
            Format::Table => table_row(
                out,
                colour,
                m.level,
                [&short_time(&end), &computer, &m.title, &self.details()],
            ),
        }
    }
}

/// A detection's JSON-lines object, member by member in output order.
#[derive(serde::Serialize)]
struct RecordJson<'a> {
    /// First: `None` when the rule's text is put in its place
    /// ([`Record::rule_json`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<RuleJson<'a>>,
    source: EventRef,
    timestamp: Option<&'a Value>,
    computer: Option<&'a Value>,
    profile: &'a str,
    logsource: &'a Option<String>,
    selections: &'a [String],
    /// Last: `None` when the event's text is put in its place
    /// ([`Record::event_json`]).
    event: Option<&'a Value>,
}

/// The rule's part of [`RecordJson`].
#[derive(serde::Serialize)]
struct RuleJson<'a> {
    id: &'a Option<String>,
    title: &'a str,
    level: Option<&'static str>,
    status: Option<&'static str>,
    tags: &'a [String],
    author: &'a Option<String>,
    references: &'a [String],
}

/// One detection, formatted.
pub struct Record<'a> {
    /// The rule that matched.
    pub rule: &'a Rule,
    /// Where and what.
    pub detection: &'a Detection<'a>,
    /// The rule's evaluation on the event (selections, log source).
    pub result: &'a Evaluation,
    /// The event's JSON text, when the caller made it once for all the
    /// detections of the event ([`crate::event_json::event_json`]); else
    /// each JSON line writes the event out again.
    pub event_json: Option<&'a [u8]>,
    /// The rule's JSON text, made once per rule ([`RuleTexts`]); else each
    /// JSON line writes the rule out again.
    pub rule_json: Option<&'a [u8]>,
}

/// The JSON text of each rule's part of a JSON-lines detection (its id,
/// title, level, status, tags, author, references), made on the rule's
/// first detection: the same for every detection of the rule, and a third
/// of the bytes of a detection without its event. Shared by the threads.
pub struct RuleTexts {
    texts: Vec<OnceLock<Vec<u8>>>,
}

impl RuleTexts {
    /// Room for `rules` rules (by index).
    pub fn new(rules: usize) -> RuleTexts {
        RuleTexts {
            texts: (0..rules).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The text of rule `index` (`rule`); `None` for an index past the
    /// rules it has room for.
    pub fn get(&self, index: u32, rule: &Rule) -> Option<&[u8]> {
        let text = self
            .texts
            .get(index as usize)?
            .get_or_init(|| serde_json::to_vec(&rule_json(rule)).unwrap_or_default());
        (!text.is_empty()).then_some(text.as_slice())
    }
}

/// The rule's part of a JSON-lines detection.
fn rule_json(rule: &Rule) -> RuleJson<'_> {
    let m = &rule.meta;
    RuleJson {
        id: &m.id,
        title: &m.title,
        level: m.level.map(|l| l.as_str()),
        status: m.status.map(|s| s.as_str()),
        tags: &m.tags,
        author: &m.author,
        references: &m.references,
    }
}

impl Record<'_> {
    /// Appends the detection to `out` in `format`.
    pub fn write(&self, format: Format, colour: bool, out: &mut Vec<u8>) {
        match format {
            Format::Jsonl => {
                let start = out.len();
                if !self.write_with_texts(out) {
                    out.truncate(start);
                    if serde_json::to_writer(&mut *out, &self.borrowed()).is_ok() {
                        out.push(b'\n');
                    }
                }
            }
            Format::Csv => out.extend(csv_line(&self.csv_fields())),
            Format::Table => {
                let d = self.detection;
                table_row(
                    out,
                    colour,
                    self.rule.meta.level,
                    [
                        &short_time(&text_of(d.profile.timestamp(d.event))),
                        &text_of(d.profile.computer(d.event)),
                        &self.rule.meta.title,
                        &self.details(),
                    ],
                )
            }
        }
    }

    /// Where the event was read.
    fn source(&self) -> EventRef {
        EventRef::new(self.detection.path, self.detection.position)
    }

    /// The JSON-lines object as references to the rule, the evaluation and
    /// the event: written straight out, not copied into a `Value` first
    /// (the event alone is most of a detection's bytes).
    fn borrowed(&self) -> RecordJson<'_> {
        let d = self.detection;
        RecordJson {
            rule: Some(rule_json(self.rule)),
            source: self.source(),
            timestamp: d.profile.timestamp(d.event),
            computer: d.profile.computer(d.event),
            profile: &d.profile.name,
            logsource: &self.result.source,
            selections: &self.result.selections,
            event: Some(d.event),
        }
    }

    /// The JSON line with the texts made beforehand put in: the rule's as
    /// the first member (the record written without it, `{"source":…`,
    /// after `{"rule":TEXT,`), the event's as the last (written as
    /// `null}`, the text in place of the `null`). False when there is no
    /// text to put in, or the record did not write as expected (the caller
    /// then writes it whole).
    fn write_with_texts(&self, out: &mut Vec<u8>) -> bool {
        if self.rule_json.is_none() && self.event_json.is_none() {
            return false;
        }
        let mut record = self.borrowed();
        if let Some(rule) = self.rule_json {
            record.rule = None;
            out.extend_from_slice(b"{\"rule\":");
            out.extend_from_slice(rule);
            out.push(b',');
        }
        if self.event_json.is_some() {
            record.event = None;
        }
        let at = out.len();
        if serde_json::to_writer(&mut *out, &record).is_err() {
            return false;
        }
        if self.rule_json.is_some() {
            // The record's own opening brace goes: the rule's opened it.
            if out.get(at) != Some(&b'{') {
                return false;
            }
            out.remove(at);
        }
        if let Some(event) = self.event_json {
            if !out.ends_with(b"null}") {
                return false;
            }
            out.truncate(out.len() - b"null}".len());
            out.extend_from_slice(event);
            out.push(b'}');
        }
        out.push(b'\n');
        true
    }

    fn csv_fields(&self) -> [String; 11] {
        let d = self.detection;
        let m = &self.rule.meta;
        [
            text_of(d.profile.timestamp(d.event)),
            text_of(d.profile.computer(d.event)),
            d.profile.channel(d.event).unwrap_or_default().to_string(),
            d.profile
                .event_id(d.event)
                .map(|i| i.to_string())
                .unwrap_or_default(),
            level_name(m.level).to_string(),
            m.title.clone(),
            m.id.clone().unwrap_or_default(),
            self.details(),
            self.source().text(),
            m.tags.join(" "),
            self.result.selections.join(" "),
        ]
    }

    /// `Field: value ¦ …` for the fields the rule tests (in rule order),
    /// read through the profile; empty values are left out.
    pub fn details(&self) -> String {
        details(self.rule, self.detection.event, self.detection.profile)
    }
}

/// The fields a rule tests, with the event's values, as one line.
pub fn details(rule: &Rule, event: &Value, profile: &Profile) -> String {
    let mut fields: Vec<&str> = Vec::new();
    for selection in &rule.detection.selections {
        for fm in selection.groups.iter().flatten() {
            let Some(f) = fm.field.as_deref() else {
                continue;
            };
            let only_absence = fm
                .values
                .iter()
                .flatten()
                .all(|p| matches!(p, Predicate::Null | Predicate::Exists(false)));
            if !only_absence && !fields.contains(&f) {
                fields.push(f);
            }
        }
    }
    let mut parts = Vec::new();
    for f in fields {
        let values: Vec<String> = profile
            .lookup(event, f)
            .into_iter()
            .map(|v| text_of(Some(v)))
            .filter(|t| !t.is_empty())
            .collect();
        if !values.is_empty() {
            parts.push(format!("{f}: {}", values.join(", ")));
        }
    }
    parts.join(" ¦ ")
}

/// An ISO 8601 timestamp as the table shows it: `YYYY-MM-DD HH:MM:SS.mmm`
/// (other text unchanged).
fn short_time(t: &str) -> String {
    let b = t.as_bytes();
    if b.len() >= 19 && b[4] == b'-' && b[10] == b'T' && b[13] == b':' {
        let mut s: String = t.chars().take(23).collect();
        s.replace_range(10..11, " ");
        return s.trim_end_matches(['Z', '+']).to_string();
    }
    t.to_string()
}

/// A scalar as text (strings unquoted), JSON for anything else, empty for none.
fn text_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// One RFC 4180 record: fields quoted when they hold a comma, quote, CR or
/// LF (quotes doubled), lines ended by CRLF.
fn csv_line(fields: &[String]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = writer.write_record(fields);
    writer.into_inner().unwrap_or_default()
}

/// Column widths of the table (120 columns in all with the separators).
const WIDTHS: [usize; 4] = [23, 14, 8, 34];

fn table_line(time: &str, computer: &str, level: &str, rule: &str, details: &str) -> String {
    let rest = 120 - WIDTHS.iter().sum::<usize>() - 2 * WIDTHS.len();
    format!(
        "{}  {}  {}  {}  {}",
        fit(time, WIDTHS[0]),
        fit(computer, WIDTHS[1]),
        fit(level, WIDTHS[2]),
        fit(rule, WIDTHS[3]),
        fit(details, rest).trim_end()
    )
}

/// `s` on one line, cut with `…` or padded to exactly `width` characters.
fn fit(s: &str, width: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let n = flat.chars().count();
    if n > width {
        let mut cut: String = flat.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        format!("{flat}{}", " ".repeat(width - n))
    }
}

/// ANSI colour of a level (SGR parameters).
fn level_colour(level: Option<Level>) -> Option<&'static str> {
    Some(match level? {
        Level::Critical => "1;91",
        Level::High => "91",
        Level::Medium => "93",
        Level::Low => "92",
        Level::Informational => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jsonl_record_is_written_member_by_member_in_order() {
        let text = "title: T\nid: 10c14723-61c7-4c75-92ca-9af245723ad2\nstatus: test\nlevel: high\n\
                    tags: [attack.t1]\nauthor: A\nlogsource: {product: windows, category: process_creation}\n\
                    detection:\n    s: {Image|endswith: x}\n    condition: s";
        let rule = hypersigma_compiler::parse_rule(text, &Default::default()).unwrap();
        // A line as serde_json writes it, and one with spaces.
        for line in [
            r#"{"UtcTime":"2024-01-02 03:04:05.678","Computer":"ws1","Image":"x","N":[1,{"b":null}]}"#,
            r#"{"UtcTime": "2024-01-02 03:04:05.678", "Computer": "ws1", "Image": "x\/y"}"#,
        ] {
            let event: Value = serde_json::from_str(line).unwrap();
            let profile = Profile::sysmon();
            let detection = Detection {
                path: std::path::Path::new("in.jsonl"),
                position: hypersigma_runtime::input::Position::Line(7),
                event: &event,
                line: line.as_bytes(),
                profile: &profile,
                rules: &[0],
                explain: &|_| unreachable!("the record is given its evaluation"),
            };
            let result = Evaluation {
                matched: true,
                selections: vec!["s".into()],
                source: Some("Sysmon Event ID 1".into()),
            };
            let expected = json!({
                "rule": {
                    "id": "10c14723-61c7-4c75-92ca-9af245723ad2", "title": "T",
                    "level": "high", "status": "test", "tags": ["attack.t1"],
                    "author": "A", "references": [],
                },
                "source": {"path": "in.jsonl", "line": 7},
                "timestamp": profile.timestamp(&event),
                "computer": "ws1",
                "profile": "sysmon",
                "logsource": "Sysmon Event ID 1",
                "selections": ["s"],
                "event": event,
            });
            // The event written by the record, or its text made once.
            // The event and the rule written by the record, or their texts
            // made once.
            let text = crate::event_json::event_json(line.as_bytes(), &event);
            let rule_texts = RuleTexts::new(1);
            for event_json in [None, Some(&*text)] {
                for rule_json in [None, rule_texts.get(0, &rule)] {
                    let mut out = b"before\n".to_vec();
                    Record {
                        rule: &rule,
                        detection: &detection,
                        result: &result,
                        event_json,
                        rule_json,
                    }
                    .write(Format::Jsonl, false, &mut out);
                    assert_eq!(
                        String::from_utf8(out).unwrap(),
                        format!("before\n{expected}\n")
                    );
                }
            }
            assert_eq!(rule_texts.get(1, &rule), None);
        }
    }

    #[test]
    fn csv_quotes_as_rfc_4180() {
        let line = csv_line(&["a".into(), "b,c".into(), "say \"hi\"".into(), "x\ny".into()]);
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\"\r\n"
        );
    }

    #[test]
    fn table_times_are_shortened() {
        assert_eq!(
            short_time("2021-04-20T20:33:00.3053512Z"),
            "2021-04-20 20:33:00.305"
        );
        assert_eq!(short_time("2021-04-20T20:33:00Z"), "2021-04-20 20:33:00");
        assert_eq!(
            short_time("2026-11-02 08:02:40.551"),
            "2026-11-02 08:02:40.551"
        );
        assert_eq!(short_time("1700000000"), "1700000000");
    }

    #[test]
    fn table_lines_are_120_columns_at_most() {
        let long = "x".repeat(300);
        let line = table_line(&long, &long, "critical", &long, &long);
        assert_eq!(line.chars().count(), 120);
        assert!(line.contains('…'));
        let short = table_line("t", "c", "low", "r", "d");
        assert!(short.chars().count() <= 120 && !short.ends_with(' '));
    }
}
