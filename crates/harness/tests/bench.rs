//! `hypersigma bench`: the report has every number it promises, and
//! `--baseline` fails on a regression beyond `--max-regression` and passes otherwise.

mod common;

use common::hypersigma;

/// The JSON report (written to `json`) of `bench` over `events` with the
/// bundled rules, one round of replays on one and two threads, and `extra`
/// arguments.
fn bench_report(
    events: &std::path::Path,
    json: &std::path::Path,
    extra: &[&str],
) -> serde_json::Value {
    bench_report_rounds(events, json, 1, extra)
}

/// [`bench_report`] with `rounds` rounds of replays.
fn bench_report_rounds(
    events: &std::path::Path,
    json: &std::path::Path,
    rounds: u32,
    extra: &[&str],
) -> serde_json::Value {
    let rounds = rounds.to_string();
    let mut args = vec![
        "bench",
        "-r",
        "corpus/rules",
        events.to_str().unwrap(),
        "--repeat",
        &rounds,
        "--threads",
        "1,2",
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend(extra);
    let out = hypersigma(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
}

/// Runs the bench against `report` with every run's events/s replaced by `events_per_sec`.
fn against_baseline(
    report: &serde_json::Value,
    events_per_sec: f64,
    events: &str,
    dir: &std::path::Path,
) -> std::process::Output {
    let mut baseline = report.clone();
    for run in baseline["runs"].as_array_mut().unwrap() {
        run["events_per_sec"] = serde_json::json!(events_per_sec);
    }
    let path = dir.join(format!("baseline-{events_per_sec}.json"));
    std::fs::write(&path, baseline.to_string()).unwrap();
    hypersigma(&[
        "bench",
        "-r",
        "corpus/rules",
        events,
        "--repeat",
        "1",
        "--threads",
        "1,2",
        "--baseline",
        path.to_str().unwrap(),
    ])
}

#[test]
fn report_and_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    common::generate_attacks(&events, 3000, 2);
    let r = bench_report(&events, &dir.path().join("report.json"), &["--per-rule"]);
    assert_eq!(r["events"], 3000);
    assert_eq!(r["rules"], 10, "the bundled detection rules");
    assert!(r["split_floor"]["events_per_sec"].as_f64().unwrap() > 0.0);
    assert!(r["parse_floor"]["mb_per_sec"].as_f64().unwrap() > 0.0);
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for run in runs {
        for key in [
            "events_per_sec",
            "mb_per_sec",
            "ns_per_event",
            "ratio_to_split_floor",
            "ratio_to_parse_floor",
        ] {
            assert!(run[key].as_f64().unwrap() > 0.0, "{key}");
        }
        assert_eq!(
            run["detections"], runs[0]["detections"],
            "detections must not depend on threads"
        );
    }
    assert!(runs[0]["detections"].as_u64().unwrap() > 0);
    // Per rule: the engine's stage-2 cost, most expensive first; a rule
    // that matched was a candidate and took time.
    let per_rule = r["per_rule"].as_array().unwrap();
    assert_eq!(per_rule.len(), 10);
    let ns = |v: &serde_json::Value| v["ns_per_event"].as_f64().unwrap();
    assert!(per_rule.windows(2).all(|w| ns(&w[0]) >= ns(&w[1])));
    let matched: Vec<_> = per_rule
        .iter()
        .filter(|v| v["matches"].as_u64().unwrap() > 0)
        .collect();
    assert!(!matched.is_empty());
    for v in matched {
        assert!(v["candidate_rate"].as_f64().unwrap() > 0.0, "{v}");
        assert!(v["ns_per_candidate"].as_f64().unwrap() > 0.0, "{v}");
        assert!(ns(v) > 0.0, "{v}");
    }
    let peak = r["peak_rss_bytes"].as_u64().unwrap();
    assert!(peak > 0);
    // Memory apart: the resident set once the corpus was loaded (which
    // holds it), and the peak while matching when the kernel can reset the
    // peak (Linux 4.0 on).
    let memory = &r["memory"];
    let corpus = memory["corpus_bytes"].as_u64().unwrap();
    assert_eq!(corpus as f64 / 1e6, r["megabytes"].as_f64().unwrap());
    let loaded = memory["loaded_rss_bytes"].as_u64().unwrap();
    assert!(loaded > corpus && loaded <= peak, "{memory}");
    if let Some(matching) = memory["matching_peak_rss_bytes"].as_u64() {
        assert!(matching <= peak, "{memory}");
        let added = memory["matching_added_bytes"].as_u64().unwrap();
        assert_eq!(added, matching.saturating_sub(loaded), "{memory}");
    }

    // A baseline far faster than anything: a regression, exit 1.
    let out = against_baseline(&r, 1e15, events.to_str().unwrap(), dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("REGRESSION"));
    // A baseline far slower: no regression, exit 0.
    let out = against_baseline(&r, 1.0, events.to_str().unwrap(), dir.path());
    assert_eq!(out.status.code(), Some(0));
}

/// Each figure is the median of its replays, one a round, and a ratio to
/// a floor the median of each round's, in memory and streamed.
#[test]
fn figures_are_medians_of_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    common::generate_attacks(&events, 2000, 3);
    let floats = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let median = |mut xs: Vec<f64>| {
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    };
    for mode in [&[][..], &["--stream"][..]] {
        let json = dir.path().join("rounds.json");
        let r = bench_report_rounds(&events, &json, 3, mode);
        assert_eq!(r["repeat"], 3);
        let near = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        let events_count = r["events"].as_f64().unwrap();
        let mut floors = Vec::new();
        for key in ["split_floor", "parse_floor"] {
            let replays = floats(&r[key]["replay_seconds"]);
            assert_eq!(replays.len(), 3, "{key}");
            let seconds = r[key]["seconds"].as_f64().unwrap();
            assert!(near(seconds, median(replays.clone())), "{key}");
            assert!(near(
                r[key]["events_per_sec"].as_f64().unwrap(),
                events_count / seconds
            ));
            floors.push(replays);
        }
        for run in r["runs"].as_array().unwrap() {
            let replays = floats(&run["replay_seconds"]);
            assert_eq!(replays.len(), 3);
            let seconds = run["seconds"].as_f64().unwrap();
            assert!(near(seconds, median(replays.clone())), "{run}");
            for (floor, key) in floors
                .iter()
                .zip(["ratio_to_split_floor", "ratio_to_parse_floor"])
            {
                let paired: Vec<f64> = floor.iter().zip(&replays).map(|(f, m)| f / m).collect();
                assert!(
                    near(run[key].as_f64().unwrap(), median(paired)),
                    "{key}: {run}"
                );
            }
        }
    }
}

#[test]
fn each_input_is_matched_under_its_own_profile() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    // The same events written as Sysmon lines and as `evtx_dump` records.
    for (name, profile) in [("flat.jsonl", "sysmon"), ("nested.jsonl", "evtx")] {
        let gen = hypersigma(&[
            "gen",
            "-q",
            "--events",
            "2000",
            "--seed",
            "3",
            "--attacks",
            "--profile",
            profile,
            "-o",
            &path(name),
        ]);
        assert!(
            gen.status.success(),
            "{}",
            String::from_utf8_lossy(&gen.stderr)
        );
    }
    let report_of = |inputs: &[&str], stream: bool| {
        let json = path("report.json");
        let mut args = vec![
            "bench",
            "-r",
            "corpus/rules",
            "--repeat",
            "1",
            "--json",
            &json,
        ];
        if stream {
            args.push("--stream");
        }
        args.extend(inputs);
        let out = hypersigma(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        (
            r["runs"][0]["detections"].as_u64().unwrap(),
            r["profiles"].clone(),
        )
    };
    // Held in memory or streamed from disk, each input under its profile.
    let report = |inputs: &[&str]| {
        let held = report_of(inputs, false);
        assert_eq!(held, report_of(inputs, true), "{inputs:?}");
        held
    };
    let (flat, flat_profiles) = report(&[&path("flat.jsonl")]);
    let (nested, _) = report(&[&path("nested.jsonl")]);
    assert!(flat > 0);
    assert_eq!(flat, nested, "the same events, read in either shape");
    assert_eq!(flat_profiles, serde_json::json!(["sysmon"]));
    let (both, profiles) = report(&[&path("flat.jsonl"), &path("nested.jsonl")]);
    assert_eq!(both, flat + nested);
    assert_eq!(profiles, serde_json::json!(["sysmon", "evtx"]));
}

#[test]
fn a_streamed_run_holds_no_corpus_and_finds_the_same_detections() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    common::generate_attacks(&events, 3000, 2);
    let held = bench_report(&events, &dir.path().join("held.json"), &[]);
    let streamed = bench_report(&events, &dir.path().join("streamed.json"), &["--stream"]);
    assert_eq!(held["input"], "in_memory");
    assert_eq!(streamed["input"], "streamed");
    assert_eq!(streamed["events"], 3000);
    // The file's own bytes: every line and its line end.
    let on_disk = std::fs::metadata(&events).unwrap().len() as f64;
    assert_eq!(streamed["megabytes"].as_f64().unwrap(), on_disk / 1e6);
    for key in ["split_floor", "parse_floor"] {
        assert!(
            streamed[key]["events_per_sec"].as_f64().unwrap() > 0.0,
            "{key}"
        );
    }
    let runs = streamed["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for (run, same) in runs.iter().zip(held["runs"].as_array().unwrap()) {
        assert_eq!(run["threads"], same["threads"]);
        assert_eq!(run["detections"], same["detections"]);
        assert_eq!(run["stage2_fraction"], same["stage2_fraction"]);
        assert!(run["detections"].as_u64().unwrap() > 0);
        for key in [
            "events_per_sec",
            "mb_per_sec",
            "ratio_to_split_floor",
            "ratio_to_parse_floor",
        ] {
            assert!(run[key].as_f64().unwrap() > 0.0, "{key}");
        }
        // The stages are timed apart only in memory.
        assert!(run["stage1_seconds"].is_null() && run["stage2_seconds"].is_null());
        assert!(same["stage1_seconds"].as_f64().is_some());
    }
    let memory = &streamed["memory"];
    assert!(memory["corpus_bytes"].is_null(), "{memory}");
    let peak = streamed["peak_rss_bytes"].as_u64().unwrap();
    let loaded = memory["loaded_rss_bytes"].as_u64().unwrap();
    assert!(loaded > 0 && loaded <= peak, "{memory}");
    if let Some(matching) = memory["matching_peak_rss_bytes"].as_u64() {
        assert!(matching <= peak, "{memory}");
    }

    // A directory is read as `scan` reads it, on every replay.
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::copy(&events, logs.join("events.jsonl")).unwrap();
    let in_dir = bench_report(&logs, &dir.path().join("dir.json"), &["--stream"]);
    assert_eq!(in_dir["events"], 3000);
    assert_eq!(
        in_dir["runs"][1]["detections"],
        held["runs"][1]["detections"]
    );
    // Inputs that cannot be read on every replay are refused, named.
    let missing = dir.path().join("missing.jsonl");
    let out = hypersigma(&[
        "bench",
        "-r",
        "corpus/rules",
        "--stream",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.jsonl"));
    let out = hypersigma(&["bench", "-r", "corpus/rules", "--stream", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard input"));

    // What each rule costs needs the events in memory.
    let out = hypersigma(&[
        "bench",
        "-r",
        "corpus/rules",
        events.to_str().unwrap(),
        "--stream",
        "--per-rule",
    ]);
    assert_eq!(out.status.code(), Some(2));
}
