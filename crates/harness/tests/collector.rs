//! `filter` under load: fed as fast as a pipe allows while the consumer is
//! alternately slow and fast, it loses no line, keeps order, and its memory
//! stays bounded (backpressure through the pipes, no unbounded queue).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::root;

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn filter_keeps_every_line_with_bounded_memory() {
    let gen = common::hypersigma(&["gen", "-q", "--events", "60000", "--seed", "8", "--attacks"]);
    assert_eq!(gen.status.code(), Some(0));
    let input = gen.stdout;
    let total = input
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hypersigma"))
        .current_dir(root())
        .args(["filter", "-q", "--tag-only", "-r", "corpus/rules"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        stdin.write_all(&input).unwrap();
    });
    let watcher = std::thread::spawn(move || {
        let mut peak = 0;
        while let Some(kb) = rss_kb(pid) {
            peak = peak.max(kb);
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    });
    let reader = BufReader::new(child.stdout.take().unwrap());
    let (mut lines, mut tagged) = (0usize, 0usize);
    for line in reader.lines() {
        let line = line.unwrap();
        lines += 1;
        tagged += usize::from(line.contains("\"sigma\":["));
        // Slow consumer for stretches of the stream, fast in between.
        if (lines / 5000) % 2 == 0 && lines % 500 == 0 {
            std::thread::sleep(Duration::from_millis(3));
        }
    }
    feeder.join().unwrap();
    let status = child.wait().unwrap();
    let peak_kb = watcher.join().unwrap();
    assert!(status.success());
    assert_eq!(lines, total, "every line comes out");
    assert!(tagged > 0);
    assert!(peak_kb < 150_000, "peak RSS {peak_kb} KB");
}
