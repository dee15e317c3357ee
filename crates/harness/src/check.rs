//! `hypersigma check`: runs every loaded rule's regression data (SigmaHQ's
//! `regression_tests_path`, an `info.yml` listing test files and the expected
//! `match_count`) through the same engine `scan` uses, and reports pass or
//! fail per rule. A test passes when the rule matches at least `match_count`
//! events of its file (at least one when no count is given).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use hypersigma_compiler::{Profile, Rule};
use hypersigma_runtime::engine::{Engine, EngineOptions, Verdict};
use hypersigma_runtime::input;

/// Options of `check`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  hypersigma check -r ../shared/sigma/rules
  hypersigma check -r my-rules/ --root my-rules/ --quiet

Exit status: 0 = every test passed, 1 = at least one failed, 2 = usage error or unreadable rules.")]
pub struct Args {
    /// Rule files or directories (repeatable).
    #[arg(short = 'r', long = "rules", required = true)]
    rules: Vec<PathBuf>,
    /// Root the `regression_tests_path` values are relative to (default: the
    /// nearest directory above each rule file where the path exists).
    #[arg(long)]
    root: Option<PathBuf>,
    /// Print failures and the summary only.
    #[arg(short = 'q', long)]
    quiet: bool,
}

/// One test's outcome.
struct Outcome {
    passed: bool,
    detail: String,
}

/// Runs `check`.
pub fn run(args: Args) -> Result<ExitCode> {
    let set = crate::compile::load(&args.rules, None)?;
    let (mut tested, mut passed, mut untested) = (0usize, 0usize, 0usize);
    for rule in &set.rules {
        let Some(info) = rule.meta.regression_tests_path.as_deref() else {
            untested += 1;
            continue;
        };
        tested += 1;
        let outcomes = match check_rule(rule, info, args.root.as_deref()) {
            Ok(o) => o,
            Err(e) => vec![Outcome {
                passed: false,
                detail: format!("{e:#}"),
            }],
        };
        let ok = !outcomes.is_empty() && outcomes.iter().all(|o| o.passed);
        passed += usize::from(ok);
        if !ok || !args.quiet {
            println!(
                "{}  {} ({})",
                if ok { "PASS" } else { "FAIL" },
                rule.meta.title,
                rule.meta.id.as_deref().unwrap_or("no id")
            );
            for o in &outcomes {
                println!("      {}", o.detail);
            }
            if outcomes.is_empty() {
                println!("      info.yml lists no test");
            }
        }
    }
    println!(
        "{tested} rules with regression data: {passed} passed, {} failed; {untested} rules without",
        tested - passed
    );
    Ok(if passed == tested {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The repository root for a rule: `--root`, else the nearest directory
/// above the rule file where `relative` exists.
fn root_for(rule: &Rule, relative: &str, root: Option<&Path>) -> Option<PathBuf> {
    if let Some(r) = root {
        return Some(r.to_path_buf());
    }
    let mut dir = rule.origin.path.as_deref()?.parent();
    while let Some(d) = dir {
        if d.join(relative).is_file() {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

fn check_rule(rule: &Rule, info: &str, root: Option<&Path>) -> Result<Vec<Outcome>> {
    let root = root_for(rule, info, root)
        .with_context(|| format!("regression_tests_path {info} not found above the rule file"))?;
    let info_path = root.join(info);
    let text = std::fs::read_to_string(&info_path)
        .with_context(|| format!("reading {}", info_path.display()))?;
    let info: serde_norway::Value = serde_norway::from_str(&text)
        .with_context(|| format!("parsing {}", info_path.display()))?;
    let engine = Engine::new(vec![rule.clone()], EngineOptions::default())?;
    let mut scanner = engine.scanner()?;
    let mut outcomes = Vec::new();
    for test in info["regression_tests_info"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let Some(path) = test["path"].as_str() else {
            continue;
        };
        let name = test["name"].as_str().unwrap_or("test");
        let expected = test["match_count"].as_u64();
        let file = root.join(path);
        let (events, matches) = match count_matches(&mut scanner, &file) {
            Ok(counts) => counts,
            Err(e) => {
                outcomes.push(Outcome {
                    passed: false,
                    detail: format!("{name}: {e:#}"),
                });
                continue;
            }
        };
        let wanted = expected.unwrap_or(1);
        outcomes.push(Outcome {
            passed: matches >= wanted,
            detail: format!(
                "{name}: {matches} of {events} events match, expected {} [{path}]",
                expected.map_or("at least 1".to_string(), |n| n.to_string())
            ),
        });
    }
    Ok(outcomes)
}

/// Events and matches of the scanner's one rule over a file, the profile
/// detected from its first event.
fn count_matches(
    scanner: &mut hypersigma_runtime::engine::Scanner<'_>,
    file: &Path,
) -> Result<(u64, u64)> {
    let mut profile: Option<Profile> = None;
    let (mut events, mut matches) = (0u64, 0u64);
    for item in input::open(file).with_context(|| format!("opening {}", file.display()))? {
        let Ok(event) = item else { continue };
        events += 1;
        let profile = profile.get_or_insert_with(|| Profile::detect(&event.value));
        let raw = serde_json::to_vec(&event.value)?;
        if let Verdict::Matched(rules) = scanner.match_event(&raw, profile) {
            matches += u64::from(!rules.is_empty());
        }
    }
    Ok((events, matches))
}
