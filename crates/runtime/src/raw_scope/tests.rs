//! Tests of the raw log-source checks: string tokens, signatures, member
//! names.

use super::*;
use hypersigma_compiler::{parse_rule, CompileOptions};

#[test]
fn string_tokens_are_read_unescaped_and_others_are_not_strings() {
    let mut buf = Vec::new();
    assert_eq!(
        string_value(br#""Security""#, &mut buf),
        Some(&b"Security"[..])
    );
    assert_eq!(
        string_value(br#""a\"b\\c\td""#, &mut buf),
        Some(&b"a\"b\\c\td"[..])
    );
    assert_eq!(string_value(br#""a\/b""#, &mut buf), Some(&b"a/b"[..]));
    assert_eq!(string_value(br#""\u0041""#, &mut buf), None);
    assert_eq!(string_value(b"4688", &mut buf), None);
    assert_eq!(string_value(b"null", &mut buf), None);
}

/// The raw scopes of rules written as their `logsource` and `detection`
/// lines (each gets a title and `condition: 1 of them`), read through the
/// Windows and ECS profiles, with the fields rules require values of.
pub(super) fn scopes_of(rules: &[&str], required: &[&str]) -> RawScopes {
    let scopes: Vec<_> = rules
        .iter()
        .map(|r| {
            let text = format!("title: t\n{r}\n    condition: 1 of them");
            parse_rule(&text, &CompileOptions::default()).unwrap().scope
        })
        .collect();
    RawScopes::new(&scopes, &[Profile::evtx(), Profile::ecs()], required)
}

/// The signature of one raw event under `scopes`.
fn signature_of(scopes: &RawScopes, raw: &[u8]) -> Vec<u8> {
    let mut index = MemberIndex::default();
    assert!(index.build(raw));
    let mut state = RawScopeState::default();
    let slots = scopes.layout_slots(&index, raw, &mut Vec::new());
    state.read(scopes, &index, &slots);
    let mut out = Vec::new();
    state.signature(scopes, raw, &mut out);
    out
}

#[test]
fn signatures_hold_every_value_read_and_nothing_else() {
    let text = "title: t\nlogsource: {product: windows, service: security}\ndetection:\n    s: {EventID: 4624}\n    condition: s";
    let rule = parse_rule(text, &CompileOptions::default()).unwrap();
    let scopes = RawScopes::new(std::slice::from_ref(&rule.scope), &[Profile::evtx()], &[]);
    let signature = |raw: &[u8]| signature_of(&scopes, raw);
    let a = signature(br#"{"Channel":"Security","EventID":4624,"CommandLine":"a"}"#);
    // Members that are no key leave it as it is.
    assert_eq!(
        a,
        signature(br#"{"CommandLine":"b","EventID":4624,"Channel":"Security","x":1}"#)
    );
    // Any value read changes it, and values do not run into each other.
    assert_ne!(
        a,
        signature(br#"{"Channel":"Security","EventID":4625,"CommandLine":"a"}"#)
    );
    assert_ne!(a, signature(br#"{"Channel":"security","EventID":4624}"#));
    assert_ne!(a, signature(br#"{"EventID":4624}"#));
    assert_ne!(
        signature(br#"{"Channel":["ab","c"]}"#),
        signature(br#"{"Channel":["a","bc"]}"#)
    );
    // A field a source only requires: whether it holds something, not what.
    let text = "title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    s: {a: b}\n    condition: s";
    let rule = parse_rule(text, &CompileOptions::default()).unwrap();
    let scopes = RawScopes::new(std::slice::from_ref(&rule.scope), &[Profile::ecs()], &[]);
    let signature = |raw: &[u8]| signature_of(&scopes, raw);
    let record = signature(br#"{"eventSource":"s3","eventName":"GetObject","awsRegion":"eu"}"#);
    assert_eq!(
        record,
        signature(br#"{"eventSource":"iam","eventName":"CreateUser","awsRegion":{"r":1}}"#)
    );
    assert_ne!(
        record,
        signature(br#"{"eventSource":"s3","eventName":null,"awsRegion":"eu"}"#)
    );
}

#[test]
fn member_names_resolve_whatever_their_case_and_spaces() {
    let text = "title: t\nlogsource: {product: windows, service: security}\ndetection:\n    s: {EventID: 4624}\n    condition: s";
    let rule = parse_rule(text, &CompileOptions::default()).unwrap();
    let scopes = RawScopes::new(std::slice::from_ref(&rule.scope), &[Profile::evtx()], &[]);
    let mut buf = Vec::new();
    for name in [
        &b"Channel"[..],
        b"CHANNEL",
        b"channel",
        b" Channel",
        b"Chan nel",
        b"#text",
    ] {
        let keys = scopes.keys_of(name, &mut buf);
        assert!(
            keys.contains(&Key::Channel),
            "{}",
            String::from_utf8_lossy(name)
        );
    }
    for name in [&b"EventID"[..], b"Event ID", b"eventid"] {
        assert!(
            !scopes.keys_of(name, &mut buf).is_empty(),
            "{}",
            String::from_utf8_lossy(name)
        );
    }
    // Other members hold no key, refused before any lookup or not.
    for name in [
        &b"UtcTime"[..],
        b"Chan",
        b"Channels",
        b"xChannel",
        b"",
        b" ",
    ] {
        assert!(
            scopes.keys_of(name, &mut buf).is_empty(),
            "{}",
            String::from_utf8_lossy(name)
        );
    }
}
