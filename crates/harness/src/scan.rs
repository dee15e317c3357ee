//! `hypersigma scan`: match events against rules, one detection per line out.
//!
//! Inputs are files, directories (walked recursively) or `-` for stdin, in any
//! shape the runtime reads (JSON lines, JSON arrays, concatenated JSON, EVTX,
//! gzip, zstd). Each input's field profile is detected from its first event
//! unless `--profile` names one. Matching runs on the runtime's engine
//! (Hyperscan stage 1, verified condition programs in stage 2) in the
//! multi-threaded pipeline; detections come out in input order.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use hypersigma_compiler::correlation::Correlation;
use hypersigma_compiler::ir::{Level, Status};
use hypersigma_compiler::{Profile, Rule};
use hypersigma_runtime::correlate::{resolvable, Correlator, Limits};
use hypersigma_runtime::engine::{Engine, EngineOptions};
use hypersigma_runtime::input;
use hypersigma_runtime::pipeline::{self, Output, ReadOptions};
use hypersigma_runtime::ruleset::is_ruleset;

use crate::event_json::event_json;
use crate::output::{CorrelationRecord, Format, Record, RuleTexts};

/// Options of `scan`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  hypersigma scan -r sigma/rules/windows Security.evtx Sysmon.evtx
  hypersigma scan -r sigma/rules -o csv --min-level high exports/ > timeline.csv
  zcat events.jsonl.gz | hypersigma scan -r rules/ -o jsonl --stats stats.json
  hypersigma scan -r sigma/rules --tags attack.t1047 --fail-on-detection logs/

Exit status: 0 = ran (with or without detections), 1 = detections found and
--fail-on-detection given, 2 = usage error, unreadable rules or inputs, or no rule compiled.")]
pub struct Args {
    #[command(flatten)]
    rules: RuleArgs,
    /// Output format (default: table on a terminal, jsonl otherwise).
    #[arg(short = 'o', long = "output", value_enum)]
    output: Option<Format>,
    /// No summary on stderr.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Write a JSON summary of the run to this file.
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,
    /// Exit with status 1 when there is at least one detection.
    #[arg(long)]
    fail_on_detection: bool,
    /// Worker threads (default: all cores). Output order never depends on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Skip the stage-1 prefilter: evaluate every rule on every event (for testing and comparison).
    #[arg(long)]
    no_prefilter: bool,
    /// Longest accepted line in bytes; longer lines are rejected and skipped unread.
    #[arg(long, default_value_t = 16 << 20, value_name = "BYTES")]
    max_line_bytes: usize,
    /// Read JSON-lines files through the buffered reader (copies) instead
    /// of memory maps: for inputs that may be truncated while read (a log
    /// rotated by copy and truncate), which would end a mapped read with
    /// SIGBUS.
    #[arg(long)]
    no_mmap: bool,
    /// Stop at the first bad line, record or input, with exit status 2 (default: report and go on).
    #[arg(long)]
    strict: bool,
    /// Most groups (distinct group-by values) each correlation keeps; the
    /// stalest are evicted beyond it (counted in the summary).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    correlation_max_groups: usize,
    /// Correlate events without a readable timestamp at the newest time seen
    /// so far (default: leave them out of correlations, counted).
    #[arg(long)]
    arrival_time: bool,
    /// Inputs: files, directories, or `-` for stdin (the default).
    inputs: Vec<PathBuf>,
}

/// Which rules run and how events are read: the options `scan` and `filter` share.
#[derive(clap::Args)]
pub struct RuleArgs {
    /// Rule files or directories (repeatable), or one compiled ruleset (`compile -o`).
    #[arg(short = 'r', long = "rules", required = true)]
    rules: Vec<PathBuf>,
    /// YAML file of placeholder values for the `expand` modifier.
    #[arg(long)]
    placeholders: Option<PathBuf>,
    #[command(flatten)]
    select: RuleFilter,
    /// Field profile: sysmon, evtx, winlogbeat, ecs, or a profile YAML file
    /// (default: detected from the first event of each input).
    #[arg(long)]
    profile: Option<String>,
    /// Evaluate rules whose log source is unmapped against every event.
    #[arg(long)]
    unscoped: bool,
}

impl RuleArgs {
    /// The forced profile (if any) and the engine for these options.
    pub fn engine(&self, no_prefilter: bool, quiet: bool) -> Result<(Option<Profile>, Engine)> {
        let forced = profile_option(self.profile.as_deref())?;
        let engine = engine_for(
            &self.rules,
            self.placeholders.as_ref(),
            &self.select,
            EngineOptions {
                no_prefilter,
                unscoped: self.unscoped,
                ..Default::default()
            },
            forced.as_ref(),
            quiet,
        )?;
        Ok((forced, engine))
    }
}

/// Which of the loaded rules run.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RuleFilter {
    /// Only rules of at least this level.
    #[arg(long, value_name = "LEVEL", value_parser = ["informational", "low", "medium", "high", "critical"])]
    min_level: Option<String>,
    /// Only rules of these statuses (comma-separated; default: all but deprecated and unsupported).
    #[arg(long, value_delimiter = ',', value_parser = ["stable", "test", "experimental", "deprecated", "unsupported"])]
    status: Vec<String>,
    /// Only rules with one of these tags (comma-separated; `attack.t1047` also selects `attack.t1047.001`).
    #[arg(long, value_delimiter = ',')]
    tags: Vec<String>,
    /// Only the rules with these ids (comma-separated).
    #[arg(long = "rule-id", value_delimiter = ',')]
    rule_id: Vec<String>,
}

impl RuleFilter {
    /// True when no selection option was given (statuses: the default).
    pub fn is_default(&self) -> bool {
        self.min_level.is_none()
            && self.status.is_empty()
            && self.tags.is_empty()
            && self.rule_id.is_empty()
    }

    /// Whether a rule runs.
    pub fn keeps(&self, rule: &Rule) -> bool {
        let m = &rule.meta;
        if let Some(min) = self.min_level.as_deref().and_then(Level::parse) {
            if m.level.is_none_or(|l| l < min) {
                return false;
            }
        }
        let status_ok = match m.status {
            None => true,
            Some(s) if self.status.is_empty() => {
                !matches!(s, Status::Deprecated | Status::Unsupported)
            }
            Some(s) => self.status.iter().any(|x| x == s.as_str()),
        };
        let tag_ok = self.tags.is_empty()
            || m.tags.iter().any(|t| {
                let t = t.to_ascii_lowercase();
                self.tags.iter().any(|want| {
                    let want = want.to_ascii_lowercase();
                    t == want || t.starts_with(&format!("{want}."))
                })
            });
        let id_ok = self.rule_id.is_empty()
            || m.id
                .as_deref()
                .is_some_and(|id| self.rule_id.iter().any(|x| x.eq_ignore_ascii_case(id)));
        status_ok && tag_ok && id_ok
    }
}

/// Resolves `--profile`: a built-in name or a YAML file.
pub fn profile_option(spec: Option<&str>) -> Result<Option<Profile>> {
    let Some(spec) = spec else { return Ok(None) };
    if let Some(p) = Profile::builtin(spec) {
        return Ok(Some(p));
    }
    let text = std::fs::read_to_string(spec).with_context(|| {
        format!(
            "--profile {spec}: neither a built-in profile ({}) nor a readable file",
            hypersigma_compiler::profile::BUILTIN.join(", ")
        )
    })?;
    let profile = Profile::from_yaml(&text).with_context(|| format!("profile file {spec}"))?;
    Ok(Some(profile))
}

/// The engine for `-r` paths: a compiled ruleset file loaded as it is (or its
/// rules rebuilt when rule filters or a custom profile ask for it), else the
/// rule files compiled, filtered and lowered.
pub fn engine_for(
    rules: &[PathBuf],
    placeholders: Option<&PathBuf>,
    select: &RuleFilter,
    options: EngineOptions,
    profile: Option<&Profile>,
    quiet: bool,
) -> Result<Engine> {
    let extra: Vec<Profile> = profile.cloned().into_iter().collect();
    let compiled: Vec<&PathBuf> = rules
        .iter()
        .filter(|p| p.is_file() && is_ruleset(p))
        .collect();
    if compiled.is_empty() {
        let (rules, correlations) = load_selected(rules, placeholders, select, quiet)?;
        let mut engine = Engine::with_profiles(rules, options, &extra)?;
        add_correlations(&mut engine, correlations, select, quiet)?;
        return Ok(engine);
    }
    if rules.len() > 1 {
        anyhow::bail!(
            "a compiled ruleset ({}) cannot be combined with other -r paths",
            compiled[0].display()
        );
    }
    let engine = Engine::load_ruleset(compiled[0], options)?;
    let custom_profile = profile.is_some_and(|p| Profile::builtin(&p.name).is_none());
    if !select.is_default() || custom_profile {
        let kept: Vec<Rule> = engine
            .rules()
            .iter()
            .filter(|r| select.keeps(r))
            .cloned()
            .collect();
        if kept.is_empty() {
            anyhow::bail!(
                "no rule to run: none of the compiled ruleset's {} rules is selected",
                engine.rules().len()
            );
        }
        let correlations = engine.correlations().correlations().to_vec();
        let mut rebuilt = Engine::with_profiles(kept, options, &extra)?;
        add_correlations(&mut rebuilt, correlations, select, quiet)?;
        return Ok(rebuilt);
    }
    Ok(engine)
}

/// Adds the correlations to the engine. With a rule selection that left out
/// rules some correlations read, those correlations are dropped (with a
/// warning); without one, an unknown reference or a cycle is an error.
fn add_correlations(
    engine: &mut Engine,
    correlations: Vec<Correlation>,
    select: &RuleFilter,
    quiet: bool,
) -> Result<()> {
    let correlations = if select.is_default() {
        correlations
    } else {
        let (kept, dropped) = resolvable(correlations, engine.rules());
        if !quiet {
            for e in dropped {
                eprintln!("hypersigma: correlation dropped by the rule selection: {e}");
            }
        }
        kept
    };
    Ok(engine.set_correlations(correlations)?)
}

/// Loads the rules and keeps those the filter selects (fails when none is
/// left), with the correlation rules found beside them.
pub fn load_selected(
    rules: &[PathBuf],
    placeholders: Option<&PathBuf>,
    select: &RuleFilter,
    quiet: bool,
) -> Result<(Vec<Rule>, Vec<Correlation>)> {
    let set = crate::compile::load(rules, placeholders)?;
    if !quiet {
        for e in &set.rejected {
            eprintln!("hypersigma: rule rejected: {e}");
        }
        for (filter, reference) in &set.unknown_filter_targets {
            eprintln!("hypersigma: filter '{filter}': no rule has the id or name '{reference}'");
        }
    }
    let loaded = set.rules.len();
    let kept: Vec<Rule> = set.rules.into_iter().filter(|r| select.keeps(r)).collect();
    if kept.is_empty() {
        anyhow::bail!(
            "no rule to run: {loaded} compiled, {} rejected, none selected by the filters",
            set.rejected.len()
        );
    }
    Ok((kept, set.correlations))
}

/// Runs `scan`.
pub fn run(args: Args) -> Result<ExitCode> {
    let (forced, engine) = args.rules.engine(args.no_prefilter, args.quiet)?;
    let inputs = if args.inputs.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.inputs.clone()
    };
    let files = input::expand_inputs(&inputs)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let format = Format::resolve(args.output);
    let colour = format == Format::Table
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let start = Instant::now();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut totals = Output::default();
    let mut write_error: Option<io::Error> = None;
    let rules = engine.rules();
    let per_rule: Vec<AtomicU64> = rules.iter().map(|_| AtomicU64::new(0)).collect();
    let rule_texts = RuleTexts::new(rules.len());
    let mut by_profile: Vec<(String, u64)> = Vec::new();
    let mut strict_failure: Option<String> = None;
    let progress = progress_bar(&files, args.quiet);
    let correlations = engine.correlations();
    let mut correlator = Correlator::new(
        correlations,
        Limits {
            max_groups: args.correlation_max_groups.max(1),
            arrival_time: args.arrival_time,
            ..Limits::default()
        },
    );
    let mut correlation_hits = vec![0u64; correlations.correlations().len()];
    let header = format.header(colour);
    if let Err(e) = out.write_all(&header) {
        write_error = Some(e);
    }
    if write_error.is_none() {
        pipeline::run(
            &engine,
            &files,
            forced.as_ref(),
            ReadOptions {
                max_line_bytes: args.max_line_bytes.max(1),
                mmap: !args.no_mmap,
            },
            threads,
            |d, buf| {
                // The event's text, made once for all the rules it matched.
                let text = (format == Format::Jsonl).then(|| event_json(d.line, d.event));
                for &r in d.rules {
                    let rule = &rules[r as usize];
                    if let Some(count) = per_rule.get(r as usize) {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    let result = (d.explain)(r);
                    Record {
                        rule,
                        detection: d,
                        result: &result,
                        event_json: text.as_deref(),
                        rule_json: (format == Format::Jsonl)
                            .then(|| rule_texts.get(r, rule))
                            .flatten(),
                    }
                    .write(format, colour, buf);
                }
            },
            |mut chunk| {
                let mut buf = std::mem::take(&mut chunk.stdout);
                for sighting in chunk.sightings.drain(..) {
                    for hit in correlator.observe(sighting) {
                        if let Some(n) = correlation_hits.get_mut(hit.correlation) {
                            *n += 1;
                        }
                        CorrelationRecord {
                            correlation: &correlations.correlations()[hit.correlation],
                            hit: &hit,
                        }
                        .write(format, colour, &mut buf);
                    }
                }
                if let Err(e) = out.write_all(&buf) {
                    write_error = Some(e);
                    return false;
                }
                if !args.quiet && !chunk.stderr.is_empty() {
                    let _ = io::stderr().write_all(&chunk.stderr);
                }
                if args.strict
                    && (chunk.rejected > 0 || chunk.inputs_failed > 0)
                    && strict_failure.is_none()
                {
                    let first = String::from_utf8_lossy(&chunk.stderr);
                    strict_failure = Some(first.lines().next().unwrap_or("bad input").to_string());
                }
                totals.events += chunk.events;
                if let Some(bar) = &progress {
                    bar.inc(chunk.bytes);
                    let secs = start.elapsed().as_secs_f64().max(1e-9);
                    bar.set_message(format!(
                        "{} events, {:.0} events/s, {} detections",
                        totals.events,
                        totals.events as f64 / secs,
                        totals.detections + chunk.detections
                    ));
                }
                totals.rejected += chunk.rejected;
                totals.rejects.merge(&chunk.rejects);
                totals.inputs_failed += chunk.inputs_failed;
                totals.detections += chunk.detections;
                totals.candidates += chunk.candidates;
                totals.candidate_rules += chunk.candidate_rules;
                totals.memo.add(&chunk.memo);
                totals.bytes += chunk.bytes;
                if let Some(name) = chunk.profile {
                    match by_profile.iter_mut().find(|(p, _)| *p == name) {
                        Some((_, n)) => *n += chunk.events,
                        None => by_profile.push((name, chunk.events)),
                    }
                }
                strict_failure.is_none()
            },
        )?;
    }
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    // A closed stdout (`| head`) ends the run quietly: see `main`.
    let flushed = out.flush();
    write_error
        .map_or(flushed, Err)
        .context("writing detections")?;
    let secs = start.elapsed().as_secs_f64();
    let mut summary = Summary::new(rules, &per_rule, totals, by_profile, secs, threads);
    if !correlations.correlations().is_empty() {
        summary.correlations = Some(CorrelationTotals {
            detections: correlations
                .correlations()
                .iter()
                .zip(&correlation_hits)
                .map(|(c, &n)| (c.meta.title.clone(), n))
                .collect(),
            evictions: correlator.evictions,
            untimed: correlator.untimed,
        });
    }
    if !args.quiet {
        eprint!("{}", summary.text());
    }
    if let Some(path) = &args.stats {
        let text = serde_json::to_string_pretty(&summary.json())?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("writing --stats {}", path.display()))?;
    }
    if let Some(first) = strict_failure {
        anyhow::bail!("--strict: stopped at the first bad input: {first}");
    }
    let code = if args.fail_on_detection && summary.totals.detections > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // The process ends with the run: its memory goes back with it, and
    // freeing the engine's allocations one by one (the rules, their lowered
    // literals and automata) took 62 M instructions with all SigmaHQ,
    // 1.8 % of a 30,000-line scan.
    std::mem::forget(engine);
    Ok(code)
}

/// A progress bar on stderr when it is a terminal and the run is not quiet:
/// bytes with ETA when every input is a plain file, a spinner otherwise
/// (stdin, compressed or EVTX inputs, whose event bytes are not their size).
fn progress_bar(files: &[PathBuf], quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || !io::stderr().is_terminal() {
        return None;
    }
    let total: Option<u64> = files.iter().try_fold(0u64, |sum, f| {
        if f.as_os_str() == "-" {
            return None;
        }
        let mut head = [0u8; 8];
        let n = std::fs::File::open(f)
            .and_then(|mut file| io::Read::read(&mut file, &mut head))
            .ok()?;
        if input::is_packed(&head[..n]) {
            return None;
        }
        Some(sum + std::fs::metadata(f).ok()?.len())
    });
    let bar = match total {
        Some(total) => indicatif::ProgressBar::new(total).with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}  {msg}",
            )
            .ok()?,
        ),
        None => indicatif::ProgressBar::new_spinner().with_style(
            indicatif::ProgressStyle::with_template("{spinner} {bytes} {bytes_per_sec}  {msg}")
                .ok()?,
        ),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
    Some(bar)
}

/// ` (invalid_json 2, line_too_long 1)` and failed inputs, when there are any.
fn reasons(t: &Output) -> String {
    let mut parts: Vec<String> = t
        .rejects
        .nonzero()
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if t.inputs_failed > 0 {
        parts.push(format!("{} inputs failed", t.inputs_failed));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// What a run did, for stderr and `--stats`.
/// What the correlations did in a run.
struct CorrelationTotals {
    /// (correlation title, detections).
    detections: Vec<(String, u64)>,
    evictions: u64,
    untimed: u64,
}

struct Summary {
    correlations: Option<CorrelationTotals>,
    totals: Output,
    seconds: f64,
    threads: usize,
    by_level: Vec<(String, u64)>,
    by_profile: Vec<(String, u64)>,
    top_rules: Vec<(String, String, String, u64)>,
}

impl Summary {
    fn new(
        rules: &[Rule],
        per_rule: &[AtomicU64],
        totals: Output,
        by_profile: Vec<(String, u64)>,
        seconds: f64,
        threads: usize,
    ) -> Self {
        let mut by_level: Vec<(String, u64)> = Vec::new();
        let mut top: Vec<(String, String, String, u64)> = Vec::new();
        for (rule, count) in rules.iter().zip(per_rule) {
            let n = count.load(Ordering::Relaxed);
            if n == 0 {
                continue;
            }
            let level = rule.meta.level.map_or("none", |l| l.as_str()).to_string();
            match by_level.iter_mut().find(|(l, _)| *l == level) {
                Some((_, c)) => *c += n,
                None => by_level.push((level.clone(), n)),
            }
            top.push((
                rule.meta.id.clone().unwrap_or_default(),
                rule.meta.title.clone(),
                level,
                n,
            ));
        }
        let rank = |l: &str| Level::parse(l).map_or(0, |l| l as u8 + 1);
        by_level.sort_by_key(|(l, _)| std::cmp::Reverse(rank(l)));
        top.sort_by(|a, b| b.3.cmp(&a.3).then_with(|| a.1.cmp(&b.1)));
        top.truncate(10);
        Summary {
            correlations: None,
            totals,
            seconds,
            threads,
            by_level,
            by_profile,
            top_rules: top,
        }
    }

    fn json(&self) -> serde_json::Value {
        let t = &self.totals;
        let secs = self.seconds.max(1e-9);
        serde_json::json!({
            "events_read": t.events,
            "events_evaluated": t.events.saturating_sub(t.rejected),
            "lines_rejected": t.rejected,
            "lines_rejected_by_reason": t.rejects.nonzero().into_iter().map(|(k, n)| (k.to_string(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
            "inputs_failed": t.inputs_failed,
            "bytes_read": t.bytes,
            "detections": t.detections,
            "events_reaching_stage_2": t.candidates,
            "candidate_rules_per_event": t.candidate_rules as f64 / t.events.max(1) as f64,
            "stage_2_verdicts_remembered": t.memo.verdicts,
            "stage_1_candidates_remembered": t.memo.candidates,
            "stage_1_candidates_by_hits": t.memo.by_hits,
            "stage_1_candidates_by_folded_keys": t.memo.by_folded_keys,
            "stage_2_verdicts_linked": t.memo.linked,
            "events_by_profile": self.by_profile.iter().map(|(p, n)| (p.clone(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
            "detections_by_level": self.by_level.iter().map(|(l, n)| (l.clone(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
            "top_rules": self.top_rules.iter().map(|(id, title, level, n)| serde_json::json!({"id": id, "title": title, "level": level, "detections": n})).collect::<Vec<_>>(),
            "seconds": self.seconds,
            "events_per_sec": t.events as f64 / secs,
            "mb_per_sec": t.bytes as f64 / 1e6 / secs,
            "threads": self.threads,
            "correlations": self.correlations.as_ref().map(|c| serde_json::json!({
                "detections": c.detections.iter().map(|(_, n)| n).sum::<u64>(),
                "by_correlation": c.detections.iter().map(|(t, n)| serde_json::json!({"title": t, "detections": n})).collect::<Vec<_>>(),
                "state_evictions": c.evictions,
                "sightings_without_time": c.untimed,
            })),
        })
    }

    fn text(&self) -> String {
        let t = &self.totals;
        let secs = self.seconds.max(1e-9);
        let mut s = format!(
            "{} events read, {} evaluated, {} rejected{}; {} detections in {:.3} s \
             ({:.0} events/s, {:.1} MB/s, {} threads)\n\
             stage 1: {:.1}% of events answered from remembered candidate lists \
             ({:.1}% of them by keys with digits folded; {:.1}% more after a scan, by their hits), \
             {:.1}% had candidate rules, {:.2} candidate rules per event; \
             stage 2: {:.1}% of those answered from remembered verdicts \
             ({:.1}% of them linked to stage 1's keys)\n",
            t.events,
            t.events.saturating_sub(t.rejected),
            t.rejected,
            reasons(t),
            t.detections,
            self.seconds,
            t.events as f64 / secs,
            t.bytes as f64 / 1e6 / secs,
            self.threads,
            100.0 * t.memo.candidates as f64 / t.events.max(1) as f64,
            100.0 * t.memo.by_folded_keys as f64 / t.memo.candidates.max(1) as f64,
            100.0 * t.memo.by_hits as f64 / t.events.max(1) as f64,
            100.0 * t.candidates as f64 / t.events.max(1) as f64,
            t.candidate_rules as f64 / t.events.max(1) as f64,
            100.0 * t.memo.verdicts as f64 / t.candidates.max(1) as f64,
            100.0 * t.memo.linked as f64 / t.memo.verdicts.max(1) as f64
        );
        if !self.by_profile.is_empty() {
            let profiles: Vec<String> = self
                .by_profile
                .iter()
                .map(|(p, n)| format!("{p} {n}"))
                .collect();
            s.push_str(&format!("events by profile: {}\n", profiles.join(", ")));
        }
        if !self.by_level.is_empty() {
            let levels: Vec<String> = self
                .by_level
                .iter()
                .map(|(l, n)| format!("{l} {n}"))
                .collect();
            s.push_str(&format!("detections by level: {}\n", levels.join(", ")));
            s.push_str("top rules:\n");
            for (_, title, level, n) in &self.top_rules {
                s.push_str(&format!("  {n:>8}  {level:<13}  {title}\n"));
            }
        }
        if let Some(c) = &self.correlations {
            let total: u64 = c.detections.iter().map(|(_, n)| n).sum();
            s.push_str(&format!(
                "correlations: {total} detections, {} state evictions, {} matches without a timestamp left out\n",
                c.evictions, c.untimed
            ));
            for (title, n) in c.detections.iter().filter(|(_, n)| *n > 0) {
                s.push_str(&format!("  {n:>8}  {title}\n"));
            }
        }
        s
    }
}
