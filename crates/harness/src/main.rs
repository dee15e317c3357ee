//! `hypersigma`: the command line.
//!
//! Subcommands live in their own modules: [`compile`] (compile rules and
//! report) and [`scan`] (match JSON-lines events). The binary owns no
//! matching logic: it calls the compiler and runtime crates.

mod compile;
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
    /// Compile rules and report what compiled and what was rejected, and why.
    Compile(compile::Args),
    /// Match events (JSON lines, fields named as the rules name them) against rules.
    Scan(scan::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compile(args) => compile::run(args),
        Command::Scan(args) => scan::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hypersigma: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
