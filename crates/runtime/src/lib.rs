//! The matching runtime of hypersigma: the engine (Hyperscan stage 1 over raw
//! bytes, stage 2 on the candidates), compiled rulesets, the event inputs
//! (JSON lines, arrays, concatenated JSON, EVTX, gzip, zstd) and the
//! multi-threaded pipeline.
//!
//! # Embedding
//!
//! Build (or load) an [`engine::Engine`] once and share it by reference
//! between threads; each thread takes its own [`engine::Scanner`] and calls
//! [`engine::Scanner::match_event`] per event, or
//! [`engine::Scanner::match_batch`] per buffer of JSON lines:
//!
//! ```
//! use hypersigma_compiler::{parse_rule, CompileOptions, Profile};
//! use hypersigma_runtime::engine::{Engine, EngineOptions, Verdict};
//!
//! let rule = parse_rule(
//!     "title: whoami\nlogsource: {product: windows, category: process_creation}\n\
//!      detection:\n    sel: {CommandLine|contains: whoami}\n    condition: sel\n",
//!     &CompileOptions::default(),
//! ).unwrap();
//! let engine = Engine::new(vec![rule], EngineOptions::default()).unwrap();
//! let profile = Profile::sysmon();
//! let event = br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"whoami /all"}"#;
//! std::thread::scope(|s| {
//!     for _ in 0..2 {
//!         s.spawn(|| {
//!             let mut scanner = engine.scanner().unwrap();
//!             assert_eq!(scanner.match_event(event, &profile), Verdict::Matched(vec![0]));
//!             let mut out = Vec::new();
//!             scanner.match_batch(b"{\"EventID\":1}\n\n{oops\n", &profile, &mut out);
//!             assert_eq!(out.len(), 2);
//!         });
//!     }
//! });
//! ```
//!
//! [`engine::Scanner::match_event_full`] also returns a matched event's
//! parsed value; giving it back once done with it
//! ([`engine::Scanner::give_back`], as the pipeline does after writing its
//! detections) lets the next matched event of the same kind be written
//! into it instead of built afresh.
#![deny(missing_docs)]

pub mod accounting;
mod chunk_matching;
pub mod correlate;
pub mod engine;
mod evtx_input;
pub mod input;
mod length_prefixed;
mod line_numbers;
mod mapped_lines;
pub mod members;
mod partial;
pub mod pipeline;
mod prefetch;
mod raw_scope;
pub mod read_chunks;
pub mod reader;
pub mod ruleset;
mod special_bytes;
mod stage2;
mod strict_json;
#[cfg(test)]
mod test_rng;
