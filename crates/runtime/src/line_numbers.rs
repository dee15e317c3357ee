//! Line numbers for chunks whose lines only their workers count.
//!
//! The reader sends a mapped file's lines as runs it does not cut
//! (`read_chunks.rs`), so it cannot say on which line a run starts. Each
//! chunk's positions are therefore numbered from the chunk's start, and a
//! chunk says how many lines precede it when the reader knows
//! ([`FirstLine::After`]: a file's first chunk, chunks the reader cut
//! itself) or that it follows the chunk before it
//! ([`FirstLine::AfterPrevious`]).
//!
//! Workers [`LineNumbers::publish`] each chunk's count once its lines are
//! all cut, without waiting. A worker that needs absolute positions (to
//! report a detection or a rejected line) asks for its chunk's base: either
//! before publishing the chunk, or after publishing it with `keep_base`
//! (so that the base is kept for it once resolved). [`LineNumbers::try_base`]
//! answers at once if the base is known; [`LineNumbers::base`] waits until
//! every earlier chunk is published. Chunks are taken from the reader's
//! channel in order and publishing never waits, so the earliest unpublished
//! chunk's worker never waits on a later one: the numbering cannot
//! deadlock.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Condvar, Mutex, PoisonError};

/// Where a chunk's lines start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FirstLine {
    /// After this many lines of its input.
    After(u64),
    /// Right after the lines of the chunk before it (the same input).
    AfterPrevious,
}

/// The chunks' line counts, resolved in chunk order into where each chunk
/// starts.
#[derive(Default)]
pub(crate) struct LineNumbers {
    state: Mutex<Resolved>,
    advanced: Condvar,
}

#[derive(Default)]
struct Resolved {
    /// The first chunk not yet resolved (every one before it published).
    next: u64,
    /// Lines of its input up to the end of chunk `next - 1`.
    end: u64,
    /// Published chunks past `next`: where they start and their lines.
    published: BTreeMap<u64, (FirstLine, u64)>,
    /// Chunks whose workers want their base (`AfterPrevious` ones): `Some`
    /// once every chunk before them is published.
    wanted: HashMap<u64, Option<u64>>,
}

impl Resolved {
    /// Chunk `seq` wants its base: known now if it is the next to resolve,
    /// else kept for it when it is.
    fn want(&mut self, seq: u64) {
        let known = (self.next == seq).then_some(self.end);
        self.wanted.entry(seq).or_insert(known);
    }

    /// Chunk `seq`'s base, if known (it was wanted), forgotten once taken.
    fn take(&mut self, seq: u64) -> Option<u64> {
        let base = self.wanted.get(&seq).copied().flatten()?;
        self.wanted.remove(&seq);
        Some(base)
    }
}

impl LineNumbers {
    /// Records that chunk `seq` (starting at `first`) holds `lines` lines,
    /// and resolves every chunk this completes; with `keep_base`, the
    /// chunk's base is kept for a later [`LineNumbers::try_base`] or
    /// [`LineNumbers::base`]. Never waits.
    pub(crate) fn publish(&self, seq: u64, first: FirstLine, lines: u64, keep_base: bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if keep_base && first == FirstLine::AfterPrevious {
            state.want(seq);
        }
        state.published.insert(seq, (first, lines));
        let mut advanced = false;
        loop {
            let next = state.next;
            let Some((first, lines)) = state.published.remove(&next) else {
                break;
            };
            let base = match first {
                FirstLine::After(lines) => lines,
                FirstLine::AfterPrevious => state.end,
            };
            state.end = base + lines;
            state.next = next + 1;
            // The chunk after it may want where it starts.
            let end = state.end;
            if let Some(slot) = state.wanted.get_mut(&(next + 1)) {
                *slot = Some(end);
            }
            advanced = true;
        }
        if advanced {
            self.advanced.notify_all();
        }
    }

    /// Lines of the input before chunk `seq`'s first, if every chunk before
    /// it is published; to be asked before chunk `seq` is published, or
    /// after it was with `keep_base`. Never waits.
    pub(crate) fn try_base(&self, seq: u64, first: FirstLine) -> Option<u64> {
        if let FirstLine::After(lines) = first {
            return Some(lines);
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.want(seq);
        state.take(seq)
    }

    /// [`LineNumbers::try_base`], waiting until every chunk before `seq`
    /// is published.
    pub(crate) fn base(&self, seq: u64, first: FirstLine) -> u64 {
        if let FirstLine::After(lines) = first {
            return lines;
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.want(seq);
        loop {
            if let Some(base) = state.take(seq) {
                return base;
            }
            state = self
                .advanced
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FirstLine, LineNumbers};
    use std::sync::Arc;

    #[test]
    fn bases_follow_the_counts_of_the_chunks_before() {
        let chunks = [
            (FirstLine::After(0), 5),
            (FirstLine::AfterPrevious, 7),
            (FirstLine::AfterPrevious, 0),
            (FirstLine::After(40), 3),
            (FirstLine::AfterPrevious, 2),
            (FirstLine::After(0), 1),
            (FirstLine::AfterPrevious, 4),
        ];
        let expected = [0, 5, 12, 40, 43, 0, 1];
        let in_order = LineNumbers::default();
        for (seq, &(first, lines)) in chunks.iter().enumerate() {
            assert_eq!(
                in_order.base(seq as u64, first),
                expected[seq],
                "chunk {seq}"
            );
            in_order.publish(seq as u64, first, lines, false);
        }
        // Published in another order (chunks that asked nothing), then the
        // last asks: what precedes it is known once all before it are in.
        let shuffled = LineNumbers::default();
        for seq in [3usize, 0, 5, 4, 1, 2] {
            let (first, lines) = chunks[seq];
            shuffled.publish(seq as u64, first, lines, false);
        }
        assert_eq!(shuffled.base(6, FirstLine::AfterPrevious), expected[6]);
        assert_eq!(shuffled.base(6, FirstLine::After(9)), 9);
    }

    #[test]
    fn a_worker_waits_for_the_chunks_before_its_own() {
        // Many threads each take the next chunk, ask its base, then
        // publish it, chunks finishing in any order: every base is the sum
        // of the counts before it.
        let numbers = Arc::new(LineNumbers::default());
        let counts: Vec<u64> = (0..2000u64).map(|n| (n * 7919) % 13).collect();
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (numbers, counts, next) = (numbers.clone(), counts.clone(), next.clone());
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        let seq = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(&lines) = counts.get(seq) else {
                            return got;
                        };
                        let first = if seq == 0 {
                            FirstLine::After(0)
                        } else {
                            FirstLine::AfterPrevious
                        };
                        // Some chunks ask before they publish, some after
                        // (keeping their base), some not at all.
                        match seq % 3 {
                            0 => numbers.publish(seq as u64, first, lines, false),
                            1 => {
                                got.push((seq, numbers.base(seq as u64, first)));
                                numbers.publish(seq as u64, first, lines, false);
                            }
                            _ => {
                                numbers.publish(seq as u64, first, lines, true);
                                let base = match numbers.try_base(seq as u64, first) {
                                    Some(base) => base,
                                    None => numbers.base(seq as u64, first),
                                };
                                got.push((seq, base));
                            }
                        }
                    }
                })
            })
            .collect();
        let mut asked = 0;
        for handle in handles {
            for (seq, base) in handle.join().unwrap() {
                assert_eq!(base, counts[..seq].iter().sum::<u64>(), "chunk {seq}");
                asked += 1;
            }
        }
        assert_eq!(asked, 2000 - 667);
        let state = numbers.state.lock().unwrap();
        assert!(state.wanted.is_empty() && state.published.is_empty());
    }
}
