//! `hypersigma compile`: load rules, report found / compiled / rejected.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use hypersigma_runtime::engine::{Engine, EngineOptions};
use std::time::Instant;

use anyhow::Result;
use hypersigma_compiler::{load_paths, CompileOptions, Placeholders, Rule, RuleSet, Scope};

/// Options of `compile`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  hypersigma compile -r ../shared/sigma/rules -r ../shared/sigma/rules-emerging-threats
  hypersigma compile -r rules/ --report json --strict
  hypersigma compile -r ../shared/sigma/rules -o sigmahq.hsr && hypersigma scan -r sigmahq.hsr logs/

Exit status: 0 = compiled (rejected rules are reported), 1 = some rule rejected and --strict
given, 2 = usage error, unreadable paths, or the engine could not be built.")]
pub struct Args {
    /// Rule files or directories (repeatable).
    #[arg(short = 'r', long = "rules", required = true)]
    rules: Vec<PathBuf>,
    /// YAML file of placeholder values for the `expand` modifier.
    #[arg(long)]
    placeholders: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Report::Text)]
    report: Report,
    /// Exit with status 1 when any rule is rejected.
    #[arg(long)]
    strict: bool,
    /// List every rule whose log source is unmapped (text report; the JSON report always does).
    #[arg(long)]
    list_unmapped: bool,
    /// Write the compiled ruleset here (loadable by `scan`, `filter`, `bench` via `-r FILE`).
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// `product/category/service` of a rule's log source, `-` for absent parts.
pub fn logsource_key(rule: &Rule) -> String {
    let ls = &rule.meta.logsource;
    [&ls.product, &ls.category, &ls.service]
        .iter()
        .map(|p| p.as_deref().unwrap_or("-"))
        .collect::<Vec<_>>()
        .join("/")
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Report {
    Text,
    Json,
}

/// Loads the rule set named by `-r` and `--placeholders`.
pub fn load(rules: &[PathBuf], placeholders: Option<&PathBuf>) -> Result<RuleSet> {
    let placeholders = match placeholders {
        Some(path) => Some(Placeholders::from_file(path)?),
        None => None,
    };
    Ok(load_paths(rules, &CompileOptions { placeholders }))
}

/// Runs `compile`.
pub fn run(args: Args) -> Result<ExitCode> {
    let start = Instant::now();
    let set = load(&args.rules, args.placeholders.as_ref())?;
    let elapsed = start.elapsed();
    let build_start = Instant::now();
    let mut engine = Engine::new(set.rules.clone(), EngineOptions::default())?;
    engine.set_correlations(set.correlations.clone())?;
    let build = build_start.elapsed();
    let mut written = None;
    if let Some(path) = &args.output {
        engine.save_ruleset(path)?;
        written = Some((path.display().to_string(), std::fs::metadata(path)?.len()));
    }
    let engine_report = serde_json::json!({
        "witness_patterns": engine.stats().witnesses,
        "always_candidates": engine.stats().always,
        "stage1_database_bytes": engine.database_bytes(),
        "build_ms": build.as_secs_f64() * 1000.0,
        "ruleset_file": written.as_ref().map(|(p, _)| p),
        "ruleset_bytes": written.as_ref().map(|(_, n)| n),
    });
    let mut by_logsource: BTreeMap<String, usize> = BTreeMap::new();
    let mut unmapped_by_logsource: BTreeMap<String, usize> = BTreeMap::new();
    let mut unmapped = Vec::new();
    for rule in &set.rules {
        let key = logsource_key(rule);
        if rule.scope == Scope::Unmapped {
            *unmapped_by_logsource.entry(key.clone()).or_default() += 1;
            unmapped.push(rule);
        }
        *by_logsource.entry(key).or_default() += 1;
    }
    match args.report {
        Report::Json => {
            let rejected: Vec<_> = set
                .rejected
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "path": e.path.as_ref().map(|p| p.display().to_string()),
                        "id": e.rule_id,
                        "title": e.title,
                        "line": e.line,
                        "reason": e.reason(),
                    })
                })
                .collect();
            let unmapped: Vec<_> = unmapped
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "path": r.origin.path.as_ref().map(|p| p.display().to_string()),
                        "id": r.meta.id,
                        "title": r.meta.title,
                        "logsource": logsource_key(r),
                    })
                })
                .collect();
            let report = serde_json::json!({
                "files": set.files,
                "found": set.found(),
                "compiled": set.rules.len(),
                "correlations": set.correlations.len(),
                "filters": set.filters.len(),
                "unknown_filter_targets": set.unknown_filter_targets,
                "rejected": rejected,
                "unmapped": unmapped,
                "by_logsource": by_logsource,
                "compile_ms": elapsed.as_secs_f64() * 1000.0,
                "engine": engine_report,
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Report::Text => {
            for e in &set.rejected {
                println!("rejected: {e}");
            }
            for (filter, reference) in &set.unknown_filter_targets {
                println!("filter '{filter}': no rule has the id or name '{reference}'");
            }
            if args.list_unmapped {
                for r in &unmapped {
                    let path = r.origin.path.as_ref().map(|p| p.display().to_string());
                    println!(
                        "unmapped: {}: {} ({})",
                        path.unwrap_or_default(),
                        r.key(),
                        logsource_key(r)
                    );
                }
            } else if !unmapped.is_empty() {
                println!("unmapped log sources (rules match nothing unless --unscoped; --list-unmapped lists them):");
                for (key, n) in &unmapped_by_logsource {
                    println!("  {key}: {n} rules");
                }
            }
            println!(
                "{} files, {} rules found, {} compiled ({} with an unmapped log source), {} rejected in {:.0} ms",
                set.files,
                set.found(),
                set.rules.len(),
                unmapped.len(),
                set.rejected.len(),
                elapsed.as_secs_f64() * 1000.0
            );
            if !set.correlations.is_empty() || !set.filters.is_empty() {
                println!(
                    "{} correlation rules, {} filters (applied)",
                    set.correlations.len(),
                    set.filters.len()
                );
            }
            println!(
                "engine: {} stage-1 witness patterns, {} rules without witnesses, {} clauses, stage-1 database {:.1} MB, built in {:.0} ms",
                engine.stats().witnesses,
                engine.stats().always,
                engine.stats().clauses,
                engine.database_bytes() as f64 / 1e6,
                build.as_secs_f64() * 1000.0
            );
            if let Some((path, bytes)) = &written {
                println!("wrote {path} ({:.1} MB)", *bytes as f64 / 1e6);
            }
        }
    }
    Ok(if args.strict && !set.rejected.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
