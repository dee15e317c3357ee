//! Time of the member index's lexing pass per line of a JSON-lines file:
//! `cargo run --release --example lexbench -p hypersigma-runtime -- FILE [ROUNDS]`.
//!
//! The criterion benchmark `member_index` lexes a 17-line sample; this one
//! lexes a real or generated corpus (BENCHMARKS.md, "fast path v14" and
//! "v18"), the best of ROUNDS passes (default 7), and prints nanoseconds per
//! line with a checksum of what was indexed (two builds of the lexer that
//! index alike print the same checksum).

use std::process::ExitCode;
use std::time::Instant;

use hypersigma_runtime::members::MemberIndex;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: lexbench FILE [ROUNDS]");
        return ExitCode::from(2);
    };
    let rounds = match args.next().map(|n| n.parse::<u32>()) {
        None => 7,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("lexbench: ROUNDS must be a positive number");
            return ExitCode::from(2);
        }
    };
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("lexbench: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        eprintln!("lexbench: {path}: no lines");
        return ExitCode::from(2);
    }
    let mut index = MemberIndex::default();
    let mut best = f64::MAX;
    let mut checksum = 0usize;
    for _ in 0..rounds {
        let start = Instant::now();
        checksum = 0;
        for line in &lines {
            checksum += usize::from(index.build(line)) + index.len();
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{} lines, {:.1} ns/line (best of {rounds}), checksum {checksum}",
        lines.len(),
        best * 1e9 / lines.len() as f64
    );
    ExitCode::SUCCESS
}
