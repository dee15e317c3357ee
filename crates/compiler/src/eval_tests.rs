//! Tests of the reference evaluator's predicates (`eval.rs`): `fieldref`
//! against folding both texts first, predicates on a text as on the string
//! value, and the scalars of values.

use super::*;
use serde_json::json;

/// `fieldref` as written first: both texts folded, then compared.
fn folded_then_compared(v: &Value, other: &Value, position: Position, cased: bool) -> bool {
    let (Some(a), Some(b)) = (scalar_text(v), scalar_text(other)) else {
        return false;
    };
    let (a, b) = if cased {
        (a, b)
    } else {
        (fold_str(&a), fold_str(&b))
    };
    position_holds(&a, &b, position)
}

#[test]
fn fieldref_compares_as_the_folded_texts_do() {
    let values = [
        json!(""),
        json!("a"),
        json!("A"),
        json!("abc"),
        json!("xAbCy"),
        json!("ABCABC"),
        json!("C:\\Windows\\System32\\cmd.exe"),
        json!("c:\\windows\\system32\\CMD.EXE"),
        json!("\\CMD.exe"),
        json!("École"),
        json!("éCOLE"),
        json!("ΣΑΣ"),
        json!("σας"),
        json!("K"),
        json!("\u{212A}"),
        json!(12),
        json!(-1.5),
        json!(true),
        json!("TRUE"),
        json!(null),
        json!(["a"]),
    ];
    let positions = [
        Position::Whole,
        Position::Contains,
        Position::Start,
        Position::End,
    ];
    let mut held = 0;
    for v in &values {
        for other in &values {
            for position in positions {
                for cased in [false, true] {
                    let expected = folded_then_compared(v, other, position, cased);
                    assert_eq!(
                        fieldref_holds(v, other, position, cased),
                        expected,
                        "{v} {other} {position:?} cased: {cased}"
                    );
                    held += usize::from(expected);
                }
            }
        }
    }
    assert!(held > 200);
}

#[test]
fn predicates_on_a_text_hold_as_on_the_string_value() {
    let rule = crate::parse_rule(
        "title: t\nlogsource: {product: windows}\ndetection:\n  s:\n    \
         A|contains: ['ab', 'É']\n    B|endswith|cased: '.EXE'\n    C|startswith: 'x*y?'\n    \
         D|re: '(?i)^a.c$'\n    E: 12\n    F: true\n    G|gte: 3\n    \
         H|cidr: ['10.0.0.0/8', '::1/128']\n    I|minute: 30\n    J: '*'\n  \
         condition: s\n",
        &crate::CompileOptions::default(),
    )
    .unwrap();
    let predicates: Vec<&Predicate> = rule
        .detection
        .selections
        .iter()
        .flat_map(|s| s.groups.iter().flatten())
        .flat_map(|m| m.values.iter().flatten())
        .collect();
    assert!(predicates.len() >= 11);
    let texts = [
        "",
        "ab",
        "xABy",
        "é",
        "cmd.EXE",
        "cmd.exe",
        "xzy1",
        "ABC",
        "aXc\n",
        "12",
        "12.0",
        "TRUE",
        "true",
        "3",
        "2.5",
        "1e3",
        "10.1.2.3",
        "[::1]",
        "::ffff:10.0.0.1",
        "11.0.0.1",
        "2026-11-02T08:30:00Z",
        "2026-11-02 08:31:00",
    ];
    let profile = Profile::sysmon();
    let event = json!({});
    let view = EventView::new(&event, &profile, None);
    let mut chars = TextChars::default();
    let mut held = 0;
    for text in texts {
        chars.forget();
        let value = Value::String(text.to_string());
        for &p in &predicates {
            let expected = predicate_holds_on(p, true, &[&value], &view);
            let got = predicate_holds_on_text(p, text, &mut chars);
            assert_eq!(got, Some(expected), "{p:?} on {text:?}");
            held += usize::from(expected);
        }
    }
    assert!(held >= 15, "{held}");
    assert_eq!(
        predicate_holds_on_text(&Predicate::Null, "", &mut chars),
        None
    );
}

#[test]
fn scalars_of_values_are_the_scalars_of_each() {
    let values = [
        json!("a"),
        json!([1, [2, null, {"x": 3}], "b"]),
        json!(null),
        json!({"y": 4}),
        json!(false),
    ];
    let mut listed = Vec::new();
    scalars(&values.iter().collect::<Vec<_>>(), &mut listed);
    assert_eq!(
        listed,
        [json!("a"), json!(1), json!(2), json!("b"), json!(false)]
            .iter()
            .collect::<Vec<_>>()
    );
    let of_values = Scalars::of_values(&values);
    let of_list = Scalars::new(&listed);
    assert_eq!(of_values.0.len(), of_list.0.len());
    assert!(of_values
        .0
        .iter()
        .zip(&of_list.0)
        .all(|(a, b)| std::ptr::eq(a.value, b.value)));
}

#[test]
fn text_characters_split_as_the_scalars_split_them() {
    let texts = [
        "",
        "C:\\Windows\\System32\\CMD.EXE",
        "MiXeD 123 ~\u{7f}",
        "Ünïcödé ΣΑΣ ς İ ſ µ",
        "ascii then Ä",
    ];
    let mut chars = TextChars::default();
    for text in texts {
        chars.forget();
        for cased in [false, true, false] {
            let expected: Vec<char> = match cased {
                true => text.chars().collect(),
                false => text.chars().map(crate::pattern::fold_char).collect(),
            };
            assert_eq!(chars.of(text, cased), expected, "{text:?}, cased {cased}");
        }
    }
}
