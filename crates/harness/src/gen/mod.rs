//! `hypersigma gen`: deterministic, realistic Windows telemetry, with planted
//! attacks at known positions and a ground-truth file.
//!
//! The vocabulary (hosts, users, benign processes with their parents and
//! command lines) and the attacks are data under `corpus/generator/`. The
//! same seed always gives the same bytes. Events are written straight into a
//! large buffer (no JSON library per event), so generation runs at hundreds
//! of MB/s and is never the bottleneck of a benchmark.

mod events;
mod fields;
mod rng;
mod sequences;
mod vocab;
mod writer;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};

pub use writer::Shape;

/// Options of `gen`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  hypersigma gen --events 200000 --seed 1 --attacks | hypersigma scan -r corpus/rules
  hypersigma gen --events 1000000 --profile evtx --attacks --truth truth.jsonl -o corpus.jsonl
  hypersigma gen --events 5000000 --profile ecs -o /dev/null      # generation speed

The same seed gives the same bytes. Exit status: 0 = written, 2 = usage or write error.")]
pub struct Args {
    /// Number of events.
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    /// Seed: the same seed gives the same output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output shape (field profile).
    #[arg(long, value_enum, default_value_t = Shape::Sysmon)]
    pub profile: Shape,
    /// Plant attacks (Impacket wmiexec, smbexec, atexec, dcomexec) and logon
    /// sequences (brute force, lateral movement) at known positions.
    #[arg(long)]
    pub attacks: bool,
    /// Planted attacks per million events (with `--attacks`; at least one of each).
    #[arg(long, default_value_t = 500)]
    pub attack_rate: u64,
    /// Planted logon sequences (brute force, lateral movement; alternating) per
    /// million events, with `--attacks` (at least one of each when the corpus
    /// is long enough).
    #[arg(long, default_value_t = 20)]
    pub sequence_rate: u64,
    /// Write the ground truth here: JSON lines `{"line": N, "rules": [ids]}`
    /// (sequence events also carry `"sequence"` and `"instance"`).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Output file (default: standard output).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// No summary on stderr.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// Event kinds and their share of the benign mix (per 1000 events).
const MIX: [(Kind, u64); 12] = [
    (Kind::Sysmon1, 330),
    (Kind::Security4688, 150),
    (Kind::Sysmon3, 110),
    (Kind::Sysmon7, 110),
    (Kind::Sysmon11, 70),
    (Kind::Sysmon13, 70),
    (Kind::Sysmon22, 50),
    (Kind::Security4624, 50),
    (Kind::Security4625, 10),
    (Kind::Security5145, 20),
    (Kind::Security4663, 20),
    (Kind::PowerShell4104, 10),
];

#[derive(Clone, Copy)]
enum Kind {
    Sysmon1,
    Security4688,
    Sysmon3,
    Sysmon7,
    Sysmon11,
    Sysmon13,
    Sysmon22,
    Security4624,
    Security4625,
    Security5145,
    Security4663,
    PowerShell4104,
}

/// Runs `gen`.
pub fn run(args: Args) -> Result<ExitCode> {
    let out: Box<dyn Write> = match &args.output {
        Some(p) => {
            Box::new(File::create(p).with_context(|| format!("cannot create {}", p.display()))?)
        }
        None => Box::new(io::stdout().lock()),
    };
    let mut truth: Option<Box<dyn Write>> = match &args.truth {
        Some(p) => Some(Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ))),
        None => None,
    };
    let start = Instant::now();
    let stats = generate(&args, out, truth.as_deref_mut())?;
    if let Some(t) = truth.as_mut() {
        t.flush()?;
    }
    if !args.quiet {
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "generated {} events ({} planted attacks), {:.1} MB in {secs:.2} s ({:.0} MB/s)",
            args.events,
            stats.planted,
            stats.bytes as f64 / 1e6,
            stats.bytes as f64 / 1e6 / secs.max(1e-9)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What a generation produced.
pub struct Stats {
    /// Bytes written.
    pub bytes: u64,
    /// Attacks planted.
    pub planted: u64,
}

/// Generates `args.events` events into `out` (and the truth, when asked).
pub fn generate(
    args: &Args,
    mut out: Box<dyn Write + '_>,
    mut truth: Option<&mut (dyn Write + '_)>,
) -> Result<Stats> {
    let vocab = vocab::vocabulary()?;
    let attacks = if args.attacks {
        vocab::attacks()?
    } else {
        Vec::new()
    };
    // Each (attack, shape) is one variant; variants are planted round-robin.
    let variants: Vec<(usize, bool)> = attacks
        .iter()
        .enumerate()
        .flat_map(|(i, a)| a.shapes.iter().map(move |s| (i, s == "security")))
        .collect();
    let planted_total = if variants.is_empty() || args.events == 0 {
        0
    } else {
        (args.events * args.attack_rate / 1_000_000)
            .max(variants.len() as u64)
            .min(args.events)
    };
    let mut world = events::World::new(&vocab, args.seed);
    let mut plan = world_plan(&mut world, args.events, planted_total);
    let mut fields = fields::Fields::default();
    let mut buffer = Vec::with_capacity(8 << 20);
    let total_weight: u64 = MIX.iter().map(|(_, w)| w).sum();
    let mut stats = Stats {
        bytes: 0,
        planted: 0,
    };
    let computers: Vec<String> = vocab
        .hosts
        .iter()
        .map(|h| format!("{h}.contoso.local"))
        .collect();
    let mut next_plant = plan.pop();
    let mut steps = if args.attacks {
        let count = (args.events * args.sequence_rate / 1_000_000).max(2);
        let mut rng = rng::Rng::new(args.seed ^ 0x0005_e90e_9ce5);
        sequences::plan(
            &mut rng,
            args.events,
            count,
            vocab.hosts.len(),
            &vocab.users,
        )
    } else {
        Vec::new()
    };
    for line in 1..=args.events {
        let step_due = steps.last().is_some_and(|s| s.line <= line);
        let header = if next_plant != Some(line) && step_due {
            let Some(step) = steps.pop() else {
                anyhow::bail!("no sequence step at line {line}");
            };
            if let Some(t) = truth.as_deref_mut() {
                writeln!(
                    t,
                    "{{\"line\": {line}, \"rules\": [], \"sequence\": \"{}\", \"instance\": {}}}",
                    step.sequence.name(),
                    step.instance
                )?;
            }
            world.logon_as(
                &mut fields,
                step.host,
                step.failed,
                Some((step.user.as_str(), step.ip.as_str())),
            )
        } else if next_plant == Some(line) {
            let (attack, security) = variants[(stats.planted as usize) % variants.len()];
            stats.planted += 1;
            next_plant = plan.pop();
            if let Some(t) = truth.as_deref_mut() {
                let rules = serde_json::to_string(&attacks[attack].rules)?;
                writeln!(
                    t,
                    "{{\"line\": {line}, \"rules\": {rules}, \"attack\": {}}}",
                    serde_json::to_string(&attacks[attack].name)?
                )?;
            }
            world.attack(&mut fields, &attacks[attack], security)
        } else {
            let mut r = world.rng.below(total_weight);
            let kind = MIX
                .iter()
                .find(|(_, w)| {
                    if r < *w {
                        true
                    } else {
                        r -= w;
                        false
                    }
                })
                .map_or(Kind::Sysmon1, |(k, _)| *k);
            match kind {
                Kind::Sysmon1 => world.process_creation(&mut fields, false),
                Kind::Security4688 => world.process_creation(&mut fields, true),
                Kind::Sysmon3 => world.network(&mut fields),
                Kind::Sysmon7 => world.image_load(&mut fields),
                Kind::Sysmon11 => world.file_create(&mut fields),
                Kind::Sysmon13 => world.registry_set(&mut fields),
                Kind::Sysmon22 => world.dns(&mut fields),
                Kind::Security4624 => world.logon(&mut fields, false),
                Kind::Security4625 => world.logon(&mut fields, true),
                Kind::Security5145 => world.share_access(&mut fields),
                Kind::Security4663 => world.object_access(&mut fields),
                Kind::PowerShell4104 => world.script_block(&mut fields),
            }
        };
        let computer = &computers[header.computer_index];
        writer::write_event(&mut buffer, args.profile, &header, computer, &fields);
        if buffer.len() >= 4 << 20 {
            out.write_all(&buffer)?;
            stats.bytes += buffer.len() as u64;
            buffer.clear();
        }
    }
    out.write_all(&buffer)?;
    stats.bytes += buffer.len() as u64;
    out.flush()?;
    Ok(stats)
}

/// Lines (1-based) where attacks go, spread evenly with jitter; returned in
/// reverse order so that `pop` yields the next one.
fn world_plan(world: &mut events::World<'_>, events: u64, planted: u64) -> Vec<u64> {
    let mut lines = Vec::with_capacity(planted as usize);
    if planted == 0 {
        return lines;
    }
    let span = events / planted;
    for k in 0..planted {
        let line = k * span + 1 + world.rng.below(span.max(1));
        lines.push(line.min(events));
    }
    lines.dedup();
    lines.reverse();
    lines
}
