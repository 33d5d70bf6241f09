//! Every lockfile parser on the same input: none may panic, and each
//! answers packages or one error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use zerotrace_inventory::FileType;
use zerotrace_inventory::parsers::{ParseInput, parse};

fuzz_target!(|data: &[u8]| {
    let contents = String::from_utf8_lossy(data);
    for file_type in FileType::ALL {
        // Requirements includes read files: that parser has its own target.
        if file_type == FileType::PipRequirements {
            continue;
        }
        let input = ParseInput::new(&contents, Path::new("/nonexistent/lockfile"), "lockfile");
        let _ = parse(file_type, &input);
    }
});
