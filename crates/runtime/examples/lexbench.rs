use hypersigma_runtime::members::MemberIndex;
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read(&path).unwrap();
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut index = MemberIndex::default();
    let mut best = f64::MAX;
    let mut ok = 0usize;
    for _ in 0..std::env::args().nth(2).map_or(7, |n| n.parse().unwrap()) {
        let t = Instant::now();
        ok = 0;
        for l in &lines {
            ok += index.build(l) as usize + index.len();
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{} lines, {:.1} ns/line, check {}",
        lines.len(),
        best * 1e9 / lines.len() as f64,
        ok
    );
}
