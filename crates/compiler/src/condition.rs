//! The condition grammar: tokens, precedence, `x of` quantifiers.
//!
//! ```text
//! expr   := and ("or" and)*
//! and    := not ("and" not)*
//! not    := "not" not | quant
//! quant  := (NUMBER | "all" | "any") "of" (IDENT-PATTERN | "them") | primary
//! primary:= "(" expr ")" | IDENT
//! ```
//! Operators are case-insensitive. `them` means every selection whose name
//! does not start with `_`; a pattern may use `*` and `?`. Identifiers are
//! resolved against the detection's selections while parsing, so a condition
//! that names a missing selection is an error, never a silent `false`.

use crate::error::ErrorKind;
use crate::ir::{Condition, Quantity};
use crate::pattern::Pattern;

/// Deepest nesting of parentheses and `not`s accepted (bounds recursion).
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Word(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, ErrorKind> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            tokens.push(Token::Word(std::mem::take(word)));
        }
    };
    for c in text.chars() {
        match c {
            '(' | ')' => {
                flush(&mut word, &mut tokens);
                tokens.push(if c == '(' { Token::Open } else { Token::Close });
            }
            '|' => {
                return Err(ErrorKind::Unsupported(
                    "aggregation expressions ('| count() ...') are Sigma v1 syntax; write a correlation rule instead".into(),
                ))
            }
            c if c.is_whitespace() => flush(&mut word, &mut tokens),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut tokens);
    Ok(tokens)
}

/// Parses one condition string against the selection names (in detection order).
pub fn parse(text: &str, names: &[String]) -> Result<Condition, ErrorKind> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err(ErrorKind::ConditionSyntax("the condition is empty".into()));
    }
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
        names,
        depth: 0,
    };
    let cond = p.expr()?;
    if let Some(t) = p.tokens.get(p.pos) {
        return Err(ErrorKind::ConditionSyntax(format!(
            "unexpected {} after a complete expression",
            describe(t)
        )));
    }
    Ok(cond)
}

fn describe(t: &Token) -> String {
    match t {
        Token::Open => "'('".into(),
        Token::Close => "')'".into(),
        Token::Word(w) => format!("'{w}'"),
    }
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    names: &'a [String],
    depth: usize,
}

impl Parser<'_> {
    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn next(&mut self) -> Option<&Token> {
        let t = self.tokens.get(self.pos);
        self.pos += 1;
        t
    }

    fn enter(&mut self) -> Result<(), ErrorKind> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ErrorKind::ConditionSyntax(format!(
                "nesting deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Condition, ErrorKind> {
        let mut items = vec![self.and()?];
        while self.peek_keyword("or") {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Condition::Or(items)
        })
    }

    fn and(&mut self) -> Result<Condition, ErrorKind> {
        let mut items = vec![self.not()?];
        while self.peek_keyword("and") {
            self.pos += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Condition::And(items)
        })
    }

    fn not(&mut self) -> Result<Condition, ErrorKind> {
        if self.peek_keyword("not") {
            self.pos += 1;
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Condition::Not(Box::new(inner)));
        }
        self.quantified()
    }

    fn quantified(&mut self) -> Result<Condition, ErrorKind> {
        let is_of = matches!(self.tokens.get(self.pos + 1), Some(Token::Word(w)) if w.eq_ignore_ascii_case("of"));
        if let (true, Some(Token::Word(q))) = (is_of, self.tokens.get(self.pos)) {
            let quantity = if q.eq_ignore_ascii_case("all") {
                Quantity::All
            } else if q.eq_ignore_ascii_case("any") {
                Quantity::AtLeast(1)
            } else {
                match q.parse::<usize>() {
                    Ok(n) if n > 0 => Quantity::AtLeast(n),
                    _ => {
                        return Err(ErrorKind::ConditionSyntax(format!(
                            "'{q} of' needs a positive number or 'all'"
                        )))
                    }
                }
            };
            self.pos += 2;
            let target = match self.next() {
                Some(Token::Word(w)) => w.clone(),
                Some(t) => {
                    return Err(ErrorKind::ConditionSyntax(format!(
                        "expected a selection pattern or 'them' after 'of', found {}",
                        describe(t)
                    )))
                }
                None => {
                    return Err(ErrorKind::ConditionSyntax(
                        "expected a selection pattern or 'them' after 'of'".into(),
                    ))
                }
            };
            let selections = self.resolve_pattern(&target)?;
            return Ok(Condition::Quantified {
                quantity,
                selections,
            });
        }
        self.primary()
    }

    fn resolve_pattern(&self, target: &str) -> Result<Vec<usize>, ErrorKind> {
        let found: Vec<usize> = if target.eq_ignore_ascii_case("them") {
            (0..self.names.len())
                .filter(|&i| !self.names[i].starts_with('_'))
                .collect()
        } else {
            let pattern = Pattern::parse(target);
            (0..self.names.len())
                .filter(|&i| pattern.matches(&self.names[i], true))
                .collect()
        };
        if found.is_empty() {
            return Err(ErrorKind::MissingSelection(target.to_string()));
        }
        Ok(found)
    }

    fn primary(&mut self) -> Result<Condition, ErrorKind> {
        match self.next().cloned() {
            Some(Token::Open) => {
                self.enter()?;
                let inner = self.expr()?;
                self.depth -= 1;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    Some(t) => Err(ErrorKind::ConditionSyntax(format!(
                        "expected ')', found {}",
                        describe(t)
                    ))),
                    None => Err(ErrorKind::ConditionSyntax("missing ')'".into())),
                }
            }
            Some(Token::Word(w)) => {
                if ["and", "or", "not", "of"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k))
                {
                    return Err(ErrorKind::ConditionSyntax(format!(
                        "expected a selection, found the operator '{w}'"
                    )));
                }
                self.names
                    .iter()
                    .position(|n| *n == w)
                    .map(Condition::Selection)
                    .ok_or(ErrorKind::MissingSelection(w))
            }
            Some(Token::Close) => Err(ErrorKind::ConditionSyntax("unexpected ')'".into())),
            None => Err(ErrorKind::ConditionSyntax(
                "the condition ends where a selection was expected".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["sel", "sel2", "filter_a", "filter_b", "_hidden"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn precedence() {
        let c = parse("sel or sel2 and not filter_a", &names()).unwrap();
        assert_eq!(
            c,
            Condition::Or(vec![
                Condition::Selection(0),
                Condition::And(vec![
                    Condition::Selection(1),
                    Condition::Not(Box::new(Condition::Selection(2)))
                ])
            ])
        );
    }

    #[test]
    fn quantifiers() {
        let c = parse("1 of filter_* and all of them", &names()).unwrap();
        assert_eq!(
            c,
            Condition::And(vec![
                Condition::Quantified {
                    quantity: Quantity::AtLeast(1),
                    selections: vec![2, 3]
                },
                Condition::Quantified {
                    quantity: Quantity::All,
                    selections: vec![0, 1, 2, 3]
                },
            ])
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse("sel and missing", &names()),
            Err(ErrorKind::MissingSelection("missing".into()))
        );
        assert!(parse("sel and", &names()).is_err());
        assert!(parse("(sel", &names()).is_err());
        assert!(parse("sel)", &names()).is_err());
        assert!(parse("sel | count() > 5", &names()).is_err());
        assert!(parse(&"(".repeat(1000), &names()).is_err());
        assert!(parse(&"not ".repeat(1000), &names()).is_err());
    }
}
