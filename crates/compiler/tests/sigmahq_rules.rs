//! The SigmaHQ rule sets compile; placeholder rules need their placeholders.

mod common;

use hypersigma_compiler::{load_paths, CompileOptions, ErrorKind, Placeholders};

#[test]
fn sigmahq_rules_compile() {
    let sigma = common::shared().join("sigma");
    let dirs: Vec<_> = [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-compliance",
    ]
    .iter()
    .map(|d| sigma.join(d))
    .collect();
    let set = load_paths(&dirs, &CompileOptions::default());
    println!(
        "SigmaHQ: {} found, {} compiled, {} rejected",
        set.found(),
        set.rules.len(),
        set.rejected.len()
    );
    for e in &set.rejected {
        println!("  rejected: {e}");
    }
    assert!(set.found() >= 3700, "only {} rules found", set.found());
    assert!(
        set.rules.len() * 1000 >= set.found() * 995,
        "fewer than 99.5% of the rules compiled"
    );
    // The only rejections allowed are rules that need placeholder values.
    for e in &set.rejected {
        assert!(
            matches!(e.kind, ErrorKind::MissingPlaceholder(_)),
            "unexpected rejection: {e}"
        );
        assert!(
            e.path.is_some() && e.rule_id.is_some() && e.line.is_some(),
            "{e:?}"
        );
    }
    // With placeholder values, everything compiles.
    let placeholders =
        Placeholders::from_file(&common::project_root().join("tests/placeholders.yml")).unwrap();
    let set = load_paths(
        &dirs,
        &CompileOptions {
            placeholders: Some(placeholders),
        },
    );
    assert!(set.rejected.is_empty(), "{:?}", set.rejected);
}

#[test]
fn placeholder_rules_need_placeholders() {
    let dir = common::shared().join("sigma/rules-placeholder");
    let without = load_paths(&[&dir], &CompileOptions::default());
    assert_eq!(without.found(), 23);
    assert!(without.rules.is_empty());
    for e in &without.rejected {
        let ErrorKind::MissingPlaceholder(name) = &e.kind else {
            panic!("unexpected rejection: {e}");
        };
        assert!(e.reason().contains(&format!("%{name}%")), "{e}");
    }
    let placeholders =
        Placeholders::from_file(&common::project_root().join("tests/placeholders.yml")).unwrap();
    let with = load_paths(
        &[&dir],
        &CompileOptions {
            placeholders: Some(placeholders),
        },
    );
    assert!(with.rejected.is_empty(), "{:?}", with.rejected);
    assert_eq!(with.rules.len(), 23);
}
