//! `hypersigma bench`: replay an input and measure matching.
//!
//! By default the input is read once (any format the runtime reads) and kept
//! in memory as JSON lines, so disk speed does not count; each input's events
//! are matched under its own field profile (`--profile`, else the one its
//! first event shows), as `scan` reads them. For each thread count it reports
//! events/s, MB/s, ns/event and detections, beside the read-and-split floor
//! (splitting the same bytes into lines, no matching) and the parse floor
//! (splitting and parsing JSON) measured in the same run, with the ratio of the
//! matching throughput to each. The replays run in rounds, each replaying the
//! floors and every thread count once, and each figure is the median of its
//! replays (`rounds.rs`). Peak RSS at the end, and apart the
//! resident set once the corpus was loaded and the peak while matching
//! (the corpus held in memory is the benchmark's, not the engine's).
//! `--stream` holds no corpus: every replay reads the inputs from disk
//! through `scan`'s pipeline (`stream.rs`), and the peak RSS is that of
//! matching an input of any size. `--per-rule` times each
//! rule alone over every event. `--baseline` compares events/s with a stored
//! report and fails beyond `--max-regression` percent.
//!
//! Matching runs on the engine (stage 1 Hyperscan prefilter, stage 2 programs);
//! the report gives the fraction of events that reached stage 2 and, with
//! `--per-rule`, each rule's candidate rate after stage 1 beside its cost.

mod rounds;
mod stream;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use hypersigma_compiler::{Profile, Rule};
use hypersigma_runtime::engine::{Engine, EngineOptions, Verdict};
use hypersigma_runtime::input;
use serde_json::{json, Value};

/// Options of `bench`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  hypersigma bench -r ../shared/sigma/rules/windows/process_creation corpus.jsonl --threads 1,2 --repeat 3
  hypersigma bench -r rules/ corpus.jsonl --per-rule            # what each rule costs
  hypersigma bench -r rules.hsr big.jsonl --stream --threads 2   # from disk, as scan reads it
  hypersigma bench -r rules.hsr corpus.jsonl --json now.json --baseline before.json --max-regression 10

Exit status: 0 = measured (and within the baseline), 1 = slower than the baseline allows,
2 = usage error or unreadable input.")]
pub struct Args {
    /// Rule files or directories (repeatable).
    #[arg(short = 'r', long = "rules", required = true)]
    rules: Vec<PathBuf>,
    /// Inputs: files or directories.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Rounds of timed replays: each replays the two floors and every
    /// thread count once; each figure is the median of its replays.
    #[arg(long, default_value_t = 3)]
    repeat: u32,
    /// Thread counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    threads: Vec<usize>,
    /// Field profile (default: each input's, detected from its first event,
    /// as `scan` reads them).
    #[arg(long)]
    profile: Option<String>,
    /// Also measure what each rule costs in the engine (how often stage 1
    /// makes it a candidate, how long stage 2 takes to evaluate it alone)
    /// and list the most expensive ones.
    #[arg(long, conflicts_with = "stream")]
    per_rule: bool,
    /// Hold no corpus in memory: every replay (and the floors) reads the
    /// inputs from disk through `scan`'s pipeline (reader thread, chunks,
    /// workers, results in input order), so the peak RSS is that of
    /// matching, whatever the inputs' size. The operating system's page
    /// cache usually holds the inputs after the first read.
    #[arg(long)]
    stream: bool,
    /// With --stream: read JSON-lines files through the buffered reader
    /// (copies) instead of memory maps, as `scan --no-mmap` does.
    #[arg(long, requires = "stream")]
    no_mmap: bool,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// A previous JSON report to compare with.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Largest accepted drop in events/s against the baseline, in percent.
    #[arg(long, default_value_t = 10.0)]
    max_regression: f64,
}

/// The input, in memory, as JSON lines.
struct Corpus {
    bytes: Vec<u8>,
    /// Start and end of each line, and its input's profile (an index into
    /// `profiles`).
    lines: Vec<(usize, usize, usize)>,
    /// The inputs' field profiles: each input's is `--profile`, else the
    /// one its first event shows (as `scan` reads them).
    profiles: Vec<Profile>,
}

impl Corpus {
    /// A line's bytes and its input's profile.
    fn line(&self, &(start, end, profile): &(usize, usize, usize)) -> (&[u8], &Profile) {
        (&self.bytes[start..end], &self.profiles[profile])
    }
}

fn load_corpus(inputs: &[PathBuf], forced: Option<&Profile>) -> Result<Corpus> {
    let paths = input::expand_inputs(inputs)?;
    // Room for the inputs as they are on disk (about what they take written
    // again as JSON lines): growing by doubling would touch twice the corpus
    // at its last step, and that peak is the run's.
    let on_disk: u64 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let mut bytes = Vec::with_capacity(usize::try_from(on_disk).unwrap_or(0));
    let mut lines = Vec::new();
    let mut profiles: Vec<Profile> = Vec::new();
    for path in paths {
        let mut profile = None;
        for item in input::open(&path)? {
            let Ok(event) = item else { continue };
            let at = *profile.get_or_insert_with(|| {
                let found = forced
                    .cloned()
                    .unwrap_or_else(|| Profile::detect(&event.value));
                match profiles.iter().position(|p| p.name == found.name) {
                    Some(at) => at,
                    None => {
                        profiles.push(found);
                        profiles.len() - 1
                    }
                }
            });
            let start = bytes.len();
            serde_json::to_writer(&mut bytes, &event.value)?;
            lines.push((start, bytes.len(), at));
            bytes.push(b'\n');
        }
    }
    if lines.is_empty() {
        bail!("no events in the inputs");
    }
    Ok(Corpus {
        bytes,
        lines,
        profiles,
    })
}

/// The read-and-split floor: what the pipeline's reader does with every
/// line before any matching (find its end with the vectorised search it
/// uses, `memchr`, and copy it into a chunk buffer, reused once a chunk's
/// worth is held). Counts the non-empty lines. (Until 2026-11-29 the floor
/// split the bytes with a byte-by-byte search and copied nothing; its
/// speed moved by half between builds with no change to it.)
pub fn split_floor(bytes: &[u8]) -> usize {
    let mut chunk: Vec<u8> = Vec::with_capacity(2 << 20);
    let mut lines = 0;
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len())) {
        if let Some(line) = bytes.get(start..end).filter(|l| !l.is_empty()) {
            if chunk.len() >= 1 << 20 {
                chunk.clear();
            }
            chunk.extend_from_slice(line);
            lines += 1;
        }
        start = end + 1;
    }
    std::hint::black_box(&chunk);
    lines
}

/// What matching events counted (one thread's share, or a replay's):
/// streamed replays do not time the stages (zero seconds).
#[derive(Default, Clone, Copy)]
struct Measured {
    detections: u64,
    stage2_events: u64,
    /// Candidate rules summed over events.
    candidates: u64,
    stage1_seconds: f64,
    stage2_seconds: f64,
}

impl Measured {
    /// Both counts together.
    fn merged(self, other: Measured) -> Measured {
        Measured {
            detections: self.detections + other.detections,
            stage2_events: self.stage2_events + other.stage2_events,
            candidates: self.candidates + other.candidates,
            stage1_seconds: self.stage1_seconds + other.stage1_seconds,
            stage2_seconds: self.stage2_seconds + other.stage2_seconds,
        }
    }
}

/// One event in this many has its two stages timed apart (three clock reads
/// an event cost ~60 ns, 2-4 % of an event's matching on the generated
/// corpus); the stage times are the sample's, scaled.
const STAGE_SAMPLE: usize = 8;

/// Matches every event of `lines` with the engine, timing stage 1 (Hyperscan
/// over the raw bytes) and stage 2 (parse and evaluate the candidates) apart
/// on one event in [`STAGE_SAMPLE`].
fn match_lines(corpus: &Corpus, lines: &[(usize, usize, usize)], engine: &Engine) -> Measured {
    let mut m = Measured::default();
    let Ok(mut scanner) = engine.scanner() else {
        return m;
    };
    let scale = STAGE_SAMPLE as f64;
    for (k, line) in lines.iter().enumerate() {
        let (raw, profile) = corpus.line(line);
        let timed = k % STAGE_SAMPLE == 0;
        let t0 = timed.then(Instant::now);
        let candidates = scanner.candidates(raw).len();
        let t1 = timed.then(Instant::now);
        if let (Verdict::Matched(rules), event, _) = scanner.stage2(raw, profile) {
            m.detections += rules.len() as u64;
            // As `scan` does once a detection is written.
            if let Some(event) = event {
                scanner.give_back(event);
            }
        }
        if let (Some(t0), Some(t1)) = (t0, t1) {
            let t2 = Instant::now();
            m.stage1_seconds += (t1 - t0).as_secs_f64() * scale;
            m.stage2_seconds += (t2 - t1).as_secs_f64() * scale;
        }
        m.stage2_events += u64::from(candidates > 0);
        m.candidates += candidates as u64;
    }
    m
}

/// A memory figure of this process from `/proc/self/status` (`VmHWM:`,
/// the peak resident set; `VmRSS:`, the current one), in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// What the resident set was once the rules (and in memory the corpus)
/// were loaded, before any matching, so that the report can tell the
/// memory matching takes from the corpus the benchmark holds (a `scan`, and
/// `bench --stream`, stream their input and hold none of it).
struct LoadedMemory {
    /// Resident bytes then.
    resident: Option<u64>,
    /// The peak until then (loading parses each event once).
    peak: Option<u64>,
    /// Whether the peak was reset then (`/proc/self/clear_refs`, Linux
    /// 4.0 and later): the peak at the end is then that of matching alone.
    reset: bool,
}

impl LoadedMemory {
    fn now() -> LoadedMemory {
        let peak = status_bytes("VmHWM:");
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        LoadedMemory {
            resident: status_bytes("VmRSS:"),
            peak,
            reset,
        }
    }

    /// The whole run's peak resident set, and the report's memory figures,
    /// from one reading at the end of the run.
    /// `corpus_bytes`: the corpus held in memory (`None`: streamed).
    fn at_end(&self, corpus_bytes: Option<usize>) -> (Option<u64>, Value) {
        let peak_now = status_bytes("VmHWM:");
        let matching_peak = peak_now.filter(|_| self.reset);
        let memory = json!({
            "loaded_rss_bytes": self.resident,
            "corpus_bytes": corpus_bytes,
            "matching_peak_rss_bytes": matching_peak,
            "matching_added_bytes": matching_peak
                .zip(self.resident)
                .map(|(peak, loaded)| peak.saturating_sub(loaded)),
        });
        (peak_now.max(self.peak), memory)
    }
}

/// Runs `bench`.
pub fn run(args: Args) -> Result<ExitCode> {
    let forced = crate::scan::profile_option(args.profile.as_deref())?;
    // Steady state: the untimed replay builds the stage-1 database of every
    // set of log sources it shows 256 events of, which a long run reaches
    // (`scan` waits for events that pay a build: a short run keeps the
    // whole database).
    let options = EngineOptions {
        subset_bytes_per_literal: 0,
        ..Default::default()
    };
    let build_engine = || {
        crate::scan::engine_for(
            &args.rules,
            None,
            &Default::default(),
            options,
            forced.as_ref(),
            true,
        )
    };
    let build = Instant::now();
    let engine = build_engine()?;
    let mut build_times = vec![build.elapsed().as_secs_f64()];
    let compiled_ruleset =
        args.rules.len() == 1 && hypersigma_runtime::ruleset::is_ruleset(&args.rules[0]);
    // A load takes tens of milliseconds, and one on this kind of machine
    // now and then three times that (the kernel zeroing fresh pages): the
    // median of three loads is the load time.
    if compiled_ruleset {
        for _ in 0..2 {
            let again = Instant::now();
            let loaded = build_engine()?;
            // The load ends with an engine ready: dropping it is not
            // part of it.
            build_times.push(again.elapsed().as_secs_f64());
            drop(loaded);
        }
    }
    build_times.sort_by(f64::total_cmp);
    let build_secs = build_times[build_times.len() / 2];
    eprintln!(
        "{} in {:.1} ms{}",
        if compiled_ruleset {
            "compiled ruleset loaded"
        } else {
            "rules compiled and engine built"
        },
        build_secs * 1000.0,
        if build_times.len() > 1 {
            let all: Vec<String> = build_times
                .iter()
                .map(|t| format!("{:.1}", t * 1000.0))
                .collect();
            format!(" (median of {} loads: {} ms)", all.len(), all.join(", "))
        } else {
            String::new()
        }
    );
    let set_rules = engine.rules();
    let repeat = args.repeat.max(1);
    let measured = if args.stream {
        stream::measure(&args, &engine, forced.as_ref(), repeat)?
    } else {
        in_memory(&args, &engine, forced.as_ref(), repeat)?
    };
    let report = json!({
        "rules": set_rules.len(),
        "events": measured.events,
        "megabytes": measured.megabytes,
        "repeat": repeat,
        "engine": "prefilter+programs",
        "input": if args.stream { "streamed" } else { "in_memory" },
        "build_seconds": build_secs,
        "stage1_witnesses": engine.stats().witnesses,
        "always_candidate_rules": engine.stats().always,
        "profiles": measured.profiles,
        "timing": format!("median of {repeat} rounds; each round replays the split floor, the parse floor and every thread count once (ratios: median of each round's)"),
        "split_floor": floor_json(&measured.split, measured.events, measured.megabytes),
        "parse_floor": floor_json(&measured.parse, measured.events, measured.megabytes),
        "runs": measured.runs,
        "memory": measured.memory,
        "peak_rss_bytes": measured.peak_rss,
        "per_rule": measured.per_rule.iter().take(25).collect::<Vec<_>>(),
    });
    print_report(&report);
    if let Some(path) = &args.json {
        let mut f = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        serde_json::to_writer_pretty(&mut f, &report)?;
        f.write_all(b"\n")?;
    }
    if let Some(path) = &args.baseline {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let baseline: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a bench report", path.display()))?;
        if !compare(&baseline, &report, args.max_regression) {
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What one mode of the benchmark measured, for the report.
struct Measurement {
    events: u64,
    megabytes: f64,
    profiles: Vec<String>,
    /// Seconds of each replay of the read-and-split floor and of the
    /// parse floor, one a round (`rounds.rs`).
    split: Vec<f64>,
    parse: Vec<f64>,
    /// One entry per thread count ([`run_json`]).
    runs: Vec<Value>,
    memory: Value,
    peak_rss: Option<u64>,
    per_rule: Vec<Value>,
}

/// What the replays of one thread count measured.
struct RunFigures {
    threads: usize,
    /// Seconds of each replay, one a round.
    replays: Vec<f64>,
    /// What the last replay counted.
    counts: Measured,
    /// Whether the two stages were timed apart (in memory only).
    stages_timed: bool,
}

/// A floor's entry in the report: the median replay, and every replay's
/// seconds.
fn floor_json(replays: &[f64], events: u64, megabytes: f64) -> Value {
    let seconds = rounds::median(replays);
    json!({
        "seconds": seconds,
        "events_per_sec": events as f64 / seconds,
        "mb_per_sec": megabytes / seconds,
        "replay_seconds": replays,
    })
}

/// A thread count's entry in the report.
fn run_json(r: &RunFigures, m: &Measurement) -> Value {
    let events = m.events as f64;
    let seconds = rounds::median(&r.replays);
    json!({
        "threads": r.threads,
        "seconds": seconds,
        "replay_seconds": r.replays,
        "events_per_sec": events / seconds,
        "mb_per_sec": m.megabytes / seconds,
        "ns_per_event": seconds * 1e9 / events,
        "detections": r.counts.detections,
        "ratio_to_split_floor": rounds::paired_ratio(&m.split, &r.replays),
        "ratio_to_parse_floor": rounds::paired_ratio(&m.parse, &r.replays),
        "stage2_fraction": r.counts.stage2_events as f64 / events,
        "candidates_per_event": r.counts.candidates as f64 / events,
        "stage1_seconds": r.stages_timed.then_some(r.counts.stage1_seconds),
        "stage2_seconds": r.stages_timed.then_some(r.counts.stage2_seconds),
    })
}

/// The benchmark over the inputs held in memory as JSON lines.
fn in_memory(
    args: &Args,
    engine: &Engine,
    forced: Option<&Profile>,
    repeat: u32,
) -> Result<Measurement> {
    let corpus = load_corpus(&args.inputs, forced)?;
    let events = corpus.lines.len() as u64;
    let megabytes = corpus.bytes.len() as f64 / 1e6;
    let profiles: Vec<String> = corpus.profiles.iter().map(|p| p.name.clone()).collect();
    eprintln!(
        "bench: {} rules, {events} events ({}), {megabytes:.1} MB in memory, {repeat} rounds",
        engine.rules().len(),
        profiles.join(", ")
    );

    let loaded = LoadedMemory::now();
    // One untimed replay on one thread first: what the engine builds on
    // first use (lowered rules, automata, regexes, per-scope databases) is
    // then built, and every measured replay finds it.
    std::hint::black_box(match_lines(&corpus, &corpus.lines, engine));

    let split = || {
        let lines = split_floor(&corpus.bytes);
        if lines as u64 != events {
            bail!("the split floor found {lines} lines in the corpus's {events}");
        }
        Ok(())
    };
    let parse = || {
        for &(s, e, _) in &corpus.lines {
            let line = corpus.bytes.get(s..e).unwrap_or_default();
            std::hint::black_box(serde_json::from_slice::<Value>(line).ok());
        }
        Ok(())
    };
    let replay = |threads: usize| {
        let chunk = corpus.lines.len().div_ceil(threads);
        Ok(std::thread::scope(|scope| {
            let handles: Vec<_> = corpus
                .lines
                .chunks(chunk)
                .map(|part| scope.spawn(|| match_lines(&corpus, part, engine)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .fold(Measured::default(), Measured::merged)
        }))
    };
    let timed = rounds::run(repeat, &args.threads, split, parse, replay)?;
    let mut measured = Measurement {
        events,
        megabytes,
        profiles,
        split: timed.split,
        parse: timed.parse,
        runs: Vec::new(),
        memory: Value::Null,
        peak_rss: None,
        per_rule: Vec::new(),
    };
    for (threads, replays, counts) in timed.runs {
        let figures = RunFigures {
            threads,
            replays,
            counts,
            stages_timed: true,
        };
        measured.runs.push(run_json(&figures, &measured));
    }

    if args.per_rule {
        measured.per_rule = rule_costs(&corpus, engine, engine.rules())?;
    }
    (measured.peak_rss, measured.memory) = loaded.at_end(Some(corpus.bytes.len()));
    Ok(measured)
}

/// What each rule costs in the engine: the events stage 1 makes it a
/// candidate for, and the time stage 2 takes to evaluate it alone on each
/// (its members parsed, its condition run), spread over all events. The
/// shared stage-1 scan is not split between rules. Most expensive first.
fn rule_costs(corpus: &Corpus, engine: &Engine, rules: &[Rule]) -> Result<Vec<Value>> {
    let mut scanner = engine.scanner()?;
    let mut candidate_events: Vec<Vec<usize>> = vec![Vec::new(); rules.len()];
    for (k, line) in corpus.lines.iter().enumerate() {
        for &r in scanner.candidates(corpus.line(line).0) {
            if let Some(events) = candidate_events.get_mut(r as usize) {
                events.push(k);
            }
        }
    }
    let events = corpus.lines.len().max(1) as f64;
    let mut costs: Vec<Value> = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        let candidates = &candidate_events[i];
        let mut matches = 0u64;
        let t = Instant::now();
        for &k in candidates {
            let (raw, profile) = corpus.line(&corpus.lines[k]);
            let verdict = scanner.evaluate_rules(raw, profile, &[i as u32]);
            if matches!(verdict, Verdict::Matched(m) if !m.is_empty()) {
                matches += 1;
            }
        }
        let ns = t.elapsed().as_secs_f64() * 1e9;
        costs.push(json!({
            "id": rule.meta.id, "title": rule.meta.title,
            "ns_per_event": ns / events,
            "ns_per_candidate": if candidates.is_empty() { 0.0 } else { ns / candidates.len() as f64 },
            "matches": matches,
            "candidate_rate": candidates.len() as f64 / events,
        }));
    }
    costs.sort_by(|a, b| {
        let ns = |v: &Value| v["ns_per_event"].as_f64().unwrap_or(0.0);
        ns(b).total_cmp(&ns(a))
    });
    Ok(costs)
}

fn print_report(r: &Value) {
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    let rounds = r["repeat"].as_u64().unwrap_or(1);
    println!(
        "medians of {rounds} round{} (each: both floors, then every thread count)",
        if rounds == 1 { "" } else { "s" }
    );
    println!(
        "floor: split {:.0} events/s ({:.0} MB/s), parse {:.0} events/s ({:.0} MB/s)",
        f(&r["split_floor"]["events_per_sec"]),
        f(&r["split_floor"]["mb_per_sec"]),
        f(&r["parse_floor"]["events_per_sec"]),
        f(&r["parse_floor"]["mb_per_sec"])
    );
    println!("threads  events/s     MB/s  ns/event  detections  vs split  vs parse  stage 2  rules/ev  stage-1 s  stage-2 s");
    // Stage times are not taken when streaming.
    let seconds = |v: &Value| v.as_f64().map_or("-".to_string(), |s| format!("{s:.3}"));
    for run in r["runs"].as_array().into_iter().flatten() {
        println!(
            "{:>7}  {:>9.0}  {:>7.1}  {:>8.0}  {:>10}  {:>8.4}  {:>8.3}  {:>6.1}%  {:>8.2}  {:>9}  {:>9}",
            run["threads"].as_u64().unwrap_or(0),
            f(&run["events_per_sec"]),
            f(&run["mb_per_sec"]),
            f(&run["ns_per_event"]),
            run["detections"].as_u64().unwrap_or(0),
            f(&run["ratio_to_split_floor"]),
            f(&run["ratio_to_parse_floor"]),
            100.0 * f(&run["stage2_fraction"]),
            f(&run["candidates_per_event"]),
            seconds(&run["stage1_seconds"]),
            seconds(&run["stage2_seconds"])
        );
    }
    let mb = |v: &Value| v.as_u64().map(|b| b as f64 / 1e6);
    let memory = &r["memory"];
    if let Some(peak) = mb(&r["peak_rss_bytes"]) {
        print!("peak RSS: {peak:.1} MB");
        match (mb(&memory["loaded_rss_bytes"]), mb(&memory["corpus_bytes"])) {
            (Some(loaded), Some(corpus)) => print!(
                "; {loaded:.1} MB once the rules and the corpus ({corpus:.1} MB of JSON lines, held in memory) were loaded"
            ),
            (Some(loaded), None) => print!(
                " (the inputs streamed from disk, none held); {loaded:.1} MB once the rules were loaded"
            ),
            _ => {}
        }
        if let (Some(matching), Some(added)) = (
            mb(&memory["matching_peak_rss_bytes"]),
            mb(&memory["matching_added_bytes"]),
        ) {
            print!("; {matching:.1} MB at most while matching ({added:.1} MB above that)");
        }
        println!();
    }
    let rules = r["per_rule"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !rules.is_empty() {
        println!(
            "most expensive rules in the engine (stage-2 ns/event, ns/candidate, matches, stage-1 candidate rate, id, title):"
        );
        for rule in rules {
            println!(
                "  {:>8.1}  {:>8.0}  {:>6}  {:>6.2}%  {}  {}",
                f(&rule["ns_per_event"]),
                f(&rule["ns_per_candidate"]),
                rule["matches"].as_u64().unwrap_or(0),
                100.0 * f(&rule["candidate_rate"]),
                rule["id"].as_str().unwrap_or("-"),
                rule["title"].as_str().unwrap_or("")
            );
        }
    }
}

/// Compares events/s per thread count; prints the comparison; false on a regression.
fn compare(baseline: &Value, current: &Value, max_regression: f64) -> bool {
    let mut ok = true;
    println!("against the baseline (max regression {max_regression}%):");
    for key in ["rules", "events"] {
        if baseline[key] != current[key] {
            println!(
                "  note: the baseline has {} {key}, this run {}; the comparison is only meaningful for the same rules and input",
                baseline[key], current[key]
            );
        }
    }
    for run in current["runs"].as_array().into_iter().flatten() {
        let threads = &run["threads"];
        let Some(base) = baseline["runs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|b| &b["threads"] == threads)
        else {
            println!("  {threads} threads: not in the baseline");
            continue;
        };
        let (now, then) = (
            run["events_per_sec"].as_f64().unwrap_or(0.0),
            base["events_per_sec"].as_f64().unwrap_or(0.0),
        );
        let change = if then > 0.0 {
            (now / then - 1.0) * 100.0
        } else {
            0.0
        };
        let regressed = change < -max_regression;
        ok &= !regressed;
        println!(
            "  {threads} threads: {now:.0} events/s vs {then:.0} ({change:+.1}%){}",
            if regressed { "  REGRESSION" } else { "" }
        );
    }
    ok
}
