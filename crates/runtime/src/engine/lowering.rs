//! The lowering of an engine's rules for stage 1: each rule's scope, its
//! witnesses grouped by literal and by the members they count in (the
//! rules without any listed apart), its clauses, and the Hyperscan
//! databases of the witness literals and the pass-through patterns.

use std::collections::{BTreeMap, BTreeSet};

use hyperscan::prelude::*;
use hypersigma_compiler::clauses::{checked_clauses, ScannedLiterals};
use hypersigma_compiler::witness::{
    field_members, folds_to_ascii, rule_witnesses, Strategy, Witness, Witnesses,
};
use hypersigma_compiler::{Profile, Rule, Scope};

use super::{ClauseTable, EngineError, MemberIds, WitnessGroup};

/// Hyperscan expression matching exactly these bytes.
fn literal_expression(bytes: &[u8]) -> String {
    let mut e = String::with_capacity(bytes.len() * 4);
    for &b in bytes {
        if b.is_ascii_alphanumeric() {
            e.push(char::from(b));
        } else {
            e.push_str(&format!("\\x{b:02x}"));
        }
    }
    e
}

/// The stage-1 pattern of witness literal `id` (JSON form), caseless unless
/// `cased`. Every occurrence is reported (no SINGLEMATCH): the first one may
/// lie in a member the witness does not count in.
pub(crate) fn witness_pattern(
    json: &str,
    cased: bool,
    id: usize,
) -> Result<Pattern, hyperscan::Error> {
    let flags = if cased {
        CompileFlags::empty()
    } else {
        CompileFlags::CASELESS
    };
    let mut p = Pattern::with_flags(literal_expression(json.as_bytes()), flags)?;
    p.id = Some(id);
    Ok(p)
}

/// Witness groups under construction: (pattern, member set) → group id.
type GroupKey = (usize, Option<BTreeSet<Vec<u8>>>);

/// The distinct scopes of the rules, and each rule's.
pub(super) fn rule_scopes(rules: &[Rule]) -> (Vec<Scope>, Vec<u32>) {
    let mut scopes: Vec<Scope> = Vec::new();
    let mut rule_scope = Vec::with_capacity(rules.len());
    for rule in rules {
        let id = match scopes.iter().position(|s| *s == rule.scope) {
            Some(id) => id,
            None => {
                scopes.push(rule.scope.clone());
                scopes.len() - 1
            }
        };
        rule_scope.push(id as u32);
    }
    (scopes, rule_scope)
}

/// What stage 1 knows of the rules' witnesses.
pub(super) struct Witnessing {
    /// Rules without witnesses.
    pub(super) always: Vec<u32>,
    pub(super) groups: Vec<WitnessGroup>,
    /// Pattern id → the witness groups it serves.
    pub(super) pattern_groups: Vec<Vec<u32>>,
    /// Each pattern's literal (JSON form) and whether it is cased.
    pub(super) literals: Vec<(String, bool)>,
    pub(super) member_ids: MemberIds,
    pub(super) clauses: ClauseTable,
}

/// Groups the rules' witnesses (chosen by `strategy`) by literal and by
/// the members they count in (field-scoped ones: where `profiles` read
/// their field for the rule's scope, `rule_scope`), and their clauses.
pub(super) fn lower_witnesses(
    rules: &[Rule],
    rule_scope: &[u32],
    profiles: &[Profile],
    strategy: Strategy,
) -> Witnessing {
    let mut always = Vec::new();
    let mut literal_ids: BTreeMap<(String, bool), usize> = BTreeMap::new();
    let mut group_ids: BTreeMap<GroupKey, usize> = BTreeMap::new();
    let mut group_rules: Vec<Vec<u32>> = Vec::new();
    let mut clause_ids: BTreeMap<Vec<u32>, u32> = BTreeMap::new();
    let mut rule_clauses_ids: Vec<Vec<u32>> = Vec::with_capacity(rules.len());
    let primaries: Vec<Witnesses> = rules
        .iter()
        .map(|rule| rule_witnesses(rule, strategy))
        .collect();
    let scanned = ScannedLiterals::new(
        primaries
            .iter()
            .zip(rule_scope)
            .map(|(w, &s)| (s as usize, w)),
    );
    for (i, (rule, witnesses)) in rules.iter().zip(primaries).enumerate() {
        let mut group_of = |w: Witness| -> usize {
            let next = literal_ids.len();
            let pattern = *literal_ids
                .entry((w.pattern_literal(), w.cased))
                .or_insert(next);
            let members = w.field.map(|f| field_members(&f, &rule.scope, profiles));
            let next = group_ids.len();
            *group_ids.entry((pattern, members)).or_insert(next)
        };
        let primary = match witnesses {
            Witnesses::Always => {
                always.push(i as u32);
                None
            }
            Witnesses::AnyOf(set) => {
                for w in &set {
                    let g = group_of(w.clone());
                    if group_rules.len() <= g {
                        group_rules.resize(g + 1, Vec::new());
                    }
                    if group_rules[g].last() != Some(&(i as u32)) {
                        group_rules[g].push(i as u32);
                    }
                }
                Some(set)
            }
        };
        let mut mine = Vec::new();
        let scope = rule_scope[i] as usize;
        let in_scan = |w: &Witness| scanned.holds(scope, w);
        for clause in checked_clauses(rule, primary.as_ref(), in_scan) {
            let mut gs: Vec<u32> = clause.into_iter().map(|w| group_of(w) as u32).collect();
            gs.sort_unstable();
            gs.dedup();
            let next = clause_ids.len() as u32;
            mine.push(*clause_ids.entry(gs).or_insert(next));
        }
        mine.sort_unstable();
        mine.dedup();
        rule_clauses_ids.push(mine);
    }
    group_rules.resize(group_ids.len(), Vec::new());
    let clauses = ClauseTable::new(rule_clauses_ids, clause_ids);
    let mut member_ids = MemberIds::default();
    let mut groups: Vec<Option<WitnessGroup>> = (0..group_rules.len()).map(|_| None).collect();
    let mut pattern_groups: Vec<Vec<u32>> = vec![Vec::new(); literal_ids.len()];
    for ((pattern, members), g) in group_ids {
        let members = members.map(|set| {
            let mut ids: Vec<u32> = set
                .into_iter()
                .map(|m| {
                    let next = member_ids.len() as u32;
                    *member_ids.entry(m).or_insert(next)
                })
                .collect();
            ids.sort_unstable();
            ids
        });
        groups[g] = Some(WitnessGroup {
            members,
            rules: std::mem::take(&mut group_rules[g]),
            pattern: pattern as u32,
        });
        pattern_groups[pattern].push(g as u32);
    }
    let groups: Vec<WitnessGroup> = groups.into_iter().flatten().collect();
    let mut literals = vec![(String::new(), false); literal_ids.len()];
    for (literal, id) in literal_ids {
        literals[id] = literal;
    }
    Witnessing {
        always,
        groups,
        pattern_groups,
        literals,
        member_ids,
        clauses,
    }
}

/// The stage-1 databases of the witness literals (pattern ids their
/// indices): the ASCII ones with the pass-through patterns after them
/// (ids from `literals.len()` on), and the non-ASCII ones apart.
pub(super) fn stage1_databases(
    literals: &[(String, bool)],
) -> Result<(BlockDatabase, Option<BlockDatabase>), EngineError> {
    let mut patterns: Vec<Pattern> = Vec::new();
    let mut non_ascii_patterns: Vec<Pattern> = Vec::new();
    let hs_err = |e: hyperscan::Error| EngineError::Hyperscan(e.to_string());
    for (id, (json, cased)) in literals.iter().enumerate() {
        let p = witness_pattern(json, *cased, id).map_err(hs_err)?;
        if json.is_ascii() {
            patterns.push(p);
        } else {
            non_ascii_patterns.push(p);
        }
    }
    patterns.extend(pass_through_patterns(literals.len(), true).map_err(hs_err)?);
    let db: BlockDatabase = Patterns::from(patterns).build().map_err(hs_err)?;
    let non_ascii_db: Option<BlockDatabase> = if non_ascii_patterns.is_empty() {
        None
    } else {
        non_ascii_patterns.extend(pass_through_patterns(literals.len(), false).map_err(hs_err)?);
        Some(Patterns::from(non_ascii_patterns).build().map_err(hs_err)?)
    };
    Ok((db, non_ascii_db))
}

/// The patterns of events stage 1 cannot judge from raw bytes, numbered
/// from `first_pass_through` (a match passes the event to every rule): a
/// non-ASCII character that folds to an ASCII one and, with `escapes`, a
/// JSON `\u` or `\/` escape (an odd run of backslashes before u or /) in a
/// line the scanner does not match decoded (`unescaped.rs`).
///
/// The per-scope and non-ASCII databases hold the characters too (never in
/// the events they scan: such lines are not filtered): they keep a database
/// of two or three literals off the search vectorscan 5.4.9 picks for so
/// few, which misses occurrences by the text's place in memory
/// (BENCHMARKS.md, "v53": 86 of 20,000 events with a planted literal
/// disagreed with a per-scope database of two; none with the characters,
/// tests below and in `subsets_tests.rs`). Not the escape pattern there: at
/// every backslash of a Windows path, it cost real logs ~19 % more
/// instructions with all SigmaHQ.
pub(crate) fn pass_through_patterns(
    first_pass_through: usize,
    escapes: bool,
) -> Result<Vec<Pattern>, hyperscan::Error> {
    let mut pass_through = Vec::new();
    if escapes {
        pass_through.push(r"(?:^|[^\x5c])(?:\x5c\x5c)*\x5c[u/]".to_string());
    }
    for c in folds_to_ascii() {
        let mut buf = [0u8; 4];
        pass_through.push(literal_expression(c.encode_utf8(&mut buf).as_bytes()));
    }
    pass_through
        .into_iter()
        .enumerate()
        .map(|(k, expr)| {
            let mut p = Pattern::with_flags(expr, CompileFlags::SINGLEMATCH)?;
            p.id = Some(first_pass_through + k);
            Ok(p)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::TestRng;
    use hyperscan::prelude::{BlockDatabase, Builder, Matching, Patterns};

    /// Databases of one to six literals (caseless or cased) with the
    /// pass-through patterns find every planted occurrence, wherever the
    /// text lies in memory. (The literals alone, in databases of two or
    /// three, missed ~0.4 % of them with vectorscan 5.4.9.)
    #[test]
    fn small_literal_databases_with_the_pass_through_patterns_find_every_occurrence() {
        let mut rng = TestRng::new(0x1234_5678_9abc_def1);
        let alphabet = b"abcdefghijklmnopqrstuvwxyz:._";
        // A buffer to place texts at every offset of a 64-byte block.
        let mut block = vec![0u8; 4096];
        let base = block.as_ptr().align_offset(64);
        for (count, cased) in (1..=6)
            .flat_map(|n| [(n, false), (n, true)])
            .cycle()
            .take(60)
        {
            {
                let literals: Vec<String> = (0..count)
                    .map(|_| {
                        let len = 4 + rng.below(9);
                        rng.text(alphabet, len)
                            .into_iter()
                            .map(char::from)
                            .collect()
                    })
                    .collect();
                let mut patterns: Vec<Pattern> = literals
                    .iter()
                    .enumerate()
                    .map(|(id, l)| witness_pattern(l, cased, id).unwrap())
                    .collect();
                patterns.extend(pass_through_patterns(count, false).unwrap());
                let db: BlockDatabase = Patterns::from(patterns).build().unwrap();
                let scratch = db.alloc_scratch().unwrap();
                for round in 0..3000 {
                    let len = 20 + rng.below(200);
                    let mut text = rng.text(b"abcdefghijklmnopqrstuvwxyz:._ABCDEFGHIJ", len);
                    let literal = literals[rng.below(count)].as_bytes();
                    let at = rng.below(text.len() - literal.len());
                    text[at..at + literal.len()].copy_from_slice(literal);
                    let offset = base + rng.below(64);
                    let place = &mut block[offset..offset + text.len()];
                    place.copy_from_slice(&text);
                    let mut found = false;
                    let _ = db.scan(&*place, &scratch, |id, _, _, _| {
                        found |= (id as usize) < count;
                        Matching::Continue
                    });
                    assert!(
                        found,
                        "{literals:?} cased {cased}, round {round}: {:?}",
                        String::from_utf8_lossy(&text)
                    );
                }
            }
        }
    }
}
