//! Fuzz target: any text as a rule file. Parsing, lowering and evaluating
//! whatever compiles must never panic; errors are values.
#![no_main]

use hypersigma_compiler::program::Program;
use hypersigma_compiler::witness::{rule_witnesses, Strategy};
use hypersigma_compiler::{evaluate, parse_rules, CompileOptions, Profile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let event = serde_json::json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
        "CommandLine": "cmd.exe /c whoami", "Image": "C:\\Windows\\System32\\cmd.exe",
        "User": "CONTOSO\\alice", "DestinationIp": "10.1.2.3", "Count": 5
    });
    let profile = Profile::sysmon();
    for rule in parse_rules(&text, None, &CompileOptions::default()).into_iter().flatten() {
        let _ = rule_witnesses(&rule, Strategy::Rarest);
        if let Ok(program) = Program::compile(&rule.detection.condition, rule.detection.selections.len()) {
            let _ = program.disassemble(&[]);
        }
        let _ = evaluate(&rule, &event, &profile);
        if let Ok(engine) = hypersigma_runtime::engine::Engine::new(vec![rule], Default::default()) {
            if let Ok(mut scanner) = engine.scanner() {
                let _ = scanner.match_event(event.to_string().as_bytes(), &profile);
            }
        }
    }
});
