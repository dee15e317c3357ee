//! `hypersigma`: the command line.
//!
//! Subcommands live in their own modules: [`compile`] (compile rules and
//! report), [`scan`] (match events), [`gen`] (generate a corpus) and
//! [`mod@bench`] (measure matching against the floor). The binary owns no
//! matching logic: it calls the compiler and runtime crates.

mod allocator;
mod bench;
mod check;
mod compile;
mod demo;
mod event_json;
mod explain;
mod filter;
mod gen;
mod output;
mod scan;

use clap::{Parser, Subcommand};

/// Compile Sigma rules and match them against security telemetry.
#[derive(Parser)]
#[command(name = "hypersigma", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The product in one command: generate a corpus, run the bundled rules, show detections and throughput.
    Demo(demo::Args),
    /// Run each rule's regression data (SigmaHQ `regression_tests_path`) and report pass/fail.
    Check(check::Args),
    /// Compile rules and report what compiled and what was rejected, and why.
    Compile(compile::Args),
    /// One rule as an analyst reads it: metadata, coverage, selections, shared indicators, the engine's view.
    Explain(explain::Args),
    /// Match events against rules: files, directories or stdin; JSON, EVTX, gz, zst.
    Scan(scan::Args),
    /// Collector mode: events on stdin, the matching ones (tagged with the rules) on stdout.
    Filter(filter::Args),
    /// Generate realistic Windows telemetry, optionally with planted attacks and their ground truth.
    Gen(gen::Args),
    /// Measure matching throughput on an input replayed in memory (its events written again as serde_json writes them; --stream reads the files as scan does), against the floor.
    Bench(bench::Args),
}

fn main() -> std::process::ExitCode {
    allocator::configure();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Compile(args) => compile::run(args),
        Command::Check(args) => check::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Filter(args) => filter::run(args),
        Command::Gen(args) => gen::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(code) => code,
        // The reader of our output went away (`| head`): not an error.
        Err(e) if broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hypersigma: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
