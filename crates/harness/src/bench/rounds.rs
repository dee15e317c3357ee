//! The order and the summary of `bench`'s timed replays.
//!
//! The replays run in rounds: each round replays the read-and-split floor,
//! the parse floor and matching on each thread count once, back to back.
//! A host whose speed drifts (a shared VM's slower and faster phases, a
//! neighbour's load, frequency scaling) then slows a floor and the
//! matching it is compared with alike, where a floor measured once before
//! all the matching would be compared with replays minutes later.
//!
//! Each figure is the median of its replays. A ratio to a floor is the
//! median over the rounds of each matching replay's ratio to the floor
//! replayed in its own round, so that one slow replay of either moves
//! neither the figure nor the ratio.

use std::time::Instant;

use anyhow::Result;

/// The seconds each timed replay took.
pub(super) struct Rounds<C> {
    /// The read-and-split floor, one replay a round.
    pub(super) split: Vec<f64>,
    /// The parse floor, one replay a round.
    pub(super) parse: Vec<f64>,
    /// Per thread count, in the order given: the count, its replays'
    /// seconds (one a round), and what its last replay counted.
    pub(super) runs: Vec<(usize, Vec<f64>, C)>,
}

/// Runs `repeat` rounds (at least one): in each, `split` and `parse` (one
/// replay of each floor), then `replay` on each of `threads` in turn, each
/// timed. What a replay returns is checked by the caller; the last one of
/// each thread count is kept.
pub(super) fn run<C>(
    repeat: u32,
    threads: &[usize],
    mut split: impl FnMut() -> Result<()>,
    mut parse: impl FnMut() -> Result<()>,
    mut replay: impl FnMut(usize) -> Result<C>,
) -> Result<Rounds<C>> {
    let rounds = repeat.max(1) as usize;
    let mut split_secs = Vec::with_capacity(rounds);
    let mut parse_secs = Vec::with_capacity(rounds);
    let mut runs: Vec<(usize, Vec<f64>, Option<C>)> = threads
        .iter()
        .map(|&n| (n.max(1), Vec::with_capacity(rounds), None))
        .collect();
    for _ in 0..rounds {
        split_secs.push(timed(&mut split)?.0);
        parse_secs.push(timed(&mut parse)?.0);
        for (n, seconds, last) in &mut runs {
            let (took, counted) = timed(|| replay(*n))?;
            seconds.push(took);
            *last = Some(counted);
        }
    }
    Ok(Rounds {
        split: split_secs,
        parse: parse_secs,
        runs: runs
            .into_iter()
            .filter_map(|(n, seconds, last)| Some((n, seconds, last?)))
            .collect(),
    })
}

/// The seconds `f` took, and what it returned.
fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(f64, T)> {
    let t = Instant::now();
    let out = f()?;
    Ok((t.elapsed().as_secs_f64(), out))
}

/// The median of `samples` (the mean of the two middle ones for an even
/// count); 0 for none.
pub(super) fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The median over the rounds of `floor[i] / run[i]`: each replay's
/// throughput against the floor's in the same round (seconds are per
/// replay of the same input, so the ratio of throughputs is that of the
/// floor's seconds to the replay's).
pub(super) fn paired_ratio(floor: &[f64], run: &[f64]) -> f64 {
    let ratios: Vec<f64> = floor
        .iter()
        .zip(run)
        .filter(|(_, &r)| r > 0.0)
        .map(|(f, r)| f / r)
        .collect();
    median(&ratios)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0]), 3.0);
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        // One outlier moves the mean, not the median.
        assert_eq!(median(&[1.0, 1.0, 30.0]), 1.0);
    }

    #[test]
    fn a_ratio_pairs_each_replay_with_its_rounds_floor() {
        // The host twice as slow in the second round: the floor and the
        // replay alike, so every round's ratio is the same.
        assert_eq!(paired_ratio(&[1.0, 2.0, 1.0], &[4.0, 8.0, 4.0]), 0.25);
        // Against the median floor and the median replay it would be
        // 1/4 too here, but not with the slow round's floor alone.
        assert_eq!(paired_ratio(&[1.0, 2.0, 1.1], &[4.0, 4.0, 4.0]), 0.275);
        // A replay of no measurable time is left out, not divided by.
        assert_eq!(paired_ratio(&[1.0, 1.0], &[0.0, 2.0]), 0.5);
    }

    #[test]
    fn rounds_interleave_the_floors_and_every_thread_count() {
        let order = std::cell::RefCell::new(Vec::new());
        let rounds = run(
            2,
            &[1, 0, 2],
            || {
                order.borrow_mut().push("split".to_string());
                Ok(())
            },
            || {
                order.borrow_mut().push("parse".to_string());
                Ok(())
            },
            |n| {
                order.borrow_mut().push(format!("match {n}"));
                Ok(n * 10)
            },
        )
        .unwrap();
        let round = ["split", "parse", "match 1", "match 1", "match 2"];
        let expected: Vec<&str> = round.iter().chain(&round).copied().collect();
        assert_eq!(*order.borrow(), expected, "0 threads runs as 1");
        assert_eq!(rounds.split.len(), 2);
        assert_eq!(rounds.parse.len(), 2);
        let counts: Vec<(usize, usize, usize)> = rounds
            .runs
            .iter()
            .map(|(n, seconds, last)| (*n, seconds.len(), *last))
            .collect();
        assert_eq!(counts, [(1, 2, 10), (1, 2, 10), (2, 2, 20)]);
        // No round at all is still one round; an error stops the rounds.
        let one = run(0, &[1], || Ok(()), || Ok(()), |_| Ok(())).unwrap();
        assert_eq!(one.split.len(), 1);
        let failed = run(
            3,
            &[1],
            || Ok(()),
            || anyhow::bail!("unreadable"),
            |_| Ok(()),
        );
        assert!(failed.is_err());
    }
}
