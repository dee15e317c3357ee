//! The matching runtime of hypersigma.
//!
//! This crate will hold the fast path (Hyperscan prefilter, zero-copy event
//! access, the program VM, the multi-threaded pipeline). For now it holds the
//! event reader that every command shares: JSON lines, with every bad line
//! reported with its line number and every good one kept.
#![deny(missing_docs)]

pub mod reader;
