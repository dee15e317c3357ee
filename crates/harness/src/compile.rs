//! `hypersigma compile`: load rules, report found / compiled / rejected.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use hypersigma_compiler::{load_paths, CompileOptions, Placeholders, Rule, RuleSet, Scope};

/// Options of `compile`.
#[derive(clap::Args)]
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
                "rejected": rejected,
                "unmapped": unmapped,
                "by_logsource": by_logsource,
                "compile_ms": elapsed.as_secs_f64() * 1000.0,
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Report::Text => {
            for e in &set.rejected {
                println!("rejected: {e}");
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
        }
    }
    Ok(if args.strict && !set.rejected.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
