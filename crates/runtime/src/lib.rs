//! The matching runtime of hypersigma.
//!
//! This crate will hold the fast path (Hyperscan prefilter, zero-copy event
//! access, the program VM, the multi-threaded pipeline). Today it holds the
//! event inputs every command shares: [`input::open`] reads JSON lines, JSON
//! arrays, concatenated JSON, EVTX, gzip and zstd, positioning every event and
//! reporting every bad line or record without stopping.
#![deny(missing_docs)]

pub mod accounting;
pub mod engine;
mod evtx_input;
pub mod input;
pub mod members;
pub mod pipeline;
pub mod read_chunks;
pub mod reader;
pub mod ruleset;
mod stage2;
