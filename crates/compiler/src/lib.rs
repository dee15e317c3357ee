//! Sigma rules in, a typed IR and its reference semantics out.
//!
//! `hypersigma-compiler` reads Sigma rule files (Sigma specification v2.1) into
//! a typed intermediate representation ([`Rule`]) and evaluates it with a
//! reference evaluator ([`evaluate`]) that defines what every rule means. The
//! fast engine of `hypersigma-runtime` is tested against that evaluator.
//!
//! ```
//! use hypersigma_compiler::{evaluate, parse_rule, CompileOptions, Profile};
//!
//! let rule = parse_rule(r#"
//! title: cmd with /c
//! logsource: {product: windows, category: process_creation}
//! detection:
//!     selection:
//!         Image|endswith: '\cmd.exe'
//!         CommandLine|contains: '/c'
//!     condition: selection
//! "#, &CompileOptions::default()).unwrap();
//! let event = serde_json::json!({
//!     "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
//!     "Image": "C:\\Windows\\System32\\CMD.EXE", "CommandLine": "cmd /c whoami"});
//! assert!(evaluate(&rule, &event, &Profile::sysmon()));
//! // Scoped by log source: a Sysmon network connection is not a process creation.
//! let other = serde_json::json!({
//!     "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3,
//!     "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c whoami"});
//! assert!(!evaluate(&rule, &other, &Profile::sysmon()));
//! ```
//!
//! Stages, one module each: [`loader`] (files, documents, collections) →
//! [`parse`](crate::loader) of one document (metadata, selections) with
//! [`modifiers`] and value building → [`condition`] parsing → the [`ir`].
//! Errors are typed ([`Error`], [`ErrorKind`]) and carry file, rule id and line.
#![deny(missing_docs)]
// Errors carry their location (file, id, title, line) by value; they are the cold path.
#![allow(clippy::result_large_err)]

pub mod byte_set;
pub mod clauses;
pub mod condition;
pub mod correlation;
pub mod digit_runs;
pub mod error;
pub mod eval;
pub mod filter;
pub mod ir;
pub mod loader;
pub mod logsource;
pub mod modifiers;
mod parse;
pub mod pattern;
pub mod placeholders;
pub mod profile;
pub mod program;
pub mod regex_filter;
pub mod regex_literals;
pub mod required_values;
mod values;
pub mod witness;

pub use correlation::{Correlation, CorrelationType};
pub use error::{Error, ErrorKind};
pub use eval::{
    evaluate, evaluate_detailed, evaluate_program, evaluate_program_as, in_scope, source_for,
    EvalOptions, Evaluation,
};
pub use filter::Filter;
pub use ir::{
    Condition, Detection, FieldMatch, Level, LogSource, Metadata, Predicate, Rule, Selection,
    Status,
};
pub use loader::{
    load_paths, parse_documents, parse_rule, parse_rules, CompileOptions, Document, RuleSet,
};
pub use logsource::{LogSourceMap, Scope, Source};
pub use placeholders::Placeholders;
pub use profile::Profile;
