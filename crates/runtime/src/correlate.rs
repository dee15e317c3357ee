//! Correlation state: rule matches in, correlation detections out.
//!
//! A [`CorrelationSet`] resolves each correlation's `rules` (ids or names of
//! detection rules or of other correlations; cycles and unknown names are
//! errors) and records which rules' own detections stay silent (`generate:
//! false`, the default). A [`Correlator`] takes [`Sighting`]s — one per rule
//! match, with the event time and the fields the correlations read — in
//! input order and keeps, per correlation, a bounded map from group-by values
//! to the sightings of the last `timespan`. Feeding it in input order from
//! one place (the pipeline's ordered writer) makes the result independent of
//! the thread count.
//!
//! Windows: sightings may arrive out of time order; each group keeps its
//! sightings sorted by time and drops those older than its newest minus the
//! timespan. After each sighting, every window of length `timespan` that
//! contains it is tested; the first whose aggregate meets the condition fires
//! with the window's sightings, which are then consumed (a detection is not
//! repeated for the same events). A correlation's detection is itself a
//! sighting for the correlations that name it (chaining).
//!
//! Memory bound: at most [`Limits::max_groups`] groups per correlation and
//! [`Limits::max_sightings`] sightings per group; beyond them the stalest
//! group or the oldest sighting is evicted and counted in
//! [`Correlator::evictions`]. Groups idle for longer than their timespan are
//! dropped as time passes (not counted: they can no longer fire).

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use hypersigma_compiler::correlation::{Comparison, Correlation, CorrelationType};
use hypersigma_compiler::eval::timestamp;
use hypersigma_compiler::{Profile, Rule};

use crate::input::Position;

/// Why a set of correlations cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CorrelationError {
    /// A reference names no loaded rule or correlation.
    #[error(
        "correlation '{correlation}': no rule or correlation has the id or name '{reference}'"
    )]
    UnknownRule {
        /// The correlation's title.
        correlation: String,
        /// The reference as written.
        reference: String,
    },
    /// Correlations name each other in a cycle.
    #[error("correlation '{0}' depends on itself through its rules")]
    Cycle(String),
}

/// The correlations whose references all resolve (to `rules` or to other
/// kept correlations), and the errors of those left out.
pub fn resolvable(
    correlations: Vec<Correlation>,
    rules: &[Rule],
) -> (Vec<Correlation>, Vec<CorrelationError>) {
    let mut kept = correlations;
    let mut dropped = Vec::new();
    loop {
        let known = |r: &str, kept: &[Correlation]| {
            rules.iter().any(|x| x.meta.answers_to(r)) || kept.iter().any(|c| c.meta.answers_to(r))
        };
        let bad = kept
            .iter()
            .position(|c| c.rules.iter().any(|r| !known(r, &kept)));
        let Some(at) = bad else {
            return (kept, dropped);
        };
        let c = kept.remove(at);
        let reference = c
            .rules
            .iter()
            .find(|r| !known(r, &kept))
            .cloned()
            .unwrap_or_default();
        dropped.push(CorrelationError::UnknownRule {
            correlation: c.meta.title,
            reference,
        });
    }
}

/// What a correlation reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Rule(u32),
    Correlation(usize),
}

/// Correlations resolved against the loaded rules.
#[derive(Debug, Clone, Default)]
pub struct CorrelationSet {
    correlations: Vec<Correlation>,
    /// Per correlation: its inputs, and the name aliases use for each.
    inputs: Vec<Vec<(Input, Vec<String>)>>,
    /// Per rule: (correlation, input slot) reading it.
    rule_readers: HashMap<u32, Vec<(usize, usize)>>,
    /// Per rule read by a correlation: the fields its sightings carry.
    rule_fields: HashMap<u32, Vec<String>>,
    /// Per correlation: (correlation, input slot) reading it.
    correlation_readers: Vec<Vec<(usize, usize)>>,
    /// Per rule: its own detections are not reported.
    silent: Vec<bool>,
}

impl CorrelationSet {
    /// Resolves the references of `correlations` against `rules` (by id or
    /// name) and against each other.
    pub fn new(correlations: Vec<Correlation>, rules: &[Rule]) -> Result<Self, CorrelationError> {
        let mut inputs = Vec::with_capacity(correlations.len());
        for c in &correlations {
            let mut list = Vec::new();
            for reference in &c.rules {
                let r = reference.as_str();
                let input = if let Some(i) = rules.iter().position(|x| x.meta.answers_to(r)) {
                    let rule = &rules[i];
                    let names = [rule.meta.name.clone(), rule.meta.id.clone()];
                    (Input::Rule(i as u32), names.into_iter().flatten().collect())
                } else if let Some(i) = correlations.iter().position(|x| x.meta.answers_to(r)) {
                    let other = &correlations[i];
                    let names = [other.meta.name.clone(), other.meta.id.clone()];
                    (Input::Correlation(i), names.into_iter().flatten().collect())
                } else {
                    return Err(CorrelationError::UnknownRule {
                        correlation: c.meta.title.clone(),
                        reference: reference.clone(),
                    });
                };
                list.push(input);
            }
            inputs.push(list);
        }
        // Cycles: depth-first over correlation inputs.
        fn visit(
            c: usize,
            inputs: &[Vec<(Input, Vec<String>)>],
            state: &mut [u8],
        ) -> Result<(), usize> {
            match state[c] {
                1 => return Err(c),
                2 => return Ok(()),
                _ => {}
            }
            state[c] = 1;
            for (input, _) in &inputs[c] {
                if let Input::Correlation(d) = input {
                    visit(*d, inputs, state)?;
                }
            }
            state[c] = 2;
            Ok(())
        }
        let mut state = vec![0u8; correlations.len()];
        for c in 0..correlations.len() {
            visit(c, &inputs, &mut state)
                .map_err(|at| CorrelationError::Cycle(correlations[at].meta.title.clone()))?;
        }
        let mut rule_readers: HashMap<u32, Vec<(usize, usize)>> = HashMap::new();
        let mut correlation_readers = vec![Vec::new(); correlations.len()];
        let mut referenced = vec![false; rules.len()];
        let mut generated = vec![false; rules.len()];
        for (c, list) in inputs.iter().enumerate() {
            for (slot, (input, _)) in list.iter().enumerate() {
                match *input {
                    Input::Rule(r) => {
                        rule_readers.entry(r).or_default().push((c, slot));
                        referenced[r as usize] = true;
                        generated[r as usize] |= correlations[c].generate;
                    }
                    Input::Correlation(d) => correlation_readers[d].push((c, slot)),
                }
            }
        }
        let silent = referenced
            .iter()
            .zip(&generated)
            .map(|(&r, &g)| r && !g)
            .collect();
        let mut set = CorrelationSet {
            correlations,
            inputs,
            rule_readers,
            rule_fields: HashMap::new(),
            correlation_readers,
            silent,
        };
        set.rule_fields = set
            .rule_readers
            .iter()
            .map(|(&r, readers)| (r, set.sighting_fields(readers)))
            .collect();
        Ok(set)
    }

    /// The correlations, in load order.
    pub fn correlations(&self) -> &[Correlation] {
        &self.correlations
    }

    /// Whether a rule's own detections are reported (false when only
    /// correlations with `generate: false` read it).
    pub fn reports(&self, rule: u32) -> bool {
        !self.silent.get(rule as usize).copied().unwrap_or(false)
    }

    /// Whether some correlation reads the rule.
    pub fn reads(&self, rule: u32) -> bool {
        self.rule_readers.contains_key(&rule)
    }

    /// The event fields the correlations reading `rule` need from its
    /// matches: group-by fields (through aliases) and measured fields.
    pub fn fields_for(&self, rule: u32) -> &[String] {
        self.rule_fields.get(&rule).map_or(&[], Vec::as_slice)
    }

    /// The fields the given (correlation, input slot) readers need.
    fn sighting_fields(&self, readers: &[(usize, usize)]) -> Vec<String> {
        let mut out = BTreeSet::new();
        for &(c, slot) in readers {
            let corr = &self.correlations[c];
            for g in &corr.group_by {
                out.insert(self.field_name(c, slot, g).to_string());
            }
            if let Some(f) = &corr.condition.field {
                out.insert(self.field_name(c, slot, f).to_string());
            }
        }
        out.into_iter().collect()
    }

    /// Appends the sightings of one matched event (rules: the rules it
    /// matched) for the correlations reading those rules: event time from
    /// the profile's timestamp, the fields they group by or measure.
    pub fn sightings(
        &self,
        event: &Value,
        profile: &Profile,
        at: impl Fn() -> EventRef,
        rules: &[u32],
        out: &mut Vec<Sighting>,
    ) {
        let mut time: Option<Option<i64>> = None;
        for &r in rules {
            if !self.reads(r) {
                continue;
            }
            let time_ms = *time.get_or_insert_with(|| {
                profile
                    .timestamp(event)
                    .and_then(timestamp)
                    .map(|t| t.timestamp_millis())
            });
            let fields = self
                .fields_for(r)
                .iter()
                .filter_map(|f| {
                    let value = profile.lookup(event, f).into_iter().next()?.clone();
                    Some((f.clone(), value))
                })
                .collect();
            out.push(Sighting {
                rule: r,
                time_ms,
                fields,
                event: at(),
            });
        }
    }

    /// The field that holds `name` (a field or an alias) in the events of
    /// input `slot` of correlation `c`.
    fn field_name<'a>(&'a self, c: usize, slot: usize, name: &'a str) -> &'a str {
        let names = &self.inputs[c][slot].1;
        self.correlations[c]
            .aliases
            .get(name)
            .and_then(|per_rule| names.iter().find_map(|n| per_rule.get(n)))
            .map_or(name, String::as_str)
    }
}

/// Where an event was read; serialised as `{"path": …, "line": N}` (JSON
/// inputs) or `{"path": …, "record": N}` (EVTX), as detections name their source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    /// The input file (or `-`).
    pub path: String,
    /// Where in it.
    pub position: Position,
}

impl EventRef {
    /// The reference of an event read at `position` of `path`.
    pub fn new(path: &std::path::Path, position: Position) -> EventRef {
        EventRef {
            path: path.display().to_string(),
            position,
        }
    }

    /// `path:line`, or `path#record` for EVTX.
    pub fn text(&self) -> String {
        match self.position {
            Position::Line(l) => format!("{}:{l}", self.path),
            Position::Record(r) => format!("{}#{r}", self.path),
        }
    }
}

impl serde::Serialize for EventRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("path", &self.path)?;
        match self.position {
            Position::Line(l) => map.serialize_entry("line", &l)?,
            Position::Record(r) => map.serialize_entry("record", &r)?,
        }
        map.end()
    }
}

/// One rule match, as correlations see it.
#[derive(Debug, Clone)]
pub struct Sighting {
    /// The rule that matched.
    pub rule: u32,
    /// Event time in milliseconds since the epoch (`None`: the event has
    /// no readable timestamp).
    pub time_ms: Option<i64>,
    /// The fields [`CorrelationSet::fields_for`] lists, with their values
    /// (absent fields left out).
    pub fields: Vec<(String, Value)>,
    /// The event.
    pub event: EventRef,
}

/// A correlation detection.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CorrelationHit {
    /// Index into [`CorrelationSet::correlations`].
    pub correlation: usize,
    /// The group-by fields and their values (`null` when absent).
    pub group: Vec<(String, Value)>,
    /// The window: first and last contributing times.
    pub start_ms: i64,
    /// See `start_ms`.
    pub end_ms: i64,
    /// The aggregate that met the condition.
    pub value: f64,
    /// The contributing events, in time order.
    pub events: Vec<EventRef>,
}

/// Bounds of the correlation state.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Groups per correlation.
    pub max_groups: usize,
    /// Sightings per group.
    pub max_sightings: usize,
    /// Events without a timestamp take the newest time seen so far instead
    /// of being left out.
    pub arrival_time: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_groups: 100_000,
            max_sightings: 10_000,
            arrival_time: false,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    time: i64,
    slot: usize,
    value: Option<Value>,
    events: Vec<EventRef>,
}

#[derive(Debug, Default)]
struct Group {
    /// Sorted by time.
    entries: Vec<Entry>,
    newest: i64,
}

/// Correlation state over one ordered stream of sightings.
#[derive(Debug)]
pub struct Correlator<'s> {
    set: &'s CorrelationSet,
    limits: Limits,
    groups: Vec<HashMap<String, Group>>,
    watermark: Option<i64>,
    observed: u64,
    /// Groups or sightings dropped to stay within [`Limits`].
    pub evictions: u64,
    /// Sightings left out for want of a timestamp.
    pub untimed: u64,
}

impl<'s> Correlator<'s> {
    /// Empty state for the set.
    pub fn new(set: &'s CorrelationSet, limits: Limits) -> Self {
        Correlator {
            set,
            limits,
            groups: (0..set.correlations.len())
                .map(|_| HashMap::new())
                .collect(),
            watermark: None,
            observed: 0,
            evictions: 0,
            untimed: 0,
        }
    }

    /// Takes one rule match; returns the correlation detections it completes
    /// (chained ones after the ones they read).
    pub fn observe(&mut self, sighting: Sighting) -> Vec<CorrelationHit> {
        let mut hits = Vec::new();
        let time = match (sighting.time_ms, self.watermark) {
            (Some(t), _) => t,
            (None, Some(w)) if self.limits.arrival_time => w,
            (None, None) if self.limits.arrival_time => 0,
            (None, _) => {
                self.untimed += 1;
                return hits;
            }
        };
        self.watermark = Some(self.watermark.map_or(time, |w| w.max(time)));
        self.observed += 1;
        if self.observed.is_multiple_of(4096) {
            self.expire();
        }
        let set = self.set;
        for &(c, slot) in set.rule_readers.get(&sighting.rule).into_iter().flatten() {
            self.feed(
                c,
                slot,
                time,
                &sighting.fields,
                vec![sighting.event.clone()],
                &mut hits,
            );
        }
        hits
    }

    /// Drops groups that can no longer fire (idle for longer than their timespan).
    fn expire(&mut self) {
        let Some(w) = self.watermark else { return };
        for (c, groups) in self.groups.iter_mut().enumerate() {
            let span = self.set.correlations[c].timespan_ms;
            groups.retain(|_, g| g.newest >= w.saturating_sub(span));
        }
    }

    fn feed(
        &mut self,
        c: usize,
        slot: usize,
        time: i64,
        fields: &[(String, Value)],
        events: Vec<EventRef>,
        hits: &mut Vec<CorrelationHit>,
    ) {
        let set = self.set;
        let corr = &set.correlations[c];
        let lookup = |name: &str| -> Value {
            let field = set.field_name(c, slot, name);
            fields
                .iter()
                .find(|(f, _)| f == field)
                .map_or(Value::Null, |(_, v)| v.clone())
        };
        let group: Vec<(String, Value)> = corr
            .group_by
            .iter()
            .map(|g| (g.clone(), lookup(g)))
            .collect();
        let key = serde_json::to_string(&group.iter().map(|(_, v)| v).collect::<Vec<_>>())
            .unwrap_or_default();
        let value = corr.condition.field.as_deref().map(lookup);
        let groups = &mut self.groups[c];
        if !groups.contains_key(&key) && groups.len() >= self.limits.max_groups.max(1) {
            // Evict the stalest eighth of the groups at once.
            let mut times: Vec<i64> = groups.values().map(|g| g.newest).collect();
            times.sort_unstable();
            let cut = times[(times.len() / 8).min(times.len() - 1)];
            let before = groups.len();
            groups.retain(|_, g| g.newest > cut);
            self.evictions += (before - groups.len()) as u64;
        }
        let g = groups.entry(key).or_default();
        let at = g.entries.partition_point(|e| e.time <= time);
        g.entries.insert(
            at,
            Entry {
                time,
                slot,
                value,
                events,
            },
        );
        g.newest = g.newest.max(time);
        let oldest_kept = g.newest.saturating_sub(corr.timespan_ms);
        let mut dropped = g.entries.partition_point(|e| e.time < oldest_kept);
        g.entries.drain(..dropped);
        let max = self.limits.max_sightings.max(1);
        if g.entries.len() > max {
            let extra = g.entries.len() - max;
            g.entries.drain(..extra);
            self.evictions += extra as u64;
            dropped += extra;
        }
        // The new entry, unless it fell out (a late event older than the window).
        let Some(new) = at.checked_sub(dropped) else {
            return;
        };
        let Some(fired) = fire(corr, g, new) else {
            return;
        };
        let (start, end, value, taken) = fired;
        let mut contributing: Vec<EventRef> = Vec::new();
        for e in taken {
            contributing.extend(e.events);
        }
        let hit = CorrelationHit {
            correlation: c,
            group: group.clone(),
            start_ms: start,
            end_ms: end,
            value,
            events: contributing,
        };
        // Chaining: the detection is a sighting of correlation c, its fields
        // the group-by values.
        let readers = set.correlation_readers[c].clone();
        let events = hit.events.clone();
        hits.push(hit);
        for (d, slot) in readers {
            self.feed(d, slot, end, &group, events.clone(), hits);
        }
    }
}

/// The first window that contains the new entry (`new`), starts at most a
/// timespan before it, and whose aggregate meets the condition; the window
/// ends at the first entry (from the new one on) where it does:
/// (start, end, aggregate, its entries, removed from the group). A
/// `temporal_ordered` window starts at a sighting of the first rule.
fn fire(corr: &Correlation, g: &mut Group, new: usize) -> Option<(i64, i64, f64, Vec<Entry>)> {
    let span = corr.timespan_ms;
    let t_new = g.entries.get(new)?.time;
    let increasing = corr
        .condition
        .comparisons
        .iter()
        .all(|(op, _)| matches!(op, Comparison::Gt | Comparison::Gte));
    for s in 0..=new {
        let start = g.entries[s].time;
        if start < t_new.saturating_sub(span) {
            continue;
        }
        if corr.kind == CorrelationType::TemporalOrdered && g.entries[s].slot != 0 {
            continue;
        }
        let limit = g
            .entries
            .partition_point(|e| e.time <= start.saturating_add(span));
        if limit <= new {
            continue;
        }
        if corr.kind == CorrelationType::EventCount {
            // The count is the window's length: no accumulation needed.
            if increasing && !corr.condition.holds((limit - s) as f64) {
                continue;
            }
            let hit = (new..limit).find(|&j| corr.condition.holds((j - s + 1) as f64));
            if let Some(j) = hit {
                return Some(take(g, s, j, (j - s + 1) as f64));
            }
            continue;
        }
        let mut acc = Accumulator::default();
        for j in s..limit {
            acc.add(corr, &g.entries[j]);
            if j < new {
                continue;
            }
            if let Some(x) = acc.value(corr) {
                if corr.condition.holds(x) {
                    return Some(take(g, s, j, x));
                }
            }
        }
    }
    None
}

/// Removes entries `s..=j` from the group: (start, end, aggregate, entries).
fn take(g: &mut Group, s: usize, j: usize, x: f64) -> (i64, i64, f64, Vec<Entry>) {
    let taken: Vec<Entry> = g.entries.drain(s..=j).collect();
    let start = taken.first().map_or(0, |e| e.time);
    let end = taken.last().map_or(start, |e| e.time);
    (start, end, x, taken)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A correlation's aggregate over a growing window.
#[derive(Default)]
struct Accumulator {
    distinct: BTreeSet<String>,
    slots: BTreeSet<usize>,
    next_step: usize,
    numbers: Vec<f64>,
    sum: f64,
}

impl Accumulator {
    fn add(&mut self, corr: &Correlation, e: &Entry) {
        match corr.kind {
            CorrelationType::EventCount => {}
            CorrelationType::ValueCount => {
                if let Some(v) = e.value.as_ref().filter(|v| !v.is_null()) {
                    self.distinct.insert(v.to_string());
                }
            }
            CorrelationType::Temporal => {
                self.slots.insert(e.slot);
            }
            CorrelationType::TemporalOrdered => {
                if e.slot == self.next_step {
                    self.next_step += 1;
                }
            }
            _ => {
                if let Some(x) = e.value.as_ref().and_then(number).filter(|x| x.is_finite()) {
                    self.numbers.push(x);
                    self.sum += x;
                }
            }
        }
    }

    /// The aggregate (`None`: no number to measure yet).
    fn value(&mut self, corr: &Correlation) -> Option<f64> {
        Some(match corr.kind {
            CorrelationType::EventCount => return None,
            CorrelationType::ValueCount => self.distinct.len() as f64,
            CorrelationType::Temporal => self.slots.len() as f64,
            CorrelationType::TemporalOrdered => self.next_step as f64,
            CorrelationType::ValueSum if !self.numbers.is_empty() => self.sum,
            CorrelationType::ValueAvg if !self.numbers.is_empty() => {
                self.sum / self.numbers.len() as f64
            }
            CorrelationType::ValueMedian | CorrelationType::ValuePercentile => {
                let p = match corr.kind {
                    CorrelationType::ValueMedian => 50.0,
                    _ => corr.condition.percentile.unwrap_or(50.0),
                };
                let mut sorted = self.numbers.clone();
                sorted.sort_by(f64::total_cmp);
                percentile(&sorted, p)?
            }
            _ => return None,
        })
    }
}

/// Linear interpolation between closest ranks over sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = (p / 100.0).clamp(0.0, 1.0) * last as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let frac = rank - lo as f64;
    Some(sorted[lo] + (sorted[hi.min(last)] - sorted[lo]) * frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    use hypersigma_compiler::{parse_documents, CompileOptions, Document};

    fn set(text: &str) -> CorrelationSet {
        let (mut rules, mut correlations) = (Vec::new(), Vec::new());
        for d in parse_documents(text, None, &CompileOptions::default()) {
            match d.unwrap() {
                Document::Rule(r) => rules.push(r),
                Document::Correlation(c) => correlations.push(c),
                Document::Filter(_) => {}
            }
        }
        CorrelationSet::new(correlations, &rules).unwrap()
    }

    const COUNT: &str = "title: r\nname: r\nlogsource: {product: test}\ndetection: {s: {a: 1}, condition: s}\n---\ntitle: c\ncorrelation: {type: event_count, rules: [r], group-by: [User], timespan: 1h, condition: {gte: 3}}\n";

    fn sighting(user: &str, time_ms: Option<i64>, line: u64) -> Sighting {
        Sighting {
            rule: 0,
            time_ms,
            fields: vec![("User".into(), Value::String(user.into()))],
            event: EventRef {
                path: "t".into(),
                position: Position::Line(line),
            },
        }
    }

    #[test]
    fn state_stays_within_its_limits_and_counts_evictions() {
        let set = set(COUNT);
        let limits = Limits {
            max_groups: 8,
            max_sightings: 2,
            arrival_time: false,
        };
        let mut c = Correlator::new(&set, limits);
        for k in 0..100 {
            assert!(c
                .observe(sighting(&format!("u{k}"), Some(k), k as u64))
                .is_empty());
        }
        assert!(c.groups[0].len() <= 8);
        assert!(c.evictions >= 90, "{}", c.evictions);
        // Two sightings per group at most: a third never completes a count of 3.
        let mut c = Correlator::new(&set, limits);
        for k in 0..5 {
            assert!(c.observe(sighting("bob", Some(k), k as u64)).is_empty());
        }
        assert_eq!(c.evictions, 3);
    }

    #[test]
    fn events_without_time_are_left_out_unless_arrival_time() {
        let set = set(COUNT);
        let mut c = Correlator::new(&set, Limits::default());
        for k in 0..3 {
            assert!(c.observe(sighting("bob", None, k)).is_empty());
        }
        assert_eq!(c.untimed, 3);
        let mut c = Correlator::new(
            &set,
            Limits {
                arrival_time: true,
                ..Limits::default()
            },
        );
        c.observe(sighting("bob", Some(5_000), 1));
        c.observe(sighting("bob", None, 2));
        let hits = c.observe(sighting("bob", None, 3));
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].start_ms, hits[0].end_ms), (5_000, 5_000));
        assert_eq!(c.untimed, 0);
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 50.0), Some(2.5));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 100.0), Some(4.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
