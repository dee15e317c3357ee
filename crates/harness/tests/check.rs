//! `hypersigma check`: regression data per rule, pass and fail, exit codes.

mod common;

use common::hypersigma;

fn fixture(dir: &std::path::Path, event: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::create_dir_all(dir.join("regression_data/t")).unwrap();
    std::fs::write(
        dir.join("rules/rule.yml"),
        "title: Whoami\nid: 0c0ffee0-0000-4000-8000-000000000001\nstatus: test\n\
         logsource: {product: windows, category: process_creation}\n\
         detection:\n    s: {CommandLine|contains: whoami}\n    condition: s\nlevel: low\n\
         regression_tests_path: regression_data/t/info.yml\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("regression_data/t/info.yml"),
        "regression_tests_info:\n    - name: Positive Detection Test\n      type: json\n      match_count: 1\n      path: regression_data/t/events.jsonl\n",
    )
    .unwrap();
    std::fs::write(dir.join("regression_data/t/events.jsonl"), event).unwrap();
    dir.join("rules")
}

#[test]
fn passing_and_failing_regression_data() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"cmd /c WHOAMI"}"#;
    let rules = fixture(dir.path(), &format!("{good}\n"));
    let out = hypersigma(&["check", "-r", rules.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("PASS  Whoami"), "{text}");
    assert!(text.contains("1 of 1 events match, expected 1"), "{text}");
    assert!(
        text.contains("1 rules with regression data: 1 passed, 0 failed"),
        "{text}"
    );

    let bad = r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"cmd /c dir"}"#;
    let rules = fixture(dir.path(), &format!("{bad}\n"));
    let out = hypersigma(&["check", "-q", "-r", rules.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  Whoami"), "{text}");
    assert!(text.contains("0 of 1 events match, expected 1"), "{text}");

    std::fs::remove_file(dir.path().join("regression_data/t/events.jsonl")).unwrap();
    let out = hypersigma(&["check", "-r", rules.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("opening"));
}

#[test]
fn sigmahq_regression_data_passes_for_the_seed_rules_directory() {
    // The Impacket rule's directory: every rule there with regression data passes.
    let out = hypersigma(&[
        "check",
        "-q",
        "-r",
        "../shared/sigma/rules/windows/process_creation/proc_creation_win_hktl_impacket_lateral_movement.yml",
        "-r",
        "../shared/sigma/rules/windows/file/file_event/file_event_win_creation_system_dll_files.yml",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("1 rules with regression data: 1 passed, 0 failed; 1 rules without"),
        "{text}"
    );
}
