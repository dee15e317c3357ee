//! Planted multi-event sequences, for correlation rules: each is a series of
//! Security logon events from one attacker address (`10.66.6.N`, outside the
//! benign `10.20.0.0/16`), interleaved with the benign mix over a few
//! hundred lines (so their windows straddle reader chunks and threads).
//!
//! - brute force: 12 failed network logons (4625) on one host for one
//!   account, about a second apart, then a successful one (4624);
//! - lateral movement: successful network logons (4624) with one account
//!   onto four different hosts, about ten seconds apart.
//!
//! `corpus/correlations/` holds correlation rules that find exactly these.

use super::rng::Rng;

/// Which sequence an event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sequence {
    /// Failed logons, then a success.
    BruteForce,
    /// One account onto several hosts.
    LateralMovement,
}

impl Sequence {
    /// The name written to the ground truth.
    pub fn name(self) -> &'static str {
        match self {
            Sequence::BruteForce => "brute_force",
            Sequence::LateralMovement => "lateral_movement",
        }
    }
}

/// One planted event.
#[derive(Clone, Debug)]
pub struct Step {
    /// 1-based line it goes on (or the first free line after).
    pub line: u64,
    /// The sequence and its instance number (from 1).
    pub sequence: Sequence,
    pub instance: u64,
    /// Target host index, account, source address, failed or not.
    pub host: usize,
    pub user: String,
    pub ip: String,
    pub failed: bool,
}

/// Failed attempts of a brute force.
pub const BRUTE_FORCE_FAILURES: u64 = 12;
/// Hosts a lateral movement reaches.
pub const LATERAL_HOSTS: usize = 4;
/// Lines between two steps of a brute force (about a second of event time)
/// and of a lateral movement (about ten seconds).
const BRUTE_FORCE_GAP: u64 = 50;
const LATERAL_GAP: u64 = 500;

/// The steps of `count` sequences (alternating kinds) over `events` lines,
/// sorted by line, last first (so that `pop` gives the next).
pub fn plan(rng: &mut Rng, events: u64, count: u64, hosts: usize, users: &[String]) -> Vec<Step> {
    let longest = LATERAL_GAP * LATERAL_HOSTS as u64;
    if count == 0 || hosts < LATERAL_HOSTS || users.is_empty() || events < 2 * longest {
        return Vec::new();
    }
    let count = count.min(events / (2 * longest)).max(1);
    let span = events / count;
    let mut steps = Vec::new();
    for k in 0..count {
        let instance = k / 2 + 1;
        let start = k * span + 1 + rng.below(span - longest);
        let user = users[rng.below(users.len() as u64) as usize].clone();
        let ip = format!("10.66.6.{}", k + 1);
        if k % 2 == 0 {
            let host = rng.below(hosts as u64) as usize;
            for i in 0..=BRUTE_FORCE_FAILURES {
                steps.push(Step {
                    line: start + i * BRUTE_FORCE_GAP,
                    sequence: Sequence::BruteForce,
                    instance,
                    host,
                    user: user.clone(),
                    ip: ip.clone(),
                    failed: i < BRUTE_FORCE_FAILURES,
                });
            }
        } else {
            let first = rng.below(hosts as u64) as usize;
            for i in 0..LATERAL_HOSTS {
                steps.push(Step {
                    line: start + i as u64 * LATERAL_GAP,
                    sequence: Sequence::LateralMovement,
                    instance,
                    host: (first + i) % hosts,
                    user: user.clone(),
                    ip: ip.clone(),
                    failed: false,
                });
            }
        }
    }
    steps.sort_by_key(|s| std::cmp::Reverse(s.line));
    steps
}
