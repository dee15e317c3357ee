//! Fuzz target: any bytes as an input file (JSON lines, arrays, concatenated
//! JSON, gzip, zstd, EVTX are recognised from the first bytes). Reading must
//! never panic, and every item is an event or a reported rejection.
#![no_main]

use std::path::Path;

use hypersigma_runtime::input::open_reader;
use hypersigma_runtime::members::MemberIndex;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut index = MemberIndex::default();
    if index.build(data) {
        let _ = index.place(data, 0, data.len().min(3));
    }
    let reader = Box::new(std::io::Cursor::new(data.to_vec()));
    if let Ok(events) = open_reader(reader, Path::new("fuzz")) {
        for event in events.take(10_000).flatten() {
            assert!(event.value.is_object());
        }
    }
});
