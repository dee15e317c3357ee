//! The binary's allocator: mimalloc (the matching threads allocate small
//! short-lived values per event), told to give freed memory back to the
//! operating system 10 ms after it is freed instead of a second.
//!
//! The pipeline's threads come and go with each run (each replay of
//! `bench`), their scratch and memos with them, and freed memory kept
//! resident for a second counted in the peak: `scan` of one million
//! generated events with all SigmaHQ on two threads peaked at 230-240 MB
//! with mimalloc's default delay, 209-211 MB with 10 ms, for ~20 % more
//! minor page faults (BENCHMARKS.md, v46, when the memos' stores still grew
//! by doubling).

use std::os::raw::c_long;

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// `mi_option_purge_delay` in the `mi_option_e` enumeration of the
/// mimalloc that `libmimalloc-sys` 0.1.49 builds (v3,
/// `include/mimalloc.h`); the crate's own option constants follow v2's
/// numbering. A test checks that the option there holds v3's default
/// purge delay.
const PURGE_DELAY: mi_option_t = 15;

/// Milliseconds freed memory stays resident (mimalloc v2's default).
const PURGE_DELAY_MS: c_long = 10;

/// The global allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Sets the allocator's options; called first thing in `main`.
pub fn configure() {
    // SAFETY: `mi_option_set` only stores the value of an option of the
    // linked mimalloc, which reads it on its next purge.
    unsafe { mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libmimalloc_sys::mi_option_get;

    #[test]
    fn the_purge_delay_option_holds_mimallocs_default_delay() {
        // v3 purges after 1,000 ms by default; no other option of its
        // enumeration defaults to that value, so another library version
        // that moved the option fails here.
        // SAFETY: reads an option's value.
        assert_eq!(unsafe { mi_option_get(PURGE_DELAY) }, 1000);
    }
}
