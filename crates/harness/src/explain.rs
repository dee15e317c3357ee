//! `hypersigma explain`: one rule as an analyst reads it, like a rule page of
//! a detection catalogue: metadata, ATT&CK techniques, which events the log
//! source covers, the condition and each selection with its predicates, an
//! indicators table where each (field, kind, value) carries how many other
//! rules of the loaded set use it, and the engine's view (the stage-1
//! witnesses and the condition bytecode).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use hypersigma_compiler::clauses::{checked_clauses, ScannedLiterals};
use hypersigma_compiler::correlation::Correlation;
use hypersigma_compiler::ir::{FieldMatch, Predicate, Quantity};
use hypersigma_compiler::modifiers::{CompareOp, Position};
use hypersigma_compiler::pattern::{Pattern, Piece};
use hypersigma_compiler::program::Program;
use hypersigma_compiler::witness::{number_like, rule_witnesses, Strategy, Witness, Witnesses};
use hypersigma_compiler::{Condition, Rule, Scope};

/// Options of `explain`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  hypersigma explain 10c14723-61c7-4c75-92ca-9af245723ad2 -r ../shared/sigma/rules
  hypersigma explain ../shared/sigma/rules/windows/process_creation/proc_creation_win_hktl_impacket_lateral_movement.yml -r ../shared/sigma/rules

The indicator counts are over the rules given with -r (default: the rule's own file).
Exit status: 0 = explained, 2 = rule not found or unreadable rules.")]
pub struct Args {
    /// The rule: its id, its title, or the path of its file.
    rule: String,
    /// The rule set to look the rule up in and to count shared indicators over (repeatable).
    #[arg(short = 'r', long = "rules")]
    rules: Vec<PathBuf>,
    /// YAML file of placeholder values for the `expand` modifier.
    #[arg(long)]
    placeholders: Option<PathBuf>,
}

/// One indicator: field, kind and value as written. Within a rule, indicators
/// are told apart as written; across rules they compare by [`Indicator::key`].
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Indicator {
    field: String,
    kind: String,
    value: String,
}

impl Indicator {
    /// The key rules are compared by (case-insensitive unless `cased`).
    fn key(&self) -> (String, String, String) {
        let value = if self.kind.contains("cased") {
            self.value.clone()
        } else {
            self.value.to_lowercase()
        };
        (self.field.to_lowercase(), self.kind.clone(), value)
    }
}

/// Runs `explain`.
pub fn run(args: Args) -> Result<ExitCode> {
    let as_path = PathBuf::from(&args.rule);
    let mut paths = args.rules.clone();
    if as_path.is_file() && paths.is_empty() {
        paths.push(as_path.clone());
    }
    if paths.is_empty() {
        anyhow::bail!("give the rule set with -r (or the path of the rule's file)");
    }
    let set = crate::compile::load(&paths, args.placeholders.as_ref())?;
    let found = if as_path.is_file() {
        let canonical = as_path.canonicalize().ok();
        let in_set = set
            .rules
            .iter()
            .find(|r| r.origin.path.as_ref().and_then(|p| p.canonicalize().ok()) == canonical);
        match in_set {
            Some(r) => Some(r.clone()),
            None => {
                crate::compile::load(std::slice::from_ref(&as_path), args.placeholders.as_ref())?
                    .rules
                    .into_iter()
                    .next()
            }
        }
    } else {
        let named = |id: &Option<String>, name: &Option<String>, title: &str| {
            id.as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(&args.rule))
                || name.as_deref() == Some(args.rule.as_str())
                || title.eq_ignore_ascii_case(&args.rule)
        };
        if let Some(c) = set
            .correlations
            .iter()
            .find(|c| named(&c.meta.id, &c.meta.name, &c.meta.title))
        {
            print!("{}", correlation_page(c, &set.rules, &set.correlations));
            return Ok(ExitCode::SUCCESS);
        }
        set.rules
            .iter()
            .find(|r| {
                r.meta
                    .id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(&args.rule))
                    || r.meta.title.eq_ignore_ascii_case(&args.rule)
            })
            .cloned()
    };
    let rule = found
        .with_context(|| format!("no rule {} among the {} loaded", args.rule, set.rules.len()))?;
    let mut users: HashMap<(String, String, String), BTreeSet<String>> = HashMap::new();
    for r in &set.rules {
        for ind in indicators(r) {
            users
                .entry(ind.key())
                .or_default()
                .insert(r.key().to_string());
        }
    }
    // What the scan of the rule's log source looks for: the witnesses of the
    // loaded rules of the same scope (the engine checks clauses of those
    // literals however often they occur).
    let same_scope: Vec<Witnesses> = set
        .rules
        .iter()
        .filter(|r| r.scope == rule.scope)
        .chain(std::iter::once(&rule))
        .map(|r| rule_witnesses(r, Strategy::Rarest))
        .collect();
    let scanned = ScannedLiterals::new(same_scope.iter().map(|w| (0, w)));
    print!("{}", page(&rule, &users, set.rules.len(), &scanned));
    Ok(ExitCode::SUCCESS)
}

/// The page of a correlation rule: what it reads (resolved), how it groups,
/// its window and condition.
fn correlation_page(c: &Correlation, rules: &[Rule], correlations: &[Correlation]) -> String {
    let m = &c.meta;
    let mut out = format!("{}\n", m.title);
    let mut line = |k: &str, v: String| out.push_str(&format!("  {k:<11} {v}\n"));
    line("id", m.id.clone().unwrap_or_else(|| "-".into()));
    if let Some(name) = &m.name {
        line("name", name.clone());
    }
    line("level", m.level.map_or("-", |l| l.as_str()).to_string());
    line("type", c.kind.as_str().to_string());
    let seconds = c.timespan_ms / 1000;
    line("timespan", format!("{seconds} s"));
    let group = if c.group_by.is_empty() {
        "(one group for all events)".to_string()
    } else {
        c.group_by.join(", ")
    };
    line("group-by", group);
    let mut condition: Vec<String> = c
        .condition
        .comparisons
        .iter()
        .map(|(op, n)| format!("{op:?} {n}").to_lowercase())
        .collect();
    if let Some(f) = &c.condition.field {
        condition.push(format!("of field {f}"));
    }
    if let Some(p) = c.condition.percentile {
        condition.push(format!("at percentile {p}"));
    }
    line("condition", condition.join(", "));
    line(
        "generate",
        if c.generate {
            "yes: the rules it reads also report their own detections".into()
        } else {
            "no: the rules it reads report only through it".into()
        },
    );
    out.push_str("\nreads\n");
    for reference in &c.rules {
        let what = match (
            rules.iter().find(|r| r.meta.answers_to(reference)),
            correlations.iter().find(|x| x.meta.answers_to(reference)),
        ) {
            (Some(r), _) => format!("rule \"{}\" ({})", r.meta.title, logsource_text(r)),
            (None, Some(x)) => format!("correlation \"{}\" ({})", x.meta.title, x.kind.as_str()),
            (None, None) => "NOT LOADED: the correlation cannot run".to_string(),
        };
        out.push_str(&format!("  {reference}: {what}\n"));
    }
    if !c.aliases.is_empty() {
        out.push_str("\naliases\n");
        for (alias, per_rule) in &c.aliases {
            let fields: Vec<String> = per_rule.iter().map(|(r, f)| format!("{r}: {f}")).collect();
            out.push_str(&format!("  {alias} = {}\n", fields.join("; ")));
        }
    }
    out
}

fn logsource_text(r: &Rule) -> String {
    let ls = &r.meta.logsource;
    [&ls.product, &ls.category, &ls.service]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join("/")
}

/// The whole page.
fn page(
    rule: &Rule,
    users: &HashMap<(String, String, String), BTreeSet<String>>,
    loaded: usize,
    scanned: &ScannedLiterals,
) -> String {
    let m = &rule.meta;
    let mut s = String::new();
    let _ = writeln!(s, "{}", m.title);
    let _ = writeln!(s, "{}", "=".repeat(m.title.chars().count()));
    let field = |s: &mut String, name: &str, value: &str| {
        if !value.is_empty() {
            let _ = writeln!(s, "{name:<13}{value}");
        }
    };
    field(&mut s, "id", m.id.as_deref().unwrap_or(""));
    field(&mut s, "status", m.status.map_or("", |x| x.as_str()));
    field(&mut s, "level", m.level.map_or("", |x| x.as_str()));
    field(&mut s, "author", m.author.as_deref().unwrap_or(""));
    field(&mut s, "date", m.date.as_deref().unwrap_or(""));
    field(
        &mut s,
        "file",
        &rule
            .origin
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    let ls = &m.logsource;
    let logsource: Vec<String> = [
        ("product", &ls.product),
        ("category", &ls.category),
        ("service", &ls.service),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
    .collect();
    field(&mut s, "log source", &logsource.join(", "));
    let coverage = match &rule.scope {
        Scope::Unmapped => "unmapped: matches nothing unless --unscoped".to_string(),
        Scope::Sources(list) => list
            .iter()
            .map(|x| x.label.as_str())
            .collect::<Vec<_>>()
            .join("; "),
    };
    field(&mut s, "events", &coverage);
    field(&mut s, "ATT&CK", &m.attack_techniques().join(", "));
    field(&mut s, "tags", &m.tags.join(", "));
    if let Some(d) = &m.description {
        let _ = writeln!(s, "\n{}", d.trim());
    }
    if !m.falsepositives.is_empty() {
        let _ = writeln!(s, "\nfalse positives: {}", m.falsepositives.join("; "));
    }

    let _ = writeln!(s, "\nDetection");
    let _ = writeln!(s, "---------");
    let _ = writeln!(
        s,
        "condition: {}",
        rule.detection.condition_text.join(" | ")
    );
    let names: Vec<String> = rule
        .detection
        .selections
        .iter()
        .map(|x| x.name.clone())
        .collect();
    let _ = writeln!(
        s,
        "  meaning: {}",
        condition_text(&rule.detection.condition, &names)
    );
    for sel in &rule.detection.selections {
        let _ = writeln!(s, "\n{}:", sel.name);
        for (g, group) in sel.groups.iter().enumerate() {
            if sel.groups.len() > 1 {
                let _ = writeln!(s, "  {} all of:", if g == 0 { "either" } else { "or" });
            }
            for fm in group {
                let _ = writeln!(s, "    {}", predicate_line(fm));
            }
        }
    }

    let mut own: Vec<Indicator> = indicators(rule);
    own.sort();
    own.dedup();
    let _ = writeln!(
        s,
        "\nIndicators ({}; \"other rules\" counts the {} loaded rules)",
        own.len(),
        loaded
    );
    let wf = own.iter().map(|i| i.field.len()).max().unwrap_or(5).max(5);
    let wk = own.iter().map(|i| i.kind.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        s,
        "  {:<wf$}  {:<wk$}  {:>11}  value",
        "field", "kind", "other rules"
    );
    for ind in &own {
        let others = users
            .get(&ind.key())
            .map_or(0, |set| set.iter().filter(|k| *k != rule.key()).count());
        let _ = writeln!(
            s,
            "  {:<wf$}  {:<wk$}  {:>11}  {}",
            ind.field, ind.kind, others, ind.value
        );
    }

    let _ = writeln!(s, "\nEngine");
    let _ = writeln!(s, "------");
    let witnesses = match rule_witnesses(rule, Strategy::Rarest) {
        Witnesses::Always => {
            let _ = writeln!(
                s,
                "stage 1: no witness; a candidate for every event of its log source"
            );
            None
        }
        Witnesses::AnyOf(set) => {
            let _ = writeln!(s, "stage 1: a candidate when one of these {} literals occurs (ASCII-caseless unless cased):", set.len());
            for w in &set {
                let _ = writeln!(s, "  {}", witness_text(w));
            }
            Some(set)
        }
    };
    let clauses = checked_clauses(rule, witnesses.as_ref(), |w| scanned.holds(0, w));
    if !clauses.is_empty() {
        let _ = writeln!(
            s,
            "stage 1 then keeps it only when each of these {} clauses has one of its literals where it counts:",
            clauses.len()
        );
        for clause in &clauses {
            let literals: Vec<String> = clause.iter().map(witness_text).collect();
            let _ = writeln!(s, "  {}", literals.join(" | "));
        }
    }
    match Program::compile(&rule.detection.condition, names.len()) {
        Ok(p) => {
            let _ = writeln!(s, "stage 2: the condition as verified bytecode:");
            for line in p.disassemble(&names).lines() {
                let _ = writeln!(s, "  {line}");
            }
        }
        Err(e) => {
            let _ = writeln!(s, "stage 2: the condition did not verify: {e}");
        }
    }
    s
}

/// The kind of a field match: its modifiers as written, without `all`.
fn kind(fm: &FieldMatch) -> String {
    let mods: Vec<&str> = fm.key.split('|').skip(1).filter(|m| *m != "all").collect();
    if mods.is_empty() {
        "equals".into()
    } else {
        mods.join("|")
    }
}

/// Every (field, kind, value) a rule tests.
fn indicators(rule: &Rule) -> Vec<Indicator> {
    let mut out = Vec::new();
    for sel in &rule.detection.selections {
        for fm in sel.groups.iter().flatten() {
            let field = fm.field.clone().unwrap_or_else(|| "(keyword)".into());
            let kind = kind(fm);
            for value in &fm.values {
                if let Some(p) = value.first() {
                    out.push(Indicator {
                        field: field.clone(),
                        kind: kind.clone(),
                        value: predicate_value(p, fm.modifiers.position),
                    });
                }
            }
        }
    }
    out
}

/// One field match as a sentence.
fn predicate_line(fm: &FieldMatch) -> String {
    let field = fm.field.as_deref().unwrap_or("any value of the event");
    let values: Vec<String> = fm
        .values
        .iter()
        .filter_map(|v| v.first())
        .map(|p| format!("'{}'", predicate_value(p, fm.modifiers.position)))
        .collect();
    let quantifier = match (values.len(), fm.modifiers.all) {
        (1, _) => "",
        (_, true) => "all of ",
        (_, false) => "any of ",
    };
    let negation = if fm.modifiers.neq { "not " } else { "" };
    format!(
        "{field} {negation}{} {quantifier}{}",
        kind(fm),
        values.join(", ")
    )
}

/// The value of a predicate as written (position wildcards removed; plain
/// text when no wildcard is left, else a Sigma string with its escapes).
fn predicate_value(p: &Predicate, position: Option<Position>) -> String {
    match p {
        Predicate::Text { pattern, .. } => strip_position(pattern, position),
        Predicate::Number(n) => n.text.clone(),
        Predicate::Bool(b) => b.to_string(),
        Predicate::Null => "null".into(),
        Predicate::Regex(r) => r.source.clone(),
        Predicate::Compare { op, number } => format!("{} {}", op_text(*op), number.text),
        Predicate::TimePart { op, number, .. } => format!("{} {number}", op_text(*op)),
        Predicate::Cidr(net) => net.to_string(),
        Predicate::Exists(b) => b.to_string(),
        Predicate::FieldRef { field, .. } => format!("field {field}"),
    }
}

fn op_text(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Lt => "<",
        CompareOp::Lte => "<=",
        CompareOp::Gt => ">",
        CompareOp::Gte => ">=",
    }
}

/// The pattern without the `*` its position modifier added.
fn strip_position(pattern: &Pattern, position: Option<Position>) -> String {
    let mut pieces: Vec<Piece> = pattern.pieces().to_vec();
    let leading = matches!(position, Some(Position::Contains | Position::End));
    let trailing = matches!(position, Some(Position::Contains | Position::Start));
    if trailing && pieces.last() == Some(&Piece::AnyRun) {
        pieces.pop();
    }
    if leading && pieces.first() == Some(&Piece::AnyRun) {
        pieces.remove(0);
    }
    match pieces.as_slice() {
        [] => String::new(),
        [Piece::Literal(text)] => text.clone(),
        _ => Pattern::from_pieces(pieces).to_string(),
    }
}

/// The condition in words.
fn condition_text(c: &Condition, names: &[String]) -> String {
    let name = |i: &usize| names.get(*i).cloned().unwrap_or_else(|| "?".into());
    match c {
        Condition::Selection(i) => name(i),
        Condition::Not(inner) => format!("not ({})", condition_text(inner, names)),
        Condition::And(items) => items
            .iter()
            .map(|x| condition_text(x, names))
            .collect::<Vec<_>>()
            .join(" and "),
        Condition::Or(items) => format!(
            "({})",
            items
                .iter()
                .map(|x| condition_text(x, names))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
        Condition::Quantified {
            quantity,
            selections,
        } => {
            let list: Vec<String> = selections.iter().map(name).collect();
            match quantity {
                Quantity::All => format!("all of [{}]", list.join(", ")),
                Quantity::AtLeast(n) => format!("at least {n} of [{}]", list.join(", ")),
            }
        }
    }
}

/// A witness as `explain` writes it: its field, its literal as raw JSON
/// holds it, and whether it is case-sensitive.
fn witness_text(w: &Witness) -> String {
    let field = w.field.as_deref().unwrap_or("any field");
    let cased = if w.cased { " (cased)" } else { "" };
    let number = if number_like(&w.json) {
        " (also in any event holding a number written otherwise than the reference reads it)"
    } else {
        ""
    };
    format!("{field}: {}{cased}{number}", w.json)
}
