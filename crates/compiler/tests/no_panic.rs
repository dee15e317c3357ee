//! No YAML input makes the compiler panic, and no event makes the evaluator panic.
//!
//! Three generators: arbitrary text; rule-shaped YAML with random keys,
//! modifiers, values and conditions; and random JSON events evaluated against
//! whatever compiled.

use hypersigma_compiler::{
    evaluate_detailed, parse_rules, CompileOptions, EvalOptions, Placeholders, Profile,
};
use proptest::prelude::*;

const MODIFIERS: &[&str] = &[
    "contains",
    "startswith",
    "endswith",
    "all",
    "cased",
    "exists",
    "neq",
    "windash",
    "re",
    "i",
    "m",
    "s",
    "base64",
    "base64offset",
    "utf16le",
    "utf16be",
    "utf16",
    "wide",
    "lt",
    "lte",
    "gt",
    "gte",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "year",
    "cidr",
    "expand",
    "fieldref",
    "ignorecase",
    "multiline",
    "dotall",
    "bogus",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9*?\\\\ %/.:-]{0,12}".prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("''".to_string()),
        Just("'10.0.0.0/8'".to_string()),
        Just("'%ph%'".to_string()),
        Just("'(a|b'".to_string()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(""), Just("A"), Just("B.c"), Just("CommandLine")],
        prop::collection::vec(prop::sample::select(MODIFIERS), 0..4),
    )
        .prop_map(|(f, mods)| {
            let mut k = f.to_string();
            for m in mods {
                k.push('|');
                k.push_str(m);
            }
            format!("'{k}'")
        })
}

fn selection() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec((key(), prop::collection::vec(value(), 0..3)), 1..3).prop_map(
            |fields| {
                let items: Vec<String> = fields
                    .into_iter()
                    .map(|(k, vs)| format!("{k}: [{}]", vs.join(", ")))
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
        ),
        prop::collection::vec(value(), 0..3).prop_map(|vs| format!("[{}]", vs.join(", "))),
        value(),
    ]
}

fn condition() -> impl Strategy<Value = String> {
    let valid = prop::sample::select(vec![
        "s0",
        "1 of them",
        "all of them",
        "s0 and not 1 of s*",
        "not s0",
        "(s0 or 1 of s*)",
        "all of s*",
        "s0 or not (s0 and 1 of them)",
    ])
    .prop_map(str::to_string);
    let random = prop::collection::vec(
        prop::sample::select(vec![
            "s0",
            "s1",
            "_s2",
            "and",
            "or",
            "not",
            "(",
            ")",
            "1 of s*",
            "all of them",
            "2 of",
            "them",
            "|",
            "missing",
        ]),
        0..8,
    )
    .prop_map(|t| t.join(" "));
    prop_oneof![4 => valid, 1 => random]
}

fn rule() -> impl Strategy<Value = String> {
    (prop::collection::vec(selection(), 1..4), condition()).prop_map(|(sels, cond)| {
        let mut text = String::from("title: t\nlogsource: {product: test}\ndetection:\n");
        for (i, s) in sels.iter().enumerate() {
            let name = if i == 2 {
                "_s2".to_string()
            } else {
                format!("s{i}")
            };
            text.push_str(&format!("    {name}: {s}\n"));
        }
        text.push_str(&format!("    condition: '{cond}'\n"));
        text
    })
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "[a-zA-Z0-9*?\\\\ %/.:-]{0,12}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("10.1.2.3")),
        Just(serde_json::Value::from("2024-01-05T03:15:00Z")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![Just("A"), Just("B"), Just("c"), Just("CommandLine")],
                inner,
                0..4
            )
            .prop_map(|m| serde_json::Value::Object(
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

fn options() -> CompileOptions {
    let mut placeholders = Placeholders::default();
    placeholders.insert("ph", vec!["x*".into(), "y".into()]);
    CompileOptions {
        placeholders: Some(placeholders),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse_rules(&text, None, &CompileOptions::default());
    }

    #[test]
    fn arbitrary_yaml_punctuation_never_panics(text in "[-:{}\\[\\]|>&*!%@`'\" \n\ta-z0-9#,?]{0,200}") {
        let _ = parse_rules(&text, None, &CompileOptions::default());
    }

    #[test]
    fn rule_shaped_yaml_never_panics(text in rule(), events in prop::collection::vec(json_value(), 1..4)) {
        for rule in parse_rules(&text, None, &options()).into_iter().flatten() {
            for event in &events {
                let wrapped = serde_json::json!({"A": event, "B": {"c": event}, "CommandLine": event});
                for profile in [Profile::sysmon(), Profile::evtx(), Profile::ecs()] {
                    let _ = evaluate_detailed(&rule, event, &profile, EvalOptions { unscoped: true });
                    let _ = evaluate_detailed(&rule, &wrapped, &profile, EvalOptions { unscoped: true });
                }
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!(
        "title: t\nlogsource: {{}}\ndetection: {}1{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(parse_rules(&deep, None, &CompileOptions::default())[0].is_err());
    let deep_map = format!("a: {}1{}", "{b: ".repeat(5_000), "}".repeat(5_000));
    assert!(parse_rules(&deep_map, None, &CompileOptions::default())[0].is_err());
}

#[test]
fn huge_windash_and_expansion_are_bounded() {
    let dashes = " -a".repeat(200);
    let text = format!(
        "title: t\nlogsource: {{}}\ndetection:\n    s: {{'A|windash|base64offset|contains': '{dashes}'}}\n    condition: s\n"
    );
    let results = parse_rules(&text, None, &CompileOptions::default());
    assert!(
        results[0].is_err(),
        "expansion must be refused, not attempted"
    );
    let text = "title: t\nlogsource: {}\ndetection:\n    s: {'A|windash|contains': ' -a -b -c -d -e -f -g -h -i -j -k -l'}\n    condition: s\n";
    let rule = parse_rules(text, None, &CompileOptions::default())
        .remove(0)
        .unwrap();
    let event = serde_json::json!({"A": "x /a –b —c ―d -e -f /g /h /i /j /k /l"});
    let unscoped = EvalOptions { unscoped: true };
    assert!(evaluate_detailed(&rule, &event, &Profile::sysmon(), unscoped).matched);
}
