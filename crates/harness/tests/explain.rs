//! `hypersigma explain` on the seed rule over all SigmaHQ rules.

mod common;

use common::{args, hypersigma, SIGMAHQ};

const SEED_ID: &str = "10c14723-61c7-4c75-92ca-9af245723ad2";

#[test]
fn explain_the_seed_rule() {
    let out = hypersigma(&args(&[&["explain", SEED_ID], &SIGMAHQ]));
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("HackTool - Potential Impacket Lateral Movement Activity\n"));
    assert!(
        text.contains("Sysmon Event ID 1: Process creation; Security Event ID 4688"),
        "{text}"
    );
    assert!(text.contains("ATT&CK       T1047, T1021.003"), "{text}");
    // The two selections with their predicates.
    assert!(text.contains("\nselection_other:\n    ParentImage endswith any of '\\wmiprvse.exe', '\\mmc.exe', '\\explorer.exe', '\\services.exe'"), "{text}");
    assert!(text.contains("\nselection_atexec:\n    ParentCommandLine contains any of 'svchost.exe -k netsvcs', 'taskeng.exe'"), "{text}");
    assert!(text.contains("at least 1 of [selection_other, selection_atexec]"));
    // 13 distinct indicators, each with its count across the loaded rules.
    assert!(text.contains("Indicators (13;"), "{text}");
    let rows: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("  field "))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(rows.len(), 13, "{rows:#?}");
    let count = |value: &str| -> u64 {
        let row = rows
            .iter()
            .find(|r| r.ends_with(value))
            .unwrap_or_else(|| panic!("{value} in {rows:#?}"));
        row.split_whitespace().nth(2).unwrap().parse().unwrap()
    };
    assert_eq!(count("\\\\127.0.0.1\\"), 0);
    assert!(count("\\explorer.exe") > 0 && count("\\wmiprvse.exe") > 0);
    // The engine's view.
    assert!(
        text.contains("stage 1: a candidate when one of these"),
        "{text}"
    );
    assert!(
        text.contains("0000  ATLEAST 1 of [selection_other, selection_atexec]"),
        "{text}"
    );
}

#[test]
fn explain_by_path_and_unknown_rules() {
    let out = hypersigma(&["explain", "corpus/rules/remote_exec_impacket_style.yml"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Remote Command Output Redirected To Loopback Admin Share"));
    assert!(
        text.contains("CommandLine contains all of 'cmd.exe', '/Q', '/c', '\\\\127.0.0.1\\', '&1'"),
        "{text}"
    );
    let out = hypersigma(&["explain", "no-such-rule", "-r", "corpus/rules"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no rule no-such-rule"));
}

#[test]
fn a_correlation_page_resolves_what_it_reads() {
    let out = hypersigma(&["explain", "brute_force_failures", "-r", "corpus/rules"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Password Brute Force Against One Account"),
        "{text}"
    );
    assert!(
        text.contains("event_count") && text.contains("300 s"),
        "{text}"
    );
    assert!(text.contains("IpAddress, TargetUserName"), "{text}");
    assert!(text.contains("gte 10"), "{text}");
    assert!(
        text.contains("failed_network_logon: rule \"Failed Network Logon\" (windows/security)"),
        "{text}"
    );
}

#[test]
fn explain_lists_the_clauses_stage_one_checks() {
    // "Office Application Spawning a Shell": the parent image is the
    // witness, and the child image a clause the scan must also find.
    let out = hypersigma(&[
        "explain",
        "corpus/rules/office_spawns_shell.yml",
        "-r",
        "corpus/rules",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("  ParentImage: \\\\winword.exe\n"), "{text}");
    assert!(
        text.contains("stage 1 then keeps it only when each of these 1 clauses"),
        "{text}"
    );
    assert!(
        text.contains("  Image: \\\\cmd.exe | Image: \\\\cscript.exe |"),
        "{text}"
    );
}

#[test]
fn explain_shows_witnesses_avoiding_ubiquitous_fragments() {
    // "Potential Command Line Path Traversal Evasion Attempt": (Image ∧
    // CommandLine) ∨ CommandLine. `Image|contains: '\Windows\'` holds in
    // almost every process event, so the scan looks for the command-line
    // literals alone and needs no clause.
    let out = hypersigma(&args(&[
        &["explain", "1327381e-6ab0-4f38-b583-4c1b8346a56b"],
        &SIGMAHQ,
    ]));
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("stage 1: a candidate when one of these 4 literals occurs"),
        "{text}"
    );
    assert!(text.contains("  CommandLine: .exe\\\\..\\\\\n"), "{text}");
    assert!(
        text.contains("  CommandLine: \\\\..\\\\Windows\\\\\n"),
        "{text}"
    );
    assert!(!text.contains("clauses"), "{text}");
}

#[test]
fn explain_marks_number_like_witnesses() {
    // "Weak or Abused Passwords In CLI": `123456789` is one of its literals,
    // so the rule has witnesses; that one also counts where a number token
    // is read as another text (`1.23456789e8`).
    let out = hypersigma(&args(&[
        &["explain", "91edcfb1-2529-4ac2-9ecc-7617f895c7e4"],
        &SIGMAHQ,
    ]));
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("stage 1: a candidate when one of these 8 literals occurs"),
        "{text}"
    );
    assert!(
        text.contains("  CommandLine: 123456789 (also in any event holding a number written otherwise than the reference reads it)\n"),
        "{text}"
    );
    assert!(text.contains("  CommandLine: password123\n"), "{text}");
}
