//! Condition programs: a rule's condition as small, verified bytecode.
//!
//! A program is a list of [`Op`]s over a stack of booleans. `Sel` pushes the
//! result of one selection (which the VM asks for lazily, so short-circuited
//! selections are never evaluated); `JumpIfFalse`/`JumpIfTrue` skip forward
//! without popping (short-circuit `and`/`or`); `Quantified` counts selections
//! of a list. Jumps go forward only, so a program runs in at most its length
//! in steps. [`verify`] checks every operand and the stack depth on every path
//! before a program is accepted; [`Program::disassemble`] prints it.

use std::fmt::Write as _;

use crate::ir::{Condition, Quantity};

/// Deepest stack a program may use.
pub const MAX_STACK: usize = 64;

/// Longest program accepted.
pub const MAX_OPS: usize = 4096;

/// One instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Push the result of selection `i`.
    Sel(u16),
    /// Replace the top with its negation.
    Not,
    /// Pop; pop; push their conjunction.
    And,
    /// Pop; pop; push their disjunction.
    Or,
    /// If the top is false, jump to the target (keeping the top).
    JumpIfFalse(u16),
    /// If the top is true, jump to the target (keeping the top).
    JumpIfTrue(u16),
    /// Pop the top.
    Pop,
    /// Push whether at least `need` selections of list `list` hold.
    Quantified {
        /// Index into the program's `lists`.
        list: u16,
        /// How many must hold.
        need: u16,
    },
}

/// A verified condition program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    ops: Vec<Op>,
    lists: Vec<Vec<u16>>,
    selections: usize,
}

/// Why a program was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid condition program at {pc}: {reason}")]
pub struct VerifyError {
    /// The instruction at fault.
    pub pc: usize,
    /// What is wrong.
    pub reason: String,
}

impl Program {
    /// Lowers a condition over `selections` selections and verifies the result.
    pub fn compile(condition: &Condition, selections: usize) -> Result<Program, VerifyError> {
        let mut p = Program {
            ops: Vec::new(),
            lists: Vec::new(),
            selections,
        };
        p.emit(condition)?;
        verify(&p.ops, &p.lists, selections)?;
        Ok(p)
    }

    /// Builds a program from raw parts, verifying it (for tests and loading).
    pub fn from_parts(
        ops: Vec<Op>,
        lists: Vec<Vec<u16>>,
        selections: usize,
    ) -> Result<Program, VerifyError> {
        verify(&ops, &lists, selections)?;
        Ok(Program {
            ops,
            lists,
            selections,
        })
    }

    /// The instructions.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    fn index(n: usize, what: &str) -> Result<u16, VerifyError> {
        u16::try_from(n).map_err(|_| VerifyError {
            pc: 0,
            reason: format!("{what} {n} does not fit an operand"),
        })
    }

    fn emit(&mut self, c: &Condition) -> Result<(), VerifyError> {
        match c {
            Condition::Selection(i) => self.ops.push(Op::Sel(Self::index(*i, "selection")?)),
            Condition::Not(inner) => {
                self.emit(inner)?;
                self.ops.push(Op::Not);
            }
            Condition::And(items) | Condition::Or(items) => {
                let is_and = matches!(c, Condition::And(_));
                let mut patches = Vec::new();
                for (k, item) in items.iter().enumerate() {
                    self.emit(item)?;
                    if k + 1 < items.len() {
                        patches.push(self.ops.len());
                        self.ops.push(if is_and {
                            Op::JumpIfFalse(0)
                        } else {
                            Op::JumpIfTrue(0)
                        });
                        self.ops.push(Op::Pop);
                    }
                }
                let end = Self::index(self.ops.len(), "jump target")?;
                for at in patches {
                    self.ops[at] = if is_and {
                        Op::JumpIfFalse(end)
                    } else {
                        Op::JumpIfTrue(end)
                    };
                }
            }
            Condition::Quantified {
                quantity,
                selections,
            } => {
                let list = Self::index(self.lists.len(), "list")?;
                let need = match quantity {
                    Quantity::All => selections.len(),
                    Quantity::AtLeast(n) => *n,
                };
                self.lists.push(
                    selections
                        .iter()
                        .map(|&s| Self::index(s, "selection"))
                        .collect::<Result<_, _>>()?,
                );
                self.ops.push(Op::Quantified {
                    list,
                    need: Self::index(need, "count")?,
                });
            }
        }
        if self.ops.len() > MAX_OPS {
            return Err(VerifyError {
                pc: self.ops.len(),
                reason: format!("longer than {MAX_OPS} instructions"),
            });
        }
        Ok(())
    }

    /// Runs the program; `selection(i)` is asked at most once per selection.
    pub fn run(&self, selection: &mut dyn FnMut(usize) -> bool) -> bool {
        // Selections already asked (the first 128; later ones are asked
        // again), and their answers: two bit sets, no per-run table to fill.
        let (mut known, mut answers) = (0u128, 0u128);
        let mut ask = |i: usize| -> bool {
            if i >= 128 {
                return selection(i);
            }
            let bit = 1u128 << i;
            if known & bit == 0 {
                known |= bit;
                if selection(i) {
                    answers |= bit;
                }
            }
            answers & bit != 0
        };
        let mut stack = [false; MAX_STACK];
        let mut sp = 0usize;
        let mut pc = 0usize;
        // Verified: operands in range, no underflow or overflow, forward jumps only.
        while pc < self.ops.len() {
            match self.ops[pc] {
                Op::Sel(i) => {
                    stack[sp] = ask(usize::from(i));
                    sp += 1;
                }
                Op::Not => stack[sp - 1] = !stack[sp - 1],
                Op::And => {
                    sp -= 1;
                    stack[sp - 1] = stack[sp - 1] && stack[sp];
                }
                Op::Or => {
                    sp -= 1;
                    stack[sp - 1] = stack[sp - 1] || stack[sp];
                }
                Op::JumpIfFalse(t) if !stack[sp - 1] => {
                    pc = usize::from(t);
                    continue;
                }
                Op::JumpIfTrue(t) if stack[sp - 1] => {
                    pc = usize::from(t);
                    continue;
                }
                Op::JumpIfFalse(_) | Op::JumpIfTrue(_) => {}
                Op::Pop => sp -= 1,
                Op::Quantified { list, need } => {
                    let mut hits = 0usize;
                    for &s in &self.lists[usize::from(list)] {
                        if ask(usize::from(s)) {
                            hits += 1;
                            if hits >= usize::from(need) {
                                break;
                            }
                        }
                    }
                    stack[sp] = hits >= usize::from(need);
                    sp += 1;
                }
            }
            pc += 1;
        }
        sp == 1 && stack[0]
    }

    /// One instruction per line, with selection names.
    pub fn disassemble(&self, names: &[String]) -> String {
        let name = |i: u16| names.get(usize::from(i)).map_or("?", String::as_str);
        let mut out = String::new();
        for (pc, op) in self.ops.iter().enumerate() {
            let _ = match op {
                Op::Sel(i) => writeln!(out, "{pc:04}  SEL     {i:<4} ; {}", name(*i)),
                Op::Not => writeln!(out, "{pc:04}  NOT"),
                Op::And => writeln!(out, "{pc:04}  AND"),
                Op::Or => writeln!(out, "{pc:04}  OR"),
                Op::JumpIfFalse(t) => writeln!(out, "{pc:04}  JFALSE  {t:04}"),
                Op::JumpIfTrue(t) => writeln!(out, "{pc:04}  JTRUE   {t:04}"),
                Op::Pop => writeln!(out, "{pc:04}  POP"),
                Op::Quantified { list, need } => {
                    let members: Vec<&str> = self.lists[usize::from(*list)]
                        .iter()
                        .map(|&s| name(s))
                        .collect();
                    writeln!(out, "{pc:04}  ATLEAST {need} of [{}]", members.join(", "))
                }
            };
        }
        out
    }
}

/// Checks operands, jump targets (strictly forward, within the program) and the
/// stack depth on every path (never below what an instruction pops, never above
/// [`MAX_STACK`], exactly one value at the end).
pub fn verify(ops: &[Op], lists: &[Vec<u16>], selections: usize) -> Result<(), VerifyError> {
    let fail = |pc: usize, reason: String| Err(VerifyError { pc, reason });
    if ops.is_empty() {
        return fail(0, "empty program".into());
    }
    if ops.len() > MAX_OPS {
        return fail(ops.len(), format!("longer than {MAX_OPS} instructions"));
    }
    // Stack depth on entry to each instruction (and to the end), None = unreachable so far.
    let mut depth: Vec<Option<usize>> = vec![None; ops.len() + 1];
    depth[0] = Some(0);
    let merge = |depth: &mut Vec<Option<usize>>,
                 at: usize,
                 d: usize,
                 from: usize|
     -> Result<(), VerifyError> {
        match depth[at] {
            None => {
                depth[at] = Some(d);
                Ok(())
            }
            Some(x) if x == d => Ok(()),
            Some(x) => Err(VerifyError {
                pc: from,
                reason: format!("stack depth {d} meets depth {x} at {at}"),
            }),
        }
    };
    for (pc, op) in ops.iter().enumerate() {
        let Some(d) = depth[pc] else {
            return fail(pc, "unreachable instruction".into());
        };
        let (pops, pushes) = match op {
            Op::Sel(i) => {
                if usize::from(*i) >= selections {
                    return fail(
                        pc,
                        format!("selection {i} out of range ({selections} selections)"),
                    );
                }
                (0, 1)
            }
            Op::Not => (1, 1),
            Op::And | Op::Or => (2, 1),
            Op::Pop => (1, 0),
            Op::JumpIfFalse(t) | Op::JumpIfTrue(t) => {
                let t = usize::from(*t);
                if t <= pc || t > ops.len() {
                    return fail(pc, format!("jump to {t} is not forward within the program"));
                }
                if d < 1 {
                    return fail(pc, "conditional jump on an empty stack".into());
                }
                merge(&mut depth, t, d, pc)?;
                (1, 1)
            }
            Op::Quantified { list, need } => {
                let Some(members) = lists.get(usize::from(*list)) else {
                    return fail(pc, format!("list {list} does not exist"));
                };
                if let Some(bad) = members.iter().find(|&&s| usize::from(s) >= selections) {
                    return fail(
                        pc,
                        format!("list {list} names selection {bad}, out of range"),
                    );
                }
                if *need == 0 {
                    return fail(pc, "a quantifier needs at least one".into());
                }
                (0, 1)
            }
        };
        if d < pops {
            return fail(pc, format!("pops {pops} from a stack of {d}"));
        }
        let after = d - pops + pushes;
        if after > MAX_STACK {
            return fail(pc, format!("stack deeper than {MAX_STACK}"));
        }
        merge(&mut depth, pc + 1, after, pc)?;
    }
    match depth[ops.len()] {
        Some(1) => Ok(()),
        other => fail(
            ops.len(),
            format!("ends with stack depth {other:?}, expected 1"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("s{i}")).collect()
    }

    #[test]
    fn programs_agree_with_the_condition_on_every_assignment() {
        let conditions = [
            "s0",
            "not s0",
            "s0 and s1",
            "s0 or s1 and s2",
            "(s0 or s1) and not s2",
            "1 of s* and not s3",
            "all of s* or s0",
            "2 of s*",
            "not (s0 and (s1 or not s2)) or s3",
            "s0 and s1 and s2 and s3",
            "s0 or s1 or s2 or s3",
        ];
        for text in conditions {
            let cond = condition::parse(text, &names(4)).unwrap();
            let program = Program::compile(&cond, 4).unwrap();
            for bits in 0u32..16 {
                let sel = |i: usize| bits & (1 << i) != 0;
                let expected = reference(&cond, &sel);
                let mut asked = [0u32; 4];
                let got = program.run(&mut |i| {
                    asked[i] += 1;
                    sel(i)
                });
                assert_eq!(
                    got,
                    expected,
                    "{text} with {bits:04b}\n{}",
                    program.disassemble(&names(4))
                );
                assert!(asked.iter().all(|&n| n <= 1), "selections asked once");
            }
        }
    }

    fn reference(c: &Condition, sel: &dyn Fn(usize) -> bool) -> bool {
        match c {
            Condition::Selection(i) => sel(*i),
            Condition::Not(x) => !reference(x, sel),
            Condition::And(xs) => xs.iter().all(|x| reference(x, sel)),
            Condition::Or(xs) => xs.iter().any(|x| reference(x, sel)),
            Condition::Quantified {
                quantity,
                selections,
            } => {
                let n = selections.iter().filter(|&&s| sel(s)).count();
                match quantity {
                    Quantity::All => n == selections.len(),
                    Quantity::AtLeast(k) => n >= *k,
                }
            }
        }
    }

    #[test]
    fn verifier_rejects_malformed_programs() {
        let bad: Vec<(Vec<Op>, &str)> = vec![
            (vec![], "empty"),
            (vec![Op::And], "pops 2"),
            (vec![Op::Sel(9)], "out of range"),
            (vec![Op::Sel(0), Op::JumpIfFalse(0)], "not forward"),
            (vec![Op::Sel(0), Op::JumpIfTrue(9)], "not forward"),
            (vec![Op::Sel(0), Op::Sel(1)], "ends with stack depth"),
            (vec![Op::Quantified { list: 3, need: 1 }], "does not exist"),
            (
                vec![Op::Sel(0), Op::JumpIfFalse(3), Op::Sel(1), Op::Pop],
                "meets depth",
            ),
            (vec![Op::Pop], "pops 1"),
        ];
        for (ops, why) in bad {
            let err = Program::from_parts(ops.clone(), vec![vec![0]], 2).unwrap_err();
            assert!(err.reason.contains(why), "{ops:?}: {err}");
        }
        let deep: Vec<Op> = std::iter::repeat_n(Op::Sel(0), MAX_STACK + 1).collect();
        assert!(Program::from_parts(deep, vec![], 1).is_err());
    }

    #[test]
    fn disassembly_names_selections() {
        let cond = condition::parse("s0 and not 1 of s*", &names(2)).unwrap();
        let text = Program::compile(&cond, 2).unwrap().disassemble(&names(2));
        assert!(text.contains("SEL     0    ; s0"), "{text}");
        assert!(text.contains("ATLEAST 1 of [s0, s1]"), "{text}");
        assert!(text.contains("JFALSE"), "{text}");
    }
}
