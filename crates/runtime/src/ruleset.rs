//! Compiled rulesets on disk: one file holding the rules' typed IR, the
//! stage-1 tables (witness groups, member names) and the serialised Hyperscan
//! database, so that a collector restarting often loads a large rule set
//! without recompiling it (`hypersigma compile -o rules.hsr`, then
//! `-r rules.hsr`).
//!
//! Format: the 8-byte magic [`MAGIC`], then a `postcard` encoding of
//! `RulesetFile`: its rules in up to `RULE_CHUNKS` runs encoded apart
//! (byte strings inside the file), which a load decodes on the machine's
//! threads; the Hyperscan databases as byte strings. The Hyperscan
//! database is checked by Hyperscan itself (platform, version) when it is
//! deserialised; condition programs are recompiled and verified on load,
//! never trusted from the file. The raw checks are built on a thread of
//! their own while this one deserialises the databases and builds the
//! rest. Stage-2 lowering, automata and `re` expressions are built on
//! first use.

use std::borrow::Cow;
use std::path::Path;

use crate::engine::{all_profiles, ScopeRouting, Subsets};
use crate::raw_scope::RawChecks;

use hyperscan::prelude::*;
use hyperscan::SerializedDatabase;
use hypersigma_compiler::correlation::Correlation;
use hypersigma_compiler::{Rule, Scope};

use crate::engine::{
    compile_programs, ClauseTable, Engine, EngineError, EngineOptions, EngineStats, WitnessGroup,
};

/// The first bytes of a compiled ruleset file. Version 9: the non-ASCII
/// database holds the pass-through patterns (`lowering::pass_through_patterns`).
pub const MAGIC: &[u8; 8] = b"HSRULES\x09";

/// Why a ruleset could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RulesetError {
    /// Reading or writing the file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The failure.
        source: std::io::Error,
    },
    /// Not a compiled ruleset, or one from another version of hypersigma.
    #[error("{path}: not a hypersigma compiled ruleset of this version ({reason})")]
    Format {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// Building the engine from the file's content.
    #[error("{path}: {source}")]
    Engine {
        /// The file.
        path: String,
        /// The failure.
        source: EngineError,
    },
}

/// What a compiled ruleset file holds: borrowed from an engine when
/// written, owned when read.
#[derive(serde::Serialize, serde::Deserialize)]
struct RulesetFile<'a> {
    /// The rules in [`RULE_CHUNKS`] runs, each its own `postcard`
    /// encoding, so that a load decodes them on several threads.
    rule_chunks: Vec<RuleChunk<'a>>,
    scopes: Cow<'a, [Scope]>,
    rule_scope: Cow<'a, [u32]>,
    always: Cow<'a, [u32]>,
    pattern_groups: Cow<'a, [Vec<u32>]>,
    /// Each witness pattern's literal and whether it is cased (the length
    /// of its matches, and the per-scope databases).
    literals: Cow<'a, [(String, bool)]>,
    groups: Cow<'a, [WitnessGroup]>,
    member_ids: Vec<(Vec<u8>, u32)>,
    clauses: Cow<'a, ClauseTable>,
    first_pass_through: usize,
    witnesses: usize,
    /// `hs_serialize_database` output (as one byte string: a sequence of
    /// bytes cost a visit a byte when read).
    #[serde(with = "serde_bytes", borrow)]
    database: Cow<'a, [u8]>,
    /// The same for the non-ASCII witnesses' database, when there are some.
    #[serde(with = "serde_bytes", borrow)]
    non_ascii_database: Option<Cow<'a, [u8]>>,
    /// Correlation rules, resolved again on load.
    correlations: Cow<'a, [Correlation]>,
}

/// Runs of rules encoded apart (at most): enough for the threads of the
/// machines a load runs on to share them evenly.
const RULE_CHUNKS: usize = 16;

/// One run of rules, `postcard`-encoded.
#[derive(serde::Serialize, serde::Deserialize)]
struct RuleChunk<'a>(#[serde(with = "serde_bytes", borrow)] Cow<'a, [u8]>);

/// The rules of `chunks`, decoded on up to as many threads as the
/// machine has (the rules' typed IR is most of a load's work).
fn decode_rules(chunks: &[RuleChunk<'_>]) -> Result<Vec<Rule>, String> {
    let decode = |chunk: &RuleChunk<'_>| {
        postcard::from_bytes::<Vec<Rule>>(&chunk.0).map_err(|e| e.to_string())
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(chunks.len())
        .max(1);
    // Thread `t` decodes chunks t, t + threads, … (chunks are of similar
    // sizes); the calling thread takes its share too.
    let share = |t: usize| -> Result<Vec<(usize, Vec<Rule>)>, String> {
        chunks
            .iter()
            .enumerate()
            .skip(t)
            .step_by(threads)
            .map(|(i, chunk)| Ok((i, decode(chunk)?)))
            .collect()
    };
    let mut decoded: Vec<(usize, Vec<Rule>)> = std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads)
            .map(|t| scope.spawn(move || share(t)))
            .collect();
        let mut all = share(0)?;
        for other in others {
            let theirs = other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            all.extend(theirs?);
        }
        Ok::<_, String>(all)
    })?;
    decoded.sort_by_key(|(i, _)| *i);
    let mut rules = Vec::with_capacity(decoded.iter().map(|(_, r)| r.len()).sum());
    for (_, chunk) in decoded {
        rules.extend(chunk);
    }
    Ok(rules)
}

/// Whether a file starts like a compiled ruleset, of this format version or
/// another (which loading then refuses by name, rather than the file being
/// read as a rule).
pub fn is_ruleset(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head[..7] == MAGIC[..7]
}

impl Engine {
    /// The engine as a compiled ruleset file's bytes.
    pub fn to_ruleset_bytes(&self) -> Result<Vec<u8>, EngineError> {
        let database = self
            .db
            .serialize()
            .map_err(|e| EngineError::Hyperscan(e.to_string()))?;
        let non_ascii_database = match &self.non_ascii_db {
            Some(db) => Some(
                db.serialize()
                    .map_err(|e| EngineError::Hyperscan(e.to_string()))?,
            ),
            None => None,
        };
        let mut member_ids: Vec<(Vec<u8>, u32)> = self
            .member_ids
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        member_ids.sort();
        let per_chunk = self.rules.len().div_ceil(RULE_CHUNKS).max(1);
        let rule_chunks = self
            .rules
            .chunks(per_chunk)
            .map(|chunk| postcard::to_allocvec(chunk).map(|bytes| RuleChunk(Cow::Owned(bytes))))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EngineError::Hyperscan(format!("encoding the ruleset: {e}")))?;
        let file = RulesetFile {
            rule_chunks,
            scopes: Cow::Borrowed(&self.scopes),
            rule_scope: Cow::Borrowed(&self.rule_scope),
            always: Cow::Borrowed(&self.always),
            pattern_groups: Cow::Borrowed(&self.pattern_groups),
            literals: Cow::Borrowed(&self.literals),
            groups: Cow::Borrowed(&self.groups),
            member_ids,
            clauses: Cow::Borrowed(&self.clauses),
            first_pass_through: self.first_pass_through,
            witnesses: self.stats.witnesses,
            database: Cow::Borrowed(database.as_ref()),
            non_ascii_database: non_ascii_database
                .as_ref()
                .map(|d| Cow::Borrowed(d.as_ref())),
            correlations: Cow::Borrowed(self.correlations.correlations()),
        };
        let mut out = MAGIC.to_vec();
        let body = postcard::to_allocvec(&file)
            .map_err(|e| EngineError::Hyperscan(format!("encoding the ruleset: {e}")))?;
        out.extend(body);
        Ok(out)
    }

    /// Writes the engine as a compiled ruleset file.
    pub fn save_ruleset(&self, path: &Path) -> Result<(), RulesetError> {
        let bytes = self
            .to_ruleset_bytes()
            .map_err(|source| RulesetError::Engine {
                path: path.display().to_string(),
                source,
            })?;
        std::fs::write(path, bytes).map_err(|source| RulesetError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Loads a compiled ruleset file (`options` are the run-time ones:
    /// prefilter, unscoped; the witness strategy was fixed at compile time).
    pub fn load_ruleset(path: &Path, options: EngineOptions) -> Result<Engine, RulesetError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| RulesetError::Io {
            path: name.clone(),
            source,
        })?;
        Engine::from_ruleset_bytes(&bytes, options).map_err(|e| match e {
            RulesetError::Format { reason, .. } => RulesetError::Format { path: name, reason },
            RulesetError::Engine { source, .. } => RulesetError::Engine { path: name, source },
            other => other,
        })
    }

    /// [`Engine::load_ruleset`] from bytes.
    pub fn from_ruleset_bytes(
        bytes: &[u8],
        options: EngineOptions,
    ) -> Result<Engine, RulesetError> {
        let format = |reason: String| RulesetError::Format {
            path: String::new(),
            reason,
        };
        let body = match bytes.split_at_checked(MAGIC.len()) {
            Some((head, body)) if head == MAGIC.as_slice() => body,
            Some((head, _)) if head[..7] == MAGIC[..7] => {
                return Err(format(std::format!(
                    "format version {}, this build reads version {}; compile the rules again",
                    head[7],
                    MAGIC[7]
                )))
            }
            _ => return Err(format("bad magic".into())),
        };
        let file: RulesetFile = postcard::from_bytes(body).map_err(|e| format(e.to_string()))?;
        let rules = decode_rules(&file.rule_chunks).map_err(format)?;
        let n = rules.len();
        let consistent = file.rule_scope.len() == n
            && file
                .rule_scope
                .iter()
                .all(|&s| (s as usize) < file.scopes.len())
            && file.always.iter().all(|&r| (r as usize) < n)
            && file.pattern_groups.len() == file.literals.len()
            && file.first_pass_through == file.literals.len()
            && file
                .pattern_groups
                .iter()
                .flatten()
                .all(|&g| (g as usize) < file.groups.len())
            && file
                .groups
                .iter()
                .all(|g| g.rules.iter().all(|&r| (r as usize) < n))
            && file.clauses.consistent(n, file.groups.len());
        if !consistent {
            return Err(format("inconsistent tables".into()));
        }
        let engine_error = |source| RulesetError::Engine {
            path: String::new(),
            source,
        };
        // The raw checks (the largest of what is built from the rules) on a
        // thread of their own, the rest on this one.
        let (raw, built) = std::thread::scope(|scope| {
            let raw = scope.spawn(|| {
                RawChecks::new(&rules, &file.scopes, &all_profiles(&[]))
                    .with_gate(options.scope_gate)
            });
            let built = (|| {
                let database = |bytes: &[u8]| -> Result<BlockDatabase, RulesetError> {
                    bytes
                        .deserialize()
                        .map_err(|e| engine_error(EngineError::Hyperscan(e.to_string())))
                };
                let db = database(&file.database)?;
                let non_ascii_db = file
                    .non_ascii_database
                    .as_deref()
                    .map(database)
                    .transpose()?;
                let programs = compile_programs(&rules).map_err(engine_error)?;
                let reads = crate::partial::ReadSet::new(&rules);
                let subsets = Subsets::new(
                    &file.literals,
                    &file.groups,
                    &file.rule_scope,
                    &file.clauses,
                    file.scopes.len(),
                );
                Ok((db, non_ascii_db, programs, reads, subsets))
            })();
            let raw = raw
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (raw, built)
        });
        let (db, non_ascii_db, programs, reads, subsets) = built?;
        let member_ids: crate::engine::MemberIds = file.member_ids.into_iter().collect();
        let correlations =
            crate::correlate::CorrelationSet::new(file.correlations.into_owned(), &rules)
                .map_err(|e| engine_error(EngineError::Correlation(e)))?;
        let routing = ScopeRouting::new(&file.rule_scope, &file.always, &file.groups);
        Ok(Engine {
            reads,
            correlations,
            programs,
            routing,
            lowered: std::sync::OnceLock::new(),
            stats: EngineStats {
                witnesses: file.witnesses,
                always: file.always.len(),
                clauses: file.clauses.len(),
            },
            rules,
            scopes: file.scopes.into_owned(),
            rule_scope: file.rule_scope.into_owned(),
            always: file.always.into_owned(),
            pattern_groups: file.pattern_groups.into_owned(),
            number_patterns: crate::engine::number_patterns(&file.literals),
            copy_folds: std::sync::OnceLock::new(),
            field_folds: std::sync::OnceLock::new(),
            literals: file.literals.into_owned(),
            subsets,
            groups: file.groups.into_owned(),
            member_ids,
            clauses: file.clauses.into_owned(),
            first_pass_through: file.first_pass_through,
            raw,
            db,
            non_ascii_db,
            options,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Verdict;
    use hypersigma_compiler::{parse_rule, CompileOptions, Profile};

    #[test]
    fn round_trip_gives_the_same_verdicts() {
        let rules: Vec<Rule> = [
            "    s: {CommandLine|contains: 'whoami'}\n    condition: s",
            "    s: {CommandLine|re: 'mimi[k]atz'}\n    condition: s",
            "    s: {Image|endswith: ['\\a.exe', '\\b.exe', '\\c.exe', '\\d.exe']}\n    condition: not s",
            "    s: {CommandLine|contains: ['😈', 'résumé']}\n    condition: s",
        ]
        .iter()
        .map(|d| {
            let text = format!("title: t\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n{d}");
            parse_rule(&text, &CompileOptions::default()).unwrap()
        })
        .collect();
        let engine = Engine::new(rules, EngineOptions::default()).unwrap();
        let bytes = engine.to_ruleset_bytes().unwrap();
        let loaded = Engine::from_ruleset_bytes(&bytes, EngineOptions::default()).unwrap();
        assert_eq!(loaded.rules().len(), 4);
        assert!(loaded.non_ascii_db.is_some());
        let p = Profile::sysmon();
        let (mut a, mut b) = (engine.scanner().unwrap(), loaded.scanner().unwrap());
        for cmd in [
            "whoami",
            "mimikatz",
            "C:\\\\x\\\\c.exe",
            "x",
            "a 😈",
            "RÉSUMÉ",
        ] {
            let raw = format!(
                r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"{cmd}","Image":"{cmd}"}}"#
            );
            assert_eq!(
                a.match_event(raw.as_bytes(), &p),
                b.match_event(raw.as_bytes(), &p),
                "{raw}"
            );
            assert_eq!(a.candidates(raw.as_bytes()), b.candidates(raw.as_bytes()));
            // Non-ASCII witnesses are found in their own database.
            if !cmd.is_ascii() {
                assert!(b.candidates(raw.as_bytes()).contains(&3), "{raw}");
                let Verdict::Matched(rules) = b.match_event(raw.as_bytes(), &p) else {
                    panic!("{raw} rejected");
                };
                assert!(rules.contains(&3), "{raw}");
            }
        }
        // Damaged files are refused with a reason, never loaded.
        assert!(Engine::from_ruleset_bytes(b"nope", EngineOptions::default()).is_err());
        assert!(
            Engine::from_ruleset_bytes(&bytes[..bytes.len() / 2], EngineOptions::default())
                .is_err()
        );
        let mut flipped = bytes.clone();
        let last = flipped.len() - 100;
        flipped[last] ^= 0xff;
        let _ = Engine::from_ruleset_bytes(&flipped, EngineOptions::default());
        // Another format version is a ruleset, refused by its version.
        let mut older = bytes.clone();
        older[7] = MAGIC[7] - 1;
        let path = std::env::temp_dir().join(format!("hs-older-{}.hsr", std::process::id()));
        std::fs::write(&path, &older).unwrap();
        assert!(is_ruleset(&path));
        std::fs::remove_file(&path).unwrap();
        match Engine::from_ruleset_bytes(&older, EngineOptions::default()) {
            Err(RulesetError::Format { reason, .. }) => {
                assert!(reason.contains("format version"), "{reason}")
            }
            _ => panic!("a ruleset of another version loaded"),
        }
    }

    #[test]
    fn rule_runs_decode_in_order_and_a_bad_run_is_an_error() {
        let rules: Vec<Rule> = (0..40)
            .map(|i| {
                let text = format!(
                    "title: t{i}\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n    s: {{CommandLine|contains: 'x{i}'}}\n    condition: s"
                );
                parse_rule(&text, &CompileOptions::default()).unwrap()
            })
            .collect();
        let chunks: Vec<RuleChunk> = rules
            .chunks(3)
            .map(|c| RuleChunk(Cow::Owned(postcard::to_allocvec(c).unwrap())))
            .collect();
        let decoded = decode_rules(&chunks).unwrap();
        let titles: Vec<&str> = decoded.iter().map(|r| r.meta.title.as_str()).collect();
        let expected: Vec<String> = (0..40).map(|i| format!("t{i}")).collect();
        assert_eq!(titles, expected);
        let mut bad = chunks;
        bad[5] = RuleChunk(Cow::Owned(vec![0xff; 7]));
        assert!(decode_rules(&bad).is_err());
        assert!(decode_rules(&[]).unwrap().is_empty());
    }
}
